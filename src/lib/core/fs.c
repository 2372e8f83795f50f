/* Files and directories (see fs.h).  Uses libc, error.c and xalloc.c only:
 * the static warren-init compiles it too. */
#include "fs.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"

/* mkdir(PATH, MODE), taking "it is there already as a directory" for
 * success; 0 or an errno. */
static int
make_one (const char *path, mode_t mode)
{
    if (mkdir (path, mode) == 0)
        return 0;
    int e = errno;
    struct stat st;
    if (stat (path, &st) == 0)
        return S_ISDIR (st.st_mode) ? 0 : ENOTDIR;
    return e;
}

int
wr_mkdir_p (const char *path, mode_t mode, wr_error_t *err)
{
    if (path == NULL || path[0] == '\0')
        return wr_error_set (err, ENOENT, "create directory ``");
    cleanup_free char *copy = xstrdup (path);
    size_t len = strlen (copy);
    while (len > 1 && copy[len - 1] == '/')
        copy[--len] = '\0';
    int e = make_one (copy, mode);
    if (e == 0)
        return 0;
    if (e != ENOENT)
        return wr_error_set (err, e, "create directory `%s`", copy);
    /* Some parent is missing: make them from the top down. */
    for (char *p = copy + 1; *p != '\0'; p++) {
        if (*p != '/' || p[-1] == '/')
            continue;
        *p = '\0';
        e = make_one (copy, 0755);
        if (e != 0)
            return wr_error_set (err, e, "create directory `%s`", copy);
        *p = '/';
    }
    e = make_one (copy, mode);
    if (e != 0)
        return wr_error_set (err, e, "create directory `%s`", copy);
    return 0;
}

int
wr_write_all (int fd, const void *data, size_t len, const char *name, wr_error_t *err)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write (fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return wr_error_set (err, errno, "write `%s`", name);
        if (n == 0)
            return wr_error_set (err, EIO, "write `%s`: nothing written", name);
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

bool
wr_is_directory (const char *path)
{
    struct stat st;
    return path != NULL && stat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

char *
wr_read_fd (int fd, const char *name, size_t max, size_t *len, wr_error_t *err)
{
    size_t have = 0, cap = 0;
    cleanup_free char *buf = NULL;
    for (;;) {
        if (have == cap) {
            if (have > max) {
                wr_error_set_kind (err, WR_ERROR_LIMIT, 0, "read `%s`: larger than %zu bytes", name,
                                   max);
                return NULL;
            }
            /* One byte past MAX tells "exactly MAX" from "more". */
            cap = cap == 0 ? 4096 : cap * 2;
            if (max < SIZE_MAX && cap > max + 1)
                cap = max + 1;
            buf = xrealloc (buf, cap + 1);
        }
        ssize_t n = read (fd, buf + have, cap - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            wr_error_set (err, errno, "read `%s`", name);
            return NULL;
        }
        if (n == 0)
            break;
        have += (size_t) n;
    }
    if (have > max) {
        wr_error_set_kind (err, WR_ERROR_LIMIT, 0, "read `%s`: larger than %zu bytes", name, max);
        return NULL;
    }
    if (buf == NULL)
        buf = xmalloc (1);
    buf[have] = '\0';
    if (len != NULL)
        *len = have;
    return steal_pointer (&buf);
}

char *
wr_read_file (const char *path, size_t max, size_t *len, wr_error_t *err)
{
    cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        wr_error_set (err, errno, "open `%s`", path);
        return NULL;
    }
    return wr_read_fd (fd, path, max, len, err);
}
