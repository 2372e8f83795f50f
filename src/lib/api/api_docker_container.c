#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_agent.h"
#include "api_docker.h"
#include "api_docker_job.h"
#include "cleanup.h"
#include "docker_mux.h"
#include "json_reader.h"
#include "strv.h"
#include "xalloc.h"

static const char *const NAME = "request body";

/* ---- output of a container or an exec ---- */

static int
on_frame (void *data, wr_docker_stream_t stream, const char *buf, size_t len, wr_error_t *err)
{
    wr_api_docker_job_t *job = data;
    if (wr_api_docker_output (job, stream == WR_DOCKER_STDOUT || stream == WR_DOCKER_STDIN ? 1 : 2,
                              buf, len) < 0)
        return wr_error_set_kind (err, WR_ERROR_CANCELLED, 0, "the client went away");
    return 0;
}

typedef struct {
    wr_api_docker_job_t *job;
    wr_docker_mux_t mux;
    bool raw; /* a TTY's output: not multiplexed */
} output_t;

static int
on_output (void *data, const char *buf, size_t len, wr_error_t *err)
{
    output_t *o = data;
    if (o->raw)
        return on_frame (o->job, WR_DOCKER_STDOUT, buf, len, err);
    return wr_docker_mux_feed (&o->mux, buf, len, err);
}

int
wr_api_docker_output_call (wr_api_docker_job_t *job, wr_docker_request_t *r, bool raw,
                           wr_error_t *err)
{
    output_t o = { .job = job, .raw = raw };
    wr_docker_mux_init (&o.mux, on_frame, job);
    r->on_data = on_output;
    r->data = &o;
    if (wr_docker_call (job->docker, r, NULL, NULL, err) < 0)
        return -1;
    return raw ? 0 : wr_docker_mux_end (&o.mux, err);
}

/* Container's inspection: whether it has a TTY (its logs are then raw). */
static int
container_tty (wr_api_docker_job_t *job, const char *container, bool *tty, wr_error_t *err)
{
    cleanup_free char *c = wr_docker_escape (container);
    cleanup_free char *path = xasprintf ("/containers/%s/json", c);
    cleanup_json_reader json_object *info = NULL;
    if (wr_docker_json (job->docker, "GET", path, NULL, &info, err) < 0)
        return -1;
    json_object *config = info != NULL ? json_object_object_get (info, "Config") : NULL;
    *tty = config != NULL && wr_api_docker_bool (config, "Tty", false);
    return 0;
}

int
wr_api_docker_follow_logs (wr_api_docker_job_t *job, const char *container, bool follow,
                           const char *tail, wr_error_t *err)
{
    bool tty = false;
    if (container_tty (job, container, &tty, err) < 0)
        return -1;
    cleanup_free char *c = wr_docker_escape (container);
    cleanup_free char *t = tail != NULL ? wr_docker_escape (tail) : xstrdup ("all");
    cleanup_free char *path =
        xasprintf ("/containers/%s/logs?stdout=1&stderr=1&follow=%d&tail=%s", c, follow ? 1 : 0, t);
    wr_docker_request_t r = { .method = "GET", .path = path };
    return wr_api_docker_output_call (job, &r, tty, err);
}

/* ---- logs ---- */

static int
do_logs (wr_api_docker_job_t *job, wr_error_t *err)
{
    json_object *tail = json_object_object_get (job->body, "tail");
    cleanup_free char *t =
        tail != NULL ? xasprintf ("%lld", (long long) json_object_get_int64 (tail)) : NULL;
    return wr_api_docker_follow_logs (job, wr_api_docker_string (job->body, "container"),
                                      wr_api_docker_bool (job->body, "follow", false), t, err);
}

static int
check_container (json_object *body, wr_error_t *err)
{
    const char *c = wr_api_docker_string (body, "container");
    if (c == NULL || c[0] == '\0' || strlen (c) > 256)
        return wr_json_error (err, NAME, "container", "must be 1 to 256 bytes");
    return 0;
}

int
wr_api_docker_logs (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "container", json_type_string, true },
        { "follow", json_type_boolean, false },
        { "tail", json_type_int, false },
        { NULL, 0, false },
    };
    json_object *body = wr_api_request_json (req, fields, err);
    if (body == NULL)
        return -1;
    json_object *tail = json_object_object_get (body, "tail");
    if (check_container (body, err) < 0 ||
        (tail != NULL && json_object_get_int64 (tail) < 0 &&
         wr_json_error (err, NAME, "tail", "must be 0 or more") < 0)) {
        json_object_put (body);
        return -1;
    }
    return wr_api_docker_start (data, req, resp, body, do_logs, 1, err);
}

/* ---- exec ---- */

