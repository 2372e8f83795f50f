#include "path_in_root.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"

char *
wr_path_normalize (const char *name, wr_error_t *err)
{
    if (name == NULL || name[0] == '\0') {
        wr_error_set (err, EINVAL, "empty path");
        return NULL;
    }
    if (name[0] == '/') {
        wr_error_set (err, EINVAL, "absolute path `%s` refused", name);
        return NULL;
    }
    size_t len = strlen (name);
    cleanup_free char *out = xmalloc (len + 1);
    size_t n = 0;
    const char *p = name;
    while (*p != '\0') {
        const char *end = strchrnul (p, '/');
        size_t comp = (size_t) (end - p);
        if (comp == 2 && p[0] == '.' && p[1] == '.') {
            wr_error_set (err, EINVAL, "path `%s` with a \"..\" component refused", name);
            return NULL;
        }
        if (comp > 0 && !(comp == 1 && p[0] == '.')) {
            if (n > 0)
                out[n++] = '/';
            memcpy (out + n, p, comp);
            n += comp;
        }
        p = *end == '/' ? end + 1 : end;
    }
    out[n] = '\0';
    return steal_pointer (&out);
}

/* How a failed lookup inside a root is named in errors: its path from the
 * root, "/" for the root itself. */
static int
open_error (wr_error_t *err, int errno_value, const char *what, const char *path)
{
    /* ENOTDIR: something on the way is not a directory, so PATH names
     * nothing, as with ENOENT. */
    wr_error_kind_t kind = errno_value == ENOENT || errno_value == ENOTDIR
                               ? WR_ERROR_NOT_FOUND
                               : wr_error_kind_of_errno (errno_value);
    return wr_error_set_kind (err, kind, errno_value, "%s `/%s` inside the root", what, path);
}

int
wr_open_in_root (int root_fd, const char *path, int flags, mode_t mode, wr_error_t *err)
{
    struct open_how how = {
        .flags = (unsigned long long) (flags | O_CLOEXEC),
        .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    const char *p = path[0] == '\0' ? "." : path;
    long fd;
    do
        fd = syscall (SYS_openat2, root_fd, p, &how, sizeof how);
    while (fd < 0 && errno == EAGAIN);
    if (fd < 0)
        return open_error (err, errno, "open", path);
    return (int) fd;
}

bool
wr_dir_missing_through_symlink (int root_fd, const char *dir)
{
    /* Without following symlinks a symlink on the way gives ELOOP; a
     * directory that is plainly missing gives ENOENT before reaching one. */
    struct open_how how = {
        .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
    };
    long fd;
    do
        fd = syscall (SYS_openat2, root_fd, dir[0] == '\0' ? "." : dir, &how, sizeof how);
    while (fd < 0 && errno == EAGAIN);
    if (fd >= 0) {
        close ((int) fd);
        return false;
    }
    return errno == ELOOP || errno == EXDEV;
}

/* Opens directory DIR (normalised, "" is the root) inside ROOT_FD, making
 * missing directories when CREATE. */
static int
open_dir_in_root (int root_fd, const char *dir, bool create, wr_error_t *err)
{
    wr_error_t open_err = NULL;
    int fd = wr_open_in_root (root_fd, dir, O_PATH | O_DIRECTORY, 0, &open_err);
    if (fd >= 0)
        return fd;
    if (open_err->errno_value != ENOENT || !create || dir[0] == '\0')
        return wr_error_propagate (err, &open_err);
    wr_error_free (&open_err);
    const char *slash = strrchr (dir, '/');
    cleanup_free char *parent =
        slash != NULL ? xstrndup (dir, (size_t) (slash - dir)) : xstrdup ("");
    const char *name = slash != NULL ? slash + 1 : dir;
    cleanup_close int parent_fd = open_dir_in_root (root_fd, parent, true, err);
    if (parent_fd < 0)
        return -1;
    if (mkdirat (parent_fd, name, 0755) == 0) {
        /* 0755 whatever the umask, like the directories tar makes. */
        cleanup_close int made =
            openat (parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (made < 0 || fchmod (made, 0755) < 0)
            return open_error (err, errno, "make directory", dir);
    } else if (errno != EEXIST) {
        return open_error (err, errno, "make directory", dir);
    }
    /* Resolved again: NAME may be a symlink (followed inside the root). */
    return wr_open_in_root (root_fd, dir, O_PATH | O_DIRECTORY, 0, err);
}

int
wr_open_parent_in_root (int root_fd, const char *path, bool create, const char **base,
                        wr_error_t *err)
{
    const char *slash = strrchr (path, '/');
    cleanup_free char *parent =
        slash != NULL ? xstrndup (path, (size_t) (slash - path)) : xstrdup ("");
    *base = slash != NULL ? slash + 1 : path;
    return open_dir_in_root (root_fd, parent, create, err);
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
        bool removed_any = false;
        struct dirent *entry;
        errno = 0;
        while ((entry = readdir (dir)) != NULL) {
            if (strcmp (entry->d_name, ".") == 0 || strcmp (entry->d_name, "..") == 0)
                continue;
            if (unlinkat (fd, entry->d_name, 0) == 0 || errno == ENOENT) {
                removed_any = true;
            } else if (errno == EISDIR) {
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

/* Iterative, holding one directory open whatever the depth: a layer may
 * hold a tree deeper than RLIMIT_NOFILE.  It goes down by name (never
 * following a symlink) and back up through "..", which is the directory it
 * came from since nothing else writes into a root being unpacked. */
int
wr_remove_tree_at (int dir_fd, const char *name, wr_error_t *err)
{
    if (unlinkat (dir_fd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR)
        return wr_error_set (err, errno, "remove `%s`", name);
    cleanup_close int fd = openat (dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return wr_error_set (err, errno, "open directory `%s`", name);
    cleanup_strv char **names = xmalloc (2 * sizeof (char *));
    size_t depth = 1, cap = 1;
    names[0] = xstrdup (name);
    names[1] = NULL;
    for (;;) {
        char *subdir = NULL;
        int r = next_subdir (fd, names[depth - 1], &subdir, err);
        if (r < 0)
            return wr_error_prefix (err, "remove `%s`", name);
        if (r > 0) {
            int child = openat (fd, subdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (child < 0) {
                wr_error_set (err, errno, "open directory `%s`", subdir);
                free (subdir);
                return wr_error_prefix (err, "remove `%s`", name);
            }
            close (fd);
            fd = child;
            if (depth + 1 > cap) {
                cap *= 2;
                names = xrealloc (names, (cap + 1) * sizeof (char *));
            }
            names[depth++] = subdir;
            names[depth] = NULL;
            continue;
        }
        /* Empty: go up and remove it. */
        if (depth == 1)
            break;
        int parent = openat (fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (parent < 0)
            return wr_error_set (err, errno, "open the directory above `%s`", names[depth - 1]);
        close (fd);
        fd = parent;
        depth--;
        if (unlinkat (fd, names[depth], AT_REMOVEDIR) < 0 && errno != ENOENT)
            return wr_error_set (err, errno, "remove directory `%s` in `%s`", names[depth], name);
        free (names[depth]);
        names[depth] = NULL;
    }
    if (unlinkat (dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return wr_error_set (err, errno, "remove directory `%s`", name);
    return 0;
}
