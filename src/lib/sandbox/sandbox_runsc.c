/* Starting and stopping warrend's sandboxes with runsc (see
 * sandbox_runsc.h). */
#include "sandbox_runsc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"
#include "json_reader.h"
#include "profile.h"
#include "runtime_probe.h"
#include "runtime_runsc.h"
#include "sandbox_destroy.h"
#include "sandbox_limits.h"
#include "sandbox_link.h"
#include "sandbox_net.h"
#include "sandbox_netns.h"
#include "spec.h"
#include "strv.h"
#include "subprocess.h"
#include "xalloc.h"

#define DEFAULT_TIMEOUT_MS 60000
/* What runsc's output may be at most (state JSON, error messages). */
#define OUTPUT_MAX (1 << 20)

void
wr_sandbox_launched_clear (wr_sandbox_launched_t *l)
{
    free (l->container_id);
    free (l->cgroup_path);
    free (l->netns_path);
    free (l->dir);
    memset (l, 0, sizeof *l);
}

static const char *const state_names[] = {
    [WR_RUNSC_STATE_GONE] = "gone",       [WR_RUNSC_STATE_CREATING] = "creating",
    [WR_RUNSC_STATE_CREATED] = "created", [WR_RUNSC_STATE_RUNNING] = "running",
    [WR_RUNSC_STATE_PAUSED] = "paused",   [WR_RUNSC_STATE_STOPPED] = "stopped",
};

const char *
wr_runsc_state_name (wr_runsc_state_t state)
{
    if ((size_t) state >= sizeof state_names / sizeof state_names[0])
        return "unknown";
    return state_names[state];
}

int
wr_sandbox_check_id (const char *id, wr_error_t *err)
{
    size_t n = id ? strlen (id) : 0;
    if (n == 0 || n > 64 || id[0] == '.' || id[0] == '-')
        return wr_error_set (err, 0,
                             "sandbox id `%s` must be 1 to 64 characters, not starting "
                             "with '.' or '-'",
                             id ? id : "");
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return wr_error_set (err, 0, "sandbox id `%s` has a character outside [A-Za-z0-9_.-]",
                                 id);
    }
    return 0;
}

char *
wr_sandbox_dir (const wr_sandbox_host_t *host, const char *id)
{
    return xasprintf ("%s/sandboxes/%s", host->root, id);
}

char *
wr_sandbox_runsc_root (const wr_sandbox_host_t *host)
{
    return xasprintf ("%s/runsc", host->root);
}

char *
wr_sandbox_cgroup_path (const wr_sandbox_host_t *host, const char *id)
{
    const char *parent = host->cgroup_parent ? host->cgroup_parent : "/warren";
    return xasprintf ("%s/%s", parent, id);
}

char *
wr_sandbox_netns_path (const wr_sandbox_host_t *host, const char *id)
{
    cleanup_free char *name = wr_netns_name (id);
    return xasprintf ("%s/%s", host->netns_dir, name);
}

char **
wr_sandbox_runsc_argv (const wr_sandbox_host_t *host, wr_error_t *err)
{
    if (wr_backend_probe (host->runsc, err) < 0)
        return NULL;
    char **argv = NULL;
    wr_strv_add (&argv, host->runsc->info.path);
    cleanup_free char *root = wr_sandbox_runsc_root (host);
    wr_strv_add_take (&argv, xasprintf ("--root=%s", root));
    return argv;
}

/* The rmem_default workaround, in the child before it execs runsc: runsc
 * up to 20240729 takes /proc/sys/net/core/rmem_default for a sign of the
 * host's namespace and refuses --network=sandbox (runtime_runsc.h).  A
 * private mount namespace (rslave: the host's later mounts still reach us,
 * ours do not leave) with a tmpfs over /proc/sys/net.  Only
 * async-signal-safe calls: warrend has threads. */
