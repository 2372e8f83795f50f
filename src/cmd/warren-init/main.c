/* warren-init: PID 1 of a warren sandbox.
 *
 *   warren-init [--docker] [--agent-socket PATH] [--] [COMMAND [ARG...]]
 *
 * It runs COMMAND, reaps every zombie, passes signals on to COMMAND and
 * exits with its status.  With --docker it first prepares the sandbox for
 * dockerd, starts it and waits until it answers (see usage() for the
 * environment variables that tune this).  With --agent-socket it is also
 * the agent of docs/agent-protocol.md (agent_main.c).  It is linked
 * statically: the
 * image it runs in may have any libc, or none. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_main.h"
#include "cleanup.h"
#include "daemon_json.h"
#include "docker_prepare.h"
#include "dockerd.h"
#include "fs.h"
#include "log.h"
#include "options.h"
#include "reaper.h"
#include "xalloc.h"

#define TAIL_LINES 20

static void
usage (FILE *out)
{
    fputs ("usage: warren-init [--docker] [--agent-socket PATH] [--] [COMMAND [ARG...]]\n"
           "\n"
           "Runs COMMAND as the child of PID 1 in a sandbox: reaps every zombie, passes\n"
           "signals on to COMMAND, and exits with its status (128+N when signal N killed\n"
           "it).\n"
           "\n"
           "  --docker   prepare the sandbox for Docker and start dockerd before COMMAND:\n"
           "             cgroup controllers, a tmpfs on dockerd's data root, the legacy\n"
           "             iptables, then dockerd (its output in WARREN_DOCKERD_LOG), waiting\n"
           "             until GET /_ping answers.  When dockerd does not come up, its last\n"
           "             log lines are shown and COMMAND does not run.  Without COMMAND,\n"
           "             dockerd is the main process.  When COMMAND is dockerd itself (or\n"
           "             dockerd-entrypoint.sh, as in docker:dind), the sandbox is prepared\n"
           "             and COMMAND runs instead of a second dockerd.\n"
           "  --agent-socket PATH\n"
           "             serve the agent protocol (docs/agent-protocol.md) on a unix socket\n"
           "             at PATH (mode 0600).  Without COMMAND it serves until SIGTERM;\n"
           "             with COMMAND, until COMMAND exits.  SIGUSR2 makes it listen again\n"
           "             after checkpoint.prepare closed the socket.\n"
           "  --agent-root DIR       the root of file requests (/)\n"
           "  --agent-spill-dir DIR  where processes' output is spilled (/run/warren-agent)\n"
           "  --agent-user USER      who a process runs as when its exec names nobody\n"
           "  --registry-mirror-port N  with --docker and the agent: offer dockerd a registry\n"
           "             mirror on 127.0.0.1:N (5999; 0: none), relayed to warrend\n"
           "  --help     show this text\n"
           "  --version  show the version\n"
           "\n"
           "Environment (--docker):\n"
           "  WARREN_NETWORK               runsc's network mode, set by warren-runtime: host,\n"
           "                               sandbox or none (host adds --bridge=none\n"
           "                               --ip-forward=false; unset: the flags that work in\n"
           "                               every mode)\n"
           "  WARREN_DOCKER_TMPFS_SIZE     size of the tmpfs on /var/lib/docker: a share of\n"
           "                               memory (50%, the default), bytes with k/m/g (4g),\n"
           "                               or none\n"
           "  WARREN_DOCKERD_TIMEOUT       seconds to wait for dockerd to answer (30)\n"
           "  WARREN_DOCKERD_STOP_TIMEOUT  seconds dockerd has to stop after COMMAND (10)\n"
           "  WARREN_DOCKERD_ARGS          more dockerd flags, separated by spaces\n"
           "  WARREN_DOCKERD_LOG           dockerd's log file (/var/log/dockerd.log)\n"
           "  WARREN_CGROUPS               auto (default), v1, v2 or none\n"
           "  WARREN_INIT_LOG_LEVEL        debug, info (default), warning or error\n"
           "\n"
           "dockerd always gets --host=unix:///var/run/docker.sock --iptables=false\n"
           "--ip6tables=false, and also --bridge=none --ip-forward=false unless\n"
           "WARREN_NETWORK is sandbox or none (gVisor's own network stack, where the\n"
           "default bridge docker0 works), except those /etc/docker/daemon.json or\n"
           "WARREN_DOCKERD_ARGS set themselves.\n"
           "\n"
           "Exit status: COMMAND's; 125 when warren-init or dockerd failed; 126 when\n"
           "COMMAND cannot be executed; 127 when COMMAND is not found.\n",
           out);
}

static const char *
get_env (const char *name)
{
    return getenv (name);
}

static double
seconds_between (long long start_ms, long long end_ms)
{
    return (double) (end_ms - start_ms) / 1000.0;
}

/* Logs a failure to start COMMAND and returns the exit code for it. */
static int
report_spawn_failure (char *const *command, wr_error_t *err)
{
    const char *path = getenv ("PATH");
    if ((*err)->errno_value == ENOENT && strchr (command[0], '/') == NULL)
        wr_log (WR_LOG_ERROR, (*err)->message, "hint", "no such command in PATH", "PATH",
                path ? path : "(unset)", NULL);
    else
        wr_log (WR_LOG_ERROR, (*err)->message, NULL);
    return (*err)->errno_value == ENOENT ? INIT_EXIT_NOT_FOUND : INIT_EXIT_CANNOT_EXECUTE;
}

