#include "dockerd.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "daemon_json.h"
#include "docker_prepare.h"
#include "log.h"
#include "ping.h"
#include "xalloc.h"

/* How often the socket is tried while dockerd has not created it yet. */
#define PING_RETRY_MS 20

static bool
is_executable_file (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 && S_ISREG (st.st_mode) && access (path, X_OK) == 0;
}

static char *
search_path (const char *name, const char *path)
{
    for (const char *p = path; p && *p;) {
        const char *colon = strchr (p, ':');
        size_t n = colon ? (size_t) (colon - p) : strlen (p);
        if (n > 0) {
            cleanup_free char *candidate = xasprintf ("%.*s/%s", (int) n, p, name);
            if (is_executable_file (candidate))
                return steal_pointer (&candidate);
        }
        p = colon ? colon + 1 : NULL;
    }
    return NULL;
}

char *
find_executable (const char *name, const char *path_env)
{
    if (strchr (name, '/') != NULL)
        return is_executable_file (name) ? xstrdup (name) : NULL;
    char *found = search_path (name, path_env);
    return found ? found : search_path (name, DOCKERD_FALLBACK_PATH);
}

static const char *
base_name (const char *path)
{
    const char *slash = strrchr (path, '/');
    return slash ? slash + 1 : path;
}

bool
command_is_dockerd (char *const *command)
{
    if (command == NULL || command[0] == NULL)
        return false;
    const char *name = base_name (command[0]);
    return strcmp (name, "dockerd") == 0 || strcmp (name, "dockerd-entrypoint.sh") == 0;
}

/* --- dockerd's flags --- */

typedef struct {
    unsigned bit;
    const char *flag;
    char short_name; /* 0: none */
    const char *names[3]; /* the long flags and daemon.json keys that set the same thing */
} our_flag_t;

static const our_flag_t our_flags[] = {
    { DOCKERD_FLAG_HOST, "--host=unix://" DOCKER_DEFAULT_SOCKET, 'H', { "hosts", NULL } },
    /* --bip together with -b is refused by dockerd. */
    { DOCKERD_FLAG_BRIDGE, "--bridge=none", 'b', { "bridge", "bip", NULL } },
    { DOCKERD_FLAG_IPTABLES, "--iptables=false", 0, { "iptables", NULL } },
    { DOCKERD_FLAG_IP6TABLES, "--ip6tables=false", 0, { "ip6tables", NULL } },
    { DOCKERD_FLAG_IP_FORWARD, "--ip-forward=false", 0, { "ip-forward", NULL } },
};
#define N_OUR_FLAGS (sizeof our_flags / sizeof our_flags[0])

/* The daemon.json members warren-init reads, with dockerd's types for
 * them: dockerd refuses others too, but only after warren-init has acted
 * on them (mounted a tmpfs on a data root, waited on a socket). */
static const struct {
    const char *key;
    daemon_json_kind_t kind;
} daemon_json_keys[] = {
    { "hosts", DAEMON_JSON_STRING_ARRAY }, { "bridge", DAEMON_JSON_STRING },
    { "bip", DAEMON_JSON_STRING },         { "iptables", DAEMON_JSON_BOOLEAN },
    { "ip6tables", DAEMON_JSON_BOOLEAN },  { "ip-forward", DAEMON_JSON_BOOLEAN },
    { "data-root", DAEMON_JSON_STRING },   { "graph", DAEMON_JSON_STRING },
};

/* The value of option LONG_NAME (or -SHORT_NAME) at ARGS[*I], or NULL when
 * ARGS[*I] is another option.  Advances *I over a separate value. */
static const char *
option_value (char *const *args, size_t *i, const char *long_name, char short_name)
{
    const char *arg = args[*i];
    size_t n = strlen (long_name);
    if (arg[0] == '-' && arg[1] == '-' && strncmp (arg + 2, long_name, n) == 0) {
        if (arg[2 + n] == '=')
            return arg + 3 + n;
        if (arg[2 + n] == '\0')
            return args[*i + 1] ? args[++*i] : "";
    }
    if (short_name && arg[0] == '-' && arg[1] == short_name) {
        if (arg[2] == '\0')
            return args[*i + 1] ? args[++*i] : "";
        return arg[2] == '=' ? arg + 3 : arg + 2;
    }
    return NULL;
}

/* The last value of an option in ARGS, or NULL. */
static const char *
last_option_value (char *const *args, const char *long_name, char short_name)
{
    const char *found = NULL;
    for (size_t i = 0; args[i]; i++) {
        const char *v = option_value (args, &i, long_name, short_name);
        if (v)
            found = v;
    }
    return found;
}