int
wr_sandbox_rmem_workaround (void *data)
{
    (void) data;
    if (unshare (CLONE_NEWNS) < 0 || mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        return errno;
    if (mount ("tmpfs", "/proc/sys/net", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
               "size=4k,mode=0555") < 0)
        return errno;
    return 0;
}

/* Runs ARGV with its output to OUT_FD (>= 0: not collected) or collected
 * into *OUTPUT (at most OUTPUT_MAX bytes). */
static int
run_runsc (const wr_sandbox_host_t *host, char *const *argv, bool rmem, int out_fd, int timeout_ms,
           char **output, int *status, wr_error_t *err)
{
    wr_subprocess_options_t o = {
        .timeout_ms = timeout_ms > 0         ? timeout_ms
                      : host->timeout_ms > 0 ? host->timeout_ms
                                             : DEFAULT_TIMEOUT_MS,
        .output_fd = out_fd,
        .max_output = OUTPUT_MAX,
        .child_setup = rmem ? wr_sandbox_rmem_workaround : NULL,
        .child_setup_what = "the rmem_default workaround (a private mount namespace with a tmpfs "
                            "on /proc/sys/net)",
    };
    cleanup_free char *collected = NULL;
    if (wr_subprocess_output_ex (argv, &o, &collected, status, err) < 0)
        return -1;
    if (output != NULL)
        *output = steal_pointer (&collected);
    return 0;
}

int
wr_sandbox_runsc_run (const wr_sandbox_host_t *host, char *const *argv, bool rmem_workaround,
                      int timeout_ms, char **output, int *status, wr_error_t *err)
{
    return run_runsc (host, argv, rmem_workaround, -1, timeout_ms, output, status, err);
}

/* The last line of TEXT that says something, for an error message. */
static char *
last_words (const char *text)
{
    cleanup_strv char **lines = wr_strv_split (text ? text : "", "\n");
    size_t n = wr_strv_length (lines);
    return xstrdup (n > 0 ? lines[n - 1] : "(no output)");
}

static bool
says_gone (const char *output)
{
    return output != NULL &&
           (strstr (output, "file does not exist") != NULL ||
            strstr (output, "does not exist") != NULL || strstr (output, "not found") != NULL);
}

/* `runsc --root=R COMMAND ARGS...` for the short commands. */
static int
runsc_simple (const wr_sandbox_host_t *host, const char *const *args, char **output, int *status,
              wr_error_t *err)
{
    cleanup_strv char **argv = wr_sandbox_runsc_argv (host, err);
    if (argv == NULL)
        return -1;
    for (size_t i = 0; args[i] != NULL; i++)
        wr_strv_add (&argv, args[i]);
    return run_runsc (host, argv, false, -1, 0, output, status, err);
}

int
wr_runsc_state_parse (const char *text, size_t len, const char *id, wr_runsc_state_t *state,
                      pid_t *pid, wr_error_t *err)
{
    static const char name[] = "runsc state";
    cleanup_json_reader json_object *o =
        wr_json_parse_object (text, len, 1 << 16, "a state", name, err);
    if (o == NULL)
        return -1;
    cleanup_free char *got_id = NULL, *status = NULL;
    json_object *pid_value = NULL;
    int64_t pid64 = 0;
    if (wr_json_member_string (o, "id", true, name, "", &got_id, err) < 0 ||
        wr_json_member_string (o, "status", true, name, "", &status, err) < 0 ||
        wr_json_member (o, "pid", true, name, "", &pid_value, err) < 0 ||
        wr_json_int64 (pid_value, name, "pid", &pid64, err) < 0)
        return -1;
    if (id != NULL && strcmp (got_id, id) != 0)
        return wr_json_error (err, name, "id", "is not the container asked for");
    if (pid64 < -1 || pid64 > INT32_MAX)
        return wr_json_error (err, name, "pid", "is out of range");
    for (size_t i = 1; i < sizeof state_names / sizeof state_names[0]; i++) {
        if (strcmp (status, state_names[i]) == 0) {
            *state = (wr_runsc_state_t) i;
            if (pid != NULL)
                *pid = pid64 > 0 ? (pid_t) pid64 : 0;
            return 0;
        }
    }
    return wr_json_error (err, name, "status", "is not a state runsc has");
}

/* Whether process PID has exited (gone, or a zombie nobody reaped yet). */
static bool
process_exited (pid_t pid)
{
    char path[64];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    cleanup_free char *stat = wr_read_file (path, 4096, NULL, NULL);
    if (stat == NULL)
        return true;
    /* "PID (COMM) STATE ...": COMM may hold ')' itself, so the last one. */
    const char *close_paren = strrchr (stat, ')');
    return close_paren != NULL && close_paren[1] == ' ' &&
           (close_paren[2] == 'Z' || close_paren[2] == 'X');
}

int
wr_sandbox_runsc_state (const wr_sandbox_host_t *host, const char *id, wr_runsc_state_t *state,
                        pid_t *pid, wr_error_t *err)
{
    if (wr_sandbox_check_id (id, err) < 0)
        return -1;
    const char *args[] = { "state", id, NULL };
    cleanup_free char *out = NULL;
    int status = 0;
    if (runsc_simple (host, args, &out, &status, err) < 0)
        return wr_error_prefix (err, "state of sandbox `%s`", id);
    if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
        if (says_gone (out)) {
            *state = WR_RUNSC_STATE_GONE;
            if (pid != NULL)
                *pid = 0;
            return 0;
        }
        cleanup_free char *words = last_words (out);
        return wr_error_set (err, 0, "state of sandbox `%s`: runsc: %s", id, words);
    }
    pid_t got_pid = 0;
    if (wr_runsc_state_parse (out, strlen (out), id, state, &got_pid, err) < 0)
        return wr_error_prefix (err, "state of sandbox `%s`", id);
    /* runsc says running while the killed sandbox process is a zombie
     * that its reaper (PID 1, or a subreaper) has not waited for yet. */
    if (*state != WR_RUNSC_STATE_STOPPED && got_pid > 0 && process_exited (got_pid))
        *state = WR_RUNSC_STATE_STOPPED;
    if (pid != NULL)
        *pid = got_pid;
    return 0;
}