/* Waits for MAIN_PID, passing signals on to it, and returns its exit code.
 * DOCKERD_PID (or -1) is watched so that its death is reported. */
static int
main_loop (reaper_t *reaper, pid_t main_pid, pid_t dockerd_pid, const char *dockerd_log)
{
    bool dockerd_reported = false;
    for (;;) {
        const reaper_child_t *child = reaper_child (reaper, main_pid);
        if (child == NULL)
            return INIT_EXIT_FAILURE;
        if (child->exited)
            return exit_code_from_status (child->status);
        const reaper_child_t *dockerd = dockerd_pid > 0 ? reaper_child (reaper, dockerd_pid) : NULL;
        if (dockerd && dockerd->exited && !dockerd_reported) {
            char how[96];
            wr_log (WR_LOG_WARN, "dockerd stopped while the command runs", "status",
                    describe_status (dockerd->status, how, sizeof how), "log", dockerd_log, NULL);
            dockerd_reported = true;
        }
        int signals[REAPER_MAX_SIGNALS];
        size_t n_signals = 0;
        cleanup_error wr_error_t err = NULL;
        if (reaper_poll (reaper, -1, -1, signals, &n_signals, NULL, &err) < 0) {
            wr_log (WR_LOG_ERROR, err->message, NULL);
            return INIT_EXIT_FAILURE;
        }
        for (size_t i = 0; i < n_signals; i++)
            if (signal_should_forward (signals[i]))
                kill (main_pid, signals[i]);
    }
}

static int
run_command (reaper_t *reaper, char **command)
{
    cleanup_error wr_error_t err = NULL;
    spawn_options_t options = {
        .argv = command, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .foreground = true
    };
    pid_t pid = reaper_spawn (reaper, &options, &err);
    if (pid < 0)
        return report_spawn_failure (command, &err);
    return main_loop (reaper, pid, -1, NULL);
}

static char *
join_words (char *const *words)
{
    size_t len = 1;
    for (char *const *w = words; *w; w++)
        len += strlen (*w) + 1;
    char *joined = xzalloc (len);
    for (char *const *w = words; *w; w++) {
        if (w != words)
            strcat (joined, " ");
        strcat (joined, *w);
    }
    return joined;
}

/* Prints the end of dockerd's log and what to do, for a dockerd that did
 * not come up. */
static void
report_dockerd_failure (const dockerd_plan_t *plan, const dockerd_t *dockerd,
                        const char *what_happened, bool timed_out)
{
    cleanup_free char *log = dockerd_read_log (plan->log_path, dockerd->log_offset);
    const char *tail = log ? log_tail (log, TAIL_LINES) : NULL;
    if (tail && *tail) {
        fprintf (stderr, "--- last lines of %s ---\n", plan->log_path);
        for (const char *line = tail; *line;) {
            const char *end = strchrnul (line, '\n');
            fprintf (stderr, "dockerd| %.*s\n", (int) (end - line), line);
            line = *end ? end + 1 : end;
        }
        fprintf (stderr, "---\n");
    } else {
        fprintf (stderr, "(%s has no lines from this dockerd)\n", plan->log_path);
    }
    fflush (stderr);
    cleanup_free char *msg = xasprintf ("dockerd did not become ready: %s", what_happened);
    cleanup_free char *command = join_words (plan->argv);
    wr_log (WR_LOG_ERROR, msg, "advice", dockerd_failure_advice (log, timed_out), "log",
            plan->log_path, "command", command, NULL);
}

