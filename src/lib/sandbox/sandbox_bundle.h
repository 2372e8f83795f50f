/* The bundle of a warrend sandbox (sandbox_bundle.c): bundle.h's bundle of
 * an image in the store (config.json from the image config, host overlayfs
 * root), with what makes it a sandbox of warrend's:
 *
 *   process   warren-init's agent mode, `/.warren/init --agent-socket
 *             /.warren/agent/agent.sock [--docker]` (or the args given),
 *             with the image's user and env, the request's env and cwd
 *   mounts    warren-init read-only at /.warren/init; the host directory
 *             AGENT_DIR (ROOT/sandboxes/ID/agent) at /.warren/agent, where
 *             the agent creates its socket (runsc --host-uds=create)
 *   profile   docker when docker_enabled, default otherwise
 *   resources cpu quota over a 100 ms period, memory limit, pids limit
 *   linux     the sandbox's network namespace by path, its cgroup path
 *   annotations  dev.warren.sandbox.id (and .name) */
#ifndef WARREN_SANDBOX_BUNDLE_H
#define WARREN_SANDBOX_BUNDLE_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "manifest.h"
#include "store.h"

/* Where the agent's socket directory is mounted, and its socket. */
#define WR_SANDBOX_AGENT_DIR "/.warren/agent"
#define WR_SANDBOX_AGENT_SOCKET WR_SANDBOX_AGENT_DIR "/agent.sock"
/* The annotations naming the sandbox. */
#define WR_SANDBOX_ANNOTATION_ID "dev.warren.sandbox.id"
#define WR_SANDBOX_ANNOTATION_NAME "dev.warren.sandbox.name"
/* The CFS period the cpu number is a fraction of (microseconds). */
#define WR_SANDBOX_CPU_PERIOD 100000

typedef struct {
    const char *id; /* the sandbox's id (annotation, hostname when none) */
    const char *name; /* its name, or NULL */
    /* The process: NULL is the agent (wr_sandbox_agent_args); a test may
     * give `/.warren/init -- sleep 3600` (warren-init as a plain PID 1). */
    const char *const *args;
    const char *const *env; /* NAME=VALUE after the image's, or NULL */
    const char *cwd; /* NULL: the image's WorkingDir, else "/" */
    const char *hostname; /* NULL: "warren" */
    double cpu; /* CPUs (0.5, 1, 2); 0: no limit */
    int64_t memory_bytes; /* 0: no limit */
    int64_t pids_limit; /* 0: no limit */
    /* Processes the agent runs at once for the API (its exec refuses
     * more, kind too_many); 0: no limit. */
    int max_processes;
    bool docker_enabled; /* the docker profile (else the default one) */
    const char *init_host_path; /* warren-init on the host (absolute) */
    const char *agent_dir; /* host directory mounted at WR_SANDBOX_AGENT_DIR */
    const char *netns_path; /* the network namespace to join (absolute) */
    /* linux.cgroupsPath ("/warren/ID": runsc makes it in every cgroup v1
     * controller and removes it at delete); NULL: none. */
    const char *cgroups_path;
    /* Egress (sandbox_net.h): the sandbox's address, host byte order (0:
     * loopback only), and the uplink namespace its link's host end goes to
     * (wr_sandbox_launch makes the link). */
    uint32_t address;
    int uplink_fd;
    /* /etc/resolv.conf's text (kept as DIR/resolv.conf and mounted
     * read-only), or NULL: the image's own. */
    const char *resolv_conf;
} wr_sandbox_bundle_options_t;

/* `/.warren/init --agent-socket /.warren/agent/agent.sock
 * [--agent-max-processes N] [--docker]`, NULL-terminated (MAX_PROCESSES 0:
 * none given); caller frees with wr_strv_free. */
char **wr_sandbox_agent_args (bool docker_enabled, int max_processes);

/* The CFS quota for CPU cpus over WR_SANDBOX_CPU_PERIOD (at least 1000
 * microseconds, the kernel's minimum). */
int64_t wr_sandbox_cpu_quota (double cpu);

/* Makes the bundle DIR (which must not exist) for image RECORD of STORE
 * (CONFIG its parsed config).  On failure nothing of DIR is left. */
int wr_sandbox_bundle_create (wr_store_t *store, const wr_image_record_t *record,
                              const wr_image_config_t *config, const char *dir,
                              const wr_sandbox_bundle_options_t *options, wr_error_t *err);

#endif
