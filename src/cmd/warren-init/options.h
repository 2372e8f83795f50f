/* warren-init's command line and the environment variables of its Docker
 * mode.  Parsing only: nothing here touches the system, so it is unit
 * tested. */
#ifndef WARREN_INIT_OPTIONS_H
#define WARREN_INIT_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/* Exit codes of warren-init itself (the child's code is passed on as is,
 * or 128+N when a signal N killed it). */
#define INIT_EXIT_FAILURE 125 /* bad usage, Docker preparation or dockerd failed */
#define INIT_EXIT_CANNOT_EXECUTE 126 /* the command exists but cannot be run */
#define INIT_EXIT_NOT_FOUND 127 /* the command does not exist */

typedef struct {
    bool docker; /* --docker */
    bool help; /* --help: print usage and exit 0 */
    bool version; /* --version */
    char **command; /* points into argv; NULL when no command was given */
    const char *agent_socket; /* --agent-socket PATH: serve the agent protocol there */
    const char *agent_root; /* --agent-root DIR: the root of file requests ("/") */
    const char *agent_spill_dir; /* --agent-spill-dir DIR (/run/warren-agent) */
    /* --registry-mirror-port N (--docker with the agent): the loopback port
     * of the registry mirror relayed to warrend; 0: none. */
    int registry_mirror_port;
    /* --agent-max-processes N: processes started through the agent that
     * may run at once; the next exec is refused (too_many).  0: no limit. */
    int agent_max_processes;
    /* --agent-user USER: who a process started through the agent runs as
     * when its exec names nobody (a name, a uid or uid:gid; the image's
     * User, as warrend runs the agent itself as root).  NULL: the agent's
     * own user. */
    const char *agent_user;
} init_args_t;

#define INIT_DEFAULT_REGISTRY_MIRROR_PORT 5999

/* Parses `warren-init [--docker] [--agent-socket PATH] [--agent-root DIR]
 * [--agent-spill-dir DIR] [--registry-mirror-port N] [--agent-max-processes N]
 * [--agent-user USER] [--]
 * CMD ARGS...` (a value also as --opt=VALUE).  Options stop at the
 * first argument that does not start with '-' or after "--". */
int init_args_parse (int argc, char **argv, init_args_t *args, wr_error_t *err);

typedef enum {
    NETWORK_UNKNOWN, /* WARREN_NETWORK unset: flags that work in every mode */
    NETWORK_HOST,
    NETWORK_SANDBOX,
    NETWORK_NONE,
} network_mode_t;

typedef enum {
    CGROUPS_AUTO,
    CGROUPS_V1,
    CGROUPS_V2,
    CGROUPS_NONE,
} cgroups_mode_t;

/* The Docker mode's settings, from environment variables (also listed in
 * the usage text in main.c):
 *
 *   WARREN_NETWORK               host | sandbox | none: runsc's network mode,
 *                                set by warren-runtime.  host adds
 *                                --bridge=none --ip-forward=false (runsc's
 *                                host network can make no bridge and
 *                                forbids IP forwarding); unset adds them
 *                                too, as they work in every mode.  sandbox
 *                                and none (netstack) keep docker0.
 *   WARREN_CGROUPS               auto | v1 | v2 | none (auto: v1 in gVisor).
 *   WARREN_DOCKER_TMPFS_SIZE     tmpfs on dockerd's data root: "50%" of
 *                                memory (default), "4g", "512m", or "none".
 *   WARREN_DOCKERD_TIMEOUT       seconds until dockerd must answer (30).
 *   WARREN_DOCKERD_STOP_TIMEOUT  seconds dockerd has to stop (10).
 *   WARREN_DOCKERD_ARGS          more dockerd flags, split on spaces.
 *   WARREN_DOCKERD_LOG           dockerd's log (/var/log/dockerd.log).
 *
 * An empty value means the default. */
typedef struct {
    network_mode_t network; /* WARREN_NETWORK */
    cgroups_mode_t cgroups; /* WARREN_CGROUPS */
    const char *tmpfs_size; /* WARREN_DOCKER_TMPFS_SIZE, "50%" by default */
    double ready_timeout; /* WARREN_DOCKERD_TIMEOUT, seconds */
    double stop_timeout; /* WARREN_DOCKERD_STOP_TIMEOUT, seconds */
    char **extra_args; /* WARREN_DOCKERD_ARGS split on spaces; never NULL */
    const char *log_path; /* WARREN_DOCKERD_LOG */
    /* Not from the environment: the mirror dockerd is given first
     * ("http://127.0.0.1:5999", the agent's relay), or NULL. */
    const char *registry_mirror;
} docker_config_t;

#define DOCKER_DEFAULT_TMPFS_SIZE "50%"
#define DOCKER_DEFAULT_READY_TIMEOUT 30.0
#define DOCKER_DEFAULT_STOP_TIMEOUT 10.0
#define DOCKER_DEFAULT_LOG "/var/log/dockerd.log"

/* Reads the settings through GET_ENV (getenv, or a fake in tests).  An
 * invalid value is an error that names the variable and what it accepts. */
int docker_config_load (const char *(*get_env) (const char *name), docker_config_t *config,
                        wr_error_t *err);
void docker_config_free (docker_config_t *config);

const char *network_mode_name (network_mode_t mode);

/* Splits TEXT on spaces and tabs into a NULL-terminated vector (empty
 * words are dropped; there is no quoting). */
char **split_words (const char *text);

/* Parses a tmpfs size: "0", "none" or "off" disable the tmpfs
 * (*bytes = 0); "N%" is N percent of MEM_TOTAL; "N", "Nk", "Nm", "Ng"
 * (also "NK", "NKi", "NKiB"...) are bytes.  gVisor's tmpfs does not accept
 * "size=50%", which is why percentages are resolved here. */
int tmpfs_size_parse (const char *text, uint64_t mem_total, uint64_t *bytes, wr_error_t *err);

/* Parses a duration in seconds ("30", "2.5"), which must be positive. */
int seconds_parse (const char *text, double *seconds, wr_error_t *err);

#endif
