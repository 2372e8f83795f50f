/* Which roots are in use: the lower directory of a mounted overlay (what
 * bundle.c mounts for a sandbox or a build step), or a root with a mount
 * point inside it.  Read from /proc/self/mountinfo every time,
 * so that nothing has to be recorded and a crash leaves nothing stale: a
 * root is in use exactly while such a mount exists.  prune keeps those. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "store_private.h"
#include "strv.h"
#include "xalloc.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void
unescape_octal (char *s)
{
    char *out = s;
    for (char *p = s; *p != '\0'; p++) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7') {
            *out++ = (char) ((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            p += 3;
        } else {
            *out++ = *p;
        }
    }
    *out = '\0';
}

/* When PATH is ROOTS/<id> or below it, adds <id> to *IDS. */
static void
note_path (const char *roots, const char *path, char ***ids)
{
    size_t n = strlen (roots);
    if (strncmp (path, roots, n) != 0 || path[n] != '/')
        return;
    const char *id = path + n + 1;
    size_t len = strcspn (id, "/");
    cleanup_free char *name = xstrndup (id, len);
    if (wr_store_root_id_valid (name) && !wr_strv_contains (*ids, name))
        wr_strv_add (ids, name);
}

/* The lowerdir= option of overlay's super options OPTIONS: each of its
 * colon-separated directories. */
static void
note_lowerdirs (const char *roots, const char *options, char ***ids)
{
    const char *p = strstr (options, "lowerdir=");
    while (p != NULL && p != options && p[-1] != ',')
        p = strstr (p + 1, "lowerdir=");
    if (p == NULL)
        return;
    p += strlen ("lowerdir=");
    /* Overlay shows a ',' or ':' inside a directory name as "\,"/"\:";
     * names under the store have neither, so a plain split is enough. */
    cleanup_free char *value = xstrndup (p, strcspn (p, ","));
    unescape_octal (value);
    char *save = NULL;
    for (char *dir = strtok_r (value, ":", &save); dir != NULL; dir = strtok_r (NULL, ":", &save))
        note_path (roots, dir, ids);
}

int
wr_store_roots_in_use (wr_store_t *store, char ***ids, wr_error_t *err)
{
    *ids = NULL;
    cleanup_free char *real = realpath (store->root, NULL);
    if (real == NULL)
        return wr_error_set (err, errno, "resolve `%s`", store->root);
    cleanup_free char *roots = xasprintf ("%s/roots", real);
    cleanup_fclose FILE *f = fopen ("/proc/self/mountinfo", "re");
    if (f == NULL)
        return wr_error_set (err, errno, "open /proc/self/mountinfo");
    cleanup_free char *line = NULL;
    size_t cap = 0;
    while (getline (&line, &cap, f) > 0) {
        line[strcspn (line, "\n")] = '\0';
        /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER */
        char *sep = strstr (line, " - ");
        if (sep == NULL)
            continue;
        *sep = '\0';
        char *fields[5] = { NULL };
        char *save = NULL, *tok = strtok_r (line, " ", &save);
        for (size_t i = 0; i < 5 && tok != NULL; i++, tok = strtok_r (NULL, " ", &save))
            fields[i] = tok;
        char *type = strtok_r (sep + 3, " ", &save);
        char *source = type != NULL ? strtok_r (NULL, " ", &save) : NULL;
        char *super = source != NULL ? strtok_r (NULL, " ", &save) : NULL;
        if (fields[4] == NULL || super == NULL)
            continue;
        if (strcmp (type, "overlay") == 0)
            note_lowerdirs (roots, super, ids);
        /* A mount point inside a root (a bind mount into a bundle built
         * directly on it) uses the root too. */
        unescape_octal (fields[4]);
        note_path (roots, fields[4], ids);
    }
    if (ferror (f))
        return wr_error_set (err, errno, "read /proc/self/mountinfo");
    return 0;
}
