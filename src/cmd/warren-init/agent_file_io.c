/* file.read and file.write: a file's bytes as data frames, paced by the
 * stream's window, and a body written to a temporary file renamed over
 * the target once it is whole. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_file_info.h"
#include "agent_file_ops.h"
#include "agent_path.h"
#include "cleanup.h"
#include "xalloc.h"

/* One data frame's worth. */
#define CHUNK (1024u * 1024u)

static wr_agent_message_t *
info_message (const char *path, const struct stat *st)
{
    json_object *obj = agent_file_info_object (path, st, NULL);
    wr_agent_message_t *msg = wr_agent_message_new (WR_AGENT_MSG_FILE_INFO);
    json_object_object_foreach (obj, key, value)
    {
        wr_agent_message_set_json (msg, key, json_object_get (value));
    }
    json_object_put (obj);
    return msg;
}

int
agent_file_read (int root_fd, const wr_agent_message_t *req, agent_reply_t *reply, wr_error_t *err)
{
    const char *path = wr_agent_message_string (req, "path");
    uint64_t offset = (uint64_t) wr_agent_message_int (req, "offset", 0);
    uint64_t left = wr_agent_message_has (req, "length")
                        ? (uint64_t) wr_agent_message_int (req, "length", 0)
                        : UINT64_MAX;
    /* O_NONBLOCK: opening a fifo does not wait for a writer. */
    cleanup_close int fd = agent_path_open (root_fd, path, O_RDONLY | O_NONBLOCK, "read", err);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat (fd, &st) < 0)
        return agent_path_fail (err, errno, "read", path);
    if (S_ISDIR (st.st_mode))
        return agent_path_fail (err, EISDIR, "read", path);
    if (!S_ISREG (st.st_mode))
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "read `%s`: not a regular file", path);
    if (agent_reply_message (reply, info_message (path, &st), false, err) < 0)
        return -1;
    uint64_t end = (uint64_t) st.st_size;
    /* A buffer the size of what is read, up to a chunk: a small file's
     * read should not map (and fault in) a megabyte inside gVisor. */
    uint64_t wanted = end > offset ? end - offset : 0;
    if (wanted > left)
        wanted = left;
    size_t buf_size = wanted < CHUNK ? (size_t) wanted + 1 : CHUNK;
    cleanup_free char *buf = xmalloc (buf_size);
    uint64_t pos = offset;
    while (left > 0 && pos < end) {
        size_t want = buf_size;
        if (want > left)
            want = (size_t) left;
        ssize_t n = pread (fd, buf, want, (off_t) pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return agent_path_fail (err, errno, "read", path);
        if (n == 0)
            break; /* it shrank */
        pos += (uint64_t) n;
        left -= (uint64_t) n;
        bool last = left == 0 || pos >= end;
        if (agent_reply_data (reply, buf, (size_t) n, last, err) < 0)
            return -1;
        if (last)
            return 0;
    }
    return agent_reply_data (reply, NULL, 0, true, err);
}

/* Copies the request's body to FD; checks it has SIZE bytes when SIZE is
 * not negative. */
static int
copy_body (agent_reply_t *reply, int fd, int64_t size, const char *path, wr_error_t *err)
{
    cleanup_free char *buf = xmalloc (CHUNK);
    uint64_t total = 0;
    for (;;) {
        ssize_t n = agent_reply_body (reply, buf, CHUNK, err);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        total += (uint64_t) n;
        if (size >= 0 && total > (uint64_t) size)
            return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                      "write `%s`: the body is longer than its size, %lld bytes",
                                      path, (long long) size);
        const char *p = buf;
        size_t todo = (size_t) n;
        while (todo > 0) {
            ssize_t w = write (fd, p, todo);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return agent_path_fail (err, errno, "write", path);
            p += w;
            todo -= (size_t) w;
        }
    }
    if (size >= 0 && total != (uint64_t) size)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "write `%s`: the body has %llu bytes, not its size, %lld", path,
                                  (unsigned long long) total, (long long) size);
    return 0;
}

int
agent_file_write (int root_fd, const wr_agent_message_t *req, agent_reply_t *reply, wr_error_t *err)
{
    const char *path = wr_agent_message_string (req, "path");
    bool has_mode = wr_agent_message_has (req, "mode");
    mode_t mode = (mode_t) wr_agent_message_int (req, "mode", 0644);
    bool has_uid = wr_agent_message_has (req, "uid"), has_gid = wr_agent_message_has (req, "gid");
    uid_t uid = (uid_t) wr_agent_message_int (req, "uid", -1);
    gid_t gid = (gid_t) wr_agent_message_int (req, "gid", -1);
    int64_t size = wr_agent_message_int (req, "size", -1);
    bool append = wr_agent_message_bool (req, "append", false);
    unsigned flags = AGENT_PATH_FOLLOW;
    if (wr_agent_message_bool (req, "parents", false))
        flags |= AGENT_PATH_PARENTS;
    cleanup_agent_path agent_path_t p = { -1, NULL };
    if (agent_path_resolve (root_fd, path, flags, "write", &p, err) < 0)
        return -1;
    if (strcmp (p.name, ".") == 0)
        return agent_path_fail (err, EISDIR, "write", path);
    struct stat old;
    bool exists = fstatat (p.dir_fd, p.name, &old, AT_SYMLINK_NOFOLLOW) == 0;
    if (!exists && errno != ENOENT)
        return agent_path_fail (err, errno, "write", path);
    if (exists && S_ISDIR (old.st_mode))
        return agent_path_fail (err, EISDIR, "write", path);
    if (exists && !S_ISREG (old.st_mode))
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "write `%s`: not a regular file", path);

    cleanup_close int fd = -1;
    cleanup_free char *tmp = NULL;
    off_t base = 0;
    bool created = false;
    if (append) {
        /* Written in place; on failure cut back to what it was. */
        fd =
            openat (p.dir_fd, p.name, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        struct stat st;
        if (fd < 0 || fstat (fd, &st) < 0)
            return agent_path_fail (err, errno, "write", path);
        created = !exists;
        base = st.st_size;
    } else {
        fd = agent_temp_open (p.dir_fd, p.name, &tmp);
        if (fd < 0)
            return agent_path_fail (err, errno, "write", path);
    }
    if (copy_body (reply, fd, size, path, err) < 0)
        goto fail;
    /* The owner first: chown clears the set-id bits. */
    if (has_uid || has_gid) {
        if (fchown (fd, uid, gid) < 0) {
            agent_path_fail (err, errno, "chown", path);
            goto fail;
        }
    } else if (exists && !append && fchown (fd, old.st_uid, old.st_gid) < 0) {
        agent_path_fail (err, errno, "chown", path);
        goto fail;
    }
    if ((!append || created || has_mode) && fchmod (fd, mode) < 0) {
        agent_path_fail (err, errno, "chmod", path);
        goto fail;
    }
    if (tmp != NULL && renameat (p.dir_fd, tmp, p.dir_fd, p.name) < 0) {
        agent_path_fail (err, errno, "write", path);
        goto fail;
    }
    struct stat st;
    if (fstat (fd, &st) < 0)
        return agent_path_fail (err, errno, "write", path);
    return agent_reply_message (reply, info_message (path, &st), true, err);

fail:
    if (tmp != NULL)
        unlinkat (p.dir_fd, tmp, 0);
    else if (created)
        unlinkat (p.dir_fd, p.name, 0);
    else if (ftruncate (fd, base) < 0)
        wr_error_prefix (err, "(and cutting it back to %lld bytes failed)", (long long) base);
    return -1;
}
