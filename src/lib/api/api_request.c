#include "api_request.h"

#include "api_events.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json_reader.h"
#include "quote.h"
#include "xalloc.h"

void
wr_api_params_clear (wr_api_params_t *params)
{
    for (size_t i = 0; i < params->n; i++) {
        free (params->names[i]);
        free (params->values[i]);
    }
    memset (params, 0, sizeof *params);
}

const char *
wr_api_params_get (const wr_api_params_t *params, const char *name)
{
    for (size_t i = 0; i < params->n; i++) {
        if (strcmp (params->names[i], name) == 0)
            return params->values[i];
    }
    return NULL;
}

const char *
wr_api_request_param (const wr_api_request_t *req, const char *name)
{
    return wr_api_params_get (&req->params, name);
}

const char *
wr_api_request_header (const wr_api_request_t *req, const char *name)
{
    return req->lookup != NULL ? req->lookup (req->conn, true, name) : NULL;
}

const char *
wr_api_request_query (const wr_api_request_t *req, const char *name)
{
    return req->lookup != NULL ? req->lookup (req->conn, false, name) : NULL;
}

static const wr_api_field_t *
find_field (const wr_api_field_t *fields, const char *name)
{
    for (const wr_api_field_t *f = fields; f->name != NULL; f++) {
        if (strcmp (f->name, name) == 0)
            return f;
    }
    return NULL;
}

static char *
known_fields (const wr_api_field_t *fields)
{
    size_t len = 1;
    for (const wr_api_field_t *f = fields; f->name != NULL; f++)
        len += strlen (f->name) + 2;
    char *out = xzalloc (len);
    for (const wr_api_field_t *f = fields; f->name != NULL; f++) {
        if (f != fields)
            strcat (out, ", ");
        strcat (out, f->name);
    }
    return out;
}

static int
check_type (json_object *value, const wr_api_field_t *field, const char *name, const char *path,
            wr_error_t *err)
{
    if (field->type == json_type_int) {
        int64_t ignored;
        return wr_json_int64 (value, name, path, &ignored, err);
    }
    if (field->type == json_type_double) {
        if (json_object_is_type (value, json_type_int) ||
            json_object_is_type (value, json_type_double))
            return 0;
        return wr_json_error (err, name, path, "must be a number, not %s",
                              wr_json_type_phrase (json_object_get_type (value)));
    }
    if (field->type == json_type_string) {
        const char *ignored;
        return wr_json_string (value, name, path, &ignored, err);
    }
    return wr_json_expect (value, field->type, name, path, err);
}

int
wr_api_json_check_fields (json_object *obj, const wr_api_field_t *fields, const char *name,
                          const char *path, wr_error_t *err)
{
    if (wr_json_expect (obj, json_type_object, name, path, err) < 0)
        return -1;
    json_object_object_foreach (obj, key, value)
    {
        const wr_api_field_t *field = find_field (fields, key);
        cleanup_free char *child = wr_json_path_key (path, key);
        if (field == NULL) {
            cleanup_free char *quoted = wr_quote (key, 64);
            cleanup_free char *known = known_fields (fields);
            if (path == NULL || path[0] == '\0')
                return wr_error_set (err, 0, "%s: unknown field `%s` (known fields: %s)", name,
                                     quoted, known[0] != '\0' ? known : "none");
            return wr_error_set (err, 0, "%s: %s: unknown field `%s` (known fields: %s)", name,
                                 path, quoted, known[0] != '\0' ? known : "none");
        }
        if (value == NULL) {
            if (field->required)
                return wr_json_error (err, name, child, "must not be null");
            continue;
        }
        if (check_type (value, field, name, child, err) < 0)
            return -1;
    }
    for (const wr_api_field_t *f = fields; f->name != NULL; f++) {
        if (f->required && !json_object_object_get_ex (obj, f->name, NULL)) {
            cleanup_free char *child = wr_json_path_key (path, f->name);
            return wr_json_error (err, name, child, "missing");
        }
    }
    return 0;
}

json_object *
wr_api_parse_json_body (const char *body, size_t len, size_t max, wr_error_t *err)
{
    if (len == 0) {
        wr_error_set (err, 0, "request body: empty: a JSON object is required");
        return NULL;
    }
    if (len > max) {
        wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                           "request body: %zu bytes is too large (the limit is %zu)", len, max);
        return NULL;
    }
    return wr_json_parse_object (body, len, max, "a request body", "request body", err);
}

json_object *
wr_api_request_json (const wr_api_request_t *req, const wr_api_field_t *fields, wr_error_t *err)
{
    cleanup_json_reader json_object *obj =
        wr_api_parse_json_body (req->body, req->body_len, WR_API_MAX_JSON_BODY, err);
    if (obj == NULL)
        return NULL;
    if (fields != NULL && wr_api_json_check_fields (obj, fields, "request body", "", err) < 0)
        return NULL;
    return steal_pointer (&obj);
}

/* How long a streamed body may pause before its reader gives up. */
#define BODY_IDLE_MS 60000

ssize_t
wr_api_request_body_read (const wr_api_request_t *req, void *buf, size_t max, size_t *offset,
                          wr_error_t *err)
{
    if (req->body_stream == NULL) {
        size_t left = req->body_len - *offset;
        size_t n = left < max ? left : max;
        memcpy (buf, req->body + *offset, n);
        *offset += n;
        return (ssize_t) n;
    }
    ssize_t n = wr_api_events_read (req->body_stream, buf, max, BODY_IDLE_MS);
    if (n > 0) {
        *offset += (size_t) n;
        return n;
    }
    if (n < 0 && !wr_api_events_cancelled (req->body_stream))
        return 0;
    if (n < 0)
        return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                                  "request body: the client went away after %zu bytes", *offset);
    return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                              "request body: the client sent nothing for %d s after %zu bytes",
                              BODY_IDLE_MS / 1000, *offset);
}
