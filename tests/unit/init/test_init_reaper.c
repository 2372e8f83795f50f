/* Unit tests of warren-init's reaper.c: wait statuses, which signals are
 * passed on, and spawning, reaping and signal delivery in this process
 * (a child subreaper, as warren-init is when it is not PID 1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "reaper.h"

static void
test_exit_codes (void **state)
{
    assert_int_equal (exit_code_from_status (0), 0);
    assert_int_equal (exit_code_from_status (3 << 8), 3);
    assert_int_equal (exit_code_from_status (SIGKILL), 128 + SIGKILL);
    assert_int_equal (exit_code_from_status (SIGTERM | 0x80), 128 + SIGTERM);
}

static void
test_describe_status (void **state)
{
    char buf[96];
    assert_string_equal (describe_status (1 << 8, buf, sizeof buf), "exited with status 1");
    assert_string_equal (describe_status (SIGKILL, buf, sizeof buf),
                         "was killed by signal 9 (SIGKILL)");
    assert_string_equal (describe_status (SIGSEGV | 0x80, buf, sizeof buf),
                         "was killed by signal 11 (SIGSEGV), core dumped");
}

static void
test_signals_forwarded (void **state)
{
    const int forwarded[] = { SIGTERM,  SIGINT,  SIGHUP,  SIGQUIT,  SIGUSR1, SIGUSR2,
                              SIGWINCH, SIGCONT, SIGALRM, SIGRTMIN, SIGRTMAX };
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        if (!signal_should_forward (forwarded[i]))
            fail_msg ("signal %d is not forwarded", forwarded[i]);
    const int kept[] = { SIGCHLD, SIGPIPE, SIGTTIN, SIGTTOU, SIGSEGV, SIGBUS, SIGFPE, SIGILL, 0 };
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
        if (signal_should_forward (kept[i]))
            fail_msg ("signal %d is forwarded", kept[i]);
}

static reaper_t reaper;

static int
setup_reaper (void **state)
{
    /* The test runner's mask is not ours to check against: start empty. */
    sigset_t empty;
    sigemptyset (&empty);
    sigprocmask (SIG_SETMASK, &empty, NULL);
    cleanup_error wr_error_t err = NULL;
    if (reaper_init (&reaper, &err) < 0)
        return -1;
    return 0;
}

static int
teardown_reaper (void **state)
{
    sigprocmask (SIG_SETMASK, &reaper.saved_mask, NULL);
    reaper_close (&reaper);
    return 0;
}

static pid_t
spawn (char *const *argv, int stdout_fd)
{
    spawn_options_t options = {
        .argv = argv, .stdin_fd = -1, .stdout_fd = stdout_fd, .stderr_fd = -1
    };
    cleanup_error wr_error_t err = NULL;
    pid_t pid = reaper_spawn (&reaper, &options, &err);
    if (pid < 0)
        fail_msg ("spawn: %s", err->message);
    return pid;
}

static void
test_spawn_and_wait (void **state)
{
    char *argv[] = { "sh", "-c", "exit 3", NULL };
    pid_t pid = spawn (argv, -1);
    assert_int_equal (reaper_wait_child (&reaper, pid, 5000, NULL, NULL, NULL), 1);
    const reaper_child_t *child = reaper_child (&reaper, pid);
    assert_non_null (child);
    assert_true (child->exited);
    assert_int_equal (exit_code_from_status (child->status), 3);
}

static void
test_spawn_missing_command (void **state)
{
    char *argv[] = { "warren-no-such-command", NULL };
    spawn_options_t options = { .argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1 };
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (reaper_spawn (&reaper, &options, &err), -1);
    assert_int_equal (err->errno_value, ENOENT);
    assert_non_null (strstr (err->message, "`warren-no-such-command`"));
    /* The failed child was reaped already. */
    assert_int_equal (waitpid (-1, NULL, WNOHANG), -1);
    assert_int_equal (errno, ECHILD);
}

static void
test_spawn_not_executable (void **state)
{
    char *argv[] = { "/etc/passwd", NULL };
    spawn_options_t options = { .argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1 };
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (reaper_spawn (&reaper, &options, &err), -1);
    assert_int_equal (err->errno_value, EACCES);
}

static void
test_child_gets_the_original_signal_mask (void **state)
{
    /* The child prints its blocked signals; it must block none of what
     * warren-init blocks for itself. */
    int fds[2];
    assert_int_equal (pipe2 (fds, O_CLOEXEC), 0);
    char *argv[] = { "sh", "-c", "grep SigBlk /proc/self/status", NULL };
    pid_t pid = spawn (argv, fds[1]);
    close (fds[1]);
    char out[128] = "";
    ssize_t n = read (fds[0], out, sizeof out - 1);
    close (fds[0]);
    assert_true (n > 0);
    out[n] = '\0';
    assert_int_equal (reaper_wait_child (&reaper, pid, 5000, NULL, NULL, NULL), 1);
    assert_non_null (strstr (out, "SigBlk:\t0000000000000000"));
}

