/* Image builds in steps, each cached (see image_build.h): running a
 * step in a sandbox on top of the image's root, and the build itself. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bundle.h"
#include "cleanup.h"
#include "digest.h"
#include "image_build.h"
#include "image_build_private.h"
#include "image_pull.h"
#include "layer_diff.h"
#include "log.h"
#include "manifest.h"
#include "path_in_root.h"
#include "strv.h"
#include "unpack.h"
#include "xalloc.h"
#include "remove_tree.h"

static char *
find_runsc (const wr_build_options_t *options)
{
    if (options != NULL && options->runsc != NULL)
        return xstrdup (options->runsc);
    /* The library reads no PATH: the caller finds runsc (the CLI does). */
    return xstrdup ("/usr/bin/runsc");
}

static char *
describe_status (int status)
{
    if (WIFEXITED (status))
        return xasprintf ("exited with status %d", WEXITSTATUS (status));
    if (WIFSIGNALED (status))
        return xasprintf ("was killed by signal %d", WTERMSIG (status));
    return xasprintf ("ended with wait status %d", status);
}

/* /etc/os-release's ID of the root ROOT_FD (resolved inside it). */
static char *
os_release_id (int root_fd, wr_error_t *err)
{
    const char *paths[] = { "etc/os-release", "usr/lib/os-release", NULL };
    for (size_t i = 0; paths[i] != NULL; i++) {
        /* Either file may be missing: the ID is a hint, not a need. */
        cleanup_close int fd = wr_open_in_root (root_fd, paths[i], O_RDONLY | O_NONBLOCK, 0, NULL);
        if (fd < 0)
            continue;
        struct stat st;
        if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_size > 65536)
            continue;
        char buf[65537];
        ssize_t n = read (fd, buf, sizeof buf - 1);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        for (char *save = NULL, *line = strtok_r (buf, "\n", &save); line != NULL;
             line = strtok_r (NULL, "\n", &save)) {
            if (strncmp (line, "ID=", 3) != 0)
                continue;
            char *v = line + 3;
            size_t len = strlen (v);
            if (len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0]) {
                v[len - 1] = '\0';
                v++;
            }
            return xstrdup (v);
        }
    }
    wr_error_set (err, 0,
                  "with_docker: the image has no /etc/os-release with an ID: "
                  "supported distributions are debian and ubuntu");
    return NULL;
}

static int copy_in (int src_dir, const char *src, int dir_fd, const char *name, const char *shown,
                    wr_error_t *err);

/* Copies what the directory FROM holds into the directory TO (SHOWN names
 * FROM in errors). */
static int
copy_children (int from, int to, const char *shown, wr_error_t *err)
{
    int dup_fd = openat (from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cleanup_closedir DIR *dir = dup_fd >= 0 ? fdopendir (dup_fd) : NULL;
    if (dir == NULL) {
        if (dup_fd >= 0)
            close (dup_fd);
        return wr_error_set (err, errno, "copy: read `%s`", shown);
    }
    cleanup_strv char **names = NULL;
    struct dirent *de;
    while ((de = readdir (dir)) != NULL)
        if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
            wr_strv_add (&names, de->d_name);
    for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
        cleanup_free char *child = xasprintf ("%s/%s", shown, names[i]);
        if (copy_in (from, names[i], to, names[i], child, err) < 0)
            return -1;
    }
    return 0;
}

/* Copies SRC (file, directory or symlink) in SRC_DIR to NAME in DIR_FD,
 * which is inside the image's merged root: nothing there is followed. */
