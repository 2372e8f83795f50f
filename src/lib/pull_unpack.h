/* Unpacking while the layers download: a pull that has to fetch layers
 * and make the root starts the unpack in a thread of its own at once; the
 * unpack takes each layer, lowest first, as soon as the store holds it
 * (whole and checked against its digest: nothing unverified is ever
 * unpacked), while the later layers are still downloading.  An image of
 * several layers is ready about when its last layer has arrived and been
 * applied, instead of after all downloads and then all unpacking.
 *
 * Used by image_pull.c; a file of its own for the thread and its waiting. */
#ifndef WARREN_PULL_UNPACK_H
#define WARREN_PULL_UNPACK_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "manifest.h"
#include "store.h"

typedef struct wr_pull_unpack_s wr_pull_unpack_t;

/* Starts unpacking MANIFEST's layers (DIFF_IDS: the config's) into
 * ROOT_PATH in a new thread; layers not in STORE yet are waited for. */
wr_pull_unpack_t *wr_pull_unpack_start (wr_store_t *store, const wr_manifest_t *manifest,
                                        char *const *diff_ids, const char *root_path,
                                        wr_error_t *err);

/* Tells the unpack that the downloads are over (FETCH_OK: all of them
 * succeeded), waits for it and frees it.  Returns 0 when the root was made
 * (or another pull made it meanwhile), -1 with *ERR otherwise; after a
 * failed download the unpack stops at the first layer it lacks, and its
 * error is not reported (the download's is). */
int wr_pull_unpack_finish (wr_pull_unpack_t *unpack, bool fetch_ok, wr_error_t *err);

#endif
