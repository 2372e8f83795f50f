#include "api_processes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_agent.h"
#include "api_agent_stream.h"
#include "api_events.h"
#include "cleanup.h"
#include "json_reader.h"
#include "quote.h"
#include "sandbox_manager.h"
#include "strv.h"
#include "xalloc.h"

static const char *
process_id (wr_api_request_t *req)
{
    const char *pid = wr_api_request_param (req, "pid");
    return pid != NULL ? pid : "";
}

static void
answer_empty (wr_api_response_t *resp)
{
    wr_api_response_json (resp, 200, json_object_new_object ());
}

/* Sends MSG and answers 200 {} on ok. */
static int
answer_ok (wr_agent_client_t *agent, const wr_agent_message_t *msg, wr_api_response_t *resp,
           wr_error_t *err)
{
    cleanup_agent_message wr_agent_message_t *reply = NULL;
    if (wr_api_agent_request (agent, msg, &reply, err) < 0)
        return -1;
    answer_empty (resp);
    return 0;
}

/* The body of a route that takes an optional one: an empty body is {}. */
static json_object *
optional_body (wr_api_request_t *req, const wr_api_field_t *fields, wr_error_t *err)
{
    if (req->body_len == 0)
        return json_object_new_object ();
    return wr_api_request_json (req, fields, err);
}

static const char *const NAME = "request body";

static int
exec_of (json_object *body, wr_agent_exec_t *exec, wr_error_t *err)
{
    json_object *value;
    if (wr_json_member (body, "argv", true, NAME, "", &value, err) < 0 ||
        wr_json_string_array (value, NAME, "argv", &exec->argv, err) < 0)
        return -1;
    if (exec->argv[0] == NULL)
        return wr_json_error (err, NAME, "argv", "must have at least one string");
    if (wr_json_member (body, "env", false, NAME, "", &value, err) > 0) {
        size_t n = 0;
        exec->env = xzalloc (((size_t) json_object_object_length (value) + 1) * sizeof (char *));
        json_object_object_foreach (value, key, v)
        {
            /* The name is the client's text: quoted in messages. */
            cleanup_free char *quoted = wr_quote (key, 64);
            cleanup_free char *path = wr_json_path_key ("env", quoted);
            const char *s;
            if (v == NULL || wr_json_string (v, NAME, path, &s, err) < 0) {
                if (v == NULL)
                    wr_json_error (err, NAME, path, "must be a string, not null");
                return -1;
            }
            if (key[0] == '\0' || strchr (key, '=') != NULL)
                return wr_json_error (err, NAME, path,
                                      "a variable's name must not be empty or "
                                      "hold `=`");
            exec->env[n++] = xasprintf ("%s=%s", key, s);
        }
    }
    if (wr_json_member (body, "cwd", false, NAME, "", &value, err) > 0)
        exec->cwd = xstrdup (json_object_get_string (value));
    if (wr_json_member (body, "user", false, NAME, "", &value, err) > 0)
        exec->user = xstrdup (json_object_get_string (value));
    if (wr_json_member (body, "stdin", false, NAME, "", &value, err) > 0)
        exec->stdin = json_object_get_boolean (value);
    if (wr_json_member (body, "tty", false, NAME, "", &value, err) > 0) {
        static const wr_api_field_t tty_fields[] = {
            { "rows", json_type_int, true },
            { "cols", json_type_int, true },
            { NULL, 0, false },
        };
        if (wr_api_json_check_fields (value, tty_fields, NAME, "tty", err) < 0)
            return -1;
        int64_t rows = json_object_get_int64 (json_object_object_get (value, "rows"));
        int64_t cols = json_object_get_int64 (json_object_object_get (value, "cols"));
        if (rows < 1 || rows > 65535 || cols < 1 || cols > 65535)
            return wr_json_error (err, NAME, "tty", "rows and cols must be 1 to 65535");
        exec->tty = true;
        exec->rows = (unsigned) rows;
        exec->cols = (unsigned) cols;
    }
    return 0;
}

