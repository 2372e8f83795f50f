/* Errors that name the object they are about.
 *
 * A function that can fail takes `wr_error_t *err` as its last argument,
 * returns a negative number (or NULL) and fills *err.  Callers add context
 * with wr_error_prefix() as the error travels up; only main() prints it. */
#ifndef WARREN_ERROR_H
#define WARREN_ERROR_H

#include <stdarg.h>

struct wr_error_s {
    int errno_value; /* 0 when the failure has no errno */
    char *message;
};
typedef struct wr_error_s *wr_error_t;

/* Sets *err (if err is not NULL) and returns -1.  When errno_value is not
 * zero, ": strerror(errno_value)" is appended to the message. */
int wr_error_set (wr_error_t *err, int errno_value, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
int wr_error_setv (wr_error_t *err, int errno_value, const char *fmt, va_list ap)
    __attribute__ ((format (printf, 3, 0)));

/* Prepends "context: " to the message of *err and returns -1. */
int wr_error_prefix (wr_error_t *err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

void wr_error_free (wr_error_t *err);

static inline void
wr_error_cleanup (wr_error_t *err)
{
    wr_error_free (err);
}
#define cleanup_error __attribute__ ((cleanup (wr_error_cleanup)))

#endif
