/* Unit tests of sqlite_open.c: a new database is WAL with foreign keys on;
 * a symlink in the database's place and a path that cannot be a database
 * are refused with the path and the step named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "sqlite_open.h"
#include "xalloc.h"

static const char *
pragma (sqlite3 *db, const char *sql, char *buf, size_t size)
{
    sqlite3_stmt *stmt = NULL;
    assert_int_equal (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    snprintf (buf, size, "%s", (const char *) sqlite3_column_text (stmt, 0));
    sqlite3_finalize (stmt);
    return buf;
}

static void
test_new_database (void **state)
{
    char dir[] = "/tmp/warren-test-sqlite-XXXXXX";
    assert_non_null (mkdtemp (dir));
    cleanup_free char *path = xasprintf ("%s/x.db", dir);
    sqlite3 *db = NULL;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_sqlite_open (path, 1000, &db, &err), 0);
    char buf[32];
    assert_string_equal (pragma (db, "PRAGMA journal_mode", buf, sizeof buf), "wal");
    assert_string_equal (pragma (db, "PRAGMA foreign_keys", buf, sizeof buf), "1");
    assert_string_equal (pragma (db, "PRAGMA synchronous", buf, sizeof buf), "1");
    sqlite3_close (db);

    /* Not through a symlink, and not a directory. */
    cleanup_free char *link = xasprintf ("%s/link.db", dir);
    assert_int_equal (symlink (path, link), 0);
    assert_int_equal (wr_sqlite_open (link, 1000, &db, &err), -1);
    assert_null (db);
    assert_non_null (strstr (err->message, link));
    assert_non_null (strstr (err->message, "open"));
    wr_error_free (&err);
    assert_int_equal (wr_sqlite_open (dir, 1000, &db, &err), -1);
    assert_null (db);
    assert_non_null (strstr (err->message, dir));
    assert_int_equal (wr_error_kind (err), WR_ERROR_INTERNAL);

    cleanup_free char *cmd = xasprintf ("rm -rf '%s'", dir);
    assert_int_equal (system (cmd), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_new_database),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