const char *
dockerd_config_file (char *const *extra_args)
{
    const char *v = last_option_value (extra_args, "config-file", 0);
    return v && *v ? v : DOCKER_DEFAULT_CONFIG;
}

/* The first "unix://PATH" in TEXT, a flag's value. */
static char *
unix_socket_in (const char *text, size_t len)
{
    static const char scheme[] = "unix://";
    for (size_t i = 0; i + sizeof scheme - 1 <= len; i++) {
        if (strncmp (text + i, scheme, sizeof scheme - 1) == 0) {
            const char *start = text + i + sizeof scheme - 1;
            size_t n = 0;
            while (start + n < text + len && start[n] != '"' && start[n] != ',' && start[n] != ' ')
                n++;
            return n > 0 ? xstrndup (start, n) : xstrdup (DOCKER_DEFAULT_SOCKET);
        }
    }
    return NULL;
}

/* The first unix socket of daemon.json's "hosts" (checked to be an array
 * of strings), or NULL. */
static char *
daemon_json_unix_socket (json_object *json)
{
    json_object *hosts = NULL;
    if (json == NULL || !json_object_object_get_ex (json, "hosts", &hosts) ||
        !json_object_is_type (hosts, json_type_array))
        return NULL;
    for (size_t i = 0; i < json_object_array_length (hosts); i++) {
        const char *host = json_object_get_string (json_object_array_get_idx (hosts, i));
        if (host != NULL && strncmp (host, "unix://", 7) == 0)
            return xstrdup (host[7] ? host + 7 : DOCKER_DEFAULT_SOCKET);
    }
    return NULL;
}

static bool
extra_args_set (char *const *extra, const our_flag_t *flag)
{
    for (size_t i = 0; extra[i]; i++) {
        for (size_t k = 0; flag->names[k]; k++) {
            /* "hosts" is daemon.json's key; the flag is --host. */
            const char *name = strcmp (flag->names[k], "hosts") == 0 ? "host" : flag->names[k];
            size_t j = i;
            const char *v = option_value (extra, &j, name, k == 0 ? flag->short_name : 0);
            if (v == NULL)
                continue;
            /* A tcp host next to ours is fine; a unix one replaces ours. */
            if (flag->bit == DOCKERD_FLAG_HOST && strncmp (v, "unix://", 7) != 0)
                continue;
            return true;
        }
    }
    return false;
}

int
dockerd_plan_make (const docker_config_t *config, const char *dockerd_path, const char *daemon_json,
                   unsigned dropped, dockerd_plan_t *plan, wr_error_t *err)
{
    memset (plan, 0, sizeof *plan);
    char *const *extra = config->extra_args;
    plan->dockerd_path = xstrdup (dockerd_path);
    plan->config_file = xstrdup (dockerd_config_file (extra));
    plan->log_path = xstrdup (config->log_path);
    plan->dropped = dropped;

    cleanup_json json_object *json =
        daemon_json ? daemon_json_parse (daemon_json, strlen (daemon_json), err) : NULL;
    if (daemon_json != NULL && json == NULL)
        return wr_error_prefix (err, "read dockerd's configuration `%s`", plan->config_file);
    for (size_t i = 0; i < sizeof daemon_json_keys / sizeof daemon_json_keys[0]; i++)
        if (daemon_json_check (json, daemon_json_keys[i].key, daemon_json_keys[i].kind, err) < 0)
            return wr_error_prefix (err, "read dockerd's configuration `%s`", plan->config_file);

    for (size_t f = 0; f < N_OUR_FLAGS; f++) {
        const our_flag_t *flag = &our_flags[f];
        if (flag->bit == DOCKERD_FLAG_IP_FORWARD && config->network != NETWORK_HOST &&
            config->network != NETWORK_UNKNOWN)
            continue;
        for (size_t k = 0; flag->names[k]; k++)
            if (daemon_json_has (json, flag->names[k]))
                plan->dropped |= flag->bit;
        if (extra_args_set (extra, flag))
            plan->dropped |= flag->bit;
    }

    /* Where dockerd listens: a unix host of the user's, else ours. */
    const char *host_flag = NULL;
    for (size_t i = 0; extra[i] && plan->socket_path == NULL; i++) {
        host_flag = option_value (extra, &i, "host", 'H');
        if (host_flag)
            plan->socket_path = unix_socket_in (host_flag, strlen (host_flag));
    }
    if (plan->socket_path == NULL)
        plan->socket_path = daemon_json_unix_socket (json);
    if (plan->socket_path == NULL)
        plan->socket_path = xstrdup (DOCKER_DEFAULT_SOCKET);

    /* Where the tmpfs goes. */
    const char *data_root = last_option_value (extra, "data-root", 0);
    if (data_root == NULL)
        data_root = last_option_value (extra, "graph", 'g');
    if (data_root && *data_root)
        plan->data_root = xstrdup (data_root);
    for (size_t k = 0; k < 2 && plan->data_root == NULL; k++) {
        const char *v = daemon_json_string (json, k == 0 ? "data-root" : "graph");
        if (v && *v)
            plan->data_root = xstrdup (v);
    }
    if (plan->data_root == NULL)
        plan->data_root = xstrdup (DOCKER_DEFAULT_DATA_ROOT);

    size_t n_extra = 0;
    while (extra[n_extra])
        n_extra++;
    plan->argv = xzalloc ((2 + N_OUR_FLAGS + n_extra) * sizeof (char *));
    size_t n = 0;
    plan->argv[n++] = xstrdup (dockerd_path);
    for (size_t f = 0; f < N_OUR_FLAGS; f++) {
        const our_flag_t *flag = &our_flags[f];
        if (plan->dropped & flag->bit)
            continue;
        if (flag->bit == DOCKERD_FLAG_IP_FORWARD && config->network != NETWORK_HOST &&
            config->network != NETWORK_UNKNOWN)
            continue;
        plan->argv[n++] = xstrdup (flag->flag);
    }
    for (size_t i = 0; i < n_extra; i++)
        plan->argv[n++] = xstrdup (extra[i]);
    plan->argv[n] = NULL;
    return 0;
}