static void
test_orphans_are_reaped (void **state)
{
    /* The shell leaves three background children behind; as a subreaper
     * this process inherits and must reap them. */
    char *argv[] = { "sh", "-c", "for i in 1 2 3; do sleep 0.05 & done; exit 0", NULL };
    pid_t pid = spawn (argv, -1);
    assert_int_equal (reaper_wait_child (&reaper, pid, 5000, NULL, NULL, NULL), 1);
    long long deadline = monotonic_ms () + 5000;
    for (;;) {
        int signals[REAPER_MAX_SIGNALS];
        size_t n;
        assert_int_equal (reaper_poll (&reaper, -1, 50, signals, &n, NULL, NULL), 0);
        /* ECHILD: no child left, zombie or alive.  WNOWAIT: look without
         * reaping, so that only the reaper can make this true. */
        siginfo_t info;
        if (waitid (P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD)
            break;
        if (monotonic_ms () > deadline)
            fail_msg ("orphans were not reaped");
    }
}

static void
test_poll_returns_signals_but_not_sigchld (void **state)
{
    kill (getpid (), SIGUSR1);
    kill (getpid (), SIGWINCH);
    int signals[REAPER_MAX_SIGNALS];
    size_t n = 0;
    bool extra = true;
    assert_int_equal (reaper_poll (&reaper, -1, 1000, signals, &n, &extra, NULL), 0);
    assert_int_equal (n, 2);
    assert_false (extra);
    bool usr1 = false, winch = false;
    for (size_t i = 0; i < n; i++) {
        usr1 |= signals[i] == SIGUSR1;
        winch |= signals[i] == SIGWINCH;
    }
    assert_true (usr1 && winch);
}

static void
test_poll_extra_fd (void **state)
{
    int fds[2];
    assert_int_equal (pipe2 (fds, O_CLOEXEC), 0);
    int signals[REAPER_MAX_SIGNALS];
    size_t n;
    bool ready = true;
    assert_int_equal (reaper_poll (&reaper, fds[0], 10, signals, &n, &ready, NULL), 0);
    assert_false (ready);
    assert_int_equal (write (fds[1], "x", 1), 1);
    assert_int_equal (reaper_poll (&reaper, fds[0], 1000, signals, &n, &ready, NULL), 0);
    assert_true (ready);
    close (fds[0]);
    close (fds[1]);
}

static int seen_signal;

static void
remember_signal (int signo, void *data)
{
    seen_signal = signo;
}

static void
test_wait_child_times_out_and_reports_signals (void **state)
{
    char *argv[] = { "sleep", "5", NULL };
    pid_t pid = spawn (argv, -1);
    kill (getpid (), SIGHUP);
    seen_signal = 0;
    long long start = monotonic_ms ();
    assert_int_equal (reaper_wait_child (&reaper, pid, 200, remember_signal, NULL, NULL), 0);
    assert_true (monotonic_ms () - start >= 150);
    assert_int_equal (seen_signal, SIGHUP);
    kill (pid, SIGKILL);
    assert_int_equal (reaper_wait_child (&reaper, pid, 5000, NULL, NULL, NULL), 1);
    assert_int_equal (exit_code_from_status (reaper_child (&reaper, pid)->status), 137);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_exit_codes),
        cmocka_unit_test (test_describe_status),
        cmocka_unit_test (test_signals_forwarded),
        cmocka_unit_test_setup_teardown (test_spawn_and_wait, setup_reaper, teardown_reaper),
        cmocka_unit_test_setup_teardown (test_spawn_missing_command, setup_reaper, teardown_reaper),
        cmocka_unit_test_setup_teardown (test_spawn_not_executable, setup_reaper, teardown_reaper),
        cmocka_unit_test_setup_teardown (test_child_gets_the_original_signal_mask, setup_reaper,
                                         teardown_reaper),
        cmocka_unit_test_setup_teardown (test_orphans_are_reaped, setup_reaper, teardown_reaper),
        cmocka_unit_test_setup_teardown (test_poll_returns_signals_but_not_sigchld, setup_reaper,
                                         teardown_reaper),
        cmocka_unit_test_setup_teardown (test_poll_extra_fd, setup_reaper, teardown_reaper),
        cmocka_unit_test_setup_teardown (test_wait_child_times_out_and_reports_signals,
                                         setup_reaper, teardown_reaper),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
