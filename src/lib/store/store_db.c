/* The store's database, ROOT/images.db (SQLite, WAL): images and the blobs
 * each one references. */
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "store.h"
#include "sqlite_open.h"
#include "store_private.h"
#include "xalloc.h"

/* Concurrent warren processes wait for each other's transactions this long. */
#define BUSY_TIMEOUT_MS 60000

static const char schema_v1[] = "CREATE TABLE images ("
                                "  name TEXT PRIMARY KEY,"
                                "  manifest_digest TEXT NOT NULL,"
                                "  config_digest TEXT NOT NULL,"
                                "  root_id TEXT,"
                                "  size INTEGER NOT NULL,"
                                "  created INTEGER NOT NULL);"
                                "CREATE TABLE image_blobs ("
                                "  image TEXT NOT NULL REFERENCES images(name) ON DELETE CASCADE,"
                                "  digest TEXT NOT NULL,"
                                "  PRIMARY KEY (image, digest));"
                                "CREATE INDEX image_blobs_by_digest ON image_blobs(digest);"
                                "PRAGMA user_version = 1;";

static int
db_error (wr_store_t *store, wr_error_t *err, const char *what)
{
    return wr_error_set (err, 0, "%s/images.db: %s: %s", store->root, what,
                         sqlite3_errmsg (store->db));
}

static int
exec_sql (wr_store_t *store, const char *sql, wr_error_t *err)
{
    char *message = NULL;
    if (sqlite3_exec (store->db, sql, NULL, NULL, &message) != SQLITE_OK) {
        wr_error_set (err, 0, "%s/images.db: %s", store->root,
                      message != NULL ? message : sqlite3_errmsg (store->db));
        sqlite3_free (message);
        return -1;
    }
    return 0;
}

static int
prepare (wr_store_t *store, const char *sql, sqlite3_stmt **stmt, wr_error_t *err)
{
    if (sqlite3_prepare_v2 (store->db, sql, -1, stmt, NULL) != SQLITE_OK)
        return db_error (store, err, "prepare");
    return 0;
}

static void
finalize_fn (sqlite3_stmt **stmt)
{
    sqlite3_finalize (*stmt);
}
#define cleanup_stmt __attribute__ ((cleanup (finalize_fn)))

static int
user_version (wr_store_t *store, int *version, wr_error_t *err)
{
    cleanup_stmt sqlite3_stmt *stmt = NULL;
    if (prepare (store, "PRAGMA user_version", &stmt, err) < 0)
        return -1;
    if (sqlite3_step (stmt) != SQLITE_ROW)
        return db_error (store, err, "read the schema version");
    *version = sqlite3_column_int (stmt, 0);
    return 0;
}

