#include "client_files.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "client_private.h"
#include "client_reply.h"
#include "json_reader.h"
#include "xalloc.h"

int
wr_client_file_info_read (json_object *info, wr_client_file_info_t *out, wr_error_t *err)
{
    *out = (wr_client_file_info_t){ .uid = -1, .gid = -1 };
    const char *what = "warrend's FileInfo";
    if (wr_json_expect (info, json_type_object, what, "", err) < 0)
        return -1;
    if (wr_client_get_string (info, "path", true, what, &out->path, err) < 0 ||
        wr_client_get_string (info, "file_type", true, what, &out->file_type, err) < 0 ||
        wr_client_get_int (info, "size", false, what, &out->size, err) < 0 ||
        wr_client_get_int (info, "mode", false, what, &out->mode, err) < 0 ||
        wr_client_get_int (info, "uid", false, what, &out->uid, err) < 0 ||
        wr_client_get_int (info, "gid", false, what, &out->gid, err) < 0 ||
        wr_client_get_int (info, "mtime_ms", false, what, &out->mtime_ms, err) < 0)
        return -1;
    if (out->mode < 0 || out->mode > 07777 || out->size < 0)
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0,
                                  "%s of %s: a mode or size out of range", what, out->path);
    return 0;
}

static int
checked_info (json_object *o, json_object **info, wr_error_t *err)
{
    wr_client_file_info_t view;
    if (wr_client_file_info_read (o, &view, err) < 0) {
        json_object_put (o);
        return -1;
    }
    if (info != NULL)
        *info = o;
    else
        json_object_put (o);
    return 0;
}

static char *
files_path (const char *sandbox, const char *op)
{
    cleanup_free char *tail = xasprintf ("/files/%s", op);
    return client_path ("/v1/sandboxes/", sandbox, tail, NULL);
}

int
wr_client_file_upload_fd (wr_client_t *client, const char *sandbox, const char *path, int fd,
                          const wr_client_upload_t *options, json_object **info, wr_error_t *err)
{
    wr_client_upload_t defaults = { .mode = -1, .uid = -1, .gid = -1 };
    if (options == NULL)
        options = &defaults;
    int64_t size = -1;
    struct stat st;
    if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode)) {
        off_t at = lseek (fd, 0, SEEK_CUR);
        size = at >= 0 && at <= st.st_size ? (int64_t) (st.st_size - at) : -1;
    }
    cleanup_free char *query = NULL;
    client_query_add (&query, "path", path);
    if (options->mode >= 0)
        client_query_addf (&query, "mode", "%04o", (unsigned) options->mode);
    if (options->uid >= 0)
        client_query_addf (&query, "uid", "%lld", (long long) options->uid);
    if (options->gid >= 0)
        client_query_addf (&query, "gid", "%lld", (long long) options->gid);
    if (options->parents)
        client_query_add (&query, "parents", "true");
    if (options->append)
        client_query_add (&query, "append", "true");
    cleanup_free char *url_path = files_path (sandbox, "content");
    client_call_t call = {
        .method = "PUT",
        .path = url_path,
        .query = query,
        .body_fd = fd,
        .body_size = size,
        .long_running = true,
    };
    client_answer_t answer;
    if (client_call (client, &call, &answer, err) < 0)
        return wr_error_prefix (err, "uploading %s to sandbox %s", path, sandbox);
    return checked_info (steal_pointer (&answer.json), info, err);
}

