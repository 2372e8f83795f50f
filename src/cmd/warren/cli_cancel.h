/* ^C or a TERM stops long work (a pull, a build) cleanly: the handler
 * requests the work's cancellation token and the library stops within a
 * second, leaving nothing half-made. */
#ifndef WARREN_CLI_CANCEL_H
#define WARREN_CLI_CANCEL_H

#include <signal.h>

#include "cancel.h"

typedef struct {
    struct sigaction old_int, old_term;
} cli_cancel_signals_t;

/* From now on SIGINT and SIGTERM request CANCEL (which must outlive the
 * matching cli_cancel_signals_restore). */
void cli_cancel_on_signals (wr_cancel_t *cancel, cli_cancel_signals_t *saved);
/* The handlers from before. */
void cli_cancel_signals_restore (cli_cancel_signals_t *saved);

#endif
