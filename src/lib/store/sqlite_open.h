/* How warren opens an SQLite database of its own (the store's images.db,
 * warrend's warrend.db): created when missing, never through a symlink,
 * serialized connections, a busy timeout, extended result codes, WAL with
 * synchronous = NORMAL (a power cut may lose the last transaction, never
 * the database) and foreign keys on. */
#ifndef WARREN_SQLITE_OPEN_H
#define WARREN_SQLITE_OPEN_H

#include <sqlite3.h>

#include "error.h"

/* Opens PATH into *OUT.  Switching a new database to WAL while another
 * process opens it too fails with SQLITE_BUSY at once (SQLite does not
 * call the busy handler there, to avoid a deadlock between two readers
 * upgrading), so that step is tried again for up to BUSY_TIMEOUT_MS.
 * Errors name PATH and the step; kind unavailable when the database stayed
 * busy, internal otherwise; *OUT is then NULL. */
int wr_sqlite_open (const char *path, int busy_timeout_ms, sqlite3 **out, wr_error_t *err);

#endif