void
dockerd_plan_free (dockerd_plan_t *plan)
{
    cleanup_strv_fn (&plan->argv);
    free (plan->dockerd_path);
    free (plan->config_file);
    free (plan->socket_path);
    free (plan->data_root);
    free (plan->log_path);
    memset (plan, 0, sizeof *plan);
}

unsigned
dockerd_unknown_flag (const char *log)
{
    static const char marker[] = "unknown flag: --";
    for (const char *p = log ? strstr (log, marker) : NULL; p; p = strstr (p + 1, marker)) {
        const char *name = p + sizeof marker - 1;
        size_t n = 0;
        while (name[n] && (isalnum ((unsigned char) name[n]) || name[n] == '-'))
            n++;
        for (size_t f = 0; f < N_OUR_FLAGS; f++) {
            const char *ours = our_flags[f].flag + 2;
            if (strncmp (ours, name, n) == 0 && (ours[n] == '=' || ours[n] == '\0'))
                return our_flags[f].bit;
        }
    }
    return 0;
}

const char *
log_tail (const char *text, int max_lines)
{
    const char *end = text + strlen (text);
    if (end > text && end[-1] == '\n')
        end--;
    const char *p = end;
    int lines = 0;
    while (p > text) {
        if (p[-1] == '\n' && ++lines == max_lines)
            return p;
        p--;
    }
    return text;
}

const char *
dockerd_flag_text (unsigned bit)
{
    for (size_t f = 0; f < N_OUR_FLAGS; f++)
        if (our_flags[f].bit == bit)
            return our_flags[f].flag;
    return "?";
}

