#include "subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cancel.h"
#include "children.h"
#include "cleanup.h"
#include "xalloc.h"

static long long
now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pid_t
wait_child (pid_t pid, int *status)
{
    pid_t r;
    do
        r = waitpid (pid, status, 0);
    while (r < 0 && errno == EINTR);
    wr_children_waited (pid);
    return r;
}

/* What the child reports through its exec pipe when it cannot go on: the
 * step (0: exec, 1: the setup) and the errno. */
typedef struct {
    int step;
    int errno_value;
} child_failure_t;

static void __attribute__ ((noreturn))
child (char *const argv[], const wr_subprocess_options_t *o, int out_fd, int report_fd)
{
    child_failure_t failure = { 0, 0 };
    int devnull = open ("/dev/null", O_RDONLY);
    if (devnull >= 0)
        dup2 (devnull, STDIN_FILENO);
    dup2 (out_fd, STDOUT_FILENO);
    dup2 (out_fd, STDERR_FILENO);
    if (o->child_setup != NULL && (failure.errno_value = o->child_setup (o->child_data)) != 0) {
        failure.step = 1;
    } else {
        execv (argv[0], argv);
        failure.errno_value = errno;
    }
    if (write (report_fd, &failure, sizeof failure) < 0)
        _exit (127);
    _exit (127);
}

typedef enum { WAITED, TIMED_OUT, STOPPED } wait_end_t;

/* Waits for PID until DEADLINE (monotonic ms) or until CANCEL (may be
 * NULL) stops; past either the child is killed and reaped. */
static wait_end_t
wait_until (pid_t pid, long long deadline, const wr_cancel_t *cancel, int *status)
{
    cleanup_close int pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
    for (;;) {
        pid_t r = waitpid (pid, status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) {
            wr_children_waited (pid);
            return WAITED;
        }
        long long left = deadline - now_ms ();
        bool stopped = wr_cancel_stopped (cancel);
        if (left <= 0 || stopped) {
            kill (pid, SIGKILL);
            wait_child (pid, status);
            return stopped ? STOPPED : TIMED_OUT;
        }
        int64_t cancel_left = wr_cancel_remaining_ms (cancel);
        if (cancel_left >= 0 && cancel_left < left)
            left = cancel_left;
        if (pidfd >= 0) {
            struct pollfd p[2] = { { .fd = pidfd, .events = POLLIN },
                                   { .fd = wr_cancel_fd (cancel), .events = POLLIN } };
            poll (p, p[1].fd >= 0 ? 2 : 1, (int) left);
        } else {
            struct timespec ts = { 0, 5 * 1000 * 1000 };
            nanosleep (&ts, NULL);
        }
    }
}

int
wr_subprocess_output (char *const argv[], int timeout_ms, char **output, int *status,
                      wr_error_t *err)
{
    const wr_subprocess_options_t o = { .timeout_ms = timeout_ms, .output_fd = -1 };
    return wr_subprocess_output_ex (argv, &o, output, status, err);
}