static int
do_exec (wr_api_docker_job_t *job, wr_error_t *err)
{
    const char *container = wr_api_docker_string (job->body, "container");
    json_object *create = json_object_new_object ();
    json_object_object_add (create, "AttachStdout", json_object_new_boolean (true));
    json_object_object_add (create, "AttachStderr", json_object_new_boolean (true));
    json_object_object_add (create, "Cmd",
                            json_object_get (json_object_object_get (job->body, "command")));
    json_object *env = NULL;
    if (wr_api_docker_env (job->body, "env", &env, err) < 0) {
        json_object_put (create);
        return -1;
    }
    if (env != NULL)
        json_object_object_add (create, "Env", env);
    const char *workdir = wr_api_docker_string (job->body, "workdir");
    if (workdir != NULL)
        json_object_object_add (create, "WorkingDir", json_object_new_string (workdir));
    const char *user = wr_api_docker_string (job->body, "user");
    if (user != NULL)
        json_object_object_add (create, "User", json_object_new_string (user));
    cleanup_free char *c = wr_docker_escape (container);
    cleanup_free char *path = xasprintf ("/containers/%s/exec", c);
    cleanup_json_reader json_object *created = NULL;
    int r = wr_docker_json (job->docker, "POST", path, create, &created, err);
    json_object_put (create);
    if (r < 0)
        return -1;
    const char *id = created != NULL ? wr_api_docker_string (created, "Id") : NULL;
    if (id == NULL)
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0,
                                  "dockerd created an exec without an Id");
    cleanup_free char *eid = wr_docker_escape (id);
    cleanup_free char *start = xasprintf ("/exec/%s/start", eid);
    json_object *how = json_object_new_object ();
    json_object_object_add (how, "Detach", json_object_new_boolean (false));
    json_object_object_add (how, "Tty", json_object_new_boolean (false));
    wr_docker_request_t req = { .method = "POST", .path = start, .json = how, .hijack = true };
    r = wr_api_docker_output_call (job, &req, false, err);
    json_object_put (how);
    if (r < 0)
        return -1;
    cleanup_free char *inspect = xasprintf ("/exec/%s/json", eid);
    cleanup_json_reader json_object *info = NULL;
    if (wr_docker_json (job->docker, "GET", inspect, NULL, &info, err) < 0)
        return -1;
    json_object *code = info != NULL ? json_object_object_get (info, "ExitCode") : NULL;
    if (code == NULL || !json_object_is_type (code, json_type_int))
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0,
                                  "dockerd's exec ended without an exit code");
    int64_t n = json_object_get_int64 (code);
    return n >= 0 && n <= 255 ? (int) n : 1;
}

int
wr_api_docker_exec (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "container", json_type_string, true }, { "command", json_type_array, true },
        { "env", json_type_object, false },      { "workdir", json_type_string, false },
        { "user", json_type_string, false },     { NULL, 0, false },
    };
    json_object *body = wr_api_request_json (req, fields, err);
    if (body == NULL)
        return -1;
    cleanup_strv char **command = NULL;
    json_object *env = NULL;
    if (check_container (body, err) < 0 ||
        wr_api_docker_strings (body, "command", &command, err) < 0 ||
        wr_api_docker_env (body, "env", &env, err) < 0) {
        json_object_put (body);
        return -1;
    }
    if (env != NULL)
        json_object_put (env);
    if (command == NULL || command[0] == NULL) {
        json_object_put (body);
        return wr_json_error (err, NAME, "command", "must have at least one string");
    }
    return wr_api_docker_start (data, req, resp, body, do_exec, 1, err);
}

/* ---- stop, rm ---- */

static int
do_stop (wr_api_docker_job_t *job, wr_error_t *err)
{
    const char *container = wr_api_docker_string (job->body, "container");
    cleanup_free char *c = wr_docker_escape (container);
    json_object *timeout = json_object_object_get (job->body, "timeout");
    cleanup_free char *path = timeout != NULL
                                  ? xasprintf ("/containers/%s/stop?t=%lld", c,
                                               (long long) json_object_get_int64 (timeout))
                                  : xasprintf ("/containers/%s/stop", c);
    long status = 0;
    wr_docker_request_t r = { .method = "POST", .path = path, .timeout_ms = 10 * 60 * 1000 };
    cleanup_error wr_error_t call_err = NULL;
    if (wr_docker_call (job->docker, &r, &status, NULL, &call_err) < 0 && status != 304)
        return wr_error_propagate (err, &call_err);
    return wr_api_docker_printf (job, 1, "%s\n", container) < 0 ? -1 : 0;
}

int
wr_api_docker_stop (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "container", json_type_string, true },
        { "timeout", json_type_int, false },
        { NULL, 0, false },
    };
    json_object *body = wr_api_request_json (req, fields, err);
    if (body == NULL)
        return -1;
    json_object *t = json_object_object_get (body, "timeout");
    if (check_container (body, err) < 0 ||
        (t != NULL && (json_object_get_int64 (t) < 0 || json_object_get_int64 (t) > 3600) &&
         wr_json_error (err, NAME, "timeout", "must be 0 to 3600 seconds") < 0)) {
        json_object_put (body);
        return -1;
    }
    return wr_api_docker_start (data, req, resp, body, do_stop, 1, err);
}

