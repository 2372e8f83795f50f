#include "sqlite_open.h"

#include <unistd.h>

static int
fail (sqlite3 **db, const char *path, const char *step, wr_error_t *err)
{
    int code = *db != NULL ? sqlite3_extended_errcode (*db) : SQLITE_NOMEM;
    wr_error_set_kind (
        err,
        (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED ? WR_ERROR_UNAVAILABLE
                                                                       : WR_ERROR_INTERNAL,
        0, "`%s`: %s: %s", path, step, *db != NULL ? sqlite3_errmsg (*db) : "out of memory");
    sqlite3_close (*db);
    *db = NULL;
    return -1;
}

int
wr_sqlite_open (const char *path, int busy_timeout_ms, sqlite3 **out, wr_error_t *err)
{
    int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_FULLMUTEX;
    *out = NULL;
    if (sqlite3_open_v2 (path, out, flags, NULL) != SQLITE_OK)
        return fail (out, path, "open", err);
    sqlite3_busy_timeout (*out, busy_timeout_ms);
    sqlite3_extended_result_codes (*out, 1);
    for (int waited = 0;; waited += 10) {
        int rc = sqlite3_exec (*out, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            break;
        if ((rc & 0xff) != SQLITE_BUSY || waited >= busy_timeout_ms)
            return fail (out, path, "set WAL mode", err);
        usleep (10000);
    }
    if (sqlite3_exec (*out, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", NULL, NULL,
                      NULL) != SQLITE_OK)
        return fail (out, path, "set synchronous and foreign keys", err);
    return 0;
}
