#include "remove_tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"

/* unlinkat of a directory without AT_REMOVEDIR: EISDIR on Linux, EPERM
 * in gVisor and by POSIX. */
static bool
is_directory_at (int fd, const char *name, int unlink_errno)
{
    struct stat st;
    return (unlink_errno == EISDIR || unlink_errno == EPERM) &&
           fstatat (fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode);
}

/* Reads directory FD once: unlinks what is not a directory and returns 1
 * with the first subdirectory's name in *SUBDIR, or 0 when none is left
 * (after a pass that removed nothing, since readdir may skip entries while
 * others are removed). */
static int
next_subdir (int fd, const char *name, char **subdir, wr_error_t *err)
{
    for (int pass = 0; pass < 16; pass++) {
        int dup_fd = fcntl (fd, F_DUPFD_CLOEXEC, 0);
        if (dup_fd < 0)
            return wr_error_set (err, errno, "read directory `%s`", name);
        cleanup_closedir DIR *dir = fdopendir (dup_fd);
        if (dir == NULL) {
            close (dup_fd);
            return wr_error_set (err, errno, "read directory `%s`", name);
        }
        /* fdopendir reads from the shared offset: start at the top. */
        rewinddir (dir);
        bool removed_any = false;
        struct dirent *entry;
        errno = 0;
        while ((entry = readdir (dir)) != NULL) {
            if (strcmp (entry->d_name, ".") == 0 || strcmp (entry->d_name, "..") == 0)
                continue;
            if (unlinkat (fd, entry->d_name, 0) == 0 || errno == ENOENT) {
                removed_any = true;
            } else if (is_directory_at (fd, entry->d_name, errno)) {
                *subdir = xstrdup (entry->d_name);
                return 1;
            } else {
                return wr_error_set (err, errno, "remove `%s` in `%s`", entry->d_name, name);
            }
            errno = 0;
        }
        if (errno != 0)
            return wr_error_set (err, errno, "read directory `%s`", name);
        if (!removed_any)
            break;
    }
    return 0;
}

typedef struct {
    char *name;
    dev_t dev;
    ino_t ino;
} level_t;

static int
descend (int *fd, level_t **levels, size_t *depth, size_t *cap, char *subdir, wr_error_t *err)
{
    struct stat st;
    int child = openat (*fd, subdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (child < 0 || fstat (child, &st) < 0) {
        wr_error_set (err, errno, "open directory `%s`", subdir);
        if (child >= 0)
            close (child);
        free (subdir);
        return -1;
    }
    close (*fd);
    *fd = child;
    if (*depth == *cap) {
        *cap *= 2;
        *levels = xrealloc (*levels, *cap * sizeof **levels);
    }
    (*levels)[(*depth)++] = (level_t){ subdir, st.st_dev, st.st_ino };
    return 0;
}

/* Goes up from the emptied directory at the top of LEVELS and removes it. */
static int
ascend (int *fd, level_t *levels, size_t *depth, wr_error_t *err)
{
    struct stat st;
    const char *emptied = levels[*depth - 1].name;
    int parent = openat (*fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (parent < 0 || fstat (parent, &st) < 0) {
        wr_error_set (err, errno, "open the directory above `%s`", emptied);
        if (parent >= 0)
            close (parent);
        return -1;
    }
    close (*fd);
    *fd = parent;
    (*depth)--;
    int rc = 0;
    if (st.st_dev != levels[*depth - 1].dev || st.st_ino != levels[*depth - 1].ino)
        rc = wr_error_set (err, EBUSY, "`%s` moved while it was being removed", emptied);
    else if (unlinkat (*fd, emptied, AT_REMOVEDIR) < 0 && errno != ENOENT)
        rc = wr_error_set (err, errno, "remove directory `%s` in `%s`", emptied,
                           levels[*depth - 1].name);
    free (levels[*depth].name);
    return rc;
}

int
wr_remove_tree_at_ex (int dir_fd, const char *name, bool (*stop) (void *data), void *data,
                      wr_error_t *err)
{
    if (unlinkat (dir_fd, name, 0) == 0 || errno == ENOENT)
        return 0;
    int unlink_errno = errno;
    if (unlink_errno != EISDIR && unlink_errno != EPERM)
        return wr_error_set (err, unlink_errno, "remove `%s`", name);
    cleanup_close int fd = openat (dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat (fd, &st) < 0)
        /* Not a directory: the unlink's own refusal is the reason. */
        return wr_error_set (err, errno == ENOTDIR ? unlink_errno : errno, "remove `%s`", name);
    size_t depth = 0, cap = 64;
    level_t *levels = xmalloc (cap * sizeof *levels);
    levels[depth++] = (level_t){ xstrdup (name), st.st_dev, st.st_ino };
    int r = -1;
    for (unsigned long steps = 0;; steps++) {
        if ((steps & 63) == 0 && stop != NULL && stop (data)) {
            wr_error_set_kind (err, WR_ERROR_CANCELLED, ECANCELED, "stopped");
            goto out;
        }
        char *subdir = NULL;
        int found = next_subdir (fd, levels[depth - 1].name, &subdir, err);
        if (found < 0)
            goto out;
        if (found > 0) {
            if (descend (&fd, &levels, &depth, &cap, subdir, err) < 0)
                goto out;
            continue;
        }
        if (depth == 1)
            break;
        if (ascend (&fd, levels, &depth, err) < 0)
            goto out;
    }
    if (unlinkat (dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
        wr_error_set (err, errno, "remove directory `%s`", name);
        goto out;
    }
    r = 0;
out:
    if (r < 0)
        wr_error_prefix (err, "remove `%s`", name);
    for (size_t i = 0; i < depth; i++)
        free (levels[i].name);
    free (levels);
    return r;
}

int
wr_remove_tree_at (int dir_fd, const char *name, wr_error_t *err)
{
    return wr_remove_tree_at_ex (dir_fd, name, NULL, NULL, err);
}
