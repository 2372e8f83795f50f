/* A forward: every connection accepted on a listening socket of warrend's
 * host is carried into one sandbox through its agent (a tunnel.open stream,
 * docs/agent-protocol.md), to dockerd's socket there or to a TCP port on
 * the sandbox's 127.0.0.1.  The sandbox's Docker socket on the host
 * (sandbox_docker_socket.h) and its exposed ports (sandbox_ports.h) are
 * forwards.  Each connection has a thread of its own (at most 64 at once;
 * more are closed at once); nothing crosses a network between them. */
#ifndef WARREN_SANDBOX_FORWARD_H
#define WARREN_SANDBOX_FORWARD_H

#include "error.h"
#include "log.h"

typedef struct wr_sandbox_manager_s wr_sandbox_manager_t;
typedef struct wr_forward_s wr_forward_t;

/* Where a forward's connections go: TARGET "docker" (PORT unused) or
 * "tcp" with PORT (1-65535). */
typedef struct {
    const char *target;
    int port;
} wr_forward_target_t;

/* Serves FD (a listening socket; taken: closed on failure too) for sandbox
 * ID of MGR.  WHAT names the forward in log lines ("docker socket", "port
 * 8080").  LOG may be NULL. */
wr_forward_t *wr_forward_start (wr_sandbox_manager_t *mgr, const char *id, int fd,
                                wr_forward_target_t target, const char *what, const wr_log_t *log,
                                wr_error_t *err);
/* Connections served now, and since the start. */
unsigned wr_forward_open (wr_forward_t *forward);
unsigned long wr_forward_total (wr_forward_t *forward);
/* Stops accepting, closes the listening socket, ends the open connections
 * and waits for their threads.  NULL is nothing. */
void wr_forward_stop (wr_forward_t *forward);

#endif
