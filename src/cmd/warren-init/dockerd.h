/* dockerd's life inside the sandbox: starting it as its plan says with
 * its output in a log file, waiting until it answers, stopping it.  How it
 * is planned is dockerd_plan.h; why it failed, dockerd_failure.h. */
#ifndef WARREN_INIT_DOCKERD_H
#define WARREN_INIT_DOCKERD_H

#include <stdbool.h>
#include <sys/types.h>

#include "dockerd_failure.h"
#include "dockerd_plan.h"
#include "error.h"
#include "reaper.h"

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

/* Sends SIGTERM and waits up to TIMEOUT seconds for PID to exit or for
 * its log (LOG_PATH from LOG_OFFSET, may be NULL) to say its shutdown is
 * complete, then SIGKILL. */
void dockerd_stop (reaper_t *reaper, pid_t pid, double timeout, const char *log_path,
                   off_t log_offset);

#endif
