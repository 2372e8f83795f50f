/* The runsc (gVisor) backend. */
#include "runtime_backend.h"
#include "runtime_probe.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "children.h"
#include "cleanup.h"
#include "log.h"
#include "runtime_runsc.h"
#include "strv.h"
#include "xalloc.h"

#define RMEM_DEFAULT "/proc/sys/net/core/rmem_default"

static int
runsc_probe (wr_backend_t *backend, wr_backend_info_t *info, wr_error_t *err)
{
    if (wr_backend_probe_version (info, err) < 0)
        return -1;
    info->release = wr_backend_parse_release (info->version);
    int status = 0;

    /* `runsc help` lists the commands; `runsc flags` (where it exists) the
     * global flags, else `runsc --help` may list them.  All print to
     * standard error, which wr_backend_run collects too. */
    static const char *const help_args[] = { "help", NULL };
    cleanup_free char *help_out = wr_backend_run (info->path, help_args, &status, err);
    if (help_out == NULL)
        return -1;
    info->commands = wr_backend_parse_commands (help_out);
    if (wr_strv_contains (info->commands, "flags")) {
        static const char *const flags_args[] = { "flags", NULL };
        cleanup_free char *flags_out = wr_backend_run (info->path, flags_args, &status, err);
        if (flags_out == NULL)
            return -1;
        info->flags = wr_backend_parse_flags (flags_out);
    }
    if (wr_strv_length (info->flags) == 0) {
        static const char *const dash_help_args[] = { "--help", NULL };
        cleanup_free char *dash_help_out =
            wr_backend_run (info->path, dash_help_args, &status, err);
        if (dash_help_out == NULL)
            return -1;
        wr_strv_free (info->flags);
        info->flags = wr_backend_parse_flags (dash_help_out);
    }
    wr_error_t rmem_err = NULL;
    info->rmem_default_in_every_netns = wr_runsc_rmem_default_in_new_netns (&rmem_err);
    if (info->rmem_default_in_every_netns < 0) {
        /* Not fatal: -1 says "unknown", and the workaround is applied. */
        wr_log_to (backend->log, WR_LOG_DEBUG,
                   "cannot tell whether the rmem_default workaround is needed", "error",
                   rmem_err->message, NULL);
        wr_error_free (&rmem_err);
    }
    return 0;
}

/* What the child of wr_runsc_rmem_default_in_new_netns exits with: 0 or
 * 1, or CHILD_ERRNO + the errno of its unshare. */
#define CHILD_ERRNO 2

int
wr_runsc_rmem_default_in_new_netns (wr_error_t *err)
{
    static const char what[] = "look for `" RMEM_DEFAULT "` in a new network namespace";
    /* /proc/sys/net shows the sysctls of the network namespace of the
     * process that looks, so a child in a fresh namespace sees what runsc
     * will see after it joins the container's namespace. */
    pid_t pid = wr_children_fork ();
    if (pid < 0)
        return wr_error_set (err, errno, "%s: fork", what);
    if (pid == 0) {
        if (unshare (CLONE_NEWNET) < 0)
            _exit (CHILD_ERRNO + (errno < 255 - CHILD_ERRNO ? errno : 0));
        _exit (access (RMEM_DEFAULT, F_OK) == 0 ? 0 : 1);
    }
    int status;
    pid_t r;
    do
        r = waitpid (pid, &status, 0);
    while (r < 0 && errno == EINTR);
    wr_children_waited (pid);
    if (r < 0)
        return wr_error_set (err, errno, "%s: wait for the child", what);
    if (!WIFEXITED (status))
        return wr_error_set (err, 0, "%s: the child was killed by signal %d", what,
                             WTERMSIG (status));
    int code = WEXITSTATUS (status);
    if (code == 0 || code == 1)
        return code == 0 ? 1 : 0;
    return wr_error_set (err, code - CHILD_ERRNO, "%s: unshare(CLONE_NEWNET)", what);
}

static const char *
runsc_choose_network (wr_backend_t *backend, wr_spec_t *spec)
{
    return wr_runsc_choose_network (spec);
}

/* Whether PATH names the network namespace we run in, or pid 1's. */
static bool
is_host_netns (const char *path)
{
    struct stat target, ours;
    if (stat (path, &target) < 0)
        return false;
    if (stat ("/proc/self/ns/net", &ours) == 0 && target.st_dev == ours.st_dev &&
        target.st_ino == ours.st_ino)
        return true;
    struct stat init;
    return stat ("/proc/1/ns/net", &init) == 0 && target.st_dev == init.st_dev &&
           target.st_ino == init.st_ino;
}

const char *
wr_runsc_choose_network (wr_spec_t *spec)
{
    /* No network namespace in the spec, or the host's own (Docker's
     * --network=host names /run/docker/netns/default): the container shares
     * the caller's network, which runsc's host mode gives.  Its own
     * namespace: runsc's network stack takes over its interfaces. */
    const char *path = NULL;
    if (!wr_spec_has_namespace (spec, "network", &path))
        return "host";
    if (path != NULL && is_host_netns (path))
        return "host";
    return "sandbox";
}

static bool
user_gave_flag (const wr_launch_t *launch, const wr_runsc_flag_t *flag)
{
    for (size_t i = 0; i < 3 && flag->spellings[i] != NULL; i++) {
        cleanup_free char *name = xstrndup (flag->spellings[i], strcspn (flag->spellings[i], "="));
        if (wr_flags_have (launch->user_flags, name))
            return true;
    }
    return false;
}

