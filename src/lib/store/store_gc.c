/* Garbage collection: mark (what the database references) and sweep
 * (blobs/, roots/ and ingest/), under the store lock held exclusively. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "store.h"
#include "store_private.h"
#include "strv.h"
#include "xalloc.h"

static int
cmp_str (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

static bool
in_sorted (char *const *list, size_t n, const char *name)
{
    return n > 0 && bsearch (&name, list, n, sizeof *list, cmp_str) != NULL;
}

/* The names in the directory FD (without "." and ".."), NULL-terminated.
 * NAME is the directory in the error. */
static int
list_dir (int fd, const char *name, char ***names, size_t *count, wr_error_t *err)
{
    int dup_fd = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dup_fd < 0)
        return wr_error_set (err, errno, "list `%s`", name);
    cleanup_closedir DIR *dir = fdopendir (dup_fd);
    if (dir == NULL) {
        int e = errno;
        close (dup_fd);
        return wr_error_set (err, e, "list `%s`", name);
    }
    cleanup_strv char **list = xzalloc (sizeof *list);
    size_t n = 0, cap = 1;
    for (;;) {
        errno = 0;
        struct dirent *entry = readdir (dir);
        if (entry == NULL) {
            if (errno != 0)
                return wr_error_set (err, errno, "list `%s`", name);
            break;
        }
        if (strcmp (entry->d_name, ".") == 0 || strcmp (entry->d_name, "..") == 0)
            continue;
        if (n + 2 > cap) {
            cap = 2 * (n + 2);
            list = xrealloc (list, cap * sizeof *list);
        }
        list[n++] = xstrdup (entry->d_name);
        list[n] = NULL;
    }
    *names = steal_pointer (&list);
    *count = n;
    return 0;
}

/* ---- removing a tree without following symlinks ----
 * Depth-first with one directory descriptor open at a time (climbing back
 * with ".." and checking it is the directory we came from), so a deep
 * hostile tree cannot exhaust descriptors.  Symlinks are unlinked, never
 * followed; another filesystem mounted inside is refused. */

typedef struct {
    char *name; /* in its parent */
    dev_t dev;
    ino_t ino;
    char **subdirs;
    size_t n_subdirs, next;
} frame_t;

/* BASE/frame names.../LEAF, for error messages only (it is long in a deep
 * tree). */
static char *
frames_path (const char *base, frame_t *frames, size_t depth, const char *leaf)
{
    size_t len = strlen (base) + (leaf != NULL ? strlen (leaf) + 1 : 0) + 1;
    for (size_t i = 0; i < depth; i++)
        len += strlen (frames[i].name) + 1;
    char *path = xmalloc (len);
    char *p = stpcpy (path, base);
    for (size_t i = 0; i < depth; i++)
        p = stpcpy (stpcpy (p, "/"), frames[i].name);
    if (leaf != NULL)
        p = stpcpy (stpcpy (p, "/"), leaf);
    return path;
}

static int
tree_error (wr_error_t *err, int errno_value, const char *what, const char *base, frame_t *frames,
            size_t depth, const char *leaf)
{
    cleanup_free char *path = frames_path (base, frames, depth, leaf);
    if (errno_value == EXDEV)
        return wr_error_set (err, 0, "`%s` %s", path, what);
    return wr_error_set (err, errno_value, "%s `%s`", what, path);
}

/* Unlinks everything but directories in CUR (the directory of the top
 * frame) and lists its subdirectories in the frame. */
static int
empty_directory (int cur, const char *base, frame_t *frames, size_t depth, dev_t dev,
                 uint64_t *bytes, wr_error_t *err)
{
    frame_t *f = &frames[depth - 1];
    struct stat st;
    if (fstat (cur, &st) < 0)
        return tree_error (err, errno, "stat", base, frames, depth, NULL);
    /* An unpacked root may hold read-only directories. */
    if ((st.st_mode & 0700) != 0700 && fchmod (cur, (st.st_mode & 07777) | 0700) < 0)
        return tree_error (err, errno, "chmod", base, frames, depth, NULL);
    cleanup_strv char **names = NULL;
    size_t n = 0;
    cleanup_free char *path = frames_path (base, frames, depth, NULL);
    if (list_dir (cur, path, &names, &n, err) < 0)
        return -1;
    f->subdirs = xzalloc ((n + 1) * sizeof *f->subdirs);
    for (size_t i = 0; i < n; i++) {
        if (fstatat (cur, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT)
                continue;
            return tree_error (err, errno, "stat", base, frames, depth, names[i]);
        }
        if (S_ISDIR (st.st_mode)) {
            if (st.st_dev != dev)
                return tree_error (err, EXDEV, "is a mount point: not removing it", base, frames,
                                   depth, names[i]);
            f->subdirs[f->n_subdirs++] = xstrdup (names[i]);
            continue;
        }
        if (unlinkat (cur, names[i], 0) < 0 && errno != ENOENT)
            return tree_error (err, errno, "unlink", base, frames, depth, names[i]);
        if (S_ISREG (st.st_mode) && st.st_nlink <= 1)
            *bytes += (uint64_t) st.st_size;
    }
    return 0;
}

