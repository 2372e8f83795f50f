/* Changes to a sandbox's row: its state and reason, its image, its host
 * resources, its activity and expiry; removal.  See sandbox_db.h. */
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "sandbox_db.h"
#include "sandbox_db_private.h"
#include "xalloc.h"

typedef struct {
    wr_sandbox_state_t state;
    int64_t created_ms, last_activity_ms, keep_warm_seconds;
} current_t;

/* ID's row as it is, in the caller's transaction. */
static int
read_current (wr_sandbox_db_t *db, const char *id, current_t *cur, wr_error_t *err)
{
    cleanup_stmt sqlite3_stmt *stmt = NULL;
    if (wr_sandbox_db_prepare (db,
                               "SELECT state, created_ms, last_activity_ms, keep_warm_seconds "
                               "FROM sandboxes WHERE id = ?",
                               &stmt, err) < 0)
        return -1;
    sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
    int step = sqlite3_step (stmt);
    if (step == SQLITE_DONE)
        return wr_error_set_kind (err, WR_ERROR_NOT_FOUND, 0, "no such sandbox");
    if (step != SQLITE_ROW)
        return wr_sandbox_db_error (db, err, "read");
    if (wr_sandbox_state_parse ((const char *) sqlite3_column_text (stmt, 0), &cur->state, err) < 0)
        return wr_error_prefix (err, "`%s`", db->path);
    cur->created_ms = sqlite3_column_int64 (stmt, 1);
    cur->last_activity_ms = sqlite3_column_int64 (stmt, 2);
    cur->keep_warm_seconds = sqlite3_column_int64 (stmt, 3);
    return 0;
}

static bool
ended (wr_sandbox_state_t state)
{
    return state == WR_SANDBOX_STOPPED || state == WR_SANDBOX_FAILED;
}

/* Runs the UPDATE SQL on ID: the binds after the first (?1 is the id) are
 * int64 values; a value of 0 binds NULL. */
static int
update (wr_sandbox_db_t *db, const char *id, const char *sql, size_t n, const int64_t *values,
        wr_error_t *err)
{
    cleanup_stmt sqlite3_stmt *stmt = NULL;
    if (wr_sandbox_db_prepare (db, sql, &stmt, err) < 0)
        return -1;
    sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
    for (size_t i = 0; i < n; i++) {
        if (values[i] != 0)
            sqlite3_bind_int64 (stmt, (int) i + 2, values[i]);
        else
            sqlite3_bind_null (stmt, (int) i + 2);
    }
    if (sqlite3_step (stmt) != SQLITE_DONE)
        return wr_sandbox_db_error (db, err, "update");
    return 0;
}

typedef struct {
    wr_sandbox_state_t to;
    const char *reason;
    int64_t now_ms;
} state_change_t;

static int
set_state_locked (wr_sandbox_db_t *db, const char *id, void *data, wr_error_t *err)
{
    const state_change_t *c = data;
    current_t cur;
    if (read_current (db, id, &cur, err) < 0)
        return -1;
    if (!wr_sandbox_transition_valid (cur.state, c->to))
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "cannot go from %s to %s",
                                  wr_sandbox_state_name (cur.state), wr_sandbox_state_name (c->to));
    cleanup_stmt sqlite3_stmt *stmt = NULL;
    if (wr_sandbox_db_prepare (db, "UPDATE sandboxes SET state = ?2, reason = ?3 WHERE id = ?1",
                               &stmt, err) < 0)
        return -1;
    sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, wr_sandbox_state_name (c->to), -1, SQLITE_STATIC);
    if (c->reason != NULL)
        sqlite3_bind_text (stmt, 3, c->reason, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null (stmt, 3);
    if (sqlite3_step (stmt) != SQLITE_DONE)
        return wr_sandbox_db_error (db, err, "update the state");
    if (c->to == WR_SANDBOX_RUNNING) {
        int64_t v[] = {
            c->now_ms,
            wr_sandbox_expiry_ms (cur.created_ms, c->now_ms, cur.keep_warm_seconds,
                                  db->max_lifetime_seconds),
        };
        return update (db, id,
                       "UPDATE sandboxes SET started_ms = ?2, last_activity_ms = ?2, "
                       "expires_ms = ?3 WHERE id = ?1",
                       2, v, err);
    }
    if (ended (c->to)) {
        int64_t v[] = { c->now_ms };
        return update (db, id,
                       "UPDATE sandboxes SET ended_ms = ?2, expires_ms = NULL, "
                       "ended_name = name, name = NULL WHERE id = ?1",
                       1, v, err);
    }
    return 0;
}

