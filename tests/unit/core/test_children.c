/* Unit tests of children.c: an owned child is left to its owner, an
 * adopted orphan is reaped, and owners' waits never lose a child to the
 * reaper while it runs and threads fork at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "children.h"

static void
test_owned_child_left_to_its_owner (void **state)
{
    (void) state;
    pid_t pid = wr_children_fork ();
    assert_true (pid >= 0);
    if (pid == 0)
        _exit (3);
    /* Exited, and not ours to reap. */
    siginfo_t info = { 0 };
    assert_int_equal (waitid (P_PID, (id_t) pid, &info, WEXITED | WNOWAIT), 0);
    wr_children_reap_orphans (true);
    int status = 0;
    assert_int_equal (waitpid (pid, &status, 0), pid);
    wr_children_waited (pid);
    assert_true (WIFEXITED (status));
    assert_int_equal (WEXITSTATUS (status), 3);
}

static void
test_orphan_reaped (void **state)
{
    (void) state;
    assert_int_equal (prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    int report[2], hold[2];
    assert_int_equal (pipe (report), 0);
    assert_int_equal (pipe (hold), 0);
    /* A child that leaves a grandchild behind, as `runsc create` does. */
    pid_t child = wr_children_fork ();
    assert_true (child >= 0);
    if (child == 0) {
        pid_t grandchild = fork ();
        if (grandchild == 0) {
            char c;
            close (hold[1]);
            (void) read (hold[0], &c, 1); /* until the test closes its end */
            _exit (0);
        }
        (void) write (report[1], &grandchild, sizeof grandchild);
        _exit (0);
    }
    close (report[1]);
    close (hold[0]);
    pid_t orphan = 0;
    assert_int_equal (read (report[0], &orphan, sizeof orphan), (ssize_t) sizeof orphan);
    close (report[0]);
    assert_int_equal (waitpid (child, NULL, 0), child);
    wr_children_waited (child);
    /* Alive: nothing to reap. */
    assert_int_equal (wr_children_reap_orphans (false), 0);
    assert_int_equal (kill (orphan, 0), 0);
    close (hold[1]);
    size_t reaped = 0;
    for (int i = 0; i < 500 && reaped == 0; i++) {
        reaped = wr_children_reap_orphans (false);
        if (reaped == 0)
            usleep (10 * 1000);
    }
    assert_int_equal (reaped, 1);
    assert_int_equal (kill (orphan, 0), -1);
    assert_int_equal (errno, ESRCH);
    assert_int_equal (prctl (PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
}

#define THREADS 4
#define FORKS 50

static void *
fork_and_wait (void *data)
{
    (void) data;
    for (int i = 0; i < FORKS; i++) {
        pid_t pid = wr_children_fork ();
        if (pid == 0)
            _exit (7);
        int status = 0;
        pid_t r;
        do
            r = waitpid (pid, &status, 0);
        while (r < 0 && errno == EINTR);
        wr_children_waited (pid);
        if (r != pid || !WIFEXITED (status) || WEXITSTATUS (status) != 7)
            return (void *) 1;
    }
    return NULL;
}

static void
test_owners_never_lose_a_child (void **state)
{
    (void) state;
    assert_int_equal (wr_children_reaper_start (NULL), 0);
    wr_children_expect_exits_begin (); /* the reaper at its fastest */
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal (pthread_create (&threads[i], NULL, fork_and_wait, NULL), 0);
    for (int i = 0; i < THREADS; i++) {
        void *failed = NULL;
        pthread_join (threads[i], &failed);
        assert_null (failed);
    }
    wr_children_expect_exits_end ();
    wr_children_reaper_stop ();
    assert_int_equal (prctl (PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_owned_child_left_to_its_owner),
        cmocka_unit_test (test_orphan_reaped),
        cmocka_unit_test (test_owners_never_lose_a_child),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
