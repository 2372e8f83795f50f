/* Unpacking image layers into a root filesystem, safely.
 *
 * Layers are tar archives (uncompressed, gzip or zstd) from untrusted
 * images.  Every path is resolved inside the root (openat2 with
 * RESOLVE_IN_ROOT), so no entry can reach outside it through "..", an
 * absolute path, a symlink or a hard link.  OCI whiteouts (".wh.NAME" and
 * ".wh..wh..opq") remove what lower layers put there. */
#ifndef WARREN_UNPACK_H
#define WARREN_UNPACK_H

#include <stdbool.h>

#include "error.h"

typedef struct {
    bool keep_owners; /* chown to the archive's uid/gid (needs root) */
    /* Called now and then with the compressed bytes read so far; may be NULL. */
    void (*progress) (void *data, unsigned long long bytes_read);
    void *progress_data;
} wr_unpack_options_t;

/* Applies the layer at LAYER_PATH on top of the directory ROOT_FD.
 * DIFF_ID (may be NULL) is the digest of the uncompressed tar, checked
 * after the layer is applied. */
int wr_unpack_layer (int root_fd, const char *layer_path, const char *diff_id,
                     const wr_unpack_options_t *options, wr_error_t *err);

/* Unpacks LAYERS (NULL-terminated paths, lowest first) into a new directory
 * DEST: everything goes into a temporary sibling that is renamed to DEST
 * only when all layers are applied, so DEST is never half-made.  DIFF_IDS
 * may be NULL. */
int wr_unpack_root (const char *const *layers, const char *const *diff_ids, const char *dest,
                    const wr_unpack_options_t *options, wr_error_t *err);

#endif
