/* file.find and file.replace: a POSIX extended regular expression over the
 * lines of a file or of every text file under a directory (those whose
 * names match a glob, when one is given).  A file with a NUL byte in its
 * first 8 KiB is binary and skipped. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_file_info.h"
#include "agent_file_ops.h"
#include "agent_path.h"
#include "cleanup.h"
#include "fs.h"
#include "xalloc.h"

#define BINARY_PROBE 8192
#define TEXT_MAX 4096
/* file.replace reads a file whole: at most this. */
#define REPLACE_FILE_MAX (64u * 1024u * 1024u)

/* Called for each regular file: DIR_FD/NAME, SHOWN its path as the client
 * would name it.  Returns 0 to go on, 1 to stop, -1 on error. */
typedef int (*visit_fn) (void *ctx, int dir_fd, const char *name, const char *shown,
                         wr_error_t *err);

static void
free_strv (char **v)
{
    for (char **p = v; *p != NULL; p++)
        free (*p);
    free (v);
}

static int
compare_names (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Sorted names of directory FD (taken), "." and ".." left out. */
static char **
read_names (int fd)
{
    DIR *dir = fdopendir (fd);
    if (dir == NULL) {
        close (fd);
        return NULL;
    }
    size_t n = 0, cap = 16;
    char **names = xmalloc ((cap + 1) * sizeof *names);
    struct dirent *entry;
    while ((entry = readdir (dir)) != NULL) {
        if (strcmp (entry->d_name, ".") == 0 || strcmp (entry->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap *= 2;
            names = xrealloc (names, (cap + 1) * sizeof *names);
        }
        names[n++] = xstrdup (entry->d_name);
    }
    closedir (dir);
    names[n] = NULL;
    qsort (names, n, sizeof *names, compare_names);
    return names;
}

/* Visits PATH if it is a regular file, or every regular file under it
 * (symlinks not followed) whose name matches GLOB. */
static int
walk (int root_fd, const char *path, const char *glob, agent_reply_t *reply, visit_fn visit,
      void *ctx, const char *what, wr_error_t *err)
{
    cleanup_agent_path agent_path_t p = { -1, NULL };
    if (agent_path_resolve (root_fd, path, AGENT_PATH_FOLLOW, what, &p, err) < 0)
        return -1;
    struct stat st;
    if (fstatat (p.dir_fd, p.name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return agent_path_fail (err, errno, what, path);
    if (S_ISREG (st.st_mode))
        return visit (ctx, p.dir_fd, p.name, path, err) < 0 ? -1 : 0;
    if (!S_ISDIR (st.st_mode))
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "%s `%s`: neither a regular file nor a directory", what, path);
    cleanup_close int top =
        openat (p.dir_fd, p.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (top < 0)
        return agent_path_fail (err, errno, what, path);
    size_t plen = strlen (path);
    bool slash = plen > 0 && path[plen - 1] == '/';
    /* A stack of directories to read (depth first, names in order). */
    size_t n = 1, cap = 16;
    char **stack = xmalloc (cap * sizeof *stack);
    stack[0] = xstrdup ("");
    int r = 0;
    while (n > 0 && r == 0) {
        cleanup_free char *rel = stack[--n];
        if (agent_reply_cancelled (reply)) {
            r = agent_path_fail (err, ECANCELED, what, path);
            break;
        }
        int fd = agent_open_beneath (top, rel, O_RDONLY);
        if (fd < 0)
            continue; /* unreadable, gone or replaced meanwhile */
        int dir_fd = fcntl (fd, F_DUPFD_CLOEXEC, 0);
        char **names = read_names (fd);
        if (names == NULL || dir_fd < 0) {
            if (names != NULL)
                free_strv (names);
            if (dir_fd >= 0)
                close (dir_fd);
            continue;
        }
        size_t count = 0;
        while (names[count] != NULL)
            count++;
        /* Subdirectories pushed in reverse, so popped in order. */
        for (size_t i = count; i-- > 0 && r == 0;) {
            if (fstatat (dir_fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR (st.st_mode))
                continue;
            if (n == cap) {
                cap *= 2;
                stack = xrealloc (stack, cap * sizeof *stack);
            }
            stack[n++] = rel[0] == '\0' ? xstrdup (names[i]) : xasprintf ("%s/%s", rel, names[i]);
        }
        for (size_t i = 0; i < count && r == 0; i++) {
            if (fstatat (dir_fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG (st.st_mode))
                continue;
            if (glob != NULL && fnmatch (glob, names[i], 0) != 0)
                continue;
            cleanup_free char *shown = xasprintf ("%s%s%s%s%s", path, slash ? "" : "/", rel,
                                                  rel[0] == '\0' ? "" : "/", names[i]);
            r = visit (ctx, dir_fd, names[i], shown, err);
        }
        free_strv (names);
        close (dir_fd);
    }
    while (n > 0)
        free (stack[--n]);
    free (stack);
    return r < 0 ? -1 : 0;
}

static int
compile (regex_t *re, const wr_agent_message_t *req, const char *what, wr_error_t *err)
{
    const char *pattern = wr_agent_message_string (req, "pattern");
    int flags = REG_EXTENDED | REG_NEWLINE;
    if (wr_agent_message_bool (req, "ignore_case", false))
        flags |= REG_ICASE;
    int rc = regcomp (re, pattern, flags);
    if (rc != 0) {
        char msg[256];
        regerror (rc, re, msg, sizeof msg);
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "%s: the pattern: %s", what, msg);
    }
    return 0;
}

/* Whether file FD has a NUL byte in its first 8 KiB. */
static bool
is_binary (int fd)
{
    char probe[BINARY_PROBE];
    ssize_t n = pread (fd, probe, sizeof probe, 0);
    return n > 0 && memchr (probe, '\0', (size_t) n) != NULL;
}

typedef struct {
    agent_reply_t *reply;
    regex_t re;
    size_t max, found;
    bool truncated;
    json_object *matches;
    size_t count, bytes;
} find_t;

static int
find_send (find_t *f, bool last, wr_error_t *err)
{
    wr_agent_message_t *msg = wr_agent_message_new (WR_AGENT_MSG_FILE_MATCHES);
    wr_agent_message_set_json (msg, "matches", f->matches);
    wr_agent_message_set_bool (msg, "truncated", last && f->truncated);
    f->matches = json_object_new_array ();
    f->count = f->bytes = 0;
    return agent_reply_message (f->reply, msg, last, err);
}

static int
find_visit (void *ctx, int dir_fd, const char *name, const char *shown, wr_error_t *err)
{
    find_t *f = ctx;
    if (!agent_path_sendable (shown))
        return 0;
    int fd = openat (dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return 0; /* unreadable or gone: nothing found there */
    if (is_binary (fd)) {
        close (fd);
        return 0;
    }
    cleanup_fclose FILE *in = fdopen (fd, "r");
    if (in == NULL) {
        close (fd);
        return agent_path_fail (err, errno, "find in", shown);
    }
    cleanup_free char *line = NULL;
    size_t line_cap = 0;
    ssize_t len;
    for (int64_t lineno = 1; (len = getline (&line, &line_cap, in)) >= 0; lineno++) {
        if ((lineno & 4095) == 0 && agent_reply_cancelled (f->reply))
            return agent_path_fail (err, ECANCELED, "find in", shown);
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        size_t off = 0;
        while (off <= (size_t) len) {
            regmatch_t m;
            if (regexec (&f->re, line + off, 1, &m, off > 0 ? REG_NOTBOL : 0) != 0)
                break;
            if (f->found == f->max) {
                f->truncated = true;
                return 1;
            }
            json_object *match = json_object_new_object ();
            json_object_object_add (match, "path", json_object_new_string (shown));
            json_object_object_add (match, "line", json_object_new_int64 (lineno));
            json_object_object_add (match, "column",
                                    json_object_new_int64 ((int64_t) (off + (size_t) m.rm_so) + 1));
            char *text = agent_utf8_mend (line, (size_t) len, TEXT_MAX);
            json_object_object_add (match, "text", json_object_new_string (text));
            f->bytes += AGENT_JSON_COST (strlen (shown) + strlen (text)) + 64;
            free (text);
            json_object_array_add (f->matches, match);
            f->found++;
            f->count++;
            if ((f->count >= AGENT_BATCH_ITEMS || f->bytes >= AGENT_BATCH_BYTES) &&
                find_send (f, false, err) < 0)
                return -1;
            off += (size_t) m.rm_eo;
            if (m.rm_eo == m.rm_so)
                off++; /* an empty match: on to the next position */
        }
    }
    return 0;
}

int
agent_file_find (int root_fd, const wr_agent_message_t *req, agent_reply_t *reply, wr_error_t *err)
{
    const char *path = wr_agent_message_string (req, "path");
    find_t f = { .reply = reply,
                 .max = (size_t) wr_agent_message_int (req, "max_matches", 1000000) };
    if (compile (&f.re, req, "find", err) < 0)
        return -1;
    f.matches = json_object_new_array ();
    int r = walk (root_fd, path, wr_agent_message_string (req, "glob"), reply, find_visit, &f,
                  "find in", err);
    if (r == 0)
        r = find_send (&f, true, err);
    json_object_put (f.matches);
    regfree (&f.re);
    return r;
}

typedef struct {
    agent_reply_t *reply;
    regex_t re;
    const char *replacement;
    int64_t files, replacements;
} replace_t;

typedef struct {
    char *data;
    size_t len, cap;
} out_t;

static void
out_add (out_t *o, const char *data, size_t len)
{
    if (o->len + len + 1 > o->cap) {
        o->cap = (o->len + len + 1) * 2;
        o->data = xrealloc (o->data, o->cap);
    }
    memcpy (o->data + o->len, data, len);
    o->len += len;
}

/* REPLACEMENT with \0 to \9 as the groups of M in AT, \\ a backslash. */
static void
expand (out_t *o, const char *replacement, const char *at, const regmatch_t *m)
{
    for (const char *r = replacement; *r != '\0'; r++) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '9') {
            const regmatch_t *g = &m[r[1] - '0'];
            if (g->rm_so >= 0)
                out_add (o, at + g->rm_so, (size_t) (g->rm_eo - g->rm_so));
            r++;
        } else if (r[0] == '\\' && r[1] == '\\') {
            out_add (o, "\\", 1);
            r++;
        } else {
            out_add (o, r, 1);
        }
    }
}

static int
replace_visit (void *ctx, int dir_fd, const char *name, const char *shown, wr_error_t *err)
{
    replace_t *rp = ctx;
    if (agent_reply_cancelled (rp->reply))
        return agent_path_fail (err, ECANCELED, "replace in", shown);
    cleanup_close int fd = openat (dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct stat st;
    if (fstat (fd, &st) < 0)
        return agent_path_fail (err, errno, "replace in", shown);
    if ((uint64_t) st.st_size > REPLACE_FILE_MAX)
        return wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                                  "replace in `%s`: %lld bytes is over the limit of %u", shown,
                                  (long long) st.st_size, REPLACE_FILE_MAX);
    size_t len = 0;
    cleanup_free char *text = wr_read_fd (fd, shown, REPLACE_FILE_MAX, &len, err);
    if (text == NULL)
        return -1;
    if (memchr (text, '\0', len) != NULL)
        return 0; /* binary */
    out_t o = { NULL, 0, 0 };
    int64_t count = 0;
    size_t off = 0;
    while (off <= len) {
        regmatch_t m[10];
        int eflags = off > 0 && text[off - 1] != '\n' ? REG_NOTBOL : 0;
        if (regexec (&rp->re, text + off, 10, m, eflags) != 0)
            break;
        out_add (&o, text + off, (size_t) m[0].rm_so);
        expand (&o, rp->replacement, text + off, m);
        count++;
        off += (size_t) m[0].rm_eo;
        if (m[0].rm_eo == m[0].rm_so) {
            /* An empty match: the next byte stays and the search goes on after it. */
            if (off < len)
                out_add (&o, text + off, 1);
            off++;
        }
    }
    if (count == 0) {
        free (o.data);
        return 0;
    }
    if (off < len)
        out_add (&o, text + off, len - off);
    cleanup_free char *tmp = NULL;
    cleanup_close int out = agent_temp_open (dir_fd, name, &tmp);
    int r = 0;
    if (out < 0)
        r = agent_path_fail (err, errno, "replace in", shown);
    else if (wr_write_all (out, o.data, o.len, shown, err) < 0)
        r = -1;
    else if (fchown (out, st.st_uid, st.st_gid) < 0 || fchmod (out, st.st_mode & 07777) < 0 ||
             renameat (dir_fd, tmp, dir_fd, name) < 0)
        r = agent_path_fail (err, errno, "replace in", shown);
    if (r < 0 && out >= 0)
        unlinkat (dir_fd, tmp, 0);
    free (o.data);
    if (r < 0)
        return -1;
    rp->files++;
    rp->replacements += count;
    return 0;
}

int
agent_file_replace (int root_fd, const wr_agent_message_t *req, agent_reply_t *reply,
                    wr_error_t *err)
{
    const char *path = wr_agent_message_string (req, "path");
    replace_t rp = { .reply = reply, .replacement = wr_agent_message_string (req, "replacement") };
    if (compile (&rp.re, req, "replace", err) < 0)
        return -1;
    int r = walk (root_fd, path, wr_agent_message_string (req, "glob"), reply, replace_visit, &rp,
                  "replace in", err);
    regfree (&rp.re);
    if (r < 0)
        return -1;
    wr_agent_message_t *msg = wr_agent_message_new (WR_AGENT_MSG_FILE_REPLACED);
    wr_agent_message_set_int (msg, "files", rp.files);
    wr_agent_message_set_int (msg, "replacements", rp.replacements);
    return agent_reply_message (reply, msg, true, err);
}