const char *
dockerd_failure_advice (const char *log, bool timed_out)
{
    static const struct {
        const char *needle;
        const char *advice;
    } table[] = {
        { "Devices cgroup isn't mounted",
          "the sandbox has no devices cgroup: runsc before 20240729 (Debian 12's runsc 20221219) "
          "lacks it; install runsc 20240729 or newer (Debian: bookworm-backports)" },
        { "Failed to initialize nft",
          "iptables is the nft variant, which gVisor lacks: install the legacy variant "
          "(iptables-legacy) so warren-init can select it, and keep --iptables=false" },
        { "MASQUERADE", "dockerd's default bridge needs NAT that gVisor lacks: keep --bridge=none "
                        "--iptables=false (check WARREN_DOCKERD_ARGS and daemon.json)" },
        { "NAT chain", "dockerd's default bridge needs NAT that gVisor lacks: keep --bridge=none "
                       "--iptables=false (check WARREN_DOCKERD_ARGS and daemon.json)" },
        { "ip_forward",
          "dockerd could not enable IP forwarding, which runsc --network=host forbids: set "
          "WARREN_NETWORK=host so warren-init passes --ip-forward=false" },
        { "pid file found",
          "another dockerd runs in this sandbox or its pid file is stale: stop it or remove "
          "/var/run/docker.pid" },
        { "address already in use",
          "something else listens on dockerd's socket: stop it or remove the stale socket" },
        { "specified both as a flag and in the configuration file",
          "an option is set both in daemon.json and as a flag (WARREN_DOCKERD_ARGS): keep one" },
        { "error initializing graphdriver",
          "the storage driver failed: keep the tmpfs on dockerd's data root "
          "(WARREN_DOCKER_TMPFS_SIZE, default 50%) so overlay2 works, or use storage-driver vfs" },
        { "unknown flag",
          "dockerd refuses one of its flags: check WARREN_DOCKERD_ARGS against `dockerd --help`" },
        { "operation not permitted",
          "dockerd lacks privileges in the sandbox: run it with warren's Docker profile "
          "(annotation dev.warren.profile=docker), which adds CAP_SYS_ADMIN, CAP_NET_ADMIN and "
          "the other capabilities dockerd needs" },
    };
    /* The cause is usually in the last lines ("failed to start daemon:
     * ..."); earlier lines hold warnings that may match too. */
    const char *last_lines = log ? log_tail (log, 3) : NULL;
    for (int pass = 0; pass < 2 && log; pass++) {
        const char *text = pass == 0 ? last_lines : log;
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
            if (strcasestr (text, table[i].needle) != NULL)
                return table[i].advice;
    }
    if (timed_out)
        return "dockerd is slow or stuck: read its log above, or give it longer with "
               "WARREN_DOCKERD_TIMEOUT (seconds)";
    return "read dockerd's log above for the cause";
}

/* --- running it --- */

