/* Drives src/lib/sandbox for tests/integration/sandbox_launch.sh: starts,
 * inspects, signals and destroys warrend-style sandboxes with the library's
 * functions, against real runsc.
 *
 *   sandbox-launch --root ROOT --netns-dir DIR --cgroup-parent PATH
 *                  [--store DIR] [--runsc PATH] [--init PATH] COMMAND ...
 *
 *   launch ID IMAGE [--docker] [--cpu N] [--memory BYTES] [--pids N]
 *          [-- ARGS...]        start a sandbox; prints
 *                              "container ID", "pid N", "cgroup P", "netns P", "dir D"
 *   state ID                   prints gone|created|running|paused|stopped
 *   exec ID -- CMD...          runsc exec (stdin from /dev/null)
 *   kill ID SIGNAL             runsc kill
 *   destroy ID                 everything the sandbox owns
 *   limits ID                  the limits of its cgroup, "name value" lines
 *   leftovers                  "KIND NAME" lines, then "count N"
 *
 * Errors go to stderr; the exit status is 1 on failure. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "cleanup.h"
#include "error.h"
#include "manifest.h"
#include "runtime_backend.h"
#include "sandbox_destroy.h"
#include "sandbox_limits.h"
#include "sandbox_runsc.h"
#include "store.h"
#include "strv.h"
#include "xalloc.h"

static const char usage[] =
    "usage: sandbox-launch --root ROOT --netns-dir DIR --cgroup-parent PATH [--store DIR]\n"
    "       [--runsc PATH] [--init PATH] launch|state|exec|kill|destroy|limits|leftovers ...\n";

static int
fail (wr_error_t *err)
{
    fprintf (stderr, "sandbox-launch: %s\n", (*err)->message);
    wr_error_free (err);
    return 1;
}

static int
cmd_launch (const wr_sandbox_host_t *host, const char *store_dir, const char *init, int argc,
            char **argv)
{
    if (argc < 2) {
        fputs (usage, stderr);
        return 2;
    }
    wr_sandbox_bundle_options_t o = { .id = argv[0], .init_host_path = init };
    const char *image = argv[1];
    int i = 2;
    for (; i < argc; i++) {
        if (strcmp (argv[i], "--docker") == 0)
            o.docker_enabled = true;
        else if (strcmp (argv[i], "--cpu") == 0 && i + 1 < argc)
            o.cpu = strtod (argv[++i], NULL);
        else if (strcmp (argv[i], "--memory") == 0 && i + 1 < argc)
            o.memory_bytes = strtoll (argv[++i], NULL, 10);
        else if (strcmp (argv[i], "--pids") == 0 && i + 1 < argc)
            o.pids_limit = strtoll (argv[++i], NULL, 10);
        else if (strcmp (argv[i], "--") == 0) {
            i++;
            break;
        } else {
            fprintf (stderr, "sandbox-launch: unknown launch option `%s`\n", argv[i]);
            return 2;
        }
    }
    if (i < argc)
        o.args = (const char *const *) argv + i;
    cleanup_error wr_error_t err = NULL;
    wr_store_t *store = wr_store_open (store_dir, &err);
    if (store == NULL)
        return fail (&err);
    wr_image_record_t record = { 0 };
    wr_image_config_t config = { 0 };
    cleanup_free char *data = NULL;
    size_t len = 0;
    wr_sandbox_launched_t l = { 0 };
    int r = -1;
    if (wr_catalog_find (store, image, &record, &err) == 0 &&
        wr_store_read_blob (store, record.config_digest, WR_CONFIG_MAX_SIZE, &data, &len, &err) ==
            0 &&
        wr_image_config_parse (data, len, record.name, &config, &err) == 0)
        r = wr_sandbox_launch (host, store, &record, &config, &o, &l, &err);
    wr_image_config_clear (&config);
    wr_image_record_clear (&record);
    wr_store_close (store);
    if (r < 0)
        return fail (&err);
    printf ("container %s\npid %d\ncgroup %s\nnetns %s\ndir %s\n", l.container_id, (int) l.pid,
            l.cgroup_path, l.netns_path, l.dir);
    wr_sandbox_launched_clear (&l);
    return 0;
}

static void
print_all (const char *kind, char *const *v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        printf ("%s %s\n", kind, v[i]);
}

int
main (int argc, char **argv)
{
    const char *root = NULL, *netns_dir = NULL, *cgroup_parent = NULL, *store_dir = NULL;
    const char *runsc = "runsc", *init = NULL;
    static const struct option longopts[] = {
        { "root", required_argument, NULL, 'r' },
        { "netns-dir", required_argument, NULL, 'n' },
        { "cgroup-parent", required_argument, NULL, 'c' },
        { "store", required_argument, NULL, 's' },
        { "runsc", required_argument, NULL, 'b' },
        { "init", required_argument, NULL, 'i' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long (argc, argv, "+", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            root = optarg;
            break;
        case 'n':
            netns_dir = optarg;
            break;
        case 'c':
            cgroup_parent = optarg;
            break;
        case 's':
            store_dir = optarg;
            break;
        case 'b':
            runsc = optarg;
            break;
        case 'i':
            init = optarg;
            break;
        default:
            fputs (usage, stderr);
            return 2;
        }
    }
    if (root == NULL || netns_dir == NULL || cgroup_parent == NULL || optind >= argc) {
        fputs (usage, stderr);
        return 2;
    }
    cleanup_free char *default_store = xasprintf ("%s/store", root);
    cleanup_free char *probe_dir = xasprintf ("%s/run", root);
    cleanup_backend wr_backend_t *backend = wr_backend_new (&wr_backend_runsc, runsc, probe_dir);
    wr_backend_set_search_path (backend, getenv ("PATH"));
    const wr_sandbox_host_t host = {
        .runsc = backend,
        .root = root,
        .netns_dir = netns_dir,
        .cgroup_parent = cgroup_parent,
        .debug_log = getenv ("SANDBOX_LAUNCH_DEBUG") != NULL,
    };
    const char *cmd = argv[optind];
    int n = argc - optind - 1;
    char **args = argv + optind + 1;
    cleanup_error wr_error_t err = NULL;

    if (strcmp (cmd, "launch") == 0)
        return cmd_launch (&host, store_dir ? store_dir : default_store, init, n, args);
    if (strcmp (cmd, "state") == 0 && n == 1) {
        wr_runsc_state_t state;
        pid_t pid = 0;
        if (wr_sandbox_runsc_state (&host, args[0], &state, &pid, &err) < 0)
            return fail (&err);
        printf ("%s\n", wr_runsc_state_name (state));
        return 0;
    }
    if (strcmp (cmd, "exec") == 0 && n >= 3 && strcmp (args[1], "--") == 0) {
        cleanup_strv char **full = wr_sandbox_runsc_argv (&host, &err);
        if (full == NULL)
            return fail (&err);
        wr_strv_add (&full, "exec");
        wr_strv_add (&full, args[0]);
        for (int i = 2; i < n; i++)
            wr_strv_add (&full, args[i]);
        if (freopen ("/dev/null", "r", stdin) == NULL)
            return 1;
        execv (full[0], full);
        perror ("sandbox-launch: exec runsc");
        return 1;
    }
    if (strcmp (cmd, "kill") == 0 && n == 2) {
        if (wr_sandbox_kill (&host, args[0], atoi (args[1]), false, &err) < 0)
            return fail (&err);
        return 0;
    }
    if (strcmp (cmd, "destroy") == 0 && n == 1) {
        if (wr_sandbox_destroy (&host, args[0], &err) < 0)
            return fail (&err);
        return 0;
    }
    if (strcmp (cmd, "limits") == 0 && n == 1) {
        cleanup_free char *path = wr_sandbox_cgroup_path (&host, args[0]);
        wr_sandbox_limits_t l;
        if (wr_sandbox_limits_read (path, &l, &err) < 0)
            return fail (&err);
        printf ("memory_limit %" PRId64 "\noom_kills %" PRId64 "\npids_max %" PRId64
                "\npids_current %" PRId64 "\npids_limit_hits %" PRId64 "\ncpu_quota %" PRId64
                "\ncpu_period %" PRId64 "\n",
                l.memory_limit, l.oom_kills, l.pids_max, l.pids_current, l.pids_limit_hits,
                l.cpu_quota, l.cpu_period);
        const char *reason = wr_sandbox_limits_reason (&l);
        printf ("reason %s\n", reason ? reason : "-");
        return 0;
    }
    if (strcmp (cmd, "leftovers") == 0 && n == 0) {
        wr_sandbox_leftovers_t l;
        if (wr_sandbox_leftovers (&host, &l, &err) < 0)
            return fail (&err);
        print_all ("container", l.containers);
        print_all ("netns", l.netns);
        print_all ("cgroup", l.cgroups);
        print_all ("mount", l.mounts);
        print_all ("dir", l.dirs);
        printf ("count %zu\n", wr_sandbox_leftovers_count (&l));
        wr_sandbox_leftovers_clear (&l);
        return 0;
    }
    fputs (usage, stderr);
    return 2;
}