int
wr_sandbox_kill (const wr_sandbox_host_t *host, const char *id, int signal, bool all,
                 wr_error_t *err)
{
    if (wr_sandbox_check_id (id, err) < 0)
        return -1;
    char sig[16];
    snprintf (sig, sizeof sig, "%d", signal);
    const char *with_all[] = { "kill", "--all", id, sig, NULL };
    const char *without[] = { "kill", id, sig, NULL };
    cleanup_free char *out = NULL;
    int status = 0;
    if (runsc_simple (host, all ? with_all : without, &out, &status, err) < 0)
        return wr_error_prefix (err, "kill sandbox `%s`", id);
    if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
        return 0;
    cleanup_free char *words = last_words (out);
    return wr_error_set_kind (err, says_gone (out) ? WR_ERROR_NOT_FOUND : WR_ERROR_INTERNAL, 0,
                              "kill sandbox `%s` with signal %d: runsc: %s", id, signal, words);
}

int
wr_sandbox_delete (const wr_sandbox_host_t *host, const char *id, wr_error_t *err)
{
    if (wr_sandbox_check_id (id, err) < 0)
        return -1;
    const char *args[] = { "delete", "-force", id, NULL };
    cleanup_free char *out = NULL;
    int status = 0;
    if (runsc_simple (host, args, &out, &status, err) < 0)
        return wr_error_prefix (err, "delete sandbox `%s`", id);
    if ((WIFEXITED (status) && WEXITSTATUS (status) == 0) || says_gone (out))
        return 0;
    cleanup_free char *words = last_words (out);
    return wr_error_set (err, 0, "delete sandbox `%s`: runsc: %s", id, words);
}

