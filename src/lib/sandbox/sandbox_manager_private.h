/* What the manager's files share (sandbox_manager.c, sandbox_create.c,
 * sandbox_recover.c, sandbox_watch.c). */
#ifndef WARREN_SANDBOX_MANAGER_PRIVATE_H
#define WARREN_SANDBOX_MANAGER_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent_client.h"
#include "histogram.h"
#include "image_build.h"
#include "sandbox_db.h"
#include "sandbox_docker_socket.h"
#include "sandbox_manager.h"
#include "sandbox_relay.h"
#include "sandbox_spec.h"

typedef struct wr_sandbox_exposed_s wr_sandbox_exposed_t; /* sandbox_ports.c */

/* A sandbox that runs, as the manager keeps it in memory: its agent
 * connection (opened on first use), the process whose end means the
 * sandbox died, and its Docker socket. */
typedef struct live_s {
    struct live_s *next;
    char *id;
    char *agent_socket;
    wr_agent_client_t *agent; /* NULL until first used, or after it broke */
    int agent_refs; /* references handed out by wr_sandbox_manager_agent */
    wr_agent_client_t **retired; /* broken clients still referenced */
    size_t n_retired;
    int pidfd; /* the sandbox's host process (runsc's sandbox), or -1 */
    char *cgroup;
    wr_docker_socket_t *docker_socket;
    wr_sandbox_relays_t *relays; /* Docker-enabled, with a mirror: its dockerd's pulls */
    wr_sandbox_exposed_t *exposed; /* its exposed ports, by port */
    const char *log_fields[3];
    wr_log_t log; /* its agent clients' ("sandbox", ID) */
    int64_t touched_ms; /* monotonic: when its activity was last written */
    bool deleting;
    bool removing; /* wr_sandbox_live_remove is still at it: not freed by a release */
} live_t;

struct wr_sandbox_manager_s {
    char *root;
    wr_store_t *store;
    wr_registry_t *registry;
    wr_mirror_t *mirror; /* may be NULL */
    const wr_sandbox_host_t *host;
    wr_sandbox_net_t *net; /* NULL: no egress */
    char *port_address; /* NULL: 127.0.0.1 */
    char *init_path;
    int64_t pull_deadline_ms;
    int max_processes; /* per sandbox, for its agent; 0: no limit */
    int64_t keep_ended_ms; /* options->keep_ended_seconds; 0: forever */
    const wr_log_t *log;
    wr_sandbox_db_t *db;
    wr_sandbox_spec_limits_t limits;

    pthread_mutex_t lock; /* LIVE and each live_t's fields */
    live_t *live;
    live_t *dead; /* taken out of LIVE, but an agent of theirs is still held */

    pthread_t watcher;
    bool watching;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    bool stopping;

    char **reconnect; /* adopted Docker-enabled sandboxes to connect to */
    pthread_t reconnecter;
    bool reconnecting;

    wr_histogram_t create_seconds;
    wr_histogram_t docker_ready_seconds;
    wr_histogram_t exec_seconds;
};

/* The live entry of ID (with the lock held), or NULL. */
live_t *wr_sandbox_live_find (wr_sandbox_manager_t *mgr, const char *id);
/* Adds a running sandbox (the lock not held).  PID: its host process (0:
 * not known, none watched).  DOCKER: it has a Docker socket to serve. */
void wr_sandbox_live_add (wr_sandbox_manager_t *mgr, const char *id, const char *agent_dir,
                          pid_t pid, const char *cgroup, bool docker);
/* Takes ID's entry out of LIVE and frees it: its agent closed (a client
 * still referenced is freed at its release), its Docker socket removed.
 * The lock not held. */
void wr_sandbox_live_remove (wr_sandbox_manager_t *mgr, const char *id);

/* Ends sandbox ID: marks it stopping, removes everything it owns on the
 * host and marks it TO (stopped or failed) with REASON. */
int wr_sandbox_end (wr_sandbox_manager_t *mgr, const char *id, wr_sandbox_state_t to,
                    const char *reason, wr_error_t *err);

/* Why a sandbox whose cgroup is CGROUP ended on its own: "out of memory"
 * when its memory cgroup saw an OOM kill, else DEFAULT_REASON.  Caller
 * frees. */
