/* A request as handlers see it, and the strict reading of its JSON body:
 * an object is required, each field is checked against the fields the
 * route takes (unknown ones refused, named), and types are checked with
 * the field's path in the message:
 *
 *   "request body: unknown field `cpus` (known fields: image, cpu, memory)"
 *   "request body: memory: must be an integer, not a string" */
#ifndef WARREN_API_REQUEST_H
#define WARREN_API_REQUEST_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "log.h"

/* The largest JSON body a route takes unless it says otherwise. */
#define WR_API_MAX_JSON_BODY (1024 * 1024)
#define WR_API_MAX_PARAMS 8
/* The longest parameter value (an id, a pid, a name). */
#define WR_API_MAX_PARAM 256

typedef struct {
    size_t n;
    char *names[WR_API_MAX_PARAMS]; /* owned */
    char *values[WR_API_MAX_PARAMS]; /* owned */
} wr_api_params_t;

void wr_api_params_clear (wr_api_params_t *params);
/* The value of parameter NAME, or NULL. */
const char *wr_api_params_get (const wr_api_params_t *params, const char *name);

/* Looks up a header or a query argument of the request; NULL when absent. */
typedef const char *(*wr_api_lookup_fn) (void *conn, bool header, const char *name);

typedef struct {
    const char *method;
    const char *path;
    const char *id; /* the request's id, in its log lines and X-Request-Id */
    /* Who sent it, as the server tells clients apart (api_server.h):
     * "uid:0", "tcp:10.1.2.3"; "" when unknown. */
    const char *client;
    wr_api_params_t params;
    const char *body; /* NUL-terminated after BODY_LEN bytes; "" when none */
    size_t body_len;
    /* This request's log: the server's with a request=ID field. */
    const wr_log_t *log;
    wr_api_lookup_fn lookup;
    void *conn;
    /* A route with WR_API_ROUTE_STREAM_BODY: the body as it arrives (BODY
     * is then ""); NULL otherwise. */
    struct wr_api_events_s *body_stream;
} wr_api_request_t;

/* Reads up to MAX bytes of the body into BUF: from BODY_STREAM as the
 * client sends it (waiting up to 60 s for more), or from BODY at *OFFSET
 * (the caller's cursor, from 0; advanced by what is read).  Returns
 * the number of bytes, 0 at the body's end, -1 with *ERR (kind
 * unavailable) when the client sent nothing for 60 s or went away. */
ssize_t wr_api_request_body_read (const wr_api_request_t *req, void *buf, size_t max,
                                  size_t *offset, wr_error_t *err);

/* Parameter NAME of the route's pattern, or NULL. */
const char *wr_api_request_param (const wr_api_request_t *req, const char *name);
/* A header (case-insensitive NAME) or query argument, or NULL. */
const char *wr_api_request_header (const wr_api_request_t *req, const char *name);
const char *wr_api_request_query (const wr_api_request_t *req, const char *name);

/* The fields a body may have: NAME, the type it must be, and whether it
 * must be there.  A table ends with a NULL name. */
typedef struct {
    const char *name;
    json_type type;
    bool required;
} wr_api_field_t;

/* Checks that OBJ (at PATH, "" for the body itself; NAME names the
 * document in messages) has only FIELDS, each of its type (an integer for
 * json_type_int, which must fit an int64_t; null is allowed for fields that
 * are not required and means absent), and every required one.  Unknown
 * field names are quoted (they are the client's text). */
int wr_api_json_check_fields (json_object *obj, const wr_api_field_t *fields, const char *name,
                              const char *path, wr_error_t *err);

/* Parses BODY as one JSON object (at most MAX bytes; an empty body is
 * refused) with core's strict reader.  Errors are INVALID, or LIMIT when
 * it is too large; they start with "request body". */
json_object *wr_api_parse_json_body (const char *body, size_t len, size_t max, wr_error_t *err);

/* The request's body as a JSON object checked against FIELDS (NULL: any
 * fields).  Returns a new reference or NULL. */
json_object *wr_api_request_json (const wr_api_request_t *req, const wr_api_field_t *fields,
                                  wr_error_t *err);

#endif
