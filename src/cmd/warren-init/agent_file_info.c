#include "agent_file_info.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "agent_path.h"
#include "cleanup.h"
#include "quote.h"
#include "xalloc.h"

#define AGENT_PATH_MAX 4096
#define AGENT_MESSAGE_MAX 4096

/* The length of the UTF-8 character at TEXT (LEN bytes left), 0 when the
 * bytes there are not one (or are a NUL). */
static size_t
utf8_char (const unsigned char *s, size_t len)
{
    if (s[0] == 0)
        return 0;
    if (s[0] < 0x80)
        return 1;
    size_t n;
    unsigned min;
    unsigned cp;
    if ((s[0] & 0xe0) == 0xc0) {
        n = 2, min = 0x80, cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3, min = 0x800, cp = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4, min = 0x10000, cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

bool
agent_utf8_valid (const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *) text;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_char (s + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

char *
agent_utf8_mend (const char *text, size_t len, size_t max)
{
    const unsigned char *s = (const unsigned char *) text;
    char *out = xmalloc ((len < max ? len : max) + 1);
    size_t i = 0, o = 0;
    while (i < len) {
        size_t n = utf8_char (s + i, len - i);
        if (o + (n == 0 ? 1 : n) > max)
            break;
        if (n == 0) {
            out[o++] = '?';
            i++;
        } else {
            memcpy (out + o, s + i, n);
            o += n;
            i += n;
        }
    }
    out[o] = '\0';
    return out;
}

bool
agent_path_sendable (const char *text)
{
    size_t len = strlen (text);
    return len > 0 && len <= AGENT_PATH_MAX && agent_utf8_valid (text, len);
}

static const char *
file_type (mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFDIR:
        return "directory";
    case S_IFLNK:
        return "symlink";
    case S_IFIFO:
        return "fifo";
    case S_IFSOCK:
        return "socket";
    case S_IFCHR:
        return "char";
    case S_IFBLK:
        return "block";
    default:
        return "file";
    }
}

json_object *
agent_file_info_object (const char *path, const struct stat *st, const char *target)
{
    json_object *obj = json_object_new_object ();
    json_object_object_add (obj, "path", json_object_new_string (path));
    json_object_object_add (obj, "file_type", json_object_new_string (file_type (st->st_mode)));
    json_object_object_add (obj, "size", json_object_new_int64 ((int64_t) st->st_size));
    json_object_object_add (obj, "mode", json_object_new_int64 (st->st_mode & 07777));
    json_object_object_add (obj, "uid", json_object_new_int64 (st->st_uid));
    json_object_object_add (obj, "gid", json_object_new_int64 (st->st_gid));
    int64_t ms = (int64_t) st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
    json_object_object_add (obj, "mtime_ms", json_object_new_int64 (ms));
    if (target != NULL && agent_path_sendable (target))
        json_object_object_add (obj, "target", json_object_new_string (target));
    return obj;
}

wr_agent_message_t *
agent_file_info_message (const char *path, int dir_fd, const char *name, wr_error_t *err)
{
    struct stat st;
    if (fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        agent_path_fail (err, errno, "stat", path);
        return NULL;
    }
    char target[PATH_MAX];
    ssize_t n = S_ISLNK (st.st_mode) ? readlinkat (dir_fd, name, target, sizeof target - 1) : -1;
    if (n >= 0)
        target[n] = '\0';
    json_object *obj = agent_file_info_object (path, &st, n >= 0 ? target : NULL);
    wr_agent_message_t *msg = wr_agent_message_new (WR_AGENT_MSG_FILE_INFO);
    json_object_object_foreach (obj, key, value)
    {
        wr_agent_message_set_json (msg, key, json_object_get (value));
    }
    json_object_put (obj);
    return msg;
}

void
agent_files_reply_error (agent_reply_t *reply, const wr_error_t error)
{
    size_t len = strlen (error->message);
    if (len <= AGENT_MESSAGE_MAX && agent_utf8_valid (error->message, len)) {
        agent_reply_error (reply, error);
        return;
    }
    struct wr_error_s mended = *error;
    mended.message = wr_quote (error->message, AGENT_MESSAGE_MAX / 4 - 8);
    agent_reply_error (reply, &mended);
    free (mended.message);
}
