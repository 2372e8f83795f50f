#include "profile.h"

#include <string.h>

#include "cleanup.h"
#include "xalloc.h"

/* Every profile; the first is the one used when nothing asks for another. */
static const wr_profile_t *const profiles[] = { &wr_profile_default, &wr_profile_docker, NULL };

const wr_profile_t *const *
wr_profiles (void)
{
    return profiles;
}

static char *
known_profile_names (void)
{
    char *names = xstrdup ("");
    for (const wr_profile_t *const *p = profiles; *p != NULL; p++) {
        char *more = xasprintf ("%s%s%s", names, names[0] != '\0' ? ", " : "", (*p)->name);
        free (names);
        names = more;
    }
    return names;
}

const wr_profile_t *
wr_profile_find (const char *name, wr_error_t *err)
{
    for (const wr_profile_t *const *p = profiles; *p != NULL; p++) {
        if (name != NULL && strcmp ((*p)->name, name) == 0)
            return *p;
    }
    cleanup_free char *known = known_profile_names ();
    wr_error_set (err, 0, "unknown profile `%s` (known profiles: %s)", name != NULL ? name : "",
                  known);
    return NULL;
}

const char *const wr_profile_annotation_default_allowed[] = { "default", "docker", NULL };

const wr_profile_t *
wr_profile_select (wr_spec_t *spec, const char *requested, const char *const *allowed,
                   wr_error_t *err)
{
    const wr_profile_t *profile;

    if (requested != NULL)
        return wr_profile_find (requested, err);

    const char *annotated = wr_spec_get_annotation (spec, WR_PROFILE_ANNOTATION);
    if (annotated == NULL)
        return &wr_profile_default;
    profile = wr_profile_find (annotated, err);
    if (profile == NULL) {
        wr_error_prefix (err, "annotation `%s`", WR_PROFILE_ANNOTATION);
        return NULL;
    }
    if (allowed == NULL)
        allowed = wr_profile_annotation_default_allowed;
    cleanup_free char *list = xstrdup ("");
    for (size_t i = 0; allowed[i] != NULL; i++) {
        if (strcmp (allowed[i], profile->name) == 0)
            return profile;
        char *longer = xasprintf ("%s%s%s", list, i > 0 ? ", " : "", allowed[i]);
        free (list);
        list = longer;
    }
    wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                       "annotation `%s` asks for profile `%s`, which the operator does not let "
                       "annotations select (allowed: %s); the operator can allow it with "
                       "--annotation-profiles or annotation_profiles in the runtime's config file",
                       WR_PROFILE_ANNOTATION, profile->name, list[0] ? list : "none");
    return NULL;
}

int
wr_profile_check_backend (const wr_profile_t *profile, const char *backend_name, bool is_sandbox,
                          wr_error_t *err)
{
    if (!profile->needs_sandbox || is_sandbox)
        return 0;
    return wr_error_set_kind (
        err, WR_ERROR_INVALID, 0,
        "profile `%s` needs a sandbox: it grants CAP_SYS_ADMIN and more, with no device rules or "
        "masked paths, which is safe only under gVisor's own kernel, but backend `%s` runs "
        "containers on the host's kernel; use --backend runsc",
        profile->name, backend_name);
}

int
wr_profile_apply (const wr_profile_t *profile, wr_spec_t *spec, const wr_profile_options_t *options,
                  wr_error_t *err)
{
    static const wr_profile_options_t no_options = { NULL, NULL };
    if (profile->apply (profile, spec, options != NULL ? options : &no_options, err) < 0)
        return wr_error_prefix (err, "apply profile `%s`", profile->name);
    return 0;
}

int
wr_profile_add_capabilities (const wr_profile_t *profile, wr_spec_t *spec, wr_error_t *err)
{
    if (profile->capabilities == NULL)
        return 0;
    for (const char *const *cap = profile->capabilities; *cap != NULL; cap++) {
        if (wr_spec_add_capability (spec, *cap, err) < 0)
            return -1;
    }
    return 0;
}

int
wr_profile_inject_init (wr_spec_t *spec, const char *init_host_path, const char *const *init_args,
                        wr_error_t *err)
{
    static const char *const mount_options[] = { "rbind", "ro", NULL };
    const wr_mount_t mount = {
        .destination = WR_INIT_SANDBOX_PATH,
        .type = "bind",
        .source = init_host_path,
        .options = mount_options,
    };
    size_t old_count;
    size_t keep_from = 0;
    size_t n_init_args = 0;

    if (init_host_path == NULL || init_host_path[0] != '/')
        return wr_error_set (err, 0, "warren-init path `%s` is not absolute",
                             init_host_path != NULL ? init_host_path : "");
    if (wr_spec_add_mount (spec, &mount, err) < 0)
        return -1;
    /* Prepending nothing checks that process.args is an array of strings. */
    if (wr_spec_prepend_args (spec, NULL, 0, err) < 0)
        return -1;
    old_count = wr_spec_args_count (spec);

    /* Already injected (by an earlier apply): drop the old prefix, up to and
     * including its "--", so the new one replaces it. */
    const char *first = wr_spec_arg (spec, 0);
    if (first != NULL && strcmp (first, WR_INIT_SANDBOX_PATH) == 0) {
        keep_from = 1;
        for (size_t i = 1; i < old_count; i++) {
            const char *arg = wr_spec_arg (spec, i);
            if (arg != NULL && strcmp (arg, "--") == 0) {
                keep_from = i + 1;
                break;
            }
        }
    }

    if (init_args != NULL) {
        while (init_args[n_init_args] != NULL)
            n_init_args++;
    }
    bool has_separator = n_init_args > 0 && strcmp (init_args[n_init_args - 1], "--") == 0;

    /* The new process.args: init, its options, "--", the original command. */
    size_t count = 0;
    cleanup_free const char **args =
        xmalloc ((2 + n_init_args + old_count - keep_from) * sizeof *args);
    args[count++] = WR_INIT_SANDBOX_PATH;
    for (size_t i = 0; i < n_init_args; i++)
        args[count++] = init_args[i];
    if (!has_separator)
        args[count++] = "--";
    for (size_t i = keep_from; i < old_count; i++)
        args[count++] = wr_spec_arg (spec, i);
    /* ARGS points into the old array, which set_args frees: copy first. */
    cleanup_strv char **copy = xmalloc ((count + 1) * sizeof *copy);
    for (size_t i = 0; i < count; i++)
        copy[i] = xstrdup (args[i]);
    copy[count] = NULL;
    return wr_spec_set_args (spec, (const char *const *) copy, count, err);
}
