/* OCI bundles of images: the spec from the image config, the root an
 * overlay of the shared unpacked root (see bundle.h). */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "cleanup.h"
#include "fs.h"
#include "path_in_root.h"
#include "strv.h"
#include "xalloc.h"

/* /etc/passwd and /etc/group of an image are untrusted: bigger than this
 * is refused rather than read. */
#define MAX_ACCOUNT_FILE (4 * 1024 * 1024)

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

/* ---- users ---- */

/* Reads the small regular file PATH inside ROOT_FD into *DATA; a missing
 * one (the error's kind not_found) leaves *DATA NULL and is no error. */
static int
read_in_root (int root_fd, const char *path, char **data, wr_error_t *err)
{
    *data = NULL;
    wr_error_t open_err = NULL;
    /* O_NONBLOCK: a fifo planted there must not hang us. */
    cleanup_close int fd =
        wr_open_in_root (root_fd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, &open_err);
    if (fd < 0) {
        if (wr_error_kind (open_err) != WR_ERROR_NOT_FOUND)
            return wr_error_propagate (err, &open_err);
        wr_error_free (&open_err);
        return 0;
    }
    struct stat st;
    if (fstat (fd, &st) < 0)
        return wr_error_set (err, errno, "stat `/%s` in the image", path);
    if (!S_ISREG (st.st_mode) || st.st_size > MAX_ACCOUNT_FILE)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "`/%s` in the image is not a regular file of at most %d bytes",
                                  path, MAX_ACCOUNT_FILE);
    cleanup_free char *name = xasprintf ("/%s in the image", path);
    *data = wr_read_fd (fd, name, MAX_ACCOUNT_FILE, NULL, err);
    return *data != NULL ? 0 : -1;
}

