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

/* A log: where the library's lines go, with the fields every line carries
 * (a request or sandbox id, say).  The library logs only through a log its
 * caller passes in (in an options struct, or set on an object); a NULL log
 * is the process's standard log below, which a program's main sets up.  A
 * log is a plain value the caller owns and keeps alive while the library
 * may use it; logging through it allocates nothing that outlives the line,
 * and is as thread-safe as its WRITE function.
 *
 *   const char *fields[] = { "request", id, NULL };
 *   wr_log_t log = { .write = my_sink, .data = conn, .fields = fields };
 *   wr_log_t pull_log = { .parent = &log, .fields = (const char *[]) { "image", ref, NULL } };
 */
typedef struct wr_log_s wr_log_t;

/* Receives one line: FIELDS is key, value, ..., NULL: the fields of the log
 * chain from its root down, then the line's own. */
typedef void (*wr_log_write_fn) (void *data, wr_log_level_t level, const char *msg,
                                 const char *const *fields);

struct wr_log_s {
    /* NULL: the line goes on to PARENT, or with no parent to the standard
     * log. */
    wr_log_write_fn write;
    void *data;
    /* Lines below this level are dropped (the default, WR_LOG_DEBUG, drops
     * none; the standard log has its own level). */
    wr_log_level_t level;
    /* key, value, ..., NULL: added to every line; NULL for none. */
    const char *const *fields;
    const wr_log_t *parent;
};

/* Logs MSG followed by key/value string pairs, ended by NULL, to LOG (NULL:
 * the standard log):
 *   wr_log_to (log, WR_LOG_INFO, "docker daemon is ready", "took", "1.2s", NULL); */
void wr_log_to (const wr_log_t *log, wr_log_level_t level, const char *msg, ...)
    __attribute__ ((sentinel));
/* Logs a formatted message with no fields of its own to LOG. */
void wr_logf_to (const wr_log_t *log, wr_log_level_t level, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* Whether a line of LEVEL sent to LOG would be written (to skip building
 * costly fields). */
bool wr_log_enabled (const wr_log_t *log, wr_log_level_t level);

/* The standard log: standard error (or the file of wr_log_set_file), in the
 * format of wr_log_set_format, from the level of wr_log_set_level.  It is
 * process-wide state, for a program's main to set up; the library never
 * changes it.  wr_log_write_standard is its write function, for a log that
 * adds fields but writes where the standard log does. */
void wr_log_write_standard (void *data, wr_log_level_t level, const char *msg,
                            const char *const *fields);
void wr_log_set_level (wr_log_level_t level);
void wr_log_set_format (wr_log_format_t format);
/* Parses "text" or "json". */
int wr_log_parse_format (const char *name, wr_log_format_t *format, wr_error_t *err);
/* Sends log lines to PATH (appending) instead of standard error. */
int wr_log_set_file (const char *path, wr_error_t *err);
/* Also copies error lines to standard error in plain text (for a runtime
 * whose log goes to a file but whose caller reads stderr too). */
void wr_log_set_errors_to_stderr (bool enabled);

/* The standard log, for programs (src/cmd); the library uses wr_log_to:
 *   wr_log (WR_LOG_INFO, "docker daemon is ready", "took", "1.2s", NULL); */
void wr_log (wr_log_level_t level, const char *msg, ...) __attribute__ ((sentinel));
/* Logs a formatted message with no fields. */
void wr_logf (wr_log_level_t level, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Appends VALUE to BUF as a JSON string (with quotes) and returns the new
 * length; BUF is grown with xrealloc. */
size_t wr_log_append_json_string (char **buf, size_t len, size_t *cap, const char *value);

#endif