static double
now_seconds (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* `wait` and `timeout_ms` (only with it) into EXEC. */
static int
wait_of (json_object *body, wr_agent_exec_t *exec, wr_error_t *err)
{
    json_object *value;
    if (wr_json_member (body, "wait", false, NAME, "", &value, err) > 0)
        exec->wait = json_object_get_boolean (value);
    if (wr_json_member (body, "timeout_ms", false, NAME, "", &value, err) > 0) {
        int64_t ms = json_object_get_int64 (value);
        if (!exec->wait)
            return wr_json_error (err, NAME, "timeout_ms", "is for `wait: true` only");
        if (ms < 1 || ms > (int64_t) 24 * 3600 * 1000)
            return wr_json_error (err, NAME, "timeout_ms", "must be 1 to 86400000");
        exec->wait_timeout_ms = ms;
    }
    return 0;
}

static void
observe_exec (wr_api_v1_t *v1, double took)
{
    if (v1->exec_histogram != NULL)
        wr_histogram_observe (v1->exec_histogram, took);
    else if (v1->sandboxes != NULL)
        wr_sandbox_manager_observe_exec (v1->sandboxes, took);
}

/* The answer of an exec: 200 and the process that ended (with wait), or
 * 201 and the one still RUNNING. */
static void
answer_waited (wr_api_response_t *resp, json_object *process, bool running)
{
    wr_api_response_json (resp, running ? 201 : 200, wr_api_process_json (process));
}

/* Exec and wait in one agent stream (protocol version 3): started, then
 * the process once it ended, or the agent's unavailable error when
 * TIMEOUT_MS (0: none) passed, answered with the running process. */
static int
exec_and_wait (wr_api_v1_t *v1, wr_agent_client_t *agent, const wr_agent_message_t *msg,
               int64_t timeout_ms, double start, wr_api_response_t *resp, wr_error_t *err)
{
    cleanup_agent_call wr_agent_call_t *call = wr_agent_call_open (agent, msg, false, NULL, err);
    if (call == NULL)
        return -1;
    wr_agent_item_t first = { 0 };
    if (wr_api_agent_first (call, &first, err) < 0)
        return -1;
    observe_exec (v1, now_seconds () - start);
    cleanup_json_reader json_object *started = json_object_get (first.message->json);
    bool ended = first.end;
    wr_agent_item_clear (&first);
    if (ended) /* an agent that did not take the wait */
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0,
                                  "the agent ended an exec with wait at its start");
    int64_t deadline = timeout_ms > 0 ? timeout_ms + WR_API_AGENT_DEADLINE_MS : -1;
    wr_agent_item_t item = { 0 };
    int r = wr_agent_call_next (call, deadline, &item, err);
    if (r <= 0) {
        if (r == 0)
            wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                               "the agent ended the stream before the process ended");
        return -1;
    }
    if (item.message == NULL) {
        wr_agent_item_clear (&item);
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0,
                                  "the agent sent data where the process was due");
    }
    if (item.message->type == WR_AGENT_MSG_ERROR) {
        bool timed_out = timeout_ms > 0 && wr_agent_error_kind_from_name (wr_agent_message_string (
                                               item.message, "kind")) == (int) WR_ERROR_UNAVAILABLE;
        if (timed_out) {
            wr_agent_item_clear (&item);
            answer_waited (resp, started, true);
            return 0;
        }
        wr_agent_error_from (item.message, WR_AGENT_SIDE_AGENT, err);
        wr_agent_item_clear (&item);
        return -1;
    }
    answer_waited (resp, item.message->json, false);
    wr_agent_item_clear (&item);
    return 0;
}

/* Answers 201 and the process STARTED names: protocol version 2's started
 * is the whole process; version 1's (an agent older than this warrend)
 * only names it, so its status is asked for. */
static int
answer_started (wr_agent_client_t *agent, const wr_agent_message_t *started,
                wr_api_response_t *resp, wr_error_t *err)
{
    if (wr_agent_message_has (started, "state")) {
        answer_waited (resp, started->json, true);
        return 0;
    }
    cleanup_agent_message wr_agent_message_t *status =
        wr_agent_message_new (WR_AGENT_MSG_PROCESS_STATUS);
    wr_agent_message_set_string (status, "process_id",
                                 wr_agent_message_string (started, "process_id"));
    cleanup_agent_message wr_agent_message_t *process = NULL;
    if (wr_api_agent_request (agent, status, &process, err) < 0)
        return -1;
    answer_waited (resp, process->json, true);
    return 0;
}

