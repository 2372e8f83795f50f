/* Destroying a sandbox's host state and listing leftovers (see
 * sandbox_destroy.h). */
#include "sandbox_destroy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "children.h"
#include "cleanup.h"
#include "path_in_root.h"
#include "sandbox_cgroup.h"
#include "sandbox_netns.h"
#include "strv.h"
#include "xalloc.h"
#include "remove_tree.h"

/* Keeps the first failure in *ERR, drops later ones (logged). */
static void
keep_first (const wr_sandbox_host_t *host, const char *id, wr_error_t *err, wr_error_t *step,
            int *failed)
{
    if (*step == NULL)
        return;
    wr_log_to (host->log, WR_LOG_WARN, "a step of a sandbox's destruction failed", "sandbox", id,
               "error", (*step)->message, NULL);
    if (!*failed && err != NULL) {
        *err = *step;
        *step = NULL;
    }
    *failed = 1;
    wr_error_free (step);
}

int
wr_sandbox_destroy (const wr_sandbox_host_t *host, const char *id, wr_error_t *err)
{
    if (wr_sandbox_check_id (id, err) < 0)
        return -1;
    int failed = 0;
    wr_error_t step = NULL;

    /* runsc delete kills the sandbox and waits until its processes are
     * reaped: warrend's reaper looks more often meanwhile (children.h). */
    wr_children_expect_exits_begin ();
    int deleted = wr_sandbox_delete (host, id, &step);
    wr_children_expect_exits_end ();
    if (deleted < 0)
        keep_first (host, id, err, &step, &failed);
    cleanup_free char *cgroup = wr_sandbox_cgroup_path (host, id);
    if (wr_cgroup_remove (cgroup, &step) < 0)
        keep_first (host, id, err, &step, &failed);
    cleanup_free char *netns = wr_sandbox_netns_path (host, id);
    if (wr_netns_remove (netns, &step) < 0)
        keep_first (host, id, err, &step, &failed);
    cleanup_free char *dir = wr_sandbox_dir (host, id);
    cleanup_free char *bundle = xasprintf ("%s/bundle", dir);
    if (wr_bundle_destroy (bundle, &step) < 0) {
        keep_first (host, id, err, &step, &failed);
        /* A root still mounted: removing the rest could reach into it. */
        return wr_error_prefix (err, "destroy sandbox `%s`", id);
    }
    if (wr_remove_tree_at (AT_FDCWD, dir, &step) < 0)
        keep_first (host, id, err, &step, &failed);
    if (failed)
        return wr_error_prefix (err, "destroy sandbox `%s`", id);
    wr_log_to (host->log, WR_LOG_DEBUG, "sandbox destroyed", "sandbox", id, NULL);
    return 0;
}

static int
compare_strings (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

static char **
sorted (char **v)
{
    if (v == NULL)
        v = xzalloc (sizeof (char *));
    qsort (v, wr_strv_length (v), sizeof (char *), compare_strings);
    return v;
}

/* Container ids from runsc's state files, "ID_sandbox:SANDBOX.state". */
static char **
list_containers (const char *runsc_root, wr_error_t *err)
{
    char **v = NULL;
    cleanup_closedir DIR *d = opendir (runsc_root);
    if (d == NULL && errno != ENOENT) {
        wr_error_set (err, errno, "list runsc containers in `%s`", runsc_root);
        return NULL;
    }
    struct dirent *e;
    while (d != NULL && (e = readdir (d)) != NULL) {
        const char *mark = strstr (e->d_name, "_sandbox:");
        size_t n = strlen (e->d_name);
        if (mark != NULL && n > 6 && strcmp (e->d_name + n - 6, ".state") == 0)
            wr_strv_add_take (&v, xstrndup (e->d_name, (size_t) (mark - e->d_name)));
    }
    return sorted (v);
}

static bool
under (const char *path, const char *dir)
{
    size_t n = strlen (dir);
    return strncmp (path, dir, n) == 0 && path[n] == '/';
}

static char **
list_mounts (const char *root, const char *netns_dir, wr_error_t *err)
{
    cleanup_fclose FILE *f = fopen ("/proc/self/mountinfo", "re");
    if (f == NULL) {
        wr_error_set (err, errno, "open `/proc/self/mountinfo`");
        return NULL;
    }
    char **v = NULL;
    cleanup_free char *line = NULL;
    size_t cap = 0;
    while (getline (&line, &cap, f) > 0) {
        char *save = NULL, *tok = strtok_r (line, " ", &save);
        for (int i = 0; i < 4 && tok != NULL; i++)
            tok = strtok_r (NULL, " ", &save);
        if (tok != NULL && (under (tok, root) || under (tok, netns_dir)))
            wr_strv_add (&v, tok);
    }
    return sorted (v);
}

static char **
list_dir (const char *dir, wr_error_t *err)
{
    char **v = NULL;
    cleanup_closedir DIR *d = opendir (dir);
    if (d == NULL && errno != ENOENT) {
        wr_error_set (err, errno, "list `%s`", dir);
        return NULL;
    }
    struct dirent *e;
    while (d != NULL && (e = readdir (d)) != NULL) {
        if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
            wr_strv_add (&v, e->d_name);
    }
    return sorted (v);
}

int
wr_sandbox_leftovers (const wr_sandbox_host_t *host, wr_sandbox_leftovers_t *l, wr_error_t *err)
{
    memset (l, 0, sizeof *l);
    cleanup_free char *runsc_root = wr_sandbox_runsc_root (host);
    cleanup_free char *sandboxes = xasprintf ("%s/sandboxes", host->root);
    const char *parent = host->cgroup_parent ? host->cgroup_parent : "/warren";
    if ((l->containers = list_containers (runsc_root, err)) == NULL ||
        (l->netns = wr_netns_list (host->netns_dir, NULL, err)) == NULL ||
        (l->cgroups = wr_cgroup_children (parent, err)) == NULL ||
        (l->mounts = list_mounts (host->root, host->netns_dir, err)) == NULL ||
        (l->dirs = list_dir (sandboxes, err)) == NULL) {
        wr_sandbox_leftovers_clear (l);
        return wr_error_prefix (err, "leftovers of sandboxes under `%s`", host->root);
    }
    return 0;
}

size_t
wr_sandbox_leftovers_count (const wr_sandbox_leftovers_t *l)
{
    return wr_strv_length (l->containers) + wr_strv_length (l->netns) +
           wr_strv_length (l->cgroups) + wr_strv_length (l->mounts) + wr_strv_length (l->dirs);
}

void
wr_sandbox_leftovers_clear (wr_sandbox_leftovers_t *l)
{
    wr_strv_free (l->containers);
    wr_strv_free (l->netns);
    wr_strv_free (l->cgroups);
    wr_strv_free (l->mounts);
    wr_strv_free (l->dirs);
    memset (l, 0, sizeof *l);
}
