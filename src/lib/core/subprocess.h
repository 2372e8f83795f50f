/* Running a helper program and collecting what it prints. */
#ifndef WARREN_SUBPROCESS_H
#define WARREN_SUBPROCESS_H

#include <stddef.h>

#include "cancel.h"
#include "error.h"

/* Runs ARGV (argv[0] is a path; no PATH search) with standard input from
 * /dev/null and collects its standard output and standard error together
 * into *OUTPUT (NUL-terminated; caller frees).  Waits at most TIMEOUT_MS
 * milliseconds, then kills it and fails.  *STATUS gets the wait status.
 * Fails only when the program cannot be started or times out; a non-zero
 * exit is reported in *STATUS, not as an error. */
int wr_subprocess_output (char *const argv[], int timeout_ms, char **output, int *status,
                          wr_error_t *err);

/* The same with more say over the child:
 *   OUTPUT_FD    >= 0: the child's standard output and error go there and
 *                nothing is collected (OUTPUT may be NULL); the wait ends
 *                when the child exits even if something it started still
 *                holds OUTPUT_FD (runsc create leaves its sandbox behind).
 *   MAX_OUTPUT   bytes collected at most, the rest read and dropped (0:
 *                no limit).
 *   CHILD_SETUP  run in the child after fork, before exec; it may make
 *                only async-signal-safe calls (the caller may have
 *                threads).  It returns 0, or an errno value, which fails
 *                the run naming CHILD_SETUP_WHAT.
 *   CANCEL       (may be NULL) once it stops, the child is killed and
 *                reaped, and the run fails with wr_cancel_check's error
 *                (polled with the wait for the child's exit, so only
 *                with OUTPUT_FD: a collecting run sees it after its
 *                output ends).
 * A timeout fails with kind unavailable and ETIMEDOUT. */
typedef struct {
    int timeout_ms;
    const wr_cancel_t *cancel;
    int output_fd; /* -1: collect into *OUTPUT */
    size_t max_output;
    int (*child_setup) (void *data);
    void *child_data;
    const char *child_setup_what;
} wr_subprocess_options_t;

int wr_subprocess_output_ex (char *const argv[], const wr_subprocess_options_t *options,
                             char **output, int *status, wr_error_t *err);

/* Runs PATH (a path, or a name looked up in $PATH by execvp) with ARGV,
 * sharing this process's standard streams and descriptors, and waits for
 * it.  The signals a caller sends to stop or signal a runtime (HUP, INT,
 * QUIT, TERM, USR1, USR2, WINCH) are passed on to it while it runs.
 * *STATUS gets the wait status.  Fails only when it cannot be started. */
int wr_subprocess_run (const char *path, char *const argv[], int *status, wr_error_t *err);

/* The exit code a wait status stands for, as a shell gives it: the exit
 * status, or 128 + the signal that killed it. */
int wr_subprocess_exit_code (int status);

#endif