static int
copy_in (int src_dir, const char *src, int dir_fd, const char *name, const char *shown,
         wr_error_t *err)
{
    struct stat st;
    if (fstatat (src_dir, src, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return wr_error_set (err, errno, "copy: `%s`", shown);
    struct stat old;
    bool exists = fstatat (dir_fd, name, &old, AT_SYMLINK_NOFOLLOW) == 0;
    if (S_ISDIR (st.st_mode)) {
        if (exists && !S_ISDIR (old.st_mode)) {
            if (unlinkat (dir_fd, name, 0) < 0)
                return wr_error_set (err, errno, "copy: replace `%s`", shown);
            exists = false;
        }
        if (!exists && mkdirat (dir_fd, name, st.st_mode & 07777) < 0)
            return wr_error_set (err, errno, "copy: make `%s`", shown);
        cleanup_close int to =
            openat (dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        cleanup_close int from =
            openat (src_dir, src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (to < 0 || from < 0)
            return wr_error_set (err, errno, "copy: open `%s`", shown);
        if (fchown (to, 0, 0) < 0 || fchmod (to, st.st_mode & 07777) < 0)
            return wr_error_set (err, errno, "copy: set the owner of `%s`", shown);
        return copy_children (from, to, shown, err);
    }
    if (exists && wr_remove_tree_at (dir_fd, name, err) < 0)
        return -1;
    if (S_ISLNK (st.st_mode)) {
        char target[4096];
        ssize_t len = readlinkat (src_dir, src, target, sizeof target - 1);
        if (len < 0)
            return wr_error_set (err, errno, "copy: read symlink `%s`", shown);
        target[len] = '\0';
        if (symlinkat (target, dir_fd, name) < 0 ||
            fchownat (dir_fd, name, 0, 0, AT_SYMLINK_NOFOLLOW) < 0)
            return wr_error_set (err, errno, "copy: make symlink `%s`", shown);
        return 0;
    }
    if (!S_ISREG (st.st_mode))
        return wr_error_set (err, 0, "copy: `%s` is not a file, directory or symlink", shown);
    cleanup_close int in = openat (src_dir, src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return wr_error_set (err, errno, "copy: open `%s`", shown);
    cleanup_close int out =
        openat (dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return wr_error_set (err, errno, "copy: create `%s` in the image", shown);
    cleanup_free char *buf = xmalloc (WR_BUILD_COPY_BUFFER);
    ssize_t n;
    while ((n = read (in, buf, WR_BUILD_COPY_BUFFER)) > 0)
        if (write (out, buf, (size_t) n) != n)
            return wr_error_set (err, errno, "copy: write `%s`", shown);
    if (n < 0)
        return wr_error_set (err, errno, "copy: read `%s`", shown);
    struct timespec times[2] = { st.st_atim, st.st_mtim };
    if (fchown (out, 0, 0) < 0 || fchmod (out, st.st_mode & 07777) < 0 || futimens (out, times) < 0)
        return wr_error_set (err, errno, "copy: set the metadata of `%s`", shown);
    return 0;
}

/* The copy step STEP into the merged root ROOTFS, at DST (absolute,
 * normalised: the step's destination resolved against the WorkingDir). */
static int
copy_step (const wr_build_step_t *step, const wr_build_options_t *options, const char *rootfs,
           const char *dst, wr_error_t *err)
{
    cleanup_close int src_fd = -1;
    const char *src_name = NULL;
    if (wr_build_copy_source (step, options, &src_fd, &src_name, err) < 0)
        return -1;
    int src_dir = src_fd >= 0 ? src_fd : AT_FDCWD;
    struct stat st;
    if (fstatat (src_dir, src_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return wr_error_set (err, errno, "copy: `%s`%s", step->src,
                             options->context_dir != NULL ? " in the build context" : "");
    cleanup_close int root_fd = open (rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        return wr_error_set (err, errno, "open `%s`", rootfs);
    cleanup_free char *path = wr_path_normalize (dst[0] == '/' ? dst + 1 : dst, err);
    if (path == NULL)
        return wr_error_prefix (err, "copy: destination `%s`", step->dst);
    size_t dst_len = strlen (step->dst);
    bool into = path[0] == '\0' || step->dst[dst_len - 1] == '/';
    if (!into && !S_ISDIR (st.st_mode)) {
        /* As Docker: a directory of the image there takes the file. */
        cleanup_close int d = wr_open_in_root (root_fd, path, O_PATH | O_DIRECTORY, 0, NULL);
        into = d >= 0;
    }
    if (into && !S_ISDIR (st.st_mode)) {
        const char *slash = strrchr (src_name, '/');
        const char *file = slash != NULL ? slash + 1 : src_name;
        char *joined = path[0] != '\0' ? xasprintf ("%s/%s", path, file) : xstrdup (file);
        free (path);
        path = joined;
    }
    if (path[0] == '\0') {
        /* A directory's contents into the root itself. */
        cleanup_close int from =
            openat (src_dir, src_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (from < 0)
            return wr_error_set (err, errno, "copy: open `%s`", step->src);
        return copy_children (from, root_fd, step->src, err);
    }
    const char *base = NULL;
    cleanup_close int parent_path_fd = wr_open_parent_in_root (root_fd, path, true, &base, err);
    if (parent_path_fd < 0)
        return wr_error_prefix (err, "copy: the directory of `%s` in the image", step->dst);
    /* The O_PATH descriptor cannot be written through: reopen it. */
    cleanup_close int parent = openat (parent_path_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (parent < 0)
        return wr_error_set (err, errno, "copy: open the directory of `%s`", step->dst);
    return copy_in (src_dir, src_name, parent, base, step->src, err);
}

/* Makes the directory PATH (absolute) in the image's merged root ROOTFS
 * and the missing ones on its way, owned by root, mode 0755. */
static int
make_workdir (const char *rootfs, const char *path, wr_error_t *err)
{
    cleanup_free char *normal = wr_path_normalize (path + 1, err);
    if (normal == NULL)
        return wr_error_prefix (err, "workdir `%s`", path);
    cleanup_close int root_fd = open (rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        return wr_error_set (err, errno, "open `%s`", rootfs);
    const char *base = NULL;
    cleanup_close int parent = wr_open_parent_in_root (root_fd, normal, true, &base, err);
    if (parent < 0)
        return wr_error_prefix (err, "workdir `%s`", path);
    if (mkdirat (parent, base, 0755) < 0 && errno != EEXIST)
        return wr_error_set (err, errno, "workdir: make `%s`", path);
    return 0;
}

typedef struct {
    wr_store_t *store;
    const wr_build_options_t *options;
    char *work; /* STORE/build */
    char *runsc;
    int output_fd;
    int timeout;
    unsigned counter;
} builder_t;

/* Runs a layer step on IMAGE: a bundle on its root, the step in it, the
 * upper directory as a new layer.  WORKDIR is the WorkingDir a config step makes
 * or the destination of a copy (absolute).  *LAYER gets the layer's digests. */
static int
layer_step (builder_t *b, wr_build_image_t *image, const wr_build_step_t *step, size_t index,
            const char *workdir, wr_layer_diff_result_t *layer, wr_error_t *err)
{
    cleanup_free char *lower = wr_build_image_root (b->store, image, b->options->log, err);
    if (lower == NULL)
        return -1;
    cleanup_free char *dir = xasprintf ("%s/%d-%u", b->work, (int) getpid (), b->counter++);
    cleanup_free char *id = xasprintf ("warren-build-%d-%u", (int) getpid (), b->counter);
    cleanup_free char *state = xasprintf ("%s/runsc", b->work);
    cleanup_free char *layer_path = xasprintf ("%s.layer", dir);
    mkdir (state, 0700);
    wr_bundle_destroy (dir, NULL);
    if (wr_bundle_mount (dir, lower, err) < 0)
        return -1;
    int r = 0;
    cleanup_strv char **commands = NULL;
    if (step->kind == WR_BUILD_RUN) {
        commands = wr_strv_copy (step->commands);
    } else if (step->kind == WR_BUILD_WITH_DOCKER) {
        cleanup_close int root_fd = open (lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cleanup_free char *os = root_fd >= 0 ? os_release_id (root_fd, err) : NULL;
        if (root_fd < 0)
            r = wr_error_set (err, errno, "open `%s`", lower);
        else if (os == NULL)
            r = -1;
        else if (strcmp (os, "debian") != 0 && strcmp (os, "ubuntu") != 0)
            r = wr_error_set (err, 0,
                              "with_docker: the image's distribution is `%s` (ID in "
                              "/etc/os-release); supported distributions are debian and ubuntu",
                              os);
        else
            wr_strv_add_take (&commands,
                              wr_build_with_docker_script (wr_build_apt_mirror (b->options)));
    } else if (step->kind == WR_BUILD_COPY) {
        cleanup_free char *rootfs = xasprintf ("%s/rootfs", dir);
        r = copy_step (step, b->options, rootfs, workdir, err);
    } else if (step->kind == WR_BUILD_CONFIG) {
        cleanup_free char *rootfs = xasprintf ("%s/rootfs", dir);
        r = make_workdir (rootfs, workdir, err);
    }
    for (size_t i = 0; r == 0 && commands != NULL && commands[i] != NULL; i++) {
        const char *args[] = { "/bin/sh", "-c", commands[i], NULL };
        /* Package installs need root, whatever user the image runs as. */
        const wr_build_network_t *network = b->options->network;
        wr_bundle_options_t bopts = {
            .args = args,
            .host_network = network == NULL && !b->options->no_network,
            .user = step->kind == WR_BUILD_WITH_DOCKER ? "0:0" : NULL,
            .env = step->kind == WR_BUILD_RUN ? (const char *const *) step->env : NULL,
        };
        cleanup_close int root_fd = open (lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cleanup_spec wr_spec_t *spec =
            wr_bundle_spec (root_fd, &image->parsed, NULL, NULL, &bopts, err);
        cleanup_free char *config_path = xasprintf ("%s/config.json", dir);
        if (spec == NULL ||
            (network != NULL && wr_build_sandbox_network (spec, network, err) < 0) ||
            wr_spec_save (spec, config_path, err) < 0) {
            r = -1;
            break;
        }
        char step_no[24];
        snprintf (step_no, sizeof step_no, "%zu", index + 1);
        wr_log_to (b->options->log, WR_LOG_INFO, "running", "step", step_no, "command", commands[i],
                   NULL);
        int status = 0;
        const wr_build_sandbox_t sandbox = {
            .runsc = b->runsc,
            .state = state,
            .dir = dir,
            .id = id,
            .output_fd = b->output_fd,
            .network = network,
            .no_network = b->options->no_network,
            .timeout = b->timeout,
            .cancel = b->options->cancel,
        };
        r = wr_build_sandbox_run (&sandbox, &status, err);
        if (r == 0 && !(WIFEXITED (status) && WEXITSTATUS (status) == 0)) {
            cleanup_free char *how = describe_status (status);
            r = wr_error_set (err, 0, "step %zu: `%s` %s", index + 1,
                              step->kind == WR_BUILD_WITH_DOCKER ? "with_docker" : commands[i],
                              how);
        }
    }
    if (wr_bundle_unmount (dir, r == 0 ? err : NULL) < 0)
        r = -1;
    if (r == 0) {
        cleanup_free char *upper = xasprintf ("%s/upper", dir);
        cleanup_close int upper_fd = open (upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cleanup_close int out = open (layer_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (upper_fd < 0 || out < 0)
            r = wr_error_set (err, errno, "open `%s`", upper_fd < 0 ? upper : layer_path);
        cleanup_close int lower_fd = open (lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (r == 0 && commands != NULL && lower_fd >= 0)
            wr_build_sandbox_drop_mountpoints (b->options->network, lower_fd, upper_fd);
        if (r == 0)
            r = wr_layer_diff_write (upper_fd, out, layer, err);
        if (r == 0)
            r = wr_build_store_blob_from_fd (b->store, out, layer->digest, layer->size, err);
    }
    unlink (layer_path);
    wr_bundle_destroy (dir, NULL);
    return r;
}

static int
run_step (builder_t *b, wr_build_image_t *image, const wr_build_step_t *step, size_t index,
          const char *description, wr_build_result_t *result, wr_error_t *err)
{
    cleanup_free char *created_by = xasprintf ("warren build: %s", description);
    cleanup_free char *workdir = NULL;
    bool needs_layer = step->kind != WR_BUILD_ENV && step->kind != WR_BUILD_CONFIG;
    if (step->kind == WR_BUILD_COPY)
        workdir = wr_build_image_workdir (image, step->dst); /* the destination */
    if (step->kind == WR_BUILD_CONFIG && step->workdir != NULL) {
        workdir = wr_build_image_workdir (image, step->workdir);
        /* As Docker: a WORKDIR that is not in the image is made. */
        cleanup_free char *lower = wr_build_image_root (b->store, image, b->options->log, err);
        if (lower == NULL)
            return -1;
        cleanup_close int root_fd = open (lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
            return wr_error_set (err, errno, "open `%s`", lower);
        cleanup_close int dir_fd =
            strcmp (workdir, "/") == 0
                ? -1
                : wr_open_in_root (root_fd, workdir + 1, O_PATH | O_DIRECTORY, 0, NULL);
        needs_layer = strcmp (workdir, "/") != 0 && dir_fd < 0;
    }
    if (step->kind == WR_BUILD_ENV)
        wr_build_image_set_env (image, step->env);
    wr_layer_diff_result_t layer;
    if (needs_layer) {
        if (layer_step (b, image, step, index, workdir, &layer, err) < 0)
            return -1;
        result->layers_added++;
    }
    if (step->kind == WR_BUILD_CONFIG)
        wr_build_image_set_config (image, step, workdir);
    if (wr_build_image_commit (b->store, image, needs_layer ? &layer : NULL, created_by, err) < 0)
        return -1;
    /* Parse the new config again: diff ids and the root id follow. */
    cleanup_free char *manifest_digest = xstrdup (image->manifest_digest);
    wr_build_image_clear (image);
    if (wr_build_image_load (b->store, manifest_digest, image, err) < 0)
        return -1;
    cleanup_free char *root = wr_build_image_root (b->store, image, b->options->log, err);
    return root != NULL ? 0 : -1;
}

int
wr_image_build (wr_store_t *store, const wr_image_record_t *base, const wr_build_step_t *steps,
                size_t n_steps, const char *name, const wr_build_options_t *options,
                wr_image_record_t *out, wr_build_result_t *result, wr_error_t *err)
{
    static const wr_build_options_t no_options;
    if (options == NULL)
        options = &no_options;
    wr_build_result_t local_result;
    if (result == NULL)
        result = &local_result;
    memset (result, 0, sizeof *result);
    if (name == NULL || name[0] == '\0')
        return wr_error_set (err, 0, "a build needs a name for its image");

    builder_t b = {
        .store = store,
        .options = options,
        .work = xasprintf ("%s/build", wr_store_path (store)),
        .runsc = find_runsc (options),
        .output_fd = options->output_fd > 0 ? options->output_fd : STDERR_FILENO,
        .timeout = options->step_timeout > 0 ? options->step_timeout : 3600,
    };
    sqlite3 *db = NULL;
    wr_build_image_t image = { 0 };
    int lock_fd = -1, r = -1;
    /* Each step's manifest and config, recorded with the built image so
     * that prune keeps them (a few KB; the layers are the image's own) and
     * the next build of the same steps is all cache hits. */
    cleanup_strv char **step_blobs = NULL;
    if (mkdir (b.work, 0700) < 0 && errno != EEXIST) {
        wr_error_set (err, errno, "create `%s`", b.work);
        goto out;
    }
    /* Held shared until the image is recorded: prune waits, and removes
     * nothing this build is about to reference. */
    lock_fd = wr_store_lock_shared (store, err);
    if (lock_fd < 0 || wr_build_cache_open (store, &db, err) < 0)
        goto out;
    if (wr_build_image_load (store, base->manifest_digest, &image, err) < 0) {
        wr_error_prefix (err, "base image `%s`", base->name);
        goto out;
    }
    for (size_t i = 0; i < n_steps; i++) {
        cleanup_free char *description = wr_build_step_describe (&steps[i], options, err);
        if (description == NULL)
            goto out;
        char key[WR_DIGEST_MAX_LEN + 1];
        wr_build_cache_key (image.manifest_digest, description, key);
        char step_no[48];
        snprintf (step_no, sizeof step_no, "%zu/%zu", i + 1, n_steps);
        cleanup_free char *cached = NULL;
        int hit = wr_build_cache_get (db, key, &cached, err);
        if (hit < 0)
            goto out;
        if (hit > 0) {
            wr_build_image_t next = { 0 };
            if (wr_build_image_load (store, cached, &next, NULL) == 0) {
                wr_build_image_clear (&image);
                image = next;
                wr_log_to (options->log, WR_LOG_INFO, "cache hit", "step", step_no, "key", key,
                           "manifest", cached, NULL);
                result->steps_cached++;
                wr_strv_add (&step_blobs, image.manifest_digest);
                wr_strv_add (&step_blobs, image.config_digest);
                continue;
            }
        }
        if (wr_cancel_check (options->cancel, "build", err) < 0)
            goto out;
        wr_log_to (options->log, WR_LOG_INFO, "build step", "step", step_no, "does", description,
                   NULL);
        if (run_step (&b, &image, &steps[i], i, description, result, err) < 0) {
            wr_error_prefix (err, "build step %s", step_no);
            goto out;
        }
        if (wr_build_cache_put (db, key, image.manifest_digest, err) < 0)
            goto out;
        result->steps_run++;
        wr_strv_add (&step_blobs, image.manifest_digest);
        wr_strv_add (&step_blobs, image.config_digest);
    }
    {
        cleanup_free char *root = wr_build_image_root (store, &image, options->log, err);
        if (root == NULL)
            goto out;
        size_t n = json_object_array_length (image.layers);
        cleanup_strv char **blobs = NULL;
        for (size_t i = 0; i < n; i++) {
            json_object *digest = NULL;
            json_object_object_get_ex (json_object_array_get_idx (image.layers, i), "digest",
                                       &digest);
            wr_strv_add (&blobs, json_object_get_string (digest));
        }
        for (char **d = step_blobs; d != NULL && *d != NULL; d++)
            if (!wr_strv_contains (blobs, *d))
                wr_strv_add (&blobs, *d);
        wr_image_record_t record = {
            .name = (char *) name,
            .manifest_digest = image.manifest_digest,
            .config_digest = image.config_digest,
            .root_id = image.root_id,
            .size = image.size,
        };
        if (wr_store_image_put (store, &record, (const char *const *) blobs, err) < 0)
            goto out;
        if (out != NULL && wr_store_image_get (store, name, out, err) < 0)
            goto out;
    }
    char counts[64];
    snprintf (counts, sizeof counts, "%zu run, %zu cached", result->steps_run,
              result->steps_cached);
    wr_log_to (options->log, WR_LOG_INFO, "image built", "image", name, "manifest",
               image.manifest_digest, "steps", counts, NULL);
    r = 0;
out:
    wr_build_image_clear (&image);
    if (db != NULL)
        sqlite3_close_v2 (db);
    if (lock_fd >= 0)
        wr_store_unlock (lock_fd);
    free (b.work);
    free (b.runsc);
    return r;
}
