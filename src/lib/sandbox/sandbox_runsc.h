/* Starting and stopping a warrend sandbox on the host with runsc
 * (sandbox_runsc.c).
 *
 * What a sandbox ID owns on the host, all found again from its id:
 *
 *   ROOT/sandboxes/ID/bundle     config.json and the overlay root
 *                                (sandbox_bundle.h)
 *   ROOT/sandboxes/ID/agent      bind-mounted at /.warren/agent: the
 *                                agent's socket (--host-uds=create)
 *   ROOT/sandboxes/ID/runsc.log  runsc's own log (--log)
 *   ROOT/sandboxes/ID/init.log   what the sandbox's PID 1 prints
 *   ROOT/runsc/                  runsc's state (--root): container ID
 *   NETNS_DIR/warren-SHORTID     its network namespace (sandbox_netns.h)
 *   CGROUP_PARENT/ID             its cgroup in every hierarchy
 *
 * Every sandbox runs with --network=sandbox (gVisor's network stack) in
 * its namespace (runsc joins linux.namespaces' network path),
 * --host-uds=create, --overlay2=none (the bundle's root is a host overlay),
 * and, only when docker_enabled, the docker profile's flags (--net-raw and
 * the packet-socket-write flag the installed runsc spells).  `runsc start`
 * runs in a private mount namespace with a tmpfs over /proc/sys/net where
 * the probe says runsc needs the rmem_default workaround. */
#ifndef WARREN_SANDBOX_RUNSC_H
#define WARREN_SANDBOX_RUNSC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "log.h"
#include "runtime_backend.h"
#include "sandbox_bundle.h"

/* Where and how warrend runs its sandboxes: filled by warrend's main. */
typedef struct {
    wr_backend_t *runsc; /* the runsc backend; probed on first use */
    const char *root; /* warrend's state root (absolute) */
    const char *netns_dir; /* where network namespaces are mounted (absolute) */
    const char *cgroup_parent; /* "/warren": a sandbox's cgroup is PARENT/ID */
    const char *platform; /* runsc --platform; NULL: runsc's default (systrap) */
    bool debug_log; /* runsc --debug --debug-log=ROOT/sandboxes/ID/debug/ */
    int timeout_ms; /* each runsc command; 0: 60 s */
    const wr_log_t *log;
} wr_sandbox_host_t;

/* What wr_sandbox_launch started. */
typedef struct {
    char *container_id; /* runsc's (under ROOT/runsc) */
    pid_t pid; /* the sandbox's process on the host (runsc state's pid) */
    char *cgroup_path; /* CGROUP_PARENT/ID */
    char *netns_path;
    char *dir; /* ROOT/sandboxes/ID */
} wr_sandbox_launched_t;

void wr_sandbox_launched_clear (wr_sandbox_launched_t *launched);

typedef enum {
    WR_RUNSC_STATE_GONE, /* runsc knows no such container */
    WR_RUNSC_STATE_CREATING,
    WR_RUNSC_STATE_CREATED,
    WR_RUNSC_STATE_RUNNING,
    WR_RUNSC_STATE_PAUSED,
    WR_RUNSC_STATE_STOPPED,
} wr_runsc_state_t;

/* "gone", "creating", "created", "running", "paused", "stopped". */
const char *wr_runsc_state_name (wr_runsc_state_t state);

/* Whether ID can name a sandbox: 1 to 64 of [A-Za-z0-9_.-], not starting
 * with '.' or '-'. */
int wr_sandbox_check_id (const char *id, wr_error_t *err);

/* ROOT/sandboxes/ID, ROOT/runsc, CGROUP_PARENT/ID, NETNS_DIR/warren-SHORT:
 * caller frees. */
char *wr_sandbox_dir (const wr_sandbox_host_t *host, const char *id);
char *wr_sandbox_runsc_root (const wr_sandbox_host_t *host);
char *wr_sandbox_cgroup_path (const wr_sandbox_host_t *host, const char *id);
char *wr_sandbox_netns_path (const wr_sandbox_host_t *host, const char *id);

/* `runsc --root ROOT/runsc`, the start of any runsc command line for the
 * host's sandboxes (for `exec` from tests and tools).  NULL-terminated;
 * caller frees. */
char **wr_sandbox_runsc_argv (const wr_sandbox_host_t *host, wr_error_t *err);

/* The network namespace of sandbox ID and, when ADDRESS is not 0, its
 * link (ADDRESS on eth0, through the uplink UPLINK_FD), made when the
 * namespace is missing; when it is there already (made for the steps of
 * the sandbox's image build), eth0 gets its address and route back. */
int wr_sandbox_network_ready (const wr_sandbox_host_t *host, const char *id, uint32_t address,
                              int uplink_fd, wr_error_t *err);

/* The rmem_default workaround (see above) as a child-setup function: in a
 * child between fork and exec, async-signal-safe; 0 or an errno. */
int wr_sandbox_rmem_workaround (void *data);

/* Starts sandbox OPTIONS->id of image RECORD (CONFIG its config) from
 * STORE: its directory, network namespace and bundle (OPTIONS' agent_dir,
 * netns_path and cgroups_path are filled here; leave them NULL), then
 * `runsc create` and `runsc start`.  On failure everything made is
 * destroyed again (wr_sandbox_destroy) and the error carries runsc's
 * last words. */
int wr_sandbox_launch (const wr_sandbox_host_t *host, wr_store_t *store,
                       const wr_image_record_t *record, const wr_image_config_t *config,
                       const wr_sandbox_bundle_options_t *options, wr_sandbox_launched_t *launched,
                       wr_error_t *err);

/* The container's state from `runsc state` (its JSON parsed strictly: an
 * object with string id and status and integer pid); GONE when runsc has
 * no such container.  *PID (when not NULL) gets its pid, or 0. */
int wr_sandbox_runsc_state (const wr_sandbox_host_t *host, const char *id, wr_runsc_state_t *state,
                            pid_t *pid, wr_error_t *err);

/* `runsc kill ID SIGNAL` (--all: every process in it).  A container that is
 * gone is an error of kind not_found. */
int wr_sandbox_kill (const wr_sandbox_host_t *host, const char *id, int signal, bool all,
                     wr_error_t *err);

/* `runsc delete -force ID`; a container that is gone is not an error. */
int wr_sandbox_delete (const wr_sandbox_host_t *host, const char *id, wr_error_t *err);

/* Runs the runsc command line ARGV (wr_sandbox_runsc_argv + a command)
 * with stdin from /dev/null, its stdout and stderr collected into *OUTPUT
 * (caller frees), waiting at most TIMEOUT_MS (0: the host's).  In a
 * private mount namespace with a tmpfs over /proc/sys/net when
 * RMEM_WORKAROUND.  *STATUS gets the wait status. */
int wr_sandbox_runsc_run (const wr_sandbox_host_t *host, char *const *argv, bool rmem_workaround,
                          int timeout_ms, char **output, int *status, wr_error_t *err);

/* Parses `runsc state` output (exposed for the unit test and the fuzz
 * target). */
int wr_runsc_state_parse (const char *text, size_t len, const char *id, wr_runsc_state_t *state,
                          pid_t *pid, wr_error_t *err);

#endif