/* Waits for the process STARTED names in a request of its own (an agent
 * older than version 3): the same answer as exec_and_wait. */
static int
wait_after (wr_agent_client_t *agent, const wr_agent_message_t *started, int64_t timeout_ms,
            wr_api_response_t *resp, wr_error_t *err)
{
    cleanup_agent_message wr_agent_message_t *wait =
        wr_agent_message_new (WR_AGENT_MSG_PROCESS_WAIT);
    wr_agent_message_set_string (wait, "process_id",
                                 wr_agent_message_string (started, "process_id"));
    if (timeout_ms > 0)
        wr_agent_message_set_int (wait, "timeout_ms", timeout_ms);
    int64_t deadline = timeout_ms > 0 ? timeout_ms + WR_API_AGENT_DEADLINE_MS : -1;
    cleanup_agent_message wr_agent_message_t *process = NULL;
    cleanup_error wr_error_t wait_err = NULL;
    if (wr_agent_client_request (agent, wait, deadline, &process, &wait_err) == 0) {
        answer_waited (resp, process->json, false);
        return 0;
    }
    if (timeout_ms > 0 && wr_error_kind (wait_err) == WR_ERROR_UNAVAILABLE)
        return answer_started (agent, started, resp, err);
    *err = steal_pointer (&wait_err);
    return -1;
}

int
wr_api_process_exec (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "argv", json_type_array, true },
        { "env", json_type_object, false },
        { "cwd", json_type_string, false },
        { "user", json_type_string, false },
        { "stdin", json_type_boolean, false },
        { "tty", json_type_object, false },
        { "wait", json_type_boolean, false },
        { "timeout_ms", json_type_int, false },
        { NULL, 0, false },
    };
    cleanup_json_reader json_object *body = wr_api_request_json (req, fields, err);
    if (body == NULL)
        return -1;
    wr_agent_exec_t exec = { 0 };
    if (exec_of (body, &exec, err) < 0 || wait_of (body, &exec, err) < 0) {
        wr_agent_exec_clear (&exec);
        return -1;
    }
    int64_t timeout_ms = exec.wait_timeout_ms;
    cleanup_agent_ref wr_api_agent_ref_t ref = { 0 };
    if (wr_api_agent_ref (data, req, &ref, err) < 0) {
        wr_agent_exec_clear (&exec);
        return -1;
    }
    /* Version 3 waits on the exec's own stream; older agents take no wait
     * in an exec and are asked with process.wait after started. */
    bool wait = exec.wait;
    exec.wait = wait && wr_agent_client_version (ref.agent) >= 3;
    bool one_stream = exec.wait;
    cleanup_agent_message wr_agent_message_t *msg = wr_agent_exec_new (&exec);
    wr_agent_exec_clear (&exec);
    wr_api_v1_t *v1 = data;
    double start = now_seconds ();
    if (one_stream)
        return exec_and_wait (v1, ref.agent, msg, timeout_ms, start, resp, err);
    cleanup_agent_message wr_agent_message_t *started = NULL;
    if (wr_api_agent_request (ref.agent, msg, &started, err) < 0)
        return -1;
    observe_exec (v1, now_seconds () - start);
    if (wait)
        return wait_after (ref.agent, started, timeout_ms, resp, err);
    return answer_started (ref.agent, started, resp, err);
}

int
wr_api_process_list (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    cleanup_agent_ref wr_api_agent_ref_t ref = { 0 };
    if (wr_api_agent_ref (data, req, &ref, err) < 0)
        return -1;
    cleanup_agent_message wr_agent_message_t *msg =
        wr_agent_message_new (WR_AGENT_MSG_PROCESS_LIST);
    cleanup_agent_message wr_agent_message_t *reply = NULL;
    if (wr_api_agent_request (ref.agent, msg, &reply, err) < 0)
        return -1;
    json_object *list = json_object_new_array ();
    json_object *processes = wr_agent_message_get (reply, "processes");
    size_t n = processes != NULL ? json_object_array_length (processes) : 0;
    for (size_t i = 0; i < n; i++)
        json_object_array_add (list,
                               wr_api_process_json (json_object_array_get_idx (processes, i)));
    json_object *out = json_object_new_object ();
    json_object_object_add (out, "processes", list);
    wr_api_response_json (resp, 200, out);
    return 0;
}

