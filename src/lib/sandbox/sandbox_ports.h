/* Exposed ports: a TCP port of a running sandbox (on its 127.0.0.1, where
 * a server in the sandbox, or a nested container with --network=host or a
 * published port, listens) made reachable on warrend's host, on the
 * manager's port address (127.0.0.1 unless the operator sets another) and
 * a host port the kernel picks or the caller names.  Each is a forward
 * (sandbox_forward.h) through the sandbox's agent: no route into the
 * sandbox's network namespace is needed, so exposure does not depend on
 * the sandbox's egress rules.
 *
 * Exposed ports are kept in the state database (sandbox_db.h): a warrend
 * that adopts a running sandbox listens on the same host ports again.
 * They end with the sandbox. */
#ifndef WARREN_SANDBOX_PORTS_H
#define WARREN_SANDBOX_PORTS_H

#include <json-c/json.h>

#include "error.h"

typedef struct wr_sandbox_manager_s wr_sandbox_manager_t;

/* Exposes PORT (1-65535) of running sandbox ID (an id or a name) on
 * HOST_PORT (0: one the kernel picks).  Answers the Port object
 * {"port", "host", "host_port", "url"}.  Kind exists when PORT is exposed
 * already or HOST_PORT is in use; not_found for an unknown sandbox;
 * conflict-like invalid for one not running. */
json_object *wr_sandbox_manager_expose (wr_sandbox_manager_t *mgr, const char *id, int port,
                                        int host_port, wr_error_t *err);
/* Stops exposing PORT of ID (kind not_found when it is not exposed). */
int wr_sandbox_manager_unexpose (wr_sandbox_manager_t *mgr, const char *id, int port,
                                 wr_error_t *err);
/* {"ports": [Port, ...]} of ID, by port (empty for a sandbox not running). */
json_object *wr_sandbox_manager_ports (wr_sandbox_manager_t *mgr, const char *id, wr_error_t *err);

#endif
