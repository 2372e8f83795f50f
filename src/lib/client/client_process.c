#include "client_process.h"

#include <string.h>

#include "cleanup.h"
#include "client_private.h"
#include "client_reply.h"
#include "json_reader.h"
#include "xalloc.h"

int
wr_client_process_read (json_object *process, wr_client_process_t *out, wr_error_t *err)
{
    *out = (wr_client_process_t){ .exit_code = -1 };
    const char *what = "warrend's Process";
    if (wr_json_expect (process, json_type_object, what, "", err) < 0)
        return -1;
    if (wr_client_get_string (process, "pid", true, what, &out->pid, err) < 0 ||
        wr_client_get_string (process, "state", true, what, &out->state, err) < 0 ||
        wr_client_get_int (process, "os_pid", false, what, &out->os_pid, err) < 0 ||
        wr_client_get_int (process, "started_ms", false, what, &out->started_ms, err) < 0 ||
        wr_client_get_int (process, "ended_ms", false, what, &out->ended_ms, err) < 0 ||
        wr_client_get_bool (process, "core_dumped", false, what, &out->core_dumped, err) < 0)
        return -1;
    bool exited = strcmp (out->state, "exited") == 0;
    bool signaled = strcmp (out->state, "signaled") == 0;
    if (wr_client_get_int (process, "exit_code", exited, what, &out->exit_code, err) < 0 ||
        wr_client_get_int (process, "signal", signaled, what, &out->signal, err) < 0)
        return -1;
    if ((exited && (out->exit_code < 0 || out->exit_code > 255)) ||
        (signaled && (out->signal < 1 || out->signal > 127)))
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0,
                                  "%s %s: an exit code or signal out of range", what, out->pid);
    return 0;
}

static int
checked_process (json_object *o, json_object **process, wr_error_t *err)
{
    wr_client_process_t view;
    if (wr_client_process_read (o, &view, err) < 0) {
        json_object_put (o);
        return -1;
    }
    if (process != NULL)
        *process = o;
    else
        json_object_put (o);
    return 0;
}

static json_object *
strv_json (const char *const *v)
{
    json_object *a = json_object_new_array ();
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        json_object_array_add (a, json_object_new_string (v[i]));
    return a;
}

int
wr_client_process_exec (wr_client_t *client, const char *sandbox, const wr_client_exec_t *exec,
                        json_object **process, wr_error_t *err)
{
    if (exec->argv == NULL || exec->argv[0] == NULL)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "exec in sandbox %s: no command",
                                  sandbox);
    cleanup_json_reader json_object *body = json_object_new_object ();
    json_object_object_add (body, "argv", strv_json (exec->argv));
    if (exec->env != NULL && exec->env[0] != NULL) {
        json_object *env = json_object_new_object ();
        json_object_object_add (body, "env", env);
        for (size_t i = 0; exec->env[i] != NULL; i++) {
            const char *eq = strchr (exec->env[i], '=');
            if (eq == NULL || eq == exec->env[i])
                return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                          "exec in sandbox %s: env `%s`: expected KEY=VALUE",
                                          sandbox, exec->env[i]);
            cleanup_free char *key = xstrndup (exec->env[i], (size_t) (eq - exec->env[i]));
            json_object_object_add (env, key, json_object_new_string (eq + 1));
        }
    }
    if (exec->cwd != NULL)
        json_object_object_add (body, "cwd", json_object_new_string (exec->cwd));
    if (exec->user != NULL)
        json_object_object_add (body, "user", json_object_new_string (exec->user));
    if (exec->stdin_open)
        json_object_object_add (body, "stdin", json_object_new_boolean (true));
    if (exec->tty) {
        json_object *tty = json_object_new_object ();
        json_object_object_add (tty, "rows",
                                json_object_new_int (exec->tty_rows > 0 ? exec->tty_rows : 24));
        json_object_object_add (tty, "cols",
                                json_object_new_int (exec->tty_cols > 0 ? exec->tty_cols : 80));
        json_object_object_add (body, "tty", tty);
    }
    cleanup_free char *path = client_path ("/v1/sandboxes/", sandbox, "/processes", NULL);
    json_object *o = NULL;
    if (client_json_call (client, "POST", path, NULL, body, &o, err) < 0)
        return -1;
    return checked_process (o, process, err);
}

int
wr_client_process_get (wr_client_t *client, const char *sandbox, const char *pid,
                       json_object **process, wr_error_t *err)
{
    cleanup_free char *path = client_path ("/v1/sandboxes/", sandbox, "/processes/", pid, NULL);
    json_object *o = NULL;
    if (client_json_call (client, "GET", path, NULL, NULL, &o, err) < 0)
        return -1;
    return checked_process (o, process, err);
}

