#include "sandbox_json.h"

#include "cleanup.h"
#include "json_reader.h"

static json_object *
string_or_null (const char *s)
{
    return s != NULL ? json_object_new_string (s) : NULL;
}

static json_object *
time_or_null (int64_t ms)
{
    return ms > 0 ? json_object_new_int64 (ms) : NULL;
}

/* A copy of the spec's member KEY (NULL when absent). */
static json_object *
spec_member (json_object *spec, const char *key)
{
    json_object *v = NULL;
    if (spec == NULL || !json_object_object_get_ex (spec, key, &v) || v == NULL)
        return NULL;
    json_object *copy = NULL;
    if (json_object_deep_copy (v, &copy, NULL) < 0)
        return NULL;
    return copy;
}

json_object *
wr_sandbox_record_json (const wr_sandbox_record_t *record, const char *docker_socket)
{
    /* The spec was written by wr_sandbox_spec_to_json: it parses. */
    cleanup_json_reader json_object *spec =
        record->spec_json != NULL ? json_tokener_parse (record->spec_json) : NULL;
    json_object *o = json_object_new_object ();
    json_object_object_add (o, "id", json_object_new_string (record->id));
    json_object_object_add (o, "name", string_or_null (record->name));
    json_object_object_add (o, "client", string_or_null (record->client));
    json_object *labels = json_object_new_object ();
    for (size_t i = 0; i < record->n_labels; i++)
        json_object_object_add (labels, record->labels[i].key,
                                json_object_new_string (record->labels[i].value));
    json_object_object_add (o, "labels", labels);
    json_object_object_add (o, "state",
                            json_object_new_string (wr_sandbox_state_name (record->state)));
    json_object_object_add (o, "reason", string_or_null (record->reason));
    json_object_object_add (o, "image", string_or_null (record->image_ref));
    json_object_object_add (o, "image_digest", string_or_null (record->manifest_digest));
    static const char *const copied[] = { "cpu", "memory", "pids_limit", "docker_enabled",
                                          "env", "workdir" };
    for (size_t i = 0; i < sizeof copied / sizeof copied[0]; i++)
        json_object_object_add (o, copied[i], spec_member (spec, copied[i]));
    json_object_object_add (o, "keep_warm_seconds",
                            json_object_new_int64 (record->keep_warm_seconds));
    json_object_object_add (o, "created_ms", time_or_null (record->created_ms));
    json_object_object_add (o, "started_ms", time_or_null (record->started_ms));
    json_object_object_add (o, "ended_ms", time_or_null (record->ended_ms));
    json_object_object_add (o, "last_activity_ms", time_or_null (record->last_activity_ms));
    json_object_object_add (o, "expires_ms", time_or_null (record->expires_ms));
    if (docker_socket != NULL)
        json_object_object_add (o, "docker_socket", json_object_new_string (docker_socket));
    return o;
}