int
wr_sandbox_db_set_state (wr_sandbox_db_t *db, const char *id, wr_sandbox_state_t to,
                         const char *reason, int64_t now_ms, wr_error_t *err)
{
    state_change_t c = { to, reason, wr_sandbox_now_ms (now_ms) };
    return wr_sandbox_db_txn (db, id, set_state_locked, &c, err);
}

/* Sets the text columns named in COLUMNS to VALUES (NULL: as it is, "":
 * NULL). */
typedef struct {
    const char *const *columns;
    const char *const *values;
    size_t n;
} texts_t;

static int
set_texts_locked (wr_sandbox_db_t *db, const char *id, void *data, wr_error_t *err)
{
    const texts_t *t = data;
    current_t cur;
    if (read_current (db, id, &cur, err) < 0)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        if (t->values[i] == NULL)
            continue;
        cleanup_free char *sql =
            xasprintf ("UPDATE sandboxes SET %s = ?2 WHERE id = ?1", t->columns[i]);
        cleanup_stmt sqlite3_stmt *stmt = NULL;
        if (wr_sandbox_db_prepare (db, sql, &stmt, err) < 0)
            return -1;
        sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
        if (t->values[i][0] != '\0')
            sqlite3_bind_text (stmt, 2, t->values[i], -1, SQLITE_STATIC);
        else
            sqlite3_bind_null (stmt, 2);
        if (sqlite3_step (stmt) != SQLITE_DONE)
            return wr_sandbox_db_error (db, err, t->columns[i]);
    }
    return 0;
}

int
wr_sandbox_db_set_image (wr_sandbox_db_t *db, const char *id, const char *manifest_digest,
                         const char *root_id, wr_error_t *err)
{
    static const char *const columns[] = { "manifest_digest", "root_id" };
    const char *values[] = { manifest_digest, root_id };
    texts_t t = { columns, values, 2 };
    return wr_sandbox_db_txn (db, id, set_texts_locked, &t, err);
}

int
wr_sandbox_db_set_resources (wr_sandbox_db_t *db, const char *id, const wr_sandbox_resources_t *res,
                             wr_error_t *err)
{
    static const char *const columns[] = { "runsc_id", "bundle_dir", "netns",
                                           "cgroup",   "agent_dir",  "address" };
    const char *values[] = { res->runsc_id, res->bundle_dir, res->netns,
                             res->cgroup,   res->agent_dir,  res->address };
    texts_t t = { columns, values, 6 };
    return wr_sandbox_db_txn (db, id, set_texts_locked, &t, err);
}

int
wr_sandbox_db_set_network (wr_sandbox_db_t *db, const char *id, const char *policy_json,
                           wr_error_t *err)
{
    static const char *const columns[] = { "network" };
    const char *values[] = { policy_json };
    texts_t t = { columns, values, 1 };
    return wr_sandbox_db_txn (db, id, set_texts_locked, &t, err);
}

typedef struct {
    int64_t now_ms; /* touch: the activity's time; 0 for set_expiry */
    int64_t keep_warm_seconds; /* set_expiry */
} expiry_t;

static int
expiry_locked (wr_sandbox_db_t *db, const char *id, void *data, wr_error_t *err)
{
    const expiry_t *e = data;
    current_t cur;
    if (read_current (db, id, &cur, err) < 0)
        return -1;
    if (e->now_ms == 0) {
        if (ended (cur.state))
            return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "is %s: its lifetime cannot change",
                                      wr_sandbox_state_name (cur.state));
        cur.keep_warm_seconds = e->keep_warm_seconds;
    } else {
        cur.last_activity_ms = e->now_ms;
    }
    int64_t expires = ended (cur.state)
                          ? 0
                          : wr_sandbox_expiry_ms (cur.created_ms, cur.last_activity_ms,
                                                  cur.keep_warm_seconds, db->max_lifetime_seconds);
    int64_t v[] = { cur.last_activity_ms, expires, cur.keep_warm_seconds };
    /* keep_warm_seconds may be 0 only if asked; -1 binds as an integer. */
    cleanup_stmt sqlite3_stmt *stmt = NULL;
    if (wr_sandbox_db_prepare (db,
                               "UPDATE sandboxes SET last_activity_ms = ?2, expires_ms = ?3, "
                               "keep_warm_seconds = ?4 WHERE id = ?1",
                               &stmt, err) < 0)
        return -1;
    sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, v[0]);
    if (v[1] != 0)
        sqlite3_bind_int64 (stmt, 3, v[1]);
    else
        sqlite3_bind_null (stmt, 3);
    sqlite3_bind_int64 (stmt, 4, v[2]);
    if (sqlite3_step (stmt) != SQLITE_DONE)
        return wr_sandbox_db_error (db, err, "update the expiry");
    return 0;
}

