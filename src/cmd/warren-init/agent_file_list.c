/* file.list: a directory's entries, or a whole tree's, in file.entries
 * batches of at most 16384 (and well under a message's 1 MiB). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_file_info.h"
#include "agent_file_ops.h"
#include "agent_path.h"
#include "cleanup.h"
#include "xalloc.h"

typedef struct {
    agent_reply_t *reply;
    json_object *entries;
    size_t count, bytes;
} batch_t;

static int
batch_send (batch_t *b, bool last, bool truncated, wr_error_t *err)
{
    wr_agent_message_t *msg = wr_agent_message_new (WR_AGENT_MSG_FILE_ENTRIES);
    wr_agent_message_set_json (msg, "entries", b->entries);
    wr_agent_message_set_bool (msg, "truncated", truncated);
    b->entries = json_object_new_array ();
    b->count = b->bytes = 0;
    return agent_reply_message (b->reply, msg, last, err);
}

static void
free_names (char **names)
{
    for (char **p = names; *p != NULL; p++)
        free (*p);
    free (names);
}

static int
compare_names (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The names in directory FD but "." and "..", sorted; NULL with errno. */
static char **
read_names (int fd, size_t *count)
{
    DIR *dir = fdopendir (fd);
    if (dir == NULL) {
        close (fd);
        return NULL;
    }
    size_t n = 0, cap = 16;
    char **names = xmalloc ((cap + 1) * sizeof *names);
    struct dirent *entry;
    errno = 0;
    while ((entry = readdir (dir)) != NULL) {
        if (strcmp (entry->d_name, ".") == 0 || strcmp (entry->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap *= 2;
            names = xrealloc (names, (cap + 1) * sizeof *names);
        }
        names[n++] = xstrdup (entry->d_name);
        errno = 0;
    }
    int saved = errno;
    closedir (dir);
    names[n] = NULL;
    if (saved != 0) {
        free_names (names);
        errno = saved;
        return NULL;
    }
    qsort (names, n, sizeof *names, compare_names);
    *count = n;
    return names;
}

int
agent_file_list (int root_fd, const wr_agent_message_t *req, agent_reply_t *reply, wr_error_t *err)
{
    const char *path = wr_agent_message_string (req, "path");
    bool recursive = wr_agent_message_bool (req, "recursive", false);
    size_t limit = (size_t) wr_agent_message_int (req, "limit", 1000000);
    cleanup_close int top = agent_path_open (root_fd, path, O_RDONLY | O_DIRECTORY, "list", err);
    if (top < 0)
        return -1;
    batch_t b = { reply, json_object_new_array (), 0, 0 };
    /* Directories still to read, by their path from TOP, first in first out. */
    size_t head = 0, tail = 1, cap = 16;
    char **queue = xmalloc (cap * sizeof *queue);
    queue[0] = xstrdup ("");
    size_t listed = 0;
    bool truncated = false;
    int r = -1;
    while (head < tail && !truncated) {
        cleanup_free char *rel = queue[head];
        queue[head++] = NULL;
        if (agent_reply_cancelled (reply)) {
            agent_path_fail (err, ECANCELED, "list", path);
            goto out;
        }
        int fd = agent_open_beneath (top, rel, O_RDONLY);
        if (fd < 0 && rel[0] != '\0' && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
            continue; /* gone or replaced meanwhile */
        size_t n = 0;
        int dir_fd = fd < 0 ? -1 : fcntl (fd, F_DUPFD_CLOEXEC, 0);
        char **names = fd < 0 ? NULL : read_names (fd, &n);
        if (names == NULL) {
            agent_path_fail (err, errno, "list", path);
            if (dir_fd >= 0)
                close (dir_fd);
            goto out;
        }
        for (size_t i = 0; i < n && !truncated; i++) {
            struct stat st;
            if (fstatat (dir_fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
                continue;
            char *entry = rel[0] == '\0' ? xstrdup (names[i]) : xasprintf ("%s/%s", rel, names[i]);
            /* A name that is not UTF-8 (or a path too long) cannot be sent. */
            if (!agent_path_sendable (entry)) {
                free (entry);
                continue;
            }
            if (listed == limit) {
                truncated = true;
                free (entry);
                break;
            }
            char target[PATH_MAX];
            ssize_t tn = S_ISLNK (st.st_mode)
                             ? readlinkat (dir_fd, names[i], target, sizeof target - 1)
                             : -1;
            if (tn >= 0)
                target[tn] = '\0';
            json_object_array_add (b.entries,
                                   agent_file_info_object (entry, &st, tn >= 0 ? target : NULL));
            listed++;
            b.count++;
            b.bytes += AGENT_JSON_COST (strlen (entry) + (tn > 0 ? (size_t) tn : 0)) + 160;
            if (recursive && S_ISDIR (st.st_mode)) {
                if (tail == cap) {
                    /* Compact the queue before growing it. */
                    memmove (queue, queue + head, (tail - head) * sizeof *queue);
                    tail -= head;
                    head = 0;
                    if (tail == cap) {
                        cap *= 2;
                        queue = xrealloc (queue, cap * sizeof *queue);
                    }
                }
                queue[tail++] = entry;
            } else {
                free (entry);
            }
            if ((b.count >= AGENT_BATCH_ITEMS || b.bytes >= AGENT_BATCH_BYTES) &&
                batch_send (&b, false, false, err) < 0) {
                free_names (names);
                close (dir_fd);
                goto out;
            }
        }
        free_names (names);
        close (dir_fd);
    }
    r = batch_send (&b, true, truncated, err);
out:
    for (size_t i = head; i < tail; i++)
        free (queue[i]);
    free (queue);
    json_object_put (b.entries);
    return r;
}
