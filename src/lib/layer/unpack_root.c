/* Making a root (wr_unpack_root, see unpack.h): every layer goes into a
 * temporary sibling DEST.tmp-XXXXXX, renamed to DEST at the end.
 *
 * The temporary directory is locked (flock on its descriptor) from the
 * moment it is made until it is renamed or removed, so an unpack can tell
 * one that a killed process left behind (nobody holds its lock) from one
 * that another process is still making.  Before it starts, an unpack
 * removes the abandoned ones of its DEST and waits for one in progress:
 * when that one makes DEST, there is nothing left to do (EEXIST, as when
 * DEST was there already).  A cleaner that wins the race for a directory
 * just made (between mkdtemp and flock) removes it; its maker sees that it
 * holds the lock of a removed directory and makes another. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "path_in_root.h"
#include "unpack.h"
#include "xalloc.h"
#include "remove_tree.h"

/* Looks at DEST.tmp-* siblings: one whose lock is free was left by a
 * process that is gone, and is removed; one whose lock is held is another
 * unpack of the same root, still going, and is waited for (many sandboxes
 * starting from one image unpack it once).  Returns true when DEST exists
 * afterwards: the other unpack made it.
 *
 * *STREAM (may be -1) is the first layer as it downloads: it is closed
 * before waiting, and set to -1.  Waiting while holding it could deadlock:
 * our download would stall on a stream nobody reads while holding the
 * blob's lock, which the other unpack's download waits for. */
