#include "api_agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "quote.h"
#include "sandbox_manager.h"
#include "xalloc.h"

wr_agent_client_t *
wr_api_agent_get (wr_api_v1_t *v1, const wr_api_request_t *req, wr_error_t *err)
{
    const char *id = wr_api_request_param (req, "id");
    if (v1->agent == NULL && v1->sandboxes != NULL)
        return wr_sandbox_manager_agent (v1->sandboxes, id != NULL ? id : "", err);
    if (v1->agent == NULL) {
        cleanup_free char *quoted = wr_quote (id != NULL ? id : "", 64);
        wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                           "sandbox `%s`: this warrend runs no sandbox service", quoted);
        return NULL;
    }
    return v1->agent (v1->agent_ctx, id != NULL ? id : "", err);
}

void
wr_api_agent_release (wr_api_v1_t *v1, wr_agent_client_t *agent)
{
    if (agent == NULL)
        return;
    if (v1->agent != NULL) {
        if (v1->release != NULL)
            v1->release (v1->agent_ctx, agent);
    } else if (v1->sandboxes != NULL) {
        wr_sandbox_manager_release (v1->sandboxes, agent);
    }
}

int
wr_api_agent_ref (wr_api_v1_t *v1, const wr_api_request_t *req, wr_api_agent_ref_t *ref,
                  wr_error_t *err)
{
    ref->v1 = v1;
    ref->agent = wr_api_agent_get (v1, req, err);
    return ref->agent != NULL ? 0 : -1;
}

void
wr_api_agent_ref_clear (wr_api_agent_ref_t *ref)
{
    wr_api_agent_release (ref->v1, ref->agent);
    ref->agent = NULL;
}

int
wr_api_query_bool (const wr_api_request_t *req, const char *name, bool dflt, bool *out,
                   wr_error_t *err)
{
    const char *value = wr_api_request_query (req, name);
    if (value == NULL) {
        *out = dflt;
        return 0;
    }
    if (strcmp (value, "true") == 0 || strcmp (value, "false") == 0) {
        *out = value[0] == 't';
        return 0;
    }
    cleanup_free char *quoted = wr_quote (value, 64);
    return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "query %s: must be true or false, not `%s`",
                              name, quoted);
}

static int
query_digits (const wr_api_request_t *req, const char *name, int base, int64_t min, int64_t max,
              bool *present, int64_t *out, wr_error_t *err)
{
    const char *value = wr_api_request_query (req, name);
    *present = value != NULL;
    if (value == NULL)
        return 0;
    size_t len = strlen (value);
    bool ok = len > 0 && len <= 19 && strspn (value, base == 8 ? "01234567" : "0123456789") == len;
    int64_t n = 0;
    if (ok) {
        errno = 0;
        long long v = strtoll (value, NULL, base);
        ok = errno == 0 && v >= min && v <= max;
        n = v;
    }
    if (!ok) {
        cleanup_free char *quoted = wr_quote (value, 64);
        if (base == 8)
            return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                      "query %s: must be octal digits from 0 to %llo, not `%s`",
                                      name, (unsigned long long) max, quoted);
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "query %s: must be an integer from %lld to %lld, not `%s`", name,
                                  (long long) min, (long long) max, quoted);
    }
    *out = n;
    return 0;
}

int
wr_api_query_int (const wr_api_request_t *req, const char *name, int64_t min, int64_t max,
                  bool *present, int64_t *out, wr_error_t *err)
{
    return query_digits (req, name, 10, min, max, present, out, err);
}

int
wr_api_query_mode (const wr_api_request_t *req, const char *name, bool *present, int64_t *out,
                   wr_error_t *err)
{
    return query_digits (req, name, 8, 0, 07777, present, out, err);
}

const char *
wr_api_query_required (const wr_api_request_t *req, const char *name, wr_error_t *err)
{
    const char *value = wr_api_request_query (req, name);
    if (value == NULL || value[0] == '\0') {
        wr_error_set_kind (err, WR_ERROR_INVALID, 0, "query %s: missing", name);
        return NULL;
    }
    return value;
}

int
wr_api_body_mode (json_object *body, wr_error_t *err)
{
    json_object *mode;
    if (!json_object_object_get_ex (body, "mode", &mode) || mode == NULL)
        return 0;
    int64_t n;
    if (json_object_is_type (mode, json_type_string)) {
        const char *s = json_object_get_string (mode);
        size_t len = strlen (s);
        if (len == 0 || len > 5 || strspn (s, "01234567") != len) {
            cleanup_free char *quoted = wr_quote (s, 64);
            return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                      "request body: mode: must be octal digits (\"0644\"), not "
                                      "`%s`",
                                      quoted);
        }
        n = strtoll (s, NULL, 8);
    } else if (json_object_is_type (mode, json_type_int)) {
        n = json_object_get_int64 (mode);
    } else {
        return 0; /* the field table names the wrong type */
    }
    if (n < 0 || n > 07777)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "request body: mode: %lld is not a mode (0 to 07777)",
                                  (long long) n);
    json_object_object_add (body, "mode", json_object_new_int64 (n));
    return 0;
}