/* The global flags of create and start. */
static int
launch_argv (const wr_sandbox_host_t *host, const char *dir, bool docker_enabled, char ***argv,
             wr_error_t *err)
{
    *argv = wr_sandbox_runsc_argv (host, err);
    if (*argv == NULL)
        return -1;
    wr_strv_add_take (argv, xasprintf ("--log=%s/runsc.log", dir));
    wr_strv_add (argv, "--log-format=json");
    if (host->debug_log) {
        wr_strv_add (argv, "--debug");
        wr_strv_add_take (argv, xasprintf ("--debug-log=%s/debug/", dir));
    }
    if (host->platform != NULL)
        wr_strv_add_take (argv, xasprintf ("--platform=%s", host->platform));
    wr_strv_add (argv, "--host-uds=create");
    wr_strv_add (argv, "--overlay2=none");
    /* The backend's choice: --network=sandbox, and the profile's flags in
     * the spelling this runsc has (--net-raw, packet-socket writes). */
    const wr_launch_t launch = {
        .profile = docker_enabled ? &wr_profile_docker : &wr_profile_default,
        .network_mode = "sandbox",
        .command = "create",
    };
    return host->runsc->ops->launch_flags (host->runsc, &launch, argv, err);
}

/* The tail of DIR/runsc.log's last line, for errors: runsc's reason. */
static char *
runsc_log_words (const char *dir)
{
    cleanup_free char *path = xasprintf ("%s/runsc.log", dir);
    cleanup_free char *text = wr_read_file (path, OUTPUT_MAX, NULL, NULL);
    return text ? last_words (text) : NULL;
}

int
wr_sandbox_network_ready (const wr_sandbox_host_t *host, const char *id, uint32_t address,
                          int uplink_fd, wr_error_t *err)
{
    cleanup_free char *path = wr_sandbox_netns_path (host, id);
    bool made = wr_netns_is_mounted (path) == 1;
    if (!made) {
        cleanup_free char *name = wr_netns_name (id);
        if (wr_netns_create (host->netns_dir, name, NULL, err) < 0)
            return -1;
    }
    if (address == 0)
        return 0;
    /* The link before runsc: gVisor's stack takes eth0 and its route from
     * the namespace when the sandbox boots. */
    char link[WR_LINK_NAME_MAX];
    wr_link_name (id, link);
    const wr_link_spec_t ls = {
        .name = link,
        .uplink_fd = uplink_fd,
        .netns_path = path,
        .gateway = address - 1,
        .address = address,
        .prefix = WR_NET_LINK_PREFIX,
    };
    return made ? wr_link_readdress (&ls, err) : wr_link_create (&ls, err);
}