int
wr_subprocess_output_ex (char *const argv[], const wr_subprocess_options_t *o, char **output,
                         int *status, wr_error_t *err)
{
    int pipefd[2] = { -1, -1 };
    if (o->output_fd < 0 && pipe2 (pipefd, O_CLOEXEC) < 0)
        return wr_error_set (err, errno, "run `%s`: pipe", argv[0]);
    cleanup_close int readfd = pipefd[0];
    cleanup_close int writefd = pipefd[1];
    /* A pipe to report a failed setup or exec, so that "cannot run" is an
     * error and not just exit status 127. */
    int execpipe[2];
    if (pipe2 (execpipe, O_CLOEXEC) < 0)
        return wr_error_set (err, errno, "run `%s`: pipe", argv[0]);
    cleanup_close int exec_read = execpipe[0];
    cleanup_close int exec_write = execpipe[1];

    pid_t pid = wr_children_fork ();
    if (pid < 0)
        return wr_error_set (err, errno, "run `%s`: fork", argv[0]);
    if (pid == 0)
        child (argv, o, o->output_fd >= 0 ? o->output_fd : writefd, exec_write);
    if (writefd >= 0)
        close (steal_fd (&writefd));
    close (steal_fd (&exec_write));

    child_failure_t failure;
    ssize_t n;
    do
        n = read (exec_read, &failure, sizeof failure);
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t) sizeof failure) {
        wait_child (pid, status);
        if (failure.step == 1)
            return wr_error_set (err, failure.errno_value, "run `%s`: %s", argv[0],
                                 o->child_setup_what != NULL ? o->child_setup_what
                                                             : "preparing the child");
        return wr_error_set (err, failure.errno_value, "run `%s`", argv[0]);
    }

    long long deadline = now_ms () + o->timeout_ms;
    size_t len = 0, cap = 4096;
    cleanup_free char *buf = xmalloc (cap);
    while (readfd >= 0) {
        long long left = deadline - now_ms ();
        if (left <= 0)
            break;
        struct pollfd pfd = { .fd = readfd, .events = POLLIN };
        int r = poll (&pfd, 1, (int) left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            kill (pid, SIGKILL);
            wait_child (pid, status);
            return wr_error_set (err, e, "run `%s`: poll", argv[0]);
        }
        if (r == 0)
            continue;
        char chunk[4096];
        n = read (readfd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t take = (size_t) n;
        if (o->max_output > 0 && len + take > o->max_output)
            take = len < o->max_output ? o->max_output - len : 0;
        if (len + take + 1 > cap) {
            while (len + take + 1 > cap)
                cap *= 2;
            buf = xrealloc (buf, cap);
        }
        memcpy (buf + len, chunk, take);
        len += take;
    }
    buf[len] = '\0';
    wait_end_t end = wait_until (pid, deadline, o->cancel, status);
    if (end == STOPPED) {
        cleanup_free char *what = xasprintf ("run `%s`", argv[0]);
        return wr_cancel_check (o->cancel, what, err);
    }
    if (end == TIMED_OUT)
        return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, ETIMEDOUT,
                                  "run `%s`: no answer after %d ms", argv[0], o->timeout_ms);
    if (output != NULL)
        *output = steal_pointer (&buf);
    return 0;
}

static const int forwarded_signals[] = { SIGHUP,  SIGINT,  SIGQUIT, SIGTERM,
                                         SIGUSR1, SIGUSR2, SIGWINCH };

int
wr_subprocess_run (const char *path, char *const argv[], int *status, wr_error_t *err)
{
    /* The signals are blocked and read from a signalfd, and the child is
     * watched through a pidfd: no handler, no process-wide state. */
    sigset_t forwarded, saved;
    sigemptyset (&forwarded);
    for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
        sigaddset (&forwarded, forwarded_signals[i]);
    if (sigprocmask (SIG_BLOCK, &forwarded, &saved) < 0)
        return wr_error_set (err, errno, "run `%s`: sigprocmask", path);
    pid_t pid = wr_children_fork ();
    if (pid < 0) {
        int e = errno;
        sigprocmask (SIG_SETMASK, &saved, NULL);
        return wr_error_set (err, e, "run `%s`: fork", path);
    }
    if (pid == 0) {
        sigprocmask (SIG_SETMASK, &saved, NULL);
        if (strchr (path, '/') != NULL)
            execv (path, argv);
        else
            execvp (path, argv);
        _exit (127);
    }
    int sfd = signalfd (-1, &forwarded, SFD_CLOEXEC);
    int pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
    while (sfd >= 0 && pidfd >= 0) {
        struct pollfd fds[2] = { { .fd = sfd, .events = POLLIN },
                                 { .fd = pidfd, .events = POLLIN } };
        if (poll (fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[1].revents != 0)
            break;
        struct signalfd_siginfo info;
        if ((fds[0].revents & POLLIN) && read (sfd, &info, sizeof info) == (ssize_t) sizeof info)
            kill (pid, (int) info.ssi_signo);
    }
    if (sfd >= 0)
        close (sfd);
    if (pidfd >= 0)
        close (pidfd);
    pid_t r = wait_child (pid, status);
    int e = errno;
    sigprocmask (SIG_SETMASK, &saved, NULL);
    if (r < 0)
        return wr_error_set (err, e, "run `%s`: wait", path);
    return 0;
}

int
wr_subprocess_exit_code (int status)
{
    if (WIFEXITED (status))
        return WEXITSTATUS (status);
    if (WIFSIGNALED (status))
        return 128 + WTERMSIG (status);
    return 1;
}
