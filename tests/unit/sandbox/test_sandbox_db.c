/* warrend's state database: a real SQLite file under /tmp.  Migrations
 * from an empty file and a refused newer version, records and unique
 * names, list filters, every state transition, expiry arithmetic with
 * keep_warm -1 and the daemon's max lifetime, resources, deletion with
 * its labels, processes opening one new database at once (the WAL switch
 * race), threads sharing one handle, damaged files, names an ended
 * sandbox gives back, and ended records forgotten. */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "sandbox_db.h"
#include "xalloc.h"

#define T0 INT64_C (1700000000000)

typedef struct {
    char *dir;
    char *path; /* DIR/warrend.db */
} fixture_t;

static int
setup (void **state)
{
    fixture_t *f = xzalloc (sizeof *f);
    char tmpl[] = "/tmp/warren-sandbox-db-XXXXXX";
    assert_non_null (mkdtemp (tmpl));
    f->dir = xstrdup (tmpl);
    f->path = xasprintf ("%s/warrend.db", f->dir);
    *state = f;
    return 0;
}

static int
teardown (void **state)
{
    fixture_t *f = *state;
    cleanup_free char *cmd = xasprintf ("rm -rf '%s'", f->dir);
    assert_int_equal (system (cmd), 0);
    free (f->dir);
    free (f->path);
    free (f);
    return 0;
}

static wr_sandbox_db_t *
open_db (fixture_t *f, int64_t max_lifetime)
{
    wr_error_t err = NULL;
    wr_sandbox_db_t *db = wr_sandbox_db_open (f->dir, max_lifetime, &err);
    if (db == NULL)
        fail_msg ("%s", err->message);
    return db;
}

