/* The build cache: a table of its own in the store's database.
 * build_cache is not part of the store's schema (store_db.c): it is made
 * here when missing, on a connection of its own.  A row only names a
 * manifest; a hit counts only when that manifest and its config are still
 * in the store (image_build.c checks). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "image_build_private.h"
#include "xalloc.h"

int
wr_build_cache_open (wr_store_t *store, sqlite3 **db, wr_error_t *err)
{
    cleanup_free char *path = xasprintf ("%s/images.db", wr_store_path (store));
    if (sqlite3_open_v2 (path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) !=
        SQLITE_OK) {
        wr_error_set (err, 0, "open `%s`: %s", path, *db ? sqlite3_errmsg (*db) : "no memory");
        sqlite3_close_v2 (*db);
        *db = NULL;
        return -1;
    }
    sqlite3_busy_timeout (*db, 60000);
    char *message = NULL;
    if (sqlite3_exec (*db,
                      "CREATE TABLE IF NOT EXISTS build_cache ("
                      "  key TEXT PRIMARY KEY,"
                      "  manifest_digest TEXT NOT NULL,"
                      "  created INTEGER NOT NULL)",
                      NULL, NULL, &message) != SQLITE_OK) {
        wr_error_set (err, 0, "`%s`: create table build_cache: %s", path,
                      message ? message : sqlite3_errmsg (*db));
        sqlite3_free (message);
        sqlite3_close_v2 (*db);
        *db = NULL;
        return -1;
    }
    return 0;
}

/* 1 and *MANIFEST_DIGEST when KEY is cached, 0 when not. */
int
wr_build_cache_get (sqlite3 *db, const char *key, char **manifest_digest, wr_error_t *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2 (db, "SELECT manifest_digest FROM build_cache WHERE key = ?", -1, &stmt,
                            NULL) != SQLITE_OK)
        return wr_error_set (err, 0, "build cache: %s", sqlite3_errmsg (db));
    sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
    int r = 0;
    int step = sqlite3_step (stmt);
    if (step == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text (stmt, 0);
        if (text != NULL && wr_digest_validate ((const char *) text, NULL) == 0) {
            *manifest_digest = xstrdup ((const char *) text);
            r = 1;
        }
    } else if (step != SQLITE_DONE) {
        r = wr_error_set (err, 0, "build cache: %s", sqlite3_errmsg (db));
    }
    sqlite3_finalize (stmt);
    return r;
}

int
wr_build_cache_put (sqlite3 *db, const char *key, const char *manifest_digest, wr_error_t *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2 (db,
                            "INSERT OR REPLACE INTO build_cache (key, manifest_digest, created) "
                            "VALUES (?, ?, ?)",
                            -1, &stmt, NULL) != SQLITE_OK)
        return wr_error_set (err, 0, "build cache: %s", sqlite3_errmsg (db));
    sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, manifest_digest, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) time (NULL));
    int r = sqlite3_step (stmt) == SQLITE_DONE
                ? 0
                : wr_error_set (err, 0, "build cache: %s", sqlite3_errmsg (db));
    sqlite3_finalize (stmt);
    return r;
}
