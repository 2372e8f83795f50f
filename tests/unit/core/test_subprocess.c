/* Unit tests of subprocess.c: exit codes, signals passed on to a program
 * waited for (as warren-runtime waits for runsc create/delete), and the
 * output runs: collected, capped, sent to a descriptor while something the
 * child started holds it, a setup step in the child, a timeout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "cancel.h"
#include "cleanup.h"
#include "error.h"
#include "subprocess.h"

static int
run_sh (const char *script)
{
    char *argv[] = { "/bin/sh", "-c", (char *) script, NULL };
    int status = 0;
    cleanup_error wr_error_t err = NULL;
    if (wr_subprocess_run ("/bin/sh", argv, &status, &err) < 0)
        fail_msg ("%s", err->message);
    return wr_subprocess_exit_code (status);
}

static void
test_exit_codes (void **state)
{
    assert_int_equal (run_sh ("exit 0"), 0);
    assert_int_equal (run_sh ("exit 3"), 3);
    assert_int_equal (run_sh ("kill -KILL $$"), 128 + SIGKILL);
    /* A name looked up in PATH; one that cannot be run is 127. */
    char *argv[] = { "true", NULL };
    int status = -1;
    assert_int_equal (wr_subprocess_run ("true", argv, &status, NULL), 0);
    assert_int_equal (wr_subprocess_exit_code (status), 0);
    char *missing[] = { "/nonexistent/prog", NULL };
    assert_int_equal (wr_subprocess_run ("/nonexistent/prog", missing, &status, NULL), 0);
    assert_int_equal (wr_subprocess_exit_code (status), 127);
}

static void
test_signals_passed_on (void **state)
{
    /* The child signals its parent (this test), which passes each signal
     * on: the child sees USR1, then TERM, as sent. */
    assert_int_equal (run_sh ("trap 'exit 7' USR1; kill -USR1 $PPID; while :; do sleep 0.05; done"),
                      7);
    assert_int_equal (run_sh ("trap 'exit 9' TERM; kill -TERM $PPID; while :; do sleep 0.05; done"),
                      9);
    /* The signal mask is restored afterwards. */
    sigset_t now;
    sigprocmask (SIG_BLOCK, NULL, &now);
    assert_false (sigismember (&now, SIGUSR1));
    assert_false (sigismember (&now, SIGTERM));
}

static int
fail_setup (void *data)
{
    return *(int *) data;
}

static void
test_output_runs (void **state)
{
    char *sh[] = { "/bin/sh", "-c", "printf 0123456789; echo err >&2; exit 4", NULL };
    int status = 0;
    cleanup_error wr_error_t err = NULL;
    cleanup_free char *out = NULL;
    assert_int_equal (wr_subprocess_output (sh, 5000, &out, &status, &err), 0);
    assert_string_equal (out, "0123456789err\n");
    assert_int_equal (wr_subprocess_exit_code (status), 4);

    /* Capped: the rest is read and dropped, the child still finishes. */
    wr_subprocess_options_t o = { .timeout_ms = 5000, .output_fd = -1, .max_output = 4 };
    cleanup_free char *capped = NULL;
    assert_int_equal (wr_subprocess_output_ex (sh, &o, &capped, &status, &err), 0);
    assert_string_equal (capped, "0123");
    assert_int_equal (wr_subprocess_exit_code (status), 4);

    /* To a descriptor that a background child keeps open: the run ends
     * when the child exits, not when the descriptor closes (which would be
     * after the timeout, a failure). */
    char path[] = "/tmp/warren-test-subprocess-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    char *bg[] = { "/bin/sh", "-c", "echo to-fd; sleep 5 & exit 0", NULL };
    wr_subprocess_options_t to_fd = { .timeout_ms = 4000, .output_fd = fd };
    assert_int_equal (wr_subprocess_output_ex (bg, &to_fd, NULL, &status, &err), 0);
    assert_int_equal (wr_subprocess_exit_code (status), 0);
    char buf[16] = { 0 };
    assert_int_equal (pread (fd, buf, sizeof buf - 1, 0), 6);
    assert_string_equal (buf, "to-fd\n");
    close (fd);
    unlink (path);

    /* A setup step that fails is an error naming it, with its errno. */
    int eperm = EPERM;
    wr_subprocess_options_t setup = { .timeout_ms = 5000,
                                      .output_fd = -1,
                                      .child_setup = fail_setup,
                                      .child_data = &eperm,
                                      .child_setup_what = "the test's setup" };
    cleanup_free char *none = NULL;
    assert_int_equal (wr_subprocess_output_ex (sh, &setup, &none, &status, &err), -1);
    assert_non_null (strstr (err->message, "the test's setup"));
    assert_int_equal (err->errno_value, EPERM);
    wr_error_free (&err);

    /* A timeout: unavailable, ETIMEDOUT, and the child killed. */
    char *slow[] = { "/bin/sh", "-c", "sleep 30", NULL };
    cleanup_free char *never = NULL;
    assert_int_equal (wr_subprocess_output (slow, 200, &never, &status, &err), -1);
    assert_int_equal (wr_error_kind (err), WR_ERROR_UNAVAILABLE);
    assert_int_equal (err->errno_value, ETIMEDOUT);
    assert_true (WIFSIGNALED (status));
}

static void *
cancel_soon (void *data)
{
    usleep (200 * 1000);
    wr_cancel_request (data);
    return NULL;
}

/* A cancel token stops a run long before its timeout: the child killed
 * and reaped, the error cancelled; a token past its deadline too. */
static void
test_cancelled (void **state)
{
    (void) state;
    int fd = open ("/dev/null", O_WRONLY | O_CLOEXEC);
    char *slow[] = { "/bin/sh", "-c", "exec sleep 30", NULL };
    wr_cancel_t *cancel = wr_cancel_new (NULL, 0, NULL, NULL);
    pthread_t t;
    assert_int_equal (pthread_create (&t, NULL, cancel_soon, cancel), 0);
    wr_subprocess_options_t o = { .timeout_ms = 60000, .output_fd = fd, .cancel = cancel };
    int status = 0;
    wr_error_t err = NULL;
    assert_int_equal (wr_subprocess_output_ex (slow, &o, NULL, &status, &err), -1);
    pthread_join (t, NULL);
    assert_int_equal (wr_error_kind (err), WR_ERROR_CANCELLED);
    assert_non_null (strstr (err->message, "run `/bin/sh`"));
    assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
    wr_error_free (&err);
    wr_cancel_free (cancel);

    cancel = wr_cancel_new (NULL, 200, "the test's deadline", NULL);
    o.cancel = cancel;
    assert_int_equal (wr_subprocess_output_ex (slow, &o, NULL, &status, &err), -1);
    assert_non_null (strstr (err->message, "the test's deadline"));
    assert_true (WIFSIGNALED (status));
    wr_error_free (&err);
    wr_cancel_free (cancel);
    close (fd);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_exit_codes),
        cmocka_unit_test (test_signals_passed_on),
        cmocka_unit_test (test_output_runs),
        cmocka_unit_test (test_cancelled),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
