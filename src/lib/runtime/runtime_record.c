#include "runtime_record.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"
#include "hash.h"
#include "log.h"
#include "strv.h"
#include "xalloc.h"

char *
wr_runtime_record_path (const char *state_dir, const char *root, const char *id)
{
    if (id == NULL || id[0] == '\0' || id[0] == '.' || strchr (id, '/') != NULL ||
        strlen (id) > 200)
        return NULL;
    /* FNV-1a of the state root: two callers' containers of the same name
     * (Docker's and containerd's roots) get different records. */
    uint64_t hash = wr_fnv1a_64 (root ? root : "");
    return xasprintf ("%s/containers/%016llx-%s", state_dir, (unsigned long long) hash, id);
}

int
wr_runtime_record_save (const char *path, const wr_runtime_record_t *record, wr_error_t *err)
{
    /* PATH is STATE_DIR/containers/NAME: both directories are warren's
     * alone (0700). */
    cleanup_free char *containers = xstrdup (path);
    char *slash = strrchr (containers, '/');
    if (slash != NULL && slash != containers) {
        *slash = '\0';
        cleanup_free char *state_dir = xstrdup (containers);
        char *up = strrchr (state_dir, '/');
        if (up != NULL && up != state_dir) {
            *up = '\0';
            if (wr_mkdir_p (state_dir, 0700, err) < 0)
                return -1;
        }
        if (wr_mkdir_p (containers, 0700, err) < 0)
            return -1;
    }
    cleanup_free char *tmp = xasprintf ("%s.%d.tmp", path, (int) getpid ());
    int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return wr_error_set (err, errno, "create `%s`", tmp);
    cleanup_fclose FILE *f = fdopen (fd, "w");
    if (f == NULL) {
        int e = errno;
        close (fd);
        return wr_error_set (err, e, "create `%s`", tmp);
    }
    fprintf (f, "network %s\n", record->network_mode ? record->network_mode : "");
    for (size_t i = 0; record->flags != NULL && record->flags[i] != NULL; i++)
        if (strchr (record->flags[i], '\n') == NULL)
            fprintf (f, "flag %s\n", record->flags[i]);
    fputs ("end\n", f);
    int failed = ferror (f);
    if (fclose (steal_pointer (&f)) != 0 || failed) {
        int e = errno;
        unlink (tmp);
        return wr_error_set (err, e, "write `%s`", tmp);
    }
    if (rename (tmp, path) < 0) {
        int e = errno;
        unlink (tmp);
        return wr_error_set (err, e, "rename `%s` to `%s`", tmp, path);
    }
    return 0;
}

int
wr_runtime_record_load (const char *path, wr_runtime_record_t *record, wr_error_t *err)
{
    memset (record, 0, sizeof *record);
    cleanup_fclose FILE *f = fopen (path, "re");
    if (f == NULL) {
        if (errno == ENOENT)
            return 0;
        return wr_error_set (err, errno, "open `%s`", path);
    }
    record->flags = xzalloc (sizeof (char *));
    cleanup_free char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    bool complete = false;
    while ((len = getline (&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        if (strncmp (line, "network ", 8) == 0) {
            free (record->network_mode);
            record->network_mode = line[8] ? xstrdup (line + 8) : NULL;
        } else if (strncmp (line, "flag ", 5) == 0) {
            wr_strv_add (&record->flags, line + 5);
        } else if (strcmp (line, "end") == 0) {
            complete = true;
        }
    }
    if (!complete) {
        wr_runtime_record_clear (record);
        return wr_error_set (err, 0, "`%s` is cut short; delete it and create the container again",
                             path);
    }
    return 1;
}

void
wr_runtime_record_clear (wr_runtime_record_t *record)
{
    free (record->network_mode);
    wr_strv_free (record->flags);
    memset (record, 0, sizeof *record);
}

int
wr_runtime_record_remove (const char *path, wr_error_t *err)
{
    if (path != NULL && unlink (path) < 0 && errno != ENOENT)
        return wr_error_set (err, errno, "remove the container record `%s`", path);
    return 0;
}
