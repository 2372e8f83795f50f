/* The cache of backend probes (runtime_probe_cache.c), for
 * runtime_probe.c.  Not for users of the backends. */
#ifndef WARREN_RUNTIME_PROBE_CACHE_H
#define WARREN_RUNTIME_PROBE_CACHE_H

#include <stdbool.h>
#include <sys/stat.h>

#include "error.h"
#include "runtime_backend.h"

/* What a cached probe is valid for: the binary's stat and the boot. */
typedef struct {
    struct stat st;
    char boot_id[64];
} wr_probe_key_t;

/* The key of the binary at PATH now. */
int wr_probe_key (const char *path, wr_probe_key_t *key, wr_error_t *err);
/* The cache file for BINARY_PATH under the backend's state directory. */
char *wr_probe_cache_path (wr_backend_t *backend, const char *binary_path);
/* Reads the cache file into INFO when it describes exactly this binary. */
bool wr_probe_cache_read (wr_backend_t *backend, const char *file, const char *binary_path,
                          const wr_probe_key_t *key, wr_backend_info_t *info);
/* Writes INFO for the binary of KEY into FILE (atomically). */
int wr_probe_cache_write (wr_backend_t *backend, const char *file, const wr_probe_key_t *key,
                          const wr_backend_info_t *info, wr_error_t *err);

#endif
