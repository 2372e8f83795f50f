/* The file requests' dispatch, and those answered at once: file.stat,
 * file.mkdir, file.remove, file.rename, file.chmod, file.chown. */
#include "agent_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent_file_info.h"
#include "agent_file_ops.h"
#include "agent_path.h"
#include "cleanup.h"
#include "xalloc.h"
#include "remove_tree.h"

static int
reply_ok (agent_reply_t *reply, wr_error_t *err)
{
    return agent_reply_message (reply, wr_agent_message_new (WR_AGENT_MSG_OK), true, err);
}

int
agent_temp_open (int dir_fd, const char *name, char **tmp)
{
    (void) name;
    for (int attempt = 0; attempt < 100; attempt++) {
        uint64_t r = 0;
        if (getrandom (&r, sizeof r, GRND_NONBLOCK) != (ssize_t) sizeof r) {
            struct timespec ts;
            clock_gettime (CLOCK_MONOTONIC, &ts);
            r = ((uint64_t) ts.tv_nsec << 20) ^ (uint64_t) ts.tv_sec ^ (uint64_t) attempt ^
                ((uint64_t) getpid () << 40);
        }
        char *candidate = xasprintf (".warren-%016llx.tmp", (unsigned long long) r);
        int fd =
            openat (dir_fd, candidate, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) {
            *tmp = candidate;
            return fd;
        }
        int saved = errno;
        free (candidate);
        if (saved != EEXIST) {
            errno = saved;
            return -1;
        }
    }
    errno = EEXIST;
    return -1;
}

static int
file_stat (int root_fd, const wr_agent_message_t *req, agent_reply_t *reply, wr_error_t *err)
{
    const char *path = wr_agent_message_string (req, "path");
    bool follow = wr_agent_message_bool (req, "follow_symlinks", false);
    cleanup_agent_path agent_path_t p = { -1, NULL };
    if (agent_path_resolve (root_fd, path, follow ? AGENT_PATH_FOLLOW : 0, "stat", &p, err) < 0)
        return -1;
    wr_agent_message_t *info = agent_file_info_message (path, p.dir_fd, p.name, err);
    if (info == NULL)
        return -1;
    return agent_reply_message (reply, info, true, err);
}

static int
file_mkdir (int root_fd, const wr_agent_message_t *req, agent_reply_t *reply, wr_error_t *err)
{
    const char *path = wr_agent_message_string (req, "path");
    mode_t mode = (mode_t) wr_agent_message_int (req, "mode", 0755);
    bool parents = wr_agent_message_bool (req, "parents", false);
    cleanup_agent_path agent_path_t p = { -1, NULL };
    if (agent_path_resolve (root_fd, path, parents ? AGENT_PATH_PARENTS : 0, "make directory", &p,
                            err) < 0)
        return -1;
    if (mkdirat (p.dir_fd, p.name, mode) < 0) {
        struct stat st;
        if (!(errno == EEXIST && parents && fstatat (p.dir_fd, p.name, &st, 0) == 0 &&
              S_ISDIR (st.st_mode)))
            return agent_path_fail (err, errno, "make directory", path);
        /* mkdir -p: one that is there is made, its mode kept. */
        return reply_ok (reply, err);
    }
    /* MODE whatever the umask. */
    cleanup_close int fd =
        openat (p.dir_fd, p.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fchmod (fd, mode) < 0)
        return agent_path_fail (err, errno, "make directory", path);
    return reply_ok (reply, err);
}

static bool
reply_cancelled (void *data)
{
    return agent_reply_cancelled (data);
}

/* core's wr_remove_tree_at_ex (one directory open at a time, ".." checked
 * to be where it came from, so a process in the sandbox moving the tree
 * meanwhile stops it), stopping when the request is cancelled; the error
 * names PATH as the client gave it, with the kind of its errno. */
int
agent_remove_tree (int dir_fd, const char *name, const char *path, agent_reply_t *reply,
                   wr_error_t *err)
{
    wr_error_t removed = NULL;
    if (wr_remove_tree_at_ex (dir_fd, name, reply != NULL ? reply_cancelled : NULL, reply,
                              &removed) == 0)
        return 0;
    int e = removed->errno_value != 0 ? removed->errno_value : EIO;
    wr_error_free (&removed);
    return agent_path_fail (err, e, "remove", path);
}

