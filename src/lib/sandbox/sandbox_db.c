/* warrend's state in ROOT/warrend.db: opening and migrating the database,
 * and the sandboxes table.  See sandbox_db.h. */
#include "sandbox_db.h"
#include "sqlite_open.h"
#include "sandbox_db_private.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"
#include "quote.h"
#include "xalloc.h"

/* warrend's threads, and other processes, wait for each other this long. */
#define BUSY_TIMEOUT_MS 30000
#define FILTER_LABELS_MAX 64

static const char *const state_names[] = {
    "creating", "starting", "running", "stopping", "stopped", "failed",
};

/* Migration N takes the schema from version N-1 to N. */
static const char *const migrations[] = {
    NULL,
    "CREATE TABLE sandboxes ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT UNIQUE,"
    "  labels TEXT NOT NULL DEFAULT '{}',"
    "  spec TEXT NOT NULL,"
    "  keep_warm_seconds INTEGER NOT NULL,"
    "  image_ref TEXT NOT NULL,"
    "  manifest_digest TEXT,"
    "  root_id TEXT,"
    "  state TEXT NOT NULL CHECK (state IN ('creating', 'starting', 'running', 'stopping',"
    "                                        'stopped', 'failed')),"
    "  reason TEXT,"
    "  created_ms INTEGER NOT NULL,"
    "  started_ms INTEGER,"
    "  ended_ms INTEGER,"
    "  last_activity_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER,"
    "  runsc_id TEXT,"
    "  bundle_dir TEXT,"
    "  netns TEXT,"
    "  cgroup TEXT,"
    "  agent_dir TEXT);"
    "CREATE TABLE sandbox_labels ("
    "  sandbox_id TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,"
    "  key TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (sandbox_id, key));"
    "CREATE INDEX sandbox_labels_by_pair ON sandbox_labels(key, value);"
    "CREATE INDEX sandboxes_by_created ON sandboxes(created_ms);"
    "CREATE INDEX sandboxes_by_expiry ON sandboxes(state, expires_ms);",
    /* 2: exposed ports (sandbox_db_ports.c) */
    "CREATE TABLE sandbox_ports ("
    "  sandbox_id TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,"
    "  port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),"
    "  host_port INTEGER NOT NULL UNIQUE CHECK (host_port BETWEEN 1 AND 65535),"
    "  PRIMARY KEY (sandbox_id, port));",
    /* 3: who asked for each sandbox, for per-client limits */
    "ALTER TABLE sandboxes ADD COLUMN client TEXT;"
    "CREATE INDEX sandboxes_by_client ON sandboxes(client, state);",
    /* 4: egress: the sandbox's address and its current network policy */
    "ALTER TABLE sandboxes ADD COLUMN address TEXT;"
    "ALTER TABLE sandboxes ADD COLUMN network TEXT;",
    /* 5: an ended sandbox gives its name back (kept as ended_name, for
     * lookups and lists), and ended records are forgotten after a while */
    "ALTER TABLE sandboxes ADD COLUMN ended_name TEXT;"
    "UPDATE sandboxes SET ended_name = name, name = NULL WHERE state IN ('stopped', 'failed');"
    "CREATE INDEX sandboxes_by_ended_name ON sandboxes(ended_name);"
    "CREATE INDEX sandboxes_by_end ON sandboxes(state, ended_ms);",
};
_Static_assert(sizeof migrations / sizeof migrations[0] == WR_SANDBOX_DB_SCHEMA_VERSION + 1,
               "one migration per schema version");

const char *
wr_sandbox_state_name (wr_sandbox_state_t state)
{
    if ((unsigned) state < sizeof state_names / sizeof state_names[0])
        return state_names[state];
    return "unknown";
}

int
wr_sandbox_state_parse (const char *text, wr_sandbox_state_t *state, wr_error_t *err)
{
    for (size_t i = 0; i < sizeof state_names / sizeof state_names[0]; i++) {
        if (text != NULL && strcmp (text, state_names[i]) == 0) {
            *state = (wr_sandbox_state_t) i;
            return 0;
        }
    }
    cleanup_free char *quoted = wr_quote (text, 64);
    return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                              "`%s` is not a sandbox state (creating, starting, running, "
                              "stopping, stopped, failed)",
                              quoted);
}

