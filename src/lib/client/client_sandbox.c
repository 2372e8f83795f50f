#include "client_sandbox.h"

#include <string.h>

#include "cleanup.h"
#include "client_private.h"
#include "client_reply.h"
#include "json_reader.h"
#include "quote.h"
#include "strv.h"
#include "xalloc.h"

static int
add_pairs (json_object *spec, const char *key, const char *const *pairs, wr_error_t *err)
{
    if (pairs == NULL || pairs[0] == NULL)
        return 0;
    json_object *obj = json_object_new_object ();
    json_object_object_add (spec, key, obj);
    for (size_t i = 0; pairs[i] != NULL; i++) {
        const char *eq = strchr (pairs[i], '=');
        if (eq == NULL || eq == pairs[i]) {
            cleanup_free char *quoted = wr_quote (pairs[i], 200);
            return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "%s `%s`: expected KEY=VALUE", key,
                                      quoted);
        }
        cleanup_free char *name = xstrndup (pairs[i], (size_t) (eq - pairs[i]));
        json_object_object_add (obj, name, json_object_new_string (eq + 1));
    }
    return 0;
}

json_object *
wr_client_sandbox_spec_json (const wr_client_sandbox_spec_t *spec, wr_error_t *err)
{
    if (spec->image == NULL || spec->image[0] == '\0') {
        wr_error_set_kind (err, WR_ERROR_INVALID, 0, "a sandbox's spec: no image");
        return NULL;
    }
    cleanup_json_reader json_object *o = json_object_new_object ();
    json_object_object_add (o, "image", json_object_new_string (spec->image));
    if (spec->cpu > 0)
        json_object_object_add (o, "cpu", json_object_new_double (spec->cpu));
    if (spec->memory > 0)
        json_object_object_add (o, "memory", json_object_new_int64 (spec->memory));
    if (spec->docker_enabled)
        json_object_object_add (o, "docker_enabled", json_object_new_boolean (true));
    if (spec->workdir != NULL)
        json_object_object_add (o, "workdir", json_object_new_string (spec->workdir));
    if (spec->name != NULL)
        json_object_object_add (o, "name", json_object_new_string (spec->name));
    if (spec->keep_warm_set)
        json_object_object_add (o, "keep_warm_seconds",
                                json_object_new_int64 (spec->keep_warm_seconds));
    if (spec->pids_limit > 0)
        json_object_object_add (o, "pids_limit", json_object_new_int64 (spec->pids_limit));
    if (add_pairs (o, "env", spec->env, err) < 0 || add_pairs (o, "labels", spec->labels, err) < 0)
        return NULL;
    return steal_pointer (&o);
}

static int
get_double (json_object *obj, const char *key, const char *what, double *out, wr_error_t *err)
{
    json_object *v = NULL;
    int found = wr_json_member (obj, key, false, what, "", &v, err);
    if (found <= 0)
        return found;
    if (!json_object_is_type (v, json_type_double) && !json_object_is_type (v, json_type_int))
        return wr_json_expect (v, json_type_double, what, key, err);
    *out = json_object_get_double (v);
    return 0;
}

/* Bytes, or the spec's "2Gi" as it was written (left 0 here). */
static int
memory (json_object *sandbox, const char *what, int64_t *out, wr_error_t *err)
{
    json_object *v = NULL;
    if (json_object_object_get_ex (sandbox, "memory", &v) &&
        json_object_is_type (v, json_type_string))
        return 0;
    return wr_client_get_int (sandbox, "memory", false, what, out, err);
}

