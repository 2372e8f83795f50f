/* `features` (runc's JSON description of what a runtime supports) for a
 * backend that has no such command: runsc up to at least 20240729. */
#ifndef WARREN_RUNTIME_FEATURES_H
#define WARREN_RUNTIME_FEATURES_H

#include "runtime_backend.h"

/* The features document for the probed runsc BACKEND, pretty-printed with a
 * final newline; caller frees.  WARREN_VERSION goes into its annotations. */
char *wr_runtime_features_json (wr_backend_t *backend, const char *warren_version);

#endif
