/* The table of runtime backends and what a backend is: lookup by name,
 * the binary it runs, the flags it supports.  Probing it is in
 * runtime_probe.c, the probe's cache in runtime_probe_cache.c. */
#include "runtime_backend.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "strv.h"
#include "xalloc.h"

const wr_backend_ops_t *
wr_backend_ops_find (const char *name, wr_error_t *err)
{
    static const wr_backend_ops_t *const all[] = { &wr_backend_runsc, &wr_backend_runc,
                                                   &wr_backend_crun, NULL };
    for (size_t i = 0; all[i] != NULL; i++)
        if (strcmp (all[i]->name, name) == 0)
            return all[i];
    wr_error_set (err, 0, "unknown backend `%s` (known: runsc, runc, crun)", name);
    return NULL;
}

wr_backend_t *
wr_backend_new (const wr_backend_ops_t *ops, const char *binary, const char *state_dir)
{
    wr_backend_t *backend = xzalloc (sizeof *backend);
    backend->ops = ops;
    backend->binary = xstrdup (binary != NULL ? binary : ops->default_binary);
    backend->state_dir = state_dir != NULL ? xstrdup (state_dir) : NULL;
    backend->info.rmem_default_in_every_netns = -1;
    return backend;
}

void
wr_backend_info_clear (wr_backend_info_t *info)
{
    free (info->path);
    free (info->version);
    free (info->spec_version);
    wr_strv_free (info->flags);
    wr_strv_free (info->commands);
    memset (info, 0, sizeof *info);
    info->rmem_default_in_every_netns = -1;
}

void
wr_backend_free (wr_backend_t *backend)
{
    if (backend == NULL)
        return;
    wr_backend_info_clear (&backend->info);
    free (backend->binary);
    free (backend->state_dir);
    free (backend->search_path);
    free (backend);
}

void
wr_backend_set_search_path (wr_backend_t *backend, const char *search_path)
{
    free (backend->search_path);
    backend->search_path =
        search_path != NULL && search_path[0] != '\0' ? xstrdup (search_path) : NULL;
}

void
wr_backend_set_log (wr_backend_t *backend, const wr_log_t *log)
{
    backend->log = log;
}

char *
wr_backend_default_state_dir (const char *warren_root)
{
    if (warren_root != NULL && warren_root[0] != '\0')
        return xasprintf ("%s/run", warren_root);
    return xstrdup ("/run/warren");
}

int
wr_backend_error_missing (const wr_backend_ops_t *ops, const char *binary, int errno_value,
                          wr_error_t *err)
{
    cleanup_free char *wanted = NULL;
    if (ops->minimum_release > 0)
        wanted = xasprintf ("install %s %d or newer", ops->name, ops->minimum_release);
    else
        wanted = xasprintf ("install %s", ops->name);
    const char *hint = ops->install_hint;
    if (strchr (binary, '/') == NULL)
        return wr_error_set (err, 0, "%s not found in PATH: %s%s%s%s", binary, wanted,
                             hint ? " (" : "", hint ? hint : "", hint ? ")" : "");
    if (errno_value == ENOENT)
        return wr_error_set (err, 0, "%s not found at `%s`: %s%s%s%s", ops->name, binary, wanted,
                             hint ? " (" : "", hint ? hint : "", hint ? ")" : "");
    return wr_error_set (err, errno_value, "cannot run %s at `%s`", ops->name, binary);
}

char *
wr_backend_find_binary (const wr_backend_ops_t *ops, const char *binary, const char *search_path,
                        wr_error_t *err)
{
    if (strchr (binary, '/') != NULL) {
        if (access (binary, X_OK) < 0) {
            wr_backend_error_missing (ops, binary, errno, err);
            return NULL;
        }
        if (binary[0] == '/')
            return xstrdup (binary);
        cleanup_free char *cwd = getcwd (NULL, 0);
        if (cwd == NULL) {
            wr_error_set (err, errno, "getcwd");
            return NULL;
        }
        return xasprintf ("%s/%s", cwd, binary);
    }
    const char *path = search_path != NULL && search_path[0] != '\0'
                           ? search_path
                           : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    cleanup_strv char **dirs = wr_strv_split (path, ":");
    for (size_t i = 0; dirs[i] != NULL; i++) {
        cleanup_free char *candidate = xasprintf ("%s/%s", dirs[i], binary);
        struct stat st;
        if (stat (candidate, &st) == 0 && S_ISREG (st.st_mode) && access (candidate, X_OK) == 0)
            return steal_pointer (&candidate);
    }
    wr_backend_error_missing (ops, binary, ENOENT, err);
    return NULL;
}

/* ---- flags ---- */

char *
wr_flag_name (const char *arg)
{
    if (arg[0] != '-' || arg[1] == '\0')
        return NULL;
    const char *name = arg + 1;
    if (*name == '-')
        name++;
    if (*name == '\0' || *name == '-')
        return NULL;
    return xstrndup (name, strcspn (name, "="));
}

bool
wr_flags_have (char *const *flags, const char *name)
{
    for (size_t i = 0; flags != NULL && flags[i] != NULL; i++) {
        cleanup_free char *flag = wr_flag_name (flags[i]);
        if (flag != NULL && strcmp (flag, name) == 0)
            return true;
    }
    return false;
}

bool
wr_backend_supports_flag (wr_backend_t *backend, const char *flag)
{
    return wr_strv_contains (backend->info.flags, flag);
}

bool
wr_backend_supports_command (wr_backend_t *backend, const char *command)
{
    return wr_strv_contains (backend->info.commands, command);
}

bool
wr_backend_add_supported_flag (wr_backend_t *backend, const wr_runsc_flag_t *flag, char ***argv)
{
    for (size_t i = 0; i < 3 && flag->spellings[i] != NULL; i++) {
        const char *spelling = flag->spellings[i];
        cleanup_free char *name = xstrndup (spelling, strcspn (spelling, "="));
        if (wr_backend_supports_flag (backend, name)) {
            wr_strv_add_take (argv, xasprintf ("--%s", spelling));
            return true;
        }
    }
    return false;
}