int
wr_store_db_open (wr_store_t *store, wr_error_t *err)
{
    cleanup_free char *path = xasprintf ("%s/images.db", store->root);
    if (wr_sqlite_open (path, BUSY_TIMEOUT_MS, &store->db, err) < 0)
        return -1;
    if (exec_sql (store, "BEGIN IMMEDIATE", err) < 0)
        return -1;
    int version = 0;
    if (user_version (store, &version, err) < 0)
        goto rollback;
    if (version > WR_STORE_SCHEMA_VERSION) {
        wr_error_set (err, 0,
                      "`%s` has schema version %d, newer than this warren knows (%d): "
                      "use a newer warren",
                      path, version, WR_STORE_SCHEMA_VERSION);
        goto rollback;
    }
    if (version == 0 && exec_sql (store, schema_v1, err) < 0)
        goto rollback;
    return exec_sql (store, "COMMIT", err);

rollback:
    sqlite3_exec (store->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

void
wr_store_db_close (wr_store_t *store)
{
    if (store->db != NULL)
        sqlite3_close_v2 (store->db);
    store->db = NULL;
}

static int
validate_record (const wr_image_record_t *record, const char *const *blob_digests, wr_error_t *err)
{
    if (record->name == NULL || record->name[0] == '\0')
        return wr_error_set (err, 0, "an image needs a name");
    if (wr_digest_validate (record->manifest_digest, err) < 0)
        return wr_error_prefix (err, "image `%s`: manifest", record->name);
    if (wr_digest_validate (record->config_digest, err) < 0)
        return wr_error_prefix (err, "image `%s`: config", record->name);
    if (record->root_id != NULL && !wr_store_root_id_valid (record->root_id))
        return wr_error_set (err, 0, "image `%s`: root id `%.80s` is not 64 hex digits",
                             record->name, record->root_id);
    if (record->size < 0)
        return wr_error_set (err, 0, "image `%s`: negative size %lld", record->name,
                             (long long) record->size);
    for (size_t i = 0; blob_digests != NULL && blob_digests[i] != NULL; i++)
        if (wr_digest_validate (blob_digests[i], err) < 0)
            return wr_error_prefix (err, "image `%s`: blob %zu", record->name, i);
    return 0;
}

static int
put_locked (wr_store_t *store, const wr_image_record_t *record, const char *const *blob_digests,
            wr_error_t *err)
{
    cleanup_stmt sqlite3_stmt *del = NULL, *ins = NULL, *ref = NULL;
    if (prepare (store, "DELETE FROM images WHERE name = ?", &del, err) < 0 ||
        prepare (store,
                 "INSERT INTO images (name, manifest_digest, config_digest, root_id, size, "
                 "created) VALUES (?, ?, ?, ?, ?, ?)",
                 &ins, err) < 0 ||
        prepare (store, "INSERT OR IGNORE INTO image_blobs (image, digest) VALUES (?, ?)", &ref,
                 err) < 0)
        return -1;
    /* Deleting the row cascades to its old references. */
    sqlite3_bind_text (del, 1, record->name, -1, SQLITE_STATIC);
    if (sqlite3_step (del) != SQLITE_DONE)
        return db_error (store, err, "remove the old record");
    sqlite3_bind_text (ins, 1, record->name, -1, SQLITE_STATIC);
    sqlite3_bind_text (ins, 2, record->manifest_digest, -1, SQLITE_STATIC);
    sqlite3_bind_text (ins, 3, record->config_digest, -1, SQLITE_STATIC);
    if (record->root_id != NULL)
        sqlite3_bind_text (ins, 4, record->root_id, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null (ins, 4);
    sqlite3_bind_int64 (ins, 5, record->size);
    sqlite3_bind_int64 (ins, 6, record->created != 0 ? record->created : (int64_t) time (NULL));
    if (sqlite3_step (ins) != SQLITE_DONE)
        return db_error (store, err, "insert the record");

    const char *own[] = { record->manifest_digest, record->config_digest };
    for (size_t i = 0; i < 2; i++) {
        sqlite3_reset (ref);
        sqlite3_bind_text (ref, 1, record->name, -1, SQLITE_STATIC);
        sqlite3_bind_text (ref, 2, own[i], -1, SQLITE_STATIC);
        if (sqlite3_step (ref) != SQLITE_DONE)
            return db_error (store, err, "insert a reference");
    }
    for (size_t i = 0; blob_digests != NULL && blob_digests[i] != NULL; i++) {
        sqlite3_reset (ref);
        sqlite3_bind_text (ref, 1, record->name, -1, SQLITE_STATIC);
        sqlite3_bind_text (ref, 2, blob_digests[i], -1, SQLITE_STATIC);
        if (sqlite3_step (ref) != SQLITE_DONE)
            return db_error (store, err, "insert a reference");
    }
    return 0;
}

int
wr_store_image_put (wr_store_t *store, const wr_image_record_t *record,
                    const char *const *blob_digests, wr_error_t *err)
{
    if (validate_record (record, blob_digests, err) < 0)
        return wr_error_prefix (err, "record an image");
    pthread_mutex_lock (&store->db_lock);
    int r = exec_sql (store, "BEGIN IMMEDIATE", err);
    if (r == 0) {
        r = put_locked (store, record, blob_digests, err);
        if (r == 0)
            r = exec_sql (store, "COMMIT", err);
        if (r < 0)
            sqlite3_exec (store->db, "ROLLBACK", NULL, NULL, NULL);
    }
    pthread_mutex_unlock (&store->db_lock);
    if (r < 0)
        return wr_error_prefix (err, "record image `%s`", record->name);
    return 0;
}

static char *
column_strdup (sqlite3_stmt *stmt, int column)
{
    const unsigned char *text = sqlite3_column_text (stmt, column);
    return text != NULL ? xstrdup ((const char *) text) : NULL;
}

static void
record_from_row (sqlite3_stmt *stmt, wr_image_record_t *record)
{
    record->name = column_strdup (stmt, 0);
    record->manifest_digest = column_strdup (stmt, 1);
    record->config_digest = column_strdup (stmt, 2);
    record->root_id = column_strdup (stmt, 3);
    record->size = sqlite3_column_int64 (stmt, 4);
    record->created = sqlite3_column_int64 (stmt, 5);
}

#define RECORD_COLUMNS "name, manifest_digest, config_digest, root_id, size, created"

int
wr_store_image_get (wr_store_t *store, const char *name, wr_image_record_t *record, wr_error_t *err)
{
    memset (record, 0, sizeof *record);
    pthread_mutex_lock (&store->db_lock);
    cleanup_stmt sqlite3_stmt *stmt = NULL;
    int r = prepare (store, "SELECT " RECORD_COLUMNS " FROM images WHERE name = ?", &stmt, err);
    if (r == 0) {
        sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
        int step = sqlite3_step (stmt);
        if (step == SQLITE_ROW) {
            record_from_row (stmt, record);
            r = 1;
        } else if (step != SQLITE_DONE)
            r = db_error (store, err, "read");
    }
    pthread_mutex_unlock (&store->db_lock);
    if (r < 0)
        return wr_error_prefix (err, "look up image `%s`", name);
    return r;
}

int
wr_store_image_list (wr_store_t *store, wr_image_record_t **records, size_t *count, wr_error_t *err)
{
    *records = NULL;
    *count = 0;
    wr_image_record_t *list = NULL;
    size_t n = 0, cap = 0;
    pthread_mutex_lock (&store->db_lock);
    cleanup_stmt sqlite3_stmt *stmt = NULL;
    int r = prepare (store, "SELECT " RECORD_COLUMNS " FROM images ORDER BY name", &stmt, err);
    while (r == 0) {
        int step = sqlite3_step (stmt);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            r = db_error (store, err, "read");
            break;
        }
        if (n == cap) {
            cap = cap == 0 ? 8 : 2 * cap;
            list = xrealloc (list, cap * sizeof *list);
        }
        memset (&list[n], 0, sizeof list[n]);
        record_from_row (stmt, &list[n++]);
    }
    pthread_mutex_unlock (&store->db_lock);
    if (r < 0) {
        wr_image_records_free (list, n);
        return wr_error_prefix (err, "list images");
    }
    *records = list;
    *count = n;
    return 0;
}

int
wr_store_image_remove (wr_store_t *store, const char *name, wr_error_t *err)
{
    pthread_mutex_lock (&store->db_lock);
    cleanup_stmt sqlite3_stmt *stmt = NULL;
    int r = prepare (store, "DELETE FROM images WHERE name = ?", &stmt, err);
    if (r == 0) {
        sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step (stmt) != SQLITE_DONE)
            r = db_error (store, err, "delete");
        else if (sqlite3_changes (store->db) == 0)
            r = wr_error_set (err, ENOENT, "image `%s` is not in the store", name);
    }
    pthread_mutex_unlock (&store->db_lock);
    if (r < 0)
        return wr_error_prefix (err, "remove image `%s`", name);
    return 0;
}

void
wr_image_record_clear (wr_image_record_t *record)
{
    if (record == NULL)
        return;
    free (record->name);
    free (record->manifest_digest);
    free (record->config_digest);
    free (record->root_id);
    memset (record, 0, sizeof *record);
}

void
wr_image_records_free (wr_image_record_t *records, size_t count)
{
    for (size_t i = 0; i < count; i++)
        wr_image_record_clear (&records[i]);
    free (records);
}

static int
cmp_str (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The values of the one-column query SQL, sorted, NULL-terminated. */
static int
query_strings (wr_store_t *store, const char *sql, char ***out, size_t *count, wr_error_t *err)
{
    cleanup_stmt sqlite3_stmt *stmt = NULL;
    if (prepare (store, sql, &stmt, err) < 0)
        return -1;
    cleanup_strv char **list = xzalloc (sizeof *list);
    size_t n = 0;
    for (;;) {
        int step = sqlite3_step (stmt);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW)
            return db_error (store, err, "read references");
        const unsigned char *text = sqlite3_column_text (stmt, 0);
        if (text == NULL)
            continue;
        list = xrealloc (list, (n + 2) * sizeof *list);
        list[n++] = xstrdup ((const char *) text);
        list[n] = NULL;
    }
    qsort (list, n, sizeof *list, cmp_str);
    *out = steal_pointer (&list);
    *count = n;
    return 0;
}

int
wr_store_db_referenced (wr_store_t *store, char ***blob_hexes, size_t *n_blobs, char ***root_ids,
                        size_t *n_roots, wr_error_t *err)
{
    /* substr(digest, 8): the hex after "sha256:", as named under blobs/. */
    if (query_strings (store, "SELECT DISTINCT substr(digest, 8) FROM image_blobs", blob_hexes,
                       n_blobs, err) < 0)
        return -1;
    if (query_strings (store, "SELECT DISTINCT root_id FROM images WHERE root_id IS NOT NULL",
                       root_ids, n_roots, err) < 0) {
        cleanup_strv_fn (blob_hexes);
        *blob_hexes = NULL;
        return -1;
    }
    return 0;
}
