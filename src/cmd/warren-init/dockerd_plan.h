/* dockerd inside the sandbox, before it starts: finding it and choosing
 * its flags (warren-init's own, dropped when daemon.json or
 * WARREN_DOCKERD_ARGS sets the same option or dockerd refuses them). */
#ifndef WARREN_INIT_DOCKERD_PLAN_H
#define WARREN_INIT_DOCKERD_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "options.h"

#define DOCKER_DEFAULT_SOCKET "/var/run/docker.sock"
#define DOCKER_DEFAULT_DATA_ROOT "/var/lib/docker"
#define DOCKER_DEFAULT_CONFIG "/etc/docker/daemon.json"
/* The daemon.json warren-init writes when it must merge its registry mirror
 * into the user's registry-mirrors (dockerd refuses the flag then). */
#define DOCKER_MERGED_CONFIG "/run/warren-init/daemon.json"
#define DOCKERD_FALLBACK_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Finds an executable NAME in PATH_ENV (may be NULL) and then in
 * DOCKERD_FALLBACK_PATH.  Returns NULL when there is none. */
char *find_executable (const char *name, const char *path_env);

/* Whether COMMAND starts a Docker daemon itself: `dockerd ...` or the
 * entrypoint of docker:dind images, `dockerd-entrypoint.sh ...`. */
bool command_is_dockerd (char *const *command);

/* Everything about how dockerd is started, worked out before it starts. */
typedef struct {
    char *dockerd_path;
    char **argv; /* dockerd_path followed by the flags */
    char *config_file; /* daemon.json path */
    char *socket_path; /* where /_ping is asked */
    char *data_root; /* gets the tmpfs */
    char *log_path;
    unsigned dropped; /* DOCKERD_FLAG_* bits not passed (conflicts, unknown) */
    /* The text to write to DOCKER_MERGED_CONFIG before dockerd starts (it
     * then gets --config-file with that path instead of the user's), or
     * NULL. */
    char *merged_config;
} dockerd_plan_t;

/* Bits for the flags warren-init adds. */
enum {
    DOCKERD_FLAG_HOST = 1 << 0,
    DOCKERD_FLAG_BRIDGE = 1 << 1,
    DOCKERD_FLAG_IPTABLES = 1 << 2,
    DOCKERD_FLAG_IP6TABLES = 1 << 3,
    DOCKERD_FLAG_IP_FORWARD = 1 << 4,
};

/* With CONFIG->registry_mirror, dockerd gets that mirror first: as
 * --registry-mirror=URL, or, when daemon.json has registry-mirrors of its
 * own, in a copy of daemon.json (merged_config) whose registry-mirrors
 * start with ours.
 *
 * Works out the plan from CONFIG, the daemon.json text (NULL when there
 * is none; read with daemon_json_parse) and flags already known to be
 * refused (DROPPED).  A flag is not passed when daemon.json sets the same
 * option (dockerd refuses the duplicate) or WARREN_DOCKERD_ARGS gives it.
 * Fails when daemon.json is malformed or a member warren-init reads has the
 * wrong type, naming the file and the member.  Pure, for the unit tests. */
int dockerd_plan_make (const docker_config_t *config, const char *dockerd_path,
                       const char *daemon_json, unsigned dropped, dockerd_plan_t *plan,
                       wr_error_t *err);
void dockerd_plan_free (dockerd_plan_t *plan);

/* The name of the daemon.json to read: --config-file from EXTRA_ARGS, or
 * the default. */
const char *dockerd_config_file (char *const *extra_args);

/* The flag bit named in an "unknown flag: --ip6tables" line of LOG, or 0
 * when LOG has no such line about a flag warren-init added. */
unsigned dockerd_unknown_flag (const char *log);

/* The text of a flag warren-init adds ("--ip6tables=false"), by its bit. */
const char *dockerd_flag_text (unsigned bit);

#endif