bool
wr_sandbox_transition_valid (wr_sandbox_state_t from, wr_sandbox_state_t to)
{
    if (from == WR_SANDBOX_STOPPED || from == WR_SANDBOX_FAILED)
        return false;
    if (to == WR_SANDBOX_FAILED)
        return true;
    if (from == WR_SANDBOX_CREATING && to == WR_SANDBOX_STOPPED)
        return true;
    return from != WR_SANDBOX_STOPPING ? to == from + 1 : to == WR_SANDBOX_STOPPED;
}

int64_t
wr_sandbox_expiry_ms (int64_t created_ms, int64_t activity_ms, int64_t keep_warm_seconds,
                      int64_t max_lifetime_seconds)
{
    int64_t expires = 0;
    if (keep_warm_seconds >= 0)
        expires = activity_ms + keep_warm_seconds * 1000;
    if (max_lifetime_seconds > 0) {
        int64_t bound = created_ms + max_lifetime_seconds * 1000;
        if (expires == 0 || bound < expires)
            expires = bound;
    }
    return expires;
}

int64_t
wr_sandbox_now_ms (int64_t now_ms)
{
    if (now_ms > 0)
        return now_ms;
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
wr_sandbox_db_error (wr_sandbox_db_t *db, wr_error_t *err, const char *what)
{
    int code = sqlite3_extended_errcode (db->sql);
    wr_error_set (err, 0, "`%s`: %s: %s", db->path, what, sqlite3_errmsg (db->sql));
    return wr_error_retag (err, (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED
                                    ? WR_ERROR_UNAVAILABLE
                                    : WR_ERROR_INTERNAL);
}

/* SQL's error says WHAT failed (SQL itself when NULL). */
static int
exec_sql (wr_sandbox_db_t *db, const char *sql, const char *what, wr_error_t *err)
{
    if (sqlite3_exec (db->sql, sql, NULL, NULL, NULL) != SQLITE_OK)
        return wr_sandbox_db_error (db, err, what != NULL ? what : sql);
    return 0;
}

int
wr_sandbox_db_prepare (wr_sandbox_db_t *db, const char *sql, sqlite3_stmt **stmt, wr_error_t *err)
{
    if (sqlite3_prepare_v2 (db->sql, sql, -1, stmt, NULL) != SQLITE_OK)
        return wr_sandbox_db_error (db, err, "prepare");
    return 0;
}

static int
user_version (wr_sandbox_db_t *db, int *version, wr_error_t *err)
{
    cleanup_stmt sqlite3_stmt *stmt = NULL;
    if (wr_sandbox_db_prepare (db, "PRAGMA user_version", &stmt, err) < 0)
        return -1;
    if (sqlite3_step (stmt) != SQLITE_ROW)
        return wr_sandbox_db_error (db, err, "read the schema version");
    *version = sqlite3_column_int (stmt, 0);
    return 0;
}

/* quick_check reads every page: a truncated file or a damaged page shows. */
static int
check_intact (wr_sandbox_db_t *db, wr_error_t *err)
{
    cleanup_stmt sqlite3_stmt *stmt = NULL;
    if (wr_sandbox_db_prepare (db, "PRAGMA quick_check(1)", &stmt, err) < 0)
        return -1;
    int step = sqlite3_step (stmt);
    if (step != SQLITE_ROW)
        return wr_sandbox_db_error (db, err, "check the database");
    const char *answer = (const char *) sqlite3_column_text (stmt, 0);
    if (answer == NULL || strcmp (answer, "ok") != 0)
        return wr_error_set (err, 0, "`%s` is damaged: %s", db->path,
                             answer != NULL ? answer : "quick_check gave no answer");
    return 0;
}

/* Runs each migration the database lacks in a transaction of its own,
 * reading the version again inside it: another process opening the same
 * new database may have run it first. */
static int
migrate (wr_sandbox_db_t *db, wr_error_t *err)
{
    for (int target = 1; target <= WR_SANDBOX_DB_SCHEMA_VERSION; target++) {
        if (exec_sql (db, "BEGIN IMMEDIATE", NULL, err) < 0)
            return -1;
        int version = 0;
        if (user_version (db, &version, err) < 0)
            goto rollback;
        if (version > WR_SANDBOX_DB_SCHEMA_VERSION) {
            wr_error_set (err, 0,
                          "`%s` has schema version %d, newer than this warrend knows (%d): "
                          "use a newer warrend",
                          db->path, version, WR_SANDBOX_DB_SCHEMA_VERSION);
            goto rollback;
        }
        if (version < target) {
            cleanup_free char *set = xasprintf ("PRAGMA user_version = %d", target);
            if (version != target - 1) {
                wr_error_set (err, 0, "`%s`: schema version %d, expected %d", db->path, version,
                              target - 1);
                goto rollback;
            }
            if (exec_sql (db, migrations[target], "migrate", err) < 0 ||
                exec_sql (db, set, NULL, err) < 0) {
                wr_error_prefix (err, "migrate to schema version %d", target);
                goto rollback;
            }
        }
        if (exec_sql (db, "COMMIT", NULL, err) < 0)
            goto rollback;
    }
    return 0;

rollback:
    sqlite3_exec (db->sql, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

static int
open_locked (wr_sandbox_db_t *db, wr_error_t *err)
{
    if (wr_sqlite_open (db->path, BUSY_TIMEOUT_MS, &db->sql, err) < 0)
        return -1;
    if (check_intact (db, err) < 0)
        return -1;
    return migrate (db, err);
}

wr_sandbox_db_t *
wr_sandbox_db_open (const char *root, int64_t max_lifetime_seconds, wr_error_t *err)
{
    if (wr_mkdir_p (root, 0700, err) < 0) {
        wr_error_prefix (err, "warrend's state");
        return NULL;
    }
    wr_sandbox_db_t *db = xzalloc (sizeof *db);
    db->path = xasprintf ("%s/warrend.db", root);
    db->max_lifetime_seconds = max_lifetime_seconds > 0 ? max_lifetime_seconds : 0;
    pthread_mutex_init (&db->lock, NULL);
    if (open_locked (db, err) < 0) {
        wr_sandbox_db_close (db);
        return NULL;
    }
    return db;
}

void
wr_sandbox_db_close (wr_sandbox_db_t *db)
{
    if (db == NULL)
        return;
    if (db->sql != NULL)
        sqlite3_close_v2 (db->sql);
    pthread_mutex_destroy (&db->lock);
    free (db->path);
    free (db);
}

const char *
wr_sandbox_db_path (const wr_sandbox_db_t *db)
{
    return db->path;
}

/* wr_sandbox_db_txn, its errors prefixed with NAMED (the id, or words for
 * a sandbox that has none yet). */
static int
txn_named (wr_sandbox_db_t *db, const char *id, const char *named, wr_sandbox_txn_fn_t fn,
           void *data, wr_error_t *err)
{
    pthread_mutex_lock (&db->lock);
    int r = exec_sql (db, "BEGIN IMMEDIATE", NULL, err);
    if (r == 0) {
        r = fn (db, id, data, err);
        if (r == 0)
            r = exec_sql (db, "COMMIT", NULL, err);
        if (r < 0)
            sqlite3_exec (db->sql, "ROLLBACK", NULL, NULL, NULL);
    }
    pthread_mutex_unlock (&db->lock);
    if (r < 0)
        return wr_error_prefix (err, "%s", named);
    return 0;
}

int
wr_sandbox_db_txn (wr_sandbox_db_t *db, const char *id, wr_sandbox_txn_fn_t fn, void *data,
                   wr_error_t *err)
{
    cleanup_free char *named = xasprintf ("sandbox `%s`", id != NULL ? id : "(new)");
    return txn_named (db, id, named, fn, data, err);
}

static void
bind_text_or_null (sqlite3_stmt *stmt, int column, const char *text)
{
    if (text != NULL)
        sqlite3_bind_text (stmt, column, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null (stmt, column);
}

static void
bind_time (sqlite3_stmt *stmt, int column, int64_t ms)
{
    if (ms != 0)
        sqlite3_bind_int64 (stmt, column, ms);
    else
        sqlite3_bind_null (stmt, column);
}

static char *
labels_json (const wr_sandbox_label_t *labels, size_t n)
{
    json_object *o = json_object_new_object ();
    for (size_t i = 0; i < n; i++)
        json_object_object_add (o, labels[i].key, json_object_new_string (labels[i].value));
    char *text = xstrdup (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN));
    json_object_put (o);
    return text;
}

static void
new_id (char out[WR_SANDBOX_ID_LEN + 1])
{
    unsigned char bytes[8];
    size_t got = 0;
    while (got < sizeof bytes) {
        ssize_t n = getrandom (bytes + got, sizeof bytes - got, 0);
        if (n < 0 && errno != EINTR)
            abort ();
        if (n > 0)
            got += (size_t) n;
    }
    memcpy (out, "sb-", 3);
    for (size_t i = 0; i < sizeof bytes; i++)
        snprintf (out + 3 + 2 * i, 3, "%02x", bytes[i]);
}

/* Fails (kind too_many) when CLIENT has as many sandboxes as it may;
 * the lock held. */
static int
client_full_locked (wr_sandbox_db_t *db, const char *client, wr_error_t *err)
{
    if (client == NULL || db->client_max == 0)
        return 0;
    cleanup_stmt sqlite3_stmt *count = NULL;
    if (wr_sandbox_db_prepare (db,
                               "SELECT count(*) FROM sandboxes WHERE client = ? AND "
                               "state NOT IN ('stopped', 'failed')",
                               &count, err) < 0)
        return -1;
    sqlite3_bind_text (count, 1, client, -1, SQLITE_STATIC);
    if (sqlite3_step (count) != SQLITE_ROW)
        return wr_sandbox_db_error (db, err, "count the client's sandboxes");
    int64_t n = sqlite3_column_int64 (count, 0);
    if (n >= db->client_max)
        return wr_error_set_kind (err, WR_ERROR_TOO_MANY, 0,
                                  "client `%s` has %lld sandboxes, the most it may have at once: "
                                  "delete one first",
                                  client, (long long) n);
    return 0;
}

int
wr_sandbox_db_client_check (wr_sandbox_db_t *db, const char *client, wr_error_t *err)
{
    pthread_mutex_lock (&db->lock);
    int rc = client_full_locked (db, client, err);
    pthread_mutex_unlock (&db->lock);
    return rc;
}

static int
insert_locked (wr_sandbox_db_t *db, const char *id, void *data, wr_error_t *err)
{
    wr_sandbox_record_t *r = data;
    if (r->name != NULL) {
        cleanup_stmt sqlite3_stmt *find = NULL;
        if (wr_sandbox_db_prepare (db, "SELECT id FROM sandboxes WHERE name = ?", &find, err) < 0)
            return -1;
        sqlite3_bind_text (find, 1, r->name, -1, SQLITE_STATIC);
        int step = sqlite3_step (find);
        if (step == SQLITE_ROW)
            return wr_error_set_kind (err, WR_ERROR_EXISTS, 0,
                                      "the name `%s` is taken by sandbox `%s`", r->name,
                                      (const char *) sqlite3_column_text (find, 0));
        if (step != SQLITE_DONE)
            return wr_sandbox_db_error (db, err, "look up the name");
    }
    if (client_full_locked (db, r->client, err) < 0)
        return -1;
    cleanup_stmt sqlite3_stmt *ins = NULL, *lab = NULL;
    if (wr_sandbox_db_prepare (
            db,
            "INSERT INTO sandboxes (id, name, labels, spec, keep_warm_seconds, image_ref, "
            "manifest_digest, root_id, state, reason, created_ms, last_activity_ms, "
            "expires_ms, client) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'creating', NULL, ?, ?, ?, ?)",
            &ins, err) < 0 ||
        wr_sandbox_db_prepare (
            db, "INSERT INTO sandbox_labels (sandbox_id, key, value) VALUES (?, ?, ?)", &lab, err) <
            0)
        return -1;
    cleanup_free char *labels = labels_json (r->labels, r->n_labels);
    sqlite3_bind_text (ins, 1, id, -1, SQLITE_STATIC);
    bind_text_or_null (ins, 2, r->name);
    sqlite3_bind_text (ins, 3, labels, -1, SQLITE_STATIC);
    sqlite3_bind_text (ins, 4, r->spec_json != NULL ? r->spec_json : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_int64 (ins, 5, r->keep_warm_seconds);
    sqlite3_bind_text (ins, 6, r->image_ref != NULL ? r->image_ref : "", -1, SQLITE_STATIC);
    bind_text_or_null (ins, 7, r->manifest_digest);
    bind_text_or_null (ins, 8, r->root_id);
    sqlite3_bind_int64 (ins, 9, r->created_ms);
    sqlite3_bind_int64 (ins, 10, r->last_activity_ms);
    bind_time (ins, 11, r->expires_ms);
    bind_text_or_null (ins, 12, r->client);
    if (sqlite3_step (ins) != SQLITE_DONE) {
        if (sqlite3_extended_errcode (db->sql) == SQLITE_CONSTRAINT_PRIMARYKEY)
            return wr_error_set_kind (err, WR_ERROR_EXISTS, 0, "the id is taken");
        return wr_sandbox_db_error (db, err, "insert");
    }
    for (size_t i = 0; i < r->n_labels; i++) {
        sqlite3_reset (lab);
        sqlite3_bind_text (lab, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text (lab, 2, r->labels[i].key, -1, SQLITE_STATIC);
        sqlite3_bind_text (lab, 3, r->labels[i].value, -1, SQLITE_STATIC);
        if (sqlite3_step (lab) != SQLITE_DONE)
            return wr_sandbox_db_error (db, err, "insert a label");
    }
    return 0;
}

void
wr_sandbox_db_set_client_limit (wr_sandbox_db_t *db, int64_t max)
{
    pthread_mutex_lock (&db->lock);
    db->client_max = max > 0 ? max : 0;
    pthread_mutex_unlock (&db->lock);
}

int
wr_sandbox_db_insert (wr_sandbox_db_t *db, wr_sandbox_record_t *record, wr_error_t *err)
{
    if (record->name != NULL && !wr_sandbox_name_valid (record->name, err))
        return wr_error_prefix (err, "sandbox `%s`", record->id != NULL ? record->id : "(new)");
    if (record->keep_warm_seconds < WR_SANDBOX_KEEP_WARM_NEVER)
        return wr_error_set (err, 0, "sandbox `%s`: keep_warm_seconds %lld is out of range",
                             record->id != NULL ? record->id : "(new)",
                             (long long) record->keep_warm_seconds);
    record->state = WR_SANDBOX_CREATING;
    record->created_ms = wr_sandbox_now_ms (record->created_ms);
    if (record->last_activity_ms == 0)
        record->last_activity_ms = record->created_ms;
    record->expires_ms = wr_sandbox_expiry_ms (record->created_ms, record->last_activity_ms,
                                               record->keep_warm_seconds, db->max_lifetime_seconds);
    if (record->id != NULL)
        return wr_sandbox_db_txn (db, record->id, insert_locked, record, err);
    for (int attempt = 0;; attempt++) {
        char id[WR_SANDBOX_ID_LEN + 1];
        new_id (id);
        cleanup_error wr_error_t mine = NULL;
        /* Its errors name no id: the sandbox will not have this one. */
        if (txn_named (db, id, "a new sandbox", insert_locked, record, &mine) == 0) {
            record->id = xstrdup (id);
            return 0;
        }
        /* 64 random bits taken already: draw again, a few times. */
        if (attempt >= 3 || strstr (mine->message, "the id is taken") == NULL)
            return wr_error_propagate (err, &mine);
    }
}

#define RECORD_COLUMNS                                                                             \
    "id, COALESCE(name, ended_name), labels, spec, keep_warm_seconds, image_ref, "                 \
    "manifest_digest, "                                                                            \
    "root_id, state, "                                                                             \
    "reason, created_ms, started_ms, ended_ms, last_activity_ms, expires_ms, runsc_id, "           \
    "bundle_dir, netns, cgroup, agent_dir, client, address, network"

static char *
column_strdup (sqlite3_stmt *stmt, int column)
{
    const unsigned char *text = sqlite3_column_text (stmt, column);
    return text != NULL ? xstrdup ((const char *) text) : NULL;
}

static void
labels_from_json (const char *text, wr_sandbox_record_t *r)
{
    json_object *o = text != NULL ? json_tokener_parse (text) : NULL;
    if (o != NULL && json_object_is_type (o, json_type_object)) {
        json_object_object_foreach (o, key, value)
        {
            r->labels = xrealloc (r->labels, (r->n_labels + 1) * sizeof *r->labels);
            r->labels[r->n_labels].key = xstrdup (key);
            r->labels[r->n_labels].value =
                xstrdup (value != NULL ? json_object_get_string (value) : "");
            r->n_labels++;
        }
    }
    json_object_put (o);
}

static void
record_from_row (sqlite3_stmt *stmt, wr_sandbox_record_t *r)
{
    memset (r, 0, sizeof *r);
    r->id = column_strdup (stmt, 0);
    r->name = column_strdup (stmt, 1);
    labels_from_json ((const char *) sqlite3_column_text (stmt, 2), r);
    r->spec_json = column_strdup (stmt, 3);
    r->keep_warm_seconds = sqlite3_column_int64 (stmt, 4);
    r->image_ref = column_strdup (stmt, 5);
    r->manifest_digest = column_strdup (stmt, 6);
    r->root_id = column_strdup (stmt, 7);
    wr_sandbox_state_parse ((const char *) sqlite3_column_text (stmt, 8), &r->state, NULL);
    r->reason = column_strdup (stmt, 9);
    r->created_ms = sqlite3_column_int64 (stmt, 10);
    r->started_ms = sqlite3_column_int64 (stmt, 11);
    r->ended_ms = sqlite3_column_int64 (stmt, 12);
    r->last_activity_ms = sqlite3_column_int64 (stmt, 13);
    r->expires_ms = sqlite3_column_int64 (stmt, 14);
    r->resources.runsc_id = column_strdup (stmt, 15);
    r->resources.bundle_dir = column_strdup (stmt, 16);
    r->resources.netns = column_strdup (stmt, 17);
    r->resources.cgroup = column_strdup (stmt, 18);
    r->resources.agent_dir = column_strdup (stmt, 19);
    r->client = column_strdup (stmt, 20);
    r->resources.address = column_strdup (stmt, 21);
    r->network = column_strdup (stmt, 22);
}

/* Rows of STMT (bound) into a list, under the lock held by the caller. */
static int
collect (wr_sandbox_db_t *db, sqlite3_stmt *stmt, wr_sandbox_record_t **records, size_t *count,
         wr_error_t *err)
{
    wr_sandbox_record_t *list = NULL;
    size_t n = 0;
    for (;;) {
        int step = sqlite3_step (stmt);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            wr_sandbox_records_free (list, n);
            return wr_sandbox_db_error (db, err, "read");
        }
        list = xrealloc (list, (n + 1) * sizeof *list);
        record_from_row (stmt, &list[n++]);
    }
    *records = list;
    *count = n;
    return 0;
}

/* The first row WHERE (a condition on one parameter) selects for VALUE. */
static int
get_by (wr_sandbox_db_t *db, const char *where, const char *value, wr_sandbox_record_t *record,
        wr_error_t *err)
{
    memset (record, 0, sizeof *record);
    cleanup_free char *sql = xasprintf ("SELECT " RECORD_COLUMNS " FROM sandboxes WHERE %s", where);
    wr_sandbox_record_t *list = NULL;
    size_t n = 0;
    pthread_mutex_lock (&db->lock);
    cleanup_stmt sqlite3_stmt *stmt = NULL;
    int r = wr_sandbox_db_prepare (db, sql, &stmt, err);
    if (r == 0) {
        sqlite3_bind_text (stmt, 1, value, -1, SQLITE_STATIC);
        r = collect (db, stmt, &list, &n, err);
    }
    pthread_mutex_unlock (&db->lock);
    cleanup_free char *quoted = wr_quote (value, 64);
    if (r < 0)
        return wr_error_prefix (err, "sandbox `%s`", quoted);
    if (n == 0)
        return wr_error_set_kind (err, WR_ERROR_NOT_FOUND, 0, "sandbox `%s`: no such sandbox",
                                  quoted);
    *record = list[0];
    for (size_t i = 1; i < n; i++)
        wr_sandbox_record_clear (&list[i]);
    free (list);
    return 0;
}

int
wr_sandbox_db_get (wr_sandbox_db_t *db, const char *id, wr_sandbox_record_t *record,
                   wr_error_t *err)
{
    return get_by (db, "id = ?", id, record, err);
}

int
wr_sandbox_db_get_by_name (wr_sandbox_db_t *db, const char *name, wr_sandbox_record_t *record,
                           wr_error_t *err)
{
    /* The sandbox holding the name, or else the one that ended last with
     * it. */
    return get_by (db, "name = ?1 OR ended_name = ?1 ORDER BY name IS NULL, ended_ms DESC LIMIT 1",
                   name, record, err);
}

int
wr_sandbox_db_list (wr_sandbox_db_t *db, const wr_sandbox_filter_t *filter,
                    wr_sandbox_record_t **records, size_t *count, wr_error_t *err)
{
    *records = NULL;
    *count = 0;
    wr_sandbox_filter_t none = { 0 };
    const wr_sandbox_filter_t *f = filter != NULL ? filter : &none;
    if (f->n_labels > FILTER_LABELS_MAX)
        return wr_error_set (err, 0, "list sandboxes: more than %d labels", FILTER_LABELS_MAX);
    cleanup_free char *sql = xstrdup ("SELECT " RECORD_COLUMNS " FROM sandboxes s WHERE 1");
    if (f->has_state) {
        char *more = xasprintf ("%s AND state = ?", sql);
        free (sql);
        sql = more;
    }
    if (f->name != NULL) {
        char *more = xasprintf ("%s AND (name = ? OR ended_name = ?)", sql);
        free (sql);
        sql = more;
    }
    for (size_t i = 0; i < f->n_labels; i++) {
        char *more = xasprintf ("%s AND EXISTS (SELECT 1 FROM sandbox_labels l WHERE "
                                "l.sandbox_id = s.id AND l.key = ? AND l.value = ?)",
                                sql);
        free (sql);
        sql = more;
    }
    char *ordered = xasprintf ("%s ORDER BY created_ms, rowid", sql);
    free (sql);
    sql = ordered;

    pthread_mutex_lock (&db->lock);
    cleanup_stmt sqlite3_stmt *stmt = NULL;
    int r = wr_sandbox_db_prepare (db, sql, &stmt, err);
    if (r == 0) {
        int column = 1;
        if (f->has_state)
            sqlite3_bind_text (stmt, column++, wr_sandbox_state_name (f->state), -1, SQLITE_STATIC);
        if (f->name != NULL) {
            sqlite3_bind_text (stmt, column++, f->name, -1, SQLITE_STATIC);
            sqlite3_bind_text (stmt, column++, f->name, -1, SQLITE_STATIC);
        }
        for (size_t i = 0; i < f->n_labels; i++) {
            sqlite3_bind_text (stmt, column++, f->labels[i].key, -1, SQLITE_STATIC);
            sqlite3_bind_text (stmt, column++, f->labels[i].value, -1, SQLITE_STATIC);
        }
        r = collect (db, stmt, records, count, err);
    }
    pthread_mutex_unlock (&db->lock);
    if (r < 0)
        return wr_error_prefix (err, "list sandboxes");
    return 0;
}

int
wr_sandbox_db_list_expired (wr_sandbox_db_t *db, int64_t now_ms, wr_sandbox_record_t **records,
                            size_t *count, wr_error_t *err)
{
    *records = NULL;
    *count = 0;
    pthread_mutex_lock (&db->lock);
    cleanup_stmt sqlite3_stmt *stmt = NULL;
    int r = wr_sandbox_db_prepare (
        db,
        "SELECT " RECORD_COLUMNS " FROM sandboxes WHERE state = 'running' AND "
        "expires_ms IS NOT NULL AND expires_ms <= ? ORDER BY created_ms, rowid",
        &stmt, err);
    if (r == 0) {
        sqlite3_bind_int64 (stmt, 1, wr_sandbox_now_ms (now_ms));
        r = collect (db, stmt, records, count, err);
    }
    pthread_mutex_unlock (&db->lock);
    if (r < 0)
        return wr_error_prefix (err, "list expired sandboxes");
    return 0;
}

int
wr_sandbox_db_count_states (wr_sandbox_db_t *db, uint64_t counts[WR_SANDBOX_N_STATES],
                            wr_error_t *err)
{
    memset (counts, 0, sizeof (uint64_t) * WR_SANDBOX_N_STATES);
    pthread_mutex_lock (&db->lock);
    cleanup_stmt sqlite3_stmt *stmt = NULL;
    int r = wr_sandbox_db_prepare (db, "SELECT state, count(*) FROM sandboxes GROUP BY state",
                                   &stmt, err);
    while (r == 0) {
        int step = sqlite3_step (stmt);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            r = wr_sandbox_db_error (db, err, "count sandboxes");
            break;
        }
        wr_sandbox_state_t state;
        if (wr_sandbox_state_parse ((const char *) sqlite3_column_text (stmt, 0), &state, NULL) ==
            0)
            counts[state] = (uint64_t) sqlite3_column_int64 (stmt, 1);
    }
    pthread_mutex_unlock (&db->lock);
    return r;
}
