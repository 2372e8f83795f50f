/* What a handler answers: a status, a JSON body or a stream of events, and
 * errors as JSON:
 *
 *   {"error": {"kind": "not_found", "message": "sandbox `ab12`: no such sandbox"}}
 *
 * with the status the error's kind maps to (wr_api_status_of_kind). */
#ifndef WARREN_API_RESPONSE_H
#define WARREN_API_RESPONSE_H

#include <json-c/json.h>
#include <stddef.h>

#include "error.h"

typedef struct wr_api_events_s wr_api_events_t;

typedef struct {
    unsigned status;
    /* "application/json" unless a stream's own. */
    const char *content_type;
    /* A complete body (owned; NULL for none), or EVENTS for a stream. */
    char *body;
    size_t body_len;
    wr_api_events_t *events; /* owned reference */
    /* The Allow header of a 405, owned; NULL for none. */
    char *allow;
    /* More headers (X-Warren-Offset, ...): names and values owned. */
#define WR_API_RESPONSE_MAX_HEADERS 4
    char *header_names[WR_API_RESPONSE_MAX_HEADERS];
    char *header_values[WR_API_RESPONSE_MAX_HEADERS];
} wr_api_response_t;

/* The status code of an error kind: invalid 400, not_found 404, exists 409,
 * limit 413, unavailable 503, cancelled 409, internal 500. */
unsigned wr_api_status_of_kind (wr_error_kind_t kind);

/* Sets RESP to STATUS with BODY (a reference taken) serialised as JSON. */
void wr_api_response_json (wr_api_response_t *resp, unsigned status, json_object *body);

/* Sets RESP to the JSON error of ERR, with the status of its kind. */
void wr_api_response_error (wr_api_response_t *resp, const wr_error_t err);

/* Sets RESP to a JSON error with an explicit status and kind name, for the
 * answers no wr_error_t kind stands for (401 "unauthorized", 405, 501).
 * MESSAGE is trusted text. */
void wr_api_response_error_status (wr_api_response_t *resp, unsigned status, const char *kind,
                                   const char *message);

/* Sets RESP to a stream of newline-delimited JSON events read from EVENTS
 * (a reference taken), status 200, "application/x-ndjson". */
void wr_api_response_events (wr_api_response_t *resp, wr_api_events_t *events);

/* Sets RESP to STATUS and a stream of raw bytes read from EVENTS (a
 * reference taken; its producer sends with wr_api_events_send_bytes) as
 * CONTENT_TYPE (a static string): a download, a process's output. */
void wr_api_response_bytes (wr_api_response_t *resp, unsigned status, const char *content_type,
                            wr_api_events_t *events);

/* Adds a header NAME: VALUE (copied) to RESP; at most
 * WR_API_RESPONSE_MAX_HEADERS (more are dropped: a handler's fault). */
void wr_api_response_add_header (wr_api_response_t *resp, const char *name, const char *value);

/* Frees what RESP owns and leaves it empty. */
void wr_api_response_clear (wr_api_response_t *resp);

/* The JSON text of an error body, for callers that write one themselves
 * (and tests).  Caller frees. */
char *wr_api_error_body (const char *kind, const char *message);

#endif
