#include "api_docker_job.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_agent.h"
#include "cleanup.h"
#include "json_reader.h"
#include "quote.h"
#include "sandbox_manager.h"
#include "xalloc.h"

/* How long the work waits for a client that reads nothing. */
#define SEND_TIMEOUT_MS 60000
#define PING_TIMEOUT_MS 10000
static const char *const NAME = "request body";

static bool
stop_cb (void *data)
{
    return wr_api_docker_gone (data);
}

bool
wr_api_docker_gone (wr_api_docker_job_t *job)
{
    return wr_api_events_cancelled (job->events);
}

int
wr_api_docker_send (wr_api_docker_job_t *job, json_object *event)
{
    cleanup_error wr_error_t err = NULL;
    if (wr_api_events_send (job->events, event, SEND_TIMEOUT_MS, &err) < 0) {
        wr_api_events_cancel (job->events);
        return -1;
    }
    return 0;
}

int
wr_api_docker_output (wr_api_docker_job_t *job, int stream, const void *buf, size_t len)
{
    if (len == 0)
        return 0;
    int s = stream == 2 ? 2 : 1;
    json_object *event = json_object_new_object ();
    json_object_object_add (event, "event", json_object_new_string ("output"));
    json_object_object_add (event, "stream", json_object_new_string (s == 2 ? "stderr" : "stdout"));
    json_object_object_add (event, "offset", json_object_new_int64 ((int64_t) job->offsets[s]));
    cleanup_free char *b64 = xmalloc (4 * ((len + 2) / 3) + 1);
    int n = EVP_EncodeBlock ((unsigned char *) b64, buf, (int) len);
    json_object_object_add (event, "data", json_object_new_string_len (b64, n));
    job->offsets[s] += len;
    return wr_api_docker_send (job, event);
}

int
wr_api_docker_printf (wr_api_docker_job_t *job, int stream, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    cleanup_free char *text = xvasprintf (fmt, ap);
    va_end (ap);
    return wr_api_docker_output (job, stream, text, strlen (text));
}

static void
job_free (wr_api_docker_job_t *job)
{
    wr_docker_free (job->docker);
    if (job->agent != NULL)
        wr_api_agent_release (job->v1, job->agent);
    if (job->body != NULL)
        json_object_put (job->body);
    if (job->end != NULL)
        json_object_put (job->end);
    if (job->events != NULL) {
        wr_api_events_close (job->events);
        wr_api_events_unref (job->events);
    }
    free (job->sandbox_id);
    free (job);
}

static void *
job_thread (void *data)
{
    wr_api_docker_job_t *job = data;
    cleanup_error wr_error_t err = NULL;
    int code = job->fn (job, &err);
    json_object *end = json_object_new_object ();
    json_object_object_add (end, "event", json_object_new_string ("end"));
    if (code < 0) {
        code = job->failure_exit;
        const char *msg = err != NULL && err->message != NULL ? err->message : "failed";
        /* The docker CLI's words for what dockerd refused. */
        if (wr_error_kind (err) != WR_ERROR_CANCELLED)
            wr_api_docker_printf (job, 2, "%s%s\n",
                                  job->refused || wr_docker_answered_error (job->docker)
                                      ? "Error response from daemon: "
                                      : "",
                                  msg);
        json_object *e = json_object_new_object ();
        json_object_object_add (e, "kind",
                                json_object_new_string (wr_error_kind_name (wr_error_kind (err))));
        json_object_object_add (e, "message", json_object_new_string (msg));
        json_object_object_add (end, "exit_code", json_object_new_int (code));
        json_object_object_add (end, "error", e);
    } else {
        json_object_object_add (end, "exit_code", json_object_new_int (code));
    }
    if (job->end != NULL) {
        json_object_object_foreach (job->end, key, value)
        {
            json_object_object_add (end, key, json_object_get (value));
        }
    }
    wr_api_docker_send (job, end);
    job_free (job);
    return NULL;
}

static int
discard (void *data, const char *buf, size_t len, wr_error_t *err)
{
    return 0;
}

int
wr_api_docker_start (wr_api_v1_t *v1, wr_api_request_t *req, wr_api_response_t *resp,
                     json_object *body, wr_api_docker_fn fn, int failure_exit, wr_error_t *err)
{
    return wr_api_docker_start_checked (v1, req, resp, body, fn, failure_exit, NULL, err);
}