int
wr_client_sandbox_read (json_object *sandbox, wr_client_sandbox_t *out, wr_error_t *err)
{
    *out = (wr_client_sandbox_t){ 0 };
    const char *what = "warrend's Sandbox";
    if (wr_json_expect (sandbox, json_type_object, what, "", err) < 0)
        return -1;
    if (wr_client_get_string (sandbox, "id", true, what, &out->id, err) < 0 ||
        wr_client_get_string (sandbox, "state", true, what, &out->state, err) < 0 ||
        wr_client_get_string (sandbox, "name", false, what, &out->name, err) < 0 ||
        wr_client_get_string (sandbox, "reason", false, what, &out->reason, err) < 0 ||
        wr_client_get_string (sandbox, "image", false, what, &out->image, err) < 0 ||
        wr_client_get_string (sandbox, "docker_socket", false, what, &out->docker_socket, err) <
            0 ||
        wr_client_get_string (sandbox, "workdir", false, what, &out->workdir, err) < 0 ||
        wr_client_get_bool (sandbox, "docker_enabled", false, what, &out->docker_enabled, err) <
            0 ||
        memory (sandbox, what, &out->memory, err) < 0 ||
        wr_client_get_int (sandbox, "keep_warm_seconds", false, what, &out->keep_warm_seconds,
                           err) < 0 ||
        wr_client_get_int (sandbox, "created_ms", false, what, &out->created_ms, err) < 0 ||
        wr_client_get_int (sandbox, "expires_ms", false, what, &out->expires_ms, err) < 0 ||
        get_double (sandbox, "cpu", what, &out->cpu, err) < 0)
        return -1;
    return 0;
}

static int
checked_sandbox (json_object *o, json_object **sandbox, wr_error_t *err)
{
    wr_client_sandbox_t view;
    if (wr_client_sandbox_read (o, &view, err) < 0) {
        json_object_put (o);
        return -1;
    }
    if (sandbox != NULL)
        *sandbox = o;
    else
        json_object_put (o);
    return 0;
}

typedef struct {
    wr_client_event_fn on_event;
    void *data;
    json_object *sandbox;
    wr_client_lines_t lines;
} events_t;

static int
event_line (void *data, json_object *line, wr_error_t *err)
{
    events_t *e = data;
    if (wr_client_reply_stream_error (line, err))
        return -1;
    const char *event = NULL;
    if (wr_client_get_string (line, "event", true, "warrend's event", &event, err) < 0)
        return -1;
    if (strcmp (event, "sandbox") == 0) {
        json_object *sb = NULL;
        if (wr_json_member (line, "sandbox", true, "warrend's event", "", &sb, err) < 0)
            return -1;
        wr_client_sandbox_t view;
        if (wr_client_sandbox_read (sb, &view, err) < 0)
            return -1;
        if (e->sandbox != NULL)
            json_object_put (e->sandbox);
        e->sandbox = json_object_get (sb);
    }
    return e->on_event != NULL ? e->on_event (e->data, line, err) : 0;
}

static int
events_sink (void *data, const char *bytes, size_t len, wr_error_t *err)
{
    events_t *e = data;
    return wr_client_lines_feed (&e->lines, bytes, len, err);
}

/* A call answering a stream of events into E. */
static int
events_call (wr_client_t *client, const char *method, const char *path, json_object *body,
             events_t *e, wr_error_t *err)
{
    cleanup_free char *what = xasprintf ("the events of %s %s", method, path);
    wr_client_lines_init (&e->lines, what, event_line, e);
    client_call_t call = {
        .method = method,
        .path = path,
        .json = body,
        .body_fd = -1,
        .accept = "application/x-ndjson",
        .long_running = true,
        .sink = events_sink,
        .sink_data = e,
    };
    client_answer_t answer;
    int ret = client_call (client, &call, &answer, err);
    if (ret == 0)
        ret = wr_client_lines_end (&e->lines, err);
    client_answer_clear (&answer);
    wr_client_lines_clear (&e->lines);
    return ret;
}

int
wr_client_sandbox_create (wr_client_t *client, json_object *spec, wr_client_event_fn on_event,
                          void *data, json_object **sandbox, wr_error_t *err)
{
    if (on_event == NULL) {
        client_call_t call = {
            .method = "POST",
            .path = "/v1/sandboxes",
            .json = spec,
            .body_fd = -1,
            .long_running = true,
        };
        client_answer_t answer;
        if (client_call (client, &call, &answer, err) < 0)
            return -1;
        return checked_sandbox (steal_pointer (&answer.json), sandbox, err);
    }
    events_t e = { .on_event = on_event, .data = data };
    if (events_call (client, "POST", "/v1/sandboxes", spec, &e, err) < 0) {
        if (e.sandbox != NULL)
            json_object_put (e.sandbox);
        return -1;
    }
    if (e.sandbox == NULL)
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0,
                                  "warrend at %s: the events of the create ended without the "
                                  "sandbox",
                                  wr_client_host (client));
    if (sandbox != NULL)
        *sandbox = e.sandbox;
    else
        json_object_put (e.sandbox);
    return 0;
}

