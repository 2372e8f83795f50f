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
#include "docker_prepare.h"
#include "fs.h"
#include "log.h"
#include "ping.h"
#include "xalloc.h"

/* How often the socket is tried while dockerd has not created it yet. */
#define PING_RETRY_MS 20

int
dockerd_start (reaper_t *reaper, const dockerd_plan_t *plan, dockerd_t *dockerd, wr_error_t *err)
{
    cleanup_free char *log_dir = xstrdup (plan->log_path);
    char *slash = strrchr (log_dir, '/');
    if (slash && slash != log_dir) {
        *slash = '\0';
        if (wr_mkdir_p (log_dir, 0755, err) < 0)
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
