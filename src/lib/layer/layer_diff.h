/* A new image layer from what a sandbox changed: the upper directory of a
 * host overlayfs mount, written as an OCI layer (tar + gzip).
 *
 * - overlayfs whiteouts (character devices 0/0) become ".wh.NAME" files and
 *   opaque directories (xattr trusted.overlay.opaque = "y") get a
 *   ".wh..wh..opq" entry right after the directory's own entry;
 * - files, directories, symlinks, hard links (the second name of an inode
 *   links to the first), device nodes and fifos keep their owners, modes,
 *   mtimes and extended attributes (but overlayfs's own, trusted.overlay.*
 *   and user.overlay.*); sockets are skipped;
 * - names are sorted byte-wise and owner names, atimes and ctimes are left
 *   out, and gzip gets no timestamp, so the same upper directory always
 *   gives the same bytes, hence the same digests.
 *
 * Both digests come from one pass: the diff id (sha256 of the tar, what
 * the image config lists) and the blob digest (sha256 of the gzip stream,
 * what the manifest lists). */
#ifndef WARREN_LAYER_DIFF_H
#define WARREN_LAYER_DIFF_H

#include <stdint.h>

#include "digest.h"
#include "error.h"

typedef struct {
    char digest[WR_DIGEST_MAX_LEN + 1]; /* of the compressed layer (the blob) */
    char diff_id[WR_DIGEST_MAX_LEN + 1]; /* of the uncompressed tar */
    int64_t size; /* bytes of the compressed layer */
    uint64_t entries; /* members written, whiteouts included */
} wr_layer_diff_result_t;

/* Writes the changes in the overlayfs upper directory UPPER_FD as a
 * tar+gzip layer to OUT_FD (from its current offset). */
int wr_layer_diff_write (int upper_fd, int out_fd, wr_layer_diff_result_t *result, wr_error_t *err);

#endif
