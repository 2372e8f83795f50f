/* Build contexts kept unpacked by digest (see build_context.h). */
#include "build_context.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"
#include "remove_tree.h"
#include "xalloc.h"

#define READ_CHUNK (128 * 1024)

/* Copies what READ_FN gives into the file FD, with its sha256 and size. */
static int
receive (wr_build_context_read_fn read_fn, void *data, int fd, char *digest,
         unsigned long long *bytes, wr_error_t *err)
{
    wr_sha256_t *sha = wr_sha256_new ();
    cleanup_free char *buf = xmalloc (READ_CHUNK);
    ssize_t n;
    *bytes = 0;
    while ((n = read_fn (data, buf, READ_CHUNK, err)) > 0) {
        wr_sha256_update (sha, buf, (size_t) n);
        *bytes += (unsigned long long) n;
        if (wr_write_all (fd, buf, (size_t) n, "a build context's archive", err) < 0) {
            n = -1;
            break;
        }
    }
    wr_sha256_final (sha, digest);
    wr_sha256_free (sha);
    return n < 0 ? -1 : 0;
}

/* Renews the time of use of DIR/NAME; false when it is not there.  The
 * sweep reads the change time, which this renews too, as does every
 * entry an unpack writes (whatever times the archive gives). */
static bool
touch (int dir_fd, const char *name)
{
    return utimensat (dir_fd, name, NULL, 0) == 0;
}

int
wr_build_context_add (const char *dir, wr_build_context_read_fn read_fn, void *data,
                      const wr_unpack_limits_t *limits, wr_build_context_info_t *info,
                      const wr_log_t *log, wr_error_t *err)
{
    memset (info, 0, sizeof *info);
    if (wr_mkdir_p (dir, 0700, err) < 0)
        return -1;
    wr_build_context_sweep (dir, WR_BUILD_CONTEXT_MAX_AGE, log);
    /* The archive, unnamed until it is unpacked: nothing to clean up. */
    cleanup_close int tar_fd = open (dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (tar_fd < 0)
        return wr_error_set (err, errno, "a build context: a file in `%s`", dir);
    if (receive (read_fn, data, tar_fd, info->digest, &info->bytes, err) < 0)
        return -1;
    const char *hex = wr_digest_hex (info->digest);
    cleanup_close int dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0)
        return wr_error_set (err, errno, "open `%s`", dir);
    if (touch (dir_fd, hex)) {
        info->existed = true;
        return 0;
    }
    char tmp[128];
    snprintf (tmp, sizeof tmp, ".new-%.16s-%d-%lx", hex, (int) getpid (),
              (unsigned long) random ());
    if (mkdirat (dir_fd, tmp, 0755) < 0)
        return wr_error_set (err, errno, "a build context: make `%s/%s`", dir, tmp);
    cleanup_close int root_fd = openat (dir_fd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int layer_fd = dup (tar_fd); /* taken by the unpack */
    int r = root_fd < 0 || layer_fd < 0 || lseek (layer_fd, 0, SEEK_SET) < 0
                ? wr_error_set (err, errno, "a build context: open `%s/%s`", dir, tmp)
                : 0;
    if (r == 0) {
        wr_unpack_options_t options = { .log = log };
        if (limits != NULL)
            options.limits = *limits;
        cleanup_free char *name = xasprintf ("build context %s", info->digest);
        r = wr_unpack_layer_fd (root_fd, layer_fd, name, NULL, &options, err);
        layer_fd = -1; /* taken */
    } else if (layer_fd >= 0) {
        close (layer_fd);
    }
    if (r == 0 && renameat (dir_fd, tmp, dir_fd, hex) < 0) {
        if (errno == EEXIST || errno == ENOTEMPTY) {
            info->existed = true; /* another upload of the same archive won */
        } else {
            r = wr_error_set (err, errno, "a build context: rename `%s/%s`", dir, tmp);
        }
    }
    if (r < 0 || info->existed)
        wr_remove_tree_at (dir_fd, tmp, NULL);
    if (r == 0)
        touch (dir_fd, hex);
    return r;
}

char *
wr_build_context_find (const char *dir, const char *digest, wr_error_t *err)
{
    if (wr_digest_validate (digest, err) < 0) {
        wr_error_prefix (err, "a build context");
        return NULL;
    }
    cleanup_free char *path = xasprintf ("%s/%s", dir, wr_digest_hex (digest));
    struct stat st;
    if (stat (path, &st) < 0 || !S_ISDIR (st.st_mode) || !touch (AT_FDCWD, path)) {
        wr_error_set_kind (err, WR_ERROR_NOT_FOUND, 0,
                           "build context `%s` is not here (never uploaded, or removed after "
                           "%d s unused): upload it again (POST /v1/contexts)",
                           digest, WR_BUILD_CONTEXT_MAX_AGE);
        return NULL;
    }
    return steal_pointer (&path);
}

int
wr_build_context_sweep (const char *dir, int64_t max_age, const wr_log_t *log)
{
    cleanup_close int dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0)
        return 0;
    int list_fd = dup (dir_fd);
    cleanup_closedir DIR *d = list_fd >= 0 ? fdopendir (list_fd) : NULL;
    if (d == NULL) {
        if (list_fd >= 0)
            close (list_fd);
        return 0;
    }
    time_t now = time (NULL);
    int removed = 0;
    struct dirent *de;
    while ((de = readdir (d)) != NULL) {
        if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat (dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR (st.st_mode) ||
            now - st.st_ctime < max_age)
            continue;
        cleanup_error wr_error_t e = NULL;
        if (wr_remove_tree_at (dir_fd, de->d_name, &e) == 0) {
            removed++;
            wr_log_to (log, WR_LOG_INFO, "build context removed, unused", "context", de->d_name,
                       NULL);
        } else {
            wr_log_to (log, WR_LOG_WARN, "build context: cannot remove it", "context", de->d_name,
                       "error", e->message, NULL);
        }
    }
    return removed;
}
