/* What sandbox_db.c and sandbox_db_update.c share. */
#ifndef WARREN_SANDBOX_DB_PRIVATE_H
#define WARREN_SANDBOX_DB_PRIVATE_H

#include <pthread.h>
#include <sqlite3.h>

#include "sandbox_db.h"

struct wr_sandbox_db_s {
    sqlite3 *sql;
    char *path;
    int64_t max_lifetime_seconds;
    int64_t client_max; /* live sandboxes a client may have; 0: no limit */
    pthread_mutex_t lock; /* held for every statement: one connection */
};

static inline void
wr_sandbox_finalize_fn (sqlite3_stmt **stmt)
{
    sqlite3_finalize (*stmt);
}
#define cleanup_stmt __attribute__ ((cleanup (wr_sandbox_finalize_fn)))

/* "`PATH`: WHAT: SQLite's message"; kind unavailable for a busy database. */
int wr_sandbox_db_error (wr_sandbox_db_t *db, wr_error_t *err, const char *what);
int wr_sandbox_db_prepare (wr_sandbox_db_t *db, const char *sql, sqlite3_stmt **stmt,
                           wr_error_t *err);
/* NOW_MS, or the clock's when 0. */
int64_t wr_sandbox_now_ms (int64_t now_ms);

/* Runs FN under the lock in a write transaction (BEGIN IMMEDIATE),
 * committed when it returns 0; its error is prefixed "sandbox `ID`". */
typedef int (*wr_sandbox_txn_fn_t) (wr_sandbox_db_t *db, const char *id, void *data,
                                    wr_error_t *err);
int wr_sandbox_db_txn (wr_sandbox_db_t *db, const char *id, wr_sandbox_txn_fn_t fn, void *data,
                       wr_error_t *err);

#endif
