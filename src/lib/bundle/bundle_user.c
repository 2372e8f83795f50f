/* Process users resolved in an image's root, from its own /etc/passwd and
 * /etc/group (see bundle_user.h). */
#include "bundle_user.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"
#include "path_in_root.h"
#include "strv.h"
#include "xalloc.h"

/* /etc/passwd and /etc/group of an image are untrusted: bigger than this
 * is refused rather than read. */
#define MAX_ACCOUNT_FILE (4 * 1024 * 1024)

/* Reads the small regular file PATH inside ROOT_FD into *DATA; a missing
 * one (the error's kind not_found) leaves *DATA NULL and is no error. */
static int
read_in_root (int root_fd, const char *path, char **data, wr_error_t *err)
{
    *data = NULL;
    wr_error_t open_err = NULL;
    /* O_NONBLOCK: a fifo planted there must not hang us. */
    cleanup_close int fd =
        wr_open_in_root (root_fd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, &open_err);
    if (fd < 0) {
        if (wr_error_kind (open_err) != WR_ERROR_NOT_FOUND)
            return wr_error_propagate (err, &open_err);
        wr_error_free (&open_err);
        return 0;
    }
    struct stat st;
    if (fstat (fd, &st) < 0)
        return wr_error_set (err, errno, "stat `/%s` in the image", path);
    if (!S_ISREG (st.st_mode) || st.st_size > MAX_ACCOUNT_FILE)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "`/%s` in the image is not a regular file of at most %d bytes",
                                  path, MAX_ACCOUNT_FILE);
    cleanup_free char *name = xasprintf ("/%s in the image", path);
    *data = wr_read_fd (fd, name, MAX_ACCOUNT_FILE, NULL, err);
    return *data != NULL ? 0 : -1;
}

/* "123" as an id (0 to 2^32 - 2); -1 when TEXT is not a number. */
static long long
parse_id (const char *text)
{
    if (text[0] < '0' || text[0] > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    long long v = strtoll (text, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0 || v > 4294967294LL)
        return -1;
    return v;
}

/* LINE split at colons into exactly FIELDS fields (empty ones kept); NULL
 * when it has fewer.  The last field keeps any further colons. */
static char **
split_fields (const char *line, size_t fields)
{
    char **parts = xzalloc ((fields + 1) * sizeof *parts);
    const char *p = line;
    for (size_t n = 0; n < fields; n++) {
        const char *colon = n + 1 < fields ? strchr (p, ':') : NULL;
        if (colon == NULL && n + 1 < fields) {
            wr_strv_free (parts);
            return NULL;
        }
        parts[n] = colon != NULL ? xstrndup (p, (size_t) (colon - p)) : xstrdup (p);
        if (colon != NULL)
            p = colon + 1;
    }
    return parts;
}

/* The fields of the line of DATA (passwd or group format) whose field
 * KEY_FIELD is KEY; NULL when none. */
static char **
find_entry (const char *data, size_t fields, size_t key_field, const char *key)
{
    if (data == NULL)
        return NULL;
    const char *line = data;
    while (*line != '\0') {
        const char *end = strchr (line, '\n');
        size_t len = end != NULL ? (size_t) (end - line) : strlen (line);
        cleanup_free char *copy = xstrndup (line, len);
        line = end != NULL ? end + 1 : line + len;
        if (copy[0] == '#' || copy[0] == '+' || copy[0] == '-')
            continue;
        char **parts = split_fields (copy, fields);
        if (parts != NULL && strcmp (parts[key_field], key) == 0)
            return parts;
        wr_strv_free (parts);
    }
    return NULL;
}

void
wr_bundle_user_clear (wr_bundle_user_t *user)
{
    free (user->additional_gids);
    free (user->home);
    memset (user, 0, sizeof *user);
}

static int
resolve_user (int root_fd, const char *text, wr_bundle_user_t *out, wr_error_t *err)
{
    if (text == NULL || text[0] == '\0')
        text = "0";
    cleanup_free char *user = xstrdup (text);
    char *group = strchr (user, ':');
    if (group != NULL)
        *group++ = '\0';
    if (user[0] == '\0' || (group != NULL && group[0] == '\0'))
        return wr_error_set (err, 0, "user `%s`: expected USER[:GROUP]", text);

    cleanup_free char *passwd = NULL;
    if (read_in_root (root_fd, "etc/passwd", &passwd, err) < 0)
        return -1;
    cleanup_free char *groups = NULL;
    if (read_in_root (root_fd, "etc/group", &groups, err) < 0)
        return -1;

    long long uid = parse_id (user);
    cleanup_strv char **pw = NULL;
    if (uid >= 0) {
        /* A uid found in passwd names the user (for its groups and home). */
        cleanup_free char *key = xasprintf ("%lld", uid);
        pw = find_entry (passwd, 7, 2, key);
    } else {
        pw = find_entry (passwd, 7, 0, user);
        if (pw == NULL)
            return wr_error_set (err, 0, "user `%s` is not in the image's /etc/passwd", user);
        uid = parse_id (pw[2]);
        if (uid < 0)
            return wr_error_set (err, 0, "user `%s` has a bad uid `%s` in /etc/passwd", user,
                                 pw[2]);
    }
    long long gid = 0;
    if (group != NULL) {
        gid = parse_id (group);
        if (gid < 0) {
            cleanup_strv char **gr = find_entry (groups, 4, 0, group);
            if (gr == NULL)
                return wr_error_set (err, 0, "group `%s` is not in the image's /etc/group", group);
            gid = parse_id (gr[2]);
            if (gid < 0)
                return wr_error_set (err, 0, "group `%s` has a bad gid `%s` in /etc/group", group,
                                     gr[2]);
        }
    } else if (pw != NULL) {
        gid = parse_id (pw[3]);
        if (gid < 0)
            return wr_error_set (err, 0, "user `%s` has a bad gid `%s` in /etc/passwd", user,
                                 pw[3]);
    }
    out->uid = (uid_t) uid;
    out->gid = (gid_t) gid;
    if (pw != NULL && pw[5][0] == '/')
        out->home = xstrdup (pw[5]);

    /* Supplementary groups: those that list the user's name. */
    if (pw != NULL && groups != NULL && group == NULL) {
        const char *line = groups;
        while (*line != '\0') {
            const char *end = strchr (line, '\n');
            size_t len = end != NULL ? (size_t) (end - line) : strlen (line);
            cleanup_free char *copy = xstrndup (line, len);
            line = end != NULL ? end + 1 : line + len;
            cleanup_strv char **parts = split_fields (copy, 4);
            if (parts == NULL)
                continue;
            cleanup_strv char **names = wr_strv_split (parts[3], ",");
            long long g = parse_id (parts[2]);
            if (g < 0 || (gid_t) g == out->gid || !wr_strv_contains (names, pw[0]))
                continue;
            out->additional_gids =
                xrealloc (out->additional_gids, (out->n_additional_gids + 1) * sizeof (gid_t));
            out->additional_gids[out->n_additional_gids++] = (gid_t) g;
        }
    }
    return 0;
}

int
wr_bundle_resolve_user (int root_fd, const char *user, wr_bundle_user_t *out, wr_error_t *err)
{
    memset (out, 0, sizeof *out);
    if (resolve_user (root_fd, user, out, err) < 0) {
        wr_bundle_user_clear (out);
        return -1;
    }
    return 0;
}