/* Removes NAME (a directory or not) under PARENT_FD; BASE names PARENT_FD
 * in errors. */
static int
remove_tree (int parent_fd, const char *base, const char *name, uint64_t *bytes, wr_error_t *err)
{
    struct stat st;
    if (fstatat (parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : wr_error_set (err, errno, "stat `%s/%s`", base, name);
    if (!S_ISDIR (st.st_mode)) {
        if (unlinkat (parent_fd, name, 0) < 0 && errno != ENOENT)
            return wr_error_set (err, errno, "unlink `%s/%s`", base, name);
        if (S_ISREG (st.st_mode) && st.st_nlink <= 1)
            *bytes += (uint64_t) st.st_size;
        return 0;
    }
    struct stat parent;
    if (fstat (parent_fd, &parent) < 0)
        return wr_error_set (err, errno, "stat `%s`", base);
    if (st.st_dev != parent.st_dev)
        return wr_error_set (err, EXDEV, "`%s/%s` is a mount point: not removing it", base, name);
    const dev_t dev = st.st_dev;

    size_t cap = 16, depth = 0;
    frame_t *frames = xzalloc (cap * sizeof *frames);
    int ret = -1;
    cleanup_close int cur =
        openat (parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (cur < 0) {
        wr_error_set (err, errno, "open `%s/%s`", base, name);
        goto out;
    }
    frames[depth++] = (frame_t){ .name = xstrdup (name), .dev = st.st_dev, .ino = st.st_ino };
    if (empty_directory (cur, base, frames, depth, dev, bytes, err) < 0)
        goto out;
    while (depth > 0) {
        frame_t *f = &frames[depth - 1];
        if (f->next < f->n_subdirs) {
            const char *sub = f->subdirs[f->next++];
            int next = openat (cur, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (next < 0) {
                if (errno == ENOENT)
                    continue;
                cleanup_free char *path = frames_path (base, frames, depth, sub);
                wr_error_set (err, errno, "open `%s`", path);
                goto out;
            }
            close (cur);
            cur = next;
            if (fstat (cur, &st) < 0 || st.st_dev != dev) {
                cleanup_free char *path = frames_path (base, frames, depth, sub);
                wr_error_set (err, EXDEV, "`%s` changed while being removed", path);
                goto out;
            }
            if (depth == cap) {
                cap *= 2;
                frames = xrealloc (frames, cap * sizeof *frames);
            }
            frames[depth++] =
                (frame_t){ .name = xstrdup (sub), .dev = st.st_dev, .ino = st.st_ino };
            if (empty_directory (cur, base, frames, depth, dev, bytes, err) < 0)
                goto out;
            continue;
        }
        /* F is empty now: climb to its parent and remove it. */
        if (depth == 1) {
            close (cur);
            cur = -1;
            if (unlinkat (parent_fd, f->name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
                wr_error_set (err, errno, "rmdir `%s/%s`", base, f->name);
                goto out;
            }
            break;
        }
        int up = openat (cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close (cur);
        cur = up;
        frame_t *parent_frame = &frames[depth - 2];
        if (cur < 0 || fstat (cur, &st) < 0 || st.st_ino != parent_frame->ino ||
            st.st_dev != parent_frame->dev) {
            cleanup_free char *path = frames_path (base, frames, depth - 1, NULL);
            wr_error_set (err, cur < 0 ? errno : EXDEV, "`%s` moved while being removed", path);
            goto out;
        }
        if (unlinkat (cur, f->name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
            cleanup_free char *path = frames_path (base, frames, depth, NULL);
            wr_error_set (err, errno, "rmdir `%s`", path);
            goto out;
        }
        free (f->name);
        cleanup_strv_fn (&f->subdirs);
        depth--;
    }
    ret = 0;
out:
    for (size_t i = 0; i < depth; i++) {
        free (frames[i].name);
        cleanup_strv_fn (&frames[i].subdirs);
    }
    free (frames);
    return ret;
}

/* ---- sweeping ---- */

static int
sweep_blobs (wr_store_t *store, char *const *keep, size_t n_keep, wr_prune_stats_t *stats,
             wr_error_t *err)
{
    cleanup_free char *path = xasprintf ("%s/blobs/sha256", store->root);
    cleanup_strv char **names = NULL;
    size_t n = 0;
    if (list_dir (store->blobs_fd, path, &names, &n, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (in_sorted (keep, n_keep, names[i]))
            continue;
        if (remove_tree (store->blobs_fd, path, names[i], &stats->bytes_freed, err) < 0)
            return -1;
        stats->blobs_removed++;
    }
    return 0;
}

static int
sweep_roots (wr_store_t *store, char *const *keep, size_t n_keep, wr_prune_stats_t *stats,
             wr_error_t *err)
{
    cleanup_free char *path = xasprintf ("%s/roots", store->root);
    cleanup_strv char **names = NULL;
    size_t n = 0;
    if (list_dir (store->roots_fd, path, &names, &n, err) < 0)
        return -1;
    cleanup_strv char **in_use = NULL;
    for (size_t i = 0; i < n; i++) {
        if (in_sorted (keep, n_keep, names[i]))
            continue;
        /* Asked only when there is something to remove, and after the
         * listing: a bundle mounted later cannot use a root no image
         * references, since making one needs the image (and its root). */
        if (in_use == NULL && wr_store_roots_in_use (store, &in_use, err) < 0)
            return -1;
        if (in_use == NULL)
            in_use = xzalloc (sizeof *in_use);
        if (wr_strv_contains (in_use, names[i])) {
            wr_log_to (store->log, WR_LOG_INFO, "root kept: a mounted bundle uses it", "root",
                       names[i], NULL);
            stats->roots_in_use++;
            continue;
        }
        if (remove_tree (store->roots_fd, path, names[i], &stats->bytes_freed, err) < 0)
            return -1;
        stats->roots_removed++;
    }
    return 0;
}

/* Removes files in ingest/ untouched for WR_STORE_PARTIAL_MAX_AGE that no
 * writer holds locked. */
static int
sweep_ingest (wr_store_t *store, wr_prune_stats_t *stats, wr_error_t *err)
{
    cleanup_free char *path = xasprintf ("%s/ingest", store->root);
    cleanup_strv char **names = NULL;
    size_t n = 0;
    if (list_dir (store->ingest_fd, path, &names, &n, err) < 0)
        return -1;
    time_t now = time (NULL);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (fstatat (store->ingest_fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT)
                continue;
            return wr_error_set (err, errno, "stat `%s/%s`", path, names[i]);
        }
        if (now - st.st_mtime < WR_STORE_PARTIAL_MAX_AGE)
            continue;
        if (S_ISREG (st.st_mode)) {
            cleanup_close int fd =
                openat (store->ingest_fd, names[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) {
                if (errno == ENOENT)
                    continue;
                return wr_error_set (err, errno, "open `%s/%s`", path, names[i]);
            }
            /* A writer that has it locked is still downloading. */
            if (flock (fd, LOCK_EX | LOCK_NB) < 0)
                continue;
        }
        if (remove_tree (store->ingest_fd, path, names[i], &stats->bytes_freed, err) < 0)
            return -1;
        stats->partials_removed++;
    }
    return 0;
}

int
wr_store_prune (wr_store_t *store, wr_prune_stats_t *stats, wr_error_t *err)
{
    memset (stats, 0, sizeof *stats);
    cleanup_close int lock = wr_store_lock_exclusive (store, err);
    if (lock < 0)
        return wr_error_prefix (err, "prune the image store");
    cleanup_strv char **blobs = NULL;
    cleanup_strv char **roots = NULL;
    size_t n_blobs = 0, n_roots = 0;
    pthread_mutex_lock (&store->db_lock);
    int r = wr_store_db_referenced (store, &blobs, &n_blobs, &roots, &n_roots, err);
    pthread_mutex_unlock (&store->db_lock);
    if (r < 0)
        return wr_error_prefix (err, "prune the image store");
    if (sweep_blobs (store, blobs, n_blobs, stats, err) < 0 ||
        sweep_roots (store, roots, n_roots, stats, err) < 0 || sweep_ingest (store, stats, err) < 0)
        return wr_error_prefix (err, "prune the image store");
    return 0;
}
