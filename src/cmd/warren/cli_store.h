/* The image store of the warren command, the same for every subcommand. */
#ifndef WARREN_CLI_STORE_H
#define WARREN_CLI_STORE_H

#include "error.h"
#include "store.h"

/* Makes the state directory ROOT (mkdir -p, 0711: the store makes what is
 * inside) and opens the store in STORE_DIR. */
wr_store_t *cli_open_store (const char *root, const char *store_dir, wr_error_t *err);

#endif
