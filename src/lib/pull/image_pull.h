/* Pulling an image into the store: resolve the reference to a manifest
 * (choosing a platform from an index), fetch the config and the missing
 * layers, unpack the root once per chain id, and record the image.
 *
 * A warm pull (every blob present, the root unpacked) does no layer work:
 * no blob is downloaded and nothing is unpacked. */
#ifndef WARREN_IMAGE_PULL_H
#define WARREN_IMAGE_PULL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "log.h"
#include "image_ref.h"
#include "manifest.h"
#include "registry.h"
#include "store.h"
#include "unpack.h"

typedef struct {
    const char *platform; /* "os/arch[/variant]"; NULL: the host's */
    /* Bytes of each blob as they arrive (see progress.h); may be NULL.
     * Blobs are announced first with ANNOUNCE (may be NULL). */
    wr_registry_progress_fn progress;
    void (*announce) (void *data, const char *digest, int64_t total);
    void *progress_data;
    wr_unpack_limits_t limits; /* what the layers may hold (0s: the defaults) */
    const wr_log_t *log; /* the pull's lines; NULL: the standard log */
    /* Stops the pull from another thread (wr_cancel_request): every
     * download, retry wait and unpack of it stops within a second, and the
     * pull fails with a WR_ERROR_CANCELLED error.  May be NULL. */
    const wr_cancel_t *cancel;
    /* The whole pull's deadline in milliseconds (0: none): past it the
     * pull stops the same way, with a WR_ERROR_UNAVAILABLE error (errno
     * ETIMEDOUT) that says "the pull deadline of N s passed" and names the
     * request or blob it was at.  Each request also has the registry's
     * own deadlines (wr_registry_options_t). */
    int64_t deadline_ms;
} wr_pull_options_t;

typedef struct {
    bool up_to_date; /* nothing was downloaded or unpacked but manifests */
    size_t layers_fetched;
    size_t layers_total;
    uint64_t bytes_fetched; /* compressed bytes of the layers fetched */
    bool unpacked; /* the root was unpacked by this pull */
} wr_pull_result_t;

/* Pulls REFERENCE into STORE from REGISTRY; OUT (may be NULL) gets the
 * image's record.  A pull that fails (cancelled, past its deadline, or
 * otherwise) leaves no root and no temporary directory of its own; blobs
 * that were fully downloaded and checked stay in the store, and a blob
 * cut off midway stays as a partial in ingest/, from which a later pull
 * resumes (docs/registries.md). */
int wr_image_pull (wr_store_t *store, wr_registry_t *registry, const char *reference,
                   const wr_pull_options_t *opts, wr_image_record_t *out, wr_error_t *err);

/* The same, telling what it did. */
int wr_image_pull_ex (wr_store_t *store, wr_registry_t *registry, const char *reference,
                      const wr_pull_options_t *opts, wr_image_record_t *out,
                      wr_pull_result_t *result, wr_error_t *err);

/* The second half of a pull, from an image manifest already fetched and
 * stored (MANIFEST_DIGEST): config, layers, root, record.  The caller holds
 * the store lock shared (wr_store_lock_shared).  NAME is the
 * image's normalised name; EXTRA_BLOBS (NULL-terminated, may be NULL) are
 * more blobs the image references (an index).  REGISTRY and REF are used
 * only for blobs missing from STORE (a warm pull never touches them). */
int wr_image_pull_manifest (wr_store_t *store, wr_registry_t *registry, const wr_image_ref_t *ref,
                            const char *name, const wr_manifest_t *manifest,
                            const char *manifest_digest, const char *const *extra_blobs,
                            const wr_pull_options_t *opts, wr_image_record_t *out,
                            wr_pull_result_t *result, wr_error_t *err);

/* The OCI chain id of a root made of the layers DIFF_IDS (lowest first):
 * ChainID(L0) = DiffID(L0), ChainID(Ln) = sha256(ChainID(Ln-1) + " " +
 * DiffID(Ln)).  OUT gets "sha256:<hex>" (WR_DIGEST_MAX_LEN + 1 bytes).
 * Fails on an empty list or an invalid diff id. */
int wr_chain_id (const char *const *diff_ids, size_t count, char *out, wr_error_t *err);

/* Parses "os/arch[/variant]" (as for --platform). Caller frees the parts;
 * *VARIANT is NULL when not given. */
int wr_platform_parse (const char *text, char **os, char **architecture, char **variant,
                       wr_error_t *err);

#endif
