#include "api_files.h"

#include <stdlib.h>
#include <string.h>

#include "api_agent.h"
#include "api_agent_stream.h"
#include "api_events.h"
#include "cleanup.h"
#include "json_reader.h"
#include "xalloc.h"

/* Query booleans and integers copied into MSG when given. */
static int
query_bool (wr_api_request_t *req, wr_agent_message_t *msg, const char *name, wr_error_t *err)
{
    if (wr_api_request_query (req, name) == NULL)
        return 0;
    bool value;
    if (wr_api_query_bool (req, name, false, &value, err) < 0)
        return -1;
    wr_agent_message_set_bool (msg, name, value);
    return 0;
}

static int
query_int (wr_api_request_t *req, wr_agent_message_t *msg, const char *name, int64_t min,
           int64_t max, wr_error_t *err)
{
    bool present;
    int64_t value;
    if (wr_api_query_int (req, name, min, max, &present, &value, err) < 0)
        return -1;
    if (present)
        wr_agent_message_set_int (msg, name, value);
    return 0;
}

/* A message of TYPE with query path. */
static wr_agent_message_t *
path_message (wr_api_request_t *req, wr_agent_msg_type_t type, wr_error_t *err)
{
    const char *path = wr_api_query_required (req, "path", err);
    if (path == NULL)
        return NULL;
    wr_agent_message_t *msg = wr_agent_message_new (type);
    wr_agent_message_set_string (msg, "path", path);
    return msg;
}

/* A download that ends within this many bytes is answered whole, from
 * this thread; a longer one streams (a thread of its own and the response
 * reading from its queue, which costs a small file most of its time). */
#define WHOLE_DOWNLOAD_MAX (128 * 1024)

/* Reads CALL's items from FIRST on while they end within
 * WHOLE_DOWNLOAD_MAX bytes.  1: the file ended, *BUF holds all of it (an
 * error the agent sent instead is ERR); 0: it goes on, *BUF holds what
 * came before *PENDING, the first item that did not fit; -1 on error. */
static int
collect_download (wr_agent_call_t *call, wr_agent_item_t *first, char **buf, size_t *len,
                  wr_agent_item_t *pending, wr_error_t *err)
{
    wr_agent_item_t item = *first;
    memset (first, 0, sizeof *first);
    for (;;) {
        if (item.message != NULL && item.message->type == WR_AGENT_MSG_ERROR) {
            wr_agent_error_from (item.message, WR_AGENT_SIDE_AGENT, err);
            wr_agent_item_clear (&item);
            return -1;
        }
        if (item.message == NULL && item.len > 0) {
            if (item.len > WHOLE_DOWNLOAD_MAX - *len) {
                *pending = item;
                return 0;
            }
            *buf = xrealloc (*buf, *len + item.len + 1);
            memcpy (*buf + *len, item.data, item.len);
            *len += item.len;
        }
        bool end = item.end;
        wr_agent_item_clear (&item);
        if (end)
            return 1;
        int r = wr_agent_call_next (call, WR_API_AGENT_DEADLINE_MS, &item, err);
        if (r < 0)
            return -1;
        if (r == 0)
            return 1;
    }
}

int
wr_api_file_download (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    cleanup_agent_message wr_agent_message_t *msg = path_message (req, WR_AGENT_MSG_FILE_READ, err);
    if (msg == NULL || query_int (req, msg, "offset", 0, INT64_MAX, err) < 0 ||
        query_int (req, msg, "length", 0, INT64_MAX, err) < 0)
        return -1;
    wr_api_agent_ref_t ref = { 0 };
    if (wr_api_agent_ref (data, req, &ref, err) < 0)
        return -1;
    wr_agent_call_t *call = wr_agent_call_open (ref.agent, msg, false, NULL, err);
    wr_agent_item_t first;
    if (call == NULL || wr_api_agent_first (call, &first, err) < 0) {
        if (call != NULL)
            wr_agent_call_free (call);
        wr_api_agent_ref_clear (&ref);
        return -1;
    }
    char *buf = NULL;
    size_t len = 0;
    wr_agent_item_t pending = { 0 };
    int whole = collect_download (call, &first, &buf, &len, &pending, err);
    if (whole != 0) {
        wr_agent_call_free (call);
        wr_api_agent_ref_clear (&ref);
        if (whole < 0) {
            free (buf);
            return -1;
        }
        resp->status = 200;
        resp->content_type = "application/octet-stream";
        resp->body = buf != NULL ? buf : xstrdup ("");
        resp->body_len = len;
        return 0;
    }
    /* Longer: what came so far first, then the stream from PENDING on. */
    wr_api_events_t *events = wr_api_events_new (0);
    cleanup_error wr_error_t send_err = NULL;
    int sent = wr_api_events_send_bytes (events, buf, len, 0, &send_err);
    free (buf);
    if (sent < 0) {
        wr_agent_item_clear (&pending);
        wr_agent_call_free (call);
        wr_api_agent_ref_clear (&ref);
        wr_api_events_unref (events);
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0, "start the download: %s",
                                  send_err->message);
    }
    if (wr_api_agent_stream_start (data, ref.agent, call, &pending, events, false, err) < 0) {
        wr_api_events_unref (events);
        return -1;
    }
    wr_api_response_bytes (resp, 200, "application/octet-stream", events);
    return 0;
}

