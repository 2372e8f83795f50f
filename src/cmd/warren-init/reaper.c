#include "reaper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

long long
monotonic_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
signal_should_forward (int signo)
{
    switch (signo) {
    case SIGCHLD: /* ours: it drives the reaping */
    case SIGPIPE: /* a write of ours failed, not the child's business */
    case SIGTTIN: /* terminal job control aimed at warren-init itself */
    case SIGTTOU:
    /* Synchronous faults cannot be sent meaningfully to another process. */
    case SIGSEGV:
    case SIGBUS:
    case SIGILL:
    case SIGFPE:
    case SIGTRAP:
    case SIGSYS:
        return false;
    default:
        return signo > 0 && signo < NSIG;
    }
}

int
exit_code_from_status (int status)
{
    if (WIFEXITED (status))
        return WEXITSTATUS (status);
    if (WIFSIGNALED (status))
        return 128 + WTERMSIG (status);
    return 1;
}

const char *
describe_status (int status, char *buf, size_t size)
{
    if (WIFEXITED (status)) {
        snprintf (buf, size, "exited with status %d", WEXITSTATUS (status));
    } else if (WIFSIGNALED (status)) {
        const char *name = sigabbrev_np (WTERMSIG (status));
        snprintf (buf, size, "was killed by signal %d (SIG%s)%s", WTERMSIG (status),
                  name ? name : "?", WCOREDUMP (status) ? ", core dumped" : "");
    } else {
        snprintf (buf, size, "stopped with wait status 0x%x", (unsigned) status);
    }
    return buf;
}

int
reaper_init (reaper_t *reaper, wr_error_t *err)
{
    memset (reaper, 0, sizeof *reaper);
    reaper->signal_fd = -1;
    sigset_t all;
    sigfillset (&all);
    if (sigprocmask (SIG_BLOCK, &all, &reaper->saved_mask) < 0)
        return wr_error_set (err, errno, "block signals");
    reaper->signal_fd = signalfd (-1, &all, SFD_CLOEXEC | SFD_NONBLOCK);
    if (reaper->signal_fd < 0)
        return wr_error_set (err, errno, "signalfd");
    /* Outside a sandbox (tests, debugging) orphans would go to the real
     * init; as a subreaper they come here and are reaped like under PID 1. */
    if (getpid () != 1 && prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        return wr_error_set (err, errno, "prctl PR_SET_CHILD_SUBREAPER");
    return 0;
}

void
reaper_close (reaper_t *reaper)
{
    if (reaper->signal_fd >= 0)
        close (reaper->signal_fd);
    reaper->signal_fd = -1;
}

static int
move_fd (int from, int to)
{
    if (from < 0)
        return 0;
    if (from == to) {
        int flags = fcntl (to, F_GETFD);
        return flags < 0 ? -1 : fcntl (to, F_SETFD, flags & ~FD_CLOEXEC);
    }
    return dup2 (from, to) < 0 ? -1 : 0;
}

static void __attribute__ ((noreturn))
child_exec (const reaper_t *reaper, const spawn_options_t *options, int error_pipe)
{
    if (options->new_session) {
        setsid ();
    } else if (options->foreground) {
        setpgid (0, 0);
        /* SIGTTOU is still blocked here, so a background group may take the
         * terminal. */
        if (isatty (STDIN_FILENO))
            tcsetpgrp (STDIN_FILENO, getpgrp ());
    }
    if (move_fd (options->stdin_fd, STDIN_FILENO) < 0 ||
        move_fd (options->stdout_fd, STDOUT_FILENO) < 0 ||
        move_fd (options->stderr_fd, STDERR_FILENO) < 0)
        goto fail;
    sigprocmask (SIG_SETMASK, &reaper->saved_mask, NULL);
    execvp (options->argv[0], options->argv);
fail:;
    int saved = errno;
    (void) !write (error_pipe, &saved, sizeof saved);
    _exit (saved == ENOENT ? 127 : 126);
}

static void
watch (reaper_t *reaper, pid_t pid)
{
    for (size_t i = 0; i < reaper->n_watched; i++) {
        if (reaper->watched[i].exited) {
            reaper->watched[i] = (reaper_child_t){ .pid = pid };
            return;
        }
    }
    if (reaper->n_watched < REAPER_MAX_WATCHED)
        reaper->watched[reaper->n_watched++] = (reaper_child_t){ .pid = pid };
}

pid_t
reaper_spawn (reaper_t *reaper, const spawn_options_t *options, wr_error_t *err)
{
    int pipe_fds[2];
    if (pipe2 (pipe_fds, O_CLOEXEC) < 0)
        return wr_error_set (err, errno, "pipe");
    cleanup_close int read_end = pipe_fds[0];
    cleanup_close int write_end = pipe_fds[1];

    pid_t pid = fork ();
    if (pid < 0)
        return wr_error_set (err, errno, "fork to run `%s`", options->argv[0]);
    if (pid == 0)
        child_exec (reaper, options, write_end);

    if (options->foreground && !options->new_session)
        setpgid (pid, pid); /* both sides, so there is no race with the exec */
    close (steal_fd (&write_end));
    int child_errno = 0;
    ssize_t n;
    do
        n = read (read_end, &child_errno, sizeof child_errno);
    while (n < 0 && errno == EINTR);
    if (n == sizeof child_errno) {
        while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
            ;
        return wr_error_set (err, child_errno, "run `%s`", options->argv[0]);
    }
    watch (reaper, pid);
    return pid;
}

const reaper_child_t *
reaper_child (const reaper_t *reaper, pid_t pid)
{
    for (size_t i = 0; i < reaper->n_watched; i++)
        if (reaper->watched[i].pid == pid)
            return &reaper->watched[i];
    return NULL;
}

static void
reap_all (reaper_t *reaper)
{
    for (;;) {
        int status;
        pid_t pid = waitpid (-1, &status, WNOHANG);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid <= 0)
            return;
        if (reaper->on_exit)
            reaper->on_exit (pid, status, reaper->on_exit_data);
        for (size_t i = 0; i < reaper->n_watched; i++) {
            if (reaper->watched[i].pid == pid && !reaper->watched[i].exited) {
                reaper->watched[i].exited = true;
                reaper->watched[i].status = status;
            }
        }
    }
}