int
wr_client_sandbox_get (wr_client_t *client, const char *id, json_object **sandbox, wr_error_t *err)
{
    cleanup_free char *path = client_path ("/v1/sandboxes/", id, NULL);
    json_object *o = NULL;
    if (client_json_call (client, "GET", path, NULL, NULL, &o, err) < 0)
        return -1;
    return checked_sandbox (o, sandbox, err);
}

int
wr_client_sandbox_list (wr_client_t *client, const wr_client_sandbox_filter_t *filter,
                        json_object **sandboxes, wr_error_t *err)
{
    cleanup_free char *query = NULL;
    if (filter != NULL && filter->state != NULL)
        client_query_add (&query, "state", filter->state);
    if (filter != NULL && filter->name != NULL)
        client_query_add (&query, "name", filter->name);
    /* One label=K=V,K2=V2 parameter: warrend reads the first label= only. */
    if (filter != NULL && filter->labels != NULL && filter->labels[0] != NULL) {
        for (size_t i = 0; filter->labels[i] != NULL; i++)
            if (strchr (filter->labels[i], ',') != NULL)
                return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                          "label filter `%s`: warrend's query cannot match a "
                                          "comma (it separates the pairs)",
                                          filter->labels[i]);
        cleanup_free char *labels = wr_strv_join ((char *const *) filter->labels, ",");
        client_query_add (&query, "label", labels);
    }
    cleanup_json_reader json_object *o = NULL;
    if (client_json_call (client, "GET", "/v1/sandboxes", query, NULL, &o, err) < 0)
        return -1;
    json_object *list = NULL;
    if (wr_client_get_array (o, "sandboxes", true, "warrend's sandboxes", &list, err) < 0)
        return -1;
    for (size_t i = 0; i < json_object_array_length (list); i++) {
        wr_client_sandbox_t view;
        if (wr_client_sandbox_read (json_object_array_get_idx (list, i), &view, err) < 0)
            return wr_error_prefix (err, "sandboxes[%zu]", i);
    }
    *sandboxes = json_object_get (list);
    return 0;
}

int
wr_client_sandbox_keep_warm (wr_client_t *client, const char *id, int64_t seconds,
                             json_object **sandbox, wr_error_t *err)
{
    cleanup_free char *path = client_path ("/v1/sandboxes/", id, NULL);
    cleanup_json_reader json_object *body = json_object_new_object ();
    json_object_object_add (body, "keep_warm_seconds", json_object_new_int64 (seconds));
    json_object *o = NULL;
    if (client_json_call (client, "PATCH", path, NULL, body, &o, err) < 0)
        return -1;
    return checked_sandbox (o, sandbox, err);
}

int
wr_client_sandbox_delete (wr_client_t *client, const char *id, json_object **sandbox,
                          wr_error_t *err)
{
    /* Stopping runsc and a dockerd may take longer than a plain call. */
    cleanup_free char *path = client_path ("/v1/sandboxes/", id, NULL);
    client_call_t call = { .method = "DELETE", .path = path, .body_fd = -1, .long_running = true };
    client_answer_t answer;
    if (client_call (client, &call, &answer, err) < 0)
        return -1;
    return checked_sandbox (steal_pointer (&answer.json), sandbox, err);
}

int
wr_client_sandbox_docker (wr_client_t *client, const char *id, wr_client_event_fn on_event,
                          void *data, wr_error_t *err)
{
    cleanup_free char *path = client_path ("/v1/sandboxes/", id, "/docker", NULL);
    events_t e = { .on_event = on_event, .data = data };
    int ret = events_call (client, "GET", path, NULL, &e, err);
    if (e.sandbox != NULL)
        json_object_put (e.sandbox);
    return ret;
}