/* The sandbox's uptime when warren-init started: in gVisor /proc/uptime
 * counts from the sandbox's boot, so this is the boot time. */
static char boot_uptime[32] = "unknown";

static void
remember_boot_uptime (void)
{
    cleanup_free char *uptime = wr_read_file ("/proc/uptime", SIZE_MAX, NULL, NULL);
    double seconds;
    if (uptime && sscanf (uptime, "%lf", &seconds) == 1)
        snprintf (boot_uptime, sizeof boot_uptime, "%.3fs", seconds);
}

/* The "took" in the message counts from dockerd's start; the fields give
 * the whole picture: sandbox boot, preparation, dockerd's start. */
static void
log_ready (pid_t pid, long long dockerd_start, long long init_start, const char *socket)
{
    long long now = monotonic_ms ();
    cleanup_free char *msg =
        xasprintf ("docker daemon is ready (took %.1fs)", seconds_between (dockerd_start, now));
    cleanup_free char *since_dockerd = xasprintf ("%.3fs", seconds_between (dockerd_start, now));
    cleanup_free char *since_init = xasprintf ("%.3fs", seconds_between (init_start, now));
    cleanup_free char *prepare = xasprintf ("%.3fs", seconds_between (init_start, dockerd_start));
    cleanup_free char *pid_text = xasprintf ("%d", (int) pid);
    wr_log (WR_LOG_INFO, msg, "since_dockerd_start", since_dockerd, "since_init_start", since_init,
            "prepare", prepare, "uptime_at_init_start", boot_uptime, "pid", pid_text, "socket",
            socket, NULL);
}

