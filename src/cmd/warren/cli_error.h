/* How the warren command reports a failure: the error's message, and for
 * failures a user can act on, what to do (a full disk). */
#ifndef WARREN_CLI_ERROR_H
#define WARREN_CLI_ERROR_H

#include "error.h"

/* Prints "warren: MESSAGE" and any advice to stderr; returns 1 (the exit
 * status).  STATE_DIR (may be NULL) is named in the advice. */
int warren_fail (wr_error_t *err, const char *state_dir);

#endif
