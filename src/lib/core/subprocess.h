/* Running a helper program and collecting what it prints. */
#ifndef WARREN_SUBPROCESS_H
#define WARREN_SUBPROCESS_H

#include "error.h"

/* Runs ARGV (argv[0] is a path; no PATH search) with standard input from
 * /dev/null and collects its standard output and standard error together
 * into *OUTPUT (NUL-terminated; caller frees).  Waits at most TIMEOUT_MS
 * milliseconds, then kills it and fails.  *STATUS gets the wait status.
 * Fails only when the program cannot be started or times out; a non-zero
 * exit is reported in *STATUS, not as an error. */
int wr_subprocess_output (char *const argv[], int timeout_ms, char **output, int *status,
                          wr_error_t *err);

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