int
wr_client_file_upload_path (wr_client_t *client, const char *sandbox, const char *path,
                            const char *local, const wr_client_upload_t *options,
                            json_object **info, wr_error_t *err)
{
    cleanup_close int fd = open (local, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return wr_error_set (err, errno, "uploading %s: opening %s", path, local);
    return wr_client_file_upload_fd (client, sandbox, path, fd, options, info, err);
}

typedef struct {
    int fd;
    int64_t written;
    const char *path;
} download_t;

static int
download_sink (void *data, const char *bytes, size_t len, wr_error_t *err)
{
    download_t *d = data;
    while (len > 0) {
        ssize_t n = write (d->fd, bytes, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return wr_error_set (err, errno, "downloading %s: writing", d->path);
        bytes += n;
        len -= (size_t) n;
        d->written += n;
    }
    return 0;
}

int
wr_client_file_download_fd (wr_client_t *client, const char *sandbox, const char *path,
                            int64_t offset, int64_t length, int fd, int64_t *written,
                            wr_error_t *err)
{
    cleanup_free char *query = NULL;
    client_query_add (&query, "path", path);
    if (offset > 0)
        client_query_addf (&query, "offset", "%lld", (long long) offset);
    if (length >= 0)
        client_query_addf (&query, "length", "%lld", (long long) length);
    cleanup_free char *url_path = files_path (sandbox, "content");
    download_t d = { .fd = fd, .path = path };
    client_call_t call = {
        .method = "GET",
        .path = url_path,
        .query = query,
        .body_fd = -1,
        .accept = "application/octet-stream",
        .long_running = true,
        .sink = download_sink,
        .sink_data = &d,
    };
    client_answer_t answer;
    int ret = client_call (client, &call, &answer, err);
    client_answer_clear (&answer);
    if (written != NULL)
        *written = d.written;
    if (ret < 0 && strstr ((*err)->message, path) == NULL)
        wr_error_prefix (err, "downloading %s from sandbox %s", path, sandbox);
    return ret;
}

int
wr_client_file_stat (wr_client_t *client, const char *sandbox, const char *path,
                     bool follow_symlinks, json_object **info, wr_error_t *err)
{
    cleanup_free char *query = NULL;
    client_query_add (&query, "path", path);
    if (follow_symlinks)
        client_query_add (&query, "follow_symlinks", "true");
    cleanup_free char *url_path = files_path (sandbox, "stat");
    json_object *o = NULL;
    if (client_json_call (client, "GET", url_path, query, NULL, &o, err) < 0)
        return -1;
    return checked_info (o, info, err);
}

int
wr_client_file_list (wr_client_t *client, const char *sandbox, const char *path, bool recursive,
                     int64_t limit, json_object **entries, bool *truncated, wr_error_t *err)
{
    cleanup_free char *query = NULL;
    client_query_add (&query, "path", path);
    if (recursive)
        client_query_add (&query, "recursive", "true");
    if (limit > 0)
        client_query_addf (&query, "limit", "%lld", (long long) limit);
    cleanup_free char *url_path = files_path (sandbox, "list");
    cleanup_json_reader json_object *o = NULL;
    if (client_json_call (client, "GET", url_path, query, NULL, &o, err) < 0)
        return -1;
    json_object *list = NULL;
    bool cut = false;
    if (wr_client_get_array (o, "entries", true, "warrend's file list", &list, err) < 0 ||
        wr_client_get_bool (o, "truncated", false, "warrend's file list", &cut, err) < 0)
        return -1;
    for (size_t i = 0; i < json_object_array_length (list); i++) {
        wr_client_file_info_t view;
        if (wr_client_file_info_read (json_object_array_get_idx (list, i), &view, err) < 0)
            return wr_error_prefix (err, "entries[%zu]", i);
    }
    if (truncated != NULL)
        *truncated = cut;
    *entries = json_object_get (list);
    return 0;
}

/* POST .../files/OP with BODY (taken), answering an object (*OUT, or
 * dropped when OUT is NULL). */
static int
files_post (wr_client_t *client, const char *sandbox, const char *op, json_object *body,
            json_object **out, wr_error_t *err)
{
    cleanup_free char *url_path = files_path (sandbox, op);
    int ret = client_json_call (client, "POST", url_path, NULL, body, out, err);
    json_object_put (body);
    return ret;
}

static json_object *
body_with_path (const char *path)
{
    json_object *body = json_object_new_object ();
    json_object_object_add (body, "path", json_object_new_string (path));
    return body;
}

int
wr_client_file_mkdir (wr_client_t *client, const char *sandbox, const char *path, int mode,
                      bool parents, wr_error_t *err)
{
    json_object *body = body_with_path (path);
    if (mode >= 0)
        json_object_object_add (body, "mode", json_object_new_int (mode));
    json_object_object_add (body, "parents", json_object_new_boolean (parents));
    return files_post (client, sandbox, "mkdir", body, NULL, err);
}

int
wr_client_file_remove (wr_client_t *client, const char *sandbox, const char *path, bool recursive,
                       wr_error_t *err)
{
    json_object *body = body_with_path (path);
    json_object_object_add (body, "recursive", json_object_new_boolean (recursive));
    return files_post (client, sandbox, "remove", body, NULL, err);
}

int
wr_client_file_rename (wr_client_t *client, const char *sandbox, const char *from, const char *to,
                       bool replace, wr_error_t *err)
{
    json_object *body = json_object_new_object ();
    json_object_object_add (body, "from", json_object_new_string (from));
    json_object_object_add (body, "to", json_object_new_string (to));
    json_object_object_add (body, "replace", json_object_new_boolean (replace));
    return files_post (client, sandbox, "rename", body, NULL, err);
}

int
wr_client_file_chmod (wr_client_t *client, const char *sandbox, const char *path, int mode,
                      wr_error_t *err)
{
    if (mode < 0 || mode > 07777)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "chmod %s: mode %o out of range", path,
                                  (unsigned) mode);
    json_object *body = body_with_path (path);
    json_object_object_add (body, "mode", json_object_new_int (mode));
    return files_post (client, sandbox, "chmod", body, NULL, err);
}

int
wr_client_file_chown (wr_client_t *client, const char *sandbox, const char *path, int64_t uid,
                      int64_t gid, bool follow_symlinks, wr_error_t *err)
{
    json_object *body = body_with_path (path);
    if (uid >= 0)
        json_object_object_add (body, "uid", json_object_new_int64 (uid));
    if (gid >= 0)
        json_object_object_add (body, "gid", json_object_new_int64 (gid));
    json_object_object_add (body, "follow_symlinks", json_object_new_boolean (follow_symlinks));
    return files_post (client, sandbox, "chown", body, NULL, err);
}

int
wr_client_file_find (wr_client_t *client, const char *sandbox, const char *path,
                     const char *pattern, const wr_client_find_t *options, json_object **matches,
                     bool *truncated, wr_error_t *err)
{
    json_object *body = body_with_path (path);
    json_object_object_add (body, "pattern", json_object_new_string (pattern));
    if (options != NULL && options->glob != NULL)
        json_object_object_add (body, "glob", json_object_new_string (options->glob));
    if (options != NULL && options->ignore_case)
        json_object_object_add (body, "ignore_case", json_object_new_boolean (true));
    if (options != NULL && options->max_matches > 0)
        json_object_object_add (body, "max_matches", json_object_new_int64 (options->max_matches));
    cleanup_json_reader json_object *o = NULL;
    if (files_post (client, sandbox, "find", body, &o, err) < 0)
        return -1;
    const char *what = "warrend's matches";
    json_object *list = NULL;
    bool cut = false;
    if (wr_client_get_array (o, "matches", true, what, &list, err) < 0 ||
        wr_client_get_bool (o, "truncated", false, what, &cut, err) < 0)
        return -1;
    for (size_t i = 0; i < json_object_array_length (list); i++) {
        json_object *m = json_object_array_get_idx (list, i);
        const char *p = NULL, *text = NULL;
        int64_t line = 0, column = 0;
        if (wr_json_expect (m, json_type_object, what, "matches[]", err) < 0 ||
            wr_client_get_string (m, "path", true, what, &p, err) < 0 ||
            wr_client_get_int (m, "line", true, what, &line, err) < 0 ||
            wr_client_get_int (m, "column", false, what, &column, err) < 0 ||
            wr_client_get_string (m, "text", false, what, &text, err) < 0)
            return wr_error_prefix (err, "matches[%zu]", i);
    }
    if (truncated != NULL)
        *truncated = cut;
    *matches = json_object_get (list);
    return 0;
}

int
wr_client_file_replace (wr_client_t *client, const char *sandbox, const char *path,
                        const char *pattern, const char *replacement, const char *glob,
                        bool ignore_case, int64_t *files, int64_t *replacements, wr_error_t *err)
{
    json_object *body = body_with_path (path);
    json_object_object_add (body, "pattern", json_object_new_string (pattern));
    json_object_object_add (body, "replacement", json_object_new_string (replacement));
    if (glob != NULL)
        json_object_object_add (body, "glob", json_object_new_string (glob));
    if (ignore_case)
        json_object_object_add (body, "ignore_case", json_object_new_boolean (true));
    cleanup_json_reader json_object *o = NULL;
    if (files_post (client, sandbox, "replace", body, &o, err) < 0)
        return -1;
    int64_t f = 0, r = 0;
    const char *what = "warrend's replace";
    if (wr_client_get_int (o, "files", true, what, &f, err) < 0 ||
        wr_client_get_int (o, "replacements", true, what, &r, err) < 0)
        return -1;
    if (files != NULL)
        *files = f;
    if (replacements != NULL)
        *replacements = r;
    return 0;
}