int
wr_api_docker_start_checked (wr_api_v1_t *v1, wr_api_request_t *req, wr_api_response_t *resp,
                             json_object *body, wr_api_docker_fn fn, int failure_exit,
                             wr_api_docker_fn check, wr_error_t *err)
{
    wr_api_docker_job_t *job = xzalloc (sizeof *job);
    job->v1 = v1;
    job->body = body;
    job->fn = fn;
    job->failure_exit = failure_exit;
    job->events = wr_api_events_new (0);
    wr_sandbox_manager_t *manager = wr_api_v1_manager (v1, err);
    if (manager == NULL) {
        job_free (job);
        return -1;
    }
    const char *id = wr_api_request_param (req, "id");
    cleanup_json_reader json_object *sandbox = wr_sandbox_manager_get (manager, id, err);
    if (sandbox == NULL) {
        job_free (job);
        return -1;
    }
    job->sandbox_id = xstrdup (json_object_get_string (json_object_object_get (sandbox, "id")));
    json_object *socket = json_object_object_get (sandbox, "docker_socket");
    const char *state = json_object_get_string (json_object_object_get (sandbox, "state"));
    if (socket == NULL ||
        !json_object_get_boolean (json_object_object_get (sandbox, "docker_enabled"))) {
        wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                           "sandbox `%s` has no Docker (it was created without docker_enabled)",
                           job->sandbox_id);
        job_free (job);
        return -1;
    }
    if (state == NULL || strcmp (state, "running") != 0) {
        wr_error_set_kind (err, WR_ERROR_INVALID, 0, "sandbox `%s` is %s, not running",
                           job->sandbox_id, state != NULL ? state : "in no state");
        job_free (job);
        return -1;
    }
    job->agent = wr_api_agent_get (v1, req, err);
    if (job->agent == NULL) {
        job_free (job);
        return -1;
    }
    job->docker = wr_docker_new (json_object_get_string (socket), stop_cb, job, err);
    if (job->docker == NULL) {
        job_free (job);
        return -1;
    }
    wr_docker_request_t ping = {
        .method = "GET", .path = "/_ping", .on_data = discard, .timeout_ms = PING_TIMEOUT_MS
    };
    if (wr_docker_call (job->docker, &ping, NULL, NULL, err) < 0) {
        wr_error_retag (err, WR_ERROR_UNAVAILABLE);
        wr_error_prefix (err, "sandbox `%s`: its dockerd does not answer", job->sandbox_id);
        job_free (job);
        return -1;
    }
    if (check != NULL && check (job, err) < 0) {
        job_free (job);
        return -1;
    }
    wr_api_events_t *events = wr_api_events_ref (job->events);
    pthread_t thread;
    if (pthread_create (&thread, NULL, job_thread, job) != 0) {
        job_free (job);
        wr_api_events_unref (events);
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0, "cannot start a thread for the call");
    }
    pthread_detach (thread);
    wr_api_response_events (resp, events);
    return 0;
}

const char *
wr_api_docker_string (json_object *body, const char *key)
{
    json_object *v = json_object_object_get (body, key);
    return v != NULL && json_object_is_type (v, json_type_string) ? json_object_get_string (v)
                                                                  : NULL;
}

bool
wr_api_docker_bool (json_object *body, const char *key, bool dflt)
{
    json_object *v = json_object_object_get (body, key);
    return v != NULL && json_object_is_type (v, json_type_boolean) ? json_object_get_boolean (v)
                                                                   : dflt;
}

int
wr_api_docker_strings (json_object *body, const char *key, char ***out, wr_error_t *err)
{
    *out = NULL;
    json_object *v = NULL;
    if (wr_json_member (body, key, false, NAME, "", &v, err) <= 0)
        return err != NULL && *err != NULL ? -1 : 0;
    return wr_json_string_array (v, NAME, key, out, err);
}

int
wr_api_docker_env (json_object *body, const char *key, json_object **out, wr_error_t *err)
{
    *out = NULL;
    json_object *v = json_object_object_get (body, key);
    if (v == NULL || json_object_is_type (v, json_type_null))
        return 0;
    json_object *list = json_object_new_array ();
    json_object_object_foreach (v, name, value)
    {
        cleanup_free char *quoted = wr_quote (name, 64);
        if (value == NULL || !json_object_is_type (value, json_type_string) || name[0] == '\0' ||
            strchr (name, '=') != NULL) {
            json_object_put (list);
            return wr_json_error (err, NAME, key,
                                  "`%s`: a variable needs a name without `=` and a string value",
                                  quoted);
        }
        cleanup_free char *pair = xasprintf ("%s=%s", name, json_object_get_string (value));
        json_object_array_add (list, json_object_new_string (pair));
    }
    *out = list;
    return 0;
}

json_object *
wr_api_docker_body (wr_api_request_t *req, const wr_api_field_t *fields, wr_error_t *err)
{
    if (req->body_len == 0) {
        json_object *empty = json_object_new_object ();
        if (wr_api_json_check_fields (empty, fields, NAME, "", err) < 0) {
            json_object_put (empty);
            return NULL;
        }
        return empty;
    }
    return wr_api_request_json (req, fields, err);
}

int
wr_api_docker_check_auth (json_object *body, wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "username", json_type_string, true },
        { "password", json_type_string, true },
        { "serveraddress", json_type_string, false },
        { NULL, 0, false },
    };
    json_object *auth = json_object_object_get (body, "auth");
    if (auth == NULL || json_object_is_type (auth, json_type_null))
        return 0;
    return wr_api_json_check_fields (auth, fields, NAME, "auth", err);
}

char *
wr_api_docker_registry_auth (json_object *body)
{
    json_object *auth = json_object_object_get (body, "auth");
    if (auth == NULL || !json_object_is_type (auth, json_type_object))
        return xstrdup ("e30=");
    const char *text = json_object_to_json_string_ext (auth, JSON_C_TO_STRING_PLAIN);
    size_t len = strlen (text);
    char *b64 = xmalloc (4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock ((unsigned char *) b64, (const unsigned char *) text, (int) len);
    /* The URL-safe alphabet, as dockerd decodes it. */
    for (char *p = b64; *p != '\0'; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return b64;
}
