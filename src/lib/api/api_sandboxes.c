#include "api_sandboxes.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api_events.h"
#include "api_v1.h"
#include "cleanup.h"
#include "json_reader.h"
#include "sandbox_manager.h"
#include "strv.h"
#include "xalloc.h"

/* How long a create's producer waits for a client that reads nothing. */
#define EVENT_SEND_TIMEOUT_MS 60000

static bool
wants_events (wr_api_request_t *req)
{
    const char *accept = wr_api_request_header (req, "Accept");
    return accept != NULL && strstr (accept, "application/x-ndjson") != NULL;
}

int
wr_api_list_sandboxes (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    wr_sandbox_manager_t *mgr = wr_api_v1_manager (data, err);
    if (mgr == NULL)
        return -1;
    wr_sandbox_filter_t filter = { .name = wr_api_request_query (req, "name") };
    const char *state = wr_api_request_query (req, "state");
    if (state != NULL) {
        if (wr_sandbox_state_parse (state, &filter.state, err) < 0)
            return wr_error_prefix (err, "query state");
        filter.has_state = true;
    }
    /* label=KEY=VALUE[,KEY=VALUE...]: all must match. */
    const char *labels = wr_api_request_query (req, "label");
    cleanup_strv char **pairs = labels != NULL ? wr_strv_split (labels, ",") : NULL;
    size_t n = wr_strv_length (pairs);
    cleanup_free wr_sandbox_label_t *wanted = xzalloc ((n + 1) * sizeof *wanted);
    for (size_t i = 0; i < n; i++) {
        char *eq = strchr (pairs[i], '=');
        if (eq == NULL || eq == pairs[i])
            return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                      "query label: `%s` is not KEY=VALUE", pairs[i]);
        *eq = '\0';
        wanted[i] = (wr_sandbox_label_t){ .key = pairs[i], .value = eq + 1 };
    }
    filter.labels = wanted;
    filter.n_labels = n;
    json_object *list = wr_sandbox_manager_list (mgr, &filter, err);
    if (list == NULL)
        return -1;
    wr_api_response_json (resp, 200, list);
    return 0;
}

/* ---- create ---- */

typedef struct {
    wr_sandbox_manager_t *mgr;
    json_object *body;
    char *client;
    wr_api_events_t *events;
    wr_cancel_t *cancel;
} create_job_t;

static void
send_event (json_object *event, void *data)
{
    create_job_t *job = data;
    cleanup_error wr_error_t err = NULL;
    /* A client that went away stops the create. */
    if (wr_api_events_send (job->events, event, EVENT_SEND_TIMEOUT_MS, &err) < 0)
        wr_cancel_request (job->cancel);
}

static void *
create_thread (void *data)
{
    create_job_t *job = data;
    cleanup_error wr_error_t err = NULL;
    json_object *sandbox = wr_sandbox_manager_create (job->mgr, job->body, job->client, send_event,
                                                      job, job->cancel, &err);
    if (sandbox != NULL) {
        json_object *e = json_object_new_object ();
        json_object_object_add (e, "event", json_object_new_string ("sandbox"));
        json_object_object_add (e, "sandbox", sandbox);
        cleanup_error wr_error_t send_err = NULL;
        wr_api_events_send (job->events, e, EVENT_SEND_TIMEOUT_MS, &send_err);
    } else {
        cleanup_error wr_error_t send_err = NULL;
        wr_api_events_send_error (job->events, err, EVENT_SEND_TIMEOUT_MS, &send_err);
    }
    wr_api_events_close (job->events);
    wr_api_events_unref (job->events);
    json_object_put (job->body);
    wr_cancel_free (job->cancel);
    free (job->client);
    free (job);
    return NULL;
}

int
wr_api_create_sandbox (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    wr_sandbox_manager_t *mgr = wr_api_v1_manager (data, err);
    if (mgr == NULL)
        return -1;
    /* The spec checks its own fields (sandbox_spec.c). */
    json_object *body = wr_api_request_json (req, NULL, err);
    if (body == NULL)
        return -1;
    const char *client = req->client != NULL && req->client[0] != '\0' ? req->client : NULL;
    if (!wants_events (req)) {
        json_object *sandbox = wr_sandbox_manager_create (mgr, body, client, NULL, NULL, NULL, err);
        json_object_put (body);
        if (sandbox == NULL)
            return -1;
        wr_api_response_json (resp, 201, sandbox);
        return 0;
    }
    /* Over the client's limit: a 429 rather than a 200 whose stream fails
     * at once (the create checks again, in its transaction). */
    if (wr_sandbox_manager_client_check (mgr, client, err) < 0) {
        json_object_put (body);
        return -1;
    }
    create_job_t *job = xzalloc (sizeof *job);
    job->mgr = mgr;
    job->body = body;
    job->client = client != NULL ? xstrdup (client) : NULL;
    job->cancel = wr_cancel_new (NULL, 0, NULL, err);
    wr_api_events_t *events = wr_api_events_new (0);
    job->events = wr_api_events_ref (events);
    pthread_t thread;
    if (job->cancel == NULL || pthread_create (&thread, NULL, create_thread, job) != 0) {
        wr_api_events_unref (job->events);
        wr_api_events_unref (events);
        wr_cancel_free (job->cancel);
        json_object_put (body);
        free (job->client);
        free (job);
        if (err != NULL && *err != NULL)
            return -1;
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0,
                                  "cannot start a thread for the create");
    }
    pthread_detach (thread);
    wr_api_response_events (resp, events);
    return 0;
}

