/* Sandboxes through warrend's API (docs/api.md, "Sandbox"): create (with
 * its events), get, list, the idle lifetime, delete, the Docker events. */
#ifndef WARREN_CLIENT_SANDBOX_H
#define WARREN_CLIENT_SANDBOX_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "client.h"
#include "error.h"

/* A sandbox's spec as a struct; wr_client_sandbox_spec_json makes the body
 * of a create from it (or write the JSON yourself). */
typedef struct {
    const char *image; /* required: a reference */
    double cpu; /* CPUs (0: warrend's default) */
    int64_t memory; /* bytes (0: default) */
    bool docker_enabled;
    const char *const *env; /* "KEY=VALUE", NULL-ended; NULL for none */
    const char *workdir; /* NULL: the image's */
    const char *name; /* NULL: none */
    const char *const *labels; /* "KEY=VALUE", NULL-ended */
    bool keep_warm_set; /* KEEP_WARM_SECONDS is sent (-1: never expire) */
    int64_t keep_warm_seconds;
    int64_t pids_limit; /* 0: default */
} wr_client_sandbox_spec_t;

/* The body for wr_client_sandbox_create.  Fails (INVALID) for a missing
 * image or an env or label entry without '='.  Caller puts it. */
json_object *wr_client_sandbox_spec_json (const wr_client_sandbox_spec_t *spec, wr_error_t *err);

/* What the client reads of a Sandbox (pointers into its JSON, valid while
 * it lives).  Absent optional members are NULL, 0 or false. */
typedef struct {
    const char *id, *name, *state, *reason, *image, *docker_socket, *workdir;
    bool docker_enabled;
    int64_t memory, keep_warm_seconds, created_ms, expires_ms;
    double cpu;
} wr_client_sandbox_t;

/* SANDBOX checked (id and state strings, the types of the rest) and read. */
int wr_client_sandbox_read (json_object *sandbox, wr_client_sandbox_t *out, wr_error_t *err);

/* POST /v1/sandboxes with SPEC (an object, sent as it is).  With ON_EVENT
 * the answer is a stream (Accept: application/x-ndjson): ON_EVENT gets
 * every event line as it comes (state, pull, docker.waiting,
 * docker.ready, ...), the final {"event": "sandbox"} too; a stream's
 * error line fails the call with its kind and message.  *SANDBOX: the
 * Sandbox (caller puts it). */
int wr_client_sandbox_create (wr_client_t *client, json_object *spec, wr_client_event_fn on_event,
                              void *data, json_object **sandbox, wr_error_t *err);

/* GET /v1/sandboxes/{id} (ID: an id or a name). */
int wr_client_sandbox_get (wr_client_t *client, const char *id, json_object **sandbox,
                           wr_error_t *err);

typedef struct {
    const char *state; /* NULL: any */
    const char *name;
    const char *const *labels; /* "KEY=VALUE", NULL-ended, ANDed */
} wr_client_sandbox_filter_t;

/* GET /v1/sandboxes: *SANDBOXES is the array of Sandbox objects (each
 * checked; caller puts it).  FILTER may be NULL. */
int wr_client_sandbox_list (wr_client_t *client, const wr_client_sandbox_filter_t *filter,
                            json_object **sandboxes, wr_error_t *err);

/* PATCH /v1/sandboxes/{id} {"keep_warm_seconds": SECONDS}.  SANDBOX may
 * be NULL. */
int wr_client_sandbox_keep_warm (wr_client_t *client, const char *id, int64_t seconds,
                                 json_object **sandbox, wr_error_t *err);

/* DELETE /v1/sandboxes/{id}.  SANDBOX (the stopped one) may be NULL. */
int wr_client_sandbox_delete (wr_client_t *client, const char *id, json_object **sandbox,
                              wr_error_t *err);

/* GET /v1/sandboxes/{id}/docker: the docker.* events to ON_EVENT until
 * the stream ends (ready, or its error). */
int wr_client_sandbox_docker (wr_client_t *client, const char *id, wr_client_event_fn on_event,
                              void *data, wr_error_t *err);

#endif