/* A request about {pid} answered by a process message. */
static int
answer_process (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_agent_message_t *msg,
                wr_error_t *err)
{
    cleanup_agent_ref wr_api_agent_ref_t ref = { 0 };
    if (wr_api_agent_ref (data, req, &ref, err) < 0)
        return -1;
    cleanup_agent_message wr_agent_message_t *reply = NULL;
    int64_t timeout = wr_agent_message_int (msg, "timeout_ms", -1);
    int64_t deadline = msg->type == WR_AGENT_MSG_PROCESS_WAIT
                           ? (timeout >= 0 ? timeout + WR_API_AGENT_DEADLINE_MS : -1)
                           : WR_API_AGENT_DEADLINE_MS;
    if (wr_agent_client_request (ref.agent, msg, deadline, &reply, err) < 0)
        return -1;
    wr_api_response_json (resp, 200, wr_api_process_json (reply->json));
    return 0;
}

int
wr_api_process_get (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    cleanup_agent_message wr_agent_message_t *msg =
        wr_agent_message_new (WR_AGENT_MSG_PROCESS_STATUS);
    wr_agent_message_set_string (msg, "process_id", process_id (req));
    return answer_process (req, resp, data, msg, err);
}

int
wr_api_process_wait (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "timeout_ms", json_type_int, false },
        { NULL, 0, false },
    };
    cleanup_json_reader json_object *body = optional_body (req, fields, err);
    if (body == NULL)
        return -1;
    cleanup_agent_message wr_agent_message_t *msg =
        wr_agent_message_new (WR_AGENT_MSG_PROCESS_WAIT);
    wr_agent_message_set_string (msg, "process_id", process_id (req));
    json_object *timeout = json_object_object_get (body, "timeout_ms");
    if (timeout != NULL) {
        int64_t ms = json_object_get_int64 (timeout);
        if (ms < 0 || ms > (int64_t) 24 * 3600 * 1000)
            return wr_json_error (err, NAME, "timeout_ms", "must be 0 to 86400000");
        wr_agent_message_set_int (msg, "timeout_ms", ms);
    }
    return answer_process (req, resp, data, msg, err);
}

int
wr_api_process_remove (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    cleanup_agent_ref wr_api_agent_ref_t ref = { 0 };
    if (wr_api_agent_ref (data, req, &ref, err) < 0)
        return -1;
    cleanup_agent_message wr_agent_message_t *msg =
        wr_agent_message_new (WR_AGENT_MSG_PROCESS_REMOVE);
    wr_agent_message_set_string (msg, "process_id", process_id (req));
    return answer_ok (ref.agent, msg, resp, err);
}

int
wr_api_process_signal (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "signal", json_type_int, true },
        { "group", json_type_boolean, false },
        { NULL, 0, false },
    };
    cleanup_json_reader json_object *body = wr_api_request_json (req, fields, err);
    if (body == NULL)
        return -1;
    int64_t signal = json_object_get_int64 (json_object_object_get (body, "signal"));
    if (signal < 1 || signal > 64)
        return wr_json_error (err, NAME, "signal", "%lld is not a signal (1 to 64)",
                              (long long) signal);
    cleanup_agent_ref wr_api_agent_ref_t ref = { 0 };
    if (wr_api_agent_ref (data, req, &ref, err) < 0)
        return -1;
    cleanup_agent_message wr_agent_message_t *msg =
        wr_api_message_from (WR_AGENT_MSG_PROCESS_SIGNAL, body);
    wr_agent_message_set_string (msg, "process_id", process_id (req));
    return answer_ok (ref.agent, msg, resp, err);
}

int
wr_api_process_kill (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    static const wr_api_field_t fields[] = { { NULL, 0, false } };
    cleanup_json_reader json_object *body = optional_body (req, fields, err);
    if (body == NULL)
        return -1;
    cleanup_agent_ref wr_api_agent_ref_t ref = { 0 };
    if (wr_api_agent_ref (data, req, &ref, err) < 0)
        return -1;
    cleanup_agent_message wr_agent_message_t *msg =
        wr_agent_message_new (WR_AGENT_MSG_PROCESS_KILL);
    wr_agent_message_set_string (msg, "process_id", process_id (req));
    return answer_ok (ref.agent, msg, resp, err);
}