static int
run_docker (reaper_t *reaper, char **command, long long init_start)
{
    cleanup_error wr_error_t err = NULL;
    docker_config_t config;
    if (docker_config_load (get_env, &config, &err) < 0) {
        wr_log (WR_LOG_ERROR, err->message, NULL);
        docker_config_free (&config);
        return INIT_EXIT_FAILURE;
    }
    /* dockerd finds containerd, runc and iptables through PATH. */
    if (getenv ("PATH") == NULL)
        setenv ("PATH", DOCKERD_FALLBACK_PATH, 1);

    remember_boot_uptime ();
    bool user_dockerd = command_is_dockerd (command);
    cleanup_free char *dockerd_path = NULL;
    if (!user_dockerd) {
        dockerd_path = find_executable ("dockerd", getenv ("PATH"));
        if (dockerd_path == NULL) {
            const char *path = getenv ("PATH");
            cleanup_free char *searched = strcmp (path, DOCKERD_FALLBACK_PATH) == 0
                                              ? xstrdup (path)
                                              : xasprintf ("%s:%s", path, DOCKERD_FALLBACK_PATH);
            wr_log (WR_LOG_ERROR,
                    "no dockerd in this image: install docker.io (Debian, Ubuntu) or docker-ce, "
                    "or use an image that has Docker",
                    "searched", searched, NULL);
            docker_config_free (&config);
            return INIT_EXIT_FAILURE;
        }
    }

    int exit_code = INIT_EXIT_FAILURE;
    dockerd_plan_t plan = { 0 };
    cleanup_free char *daemon_json = NULL;
    /* A dockerd given as the command has its own flags: its socket, data
     * root and daemon.json come from them (the plan's argv is not used). */
    docker_config_t plan_config = config;
    const char *name = command && user_dockerd ? strrchr (command[0], '/') : NULL;
    if (user_dockerd && strcmp (name ? name + 1 : command[0], "dockerd") == 0)
        plan_config.extra_args = command + 1;
    const char *config_file = dockerd_config_file (plan_config.extra_args);
    if (daemon_json_load (config_file, &daemon_json, &err) < 0 ||
        dockerd_plan_make (&plan_config, dockerd_path ? dockerd_path : "dockerd", daemon_json, 0,
                           &plan, &err) < 0) {
        wr_log (WR_LOG_ERROR, err->message, NULL);
        goto out;
    }

    if (docker_prepare_cgroups (config.cgroups, &err) < 0) {
        wr_log (WR_LOG_ERROR, err->message, "advice",
                err->errno_value == EPERM ? "the sandbox needs CAP_SYS_ADMIN: run it with "
                                            "warren's Docker profile (dev.warren.profile=docker)"
                                          : "set WARREN_CGROUPS=none to skip the cgroups",
                NULL);
        goto out;
    }
    if (docker_prepare_data_root (plan.data_root, config.tmpfs_size, &err) < 0) {
        wr_log (WR_LOG_ERROR, err->message, "advice",
                "set WARREN_DOCKER_TMPFS_SIZE=none to use the data root as it is", NULL);
        goto out;
    }
    int switched = 0;
    long long iptables_start = monotonic_ms ();
    if (iptables_select_legacy ("", &switched, &err) < 0) {
        /* dockerd runs with --iptables=false, so only iptables users in the
         * sandbox miss it. */
        wr_log (WR_LOG_WARN, "could not select the legacy iptables", "error", err->message, NULL);
        wr_error_free (&err);
    } else if (switched > 0) {
        cleanup_free char *n = xasprintf ("%d", switched);
        cleanup_free char *took =
            xasprintf ("%.3fs", seconds_between (iptables_start, monotonic_ms ()));
        wr_log (WR_LOG_INFO, "selected iptables-legacy (gVisor has no nftables)", "links", n,
                "took", took, NULL);
    }

    int status = 0, signo = 0;
    if (user_dockerd) {
        spawn_options_t options = {
            .argv = command, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .foreground = true
        };
        long long started = monotonic_ms ();
        pid_t pid = reaper_spawn (reaper, &options, &err);
        if (pid < 0) {
            exit_code = report_spawn_failure (command, &err);
            goto out;
        }
        switch (dockerd_wait_ready (reaper, pid, plan.socket_path, started, config.ready_timeout,
                                    true, &status, &signo, &err)) {
        case DOCKERD_READY:
            log_ready (pid, started, init_start, plan.socket_path);
            break;
        case DOCKERD_EXITED: {
            char how[96];
            wr_log (WR_LOG_ERROR, "the command's dockerd stopped before it answered", "status",
                    describe_status (status, how, sizeof how), "advice",
                    "in gVisor dockerd needs --iptables=false --ip6tables=false (and "
                    "--bridge=none --ip-forward=false with runsc --network=host); its own output "
                    "above says more",
                    NULL);
            break;
        }
        case DOCKERD_TIMED_OUT:
        case DOCKERD_INTERRUPTED:
            wr_log (WR_LOG_WARN, "the command's dockerd does not answer yet; not waiting longer",
                    "socket", plan.socket_path, NULL);
            break;
        }
        exit_code = main_loop (reaper, pid, -1, NULL);
        goto out;
    }

    dockerd_t dockerd = { 0 };
    long long first_start = 0;
    for (;;) {
        if (dockerd_start (reaper, &plan, &dockerd, &err) < 0) {
            wr_log (WR_LOG_ERROR, err->message, NULL);
            goto out;
        }
        if (first_start == 0)
            first_start = dockerd.started_ms;
        cleanup_free char *pid_text = xasprintf ("%d", (int) dockerd.pid);
        cleanup_free char *flags = join_words (plan.argv + 1);
        wr_log (WR_LOG_INFO, "dockerd started", "pid", pid_text, "network",
                network_mode_name (config.network), "flags", flags, "log", plan.log_path, NULL);
        dockerd_wait_result_t r =
            dockerd_wait_ready (reaper, dockerd.pid, plan.socket_path, first_start,
                                config.ready_timeout, false, &status, &signo, &err);
        if (r == DOCKERD_READY)
            break;
        if (r == DOCKERD_INTERRUPTED) {
            wr_log (WR_LOG_INFO, "stopping dockerd: a signal arrived before it was ready", "signal",
                    sigabbrev_np (signo), NULL);
            dockerd_stop (reaper, dockerd.pid, config.stop_timeout, plan.log_path,
                          dockerd.log_offset);
            exit_code = 128 + signo;
            goto out;
        }
        if (r == DOCKERD_EXITED) {
            cleanup_free char *log = dockerd_read_log (plan.log_path, dockerd.log_offset);
            unsigned unknown = dockerd_unknown_flag (log) & ~plan.dropped;
            if (unknown != 0) {
                /* An older dockerd: start it again without that flag. */
                unsigned dropped = plan.dropped | unknown;
                dockerd_plan_free (&plan);
                if (dockerd_plan_make (&config, dockerd_path, daemon_json, dropped, &plan, &err) <
                    0) {
                    wr_log (WR_LOG_ERROR, err->message, NULL);
                    goto out;
                }
                wr_log (WR_LOG_INFO,
                        "this dockerd does not know a flag warren-init adds; "
                        "starting it again without it",
                        "flag", dockerd_flag_text (unknown), NULL);
                continue;
            }
            char how[96];
            cleanup_free char *what =
                xasprintf ("dockerd %s after %.1fs", describe_status (status, how, sizeof how),
                           seconds_between (dockerd.started_ms, monotonic_ms ()));
            report_dockerd_failure (&plan, &dockerd, what, false);
            goto out;
        }
        cleanup_free char *what =
            xasprintf ("dockerd is still running after %gs but does not answer GET /_ping on %s "
                       "(WARREN_DOCKERD_TIMEOUT)",
                       config.ready_timeout, plan.socket_path);
        report_dockerd_failure (&plan, &dockerd, what, true);
        dockerd_stop (reaper, dockerd.pid, 2, NULL, 0);
        goto out;
    }
    log_ready (dockerd.pid, first_start, init_start, plan.socket_path);

    if (command == NULL) {
        exit_code = main_loop (reaper, dockerd.pid, -1, NULL);
        goto out;
    }
    spawn_options_t options = {
        .argv = command, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .foreground = true
    };
    pid_t pid = reaper_spawn (reaper, &options, &err);
    if (pid < 0) {
        exit_code = report_spawn_failure (command, &err);
    } else {
        exit_code = main_loop (reaper, pid, dockerd.pid, plan.log_path);
    }
    dockerd_stop (reaper, dockerd.pid, config.stop_timeout, plan.log_path, dockerd.log_offset);

out:
    dockerd_plan_free (&plan);
    docker_config_free (&config);
    return exit_code;
}

