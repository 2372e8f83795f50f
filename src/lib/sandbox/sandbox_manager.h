/* The sandboxes of one warrend: what the API's sandbox routes call.
 *
 * The manager owns the state database (sandbox_db.h), starts sandboxes
 * (an image from the store, a bundle, a network namespace, runsc:
 * sandbox_bundle.h, sandbox_netns.h, sandbox_runsc.h), connects to the agent
 * in each (agent_client.h), ends them when their lifetime expires, and, when
 * it opens after a crash, re-adopts the sandboxes that still run, marks the
 * dead ones failed with the reason and removes half-created ones.
 *
 * Sandboxes are answered as JSON objects in the shape docs/api.md gives
 * ("Sandbox").  Every function is thread-safe: the API calls them from many
 * connection threads at once. */
#ifndef WARREN_SANDBOX_MANAGER_H
#define WARREN_SANDBOX_MANAGER_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "build_context.h"
#include "cancel.h"
#include "error.h"
#include "log.h"
#include "mirror.h"
#include "registry.h"
#include "store.h"
#include "sandbox_db.h"
#include "sandbox_net.h"
#include "sandbox_policy.h"
#include "sandbox_runsc.h"

typedef struct wr_sandbox_manager_s wr_sandbox_manager_t;
typedef struct wr_agent_client_s wr_agent_client_t;

typedef struct {
    /* warrend's state directory: its database, and ROOT/sandboxes. */
    const char *root;
    /* Where images come from and are kept (shared with the rest of
     * warrend; both must outlive the manager). */
    wr_store_t *store;
    wr_registry_t *registry;
    /* The registry mirror Docker-enabled sandboxes' dockerd pulls through
     * (relayed by their agents: sandbox_relay.h); NULL: relays refused.
     * Must outlive the manager. */
    wr_mirror_t *mirror;
    /* How sandboxes run on the host (sandbox_runsc.h); its strings and
     * backend must outlive the manager. */
    const wr_sandbox_host_t *host;
    /* Sandboxes' egress (sandbox_net.h), or NULL: loopback only.  Must
     * outlive the manager. */
    wr_sandbox_net_t *net;
    /* The address exposed ports listen on (sandbox_ports.h); NULL:
     * 127.0.0.1. */
    const char *port_address;
    /* warren-init on the host, mounted into every sandbox. */
    const char *init_path;
    /* The longest any sandbox lives, in seconds, whatever it asks for
     * (0: no daemon-wide limit). */
    int64_t max_lifetime_seconds;
    /* How long the record of a sandbox that ended (stopped or failed) is
     * kept, for a GET or a list to say why, in seconds (0: forever).  The
     * watcher forgets older ones, so that the database does not grow with
     * every sandbox ever made. */
    int64_t keep_ended_seconds;
    /* How long a create may take to pull its image (0: 10 minutes). */
    int64_t pull_deadline_ms;
    /* Per-client limits (0: none): the sandboxes a client (the create's
     * CLIENT) may have at once, and the processes started through the API
     * that may run at once in each sandbox (its agent refuses more).  Both
     * are refused with kind too_many. */
    int64_t max_sandboxes_per_client;
    int max_processes_per_sandbox;
    const wr_log_t *log;
} wr_sandbox_manager_options_t;

/* Opens the database (creating or migrating it), recovers what a previous
 * warrend left (see above) and starts the thread that ends expired
 * sandboxes. */
wr_sandbox_manager_t *wr_sandbox_manager_open (const wr_sandbox_manager_options_t *options,
                                               wr_error_t *err);
/* Stops the manager's threads and closes its agent connections; the
 * sandboxes keep running, for the next warrend to adopt. */
void wr_sandbox_manager_close (wr_sandbox_manager_t *mgr);

/* Called with each event of a create (docs/api.md, "Creating"), a
 * reference the callee takes. */
typedef void (*wr_sandbox_event_fn) (json_object *event, void *data);

/* Creates a sandbox from BODY (the API's create body, parsed and checked
 * here: a bad one is an error of kind invalid naming the field) for CLIENT
 * (who asked, counted against its limit; NULL: no one) and waits until it
 * runs (and, with docker_enabled, until its dockerd answers).  Returns the
 * Sandbox; on failure nothing of it is left but its record, failed with
 * the reason. */
json_object *wr_sandbox_manager_create (wr_sandbox_manager_t *mgr, json_object *body,
                                        const char *client, wr_sandbox_event_fn on_event,
                                        void *data, const wr_cancel_t *cancel, wr_error_t *err);

/* Fails (kind too_many) when CLIENT may have no more sandboxes now: for an
 * answer before a create's stream of events starts. */
int wr_sandbox_manager_client_check (wr_sandbox_manager_t *mgr, const char *client,
                                     wr_error_t *err);

/* ID is an id or a name.  Not found: kind not_found naming it. */
json_object *wr_sandbox_manager_get (wr_sandbox_manager_t *mgr, const char *id, wr_error_t *err);

/* {"sandboxes": [...]}, oldest first. */
json_object *wr_sandbox_manager_list (wr_sandbox_manager_t *mgr, const wr_sandbox_filter_t *filter,
                                      wr_error_t *err);

/* Sets a running sandbox's keep_warm_seconds (-1: never expires) and its
 * expiry from now. */
json_object *wr_sandbox_manager_set_lifetime (wr_sandbox_manager_t *mgr, const char *id,
                                              int64_t keep_warm_seconds, wr_error_t *err);

/* Gives running sandbox ID the network POLICY (sandbox_policy.h) at once
 * and keeps it for a restart. */
json_object *wr_sandbox_manager_set_network (wr_sandbox_manager_t *mgr, const char *id,
                                             const wr_net_policy_t *policy, wr_error_t *err);

/* Reads a tar archive with READ_FN and keeps it as a build context
 * (wr_build_context_add) in ROOT/contexts, for the image.context of a
 * create with a Dockerfile; *INFO gets its digest. */
int wr_sandbox_manager_add_context (wr_sandbox_manager_t *mgr, wr_build_context_read_fn read_fn,
                                    void *data, wr_build_context_info_t *info, wr_error_t *err);

/* Stops a sandbox and removes everything it owns on the host; its record
 * stays, stopped with the reason "deleted". */
json_object *wr_sandbox_manager_delete (wr_sandbox_manager_t *mgr, const char *id, wr_error_t *err);

/* The agent of a running sandbox, for process and file calls (a reference:
 * release it with wr_sandbox_manager_release).  Counts as activity on the
 * sandbox (its idle lifetime starts again). */
wr_agent_client_t *wr_sandbox_manager_agent (wr_sandbox_manager_t *mgr, const char *id,
                                             wr_error_t *err);
void wr_sandbox_manager_release (wr_sandbox_manager_t *mgr, wr_agent_client_t *agent);

/* Sends a Docker-enabled running sandbox's readiness as the create does
 * (docker.waiting, then docker.ready: at once when dockerd answers
 * already); fails with dockerd's failure, or kind not_found for a sandbox
 * without Docker. */
int wr_sandbox_manager_watch_docker (wr_sandbox_manager_t *mgr, const char *id,
                                     wr_sandbox_event_fn on_event, void *data,
                                     const wr_cancel_t *cancel, wr_error_t *err);

/* Records an exec's round trip (for /metrics). */
void wr_sandbox_manager_observe_exec (wr_sandbox_manager_t *mgr, double seconds);

/* The counts and histograms of /metrics, in Prometheus text format
 * (caller frees). */
char *wr_sandbox_manager_metrics (wr_sandbox_manager_t *mgr);

#endif