int
wr_api_process_output (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    const char *stream = wr_api_request_query (req, "stream");
    if (stream == NULL)
        stream = "both";
    if (strcmp (stream, "stdout") != 0 && strcmp (stream, "stderr") != 0 &&
        strcmp (stream, "both") != 0) {
        cleanup_free char *quoted = wr_quote (stream, 64);
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "query stream: must be stdout, stderr or both, not `%s`", quoted);
    }
    bool follow, has_out, has_err;
    int64_t out_offset = 0, err_offset = 0;
    if (wr_api_query_bool (req, "follow", false, &follow, err) < 0 ||
        wr_api_query_int (req, "stdout_offset", 0, INT64_MAX, &has_out, &out_offset, err) < 0 ||
        wr_api_query_int (req, "stderr_offset", 0, INT64_MAX, &has_err, &err_offset, err) < 0)
        return -1;
    wr_api_agent_ref_t ref = { 0 };
    if (wr_api_agent_ref (data, req, &ref, err) < 0)
        return -1;
    /* The agent sends nothing on a follow of a quiet process until it
     * writes: whether the process exists is asked first, so that an
     * unknown one is a 404 and a known one gets its 200 at once. */
    cleanup_agent_message wr_agent_message_t *status =
        wr_agent_message_new (WR_AGENT_MSG_PROCESS_STATUS);
    wr_agent_message_set_string (status, "process_id", process_id (req));
    cleanup_agent_message wr_agent_message_t *process = NULL;
    if (wr_api_agent_request (ref.agent, status, &process, err) < 0) {
        wr_api_agent_ref_clear (&ref);
        return -1;
    }
    cleanup_agent_message wr_agent_message_t *msg = wr_agent_message_new (WR_AGENT_MSG_OUTPUT_READ);
    wr_agent_message_set_string (msg, "process_id", process_id (req));
    wr_agent_message_set_string (msg, "stream", stream);
    wr_agent_message_set_int (msg, "stdout_offset", out_offset);
    wr_agent_message_set_int (msg, "stderr_offset", err_offset);
    wr_agent_message_set_bool (msg, "follow", follow);
    wr_agent_call_t *call = wr_agent_call_open (ref.agent, msg, false, NULL, err);
    if (call == NULL) {
        wr_api_agent_ref_clear (&ref);
        return -1;
    }
    bool both = strcmp (stream, "both") == 0;
    wr_api_events_t *events = wr_api_events_new (0);
    if (wr_api_agent_stream_start (data, ref.agent, call, NULL, events, both, err) < 0) {
        wr_api_events_unref (events);
        return -1;
    }
    if (both) {
        wr_api_response_events (resp, events);
    } else {
        wr_api_response_bytes (resp, 200, "application/octet-stream", events);
        char offset[32];
        snprintf (offset, sizeof offset, "%lld",
                  (long long) (strcmp (stream, "stdout") == 0 ? out_offset : err_offset));
        wr_api_response_add_header (resp, "X-Warren-Offset", offset);
    }
    return 0;
}

int
wr_api_process_stdin (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    bool close;
    if (wr_api_query_bool (req, "close", false, &close, err) < 0)
        return -1;
    cleanup_agent_ref wr_api_agent_ref_t ref = { 0 };
    if (wr_api_agent_ref (data, req, &ref, err) < 0)
        return -1;
    cleanup_agent_message wr_agent_message_t *msg = wr_agent_message_new (WR_AGENT_MSG_STDIN);
    wr_agent_message_set_string (msg, "process_id", process_id (req));
    wr_agent_message_set_bool (msg, "close", close);
    cleanup_agent_call wr_agent_call_t *call = wr_agent_call_open (ref.agent, msg, true, NULL, err);
    if (call == NULL || wr_api_pipe_body (req, call, err) < 0)
        return -1;
    wr_agent_item_t item;
    if (wr_api_agent_first (call, &item, err) < 0)
        return -1;
    wr_agent_item_clear (&item);
    answer_empty (resp);
    return 0;
}
