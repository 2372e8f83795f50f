/* Unpacking while the layers download: a pull that has to fetch layers
 * and make the root starts the unpack in a thread of its own at once.
 *
 * The lowest layer, when it has to be downloaded, is read as its bytes
 * arrive (a tee on its download, through a socket): decompressed, hashed
 * and written into the temporary root while the download goes on.  The
 * other layers are taken as soon as the store holds them, whole and
 * checked, while the later ones are still downloading.  Nothing reaches
 * roots/<id> unchecked: the root is renamed into place only after every
 * layer's diff id matched and the streamed layer's download ended with
 * its digest checked; if the streamed layer's download started over or
 * broke, the unpack is made again from the stored layers.  An image is
 * ready about when its last byte has arrived, instead of after all
 * downloads and then all unpacking.
 *
 * Used by image_pull.c; a file of its own for the thread and its waiting. */
#ifndef WARREN_PULL_UNPACK_H
#define WARREN_PULL_UNPACK_H

#include <stdbool.h>
#include <stddef.h>

#include "cancel.h"
#include "error.h"
#include "log.h"
#include "manifest.h"
#include "registry.h"
#include "store.h"
#include "unpack.h"

typedef struct wr_pull_unpack_s wr_pull_unpack_t;

/* Starts unpacking MANIFEST's layers (DIFF_IDS: the config's) into
 * ROOT_PATH in a new thread; layers not in STORE yet are waited for.  With
 * STREAM_LOWEST, the lowest layer is read as it downloads, through the tee
 * of wr_pull_unpack_tee, which the caller gives to the download.  LIMITS
 * (NULL: the defaults) bound what the layers may hold; LOG (NULL: the
 * standard log) gets the unpack's lines.  CANCEL (may be NULL; must outlive
 * the unpack) stops it between entries and while it waits for a layer
 * still downloading; its temporary root is then removed and nothing
 * reaches ROOT_PATH. */
wr_pull_unpack_t *wr_pull_unpack_start (wr_store_t *store, const wr_manifest_t *manifest,
                                        char *const *diff_ids, const char *root_path,
                                        bool stream_lowest, const wr_unpack_limits_t *limits,
                                        const wr_log_t *log, const wr_cancel_t *cancel,
                                        wr_error_t *err);

/* The tee for wr_registry_fetch_blobs_tee, or NULL when the lowest layer
 * is not streamed. */
const wr_blob_tee_t *wr_pull_unpack_tee (wr_pull_unpack_t *unpack);

/* Tells the unpack that the downloads are over (FETCH_OK: all of them
 * succeeded), waits for it and frees it.  Returns 0 when the root was made
 * (or another pull made it meanwhile), -1 with *ERR otherwise; after a
 * failed download the unpack stops at the first layer it lacks, and its
 * error is not reported (the download's is). */
int wr_pull_unpack_finish (wr_pull_unpack_t *unpack, bool fetch_ok, wr_error_t *err);

#endif