static int
runsc_launch_flags (wr_backend_t *backend, const wr_launch_t *launch, char ***argv, wr_error_t *err)
{
    if (launch->network_mode != NULL && !wr_flags_have (launch->user_flags, "network"))
        wr_strv_add_take (argv, xasprintf ("--network=%s", launch->network_mode));
    const wr_runsc_flag_t *flags = launch->profile ? launch->profile->runsc_flags : NULL;
    for (size_t i = 0; flags != NULL && flags[i].spellings[0] != NULL; i++) {
        if (user_gave_flag (launch, &flags[i]))
            continue;
        if (!wr_backend_add_supported_flag (backend, &flags[i], argv))
            wr_log_to (backend->log, WR_LOG_DEBUG,
                       "the installed runsc supports no spelling of a profile's flag", "flag",
                       flags[i].spellings[0], "why", flags[i].why ? flags[i].why : "", "runsc",
                       backend->info.version ? backend->info.version : "", NULL);
    }
    return 0;
}

bool
wr_runsc_needs_rmem_workaround (const wr_backend_info_t *info, const char *network_mode)
{
    if (network_mode == NULL || strcmp (network_mode, "sandbox") != 0)
        return false;
    /* An unknown release (a development build) is taken to be fixed. */
    if (info->release <= 0 || info->release > WR_RUNSC_RMEM_BUG_LAST_RELEASE)
        return false;
    /* Older kernels (up to 6.6 at least) show rmem_default only in the
     * initial namespace, which is what runsc's check assumes. */
    return info->rmem_default_in_every_netns != 0;
}

static int
same_file (const char *a, const char *b, bool *same, wr_error_t *err)
{
    struct stat sa, sb;
    if (stat (a, &sa) < 0)
        return wr_error_set (err, errno, "stat network namespace `%s`", a);
    if (stat (b, &sb) < 0)
        return wr_error_set (err, errno, "stat `%s`", b);
    *same = sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    return 0;
}

int
wr_runsc_check_not_host_netns (wr_spec_t *spec, const char *initial_netns, wr_error_t *err)
{
    const char *path = NULL;
    const char *target;
    if (!wr_spec_has_namespace (spec, "network", &path))
        target = "/proc/self/ns/net"; /* runsc stays in ours */
    else if (path == NULL)
        return 0; /* runsc makes a new one */
    else
        target = path;
    /* The host's namespace is pid 1's.  Where pid 1's cannot be looked at
     * (a process without ptrace access to it), ours stands in for it: it is
     * the namespace of the caller (Docker, containerd), whose interfaces
     * runsc must not take either. */
    const char *host = initial_netns;
    struct stat st;
    if (stat (initial_netns, &st) < 0)
        host = "/proc/self/ns/net";
    bool same = false;
    if (same_file (target, host, &same, err) < 0)
        return -1;
    if (same)
        return wr_error_set (err, 0,
                             "network mode sandbox needs the container's own network namespace, "
                             "but `%s` is the host's: runsc would take over the host's network "
                             "interfaces (use --network=host, or give the container a network "
                             "namespace in config.json)",
                             target);
    return 0;
}

static int
runsc_before_launch (wr_backend_t *backend, const wr_launch_t *launch, wr_error_t *err)
{
    if (!wr_runsc_needs_rmem_workaround (&backend->info, launch->network_mode))
        return 0;
    /* runsc up to 20240729 decides "this is the root network namespace"
     * from the existence of /proc/sys/net/core/rmem_default, which Linux
     * 6.8+ shows in every namespace, so it refuses --network=sandbox.  In
     * a mount namespace of our own, an empty tmpfs over /proc/sys/net makes
     * that check pass.  Since that disables runsc's guard against taking
     * over the host's interfaces, do that check properly first (at create
     * and run, where the spec is at hand). */
    if (launch->spec != NULL &&
        wr_runsc_check_not_host_netns (launch->spec, "/proc/1/ns/net", err) < 0)
        return -1;
    /* runsc sets the network up in `start` (and `run`), not in `create`:
     * the sandbox made by create need not live in our mount namespace. */
    if (launch->command != NULL && strcmp (launch->command, "create") == 0)
        return 0;
    if (unshare (CLONE_NEWNS) < 0)
        return wr_error_set (err, errno, "rmem_default workaround: unshare(CLONE_NEWNS)");
    /* rslave: mounts the host makes later still reach runsc; ours don't
     * leave. */
    if (mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        return wr_error_set (err, errno, "rmem_default workaround: make / rslave");
    if (mount ("tmpfs", "/proc/sys/net", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
               "size=4k,mode=0555") < 0)
        return wr_error_set (err, errno, "rmem_default workaround: mount tmpfs on /proc/sys/net");
    wr_log_to (backend->log, WR_LOG_DEBUG, "applied the runsc rmem_default workaround", "runsc",
               backend->info.version ? backend->info.version : "", NULL);
    return 0;
}

static void
runsc_translate_global (const char *name, const char *value, char ***argv)
{
    /* runsc has no CRIU. */
    if (strcmp (name, "criu") == 0)
        return;
    /* runc's --rootless takes true/false/auto; runsc's is a plain switch. */
    if (strcmp (name, "rootless") == 0) {
        if (value == NULL || strcmp (value, "true") == 0)
            wr_strv_add (argv, "--rootless");
        return;
    }
    if (value == NULL)
        wr_strv_add_take (argv, xasprintf ("--%s", name));
    else
        wr_strv_add_take (argv, xasprintf ("--%s=%s", name, value));
}

const wr_backend_ops_t wr_backend_runsc = {
    .name = "runsc",
    .is_sandbox = true,
    .default_binary = "runsc",
    .minimum_release = WR_RUNSC_MINIMUM_RELEASE,
    .install_hint = "scripts/setup installs it from bookworm-backports",
    .probe = runsc_probe,
    .choose_network = runsc_choose_network,
    .launch_flags = runsc_launch_flags,
    .before_launch = runsc_before_launch,
    .translate_global = runsc_translate_global,
};
