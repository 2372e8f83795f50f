/* dockerd inside the sandbox: finding it, choosing its flags, starting it
 * with its output in a log file, waiting until it answers, stopping it,
 * and explaining why when it does not come up. */
#ifndef WARREN_INIT_DOCKERD_H
#define WARREN_INIT_DOCKERD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "options.h"
#include "reaper.h"

#define DOCKER_DEFAULT_SOCKET "/var/run/docker.sock"
#define DOCKER_DEFAULT_DATA_ROOT "/var/lib/docker"
#define DOCKER_DEFAULT_CONFIG "/etc/docker/daemon.json"
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
} dockerd_plan_t;

/* Bits for the flags warren-init adds. */
enum {
    DOCKERD_FLAG_HOST = 1 << 0,
    DOCKERD_FLAG_BRIDGE = 1 << 1,
    DOCKERD_FLAG_IPTABLES = 1 << 2,
    DOCKERD_FLAG_IP6TABLES = 1 << 3,
    DOCKERD_FLAG_IP_FORWARD = 1 << 4,
};

/* Works out the plan from CONFIG, the daemon.json text (NULL when there
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

/* The start of the last MAX_LINES lines of TEXT (a trailing newline does
 * not count as an empty line). */
const char *log_tail (const char *text, int max_lines);

/* The text of a flag warren-init adds ("--ip6tables=false"), by its bit. */
const char *dockerd_flag_text (unsigned bit);

/* Advice for a dockerd that failed (TIMED_OUT: did not answer in time),
 * from what its log says; never NULL. */
const char *dockerd_failure_advice (const char *log, bool timed_out);

typedef struct {
    pid_t pid;
    long long started_ms; /* monotonic */
    off_t log_offset; /* where this run's lines start in the log */
} dockerd_t;

/* Starts dockerd as the plan says, its output appended to the log file. */
int dockerd_start (reaper_t *reaper, const dockerd_plan_t *plan, dockerd_t *dockerd,
                   wr_error_t *err);

typedef enum {
    DOCKERD_READY,
    DOCKERD_EXITED, /* *status holds the wait status */
    DOCKERD_TIMED_OUT,
    DOCKERD_INTERRUPTED, /* a signal asked warren-init to stop: *signo */
} dockerd_wait_result_t;

/* Waits until PID answers GET /_ping on SOCKET_PATH with 200 OK, PID
 * exits, or TIMEOUT seconds pass from STARTED_MS.  With FORWARD_SIGNALS
 * (PID is the main process) signals go on to PID; without, SIGTERM, SIGINT,
 * SIGHUP or SIGQUIT end the wait (DOCKERD_INTERRUPTED) and others are
 * dropped. */
dockerd_wait_result_t dockerd_wait_ready (reaper_t *reaper, pid_t pid, const char *socket_path,
                                          long long started_ms, double timeout,
                                          bool forward_signals, int *status, int *signo,
                                          wr_error_t *err);

/* The lines dockerd wrote to the log since OFFSET (at most the last 64 KiB). */
char *dockerd_read_log (const char *log_path, off_t offset);

/* Sends SIGTERM and waits up to TIMEOUT seconds for PID to exit or for
 * its log (LOG_PATH from LOG_OFFSET, may be NULL) to say its shutdown is
 * complete, then SIGKILL. */
void dockerd_stop (reaper_t *reaper, pid_t pid, double timeout, const char *log_path,
                   off_t log_offset);

#endif
