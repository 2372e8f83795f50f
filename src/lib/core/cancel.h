/* Cancellation and deadlines for long work (pulls, unpacks, builds).
 *
 * A wr_cancel_t is a token the caller makes and hands to the work in its
 * options.  Any thread (or a signal handler: wr_cancel_request is
 * async-signal-safe) may request cancellation; the work checks it cheaply
 * (an atomic load) between steps, and blocking waits poll wr_cancel_fd,
 * which becomes readable once cancellation is requested.
 *
 * A token may carry a deadline (CLOCK_MONOTONIC) with a name ("pull
 * deadline") and may have a parent: a child is cancelled when its parent
 * is, and its own deadline is added.  A pull makes a child of its
 * caller's token with the pull's deadline, so one token of the caller
 * cancels everything and each pull keeps its own deadline.
 *
 * Errors: a requested cancellation is WR_ERROR_CANCELLED ("pull `x`:
 * cancelled"); a passed deadline is WR_ERROR_UNAVAILABLE with errno
 * ETIMEDOUT ("pull `x`: the pull deadline of 3 s passed"): like a
 * registry that does not answer, it is the other side that was too slow,
 * and trying again later may work. */
#ifndef WARREN_CANCEL_H
#define WARREN_CANCEL_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

typedef struct wr_cancel_s wr_cancel_t;

/* A new token, not cancelled, with no deadline.  PARENT (may be NULL) must
 * outlive it.  DEADLINE_MS > 0 gives it a deadline that many milliseconds
 * from now, named DEADLINE_NAME (e.g. "pull deadline"; copied). */
wr_cancel_t *wr_cancel_new (const wr_cancel_t *parent, int64_t deadline_ms,
                            const char *deadline_name, wr_error_t *err);
void wr_cancel_free (wr_cancel_t *cancel);

/* Requests cancellation: every check from now on fails, and the fd of
 * this token (and of its children) becomes readable.  Safe from any
 * thread and from a signal handler; idempotent. */
void wr_cancel_request (wr_cancel_t *cancel);

/* True when cancellation was requested on CANCEL or a parent, or a
 * deadline of theirs passed.  NULL is never cancelled. */
bool wr_cancel_stopped (const wr_cancel_t *cancel);

/* 0 when the work may go on; else -1 with *ERR saying why, prefixed with
 * WHAT (may be NULL): cancelled, or which deadline passed and how long it
 * was. */
int wr_cancel_check (const wr_cancel_t *cancel, const char *what, wr_error_t *err);

/* A descriptor that becomes readable (POLLIN) when cancellation is
 * requested on the token or on a parent (not when a deadline passes: wait
 * at most wr_cancel_remaining_ms for that); -1 for NULL.  Owned by the
 * root token; never read from it. */
int wr_cancel_fd (const wr_cancel_t *cancel);

/* Milliseconds until the nearest deadline of CANCEL and its parents (0 when
 * one passed), or -1 when there is none. */
int64_t wr_cancel_remaining_ms (const wr_cancel_t *cancel);

/* Sleeps MS milliseconds, or less when CANCEL stops meanwhile (cancelled or
 * past a deadline).  Returns 0 after the whole sleep, -1 when stopped
 * (no error is set: call wr_cancel_check for it). */
int wr_cancel_sleep (const wr_cancel_t *cancel, int64_t ms);

static inline void
wr_cancel_freep (wr_cancel_t **cancel)
{
    wr_cancel_free (*cancel);
}
#define cleanup_cancel __attribute__ ((cleanup (wr_cancel_freep)))

/* CLOCK_MONOTONIC in milliseconds. */
int64_t wr_monotonic_ms (void);

#endif
