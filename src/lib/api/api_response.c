#include "api_response.h"

#include <stdlib.h>
#include <string.h>

#include "api_events.h"
#include "cleanup.h"
#include "xalloc.h"

unsigned
wr_api_status_of_kind (wr_error_kind_t kind)
{
    switch (kind) {
    case WR_ERROR_INVALID:
        return 400;
    case WR_ERROR_NOT_FOUND:
        return 404;
    case WR_ERROR_EXISTS:
        return 409;
    /* A size or count the request asked for is over a limit (a body, a
     * layer, a sandbox's processes): 413. */
    case WR_ERROR_LIMIT:
        return 413;
    /* The client's share is used up (its request rate, its sandboxes or
     * processes at once): 429, with Retry-After when waiting helps. */
    case WR_ERROR_TOO_MANY:
        return 429;
    case WR_ERROR_UNAVAILABLE:
        return 503;
    /* Work another request (or the daemon stopping) cancelled conflicts
     * with the state it was in: 409, not nginx's non-standard 499, which
     * clients and proxies do not know. */
    case WR_ERROR_CANCELLED:
        return 409;
    case WR_ERROR_INTERNAL:
        return 500;
    }
    return 500;
}

static void
set_body (wr_api_response_t *resp, unsigned status, char *body)
{
    wr_api_response_clear (resp);
    resp->status = status;
    resp->content_type = "application/json";
    resp->body = body;
    resp->body_len = strlen (body);
}

void
wr_api_response_json (wr_api_response_t *resp, unsigned status, json_object *body)
{
    const char *text = json_object_to_json_string_ext (body, JSON_C_TO_STRING_PLAIN |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
    char *copy = xasprintf ("%s\n", text);
    json_object_put (body);
    set_body (resp, status, copy);
}

char *
wr_api_error_body (const char *kind, const char *message)
{
    json_object *inner = json_object_new_object ();
    json_object_object_add (inner, "kind", json_object_new_string (kind));
    json_object_object_add (inner, "message", json_object_new_string (message));
    json_object *outer = json_object_new_object ();
    json_object_object_add (outer, "error", inner);
    char *text =
        xasprintf ("%s\n", json_object_to_json_string_ext (
                               outer, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put (outer);
    return text;
}

void
wr_api_response_error_status (wr_api_response_t *resp, unsigned status, const char *kind,
                              const char *message)
{
    set_body (resp, status, wr_api_error_body (kind, message));
}

void
wr_api_response_error (wr_api_response_t *resp, const wr_error_t err)
{
    wr_error_kind_t kind = wr_error_kind (err);
    const char *message = err != NULL && err->message != NULL ? err->message : "internal error";
    wr_api_response_error_status (resp, wr_api_status_of_kind (kind), wr_error_kind_name (kind),
                                  message);
}

void
wr_api_response_events (wr_api_response_t *resp, wr_api_events_t *events)
{
    wr_api_response_clear (resp);
    resp->status = 200;
    resp->content_type = "application/x-ndjson";
    resp->events = events;
}

void
wr_api_response_bytes (wr_api_response_t *resp, unsigned status, const char *content_type,
                       wr_api_events_t *events)
{
    wr_api_response_clear (resp);
    resp->status = status;
    resp->content_type = content_type;
    resp->events = events;
}

void
wr_api_response_add_header (wr_api_response_t *resp, const char *name, const char *value)
{
    for (size_t i = 0; i < WR_API_RESPONSE_MAX_HEADERS; i++) {
        if (resp->header_names[i] == NULL) {
            resp->header_names[i] = xstrdup (name);
            resp->header_values[i] = xstrdup (value);
            return;
        }
    }
}

void
wr_api_response_clear (wr_api_response_t *resp)
{
    free (resp->body);
    free (resp->allow);
    for (size_t i = 0; i < WR_API_RESPONSE_MAX_HEADERS; i++) {
        free (resp->header_names[i]);
        free (resp->header_values[i]);
    }
    if (resp->events != NULL)
        wr_api_events_unref (resp->events);
    memset (resp, 0, sizeof *resp);
}
