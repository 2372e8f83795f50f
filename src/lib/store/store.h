/* The image store under warren's state directory:
 *
 *   ROOT/blobs/sha256/<hex>     content by digest; written once, read-only
 *   ROOT/ingest/<hex>.partial   downloads in progress (resumable)
 *   ROOT/roots/<chain hex>/     unpacked root filesystems, shared read-only
 *   ROOT/images.db              SQLite (WAL): images and what they reference
 *
 * A blob becomes visible under blobs/ only after its digest and size were
 * checked (temporary file, fsync, rename), so a crash at any point leaves
 * either nothing or a whole, verified blob.  Reference counts come from the
 * database; garbage collection removes what no image references. */
#ifndef WARREN_STORE_H
#define WARREN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cancel.h"
#include "error.h"
#include "log.h"

typedef struct wr_store_s wr_store_t;

/* Opens (creating when needed) the store at ROOT. */
wr_store_t *wr_store_open (const char *root, wr_error_t *err);
void wr_store_close (wr_store_t *store);
const char *wr_store_path (wr_store_t *store);
/* Where the store's own lines go (waiting for a lock or a download, roots
 * kept by prune); NULL, the default: the standard log.  LOG must outlive
 * the store. */
void wr_store_set_log (wr_store_t *store, const wr_log_t *log);

/* ---- blobs ---- */
/* True when the blob is in blobs/ as a regular file (a download still in
 * ingest/ does not count). */
bool wr_store_has_blob (wr_store_t *store, const char *digest);
/* The same, and its size is SIZE (any size when SIZE is -1): a file of the
 * wrong size is not the blob. */
bool wr_store_has_blob_size (wr_store_t *store, const char *digest, int64_t size);
/* ROOT/blobs/sha256/<hex>; NULL with an error (kind invalid, naming the
 * digest) when DIGEST is not a valid sha256 digest. */
char *wr_store_blob_path (wr_store_t *store, const char *digest, wr_error_t *err);
/* Reads a whole blob of at most MAX_SIZE bytes, checking its digest. */
int wr_store_read_blob (wr_store_t *store, const char *digest, size_t max_size, char **data,
                        size_t *len, wr_error_t *err);
/* Stores DATA under its digest (computed); OUT_DIGEST gets it when not NULL
 * (WR_DIGEST_MAX_LEN + 1 bytes).  When EXPECTED is not NULL it must match. */
int wr_store_put_blob (wr_store_t *store, const void *data, size_t len, const char *expected,
                       char *out_digest, wr_error_t *err);

typedef struct wr_blob_writer_s wr_blob_writer_t;
/* Starts, or resumes, writing the blob DIGEST of SIZE bytes (-1: unknown).
 * *OFFSET gets the number of bytes already kept from an earlier attempt;
 * the caller continues from there (or calls wr_blob_writer_restart).
 *
 * One writer per digest at a time across processes: the partial file is
 * locked (flock), and a second writer of the same digest waits until the
 * first is freed, or until CANCEL (may be NULL) stops (cancelled, or a
 * deadline passed: the error says which).  When the blob is already in the
 * store (or the first writer committed it meanwhile), the writer is
 * "complete": *OFFSET is the blob's size, wr_blob_writer_complete() is true
 * and commit does nothing. */
wr_blob_writer_t *wr_store_blob_writer (wr_store_t *store, const char *digest, int64_t size,
                                        int64_t *offset, const wr_cancel_t *cancel,
                                        wr_error_t *err);
/* True when the blob was already in the store when the writer was made. */
bool wr_blob_writer_complete (wr_blob_writer_t *writer);
/* More bytes: more than SIZE in all is an error. */
int wr_blob_writer_write (wr_blob_writer_t *writer, const void *data, size_t len, wr_error_t *err);
/* Throws away what was kept (the server ignored a range request). */
int wr_blob_writer_restart (wr_blob_writer_t *writer, wr_error_t *err);
/* Checks size and digest, then makes the blob visible.  On a mismatch the
 * partial file is removed and the error names the expected and actual
 * digests. */
int wr_blob_writer_commit (wr_blob_writer_t *writer, wr_error_t *err);
/* Frees the writer.  An uncommitted download stays in ingest/ for resuming. */
void wr_blob_writer_free (wr_blob_writer_t *writer);

/* ---- images ---- */
typedef struct {
    char *name; /* normalised reference, "docker.io/library/busybox:latest" */
    char *manifest_digest; /* the image manifest (after platform selection) */
    char *config_digest;
    char *root_id; /* chain id hex of the unpacked root; NULL if not unpacked */
    int64_t size; /* compressed size of config + layers */
    int64_t created; /* unix time it was stored */
} wr_image_record_t;

/* Records (or re-points) image NAME and the blobs it references, in one
 * transaction.  The manifest and config digests are referenced too, whether
 * or not BLOB_DIGESTS (NULL-terminated; may be NULL) lists them.  CREATED 0
 * means now. */
int wr_store_image_put (wr_store_t *store, const wr_image_record_t *record,
                        const char *const *blob_digests, wr_error_t *err);
/* 1 and fills RECORD when NAME exists, 0 when not. */
int wr_store_image_get (wr_store_t *store, const char *name, wr_image_record_t *record,
                        wr_error_t *err);
int wr_store_image_list (wr_store_t *store, wr_image_record_t **records, size_t *count,
                         wr_error_t *err);
/* Removes the name only; blobs and roots go at the next prune. */
int wr_store_image_remove (wr_store_t *store, const char *name, wr_error_t *err);
void wr_image_record_clear (wr_image_record_t *record);
/* Clears and frees the array from wr_store_image_list. */
void wr_image_records_free (wr_image_record_t *records, size_t count);

typedef struct {
    size_t blobs_removed;
    size_t roots_removed;
    size_t roots_in_use; /* unreferenced, but kept: a mounted bundle uses them */
    size_t partials_removed;
    uint64_t bytes_freed;
} wr_prune_stats_t;
/* Removes blobs and roots no image references, and abandoned downloads.
 * A root no image references is kept while a mount uses it (a bundle's
 * overlay: a sandbox still running on a removed image).
 * (files in ingest/ untouched for WR_STORE_PARTIAL_MAX_AGE seconds and not
 * locked by a writer).  Takes the store lock exclusively, so it waits for
 * pulls that hold it shared; do not call it while holding the lock. */
#define WR_STORE_PARTIAL_MAX_AGE (24 * 60 * 60)
int wr_store_prune (wr_store_t *store, wr_prune_stats_t *stats, wr_error_t *err);

/* ---- roots ---- */
/* ROOT/roots/<root_id>; the directory may not exist yet.  NULL with an
 * error (kind invalid, naming it) unless ROOT_ID is 64 lowercase hex
 * digits. */
char *wr_store_root_path (wr_store_t *store, const char *root_id, wr_error_t *err);

/* ---- the store lock ----
 * ROOT/store.lock (flock).  A pull holds it shared from its first blob
 * until wr_store_image_put has recorded what it references, so that prune,
 * which holds it exclusively, never removes a blob or a root that is about
 * to be referenced.  Each call opens its own descriptor, so threads of one
 * process exclude each other too.  Returns the descriptor that holds the
 * lock (release it with wr_store_unlock). */
int wr_store_lock_shared (wr_store_t *store, wr_error_t *err);
int wr_store_lock_exclusive (wr_store_t *store, wr_error_t *err);
void wr_store_unlock (int lock_fd);

#endif
