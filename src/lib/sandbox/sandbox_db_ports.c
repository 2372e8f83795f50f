/* The sandbox_ports table: which sandbox ports warrend exposes on its
 * host, and on which host port (sandbox_db.h).  A sandbox's rows go with
 * it (ON DELETE CASCADE) and are removed when it ends. */
#include <sqlite3.h>
#include <stdlib.h>

#include "sandbox_db.h"
#include "sandbox_db_private.h"
#include "xalloc.h"

typedef struct {
    int port;
    int host_port;
} port_arg_t;

static int
add_locked (wr_sandbox_db_t *db, const char *id, void *data, wr_error_t *err)
{
    const port_arg_t *a = data;
    cleanup_stmt sqlite3_stmt *stmt = NULL;
    if (wr_sandbox_db_prepare (db,
                               "INSERT INTO sandbox_ports (sandbox_id, port, host_port) "
                               "VALUES (?1, ?2, ?3)",
                               &stmt, err) < 0)
        return -1;
    sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int (stmt, 2, a->port);
    sqlite3_bind_int (stmt, 3, a->host_port);
    if (sqlite3_step (stmt) == SQLITE_DONE)
        return 0;
    switch (sqlite3_extended_errcode (db->sql)) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return wr_error_set_kind (err, WR_ERROR_EXISTS, 0, "port %d is exposed already", a->port);
    case SQLITE_CONSTRAINT_UNIQUE:
        return wr_error_set_kind (err, WR_ERROR_EXISTS, 0,
                                  "host port %d is taken by another sandbox's port", a->host_port);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return wr_error_set_kind (err, WR_ERROR_NOT_FOUND, 0, "no such sandbox");
    default:
        return wr_sandbox_db_error (db, err, "record an exposed port");
    }
}

int
wr_sandbox_db_port_add (wr_sandbox_db_t *db, const char *id, int port, int host_port,
                        wr_error_t *err)
{
    port_arg_t a = { port, host_port };
    return wr_sandbox_db_txn (db, id, add_locked, &a, err);
}

static int
remove_locked (wr_sandbox_db_t *db, const char *id, void *data, wr_error_t *err)
{
    const port_arg_t *a = data;
    cleanup_stmt sqlite3_stmt *stmt = NULL;
    const char *sql = a->port != 0 ? "DELETE FROM sandbox_ports WHERE sandbox_id = ?1 AND port = ?2"
                                   : "DELETE FROM sandbox_ports WHERE sandbox_id = ?1";
    if (wr_sandbox_db_prepare (db, sql, &stmt, err) < 0)
        return -1;
    sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
    if (a->port != 0)
        sqlite3_bind_int (stmt, 2, a->port);
    if (sqlite3_step (stmt) != SQLITE_DONE)
        return wr_sandbox_db_error (db, err, "forget an exposed port");
    if (a->port != 0 && sqlite3_changes (db->sql) == 0)
        return wr_error_set_kind (err, WR_ERROR_NOT_FOUND, 0, "port %d is not exposed", a->port);
    return 0;
}

int
wr_sandbox_db_port_remove (wr_sandbox_db_t *db, const char *id, int port, wr_error_t *err)
{
    port_arg_t a = { port, 0 };
    return wr_sandbox_db_txn (db, id, remove_locked, &a, err);
}

typedef struct {
    wr_sandbox_port_t *ports;
    size_t count;
} list_arg_t;

static int
list_locked (wr_sandbox_db_t *db, const char *id, void *data, wr_error_t *err)
{
    list_arg_t *a = data;
    cleanup_stmt sqlite3_stmt *stmt = NULL;
    if (wr_sandbox_db_prepare (db,
                               "SELECT port, host_port FROM sandbox_ports WHERE sandbox_id = ?1 "
                               "ORDER BY port",
                               &stmt, err) < 0)
        return -1;
    sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
    int r;
    while ((r = sqlite3_step (stmt)) == SQLITE_ROW) {
        a->ports = xrealloc (a->ports, (a->count + 1) * sizeof *a->ports);
        a->ports[a->count++] =
            (wr_sandbox_port_t){ sqlite3_column_int (stmt, 0), sqlite3_column_int (stmt, 1) };
    }
    if (r != SQLITE_DONE)
        return wr_sandbox_db_error (db, err, "list exposed ports");
    return 0;
}

int
wr_sandbox_db_ports (wr_sandbox_db_t *db, const char *id, wr_sandbox_port_t **ports, size_t *count,
                     wr_error_t *err)
{
    list_arg_t a = { 0 };
    if (wr_sandbox_db_txn (db, id, list_locked, &a, err) < 0) {
        free (a.ports);
        *ports = NULL;
        *count = 0;
        return -1;
    }
    *ports = a.ports;
    *count = a.count;
    return 0;
}
