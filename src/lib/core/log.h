/* Structured logging.
 *
 * Text lines look like `level=info msg="pulling" image=busybox`; JSON lines
 * look like runc's (`{"level":"error","msg":"...","time":"..."}`) so that
 * Docker and containerd can show a runtime's last error to their users. */
#ifndef WARREN_LOG_H
#define WARREN_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

typedef enum {
    WR_LOG_DEBUG,
    WR_LOG_INFO,
    WR_LOG_WARN,
    WR_LOG_ERROR,
} wr_log_level_t;

typedef enum {
    WR_LOG_TEXT,
    WR_LOG_JSON,
} wr_log_format_t;

void wr_log_set_level (wr_log_level_t level);
void wr_log_set_format (wr_log_format_t format);
/* Parses "text" or "json". */
int wr_log_parse_format (const char *name, wr_log_format_t *format, wr_error_t *err);
/* Sends log lines to PATH (appending) instead of standard error. */
int wr_log_set_file (const char *path, wr_error_t *err);
/* Also copies error lines to standard error in plain text (for a runtime
 * whose log goes to a file but whose caller reads stderr too). */
void wr_log_set_errors_to_stderr (bool enabled);

/* Logs MSG followed by key/value string pairs, ended by NULL:
 *   wr_log (WR_LOG_INFO, "docker daemon is ready", "took", "1.2s", NULL); */
void wr_log (wr_log_level_t level, const char *msg, ...) __attribute__ ((sentinel));
/* Logs a formatted message with no fields. */
void wr_logf (wr_log_level_t level, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Appends VALUE to BUF as a JSON string (with quotes) and returns the new
 * length; BUF is grown with xrealloc. */
size_t wr_log_append_json_string (char **buf, size_t len, size_t *cap, const char *value);

#endif
