/* Host cgroups of sandboxes (see sandbox_cgroup.h). */
#include "sandbox_cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"
#include "strv.h"
#include "xalloc.h"

typedef struct {
    char *mount_point;
    char *options; /* super options: the controllers ("rw,memory") */
    int version; /* 1 or 2 */
} hierarchy_t;

static void
hierarchies_free (hierarchy_t *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free (h[i].mount_point);
        free (h[i].options);
    }
    free (h);
}

/* The cgroup mounts of /proc/self/mountinfo. */
static hierarchy_t *
read_hierarchies (size_t *count, wr_error_t *err)
{
    cleanup_fclose FILE *f = fopen ("/proc/self/mountinfo", "re");
    if (f == NULL) {
        wr_error_set (err, errno, "open `/proc/self/mountinfo`");
        return NULL;
    }
    hierarchy_t *h = xzalloc (sizeof *h);
    size_t n = 0;
    cleanup_free char *line = NULL;
    size_t cap = 0;
    while (getline (&line, &cap, f) > 0) {
        /* ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [TAGS...] - TYPE SOURCE SUPER */
        char *save = NULL;
        char *fields[5] = { NULL };
        char *tok = strtok_r (line, " \n", &save);
        for (int i = 0; i < 5 && tok != NULL; i++) {
            fields[i] = tok;
            tok = strtok_r (NULL, " \n", &save);
        }
        while (tok != NULL && strcmp (tok, "-") != 0)
            tok = strtok_r (NULL, " \n", &save);
        char *type = tok ? strtok_r (NULL, " \n", &save) : NULL;
        char *source = type ? strtok_r (NULL, " \n", &save) : NULL;
        char *super = source ? strtok_r (NULL, " \n", &save) : NULL;
        if (fields[4] == NULL || type == NULL || super == NULL)
            continue;
        int version = strcmp (type, "cgroup") == 0 ? 1 : strcmp (type, "cgroup2") == 0 ? 2 : 0;
        if (version == 0)
            continue;
        h = xrealloc (h, (n + 1) * sizeof *h);
        h[n].mount_point = xstrdup (fields[4]);
        h[n].options = xstrdup (super);
        h[n].version = version;
        n++;
    }
    *count = n;
    return h;
}

static bool
has_option (const char *options, const char *name)
{
    cleanup_strv char **parts = wr_strv_split (options, ",");
    return wr_strv_contains (parts, name);
}

static int
compare_strings (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

static void
sort_unique (char **v)
{
    size_t n = wr_strv_length (v);
    qsort (v, n, sizeof (char *), compare_strings);
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (out > 0 && strcmp (v[out - 1], v[i]) == 0)
            free (v[i]);
        else
            v[out++] = v[i];
    }
    if (v != NULL)
        v[out] = NULL;
}

char **
wr_cgroup_mounts (wr_error_t *err)
{
    size_t n = 0;
    hierarchy_t *h = read_hierarchies (&n, err);
    if (h == NULL)
        return NULL;
    char **v = xzalloc (sizeof (char *));
    for (size_t i = 0; i < n; i++)
        wr_strv_add (&v, h[i].mount_point);
    hierarchies_free (h, n);
    sort_unique (v);
    return v;
}

char *
wr_cgroup_dir (const char *controller, const char *path, wr_error_t *err)
{
    size_t n = 0;
    hierarchy_t *h = read_hierarchies (&n, err);
    if (h == NULL)
        return NULL;
    char *dir = NULL;
    for (size_t i = 0; i < n && dir == NULL; i++) {
        if (h[i].version == 1 && has_option (h[i].options, controller))
            dir = xasprintf ("%s%s", h[i].mount_point, path);
    }
    for (size_t i = 0; i < n && dir == NULL; i++) {
        if (h[i].version == 2) {
            cleanup_free char *controllers_file =
                xasprintf ("%s/cgroup.controllers", h[i].mount_point);
            cleanup_free char *controllers = wr_read_file (controllers_file, 4096, NULL, NULL);
            cleanup_strv char **names = controllers ? wr_strv_split (controllers, " \n") : NULL;
            if (wr_strv_contains (names, controller))
                dir = xasprintf ("%s%s", h[i].mount_point, path);
        }
    }
    hierarchies_free (h, n);
    if (dir == NULL)
        wr_error_set_kind (err, WR_ERROR_NOT_FOUND, 0,
                           "no cgroup hierarchy on this host has the `%s` controller", controller);
    return dir;
}

