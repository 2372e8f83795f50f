/* The HTTP server of warrend's API (libmicrohttpd): a unix socket, mode
 * 0660 and owned by a configured group, and optionally a TCP listener on
 * which every route but the public ones (the health check) needs a bearer
 * token.  Each connection has a thread of its own (so a handler may block
 * and a stream of events may wait for its producer); the number of
 * connections is bounded.  Requests go through a router (api_router.h);
 * every answer, errors included, is JSON.
 *
 * The server logs one line per request through the log it is given, and
 * hands each handler a child log with the request's id (also sent back in
 * X-Request-Id) and the client's identity: "uid:N", the peer's user on the
 * unix socket (SO_PEERCRED), or "tcp:ADDRESS", the peer's address on TCP.
 * Per-client limits (the request rate here, sandboxes and processes in
 * the handlers) count by it. */
#ifndef WARREN_API_SERVER_H
#define WARREN_API_SERVER_H

#include <stdbool.h>
#include <sys/types.h>

#include "api_router.h"
#include "error.h"
#include "log.h"

typedef struct {
    /* The unix socket to create (a stale one is replaced, a live one is
     * refused); NULL for none. */
    const char *socket_path;
    /* The socket's group (its mode is 0660) when SET_SOCKET_GROUP. */
    bool set_socket_group;
    gid_t socket_group;
    /* A TCP listener on this numeric address (no name lookups) and port
     * (0: any free one, see wr_api_server_tcp_port); NULL for none. */
    const char *tcp_host;
    unsigned short tcp_port;
    /* The bearer token the TCP listener requires; must be set with
     * TCP_HOST. */
    const char *token;
    const wr_api_router_t *router;
    const wr_log_t *log;
    /* 0: 256 connections at once, and 60 s of a connection's silence. */
    unsigned max_connections;
    unsigned idle_timeout_seconds;
    /* Requests each client may send a second, and at once (api_rate.h),
     * the health check aside; a request over it is answered 429 with
     * Retry-After.  0: no limit. */
    double client_rate;
    unsigned client_burst;
} wr_api_server_options_t;

typedef struct wr_api_server_s wr_api_server_t;

/* Creates the listeners and starts serving.  OPTIONS's strings and router
 * must outlive the server. */
wr_api_server_t *wr_api_server_start (const wr_api_server_options_t *options, wr_error_t *err);

/* The TCP listener's port (useful with port 0), or 0 without one. */
unsigned short wr_api_server_tcp_port (const wr_api_server_t *server);

/* Stops gracefully: no new connections, event streams ended, requests
 * being answered finished; the unix socket removed.  Frees SERVER. */
void wr_api_server_stop (wr_api_server_t *server);

#endif
