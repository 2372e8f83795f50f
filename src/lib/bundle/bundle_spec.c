/* The runtime spec of a sandbox of an image, made from its config (see
 * bundle_spec.h). */
#include "bundle_spec.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_user.h"
#include "cleanup.h"
#include "strv.h"
#include "xalloc.h"

/* Docker's default capabilities: what package managers need (chown,
 * setuid to an unprivileged user, ...), without CAP_SYS_ADMIN. */
static const char *const default_capabilities[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
    NULL,
};

static const char *const masked_paths[] = {
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    NULL,
};

static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static json_object *
string_array (const char *const *strv)
{
    json_object *a = json_object_new_array ();
    for (size_t i = 0; strv != NULL && strv[i] != NULL; i++)
        json_object_array_add (a, json_object_new_string (strv[i]));
    return a;
}

static void
add_mount (json_object *mounts, const char *destination, const char *type, const char *source,
           const char *const *options)
{
    json_object *m = json_object_new_object ();
    json_object_object_add (m, "destination", json_object_new_string (destination));
    json_object_object_add (m, "type", json_object_new_string (type));
    json_object_object_add (m, "source", json_object_new_string (source));
    if (options != NULL)
        json_object_object_add (m, "options", string_array (options));
    json_object_array_add (mounts, m);
}

/* Sets NAME=VALUE in ENV (a vector of "NAME=VALUE"), replacing NAME. */
static void
env_set (char ***env, const char *entry)
{
    const char *eq = strchr (entry, '=');
    size_t name_len = eq != NULL ? (size_t) (eq - entry) : strlen (entry);
    for (size_t i = 0; *env != NULL && (*env)[i] != NULL; i++) {
        if (strncmp ((*env)[i], entry, name_len) == 0 && (*env)[i][name_len] == '=') {
            free ((*env)[i]);
            (*env)[i] = xstrdup (entry);
            return;
        }
    }
    wr_strv_add (env, entry);
}

static bool
env_has (char *const *env, const char *name)
{
    size_t len = strlen (name);
    for (size_t i = 0; env != NULL && env[i] != NULL; i++)
        if (strncmp (env[i], name, len) == 0 && env[i][len] == '=')
            return true;
    return false;
}

