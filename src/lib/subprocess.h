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

#endif
