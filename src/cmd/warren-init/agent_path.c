#include "agent_path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "quote.h"
#include "xalloc.h"

wr_error_kind_t
agent_errno_kind (int errno_value)
{
    switch (errno_value) {
    case ENOTDIR:
    case EISDIR:
    case ELOOP:
    case EXDEV:
    case EPERM:
    case EACCES:
    case EROFS:
    case ETXTBSY:
    case ENXIO:
    case ENODEV:
    case EOPNOTSUPP:
        return WR_ERROR_INVALID;
    default:
        return wr_error_kind_of_errno (errno_value);
    }
}

int
agent_path_fail (wr_error_t *err, int errno_value, const char *what, const char *path)
{
    cleanup_free char *quoted = wr_quote (path, 1024);
    return wr_error_set_kind (err, agent_errno_kind (errno_value), errno_value, "%s `%s`", what,
                              quoted);
}

void
agent_path_clear (agent_path_t *path)
{
    if (path->dir_fd >= 0)
        close (path->dir_fd);
    path->dir_fd = -1;
    free (path->name);
    path->name = NULL;
}

static bool
same_file (int fd, const struct stat *st)
{
    struct stat here;
    return fstat (fd, &here) == 0 && here.st_dev == st->st_dev && here.st_ino == st->st_ino;
}

/* Replaces *CUR (closing it) by FD. */
static void
move_to (int *cur, int fd)
{
    close (*cur);
    *cur = fd;
}

/* Makes directory NAME in DIR (0755 whatever the umask) and opens it. */
static int
make_dir (int dir, const char *name)
{
    if (mkdirat (dir, name, 0755) < 0 && errno != EEXIST)
        return -1;
    int fd = openat (dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 && fchmod (fd, 0755) < 0) {
        close (fd);
        return -1;
    }
    return fd;
}

int
agent_path_resolve (int root_fd, const char *path, unsigned flags, const char *what,
                    agent_path_t *out, wr_error_t *err)
{
    out->dir_fd = -1;
    out->name = NULL;
    struct stat root_st;
    if (fstat (root_fd, &root_st) < 0)
        return agent_path_fail (err, errno, what, path);
    cleanup_close int cur = fcntl (root_fd, F_DUPFD_CLOEXEC, 0);
    if (cur < 0)
        return agent_path_fail (err, errno, what, path);
    /* What is left to resolve; a symlink's target is put in front of it. */
    cleanup_free char *rest = xstrdup (path);
    size_t pos = 0;
    unsigned links = 0;
    for (;;) {
        while (rest[pos] == '/')
            pos++;
        if (rest[pos] == '\0') {
            out->name = xstrdup (".");
            break;
        }
        const char *comp = rest + pos;
        size_t len = strcspn (comp, "/");
        size_t next = pos + len;
        while (rest[next] == '/')
            next++;
        bool last = rest[next] == '\0';
        /* "a/" asks for a directory: its symlink is followed. */
        bool follow = !last || (flags & AGENT_PATH_FOLLOW) || comp[len] == '/';
        if (len > NAME_MAX)
            return agent_path_fail (err, ENAMETOOLONG, what, path);
        char name[NAME_MAX + 1];
        memcpy (name, comp, len);
        name[len] = '\0';
        pos = next;
        if (strcmp (name, ".") == 0)
            continue;
        if (strcmp (name, "..") == 0) {
            if (same_file (cur, &root_st))
                continue; /* the root is its own parent */
            int up = openat (cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (up < 0)
                return agent_path_fail (err, errno, what, path);
            move_to (&cur, up);
            continue;
        }
        if (last && !follow) {
            out->name = xstrdup (name);
            break;
        }
        struct stat st;
        if (fstatat (cur, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT)
                return agent_path_fail (err, errno, what, path);
            if (last) {
                out->name = xstrdup (name);
                break;
            }
            if (!(flags & AGENT_PATH_PARENTS))
                return agent_path_fail (err, ENOENT, what, path);
            int made = make_dir (cur, name);
            if (made < 0)
                return agent_path_fail (err, errno, what, path);
            move_to (&cur, made);
            continue;
        }
        if (S_ISLNK (st.st_mode)) {
            if (++links > AGENT_PATH_MAX_LINKS)
                return agent_path_fail (err, ELOOP, what, path);
            char target[PATH_MAX];
            ssize_t n = readlinkat (cur, name, target, sizeof target);
            if (n < 0)
                return agent_path_fail (err, errno, what, path);
            if (n == 0 || (size_t) n >= sizeof target)
                return agent_path_fail (err, n == 0 ? ENOENT : ENAMETOOLONG, what, path);
            /* TARGET, then what was left after the link. */
            size_t tail = strlen (rest + pos);
            char *joined = xmalloc ((size_t) n + 1 + tail + 1);
            memcpy (joined, target, (size_t) n);
            joined[n] = '/';
            memcpy (joined + n + 1, rest + pos, tail + 1);
            if (tail == 0 && !(comp[len] == '/'))
                joined[n] = '\0'; /* keep "the last component" last */
            free (rest);
            rest = joined;
            pos = 0;
            if (target[0] == '/') {
                int top = fcntl (root_fd, F_DUPFD_CLOEXEC, 0);
                if (top < 0)
                    return agent_path_fail (err, errno, what, path);
                move_to (&cur, top);
            }
            continue;
        }
        if (last) {
            out->name = xstrdup (name);
            break;
        }
        if (!S_ISDIR (st.st_mode))
            return agent_path_fail (err, ENOTDIR, what, path);
        int down = openat (cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (down < 0)
            return agent_path_fail (err, errno, what, path);
        move_to (&cur, down);
    }
    out->dir_fd = steal_fd (&cur);
    return 0;
}

int
agent_path_open (int root_fd, const char *path, int flags, const char *what, wr_error_t *err)
{
    cleanup_agent_path agent_path_t p = { -1, NULL };
    if (agent_path_resolve (root_fd, path, AGENT_PATH_FOLLOW, what, &p, err) < 0)
        return -1;
    int fd = openat (p.dir_fd, p.name, flags | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return agent_path_fail (err, errno, what, path);
    return fd;
}

int
agent_open_beneath (int dir_fd, const char *relative, int flags)
{
    int cur = fcntl (dir_fd, F_DUPFD_CLOEXEC, 0);
    const char *p = relative;
    while (cur >= 0 && *p != '\0') {
        size_t len = strcspn (p, "/");
        if (len > NAME_MAX) {
            close (cur);
            errno = ENAMETOOLONG;
            return -1;
        }
        char name[NAME_MAX + 1];
        memcpy (name, p, len);
        name[len] = '\0';
        p += len;
        while (*p == '/')
            p++;
        int o = *p == '\0' ? flags : O_PATH;
        int next = openat (cur, name, o | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int saved = errno;
        close (cur);
        errno = saved;
        cur = next;
    }
    if (cur >= 0 && *relative == '\0' && !(flags & O_PATH)) {
        /* DIR_FD itself, opened with FLAGS. */
        int fd = openat (cur, ".", flags | O_DIRECTORY | O_CLOEXEC);
        int saved = errno;
        close (cur);
        errno = saved;
        cur = fd;
    }
    return cur;
}
