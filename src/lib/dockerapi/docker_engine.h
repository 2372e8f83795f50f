/* A client of the Docker Engine API on a unix socket (a sandbox's
 * docker.sock): one request at a time per client (one thread), the
 * connection kept between them.  What dockerd answers is untrusted: JSON
 * answers are at most WR_DOCKER_MAX_JSON bytes and parsed strictly, error
 * bodies at most WR_DOCKER_MAX_ERROR bytes, and a streamed answer goes to
 * the caller's callback as it comes (docker_lines.h, docker_mux.h read it).
 *
 * An answer that is not 2xx is an error with dockerd's "message" (quoted
 * when not printable) and a kind from its status: 400 invalid, 401 and
 * 403 invalid, 404 not_found, 409 exists, 5xx internal; a socket that
 * does not answer is unavailable.  Every wait has a deadline or is
 * cancellable through the STOP callback, looked at about once a second. */
#ifndef WARREN_DOCKER_ENGINE_H
#define WARREN_DOCKER_ENGINE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define WR_DOCKER_MAX_JSON (16 * 1024 * 1024)
#define WR_DOCKER_MAX_ERROR (64 * 1024)

typedef struct wr_docker_s wr_docker_t;

/* STOP (may be NULL) is asked during every transfer whether to give up
 * (the client of the work went away): true ends it with CANCELLED. */
wr_docker_t *wr_docker_new (const char *socket_path, bool (*stop) (void *), void *stop_data,
                            wr_error_t *err);
void wr_docker_free (wr_docker_t *d);
static inline void
wr_docker_freep (wr_docker_t **d)
{
    wr_docker_free (*d);
}
#define cleanup_docker __attribute__ ((cleanup (wr_docker_freep)))

/* Reads up to MAX bytes of a streamed request body into BUF: the number
 * read, 0 at its end, -1 with *ERR. */
typedef ssize_t (*wr_docker_read_fn) (void *data, char *buf, size_t max, wr_error_t *err);
/* A piece of a 2xx answer; a negative return stops with *ERR. */
typedef int (*wr_docker_data_fn) (void *data, const char *buf, size_t len, wr_error_t *err);

typedef struct {
    const char *method;
    const char *path; /* with its query, each part escaped (wr_docker_escape) */
    json_object *json; /* a JSON body, or NULL */
    wr_docker_read_fn read; /* or a body of unknown length, sent chunked */
    void *read_data;
    const char *content_type; /* of READ's body */
    const char *registry_auth; /* X-Registry-Auth, or NULL */
    wr_docker_data_fn on_data; /* a streamed answer; NULL: the JSON answer in *JSON_OUT */
    void *data;
    int64_t timeout_ms; /* the whole request; 0: none (a stream ended by STOP or dockerd) */
    /* The answer is a hijacked connection (exec start, attach) to which
     * nothing more is sent: our side is shut once the answer starts, as
     * the docker CLI does without stdin, so the connection can end (the
     * sandbox's tunnel ends dockerd's direction only after ours). */
    bool hijack;
} wr_docker_request_t;

/* Sends R; *STATUS (may be NULL) is the answer's status.  Without
 * ON_DATA, a 2xx answer's body is parsed into *JSON_OUT (may be NULL):
 * an object or array, or NULL for an empty body. */
int wr_docker_call (wr_docker_t *d, const wr_docker_request_t *r, long *status,
                    json_object **json_out, wr_error_t *err);

/* Whether the last call failed with dockerd's answer (a non-2xx status),
 * not with the transfer or a callback. */
bool wr_docker_answered_error (const wr_docker_t *d);

/* The shorthand of a JSON request with a deadline of 60 s. */
int wr_docker_json (wr_docker_t *d, const char *method, const char *path, json_object *body,
                    json_object **out, wr_error_t *err);

/* TEXT escaped for a URL's path segment or query value.  Caller frees. */
char *wr_docker_escape (const char *text);

/* The error of a non-2xx answer (STATUS, BODY of LEN bytes) to WHAT:
 * dockerd's message when BODY is {"message": ...}, its text otherwise. */
int wr_docker_answer_error (long status, const char *body, size_t len, const char *what,
                            wr_error_t *err);

/* A JSON value (object or array) of LEN bytes, strictly parsed: at most
 * MAX bytes, valid UTF-8, nothing after it. */
json_object *wr_docker_parse_json (const char *text, size_t len, size_t max, const char *what,
                                   wr_error_t *err);

#endif