char *wr_sandbox_death_reason (const char *cgroup, const char *default_reason);

/* The record of ID, an id or a name (a name first); kind not_found. */
int wr_sandbox_lookup (wr_sandbox_manager_t *mgr, const char *id, wr_sandbox_record_t *record,
                       wr_error_t *err);
/* The id of running sandbox ID (an id or a name); kind unavailable when
 * it is not running.  Caller frees. */
char *wr_sandbox_running_id (wr_sandbox_manager_t *mgr, const char *id, wr_error_t *err);

/* ROOT/contexts, where build contexts are kept (sandbox_context.c).
 * Caller frees. */
char *wr_sandbox_contexts_dir (const wr_sandbox_manager_t *mgr);

/* Exposed ports (sandbox_ports.c).  The address they listen on; a live
 * sandbox's as a JSON array (the lock held; L may be NULL); exposing
 * PORTS of a new sandbox; listening again on the ports the database has
 * for an adopted one; stopping a list taken out of a live entry (the
 * lock not held). */
const char *wr_sandbox_port_address (const wr_sandbox_manager_t *mgr);
json_object *wr_sandbox_ports_json_locked (const wr_sandbox_manager_t *mgr, const live_t *l);
int wr_sandbox_ports_apply (wr_sandbox_manager_t *mgr, const char *id, const int *ports, size_t n,
                            wr_error_t *err);
void wr_sandbox_ports_restore (wr_sandbox_manager_t *mgr, const char *id);
void wr_sandbox_ports_stop (wr_sandbox_exposed_t *list);

/* Egress (sandbox_network.c).  A record's current policy (its PATCHed
 * one, else its spec's); a new sandbox's address and rules (its address
 * recorded at once, so that its end frees it whatever happens; *ADDRESS 0
 * without an uplink); removing them at its end (errors logged); its rules
 * again after a restart. */
int wr_sandbox_policy_of (const wr_sandbox_record_t *record, wr_net_policy_t *out, wr_error_t *err);
int wr_sandbox_network_reserve (wr_sandbox_manager_t *mgr, const char *id,
                                const wr_net_policy_t *policy, uint32_t *address, wr_error_t *err);
void wr_sandbox_network_release (wr_sandbox_manager_t *mgr, const char *id, const char *address);
void wr_sandbox_network_adopt (wr_sandbox_manager_t *mgr, const wr_sandbox_record_t *record);

/* The network of a sandbox's image build steps (sandbox_build_network.c):
 * the sandbox's namespace and link (ADDRESS, from the reserve above) made
 * now, the resolver POLICY gives it, and NETWORK for the build's options
 * (only when ACTIVE: without an uplink the steps get no network).  Close
 * it after the build; the namespace and link stay, the sandbox's. */
typedef struct {
    bool active;
    wr_build_network_t network;
    const wr_sandbox_host_t *host;
    const char *id;
    uint32_t address;
    int uplink_fd;
    char *netns_path;
    char *resolv_path;
} wr_sandbox_build_network_t;

int wr_sandbox_build_network_open (wr_sandbox_manager_t *mgr, const char *id, uint32_t address,
                                   const wr_net_policy_t *policy, wr_sandbox_build_network_t *bn,
                                   wr_error_t *err);
void wr_sandbox_build_network_close (wr_sandbox_build_network_t *bn);

/* At open: sandboxes a previous warrend left (sandbox_recover.c). */
int wr_sandbox_recover (wr_sandbox_manager_t *mgr, wr_error_t *err);
/* Connects, on a thread of its own, to the agents of the Docker-enabled
 * sandboxes recovery adopted (their dockerd's pulls are relayed on
 * warrend's connection), so that an agent that does not answer delays
 * neither warrend's start nor the others.  Stopped (joined) after the
 * watcher, whose STOPPING it reads between sandboxes. */
int wr_sandbox_reconnect_start (wr_sandbox_manager_t *mgr, wr_error_t *err);
void wr_sandbox_reconnect_stop (wr_sandbox_manager_t *mgr);

/* The thread that ends expired sandboxes and notices dead ones
 * (sandbox_watch.c). */
int wr_sandbox_watch_start (wr_sandbox_manager_t *mgr, wr_error_t *err);
void wr_sandbox_watch_stop (wr_sandbox_manager_t *mgr);

#endif
