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
