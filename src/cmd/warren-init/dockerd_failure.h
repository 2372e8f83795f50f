/* Why dockerd did not come up: its log since this start, and advice from
 * what the log says. */
#ifndef WARREN_INIT_DOCKERD_FAILURE_H
#define WARREN_INIT_DOCKERD_FAILURE_H

#include <stdbool.h>
#include <sys/types.h>

/* The start of the last MAX_LINES lines of TEXT (a trailing newline does
 * not count as an empty line). */
const char *log_tail (const char *text, int max_lines);

/* Advice for a dockerd that failed (TIMED_OUT: did not answer in time),
 * from what its log says; never NULL. */
const char *dockerd_failure_advice (const char *log, bool timed_out);

/* The lines dockerd wrote to the log since OFFSET (at most the last 64 KiB). */
char *dockerd_read_log (const char *log_path, off_t offset);

#endif
