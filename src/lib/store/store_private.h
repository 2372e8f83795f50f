/* What the store's files (store.c, store_blob.c, store_db.c, store_gc.c)
 * share.  Not for users of the store. */
#ifndef WARREN_STORE_PRIVATE_H
#define WARREN_STORE_PRIVATE_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "error.h"
#include "log.h"
#include "store.h"

struct wr_store_s {
    char *root;
    int root_fd;
    int blobs_fd; /* ROOT/blobs/sha256 */
    int ingest_fd; /* ROOT/ingest */
    int roots_fd; /* ROOT/roots */
    sqlite3 *db;
    /* One connection, used by one thread at a time (a transaction must not
     * interleave with another thread's statements). */
    pthread_mutex_t db_lock;
    const wr_log_t *log; /* wr_store_set_log; NULL: the standard log */
};

#define WR_STORE_SCHEMA_VERSION 1

/* The ids of the roots a mount uses now (store_roots_in_use.c): overlays
 * whose lowerdir is a root, and mount points inside a root.
 * NULL-terminated (NULL when none). */
int wr_store_roots_in_use (wr_store_t *store, char ***ids, wr_error_t *err);

/* A valid root id: 64 lowercase hex digits. */
bool wr_store_root_id_valid (const char *root_id);

int wr_store_db_open (wr_store_t *store, wr_error_t *err);
void wr_store_db_close (wr_store_t *store);

/* Sorted hex digests of every referenced blob, and sorted root ids of every
 * image; the caller holds db_lock or owns the store. */
int wr_store_db_referenced (wr_store_t *store, char ***blob_hexes, size_t *n_blobs,
                            char ***root_ids, size_t *n_roots, wr_error_t *err);

#endif
