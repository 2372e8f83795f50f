/* Unit tests of subprocess.c: exit codes, and signals passed on to a
 * program waited for (as warren-runtime waits for runsc create/delete). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>

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

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_exit_codes),
        cmocka_unit_test (test_signals_passed_on),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