static int
do_rm (wr_api_docker_job_t *job, wr_error_t *err)
{
    const char *container = wr_api_docker_string (job->body, "container");
    cleanup_free char *c = wr_docker_escape (container);
    cleanup_free char *path =
        xasprintf ("/containers/%s?force=%s&v=%s", c,
                   wr_api_docker_bool (job->body, "force", false) ? "true" : "false",
                   wr_api_docker_bool (job->body, "volumes", false) ? "true" : "false");
    if (wr_docker_json (job->docker, "DELETE", path, NULL, NULL, err) < 0)
        return -1;
    return wr_api_docker_printf (job, 1, "%s\n", container) < 0 ? -1 : 0;
}

int
wr_api_docker_rm (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "container", json_type_string, true },
        { "force", json_type_boolean, false },
        { "volumes", json_type_boolean, false },
        { NULL, 0, false },
    };
    json_object *body = wr_api_request_json (req, fields, err);
    if (body == NULL)
        return -1;
    if (check_container (body, err) < 0) {
        json_object_put (body);
        return -1;
    }
    return wr_api_docker_start (data, req, resp, body, do_rm, 1, err);
}

/* ---- ps ---- */

static const char *
string_of (json_object *o, const char *key)
{
    const char *s = wr_api_docker_string (o, key);
    return s != NULL ? s : "";
}

static int
do_ps (wr_api_docker_job_t *job, wr_error_t *err)
{
    bool all = wr_api_docker_bool (job->body, "all", false);
    cleanup_json_reader json_object *answer = NULL;
    if (wr_docker_json (job->docker, "GET", all ? "/containers/json?all=1" : "/containers/json",
                        NULL, &answer, err) < 0)
        return -1;
    if (answer == NULL || !json_object_is_type (answer, json_type_array))
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0,
                                  "dockerd answered the list of containers with no array");
    if (wr_api_docker_printf (job, 1, "%-12s   %-24s %-24s %-24s %s\n", "CONTAINER ID", "IMAGE",
                              "COMMAND", "STATUS", "NAMES") < 0)
        return -1;
    json_object *list = json_object_new_array ();
    size_t n = json_object_array_length (answer);
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx (answer, i);
        if (!json_object_is_type (item, json_type_object))
            continue;
        json_object *c = json_object_new_object ();
        json_object_object_add (c, "id", json_object_new_string (string_of (item, "Id")));
        json_object *names = json_object_new_array ();
        json_object *given = json_object_object_get (item, "Names");
        size_t nn = given != NULL && json_object_is_type (given, json_type_array)
                        ? json_object_array_length (given)
                        : 0;
        const char *first = "";
        for (size_t k = 0; k < nn; k++) {
            json_object *name = json_object_array_get_idx (given, k);
            if (!json_object_is_type (name, json_type_string))
                continue;
            const char *s = json_object_get_string (name);
            if (s[0] == '/')
                s++;
            if (k == 0)
                first = s;
            json_object_array_add (names, json_object_new_string (s));
        }
        json_object_object_add (c, "names", names);
        json_object_object_add (c, "image", json_object_new_string (string_of (item, "Image")));
        json_object_object_add (c, "command", json_object_new_string (string_of (item, "Command")));
        json_object_object_add (c, "state", json_object_new_string (string_of (item, "State")));
        json_object_object_add (c, "status", json_object_new_string (string_of (item, "Status")));
        json_object *created = json_object_object_get (item, "Created");
        json_object_object_add (
            c, "created",
            json_object_new_int64 (created != NULL ? json_object_get_int64 (created) : 0));
        cleanup_free char *command = xasprintf ("\"%.20s\"", string_of (item, "Command"));
        int r = wr_api_docker_printf (job, 1, "%-12.12s   %-24.24s %-24.24s %-24.24s %s\n",
                                      string_of (item, "Id"), string_of (item, "Image"), command,
                                      string_of (item, "Status"), first);
        json_object_array_add (list, c);
        if (r < 0) {
            json_object_put (list);
            return -1;
        }
    }
    json_object *event = json_object_new_object ();
    json_object_object_add (event, "event", json_object_new_string ("result"));
    json_object_object_add (event, "containers", list);
    return wr_api_docker_send (job, event);
}

int
wr_api_docker_ps (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    bool all;
    if (wr_api_query_bool (req, "all", false, &all, err) < 0)
        return -1;
    json_object *body = json_object_new_object ();
    json_object_object_add (body, "all", json_object_new_boolean (all));
    return wr_api_docker_start (data, req, resp, body, do_ps, 1, err);
}