/* ---- one sandbox ---- */

int
wr_api_get_sandbox (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    wr_sandbox_manager_t *mgr = wr_api_v1_manager (data, err);
    if (mgr == NULL)
        return -1;
    json_object *o = wr_sandbox_manager_get (mgr, wr_api_request_param (req, "id"), err);
    if (o == NULL)
        return -1;
    wr_api_response_json (resp, 200, o);
    return 0;
}

static const wr_api_field_t update_fields[] = {
    { "keep_warm_seconds", json_type_int, false },
    { "block_network", json_type_boolean, false },
    { "allow_list", json_type_array, false },
    { NULL, json_type_null, false },
};

/* PATCH: a new lifetime, a new network policy, or both (the policy
 * first: a lifetime is no reason to leave a sandbox open). */
int
wr_api_update_sandbox (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    wr_sandbox_manager_t *mgr = wr_api_v1_manager (data, err);
    if (mgr == NULL)
        return -1;
    cleanup_json_reader json_object *body = wr_api_request_json (req, update_fields, err);
    if (body == NULL)
        return -1;
    json_object *keep_value = NULL;
    bool has_keep =
        json_object_object_get_ex (body, "keep_warm_seconds", &keep_value) && keep_value != NULL;
    int64_t keep = has_keep ? json_object_get_int64 (keep_value) : 0;
    if (has_keep && keep != -1 && (keep < 1 || keep > 30 * 86400))
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "request body: keep_warm_seconds: %lld is out of range (-1, "
                                  "or 1 to 2592000)",
                                  (long long) keep);
    wr_net_policy_t policy = { 0 };
    int has_policy = wr_net_policy_from_object (body, "request body", &policy, err);
    if (has_policy < 0)
        return -1;
    if (!has_keep && has_policy == 0)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "request body: give keep_warm_seconds, block_network or "
                                  "allow_list");
    const char *id = wr_api_request_param (req, "id");
    json_object *o = NULL;
    if (has_policy > 0) {
        o = wr_sandbox_manager_set_network (mgr, id, &policy, err);
        wr_net_policy_clear (&policy);
        if (o == NULL)
            return -1;
    }
    if (has_keep) {
        json_object_put (o);
        o = wr_sandbox_manager_set_lifetime (mgr, id, keep, err);
        if (o == NULL)
            return -1;
    }
    wr_api_response_json (resp, 200, o);
    return 0;
}

int
wr_api_delete_sandbox (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    wr_sandbox_manager_t *mgr = wr_api_v1_manager (data, err);
    if (mgr == NULL)
        return -1;
    json_object *o = wr_sandbox_manager_delete (mgr, wr_api_request_param (req, "id"), err);
    if (o == NULL)
        return -1;
    wr_api_response_json (resp, 200, o);
    return 0;
}

typedef struct {
    wr_sandbox_manager_t *mgr;
    char *id;
    wr_api_events_t *events;
    wr_cancel_t *cancel;
} watch_job_t;

static void
send_watch_event (json_object *event, void *data)
{
    watch_job_t *job = data;
    cleanup_error wr_error_t err = NULL;
    if (wr_api_events_send (job->events, event, EVENT_SEND_TIMEOUT_MS, &err) < 0)
        wr_cancel_request (job->cancel);
}

static void *
watch_thread (void *data)
{
    watch_job_t *job = data;
    cleanup_error wr_error_t err = NULL;
    if (wr_sandbox_manager_watch_docker (job->mgr, job->id, send_watch_event, job, job->cancel,
                                         &err) < 0) {
        cleanup_error wr_error_t send_err = NULL;
        wr_api_events_send_error (job->events, err, EVENT_SEND_TIMEOUT_MS, &send_err);
    }
    wr_api_events_close (job->events);
    wr_api_events_unref (job->events);
    wr_cancel_free (job->cancel);
    free (job->id);
    free (job);
    return NULL;
}

int
wr_api_watch_docker (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    wr_sandbox_manager_t *mgr = wr_api_v1_manager (data, err);
    if (mgr == NULL)
        return -1;
    /* Not found is a 404, before the stream's 200. */
    cleanup_json_reader json_object *sandbox =
        wr_sandbox_manager_get (mgr, wr_api_request_param (req, "id"), err);
    if (sandbox == NULL)
        return -1;
    watch_job_t *job = xzalloc (sizeof *job);
    job->mgr = mgr;
    job->id = xstrdup (json_object_get_string (json_object_object_get (sandbox, "id")));
    job->cancel = wr_cancel_new (NULL, 0, NULL, err);
    if (job->cancel == NULL) {
        free (job->id);
        free (job);
        return -1;
    }
    wr_api_events_t *events = wr_api_events_new (0);
    job->events = wr_api_events_ref (events);
    pthread_t thread;
    if (pthread_create (&thread, NULL, watch_thread, job) != 0) {
        wr_api_events_unref (job->events);
        wr_api_events_unref (events);
        wr_cancel_free (job->cancel);
        free (job->id);
        free (job);
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0, "cannot start a thread for the watch");
    }
    pthread_detach (thread);
    wr_api_response_events (resp, events);
    return 0;
}

int
wr_api_get_metrics (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    wr_sandbox_manager_t *mgr = wr_api_v1_manager (data, err);
    if (mgr == NULL)
        return -1;
    char *text = wr_sandbox_manager_metrics (mgr);
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4";
    resp->body = text;
    resp->body_len = strlen (text);
    return 0;
}