int
reaper_poll (reaper_t *reaper, int extra_fd, int timeout_ms, int *signals, size_t *n_signals,
             bool *extra_ready, wr_error_t *err)
{
    *n_signals = 0;
    if (extra_ready)
        *extra_ready = false;
    struct pollfd fds[2] = {
        { .fd = reaper->signal_fd, .events = POLLIN },
        { .fd = extra_fd, .events = POLLIN },
    };
    int r = poll (fds, extra_fd >= 0 ? 2 : 1, timeout_ms);
    if (r < 0 && errno != EINTR)
        return wr_error_set (err, errno, "poll");
    if (r > 0 && (fds[0].revents & POLLIN)) {
        struct signalfd_siginfo info;
        while (read (reaper->signal_fd, &info, sizeof info) == sizeof info) {
            if (info.ssi_signo != SIGCHLD && *n_signals < REAPER_MAX_SIGNALS)
                signals[(*n_signals)++] = (int) info.ssi_signo;
        }
    }
    if (r > 0 && extra_fd >= 0 && extra_ready && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
        *extra_ready = true;
    /* Always: SIGCHLDs coalesce, and a missed one would leave a zombie. */
    reap_all (reaper);
    return 0;
}

int
reaper_wait_child (reaper_t *reaper, pid_t pid, int timeout_ms,
                   void (*on_signal) (int signo, void *data), void *data, wr_error_t *err)
{
    long long deadline = timeout_ms < 0 ? -1 : monotonic_ms () + timeout_ms;
    for (;;) {
        const reaper_child_t *child = reaper_child (reaper, pid);
        if (child == NULL || child->exited)
            return 1;
        int wait_ms = -1;
        if (deadline >= 0) {
            long long left = deadline - monotonic_ms ();
            if (left <= 0)
                return 0;
            wait_ms = (int) left;
        }
        int signals[REAPER_MAX_SIGNALS];
        size_t n_signals;
        if (reaper_poll (reaper, -1, wait_ms, signals, &n_signals, NULL, err) < 0)
            return -1;
        for (size_t i = 0; i < n_signals && on_signal; i++)
            on_signal (signals[i], data);
    }
}