int
dockerd_start (reaper_t *reaper, const dockerd_plan_t *plan, dockerd_t *dockerd, wr_error_t *err)
{
    cleanup_free char *log_dir = xstrdup (plan->log_path);
    char *slash = strrchr (log_dir, '/');
    if (slash && slash != log_dir) {
        *slash = '\0';
        if (mkdir_parents (log_dir, 0755, err) < 0)
            return wr_error_prefix (err, "dockerd's log (WARREN_DOCKERD_LOG)");
    }
    cleanup_close int log_fd =
        open (plan->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
    if (log_fd < 0)
        return wr_error_set (err, errno,
                             "open dockerd's log `%s` (set WARREN_DOCKERD_LOG to "
                             "a writable path)",
                             plan->log_path);
    cleanup_close int null_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
    off_t offset = lseek (log_fd, 0, SEEK_END);
    spawn_options_t options = {
        .argv = plan->argv,
        .stdin_fd = null_fd,
        .stdout_fd = log_fd,
        .stderr_fd = log_fd,
        .new_session = true,
    };
    /* Go's asynchronous preemption (SIGURG) makes blocking calls in gVisor
     * fail with EINTR, and runc (started by dockerd's containerd) gives up
     * on them: "open exec fifo: interrupted system call" for about one
     * nested container in a hundred (gVisor issue 13179).  dockerd,
     * containerd, the shims and runc inherit this; a GODEBUG the user set
     * is kept. */
    setenv ("GODEBUG", "asyncpreemptoff=1", 0);
    long long started = monotonic_ms ();
    pid_t pid = reaper_spawn (reaper, &options, err);
    if (pid < 0)
        return -1;
    dockerd->pid = pid;
    dockerd->started_ms = started;
    dockerd->log_offset = offset < 0 ? 0 : offset;
    return 0;
}

static bool
is_stop_signal (int signo)
{
    return signo == SIGTERM || signo == SIGINT || signo == SIGHUP || signo == SIGQUIT;
}

dockerd_wait_result_t
dockerd_wait_ready (reaper_t *reaper, pid_t pid, const char *socket_path, long long started_ms,
                    double timeout, bool forward_signals, int *status, int *signo, wr_error_t *err)
{
    ping_t ping = PING_INIT;
    long long deadline = started_ms + (long long) (timeout * 1000);
    long long next_attempt = 0;
    dockerd_wait_result_t result = DOCKERD_TIMED_OUT;
    for (;;) {
        const reaper_child_t *child = reaper_child (reaper, pid);
        if (child == NULL || child->exited) {
            *status = child ? child->status : 0;
            result = DOCKERD_EXITED;
            break;
        }
        long long now = monotonic_ms ();
        if (now >= deadline)
            break;
        if (ping.fd < 0 && now >= next_attempt) {
            if (ping_start (&ping, socket_path, NULL) < 0)
                next_attempt = now + PING_RETRY_MS;
        }
        long long wait_ms = deadline - now;
        if (ping.fd < 0 && next_attempt - now < wait_ms)
            wait_ms = next_attempt - now;
        if (wait_ms < 0)
            wait_ms = 0;
        int signals[REAPER_MAX_SIGNALS];
        size_t n_signals;
        bool readable = false;
        wr_error_t poll_err = NULL;
        if (reaper_poll (reaper, ping.fd, (int) wait_ms, signals, &n_signals, &readable,
                         &poll_err) < 0) {
            wr_error_free (&poll_err);
            continue;
        }
        for (size_t i = 0; i < n_signals; i++) {
            if (forward_signals) {
                if (signal_should_forward (signals[i]))
                    kill (pid, signals[i]);
            } else if (is_stop_signal (signals[i])) {
                *signo = signals[i];
                ping_close (&ping);
                return DOCKERD_INTERRUPTED;
            }
        }
        if (readable) {
            cleanup_error wr_error_t ping_err = NULL;
            ping_state_t state = ping_read (&ping, &ping_err);
            if (state == PING_READY) {
                result = DOCKERD_READY;
                break;
            }
            if (state == PING_FAILED) {
                wr_log (WR_LOG_DEBUG, "dockerd is not ready yet", "reason",
                        ping_err ? ping_err->message : "", NULL);
                ping_close (&ping);
                next_attempt = monotonic_ms () + PING_RETRY_MS;
            }
        }
    }
    ping_close (&ping);
    (void) err;
    return result;
}

char *
dockerd_read_log (const char *log_path, off_t offset)
{
    const off_t max = 64 * 1024;
    cleanup_close int fd = open (log_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat (fd, &st) < 0)
        return NULL;
    off_t start = offset;
    if (st.st_size - start > max)
        start = st.st_size - max;
    if (start > st.st_size)
        start = 0; /* the log was truncated meanwhile */
    size_t size = (size_t) (st.st_size - start);
    char *buf = xmalloc (size + 1);
    ssize_t n = pread (fd, buf, size, start);
    buf[n > 0 ? n : 0] = '\0';
    if (start > offset) {
        /* Cut the partial first line. */
        char *newline = strchr (buf, '\n');
        if (newline)
            memmove (buf, newline + 1, strlen (newline + 1) + 1);
    }
    return buf;
}

/* dockerd 20.10 lingers about a second after its shutdown is complete
 * (its gRPC client retries the containerd it has just stopped); the
 * sandbox ends right after, so that second is not waited for. */
static bool
shutdown_complete (const char *log_path, off_t log_offset)
{
    if (log_path == NULL)
        return false;
    cleanup_free char *log = dockerd_read_log (log_path, log_offset);
    return log != NULL && strstr (log, "Daemon shutdown complete") != NULL;
}

void
dockerd_stop (reaper_t *reaper, pid_t pid, double timeout, const char *log_path, off_t log_offset)
{
    const reaper_child_t *child = reaper_child (reaper, pid);
    if (child == NULL || child->exited)
        return;
    long long start = monotonic_ms ();
    long long deadline = start + (long long) (timeout * 1000);
    kill (pid, SIGTERM);
    const char *how = "exited";
    int r = 0;
    for (;;) {
        long long now = monotonic_ms ();
        if (now >= deadline)
            break;
        cleanup_error wr_error_t err = NULL;
        r = reaper_wait_child (reaper, pid, (int) (deadline - now < 50 ? deadline - now : 50), NULL,
                               NULL, &err);
        if (r != 0)
            break;
        if (shutdown_complete (log_path, log_offset)) {
            how = "shut down";
            r = 1;
            break;
        }
    }
    char took[32];
    snprintf (took, sizeof took, "%.3fs", (double) (monotonic_ms () - start) / 1000.0);
    if (r == 1) {
        wr_log (WR_LOG_INFO, "dockerd stopped", "how", how, "took", took, NULL);
        return;
    }
    char pid_text[16];
    snprintf (pid_text, sizeof pid_text, "%d", (int) pid);
    wr_log (WR_LOG_WARN, "dockerd did not stop after SIGTERM; killing it", "pid", pid_text,
            "waited", took, NULL);
    kill (pid, SIGKILL);
    reaper_wait_child (reaper, pid, 2000, NULL, NULL, NULL);
}