wr_agent_message_t *
wr_api_message_from (wr_agent_msg_type_t type, json_object *body)
{
    wr_agent_message_t *msg = wr_agent_message_new (type);
    if (body != NULL) {
        json_object_object_foreach (body, key, value)
        {
            if (value != NULL)
                wr_agent_message_set_json (msg, key, json_object_get (value));
        }
    }
    return msg;
}

int
wr_api_agent_request (wr_agent_client_t *agent, const wr_agent_message_t *msg,
                      wr_agent_message_t **reply, wr_error_t *err)
{
    return wr_agent_client_request (agent, msg, WR_API_AGENT_DEADLINE_MS, reply, err);
}

int
wr_api_agent_collect (wr_agent_client_t *agent, const wr_agent_message_t *msg, const char *key,
                      json_object **items, bool *truncated, wr_error_t *err)
{
    cleanup_agent_call wr_agent_call_t *call = wr_agent_call_open (agent, msg, false, NULL, err);
    if (call == NULL)
        return -1;
    json_object *all = json_object_new_array ();
    *truncated = false;
    for (;;) {
        wr_agent_item_t item = { 0 };
        int r = wr_agent_call_next (call, WR_API_AGENT_ITEM_MS, &item, err);
        if (r == 0)
            break;
        if (r < 0) {
            json_object_put (all);
            return -1;
        }
        if (item.message == NULL) {
            wr_agent_item_clear (&item);
            continue;
        }
        if (item.message->type == WR_AGENT_MSG_ERROR) {
            wr_agent_error_from (item.message, WR_AGENT_SIDE_AGENT, err);
            wr_agent_item_clear (&item);
            json_object_put (all);
            return -1;
        }
        json_object *array = wr_agent_message_get (item.message, key);
        size_t n = array != NULL ? json_object_array_length (array) : 0;
        for (size_t i = 0; i < n; i++)
            json_object_array_add (all, json_object_get (json_object_array_get_idx (array, i)));
        if (wr_agent_message_bool (item.message, "truncated", false))
            *truncated = true;
        bool end = item.end;
        wr_agent_item_clear (&item);
        if (end)
            break;
    }
    *items = all;
    return 0;
}

static void
copy (json_object *to, const char *to_key, json_object *from, const char *from_key)
{
    json_object *value;
    if (json_object_object_get_ex (from, from_key, &value) && value != NULL)
        json_object_object_add (to, to_key, json_object_get (value));
}

static void
copy_or_null (json_object *to, json_object *from, const char *key)
{
    json_object *value;
    if (json_object_object_get_ex (from, key, &value) && value != NULL)
        json_object_object_add (to, key, json_object_get (value));
    else
        json_object_object_add (to, key, NULL);
}

json_object *
wr_api_process_json (json_object *process)
{
    json_object *out = json_object_new_object ();
    copy (out, "pid", process, "process_id");
    copy (out, "os_pid", process, "pid");
    copy (out, "argv", process, "argv");
    copy (out, "tty", process, "tty");
    copy (out, "state", process, "state");
    copy (out, "exit_code", process, "exit_code");
    copy (out, "signal", process, "signal");
    copy (out, "core_dumped", process, "core_dumped");
    copy_or_null (out, process, "started_ms");
    copy_or_null (out, process, "ended_ms");
    return out;
}

json_object *
wr_api_file_info_json (json_object *info)
{
    json_object *out = json_object_new_object ();
    static const char *const keys[] = { "path", "file_type", "size", "mode" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        copy (out, keys[i], info, keys[i]);
    json_object *mode;
    if (json_object_object_get_ex (info, "mode", &mode)) {
        char octal[16];
        snprintf (octal, sizeof octal, "%04llo",
                  (unsigned long long) json_object_get_int64 (mode) & 07777);
        json_object_object_add (out, "mode_octal", json_object_new_string (octal));
    }
    copy (out, "uid", info, "uid");
    copy (out, "gid", info, "gid");
    copy_or_null (out, info, "mtime_ms");
    copy (out, "target", info, "target");
    return out;
}

/* The agent's early answer to a body it stopped taking, as *ERR. */
static int
early_answer (wr_agent_call_t *call, wr_error_t *err)
{
    wr_agent_item_t item = { 0 };
    cleanup_error wr_error_t next_err = NULL;
    if (wr_agent_call_next (call, 1000, &item, &next_err) == 1 && item.message != NULL &&
        item.message->type == WR_AGENT_MSG_ERROR) {
        wr_error_free (err);
        wr_agent_error_from (item.message, WR_AGENT_SIDE_AGENT, err);
    }
    wr_agent_item_clear (&item);
    return -1;
}

#define PIPE_PIECE ((size_t) 1 << 20)
#define PIPE_SEND_MS 60000

int
wr_api_pipe_body (const wr_api_request_t *req, wr_agent_call_t *call, wr_error_t *err)
{
    cleanup_free char *buf = xmalloc (PIPE_PIECE);
    size_t offset = 0;
    for (;;) {
        ssize_t n = wr_api_request_body_read (req, buf, PIPE_PIECE, &offset, err);
        if (n < 0) {
            cleanup_error wr_error_t cancel_err = NULL;
            wr_agent_call_cancel (call, 1000, &cancel_err);
            return -1;
        }
        if (wr_agent_call_send (call, buf, (size_t) n, n == 0, PIPE_SEND_MS, err) < 0)
            return early_answer (call, err);
        if (n == 0)
            return 0;
    }
}
