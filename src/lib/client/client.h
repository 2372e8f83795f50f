/* The C client of warrend's HTTP API (docs/api.md): HTTP/1.1 with libcurl
 * over warrend's unix socket, or over TCP with a bearer token.
 *
 * A client is an immutable value once made: every call makes its own
 * connection (one curl easy handle), so any number of threads may use one
 * client at once.  The library reads no environment: the program resolves
 * the socket ($WARREN_HOST, --root) and the token and passes them in.
 *
 * Errors: an error answer's {"error": {"kind", "message"}} becomes the
 * wr_error_t, with the kind the server named and its message; a 401 has
 * errno EACCES.  When warrend cannot be reached the kind is UNAVAILABLE
 * and the message says where it was looked for and what to do.  Answers
 * are read strictly (sizes bounded, types checked): a broken or hostile
 * server gives an error, never a crash.
 *
 * Objects (Sandbox, Process, FileInfo) are handed back as the JSON the
 * server sent (json-c, the caller puts the reference), checked first for
 * the members and types client_sandbox.h, client_process.h and
 * client_files.h read. */
#ifndef WARREN_CLIENT_H
#define WARREN_CLIENT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

typedef struct wr_client_s wr_client_t;

typedef struct {
    /* Where warrend is: a unix socket's path ("/run/warren/warrend.sock",
     * also written "unix:PATH" or "unix://PATH"), or "http://HOST:PORT".
     * Required. */
    const char *host;
    /* The bearer token sent as "Authorization: Bearer TOKEN" (NULL: none;
     * the unix socket needs none). */
    const char *token;
    /* Connecting (default 10 s) and each call's whole time (default
     * 120 s).  Calls that stream or wait (create, wait, output, uploads
     * and downloads, the Docker events, delete) have no overall limit: only a
     * stalled connection (no byte for STALL_TIMEOUT_MS, default 0: none)
     * ends them. */
    int64_t connect_timeout_ms;
    int64_t timeout_ms;
    int64_t stall_timeout_ms;
    /* The User-Agent (default "warren-client/VERSION"). */
    const char *user_agent;
} wr_client_options_t;

wr_client_t *wr_client_new (const wr_client_options_t *options, wr_error_t *err);
void wr_client_free (wr_client_t *client);

/* The host as given (a socket path, or the URL), for messages. */
const char *wr_client_host (const wr_client_t *client);

/* GET /v1/health: {"status": "ok", "version": "..."}, checked.  Caller puts
 * *HEALTH. */
int wr_client_health (wr_client_t *client, json_object **health, wr_error_t *err);
/* GET /v1/version: {"version", "api_versions", ...}, checked. */
int wr_client_version (wr_client_t *client, json_object **version, wr_error_t *err);

/* A callback's answer to one event of a stream (a create's, the Docker
 * events): -1 (with *ERR) stops the stream, and the call fails with that
 * error.  EVENT is borrowed. */
typedef int (*wr_client_event_fn) (void *data, json_object *event, wr_error_t *err);

#endif