int
wr_sandbox_db_touch (wr_sandbox_db_t *db, const char *id, int64_t now_ms, wr_error_t *err)
{
    expiry_t e = { wr_sandbox_now_ms (now_ms), 0 };
    return wr_sandbox_db_txn (db, id, expiry_locked, &e, err);
}

int
wr_sandbox_db_set_expiry (wr_sandbox_db_t *db, const char *id, int64_t keep_warm_seconds,
                          wr_error_t *err)
{
    if (keep_warm_seconds != WR_SANDBOX_KEEP_WARM_NEVER && keep_warm_seconds < 1)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "sandbox `%s`: keep_warm_seconds %lld is out of range (-1 for "
                                  "never, or at least 1)",
                                  id, (long long) keep_warm_seconds);
    expiry_t e = { 0, keep_warm_seconds };
    return wr_sandbox_db_txn (db, id, expiry_locked, &e, err);
}

static int
delete_locked (wr_sandbox_db_t *db, const char *id, void *data, wr_error_t *err)
{
    (void) data;
    cleanup_stmt sqlite3_stmt *stmt = NULL;
    if (wr_sandbox_db_prepare (db, "DELETE FROM sandboxes WHERE id = ?", &stmt, err) < 0)
        return -1;
    sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step (stmt) != SQLITE_DONE)
        return wr_sandbox_db_error (db, err, "delete");
    if (sqlite3_changes (db->sql) == 0)
        return wr_error_set_kind (err, WR_ERROR_NOT_FOUND, 0, "no such sandbox");
    return 0;
}

int
wr_sandbox_db_delete (wr_sandbox_db_t *db, const char *id, wr_error_t *err)
{
    return wr_sandbox_db_txn (db, id, delete_locked, NULL, err);
}

int
wr_sandbox_db_forget_ended (wr_sandbox_db_t *db, int64_t ended_before_ms, size_t *forgotten,
                            wr_error_t *err)
{
    if (forgotten != NULL)
        *forgotten = 0;
    pthread_mutex_lock (&db->lock);
    cleanup_stmt sqlite3_stmt *stmt = NULL;
    /* One statement: atomic, and the labels and ports go by ON DELETE
     * CASCADE. */
    int r = wr_sandbox_db_prepare (db,
                                   "DELETE FROM sandboxes WHERE state IN ('stopped', 'failed') "
                                   "AND ended_ms IS NOT NULL AND ended_ms <= ?",
                                   &stmt, err);
    if (r == 0) {
        sqlite3_bind_int64 (stmt, 1, ended_before_ms);
        if (sqlite3_step (stmt) != SQLITE_DONE)
            r = wr_sandbox_db_error (db, err, "forget ended sandboxes");
        else if (forgotten != NULL)
            *forgotten = (size_t) sqlite3_changes (db->sql);
    }
    pthread_mutex_unlock (&db->lock);
    return r;
}

void
wr_sandbox_resources_clear (wr_sandbox_resources_t *res)
{
    if (res == NULL)
        return;
    free (res->runsc_id);
    free (res->bundle_dir);
    free (res->netns);
    free (res->cgroup);
    free (res->agent_dir);
    free (res->address);
    memset (res, 0, sizeof *res);
}

void
wr_sandbox_record_clear (wr_sandbox_record_t *r)
{
    if (r == NULL)
        return;
    free (r->id);
    free (r->name);
    free (r->client);
    for (size_t i = 0; i < r->n_labels; i++) {
        free (r->labels[i].key);
        free (r->labels[i].value);
    }
    free (r->labels);
    free (r->spec_json);
    free (r->image_ref);
    free (r->manifest_digest);
    free (r->root_id);
    free (r->reason);
    free (r->network);
    wr_sandbox_resources_clear (&r->resources);
    memset (r, 0, sizeof *r);
}

void
wr_sandbox_records_free (wr_sandbox_record_t *records, size_t count)
{
    for (size_t i = 0; i < count; i++)
        wr_sandbox_record_clear (&records[i]);
    free (records);
}
