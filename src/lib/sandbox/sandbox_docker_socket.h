/* A Docker-enabled sandbox's Engine API on the host: a unix socket per
 * sandbox (ROOT/sandboxes/ID/docker.sock, mode 0660) whose every connection
 * is carried to the sandbox's dockerd through the agent (a tunnel.open
 * docker stream), so the host's `docker` CLI, docker-py or Compose talk to
 * the sandbox's own dockerd, with no network between them. */
#ifndef WARREN_SANDBOX_DOCKER_SOCKET_H
#define WARREN_SANDBOX_DOCKER_SOCKET_H

#include "error.h"
#include "log.h"

typedef struct wr_sandbox_manager_s wr_sandbox_manager_t;
typedef struct wr_docker_socket_s wr_docker_socket_t;

/* Listens on PATH (a stale socket there is replaced) for sandbox ID of MGR,
 * each connection on a thread of its own. */
wr_docker_socket_t *wr_docker_socket_start (wr_sandbox_manager_t *mgr, const char *id,
                                            const char *path, const wr_log_t *log, wr_error_t *err);
const char *wr_docker_socket_path (const wr_docker_socket_t *sock);
/* Stops listening, ends the open connections, removes the socket. */
void wr_docker_socket_stop (wr_docker_socket_t *sock);

#endif