int
wr_api_file_upload (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    cleanup_agent_message wr_agent_message_t *msg =
        path_message (req, WR_AGENT_MSG_FILE_WRITE, err);
    bool has_mode;
    int64_t mode;
    if (msg == NULL || wr_api_query_mode (req, "mode", &has_mode, &mode, err) < 0 ||
        query_int (req, msg, "uid", 0, UINT32_MAX, err) < 0 ||
        query_int (req, msg, "gid", 0, UINT32_MAX, err) < 0 ||
        query_bool (req, msg, "parents", err) < 0 || query_bool (req, msg, "append", err) < 0)
        return -1;
    if (has_mode)
        wr_agent_message_set_int (msg, "mode", mode);
    const char *length = wr_api_request_header (req, "Content-Length");
    if (length != NULL && length[0] != '\0' && strspn (length, "0123456789") == strlen (length))
        wr_agent_message_set_int (msg, "size", strtoll (length, NULL, 10));
    cleanup_agent_ref wr_api_agent_ref_t ref = { 0 };
    if (wr_api_agent_ref (data, req, &ref, err) < 0)
        return -1;
    cleanup_agent_call wr_agent_call_t *call = wr_agent_call_open (ref.agent, msg, true, NULL, err);
    if (call == NULL || wr_api_pipe_body (req, call, err) < 0)
        return -1;
    wr_agent_item_t item;
    if (wr_api_agent_first (call, &item, err) < 0)
        return -1;
    json_object *info = item.message != NULL ? wr_api_file_info_json (item.message->json) : NULL;
    wr_agent_item_clear (&item);
    if (info == NULL)
        return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                                  "the agent answered an upload with data");
    wr_api_response_json (resp, 200, info);
    return 0;
}

int
wr_api_file_stat (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    cleanup_agent_message wr_agent_message_t *msg = path_message (req, WR_AGENT_MSG_FILE_STAT, err);
    if (msg == NULL || query_bool (req, msg, "follow_symlinks", err) < 0)
        return -1;
    cleanup_agent_ref wr_api_agent_ref_t ref = { 0 };
    if (wr_api_agent_ref (data, req, &ref, err) < 0)
        return -1;
    cleanup_agent_message wr_agent_message_t *reply = NULL;
    if (wr_api_agent_request (ref.agent, msg, &reply, err) < 0)
        return -1;
    wr_api_response_json (resp, 200, wr_api_file_info_json (reply->json));
    return 0;
}

/* Answers {KEY: [...], "truncated": ...} from the messages answering MSG
 * (file infos translated when INFOS). */
static int
answer_collected (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                  const wr_agent_message_t *msg, const char *key, bool infos, wr_error_t *err)
{
    cleanup_agent_ref wr_api_agent_ref_t ref = { 0 };
    if (wr_api_agent_ref (data, req, &ref, err) < 0)
        return -1;
    json_object *items;
    bool truncated;
    if (wr_api_agent_collect (ref.agent, msg, key, &items, &truncated, err) < 0)
        return -1;
    if (infos) {
        json_object *translated = json_object_new_array ();
        for (size_t i = 0; i < json_object_array_length (items); i++)
            json_object_array_add (translated,
                                   wr_api_file_info_json (json_object_array_get_idx (items, i)));
        json_object_put (items);
        items = translated;
    }
    json_object *out = json_object_new_object ();
    json_object_object_add (out, key, items);
    json_object_object_add (out, "truncated", json_object_new_boolean (truncated));
    wr_api_response_json (resp, 200, out);
    return 0;
}

int
wr_api_file_list (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    cleanup_agent_message wr_agent_message_t *msg = path_message (req, WR_AGENT_MSG_FILE_LIST, err);
    if (msg == NULL || query_bool (req, msg, "recursive", err) < 0 ||
        query_int (req, msg, "limit", 1, 1000000, err) < 0)
        return -1;
    return answer_collected (req, resp, data, msg, "entries", true, err);
}