static int
file_remove (int root_fd, const wr_agent_message_t *req, agent_reply_t *reply, wr_error_t *err)
{
    const char *path = wr_agent_message_string (req, "path");
    cleanup_agent_path agent_path_t p = { -1, NULL };
    if (agent_path_resolve (root_fd, path, 0, "remove", &p, err) < 0)
        return -1;
    if (strcmp (p.name, ".") == 0)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "remove `%s`: a directory named through \".\" or \"..\" (or "
                                  "the root) is not removed",
                                  path);
    struct stat st;
    if (fstatat (p.dir_fd, p.name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return agent_path_fail (err, errno, "remove", path);
    if (wr_agent_message_bool (req, "recursive", false)) {
        if (agent_remove_tree (p.dir_fd, p.name, path, reply, err) < 0)
            return -1;
    } else if (unlinkat (p.dir_fd, p.name, S_ISDIR (st.st_mode) ? AT_REMOVEDIR : 0) < 0) {
        return agent_path_fail (err, errno, "remove", path);
    }
    return reply_ok (reply, err);
}

static int
file_rename (int root_fd, const wr_agent_message_t *req, agent_reply_t *reply, wr_error_t *err)
{
    const char *from = wr_agent_message_string (req, "from");
    const char *to = wr_agent_message_string (req, "to");
    bool replace = wr_agent_message_bool (req, "replace", false);
    cleanup_agent_path agent_path_t src = { -1, NULL };
    cleanup_agent_path agent_path_t dst = { -1, NULL };
    if (agent_path_resolve (root_fd, from, 0, "rename", &src, err) < 0 ||
        agent_path_resolve (root_fd, to, 0, "rename to", &dst, err) < 0)
        return -1;
    if (renameat2 (src.dir_fd, src.name, dst.dir_fd, dst.name, replace ? 0 : RENAME_NOREPLACE) == 0)
        return reply_ok (reply, err);
    if (errno == EEXIST || errno == ENOTEMPTY)
        return agent_path_fail (err, errno, "rename to", to);
    if (replace || (errno != EINVAL && errno != ENOSYS))
        return agent_path_fail (err, errno, "rename", from);
    /* No RENAME_NOREPLACE here (some file systems of gVisor's): checked,
     * then renamed. */
    struct stat st;
    if (fstatat (dst.dir_fd, dst.name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        return agent_path_fail (err, EEXIST, "rename to", to);
    if (renameat (src.dir_fd, src.name, dst.dir_fd, dst.name) < 0)
        return agent_path_fail (err, errno, "rename", from);
    return reply_ok (reply, err);
}

static int
file_chmod (int root_fd, const wr_agent_message_t *req, agent_reply_t *reply, wr_error_t *err)
{
    const char *path = wr_agent_message_string (req, "path");
    mode_t mode = (mode_t) wr_agent_message_int (req, "mode", 0);
    cleanup_agent_path agent_path_t p = { -1, NULL };
    if (agent_path_resolve (root_fd, path, AGENT_PATH_FOLLOW, "chmod", &p, err) < 0)
        return -1;
    struct stat st;
    if (fstatat (p.dir_fd, p.name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return agent_path_fail (err, errno, "chmod", path);
    if (S_ISLNK (st.st_mode))
        return agent_path_fail (err, ELOOP, "chmod", path);
    if (fchmodat (p.dir_fd, p.name, mode, 0) < 0)
        return agent_path_fail (err, errno, "chmod", path);
    return reply_ok (reply, err);
}

static int
file_chown (int root_fd, const wr_agent_message_t *req, agent_reply_t *reply, wr_error_t *err)
{
    const char *path = wr_agent_message_string (req, "path");
    uid_t uid = (uid_t) wr_agent_message_int (req, "uid", 0);
    gid_t gid = (gid_t) wr_agent_message_int (req, "gid", 0);
    bool follow = wr_agent_message_bool (req, "follow_symlinks", false);
    cleanup_agent_path agent_path_t p = { -1, NULL };
    if (agent_path_resolve (root_fd, path, follow ? AGENT_PATH_FOLLOW : 0, "chown", &p, err) < 0)
        return -1;
    if (fchownat (p.dir_fd, p.name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        return agent_path_fail (err, errno, "chown", path);
    return reply_ok (reply, err);
}

void
agent_files_serve (const char *root, const wr_agent_message_t *req, agent_reply_t *reply)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_close int root_fd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    int r = -1;
    if (root_fd < 0) {
        agent_path_fail (&err, errno, "open the root", root);
        wr_error_retag (&err, WR_ERROR_INTERNAL);
    } else {
        typedef int (*op_t) (int, const wr_agent_message_t *, agent_reply_t *, wr_error_t *);
        op_t op = NULL;
        switch (req->type) {
        case WR_AGENT_MSG_FILE_READ:
            op = agent_file_read;
            break;
        case WR_AGENT_MSG_FILE_WRITE:
            op = agent_file_write;
            break;
        case WR_AGENT_MSG_FILE_STAT:
            op = file_stat;
            break;
        case WR_AGENT_MSG_FILE_LIST:
            op = agent_file_list;
            break;
        case WR_AGENT_MSG_FILE_MKDIR:
            op = file_mkdir;
            break;
        case WR_AGENT_MSG_FILE_REMOVE:
            op = file_remove;
            break;
        case WR_AGENT_MSG_FILE_RENAME:
            op = file_rename;
            break;
        case WR_AGENT_MSG_FILE_CHMOD:
            op = file_chmod;
            break;
        case WR_AGENT_MSG_FILE_CHOWN:
            op = file_chown;
            break;
        case WR_AGENT_MSG_FILE_FIND:
            op = agent_file_find;
            break;
        case WR_AGENT_MSG_FILE_REPLACE:
            op = agent_file_replace;
            break;
        default:
            wr_error_set_kind (&err, WR_ERROR_INVALID, 0, "%s is not a file request",
                               wr_agent_msg_type_name (req->type));
            break;
        }
        if (op != NULL)
            r = op (root_fd, req, reply, &err);
    }
    if (r < 0)
        agent_files_reply_error (reply, err);
}