/* One integer from SQL run on the file directly. */
static int64_t
query_int (const char *path, const char *sql)
{
    sqlite3 *s = NULL;
    assert_int_equal (sqlite3_open_v2 (path, &s, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal (sqlite3_prepare_v2 (s, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    int64_t v = sqlite3_column_int64 (stmt, 0);
    sqlite3_finalize (stmt);
    sqlite3_close (s);
    return v;
}

static void
exec_raw (const char *path, const char *sql)
{
    sqlite3 *s = NULL;
    assert_int_equal (sqlite3_open_v2 (path, &s, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                      SQLITE_OK);
    assert_int_equal (sqlite3_exec (s, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close (s);
}

/* A new sandbox; ID and NAME may be NULL.  Returns its id (caller frees). */
static char *
add (wr_sandbox_db_t *db, const char *name, int64_t created, int64_t keep_warm,
     const wr_sandbox_label_t *labels, size_t n_labels)
{
    wr_sandbox_record_t r = {
        .name = (char *) name,
        .labels = (wr_sandbox_label_t *) labels,
        .n_labels = n_labels,
        .spec_json = (char *) "{\"image\":\"busybox\"}",
        .keep_warm_seconds = keep_warm,
        .image_ref = (char *) "busybox",
        .created_ms = created,
    };
    wr_error_t err = NULL;
    if (wr_sandbox_db_insert (db, &r, &err) < 0)
        fail_msg ("%s", err->message);
    return r.id;
}

static void
test_migrations (void **state)
{
    fixture_t *f = *state;
    /* From nothing: the directory, the file, WAL, version 1. */
    cleanup_free char *nested = xasprintf ("%s/a/b", f->dir);
    wr_error_t err = NULL;
    wr_sandbox_db_t *db = wr_sandbox_db_open (nested, 0, &err);
    assert_non_null (db);
    cleanup_free char *nested_path = xasprintf ("%s/warrend.db", nested);
    assert_string_equal (wr_sandbox_db_path (db), nested_path);
    wr_sandbox_db_close (db);

    db = open_db (f, 0);
    cleanup_free char *id = add (db, "keep", T0, 600, NULL, 0);
    wr_sandbox_db_close (db);
    assert_int_equal (query_int (f->path, "PRAGMA user_version"), WR_SANDBOX_DB_SCHEMA_VERSION);
    {
        sqlite3 *s = NULL;
        assert_int_equal (sqlite3_open (f->path, &s), SQLITE_OK);
        sqlite3_stmt *stmt = NULL;
        assert_int_equal (sqlite3_prepare_v2 (s, "PRAGMA journal_mode", -1, &stmt, NULL),
                          SQLITE_OK);
        assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
        assert_string_equal ((const char *) sqlite3_column_text (stmt, 0), "wal");
        sqlite3_finalize (stmt);
        sqlite3_close (s);
    }

    /* Opening again migrates nothing and keeps the rows. */
    db = open_db (f, 0);
    wr_sandbox_record_t r;
    assert_int_equal (wr_sandbox_db_get (db, id, &r, &err), 0);
    assert_string_equal (r.name, "keep");
    wr_sandbox_record_clear (&r);
    wr_sandbox_db_close (db);

    /* A database from a newer warrend is refused, and left as it is. */
    exec_raw (f->path, "PRAGMA user_version = 99");
    cleanup_error wr_error_t newer = NULL;
    assert_null (wr_sandbox_db_open (f->dir, 0, &newer));
    cleanup_free char *want =
        xasprintf ("`%s` has schema version 99, newer than this warrend knows (%d)", f->path,
                   WR_SANDBOX_DB_SCHEMA_VERSION);
    assert_non_null (strstr (newer->message, want));
    assert_int_equal (query_int (f->path, "PRAGMA user_version"), 99);
    assert_int_equal (query_int (f->path, "SELECT count(*) FROM sandboxes"), 1);
}

/* Exposed ports: one row per port of a sandbox, a host port once across
 * sandboxes, gone with the sandbox. */
/* A client's sandboxes at once: counted in the insert's transaction, the
 * ended ones not counted, other clients and records without one apart. */
static void
test_client_limit (void **state)
{
    fixture_t *f = *state;
    wr_sandbox_db_t *db = open_db (f, 0);
    wr_sandbox_db_set_client_limit (db, 2);
    char *ids[2] = { NULL, NULL };
    wr_error_t err = NULL;
    for (int i = 0; i < 2; i++) {
        wr_sandbox_record_t r = { .client = (char *) "uid:1000",
                                  .spec_json = (char *) "{}",
                                  .image_ref = (char *) "x",
                                  .keep_warm_seconds = 600 };
        assert_int_equal (wr_sandbox_db_insert (db, &r, &err), 0);
        ids[i] = r.id;
    }
    wr_sandbox_record_t third = { .client = (char *) "uid:1000",
                                  .spec_json = (char *) "{}",
                                  .image_ref = (char *) "x",
                                  .keep_warm_seconds = 600 };
    cleanup_error wr_error_t full = NULL;
    assert_int_equal (wr_sandbox_db_insert (db, &third, &full), -1);
    assert_int_equal (wr_error_kind (full), WR_ERROR_TOO_MANY);
    assert_string_equal (full->message,
                         "a new sandbox: client `uid:1000` has 2 sandboxes, the most "
                         "it may have at once: delete one first");
    assert_null (third.id);
    cleanup_error wr_error_t early = NULL;
    assert_int_equal (wr_sandbox_db_client_check (db, "uid:1000", &early), -1);
    assert_int_equal (wr_error_kind (early), WR_ERROR_TOO_MANY);
    assert_int_equal (wr_sandbox_db_client_check (db, "uid:0", &err), 0);
    assert_int_equal (wr_sandbox_db_client_check (db, NULL, &err), 0);
    /* Someone else, and no one, are not limited by it. */
    cleanup_free char *other = add (db, NULL, T0, 600, NULL, 0);
    wr_sandbox_record_t theirs = { .client = (char *) "tcp:10.0.0.2",
                                   .spec_json = (char *) "{}",
                                   .image_ref = (char *) "x",
                                   .keep_warm_seconds = 600 };
    assert_int_equal (wr_sandbox_db_insert (db, &theirs, &err), 0);
    cleanup_free char *theirs_id = theirs.id;
    assert_non_null (theirs_id);
    /* One that failed frees a place; the record keeps its client. */
    assert_int_equal (wr_sandbox_db_set_state (db, ids[0], WR_SANDBOX_FAILED, "test", 0, &err), 0);
    wr_sandbox_record_t again = third;
    assert_int_equal (wr_sandbox_db_insert (db, &again, &err), 0);
    cleanup_free char *again_id = again.id;
    wr_sandbox_record_t r;
    assert_int_equal (wr_sandbox_db_get (db, again_id, &r, &err), 0);
    assert_string_equal (r.client, "uid:1000");
    wr_sandbox_record_clear (&r);
    assert_int_equal (wr_sandbox_db_get (db, other, &r, &err), 0);
    assert_null (r.client);
    wr_sandbox_record_clear (&r);
    /* 0: no limit. */
    wr_sandbox_db_set_client_limit (db, 0);
    wr_sandbox_record_t more = third;
    assert_int_equal (wr_sandbox_db_insert (db, &more, &err), 0);
    free (more.id);
    free (ids[0]);
    free (ids[1]);
    wr_sandbox_db_close (db);
}

static void
test_ports (void **state)
{
    fixture_t *f = *state;
    wr_sandbox_db_t *db = open_db (f, 0);
    cleanup_free char *a = add (db, "a", T0, 600, NULL, 0);
    cleanup_free char *b = add (db, "b", T0, 600, NULL, 0);
    wr_error_t err = NULL;
    assert_int_equal (wr_sandbox_db_port_add (db, a, 9090, 40001, &err), 0);
    assert_int_equal (wr_sandbox_db_port_add (db, a, 8080, 40000, &err), 0);
    assert_int_equal (wr_sandbox_db_port_add (db, b, 8080, 40002, &err), 0);
    cleanup_error wr_error_t twice = NULL;
    assert_int_equal (wr_sandbox_db_port_add (db, a, 8080, 40003, &twice), -1);
    assert_int_equal (twice->kind, WR_ERROR_EXISTS);
    assert_non_null (strstr (twice->message, "port 8080 is exposed already"));
    cleanup_error wr_error_t taken = NULL;
    assert_int_equal (wr_sandbox_db_port_add (db, b, 7070, 40000, &taken), -1);
    assert_int_equal (taken->kind, WR_ERROR_EXISTS);
    assert_non_null (strstr (taken->message, "host port 40000 is taken"));
    cleanup_error wr_error_t nobody = NULL;
    assert_int_equal (wr_sandbox_db_port_add (db, "sb-0000000000000000", 1, 40009, &nobody), -1);
    assert_int_equal (nobody->kind, WR_ERROR_NOT_FOUND);
    wr_sandbox_port_t *ports = NULL;
    size_t n = 0;
    assert_int_equal (wr_sandbox_db_ports (db, a, &ports, &n, &err), 0);
    assert_int_equal (n, 2);
    assert_int_equal (ports[0].port, 8080);
    assert_int_equal (ports[0].host_port, 40000);
    assert_int_equal (ports[1].port, 9090);
    free (ports);
    cleanup_error wr_error_t missing = NULL;
    assert_int_equal (wr_sandbox_db_port_remove (db, a, 7, &missing), -1);
    assert_int_equal (missing->kind, WR_ERROR_NOT_FOUND);
    assert_int_equal (wr_sandbox_db_port_remove (db, a, 9090, &err), 0);
    assert_int_equal (wr_sandbox_db_port_remove (db, a, 0, &err), 0);
    assert_int_equal (wr_sandbox_db_ports (db, a, &ports, &n, &err), 0);
    assert_int_equal (n, 0);
    assert_null (ports);
    /* The host port of a forgotten port is free again; B's go with B. */
    assert_int_equal (wr_sandbox_db_port_add (db, a, 8080, 40000, &err), 0);
    assert_int_equal (wr_sandbox_db_delete (db, b, &err), 0);
    wr_sandbox_db_close (db);
    assert_int_equal (query_int (f->path, "SELECT count(*) FROM sandbox_ports"), 1);
}

static void
test_records_and_names (void **state)
{
    fixture_t *f = *state;
    wr_sandbox_db_t *db = open_db (f, 0);
    wr_sandbox_label_t labels[] = { { (char *) "team", (char *) "infra" } };
    cleanup_free char *a = add (db, "web", T0, 600, labels, 1);
    cleanup_free char *b = add (db, NULL, T0 + 1, 600, NULL, 0);
    cleanup_free char *c = add (db, NULL, T0 + 2, 600, NULL, 0); /* several without a name */
    assert_int_equal (strlen (a), WR_SANDBOX_ID_LEN);
    assert_int_equal (strncmp (a, "sb-", 3), 0);
    assert_int_equal (strspn (a + 3, "0123456789abcdef"), 16);
    assert_string_not_equal (a, b);
    assert_string_not_equal (b, c);

    wr_error_t err = NULL;
    wr_sandbox_record_t r;
    assert_int_equal (wr_sandbox_db_get (db, a, &r, &err), 0);
    assert_string_equal (r.id, a);
    assert_string_equal (r.name, "web");
    assert_int_equal (r.state, WR_SANDBOX_CREATING);
    assert_null (r.reason);
    assert_string_equal (r.spec_json, "{\"image\":\"busybox\"}");
    assert_string_equal (r.image_ref, "busybox");
    assert_null (r.manifest_digest);
    assert_int_equal (r.created_ms, T0);
    assert_int_equal (r.last_activity_ms, T0);
    assert_int_equal (r.started_ms, 0);
    assert_int_equal (r.expires_ms, T0 + 600000);
    assert_int_equal (r.n_labels, 1);
    assert_string_equal (r.labels[0].key, "team");
    assert_string_equal (r.labels[0].value, "infra");
    assert_null (r.resources.runsc_id);
    wr_sandbox_record_clear (&r);

    assert_int_equal (wr_sandbox_db_get_by_name (db, "web", &r, &err), 0);
    assert_string_equal (r.id, a);
    wr_sandbox_record_clear (&r);

    /* A taken name: EXISTS, naming the name and its holder. */
    wr_sandbox_record_t dup = { .name = (char *) "web",
                                .spec_json = (char *) "{}",
                                .image_ref = (char *) "x",
                                .keep_warm_seconds = 600 };
    cleanup_error wr_error_t taken = NULL;
    assert_int_equal (wr_sandbox_db_insert (db, &dup, &taken), -1);
    assert_int_equal (wr_error_kind (taken), WR_ERROR_EXISTS);
    cleanup_free char *want = xasprintf ("the name `web` is taken by sandbox `%s`", a);
    assert_non_null (strstr (taken->message, want));
    assert_non_null (strstr (taken->message, "sandbox `sb-"));
    assert_null (dup.id);

    /* An id given by the caller, and a taken one. */
    wr_sandbox_record_t mine = { .id = (char *) "sb-00000000000000aa",
                                 .spec_json = (char *) "{}",
                                 .image_ref = (char *) "x",
                                 .keep_warm_seconds = 1 };
    assert_int_equal (wr_sandbox_db_insert (db, &mine, &err), 0);
    cleanup_error wr_error_t again = NULL;
    assert_int_equal (wr_sandbox_db_insert (db, &mine, &again), -1);
    assert_int_equal (wr_error_kind (again), WR_ERROR_EXISTS);
    assert_non_null (strstr (again->message, "sandbox `sb-00000000000000aa`"));

    cleanup_error wr_error_t missing = NULL;
    assert_int_equal (wr_sandbox_db_get (db, "sb-ffffffffffffffff", &r, &missing), -1);
    assert_int_equal (wr_error_kind (missing), WR_ERROR_NOT_FOUND);
    assert_string_equal (missing->message, "sandbox `sb-ffffffffffffffff`: no such sandbox");
    cleanup_error wr_error_t missing_name = NULL;
    assert_int_equal (wr_sandbox_db_get_by_name (db, "nope", &r, &missing_name), -1);
    assert_int_equal (wr_error_kind (missing_name), WR_ERROR_NOT_FOUND);
    assert_non_null (strstr (missing_name->message, "`nope`"));

    /* Deleting frees the name and removes the labels with the row. */
    assert_int_equal (wr_sandbox_db_delete (db, a, &err), 0);
    cleanup_error wr_error_t gone = NULL;
    assert_int_equal (wr_sandbox_db_delete (db, a, &gone), -1);
    assert_int_equal (wr_error_kind (gone), WR_ERROR_NOT_FOUND);
    assert_non_null (strstr (gone->message, a));
    assert_int_equal (query_int (f->path, "SELECT count(*) FROM sandbox_labels"), 0);
    cleanup_free char *reuse = add (db, "web", T0 + 3, 600, NULL, 0);
    assert_non_null (reuse);
    wr_sandbox_db_close (db);
}

static void
expect_ids (wr_sandbox_db_t *db, const wr_sandbox_filter_t *filter, size_t n, ...)
{
    wr_sandbox_record_t *list = NULL;
    size_t count = 0;
    wr_error_t err = NULL;
    if (wr_sandbox_db_list (db, filter, &list, &count, &err) < 0)
        fail_msg ("%s", err->message);
    assert_int_equal (count, n);
    va_list ap;
    va_start (ap, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal (list[i].id, va_arg (ap, const char *));
    va_end (ap);
    wr_sandbox_records_free (list, count);
}

static void
test_list_filters (void **state)
{
    fixture_t *f = *state;
    wr_sandbox_db_t *db = open_db (f, 0);
    wr_sandbox_label_t infra_web[] = { { (char *) "team", (char *) "infra" },
                                       { (char *) "app", (char *) "web" } };
    wr_sandbox_label_t infra_db[] = { { (char *) "team", (char *) "infra" },
                                      { (char *) "app", (char *) "db" } };
    wr_sandbox_label_t ml[] = { { (char *) "team", (char *) "ml" } };
    /* Inserted out of creation order: lists are oldest first. */
    cleanup_free char *c = add (db, "c", T0 + 30, 600, ml, 1);
    cleanup_free char *a = add (db, "a", T0 + 10, 600, infra_web, 2);
    cleanup_free char *b = add (db, NULL, T0 + 20, 600, infra_db, 2);
    wr_error_t err = NULL;
    assert_int_equal (wr_sandbox_db_set_state (db, b, WR_SANDBOX_STARTING, NULL, T0 + 40, &err), 0);

    expect_ids (db, NULL, 3, a, b, c);
    wr_sandbox_filter_t by_state = { .has_state = true, .state = WR_SANDBOX_CREATING };
    expect_ids (db, &by_state, 2, a, c);
    by_state.state = WR_SANDBOX_RUNNING;
    expect_ids (db, &by_state, 0);
    wr_sandbox_filter_t by_name = { .name = "c" };
    expect_ids (db, &by_name, 1, c);
    wr_sandbox_filter_t one_label = { .labels = infra_web, .n_labels = 1 };
    expect_ids (db, &one_label, 2, a, b);
    wr_sandbox_filter_t both = { .labels = infra_db, .n_labels = 2 };
    expect_ids (db, &both, 1, b);
    wr_sandbox_label_t nothing[] = { { (char *) "team", (char *) "infra" },
                                     { (char *) "team", (char *) "ml" } };
    wr_sandbox_filter_t contradiction = { .labels = nothing, .n_labels = 2 };
    expect_ids (db, &contradiction, 0);
    wr_sandbox_filter_t mixed = {
        .has_state = true, .state = WR_SANDBOX_CREATING, .labels = infra_web, .n_labels = 1
    };
    expect_ids (db, &mixed, 1, a);
    wr_sandbox_db_close (db);
}

static void
test_transitions (void **state)
{
    fixture_t *f = *state;
    wr_sandbox_db_t *db = open_db (f, 0);
    /* The full table, checked against the rule written out by hand. */
    static const bool allowed[6][6] = {
        /* to: creating starting running stopping stopped failed */
        [WR_SANDBOX_CREATING] = { 0, 1, 0, 0, 1, 1 }, [WR_SANDBOX_STARTING] = { 0, 0, 1, 0, 0, 1 },
        [WR_SANDBOX_RUNNING] = { 0, 0, 0, 1, 0, 1 },  [WR_SANDBOX_STOPPING] = { 0, 0, 0, 0, 1, 1 },
        [WR_SANDBOX_STOPPED] = { 0, 0, 0, 0, 0, 0 },  [WR_SANDBOX_FAILED] = { 0, 0, 0, 0, 0, 0 },
    };
    for (int from = 0; from < 6; from++)
        for (int to = 0; to < 6; to++)
            assert_int_equal (wr_sandbox_transition_valid (from, to), allowed[from][to]);

    /* Through the database: the way to each state, then every move out. */
    static const wr_sandbox_state_t path[] = { WR_SANDBOX_STARTING, WR_SANDBOX_RUNNING,
                                               WR_SANDBOX_STOPPING, WR_SANDBOX_STOPPED };
    for (int from = 0; from < 6; from++) {
        for (int to = 0; to < 6; to++) {
            cleanup_free char *id = add (db, NULL, T0, 600, NULL, 0);
            wr_error_t err = NULL;
            if (from == WR_SANDBOX_FAILED) {
                assert_int_equal (
                    wr_sandbox_db_set_state (db, id, WR_SANDBOX_FAILED, "x", T0, &err), 0);
            } else {
                for (int i = 0; i < from; i++)
                    assert_int_equal (wr_sandbox_db_set_state (db, id, path[i], NULL, T0, &err), 0);
            }
            cleanup_error wr_error_t moved = NULL;
            int r = wr_sandbox_db_set_state (db, id, to, "because", T0 + 5, &moved);
            wr_sandbox_record_t rec;
            assert_int_equal (wr_sandbox_db_get (db, id, &rec, &err), 0);
            if (allowed[from][to]) {
                if (r < 0)
                    fail_msg ("%d -> %d: %s", from, to, moved->message);
                assert_int_equal (rec.state, to);
                assert_string_equal (rec.reason, "because");
            } else {
                assert_int_equal (r, -1);
                assert_int_equal (wr_error_kind (moved), WR_ERROR_INVALID);
                cleanup_free char *want =
                    xasprintf ("sandbox `%s`: cannot go from %s to %s", id,
                               wr_sandbox_state_name (from), wr_sandbox_state_name (to));
                assert_string_equal (moved->message, want);
                assert_int_equal (rec.state, from);
            }
            wr_sandbox_record_clear (&rec);
            assert_int_equal (wr_sandbox_db_delete (db, id, &err), 0);
        }
    }

    /* Times: started when running, ended when stopped, no expiry after. */
    cleanup_free char *id = add (db, NULL, T0, 600, NULL, 0);
    wr_error_t err = NULL;
    assert_int_equal (wr_sandbox_db_set_state (db, id, WR_SANDBOX_STARTING, NULL, T0 + 1000, &err),
                      0);
    assert_int_equal (wr_sandbox_db_set_state (db, id, WR_SANDBOX_RUNNING, NULL, T0 + 2000, &err),
                      0);
    wr_sandbox_record_t rec;
    assert_int_equal (wr_sandbox_db_get (db, id, &rec, &err), 0);
    assert_int_equal (rec.started_ms, T0 + 2000);
    assert_int_equal (rec.last_activity_ms, T0 + 2000);
    assert_int_equal (rec.expires_ms, T0 + 2000 + 600000);
    assert_null (rec.reason);
    wr_sandbox_record_clear (&rec);
    assert_int_equal (
        wr_sandbox_db_set_state (db, id, WR_SANDBOX_FAILED, "out of memory", T0 + 3000, &err), 0);
    assert_int_equal (wr_sandbox_db_get (db, id, &rec, &err), 0);
    assert_int_equal (rec.state, WR_SANDBOX_FAILED);
    assert_string_equal (rec.reason, "out of memory");
    assert_int_equal (rec.ended_ms, T0 + 3000);
    assert_int_equal (rec.expires_ms, 0);
    wr_sandbox_record_clear (&rec);

    cleanup_error wr_error_t missing = NULL;
    assert_int_equal (
        wr_sandbox_db_set_state (db, "sb-0000000000000000", WR_SANDBOX_FAILED, NULL, 0, &missing),
        -1);
    assert_int_equal (wr_error_kind (missing), WR_ERROR_NOT_FOUND);
    assert_string_equal (missing->message, "sandbox `sb-0000000000000000`: no such sandbox");

    wr_sandbox_state_t s;
    assert_int_equal (wr_sandbox_state_parse ("stopping", &s, &err), 0);
    assert_int_equal (s, WR_SANDBOX_STOPPING);
    cleanup_error wr_error_t bad = NULL;
    assert_int_equal (wr_sandbox_state_parse ("paused", &s, &bad), -1);
    assert_non_null (strstr (bad->message, "`paused` is not a sandbox state"));
    wr_sandbox_db_close (db);
}

static void
run (wr_sandbox_db_t *db, const char *id, int64_t at)
{
    wr_error_t err = NULL;
    assert_int_equal (wr_sandbox_db_set_state (db, id, WR_SANDBOX_STARTING, NULL, at, &err), 0);
    assert_int_equal (wr_sandbox_db_set_state (db, id, WR_SANDBOX_RUNNING, NULL, at, &err), 0);
}

static int64_t
expires (wr_sandbox_db_t *db, const char *id)
{
    wr_sandbox_record_t rec;
    wr_error_t err = NULL;
    assert_int_equal (wr_sandbox_db_get (db, id, &rec, &err), 0);
    int64_t v = rec.expires_ms;
    wr_sandbox_record_clear (&rec);
    return v;
}

static void
test_expiry (void **state)
{
    fixture_t *f = *state;
    /* The rule alone. */
    assert_int_equal (wr_sandbox_expiry_ms (T0, T0 + 5000, 600, 0), T0 + 605000);
    assert_int_equal (wr_sandbox_expiry_ms (T0, T0 + 5000, -1, 0), 0);
    assert_int_equal (wr_sandbox_expiry_ms (T0, T0 + 5000, -1, 3600), T0 + 3600000);
    assert_int_equal (wr_sandbox_expiry_ms (T0, T0 + 5000, 600, 300), T0 + 300000);
    assert_int_equal (wr_sandbox_expiry_ms (T0, T0 + 5000, 600, 3600), T0 + 605000);

    /* Without a daemon maximum. */
    wr_sandbox_db_t *db = open_db (f, 0);
    cleanup_free char *warm = add (db, NULL, T0, 600, NULL, 0);
    cleanup_free char *never = add (db, NULL, T0, -1, NULL, 0);
    run (db, warm, T0);
    run (db, never, T0);
    assert_int_equal (expires (db, warm), T0 + 600000);
    assert_int_equal (expires (db, never), 0);
    wr_error_t err = NULL;
    assert_int_equal (wr_sandbox_db_touch (db, warm, T0 + 100000, &err), 0);
    assert_int_equal (expires (db, warm), T0 + 700000);
    assert_int_equal (wr_sandbox_db_touch (db, never, T0 + 100000, &err), 0);
    assert_int_equal (expires (db, never), 0);
    /* A new lifetime counts from the last activity. */
    assert_int_equal (wr_sandbox_db_set_expiry (db, warm, 60, &err), 0);
    assert_int_equal (expires (db, warm), T0 + 160000);
    assert_int_equal (wr_sandbox_db_set_expiry (db, never, 30, &err), 0);
    assert_int_equal (expires (db, never), T0 + 130000);
    assert_int_equal (wr_sandbox_db_set_expiry (db, never, -1, &err), 0);
    assert_int_equal (expires (db, never), 0);
    cleanup_error wr_error_t zero = NULL;
    assert_int_equal (wr_sandbox_db_set_expiry (db, warm, 0, &zero), -1);
    assert_int_equal (wr_error_kind (zero), WR_ERROR_INVALID);
    assert_non_null (strstr (zero->message, warm));

    /* Expired: running and due only; not a creating one, nor a stopped one. */
    cleanup_free char *young = add (db, NULL, T0, 10, NULL, 0);
    wr_sandbox_record_t *list = NULL;
    size_t n = 0;
    assert_int_equal (wr_sandbox_db_list_expired (db, T0 + 159999, &list, &n, &err), 0);
    assert_int_equal (n, 0);
    assert_int_equal (wr_sandbox_db_list_expired (db, T0 + 160000, &list, &n, &err), 0);
    assert_int_equal (n, 1);
    assert_string_equal (list[0].id, warm);
    wr_sandbox_records_free (list, n);
    assert_int_equal (wr_sandbox_db_set_state (db, warm, WR_SANDBOX_STOPPING, NULL, T0 + 1, &err),
                      0);
    assert_int_equal (wr_sandbox_db_list_expired (db, T0 + 999999999, &list, &n, &err), 0);
    assert_int_equal (n, 0);
    assert_int_equal (
        wr_sandbox_db_set_state (db, warm, WR_SANDBOX_STOPPED, "lifetime expired", T0 + 2, &err),
        0);
    cleanup_error wr_error_t ended = NULL;
    assert_int_equal (wr_sandbox_db_set_expiry (db, warm, 60, &ended), -1);
    assert_non_null (strstr (ended->message, "is stopped: its lifetime cannot change"));
    /* A touch of an ended sandbox keeps it without an expiry. */
    assert_int_equal (wr_sandbox_db_touch (db, warm, T0 + 5000, &err), 0);
    assert_int_equal (expires (db, warm), 0);
    wr_sandbox_db_close (db);

    /* With a daemon maximum of 1000 s: the earlier of the two bounds. */
    db = open_db (f, 1000);
    cleanup_free char *capped = add (db, NULL, T0, 600, NULL, 0);
    cleanup_free char *capped_never = add (db, NULL, T0, -1, NULL, 0);
    assert_int_equal (expires (db, capped), T0 + 600000);
    assert_int_equal (expires (db, capped_never), T0 + 1000000);
    run (db, capped, T0 + 100000);
    assert_int_equal (expires (db, capped), T0 + 700000);
    assert_int_equal (wr_sandbox_db_touch (db, capped, T0 + 900000, &err), 0);
    assert_int_equal (expires (db, capped), T0 + 1000000);
    run (db, capped_never, T0);
    assert_int_equal (wr_sandbox_db_list_expired (db, T0 + 1000000, &list, &n, &err), 0);
    assert_int_equal (n, 2);
    wr_sandbox_records_free (list, n);
    (void) young;
    wr_sandbox_db_close (db);
}

static void
test_resources_and_image (void **state)
{
    fixture_t *f = *state;
    wr_sandbox_db_t *db = open_db (f, 0);
    cleanup_free char *id = add (db, NULL, T0, 600, NULL, 0);
    wr_error_t err = NULL;
    wr_sandbox_resources_t res = { .netns = (char *) "warren-1", .cgroup = (char *) "/warren/sb" };
    assert_int_equal (wr_sandbox_db_set_resources (db, id, &res, &err), 0);
    wr_sandbox_resources_t more = { .runsc_id = (char *) "c1",
                                    .bundle_dir = (char *) "/b",
                                    .agent_dir = (char *) "/a",
                                    .netns = (char *) "" };
    assert_int_equal (wr_sandbox_db_set_resources (db, id, &more, &err), 0);
    assert_int_equal (wr_sandbox_db_set_image (db, id, "sha256:00", NULL, &err), 0);
    assert_int_equal (wr_sandbox_db_set_image (db, id, NULL, "root1", &err), 0);
    wr_sandbox_record_t rec;
    assert_int_equal (wr_sandbox_db_get (db, id, &rec, &err), 0);
    assert_string_equal (rec.resources.runsc_id, "c1");
    assert_string_equal (rec.resources.bundle_dir, "/b");
    assert_null (rec.resources.netns); /* "" cleared it */
    assert_string_equal (rec.resources.cgroup, "/warren/sb"); /* NULL kept it */
    assert_string_equal (rec.resources.agent_dir, "/a");
    assert_string_equal (rec.manifest_digest, "sha256:00");
    assert_string_equal (rec.root_id, "root1");
    wr_sandbox_record_clear (&rec);
    cleanup_error wr_error_t missing = NULL;
    assert_int_equal (wr_sandbox_db_set_resources (db, "sb-1111111111111111", &res, &missing), -1);
    assert_int_equal (wr_error_kind (missing), WR_ERROR_NOT_FOUND);
    assert_non_null (strstr (missing->message, "sandbox `sb-1111111111111111`"));
    wr_sandbox_db_close (db);
}

/* Eight processes open one new database at once, ten rounds: each must
 * succeed (the WAL switch answers SQLITE_BUSY at once to all but one). */
static void
test_processes_open_at_once (void **state)
{
    fixture_t *f = *state;
    for (int round = 0; round < 10; round++) {
        cleanup_free char *dir = xasprintf ("%s/round%d", f->dir, round);
        int go[2];
        assert_int_equal (pipe (go), 0);
        pid_t pids[8];
        for (int i = 0; i < 8; i++) {
            pids[i] = fork ();
            assert_true (pids[i] >= 0);
            if (pids[i] == 0) {
                close (go[1]);
                char c;
                if (read (go[0], &c, 1) < 0)
                    _exit (3);
                wr_error_t err = NULL;
                wr_sandbox_db_t *db = wr_sandbox_db_open (dir, 0, &err);
                if (db == NULL) {
                    fprintf (stderr, "%s\n", err->message);
                    _exit (1);
                }
                wr_sandbox_record_t r = { .spec_json = (char *) "{}",
                                          .image_ref = (char *) "x",
                                          .keep_warm_seconds = 600 };
                int rc = wr_sandbox_db_insert (db, &r, &err);
                if (rc < 0)
                    fprintf (stderr, "%s\n", err->message);
                free (r.id);
                wr_sandbox_db_close (db);
                _exit (rc < 0 ? 2 : 0);
            }
        }
        close (go[0]);
        close (go[1]); /* every child's read returns at once */
        for (int i = 0; i < 8; i++) {
            int status = 0;
            assert_int_equal (waitpid (pids[i], &status, 0), pids[i]);
            assert_true (WIFEXITED (status));
            assert_int_equal (WEXITSTATUS (status), 0);
        }
        cleanup_free char *path = xasprintf ("%s/warrend.db", dir);
        assert_int_equal (query_int (path, "SELECT count(*) FROM sandboxes"), 8);
    }
}

typedef struct {
    wr_sandbox_db_t *db;
    int index;
    int failures;
} worker_t;

static void *
worker (void *data)
{
    worker_t *w = data;
    for (int i = 0; i < 50; i++) {
        cleanup_free char *name = xasprintf ("t%d-%d", w->index, i);
        wr_sandbox_record_t r = { .name = name,
                                  .spec_json = (char *) "{}",
                                  .image_ref = (char *) "x",
                                  .keep_warm_seconds = 600 };
        wr_error_t err = NULL;
        if (wr_sandbox_db_insert (w->db, &r, &err) < 0 ||
            wr_sandbox_db_set_state (w->db, r.id, WR_SANDBOX_STARTING, NULL, 0, &err) < 0 ||
            wr_sandbox_db_touch (w->db, r.id, 0, &err) < 0) {
            wr_error_free (&err);
            w->failures++;
        }
        /* The name every thread fights over: exactly one wins. */
        wr_sandbox_record_t shared = { .name = (char *) "shared",
                                       .spec_json = (char *) "{}",
                                       .image_ref = (char *) "x",
                                       .keep_warm_seconds = 600 };
        if (wr_sandbox_db_insert (w->db, &shared, &err) < 0) {
            if (wr_error_kind (err) != WR_ERROR_EXISTS)
                w->failures++;
            wr_error_free (&err);
        }
        free (shared.id);
        free (r.id);
    }
    return NULL;
}

static void
test_threads_share_a_handle (void **state)
{
    fixture_t *f = *state;
    wr_sandbox_db_t *db = open_db (f, 0);
    pthread_t threads[4];
    worker_t workers[4];
    for (int i = 0; i < 4; i++) {
        workers[i] = (worker_t){ db, i, 0 };
        assert_int_equal (pthread_create (&threads[i], NULL, worker, &workers[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join (threads[i], NULL);
        assert_int_equal (workers[i].failures, 0);
    }
    wr_sandbox_filter_t starting = { .has_state = true, .state = WR_SANDBOX_STARTING };
    wr_sandbox_record_t *list = NULL;
    size_t n = 0;
    wr_error_t err = NULL;
    assert_int_equal (wr_sandbox_db_list (db, &starting, &list, &n, &err), 0);
    assert_int_equal (n, 200);
    wr_sandbox_records_free (list, n);
    wr_sandbox_filter_t shared = { .name = "shared" };
    assert_int_equal (wr_sandbox_db_list (db, &shared, &list, &n, &err), 0);
    assert_int_equal (n, 1);
    wr_sandbox_records_free (list, n);
    wr_sandbox_db_close (db);
}

static void
write_file (const char *path, const void *data, size_t len)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, data, len), (ssize_t) len);
    close (fd);
}

static void
test_damaged_files (void **state)
{
    fixture_t *f = *state;
    /* Garbage. */
    write_file (f->path, "this is not a database, it is a text file of some length\n", 57);
    cleanup_error wr_error_t garbage = NULL;
    assert_null (wr_sandbox_db_open (f->dir, 0, &garbage));
    cleanup_free char *named = xasprintf ("`%s`", f->path);
    assert_non_null (strstr (garbage->message, named));
    assert_non_null (strstr (garbage->message, "not a database"));

    /* A real database cut short: the header says more pages than there are. */
    unlink (f->path);
    wr_sandbox_db_t *db = open_db (f, 0);
    for (int i = 0; i < 200; i++) {
        cleanup_free char *name = xasprintf ("n%d", i);
        cleanup_free char *id = add (db, name, T0 + i, 600, NULL, 0);
        assert_non_null (id);
    }
    wr_sandbox_db_close (db); /* checkpoints the WAL into the file */
    cleanup_free char *wal = xasprintf ("%s-wal", f->path);
    assert_int_not_equal (access (wal, F_OK), 0);
    size_t len = 0;
    cleanup_free char *whole = NULL;
    {
        FILE *in = fopen (f->path, "rb");
        assert_non_null (in);
        fseek (in, 0, SEEK_END);
        len = (size_t) ftell (in);
        rewind (in);
        whole = xmalloc (len);
        assert_int_equal (fread (whole, 1, len, in), len);
        fclose (in);
    }
    assert_true (len > 4 * 4096);
    write_file (f->path, whole, len / 2);
    cleanup_error wr_error_t truncated = NULL;
    assert_null (wr_sandbox_db_open (f->dir, 0, &truncated));
    assert_non_null (strstr (truncated->message, named));

    /* A symbolic link in its place is not followed. */
    unlink (f->path);
    cleanup_free char *elsewhere = xasprintf ("%s/elsewhere.db", f->dir);
    assert_int_equal (symlink (elsewhere, f->path), 0);
    cleanup_error wr_error_t link = NULL;
    assert_null (wr_sandbox_db_open (f->dir, 0, &link));
    assert_non_null (strstr (link->message, named));
    assert_int_not_equal (access (elsewhere, F_OK), 0);
}

/* End ID at AT with STATE (stopped or failed). */
static void
end (wr_sandbox_db_t *db, const char *id, wr_sandbox_state_t state, int64_t at)
{
    wr_error_t err = NULL;
    if (state == WR_SANDBOX_STOPPED)
        assert_int_equal (wr_sandbox_db_set_state (db, id, WR_SANDBOX_STOPPING, NULL, at, &err), 0);
    assert_int_equal (wr_sandbox_db_set_state (db, id, state, "ended", at, &err), 0);
}

/* An ended sandbox gives its name back: a new one may take it, a lookup
 * by the name finds the one holding it (or else the one that ended last),
 * the ended record still shows it and a list by name finds both. */
static void
test_names_given_back (void **state)
{
    fixture_t *f = *state;
    wr_sandbox_db_t *db = open_db (f, 0);
    wr_error_t err = NULL;
    cleanup_free char *first = add (db, "worker", T0, 600, NULL, 0);
    run (db, first, T0);
    end (db, first, WR_SANDBOX_STOPPED, T0 + 1000);
    wr_sandbox_record_t r;
    assert_int_equal (wr_sandbox_db_get (db, first, &r, &err), 0);
    assert_string_equal (r.name, "worker");
    wr_sandbox_record_clear (&r);
    assert_int_equal (wr_sandbox_db_get_by_name (db, "worker", &r, &err), 0);
    assert_string_equal (r.id, first);
    wr_sandbox_record_clear (&r);

    cleanup_free char *second = add (db, "worker", T0 + 2000, 600, NULL, 0);
    cleanup_error wr_error_t taken = NULL;
    wr_sandbox_record_t third = { .name = (char *) "worker",
                                  .spec_json = (char *) "{}",
                                  .image_ref = (char *) "busybox" };
    assert_int_equal (wr_sandbox_db_insert (db, &third, &taken), -1);
    assert_int_equal (wr_error_kind (taken), WR_ERROR_EXISTS);
    assert_non_null (strstr (taken->message, second));
    assert_int_equal (wr_sandbox_db_get_by_name (db, "worker", &r, &err), 0);
    assert_string_equal (r.id, second);
    wr_sandbox_record_clear (&r);
    wr_sandbox_record_t *list = NULL;
    size_t n = 0;
    wr_sandbox_filter_t by_name = { .name = "worker" };
    assert_int_equal (wr_sandbox_db_list (db, &by_name, &list, &n, &err), 0);
    assert_int_equal (n, 2);
    assert_string_equal (list[0].id, first);
    assert_string_equal (list[1].id, second);
    wr_sandbox_records_free (list, n);

    /* Both ended: the name finds the one that ended last. */
    end (db, second, WR_SANDBOX_FAILED, T0 + 5000);
    assert_int_equal (wr_sandbox_db_get_by_name (db, "worker", &r, &err), 0);
    assert_string_equal (r.id, second);
    assert_string_equal (r.name, "worker");
    wr_sandbox_record_clear (&r);
    wr_sandbox_db_close (db);

    /* A database of schema 4, where an ended sandbox kept its name: the
     * migration gives it back. */
    exec_raw (f->path, "DROP INDEX sandboxes_by_ended_name; DROP INDEX sandboxes_by_end;"
                       "UPDATE sandboxes SET name = ended_name, ended_name = NULL "
                       "WHERE id = (SELECT id FROM sandboxes ORDER BY ended_ms DESC LIMIT 1);"
                       "UPDATE sandboxes SET ended_name = NULL;"
                       "ALTER TABLE sandboxes DROP COLUMN ended_name; PRAGMA user_version = 4");
    assert_int_equal (query_int (f->path, "SELECT count(*) FROM sandboxes WHERE name = 'worker'"),
                      1);
    db = open_db (f, 0);
    assert_int_equal (query_int (f->path, "PRAGMA user_version"), WR_SANDBOX_DB_SCHEMA_VERSION);
    assert_int_equal (query_int (f->path, "SELECT count(*) FROM sandboxes WHERE name IS NOT NULL"),
                      0);
    assert_int_equal (wr_sandbox_db_get_by_name (db, "worker", &r, &err), 0);
    assert_string_equal (r.id, second);
    wr_sandbox_record_clear (&r);
    cleanup_free char *again = add (db, "worker", T0 + 9000, 600, NULL, 0);
    assert_string_not_equal (again, second);
    wr_sandbox_db_close (db);
}

/* Ended records older than the bound are forgotten with their labels and
 * ports; younger ones and sandboxes that have not ended are kept, however
 * old.  The counts by state follow. */
static void
test_forget_ended (void **state)
{
    fixture_t *f = *state;
    wr_sandbox_db_t *db = open_db (f, 0);
    wr_error_t err = NULL;
    const wr_sandbox_label_t labels[] = { { (char *) "team", (char *) "a" } };
    cleanup_free char *old_stopped = add (db, "old", T0, 600, labels, 1);
    cleanup_free char *old_failed = add (db, NULL, T0, 600, NULL, 0);
    cleanup_free char *young = add (db, NULL, T0, 600, NULL, 0);
    cleanup_free char *running = add (db, NULL, T0, -1, NULL, 0);
    cleanup_free char *creating = add (db, NULL, T0, 600, NULL, 0);
    run (db, old_stopped, T0);
    assert_int_equal (wr_sandbox_db_port_add (db, old_stopped, 8080, 40000, &err), 0);
    end (db, old_stopped, WR_SANDBOX_STOPPED, T0 + 1000);
    end (db, old_failed, WR_SANDBOX_FAILED, T0 + 2000);
    run (db, young, T0);
    end (db, young, WR_SANDBOX_STOPPED, T0 + 9000);
    run (db, running, T0);

    uint64_t counts[WR_SANDBOX_N_STATES];
    assert_int_equal (wr_sandbox_db_count_states (db, counts, &err), 0);
    assert_int_equal (counts[WR_SANDBOX_CREATING], 1);
    assert_int_equal (counts[WR_SANDBOX_RUNNING], 1);
    assert_int_equal (counts[WR_SANDBOX_STOPPED], 2);
    assert_int_equal (counts[WR_SANDBOX_FAILED], 1);
    assert_int_equal (counts[WR_SANDBOX_STARTING] + counts[WR_SANDBOX_STOPPING], 0);

    size_t n = 99;
    assert_int_equal (wr_sandbox_db_forget_ended (db, T0 + 999, &n, &err), 0);
    assert_int_equal (n, 0);
    assert_int_equal (wr_sandbox_db_forget_ended (db, T0 + 2000, &n, &err), 0);
    assert_int_equal (n, 2);
    wr_sandbox_record_t r;
    cleanup_error wr_error_t gone = NULL;
    assert_int_equal (wr_sandbox_db_get (db, old_stopped, &r, &gone), -1);
    assert_int_equal (wr_error_kind (gone), WR_ERROR_NOT_FOUND);
    cleanup_error wr_error_t gone_name = NULL;
    assert_int_equal (wr_sandbox_db_get_by_name (db, "old", &r, &gone_name), -1);
    assert_int_equal (wr_error_kind (gone_name), WR_ERROR_NOT_FOUND);
    assert_int_equal (wr_sandbox_db_get (db, young, &r, &err), 0);
    wr_sandbox_record_clear (&r);
    /* A bound far in the future forgets the young one, never the others. */
    assert_int_equal (wr_sandbox_db_forget_ended (db, INT64_MAX, NULL, &err), 0);
    assert_int_equal (wr_sandbox_db_count_states (db, counts, &err), 0);
    assert_int_equal (counts[WR_SANDBOX_STOPPED] + counts[WR_SANDBOX_FAILED], 0);
    assert_int_equal (counts[WR_SANDBOX_RUNNING], 1);
    assert_int_equal (counts[WR_SANDBOX_CREATING], 1);
    wr_sandbox_db_close (db);
    assert_int_equal (query_int (f->path, "SELECT count(*) FROM sandboxes"), 2);
    assert_int_equal (query_int (f->path, "SELECT count(*) FROM sandbox_labels"), 0);
    assert_int_equal (query_int (f->path, "SELECT count(*) FROM sandbox_ports"), 0);
    (void) creating;
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_migrations, setup, teardown),
        cmocka_unit_test_setup_teardown (test_records_and_names, setup, teardown),
        cmocka_unit_test_setup_teardown (test_list_filters, setup, teardown),
        cmocka_unit_test_setup_teardown (test_transitions, setup, teardown),
        cmocka_unit_test_setup_teardown (test_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown (test_resources_and_image, setup, teardown),
        cmocka_unit_test_setup_teardown (test_processes_open_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown (test_threads_share_a_handle, setup, teardown),
        cmocka_unit_test_setup_teardown (test_ports, setup, teardown),
        cmocka_unit_test_setup_teardown (test_client_limit, setup, teardown),
        cmocka_unit_test_setup_teardown (test_damaged_files, setup, teardown),
        cmocka_unit_test_setup_teardown (test_names_given_back, setup, teardown),
        cmocka_unit_test_setup_teardown (test_forget_ended, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