static void
set_log_level (void)
{
    const char *level = getenv ("WARREN_INIT_LOG_LEVEL");
    if (level == NULL)
        return;
    if (strcmp (level, "debug") == 0)
        wr_log_set_level (WR_LOG_DEBUG);
    else if (strcmp (level, "warning") == 0 || strcmp (level, "warn") == 0)
        wr_log_set_level (WR_LOG_WARN);
    else if (strcmp (level, "error") == 0)
        wr_log_set_level (WR_LOG_ERROR);
}

int
main (int argc, char **argv)
{
    long long init_start = monotonic_ms ();
    cleanup_error wr_error_t err = NULL;
    init_args_t args;
    if (init_args_parse (argc, argv, &args, &err) < 0) {
        wr_log (WR_LOG_ERROR, err->message, NULL);
        return INIT_EXIT_FAILURE;
    }
    if (args.help) {
        usage (stdout);
        return 0;
    }
    if (args.version) {
        printf ("warren-init %s\n", WARREN_VERSION);
        return 0;
    }
    set_log_level ();
    if (!args.docker && args.command == NULL && args.agent_socket == NULL) {
        wr_log (WR_LOG_ERROR,
                "no command given (usage: warren-init [--docker] [--] COMMAND "
                "[ARG...])",
                NULL);
        return INIT_EXIT_FAILURE;
    }

    reaper_t reaper;
    if (reaper_init (&reaper, &err) < 0) {
        wr_log (WR_LOG_ERROR, err->message, NULL);
        return INIT_EXIT_FAILURE;
    }
    int code = args.agent_socket ? agent_main (&args, &reaper)
               : args.docker     ? run_docker (&reaper, args.command, init_start)
                                 : run_command (&reaper, args.command);
    reaper_close (&reaper);
    return code;
}
