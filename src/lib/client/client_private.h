/* Inside the client: one HTTP call, made by client.c for the route files
 * (client_sandbox.c, client_process.c, client_files.c). */
#ifndef WARREN_CLIENT_PRIVATE_H
#define WARREN_CLIENT_PRIVATE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "error.h"

/* Receives a 2xx answer's body as it comes; -1 stops the transfer (the
 * call fails with *ERR). */
typedef int (*client_sink_fn) (void *data, const char *bytes, size_t len, wr_error_t *err);

typedef struct {
    const char *method;
    const char *path; /* escaped: built with client_path */
    const char *query; /* escaped: built with client_query_add; NULL for none */
    json_object *json; /* a JSON body, or NULL */
    const char *raw; /* or a body from memory, */
    size_t raw_len;
    int body_fd; /* or from a descriptor (-1: none), BODY_SIZE bytes (-1: to */
    int64_t body_size; /* its end, sent chunked) */
    const char *accept; /* NULL: application/json */
    bool long_running; /* no overall timeout */
    client_sink_fn sink; /* a 2xx body goes here; NULL: read as JSON into ANSWER */
    void *sink_data;
    int64_t *offset_out; /* X-Warren-Offset is stored here as the headers come */
} client_call_t;

typedef struct {
    long status;
    json_object *json; /* the JSON object (no sink); the caller puts it */
    bool has_offset; /* X-Warren-Offset, */
    int64_t offset;
    bool ndjson; /* Content-Type application/x-ndjson */
} client_answer_t;

/* Makes the call.  A 2xx answer is 0; anything else -1 with *ERR: the
 * server's error, a connection failure, a broken answer.  Errors are
 * prefixed with nothing: the server's message names its object. */
int client_call (wr_client_t *client, const client_call_t *call, client_answer_t *answer,
                 wr_error_t *err);
void client_answer_clear (client_answer_t *answer);

/* "/v1/sandboxes/ID/..." with each of SEGMENTS (NULL-ended) escaped.
 * Caller frees. */
char *client_path (const char *first, ...) __attribute__ ((sentinel));
/* Appends KEY=VALUE (VALUE escaped) to *QUERY (a string the caller frees). */
void client_query_add (char **query, const char *key, const char *value);
void client_query_addf (char **query, const char *key, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* A call that answers an object: *OUT, or NULL when OUT is NULL (the
 * answer is dropped). */
int client_json_call (wr_client_t *client, const char *method, const char *path, const char *query,
                      json_object *body, json_object **out, wr_error_t *err);

#endif