int
wr_client_process_list (wr_client_t *client, const char *sandbox, json_object **processes,
                        wr_error_t *err)
{
    cleanup_free char *path = client_path ("/v1/sandboxes/", sandbox, "/processes", NULL);
    cleanup_json_reader json_object *o = NULL;
    if (client_json_call (client, "GET", path, NULL, NULL, &o, err) < 0)
        return -1;
    json_object *list = NULL;
    if (wr_client_get_array (o, "processes", true, "warrend's processes", &list, err) < 0)
        return -1;
    for (size_t i = 0; i < json_object_array_length (list); i++) {
        wr_client_process_t view;
        if (wr_client_process_read (json_object_array_get_idx (list, i), &view, err) < 0)
            return wr_error_prefix (err, "processes[%zu]", i);
    }
    *processes = json_object_get (list);
    return 0;
}

/* POST .../processes/{pid}/TAIL with BODY, answering an object. */
static int
process_post (wr_client_t *client, const char *sandbox, const char *pid, const char *tail,
              json_object *body, bool long_running, json_object **out, wr_error_t *err)
{
    cleanup_free char *path =
        client_path ("/v1/sandboxes/", sandbox, "/processes/", pid, tail, NULL);
    client_call_t call = {
        .method = "POST",
        .path = path,
        .json = body,
        .body_fd = -1,
        .long_running = long_running,
    };
    client_answer_t answer;
    if (client_call (client, &call, &answer, err) < 0)
        return -1;
    if (out != NULL)
        *out = steal_pointer (&answer.json);
    client_answer_clear (&answer);
    return 0;
}

int
wr_client_process_wait (wr_client_t *client, const char *sandbox, const char *pid,
                        int64_t timeout_ms, json_object **process, wr_error_t *err)
{
    cleanup_json_reader json_object *body = json_object_new_object ();
    if (timeout_ms >= 0)
        json_object_object_add (body, "timeout_ms", json_object_new_int64 (timeout_ms));
    json_object *o = NULL;
    if (process_post (client, sandbox, pid, "/wait", body, true, &o, err) < 0)
        return -1;
    return checked_process (o, process, err);
}

int
wr_client_process_signal (wr_client_t *client, const char *sandbox, const char *pid, int signal,
                          bool group, wr_error_t *err)
{
    cleanup_json_reader json_object *body = json_object_new_object ();
    json_object_object_add (body, "signal", json_object_new_int (signal));
    json_object_object_add (body, "group", json_object_new_boolean (group));
    return process_post (client, sandbox, pid, "/signal", body, false, NULL, err);
}

int
wr_client_process_kill (wr_client_t *client, const char *sandbox, const char *pid, wr_error_t *err)
{
    return process_post (client, sandbox, pid, "/kill", NULL, false, NULL, err);
}

int
wr_client_process_remove (wr_client_t *client, const char *sandbox, const char *pid,
                          wr_error_t *err)
{
    cleanup_free char *path = client_path ("/v1/sandboxes/", sandbox, "/processes/", pid, NULL);
    return client_json_call (client, "DELETE", path, NULL, NULL, NULL, err);
}

/* ---- output ---- */

typedef struct {
    wr_client_output_fn on_data;
    void *data;
    wr_client_stream_t single; /* 0 with BOTH */
    int64_t next[3]; /* by stream */
    int64_t header_offset;
    bool started;
    wr_client_lines_t lines;
    wr_client_output_end_t *end;
    bool ended;
} output_t;

static int
raw_sink (void *data, const char *bytes, size_t len, wr_error_t *err)
{
    output_t *o = data;
    if (!o->started) {
        o->started = true;
        if (o->header_offset >= 0)
            o->next[o->single] = o->header_offset;
    }
    int64_t at = o->next[o->single];
    o->next[o->single] += (int64_t) len;
    return o->on_data (o->data, o->single, at, bytes, len, err);
}