static int
launch_steps (const wr_sandbox_host_t *host, wr_store_t *store, const wr_image_record_t *record,
              const wr_image_config_t *config, const wr_sandbox_bundle_options_t *options,
              wr_sandbox_launched_t *l, wr_error_t *err)
{
    const char *id = options->id;
    cleanup_free char *sandboxes = xasprintf ("%s/sandboxes", host->root);
    if (wr_mkdir_p (sandboxes, 0700, err) < 0)
        return -1;
    if (mkdir (l->dir, 0700) < 0)
        return wr_error_set (err, errno, "make `%s`", l->dir);
    cleanup_free char *agent_dir = xasprintf ("%s/agent", l->dir);
    if (mkdir (agent_dir, 0700) < 0)
        return wr_error_set (err, errno, "make `%s`", agent_dir);
    if (wr_sandbox_network_ready (host, id, options->address, options->uplink_fd, err) < 0)
        return -1;

    wr_sandbox_bundle_options_t o = *options;
    o.agent_dir = agent_dir;
    o.netns_path = l->netns_path;
    o.cgroups_path = l->cgroup_path;
    /* The host counts the Sentry's threads too (sandbox_limits.h). */
    o.pids_limit = wr_sandbox_host_pids_limit (options->pids_limit);
    cleanup_free char *bundle = xasprintf ("%s/bundle", l->dir);
    if (wr_sandbox_bundle_create (store, record, config, bundle, &o, err) < 0)
        return -1;
    /* The workaround below turns off runsc's own guard against taking
     * over the host's interfaces: check that the namespace is not the
     * host's first. */
    cleanup_free char *config_path = xasprintf ("%s/config.json", bundle);
    cleanup_spec wr_spec_t *spec = wr_spec_load (config_path, err);
    if (spec == NULL || wr_runsc_check_not_host_netns (spec, "/proc/1/ns/net", err) < 0)
        return -1;

    cleanup_strv char **create = NULL;
    if (launch_argv (host, l->dir, options->docker_enabled, &create, err) < 0)
        return -1;
    cleanup_strv char **start = wr_strv_copy (create);
    wr_strv_add (&create, "create");
    wr_strv_add_take (&create, xasprintf ("--bundle=%s", bundle));
    wr_strv_add (&create, id);
    wr_strv_add (&start, "start");
    wr_strv_add (&start, id);

    /* The sandbox keeps create's standard streams: PID 1's output goes to
     * init.log (the agent's processes have their own). */
    cleanup_free char *init_log = xasprintf ("%s/init.log", l->dir);
    cleanup_close int log_fd =
        open (init_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
    if (log_fd < 0)
        return wr_error_set (err, errno, "open `%s`", init_log);
    int status = 0;
    if (run_runsc (host, create, false, log_fd, 0, NULL, &status, err) < 0)
        return -1;
    if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
        cleanup_free char *words = runsc_log_words (l->dir);
        return wr_error_set (err, 0, "runsc create failed (exit %d): %s", WEXITSTATUS (status),
                             words ? words : "see runsc.log");
    }
    bool rmem = wr_runsc_needs_rmem_workaround (&host->runsc->info, "sandbox");
    cleanup_free char *out = NULL;
    if (run_runsc (host, start, rmem, -1, 0, &out, &status, err) < 0)
        return -1;
    if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
        cleanup_free char *words = last_words (out);
        return wr_error_set (err, 0, "runsc start failed (exit %d): %s", WEXITSTATUS (status),
                             words);
    }
    wr_runsc_state_t state = WR_RUNSC_STATE_GONE;
    if (wr_sandbox_runsc_state (host, id, &state, &l->pid, err) < 0)
        return -1;
    if (state != WR_RUNSC_STATE_RUNNING) {
        cleanup_free char *words = runsc_log_words (l->dir);
        return wr_error_set (err, 0, "the sandbox is %s right after its start: %s",
                             wr_runsc_state_name (state), words ? words : "see runsc.log");
    }
    wr_log_to (host->log, WR_LOG_DEBUG, "sandbox started", "sandbox", id, "rmem_workaround",
               rmem ? "yes" : "no", "docker", options->docker_enabled ? "yes" : "no", NULL);
    return 0;
}

int
wr_sandbox_launch (const wr_sandbox_host_t *host, wr_store_t *store,
                   const wr_image_record_t *record, const wr_image_config_t *config,
                   const wr_sandbox_bundle_options_t *options, wr_sandbox_launched_t *launched,
                   wr_error_t *err)
{
    memset (launched, 0, sizeof *launched);
    if (wr_sandbox_check_id (options->id, err) < 0)
        return -1;
    if (host->root == NULL || host->root[0] != '/' || host->netns_dir == NULL ||
        host->netns_dir[0] != '/')
        return wr_error_set (err, 0,
                             "sandbox `%s`: the state root and the network namespace "
                             "directory must be absolute paths",
                             options->id);
    if (wr_backend_probe (host->runsc, err) < 0)
        return wr_error_prefix (err, "sandbox `%s`", options->id);
    wr_sandbox_launched_t l = {
        .container_id = xstrdup (options->id),
        .cgroup_path = wr_sandbox_cgroup_path (host, options->id),
        .netns_path = wr_sandbox_netns_path (host, options->id),
        .dir = wr_sandbox_dir (host, options->id),
    };
    /* A directory that exists is another sandbox's: not ours to clean. */
    struct stat st;
    if (lstat (l.dir, &st) == 0) {
        wr_error_set_kind (err, WR_ERROR_EXISTS, 0, "sandbox `%s` exists already (`%s`)",
                           options->id, l.dir);
        wr_sandbox_launched_clear (&l);
        return -1;
    }
    if (launch_steps (host, store, record, config, options, &l, err) < 0) {
        wr_error_prefix (err, "sandbox `%s`", options->id);
        wr_sandbox_destroy (host, options->id, NULL);
        wr_sandbox_launched_clear (&l);
        return -1;
    }
    *launched = l;
    return 0;
}
