/* Unpacking image layers into a root filesystem, safely.
 *
 * Layers are tar archives (uncompressed, gzip or zstd) from untrusted
 * images.  Every path is resolved inside the root (openat2 with
 * RESOLVE_IN_ROOT), so no entry can reach outside it through "..", an
 * absolute path, a symlink or a hard link.  OCI whiteouts (".wh.NAME" and
 * ".wh..wh..opq") remove what lower layers put there.
 *
 * Choices (tests/unit/layer/test_unpack.c shows each):
 * - Member names that are absolute or have a ".." component are refused
 *   with an error naming them, as are hard link targets of that kind; no
 *   real layer has them.  Symlink targets are stored as they are: they are
 *   only ever resolved inside the root.
 * - A hard link's target is resolved inside the root; a link to a
 *   directory or to something missing is an error.
 * - A whiteout removes, without following symlinks, what lower layers put
 *   at NAME; what the same layer makes (before or after the whiteout) stays.
 *   An opaque directory keeps only what the same layer puts in it.  A
 *   whiteout naming "", "." or ".." is refused; other ".wh..wh." names
 *   (aufs bookkeeping) are ignored.
 * - A new entry replaces what is there, except that a directory entry on an
 *   existing directory keeps its contents.  A file replaces a symlink; it is
 *   never written through one.
 * - Directory modes and times are set at the end of each layer, after the
 *   directory's contents.  Extended attributes (user., trusted., security.)
 *   the filesystem refuses are skipped with a warning.
 * - Without keep_owners (a rootless unpack), device nodes the kernel does
 *   not let us make are skipped with a warning.
 * - Nothing is fsynced: roots are a cache made again from verified blobs. */
#ifndef WARREN_UNPACK_H
#define WARREN_UNPACK_H

#include <stdbool.h>
#include <stddef.h>

#include "cancel.h"
#include "error.h"
#include "log.h"

/* Bounds on what a layer and an image may hold, uncompressed.  A field
 * left 0 takes its default (WR_UNPACK_DEFAULT_*): room for real images
 * (the Debian test image with Docker is 381 MB and about 5,800 entries in
 * one layer), none for a decompression bomb. */
typedef struct {
    unsigned long long layer_bytes; /* uncompressed tar bytes of one layer */
    unsigned long long image_bytes; /* of all the layers of one root */
    unsigned long long layer_entries; /* tar entries of one layer */
    unsigned long long image_entries;
    size_t path_length; /* bytes of an entry's path */
    size_t path_depth; /* components of an entry's path */
} wr_unpack_limits_t;

#define WR_UNPACK_DEFAULT_LAYER_BYTES (8ULL << 30)
#define WR_UNPACK_DEFAULT_IMAGE_BYTES (16ULL << 30)
#define WR_UNPACK_DEFAULT_LAYER_ENTRIES 1000000ULL
#define WR_UNPACK_DEFAULT_IMAGE_ENTRIES 2000000ULL
#define WR_UNPACK_DEFAULT_PATH_LENGTH 4096
#define WR_UNPACK_DEFAULT_PATH_DEPTH 256

/* What the layers of one root used so far, against the image's limits. */
typedef struct {
    unsigned long long bytes, entries;
} wr_unpack_usage_t;

typedef struct {
    bool keep_owners; /* chown to the archive's uid/gid (needs root) */
    wr_unpack_limits_t limits;
    /* The image's usage, added to by each layer (wr_unpack_root keeps its
     * own when NULL); NULL: each layer is held to the layer limits only. */
    wr_unpack_usage_t *usage;
    /* Called now and then with the compressed bytes read so far; may be NULL. */
    void (*progress) (void *data, unsigned long long bytes_read);
    void *progress_data;
    /* Called by wr_unpack_root before layer INDEX: 0 to read the layer's
     * file, or 0 with *FD set to a descriptor to read the layer from
     * instead (taken: closed when the layer is done); it may wait (a pull
     * still downloading waits until the layer is in the store); -1 with
     * *ERR to stop.  May be NULL. */
    int (*layer_source) (void *data, size_t index, int *fd, wr_error_t *err);
    /* Called after layer INDEX is applied and its diff id checked; -1 with
     * *ERR fails the unpack.  May be NULL. */
    int (*layer_done) (void *data, size_t index, wr_error_t *err);
    void *layer_data;
    const wr_log_t *log; /* skipped entries, waits, clean-ups; NULL: the standard log */
    /* Checked before each layer, each entry and each block read: when it
     * stops (cancelled, or past a deadline) the unpack fails with its
     * error and wr_unpack_root removes its temporary directory.  May be
     * NULL. */
    const wr_cancel_t *cancel;
} wr_unpack_options_t;

/* Applies the layer at LAYER_PATH on top of the directory ROOT_FD.
 * DIFF_ID (may be NULL) is the digest of the uncompressed tar, checked
 * after the layer is applied. */
int wr_unpack_layer (int root_fd, const char *layer_path, const char *diff_id,
                     const wr_unpack_options_t *options, wr_error_t *err);
/* The same for a layer read from FD (taken and closed; a file, a pipe or a
 * socket); NAME names it in errors. */
int wr_unpack_layer_fd (int root_fd, int fd, const char *name, const char *diff_id,
                        const wr_unpack_options_t *options, wr_error_t *err);

/* Unpacks LAYERS (NULL-terminated paths, lowest first) into a new directory
 * DEST: everything goes into a temporary sibling that is renamed to DEST
 * only when all layers are applied, so DEST is never half-made.  DIFF_IDS
 * may be NULL.  When DEST already exists the error's errno_value is EEXIST
 * (another unpack of the same root may have won the race).  The temporary
 * directory is locked while it is made; temporary directories of DEST that
 * nobody holds (left by a killed process) are removed first
 * (unpack_root.c). */
int wr_unpack_root (const char *const *layers, const char *const *diff_ids, const char *dest,
                    const wr_unpack_options_t *options, wr_error_t *err);

#endif