static int
output_line (void *data, json_object *line, wr_error_t *err)
{
    output_t *o = data;
    const char *what = "warrend's output event";
    if (wr_client_reply_stream_error (line, err))
        return -1;
    if (o->ended)
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0, "%s after the end event", what);
    const char *event = NULL;
    if (wr_client_get_string (line, "event", true, what, &event, err) < 0)
        return -1;
    if (strcmp (event, "output") == 0) {
        const char *stream = NULL, *text = NULL;
        int64_t offset = 0;
        if (wr_client_get_string (line, "stream", true, what, &stream, err) < 0 ||
            wr_client_get_int (line, "offset", true, what, &offset, err) < 0 ||
            wr_client_get_string (line, "data", true, what, &text, err) < 0)
            return -1;
        wr_client_stream_t s = strcmp (stream, "stdout") == 0   ? WR_CLIENT_STDOUT
                               : strcmp (stream, "stderr") == 0 ? WR_CLIENT_STDERR
                                                                : 0;
        if (s == 0)
            return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0, "%s: stream: not stdout or stderr",
                                      what);
        if (offset < o->next[s])
            return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0,
                                      "%s: %s at offset %lld, before %lld already read", what,
                                      stream, (long long) offset, (long long) o->next[s]);
        cleanup_free char *bytes = NULL;
        size_t len = 0;
        if (wr_client_base64_decode (text, strlen (text), &bytes, &len, err) < 0)
            return wr_error_prefix (err, "%s: data", what);
        o->next[s] = offset + (int64_t) len;
        return len > 0 ? o->on_data (o->data, s, offset, bytes, len, err) : 0;
    }
    if (strcmp (event, "end") == 0) {
        o->ended = true;
        int64_t so = o->next[1], eo = o->next[2];
        const char *state = NULL;
        int64_t code = -1, sig = 0;
        if (wr_client_get_int (line, "stdout_offset", false, what, &so, err) < 0 ||
            wr_client_get_int (line, "stderr_offset", false, what, &eo, err) < 0 ||
            wr_client_get_string (line, "state", false, what, &state, err) < 0 ||
            wr_client_get_int (line, "exit_code", false, what, &code, err) < 0 ||
            wr_client_get_int (line, "signal", false, what, &sig, err) < 0)
            return -1;
        o->next[1] = so;
        o->next[2] = eo;
        if (o->end != NULL) {
            free (o->end->state);
            o->end->state = state != NULL ? xstrdup (state) : NULL;
            o->end->exit_code = code;
            o->end->signal = sig;
        }
    }
    return 0; /* other events: for later versions */
}

static int
lines_sink (void *data, const char *bytes, size_t len, wr_error_t *err)
{
    output_t *o = data;
    return wr_client_lines_feed (&o->lines, bytes, len, err);
}

int
wr_client_process_output (wr_client_t *client, const char *sandbox, const char *pid,
                          const wr_client_output_options_t *options, wr_client_output_fn on_data,
                          void *data, wr_client_output_end_t *end, wr_error_t *err)
{
    wr_client_output_options_t defaults = { 0 };
    if (options == NULL)
        options = &defaults;
    wr_client_stream_t streams = options->streams != 0 ? options->streams : WR_CLIENT_BOTH;
    if (end != NULL)
        *end = (wr_client_output_end_t){ .exit_code = -1 };
    output_t o = { .on_data = on_data, .data = data, .end = end, .header_offset = -1 };
    o.single = streams == WR_CLIENT_BOTH ? 0 : streams;
    o.next[1] = options->stdout_offset;
    o.next[2] = options->stderr_offset;
    cleanup_free char *query = NULL;
    client_query_add (&query, "stream",
                      streams == WR_CLIENT_BOTH     ? "both"
                      : streams == WR_CLIENT_STDOUT ? "stdout"
                                                    : "stderr");
    if (options->stdout_offset > 0)
        client_query_addf (&query, "stdout_offset", "%lld", (long long) options->stdout_offset);
    if (options->stderr_offset > 0)
        client_query_addf (&query, "stderr_offset", "%lld", (long long) options->stderr_offset);
    if (options->follow)
        client_query_add (&query, "follow", "true");
    cleanup_free char *path =
        client_path ("/v1/sandboxes/", sandbox, "/processes/", pid, "/output", NULL);
    cleanup_free char *what = xasprintf ("the output of process %s in sandbox %s", pid, sandbox);
    wr_client_lines_init (&o.lines, what, output_line, &o);
    client_call_t call = {
        .method = "GET",
        .path = path,
        .query = query,
        .body_fd = -1,
        .accept = o.single != 0 ? "application/octet-stream" : "application/x-ndjson",
        .long_running = true,
        .sink = o.single != 0 ? raw_sink : lines_sink,
        .sink_data = &o,
        .offset_out = &o.header_offset,
    };
    client_answer_t answer;
    int ret = client_call (client, &call, &answer, err);
    if (ret == 0 && o.single == 0)
        ret = wr_client_lines_end (&o.lines, err);
    if (ret == 0 && o.single != 0 && !o.started && answer.has_offset)
        o.next[o.single] = answer.offset;
    client_answer_clear (&answer);
    wr_client_lines_clear (&o.lines);
    if (end != NULL) {
        end->stdout_offset = o.next[1];
        end->stderr_offset = o.next[2];
        if (ret < 0) {
            free (end->state);
            end->state = NULL;
        }
    }
    return ret;
}

int
wr_client_process_stdin (wr_client_t *client, const char *sandbox, const char *pid,
                         const void *bytes, size_t len, bool close, wr_error_t *err)
{
    cleanup_free char *path =
        client_path ("/v1/sandboxes/", sandbox, "/processes/", pid, "/stdin", NULL);
    client_call_t call = {
        .method = "POST",
        .path = path,
        .query = close ? "close=true" : NULL,
        .raw = len > 0 ? bytes : "",
        .raw_len = len,
        .body_fd = -1,
        .long_running = true,
    };
    client_answer_t answer;
    int ret = client_call (client, &call, &answer, err);
    client_answer_clear (&answer);
    return ret;
}