static bool
settle_siblings (const char *dest, int *stream, const wr_log_t *log)
{
    cleanup_free char *dir_copy = xstrdup (dest);
    cleanup_free char *base_copy = xstrdup (dest);
    const char *dir = dirname (dir_copy);
    cleanup_free char *prefix = xasprintf ("%s.tmp-", basename (base_copy));
    int dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0)
        return false;
    cleanup_closedir DIR *d = fdopendir (dir_fd);
    if (d == NULL) {
        close (dir_fd);
        return false;
    }
    struct dirent *e;
    while ((e = readdir (d)) != NULL) {
        if (strncmp (e->d_name, prefix, strlen (prefix)) != 0)
            continue;
        cleanup_close int fd =
            openat (dir_fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            continue; /* renamed or removed meanwhile */
        if (flock (fd, LOCK_EX | LOCK_NB) < 0) {
            wr_log_to (log, WR_LOG_INFO, "waiting for another unpack of the same root", "root",
                       dest, NULL);
            if (*stream >= 0) {
                close (*stream);
                *stream = -1;
            }
            if (flock (fd, LOCK_EX) < 0)
                continue;
            struct stat st;
            if (faccessat (AT_FDCWD, dest, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return true;
            /* It failed: whatever it left goes, and this unpack goes on. */
            if (fstat (fd, &st) < 0 || st.st_nlink == 0)
                continue;
        }
        cleanup_error wr_error_t err = NULL;
        if (wr_remove_tree_at (dir_fd, e->d_name, &err) < 0)
            wr_log_to (log, WR_LOG_WARN, "could not remove an abandoned unpack", "path", e->d_name,
                       "error", err->message, NULL);
        else
            wr_log_to (log, WR_LOG_INFO, "removed an abandoned unpack", "dir", dir, "name",
                       e->d_name, NULL);
    }
    return false;
}

/* Makes and locks a temporary directory for DEST: its path in *TMP, its
 * descriptor (holding the lock) returned. */
static int
make_tmp (const char *dest, char **tmp, wr_error_t *err)
{
    for (int attempt = 0;; attempt++) {
        char *path = xasprintf ("%s.tmp-XXXXXX", dest);
        if (mkdtemp (path) == NULL) {
            wr_error_set (err, errno, "create `%s`", path);
            free (path);
            return -1;
        }
        int fd = open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (fd >= 0 && flock (fd, LOCK_EX) == 0 && fstat (fd, &st) == 0 && st.st_nlink > 0) {
            *tmp = path;
            return fd;
        }
        int e = fd < 0 ? errno : 0;
        if (fd >= 0)
            close (fd);
        /* Removed by another unpack's cleaning in between: make another. */
        if ((fd < 0 && e != ENOENT) || attempt >= 4) {
            wr_error_set (err, e, "open `%s`", path);
            free (path);
            return -1;
        }
        free (path);
    }
}

int
wr_unpack_root (const char *const *layers, const char *const *diff_ids, const char *dest,
                const wr_unpack_options_t *options, wr_error_t *err)
{
    bool hooked = options != NULL && options->layer_source != NULL;
    /* The layers of one root are held to the image's limits together. */
    wr_unpack_usage_t usage = { 0 };
    wr_unpack_options_t counted = options != NULL ? *options : (wr_unpack_options_t){ 0 };
    if (counted.usage == NULL)
        counted.usage = &usage;
    /* The first layer is waited for before anything is made: a pull killed
     * while it waits leaves no temporary root behind. */
    int first_fd = -1;
    if (layers[0] != NULL && hooked &&
        options->layer_source (options->layer_data, 0, &first_fd, err) < 0)
        return -1;
    cleanup_close int first = first_fd;
    bool streamed = first >= 0;
    if (settle_siblings (dest, &first, options != NULL ? options->log : NULL))
        return wr_error_set (err, EEXIST, "`%s` was made by another unpack meanwhile", dest);
    if (streamed && first < 0)
        return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, EAGAIN,
                                  "`%s`: another unpack of it failed while this one waited, and "
                                  "the first layer's stream was given up; unpack it from the store",
                                  dest);
    cleanup_free char *tmp = NULL;
    cleanup_close int root_fd = make_tmp (dest, &tmp, err);
    if (root_fd < 0)
        return -1;
    int r = -1;
    /* mkdtemp made it 0700; a root is 0755 unless a layer says. */
    if (fchmod (root_fd, 0755) < 0) {
        wr_error_set (err, errno, "chmod `%s`", tmp);
        goto out;
    }
    size_t i;
    for (i = 0; layers[i] != NULL; i++) {
        const char *diff_id = diff_ids != NULL ? diff_ids[i] : NULL;
        if (diff_ids != NULL && diff_id == NULL) {
            wr_error_set (err, EINVAL, "fewer diff_ids than layers for `%s`", dest);
            goto out;
        }
        if (options != NULL && wr_cancel_check (options->cancel, NULL, err) < 0) {
            wr_error_prefix (err, "unpack `%s`", dest);
            goto out;
        }
        int fd = -1;
        if (i == 0)
            fd = steal_fd (&first);
        else if (hooked && options->layer_source (options->layer_data, i, &fd, err) < 0)
            goto out;
        if (fd >= 0)
            r = wr_unpack_layer_fd (root_fd, fd, layers[i], diff_id, &counted, err);
        else
            r = wr_unpack_layer (root_fd, layers[i], diff_id, &counted, err);
        if (r < 0)
            goto out;
        r = -1;
        if (options != NULL && options->layer_done != NULL &&
            options->layer_done (options->layer_data, i, err) < 0)
            goto out;
    }
    if (diff_ids != NULL && diff_ids[i] != NULL) {
        wr_error_set (err, EINVAL, "more diff_ids than layers for `%s`", dest);
        goto out;
    }
    /* Renamed while still locked: no cleaner can take it before. */
    if (renameat2 (AT_FDCWD, tmp, AT_FDCWD, dest, RENAME_NOREPLACE) < 0) {
        wr_error_set (err, errno, "rename `%s` to `%s`", tmp, dest);
        goto out;
    }
    r = 0;
out:
    if (r < 0) {
        cleanup_error wr_error_t cleanup_err = NULL;
        if (wr_remove_tree_at (AT_FDCWD, tmp, &cleanup_err) < 0)
            wr_log_to (options != NULL ? options->log : NULL, WR_LOG_WARN,
                       "could not remove a failed unpack", "path", tmp, "error",
                       cleanup_err->message, NULL);
    }
    return r;
}