/* "123" as an id (0 to 2^32 - 2); -1 when TEXT is not a number. */
static long long
parse_id (const char *text)
{
    if (text[0] < '0' || text[0] > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    long long v = strtoll (text, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0 || v > 4294967294LL)
        return -1;
    return v;
}

/* LINE split at colons into exactly FIELDS fields (empty ones kept); NULL
 * when it has fewer.  The last field keeps any further colons. */
static char **
split_fields (const char *line, size_t fields)
{
    char **parts = xzalloc ((fields + 1) * sizeof *parts);
    const char *p = line;
    for (size_t n = 0; n < fields; n++) {
        const char *colon = n + 1 < fields ? strchr (p, ':') : NULL;
        if (colon == NULL && n + 1 < fields) {
            wr_strv_free (parts);
            return NULL;
        }
        parts[n] = colon != NULL ? xstrndup (p, (size_t) (colon - p)) : xstrdup (p);
        if (colon != NULL)
            p = colon + 1;
    }
    return parts;
}

/* The fields of the line of DATA (passwd or group format) whose field
 * KEY_FIELD is KEY; NULL when none. */
static char **
find_entry (const char *data, size_t fields, size_t key_field, const char *key)
{
    if (data == NULL)
        return NULL;
    const char *line = data;
    while (*line != '\0') {
        const char *end = strchr (line, '\n');
        size_t len = end != NULL ? (size_t) (end - line) : strlen (line);
        cleanup_free char *copy = xstrndup (line, len);
        line = end != NULL ? end + 1 : line + len;
        if (copy[0] == '#' || copy[0] == '+' || copy[0] == '-')
            continue;
        char **parts = split_fields (copy, fields);
        if (parts != NULL && strcmp (parts[key_field], key) == 0)
            return parts;
        wr_strv_free (parts);
    }
    return NULL;
}

void
wr_bundle_user_clear (wr_bundle_user_t *user)
{
    free (user->additional_gids);
    free (user->home);
    memset (user, 0, sizeof *user);
}

static int
resolve_user (int root_fd, const char *text, wr_bundle_user_t *out, wr_error_t *err)
{
    if (text == NULL || text[0] == '\0')
        text = "0";
    cleanup_free char *user = xstrdup (text);
    char *group = strchr (user, ':');
    if (group != NULL)
        *group++ = '\0';
    if (user[0] == '\0' || (group != NULL && group[0] == '\0'))
        return wr_error_set (err, 0, "user `%s`: expected USER[:GROUP]", text);

    cleanup_free char *passwd = NULL;
    if (read_in_root (root_fd, "etc/passwd", &passwd, err) < 0)
        return -1;
    cleanup_free char *groups = NULL;
    if (read_in_root (root_fd, "etc/group", &groups, err) < 0)
        return -1;

    long long uid = parse_id (user);
    cleanup_strv char **pw = NULL;
    if (uid >= 0) {
        /* A uid found in passwd names the user (for its groups and home). */
        cleanup_free char *key = xasprintf ("%lld", uid);
        pw = find_entry (passwd, 7, 2, key);
    } else {
        pw = find_entry (passwd, 7, 0, user);
        if (pw == NULL)
            return wr_error_set (err, 0, "user `%s` is not in the image's /etc/passwd", user);
        uid = parse_id (pw[2]);
        if (uid < 0)
            return wr_error_set (err, 0, "user `%s` has a bad uid `%s` in /etc/passwd", user,
                                 pw[2]);
    }
    long long gid = 0;
    if (group != NULL) {
        gid = parse_id (group);
        if (gid < 0) {
            cleanup_strv char **gr = find_entry (groups, 4, 0, group);
            if (gr == NULL)
                return wr_error_set (err, 0, "group `%s` is not in the image's /etc/group", group);
            gid = parse_id (gr[2]);
            if (gid < 0)
                return wr_error_set (err, 0, "group `%s` has a bad gid `%s` in /etc/group", group,
                                     gr[2]);
        }
    } else if (pw != NULL) {
        gid = parse_id (pw[3]);
        if (gid < 0)
            return wr_error_set (err, 0, "user `%s` has a bad gid `%s` in /etc/passwd", user,
                                 pw[3]);
    }
    out->uid = (uid_t) uid;
    out->gid = (gid_t) gid;
    if (pw != NULL && pw[5][0] == '/')
        out->home = xstrdup (pw[5]);

    /* Supplementary groups: those that list the user's name. */
    if (pw != NULL && groups != NULL && group == NULL) {
        const char *line = groups;
        while (*line != '\0') {
            const char *end = strchr (line, '\n');
            size_t len = end != NULL ? (size_t) (end - line) : strlen (line);
            cleanup_free char *copy = xstrndup (line, len);
            line = end != NULL ? end + 1 : line + len;
            cleanup_strv char **parts = split_fields (copy, 4);
            if (parts == NULL)
                continue;
            cleanup_strv char **names = wr_strv_split (parts[3], ",");
            long long g = parse_id (parts[2]);
            if (g < 0 || (gid_t) g == out->gid || !wr_strv_contains (names, pw[0]))
                continue;
            out->additional_gids =
                xrealloc (out->additional_gids, (out->n_additional_gids + 1) * sizeof (gid_t));
            out->additional_gids[out->n_additional_gids++] = (gid_t) g;
        }
    }
    return 0;
}

int
wr_bundle_resolve_user (int root_fd, const char *user, wr_bundle_user_t *out, wr_error_t *err)
{
    memset (out, 0, sizeof *out);
    if (resolve_user (root_fd, user, out, err) < 0) {
        wr_bundle_user_clear (out);
        return -1;
    }
    return 0;
}

/* ---- the spec ---- */

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

/* ---- the root ---- */

/* overlayfs takes its directories in a comma- and colon-separated option
 * string: such characters in a path would change its meaning. */
static int
check_overlay_path (const char *path, wr_error_t *err)
{
    if (strpbrk (path, ",:\\") != NULL)
        return wr_error_set (err, EINVAL, "overlay directory `%s` has a `,`, `:` or `\\`", path);
    return 0;
}

int
wr_bundle_mount (const char *dir, const char *lower, wr_error_t *err)
{
    cleanup_free char *upper = xasprintf ("%s/upper", dir);
    cleanup_free char *work = xasprintf ("%s/work", dir);
    cleanup_free char *rootfs = xasprintf ("%s/rootfs", dir);
    if (check_overlay_path (lower, err) < 0 || check_overlay_path (upper, err) < 0 ||
        check_overlay_path (work, err) < 0)
        return -1;
    struct stat st;
    if (stat (lower, &st) < 0)
        return wr_error_set (err, errno, "image root `%s`", lower);
    if (!S_ISDIR (st.st_mode))
        return wr_error_set (err, ENOTDIR, "image root `%s`", lower);
    if (mkdir (dir, 0700) < 0)
        return wr_error_set (err, errno, "create bundle `%s`", dir);
    if (mkdir (upper, 0755) < 0 || mkdir (work, 0700) < 0 || mkdir (rootfs, 0755) < 0)
        return wr_error_set (err, errno, "create the directories of bundle `%s`", dir);
    /* The upper root takes the lower root's mode and owner, or the
     * sandbox's / would be 0700 root. */
    if (chmod (upper, st.st_mode & 07777) < 0 || chown (upper, st.st_uid, st.st_gid) < 0)
        return wr_error_set (err, errno, "set the mode of `%s`", upper);
    /* No index, metacopy or redirect_dir: every change is a whole file in
     * upper/, which is what an image layer needs. */
    cleanup_free char *data =
        xasprintf ("lowerdir=%s,upperdir=%s,workdir=%s,index=off,metacopy=off,redirect_dir=off",
                   lower, upper, work);
    if (mount ("overlay", rootfs, "overlay", 0, data) < 0)
        return wr_error_set (err, errno, "mount an overlay of `%s` on `%s`", lower, rootfs);
    return 0;
}

int
wr_bundle_create (wr_store_t *store, const wr_image_record_t *record,
                  const wr_image_config_t *config, const char *dir,
                  const wr_bundle_options_t *options, wr_error_t *err)
{
    if (record->root_id == NULL)
        return wr_error_set (err, 0, "image `%s` has no unpacked root: pull it again",
                             record->name);
    cleanup_free char *lower = wr_store_root_path (store, record->root_id, err);
    if (lower == NULL)
        return wr_error_prefix (err, "image `%s`", record->name);
    cleanup_close int root_fd = open (lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        return wr_error_set (err, errno, "image `%s`: open its root `%s`", record->name, lower);
    cleanup_spec wr_spec_t *spec =
        wr_bundle_spec (root_fd, config, record->name, record, options, err);
    if (spec == NULL)
        return -1;
    if (wr_bundle_mount (dir, lower, err) < 0) {
        wr_bundle_destroy (dir, NULL);
        return wr_error_prefix (err, "bundle of image `%s`", record->name);
    }
    cleanup_free char *config_path = xasprintf ("%s/config.json", dir);
    if (wr_spec_save (spec, config_path, err) < 0) {
        wr_bundle_destroy (dir, NULL);
        return -1;
    }
    return 0;
}

/* True when PATH is a mount point (another device than its parent, or a
 * mount of the same device, which statx tells). */
static bool
is_mount_point (const char *path)
{
    struct statx stx;
    if (statx (AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0)
        return false;
    return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) != 0 &&
           (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
}

int
wr_bundle_unmount (const char *dir, wr_error_t *err)
{
    cleanup_free char *rootfs = xasprintf ("%s/rootfs", dir);
    /* Several mounts may be stacked there (a retry); take them all. */
    for (int i = 0; i < 16 && is_mount_point (rootfs); i++) {
        if (umount2 (rootfs, 0) < 0 && errno != EINVAL) {
            if (errno != EBUSY || umount2 (rootfs, MNT_DETACH) < 0)
                return wr_error_set (err, errno, "unmount `%s`", rootfs);
        }
    }
    if (is_mount_point (rootfs))
        return wr_error_set (err, EBUSY, "`%s` is still mounted: not removing bundle `%s`", rootfs,
                             dir);
    return 0;
}

int
wr_bundle_destroy (const char *dir, wr_error_t *err)
{
    struct stat st;
    if (lstat (dir, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        return wr_error_set (err, errno, "bundle `%s`", dir);
    }
    if (wr_bundle_unmount (dir, err) < 0)
        return -1;
    return wr_remove_tree_at (AT_FDCWD, dir, err);
}