/* Sends SIGKILL to every process in the cgroup directory DIR. */
static void
kill_members (const char *dir)
{
    cleanup_free char *procs_file = xasprintf ("%s/cgroup.procs", dir);
    cleanup_free char *procs = wr_read_file (procs_file, 1 << 20, NULL, NULL);
    cleanup_strv char **pids = procs ? wr_strv_split (procs, "\n") : NULL;
    for (size_t i = 0; pids != NULL && pids[i] != NULL; i++) {
        long pid = strtol (pids[i], NULL, 10);
        if (pid > 1)
            kill ((pid_t) pid, SIGKILL);
    }
}

static int
remove_dir (const char *dir, wr_error_t *err)
{
    /* Killed processes leave their cgroup once they are reaped (by
     * whoever their parent is): try for up to 2 s. */
    for (int attempt = 0; attempt < 200; attempt++) {
        if (rmdir (dir) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY)
            return wr_error_set (err, errno, "remove cgroup `%s`", dir);
        if (attempt == 0)
            kill_members (dir);
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep (&ts, NULL);
    }
    return wr_error_set (err, EBUSY, "remove cgroup `%s`", dir);
}

int
wr_cgroup_remove (const char *path, wr_error_t *err)
{
    if (path == NULL || path[0] != '/' || strstr (path, "..") != NULL || strcmp (path, "/") == 0)
        return wr_error_set (err, 0, "cgroup path `%s` is not a sandbox's", path ? path : "");
    size_t n = 0;
    hierarchy_t *h = read_hierarchies (&n, err);
    if (h == NULL)
        return -1;
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        cleanup_free char *dir = xasprintf ("%s%s", h[i].mount_point, path);
        r = remove_dir (dir, err);
    }
    hierarchies_free (h, n);
    return r;
}

char **
wr_cgroup_children (const char *parent, wr_error_t *err)
{
    size_t n = 0;
    hierarchy_t *h = read_hierarchies (&n, err);
    if (h == NULL)
        return NULL;
    char **v = xzalloc (sizeof (char *));
    for (size_t i = 0; i < n; i++) {
        cleanup_free char *dir = xasprintf ("%s%s", h[i].mount_point, parent);
        cleanup_closedir DIR *d = opendir (dir);
        struct dirent *e;
        while (d != NULL && (e = readdir (d)) != NULL) {
            if (e->d_type == DT_DIR && strcmp (e->d_name, ".") != 0 &&
                strcmp (e->d_name, "..") != 0)
                wr_strv_add (&v, e->d_name);
        }
    }
    hierarchies_free (h, n);
    sort_unique (v);
    return v;
}

int
wr_cgroup_read_int (const char *controller, const char *path, const char *file, const char *key,
                    int64_t *value, wr_error_t *err)
{
    cleanup_free char *dir = wr_cgroup_dir (controller, path, err);
    if (dir == NULL)
        return -1;
    cleanup_free char *name = xasprintf ("%s/%s", dir, file);
    cleanup_free char *text = wr_read_file (name, 1 << 16, NULL, err);
    if (text == NULL)
        return -1;
    cleanup_strv char **lines = wr_strv_split (text, "\n");
    size_t key_len = key ? strlen (key) : 0;
    for (size_t i = 0; lines != NULL && lines[i] != NULL; i++) {
        const char *v = lines[i];
        if (key != NULL) {
            if (strncmp (v, key, key_len) != 0 || v[key_len] != ' ')
                continue;
            v += key_len + 1;
        }
        if (strcmp (v, "max") == 0) {
            *value = INT64_MAX;
            return 0;
        }
        char *end = NULL;
        errno = 0;
        long long x = strtoll (v, &end, 10);
        if (errno != 0 || end == v || *end != '\0')
            return wr_error_set (err, errno, "`%s`: `%s` is not a number", name, v);
        *value = x;
        return 0;
    }
    return wr_error_set_kind (err, WR_ERROR_NOT_FOUND, 0, "`%s` has no `%s`", name,
                              key ? key : "value");
}
