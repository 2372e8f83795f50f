/* Errors that name the object they are about.
 *
 * A function that can fail takes `wr_error_t *err` as its last argument,
 * returns a negative number (or NULL) and fills *err.  Callers add context
 * with wr_error_prefix() as the error travels up; only main() prints it. */
#ifndef WARREN_ERROR_H
#define WARREN_ERROR_H

#include <stdarg.h>

/* What kind of failure an error is, so that an API can map it to a status
 * code and an SDK to an exception without reading errno's meanings. */
typedef enum {
    WR_ERROR_INTERNAL = 0, /* a fault of warren's or of the host (500) */
    WR_ERROR_NOT_FOUND, /* the object named does not exist (404) */
    WR_ERROR_EXISTS, /* it exists already (409) */
    WR_ERROR_INVALID, /* the input is malformed or refused (400) */
    WR_ERROR_LIMIT, /* a limit was reached: size, count, space (413/429/507) */
    WR_ERROR_UNAVAILABLE, /* something it needs does not answer, or not in time (503) */
    WR_ERROR_CANCELLED, /* the caller cancelled the work */
    WR_ERROR_TOO_MANY, /* a client's share is used up: requests, sandboxes, processes (429) */
} wr_error_kind_t;

struct wr_error_s {
    int errno_value; /* 0 when the failure has no errno */
    wr_error_kind_t kind;
    char *message;
};
typedef struct wr_error_s *wr_error_t;

/* The kind an errno value means when the caller says none: 0 (a check of
 * warren's own) is INVALID, ENOENT NOT_FOUND, EEXIST EXISTS, ENOSPC and
 * its like LIMIT, ETIMEDOUT and refused connections UNAVAILABLE,
 * ECANCELED CANCELLED, anything else INTERNAL. */
wr_error_kind_t wr_error_kind_of_errno (int errno_value);
/* "internal", "not_found", "exists", "invalid", "limit", "unavailable",
 * "cancelled", "too_many": the names the API and the SDK use. */
const char *wr_error_kind_name (wr_error_kind_t kind);

/* Sets *err (if err is not NULL) and returns -1.  When errno_value is not
 * zero, ": strerror(errno_value)" is appended to the message. */
int wr_error_set (wr_error_t *err, int errno_value, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
int wr_error_setv (wr_error_t *err, int errno_value, const char *fmt, va_list ap)
    __attribute__ ((format (printf, 3, 0)));

/* Like wr_error_set, with the kind given rather than taken from errno. */
int wr_error_set_kind (wr_error_t *err, wr_error_kind_t kind, int errno_value, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
/* Changes the kind of *err (when set) and returns -1: a caller that knows
 * better, e.g. "this ENOENT is the user's missing image", not a fault. */
int wr_error_retag (wr_error_t *err, wr_error_kind_t kind);
/* The kind of ERR; INTERNAL when ERR is NULL. */
wr_error_kind_t wr_error_kind (const wr_error_t err);

/* Prepends "context: " to the message of *err and returns -1. */
int wr_error_prefix (wr_error_t *err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Hands the error in *FROM on to *ERR (freeing it when ERR is NULL) and
 * returns -1: for a caller that looked at an error of its own (its kind:
 * "missing is fine") before deciding to fail with it. */
int wr_error_propagate (wr_error_t *err, wr_error_t *from);

void wr_error_free (wr_error_t *err);

static inline void
wr_error_cleanup (wr_error_t *err)
{
    wr_error_free (err);
}
#define cleanup_error __attribute__ ((cleanup (wr_error_cleanup)))

#endif
