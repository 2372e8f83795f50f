/* What warren-runtime remembers about a container between commands.
 *
 * Docker passes a runtime's runtimeArgs to every command, and runsc needs
 * them: it sets up the sandbox's network in `start`, from start's own
 * flags.  The flags warren chooses at `create` (the network mode, the
 * profile's flags) are therefore kept in a small file and added again to
 * the later commands on the same container. */
#ifndef WARREN_RUNTIME_RECORD_H
#define WARREN_RUNTIME_RECORD_H

#include "error.h"

typedef struct {
    char *network_mode; /* NULL when the backend has none */
    char **flags; /* the launch flags given to create, NULL-terminated */
} wr_runtime_record_t;

/* STATE_DIR/containers/<hash of ROOT>-<ID>; NULL when ID cannot be a file
 * name (runc's IDs always can).  ROOT may be NULL (the backend's default). */
char *wr_runtime_record_path (const char *state_dir, const char *root, const char *id);
/* Writes RECORD to PATH atomically, creating its directory (0700). */
int wr_runtime_record_save (const char *path, const wr_runtime_record_t *record, wr_error_t *err);
/* 1 and *RECORD filled when PATH holds a record, 0 when there is none. */
int wr_runtime_record_load (const char *path, wr_runtime_record_t *record, wr_error_t *err);
void wr_runtime_record_clear (wr_runtime_record_t *record);
/* Forgets the record at PATH (NULL, or none there: nothing to do). */
int wr_runtime_record_remove (const char *path, wr_error_t *err);

#endif
