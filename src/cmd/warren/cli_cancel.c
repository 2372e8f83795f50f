#include "cli_cancel.h"

#include <stddef.h>

/* The token for the handler (wr_cancel_request is async-signal-safe: an
 * atomic store and a write to an eventfd). */
static wr_cancel_t *volatile current;

static void
on_stop_signal (int signo)
{
    (void) signo;
    wr_cancel_request (current);
}

void
cli_cancel_on_signals (wr_cancel_t *cancel, cli_cancel_signals_t *saved)
{
    struct sigaction stop = { .sa_handler = on_stop_signal };
    sigemptyset (&stop.sa_mask);
    current = cancel;
    sigaction (SIGINT, &stop, &saved->old_int);
    sigaction (SIGTERM, &stop, &saved->old_term);
}

void
cli_cancel_signals_restore (cli_cancel_signals_t *saved)
{
    sigaction (SIGINT, &saved->old_int, NULL);
    sigaction (SIGTERM, &saved->old_term, NULL);
    current = NULL;
}