wr_spec_t *
wr_bundle_spec (int root_fd, const wr_image_config_t *config, const char *image_name,
                const wr_image_record_t *record, const wr_bundle_options_t *options,
                wr_error_t *err)
{
    static const wr_bundle_options_t no_options = { 0 };
    if (options == NULL)
        options = &no_options;

    cleanup_strv char **args = NULL;
    if (options->args != NULL && options->args[0] != NULL) {
        wr_strv_extend (&args, (char *const *) options->args);
    } else {
        wr_strv_extend (&args, config->entrypoint);
        wr_strv_extend (&args, config->cmd);
    }
    if (args == NULL || args[0] == NULL) {
        wr_error_set (err, 0, "image `%s` has no entrypoint or cmd: give a command",
                      image_name != NULL ? image_name : "?");
        return NULL;
    }

    const char *user_text = options->user != NULL ? options->user : config->user;
    wr_bundle_user_t user;
    if (wr_bundle_resolve_user (root_fd, user_text, &user, err) < 0) {
        wr_error_prefix (err, "image `%s`", image_name != NULL ? image_name : "?");
        return NULL;
    }

    cleanup_strv char **env = NULL;
    for (size_t i = 0; config->env != NULL && config->env[i] != NULL; i++)
        env_set (&env, config->env[i]);
    for (size_t i = 0; options->env != NULL && options->env[i] != NULL; i++)
        env_set (&env, options->env[i]);
    if (!env_has (env, "PATH"))
        env_set (&env, WR_DEFAULT_PATH);
    if (!env_has (env, "HOME")) {
        cleanup_free char *home =
            xasprintf ("HOME=%s", user.home != NULL ? user.home : (user.uid == 0 ? "/root" : "/"));
        env_set (&env, home);
    }

    const char *cwd = options->cwd != NULL ? options->cwd : config->working_dir;
    cleanup_free char *abs_cwd = cwd == NULL || cwd[0] == '\0'
                                     ? xstrdup ("/")
                                     : (cwd[0] == '/' ? xstrdup (cwd) : xasprintf ("/%s", cwd));

    json_object *root = json_object_new_object ();
    json_object_object_add (root, "ociVersion", json_object_new_string ("1.0.2"));

    json_object *process = json_object_new_object ();
    json_object_object_add (process, "terminal", json_object_new_boolean (0));
    json_object *u = json_object_new_object ();
    json_object_object_add (u, "uid", json_object_new_int64 (user.uid));
    json_object_object_add (u, "gid", json_object_new_int64 (user.gid));
    if (user.n_additional_gids > 0) {
        json_object *gids = json_object_new_array ();
        for (size_t i = 0; i < user.n_additional_gids; i++)
            json_object_array_add (gids, json_object_new_int64 (user.additional_gids[i]));
        json_object_object_add (u, "additionalGids", gids);
    }
    json_object_object_add (process, "user", u);
    json_object_object_add (process, "args", string_array ((const char *const *) args));
    json_object_object_add (process, "env", string_array ((const char *const *) env));
    json_object_object_add (process, "cwd", json_object_new_string (abs_cwd));
    json_object *caps = json_object_new_object ();
    const char *sets[] = { "bounding", "effective", "permitted", NULL };
    for (size_t i = 0; sets[i] != NULL; i++)
        json_object_object_add (caps, sets[i], string_array (default_capabilities));
    json_object_object_add (process, "capabilities", caps);
    json_object *rlimits = json_object_new_array ();
    json_object *nofile = json_object_new_object ();
    json_object_object_add (nofile, "type", json_object_new_string ("RLIMIT_NOFILE"));
    json_object_object_add (nofile, "hard", json_object_new_int64 (1048576));
    json_object_object_add (nofile, "soft", json_object_new_int64 (1048576));
    json_object_array_add (rlimits, nofile);
    json_object_object_add (process, "rlimits", rlimits);
    json_object_object_add (root, "process", process);
    wr_bundle_user_clear (&user);

    json_object *r = json_object_new_object ();
    json_object_object_add (r, "path", json_object_new_string ("rootfs"));
    json_object_object_add (r, "readonly", json_object_new_boolean (0));
    json_object_object_add (root, "root", r);
    json_object_object_add (
        root, "hostname",
        json_object_new_string (options->hostname ? options->hostname : "warren"));

    json_object *mounts = json_object_new_array ();
    add_mount (mounts, "/proc", "proc", "proc", NULL);
    add_mount (mounts, "/dev", "tmpfs", "tmpfs",
               (const char *const[]){ "nosuid", "strictatime", "mode=755", "size=65536k", NULL });
    add_mount (mounts, "/dev/pts", "devpts", "devpts",
               (const char *const[]){ "nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                      "mode=0620", NULL });
    add_mount (
        mounts, "/dev/shm", "tmpfs", "shm",
        (const char *const[]){ "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL });
    add_mount (mounts, "/dev/mqueue", "mqueue", "mqueue",
               (const char *const[]){ "nosuid", "noexec", "nodev", NULL });
    add_mount (mounts, "/sys", "sysfs", "sysfs",
               (const char *const[]){ "nosuid", "noexec", "nodev", "ro", NULL });
    json_object_object_add (root, "mounts", mounts);

    json_object *linux_ = json_object_new_object ();
    json_object *namespaces = json_object_new_array ();
    const char *ns[] = { "pid", "ipc", "uts", "mount", "network", NULL };
    for (size_t i = 0; ns[i] != NULL; i++) {
        if (strcmp (ns[i], "network") == 0 && options->host_network)
            continue;
        json_object *n = json_object_new_object ();
        json_object_object_add (n, "type", json_object_new_string (ns[i]));
        json_object_array_add (namespaces, n);
    }
    json_object_object_add (linux_, "namespaces", namespaces);
    json_object_object_add (linux_, "maskedPaths", string_array (masked_paths));
    json_object_object_add (linux_, "readonlyPaths", string_array (readonly_paths));
    json_object_object_add (root, "linux", linux_);

    json_object *annotations = json_object_new_object ();
    if (image_name != NULL)
        json_object_object_add (annotations, "org.opencontainers.image.ref.name",
                                json_object_new_string (image_name));
    if (record != NULL) {
        if (record->manifest_digest != NULL)
            json_object_object_add (annotations, "dev.warren.image.manifest-digest",
                                    json_object_new_string (record->manifest_digest));
        if (record->config_digest != NULL)
            json_object_object_add (annotations, "dev.warren.image.config-digest",
                                    json_object_new_string (record->config_digest));
        if (record->root_id != NULL)
            json_object_object_add (annotations, "dev.warren.image.root-id",
                                    json_object_new_string (record->root_id));
    }
    if (config->exposed_ports != NULL && config->exposed_ports[0] != NULL) {
        cleanup_free char *ports = wr_strv_join (config->exposed_ports, ",");
        json_object_object_add (annotations, "dev.warren.image.exposed-ports",
                                json_object_new_string (ports));
    }
    for (size_t i = 0; options->annotations != NULL && options->annotations[i] != NULL; i++) {
        const char *eq = strchr (options->annotations[i], '=');
        if (eq == NULL || eq == options->annotations[i]) {
            json_object_put (annotations);
            json_object_put (root);
            wr_error_set (err, 0, "annotation `%s`: expected KEY=VALUE", options->annotations[i]);
            return NULL;
        }
        cleanup_free char *key =
            xstrndup (options->annotations[i], (size_t) (eq - options->annotations[i]));
        json_object_object_add (annotations, key, json_object_new_string (eq + 1));
    }
    json_object_object_add (root, "annotations", annotations);

    const char *text = json_object_to_json_string_ext (root, JSON_C_TO_STRING_PLAIN |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
    wr_spec_t *spec = wr_spec_parse (text, strlen (text), "the image's spec", err);
    json_object_put (root);
    return spec;
}