/* The body checked against FIELDS, with a mode as an octal string
 * turned into its integer first. */
static json_object *
body_of (wr_api_request_t *req, const wr_api_field_t *fields, wr_error_t *err)
{
    cleanup_json_reader json_object *body = wr_api_request_json (req, NULL, err);
    if (body == NULL || wr_api_body_mode (body, err) < 0 ||
        wr_api_json_check_fields (body, fields, "request body", "", err) < 0)
        return NULL;
    return steal_pointer (&body);
}

/* A body route answered 200 {} once the agent's ok came. */
static int
answer_ok (wr_api_request_t *req, wr_api_response_t *resp, void *data, const wr_api_field_t *fields,
           wr_agent_msg_type_t type, wr_error_t *err)
{
    cleanup_json_reader json_object *body = body_of (req, fields, err);
    if (body == NULL)
        return -1;
    cleanup_agent_ref wr_api_agent_ref_t ref = { 0 };
    if (wr_api_agent_ref (data, req, &ref, err) < 0)
        return -1;
    cleanup_agent_message wr_agent_message_t *msg = wr_api_message_from (type, body);
    cleanup_agent_message wr_agent_message_t *reply = NULL;
    if (wr_api_agent_request (ref.agent, msg, &reply, err) < 0)
        return -1;
    wr_api_response_json (resp, 200, json_object_new_object ());
    return 0;
}

int
wr_api_file_mkdir (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "path", json_type_string, true },
        { "mode", json_type_int, false },
        { "parents", json_type_boolean, false },
        { NULL, 0, false },
    };
    return answer_ok (req, resp, data, fields, WR_AGENT_MSG_FILE_MKDIR, err);
}

int
wr_api_file_remove (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "path", json_type_string, true },
        { "recursive", json_type_boolean, false },
        { NULL, 0, false },
    };
    return answer_ok (req, resp, data, fields, WR_AGENT_MSG_FILE_REMOVE, err);
}

int
wr_api_file_rename (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "from", json_type_string, true },
        { "to", json_type_string, true },
        { "replace", json_type_boolean, false },
        { NULL, 0, false },
    };
    return answer_ok (req, resp, data, fields, WR_AGENT_MSG_FILE_RENAME, err);
}

int
wr_api_file_chmod (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "path", json_type_string, true },
        { "mode", json_type_int, true },
        { NULL, 0, false },
    };
    return answer_ok (req, resp, data, fields, WR_AGENT_MSG_FILE_CHMOD, err);
}

int
wr_api_file_chown (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "path", json_type_string, true },
        { "uid", json_type_int, true },
        { "gid", json_type_int, true },
        { "follow_symlinks", json_type_boolean, false },
        { NULL, 0, false },
    };
    return answer_ok (req, resp, data, fields, WR_AGENT_MSG_FILE_CHOWN, err);
}

int
wr_api_file_find (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "path", json_type_string, true },      { "pattern", json_type_string, true },
        { "glob", json_type_string, false },     { "ignore_case", json_type_boolean, false },
        { "max_matches", json_type_int, false }, { NULL, 0, false },
    };
    cleanup_json_reader json_object *body = body_of (req, fields, err);
    if (body == NULL)
        return -1;
    cleanup_agent_message wr_agent_message_t *msg =
        wr_api_message_from (WR_AGENT_MSG_FILE_FIND, body);
    return answer_collected (req, resp, data, msg, "matches", false, err);
}

int
wr_api_file_replace (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "path", json_type_string, true },          { "pattern", json_type_string, true },
        { "replacement", json_type_string, true },   { "glob", json_type_string, false },
        { "ignore_case", json_type_boolean, false }, { NULL, 0, false },
    };
    cleanup_json_reader json_object *body = body_of (req, fields, err);
    if (body == NULL)
        return -1;
    cleanup_agent_ref wr_api_agent_ref_t ref = { 0 };
    if (wr_api_agent_ref (data, req, &ref, err) < 0)
        return -1;
    cleanup_agent_message wr_agent_message_t *msg =
        wr_api_message_from (WR_AGENT_MSG_FILE_REPLACE, body);
    cleanup_agent_message wr_agent_message_t *reply = NULL;
    if (wr_agent_client_request (ref.agent, msg, WR_API_AGENT_ITEM_MS, &reply, err) < 0)
        return -1;
    json_object *out = json_object_new_object ();
    json_object_object_add (out, "files",
                            json_object_new_int64 (wr_agent_message_int (reply, "files", 0)));
    json_object_object_add (
        out, "replacements",
        json_object_new_int64 (wr_agent_message_int (reply, "replacements", 0)));
    wr_api_response_json (resp, 200, out);
    return 0;
}
