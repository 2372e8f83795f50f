/* Probing a backend's binary (runtime_probe.c): what it is (version,
 * release, OCI spec), which flags and commands it has.  The results are
 * cached (runtime_probe_cache.c). */
#ifndef WARREN_RUNTIME_PROBE_H
#define WARREN_RUNTIME_PROBE_H

#include "error.h"
#include "runtime_backend.h"

/* Probes once (cached under state_dir, keyed by the binary's path, size,
 * mtime, inode and device and the kernel's boot id); fails with a message naming the version needed when the
 * binary is missing or too old. */
int wr_backend_probe (wr_backend_t *backend, wr_error_t *err);

/* Helpers for probes (exposed for the unit tests). */
/* The release date in a runsc version string ("0.0~20240729.0",
 * "release-20240729.0"): the first run of exactly 8 digits; 0 if none. */
int wr_backend_parse_release (const char *version);
/* The version from `NAME --version` output: the rest of the first line
 * after "version ", or NULL. */
char *wr_backend_parse_version (const char *output);
/* The "spec: X" line of `--version` output, or NULL. */
char *wr_backend_parse_spec_version (const char *output);
/* Flag names from Go-style (`  -name value`) or GNU-style (`   --name`)
 * help output. */
char **wr_backend_parse_flags (const char *output);
/* Command names from the command sections of help output. */
char **wr_backend_parse_commands (const char *output);
/* Runs BINARY with ARGS and returns what it printed; NULL on failure.
 * *STATUS gets the wait status. */
char *wr_backend_run (const char *binary, const char *const *args, int *status, wr_error_t *err);
/* Runs `INFO->path --version` and fills info->version and
 * info->spec_version; a failing command is an error quoting its output. */
int wr_backend_probe_version (wr_backend_info_t *info, wr_error_t *err);

#endif
