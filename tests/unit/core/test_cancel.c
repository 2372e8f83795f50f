/* Cancellation tokens: requests from another thread, the fd that wakes
 * waits, deadlines and their errors, children of a parent. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cancel.h"
#include "error.h"

static void
test_null_is_never_cancelled (void **state)
{
    assert_false (wr_cancel_stopped (NULL));
    assert_int_equal (wr_cancel_check (NULL, "pull", NULL), 0);
    assert_int_equal (wr_cancel_fd (NULL), -1);
    assert_int_equal (wr_cancel_remaining_ms (NULL), -1);
    wr_cancel_request (NULL);
    wr_cancel_free (NULL);
}

static void
test_request_and_error (void **state)
{
    cleanup_cancel wr_cancel_t *c = wr_cancel_new (NULL, 0, NULL, NULL);
    assert_non_null (c);
    assert_false (wr_cancel_stopped (c));
    struct pollfd p = { .fd = wr_cancel_fd (c), .events = POLLIN };
    assert_int_equal (poll (&p, 1, 0), 0);
    wr_cancel_request (c);
    wr_cancel_request (c); /* idempotent */
    assert_true (wr_cancel_stopped (c));
    assert_int_equal (poll (&p, 1, 0), 1);
    wr_error_t err = NULL;
    assert_int_equal (wr_cancel_check (c, "pull `busybox`", &err), -1);
    assert_int_equal (wr_error_kind (err), WR_ERROR_CANCELLED);
    assert_string_equal (err->message, "pull `busybox`: cancelled");
    wr_error_free (&err);
}

static void
test_deadline (void **state)
{
    cleanup_cancel wr_cancel_t *c = wr_cancel_new (NULL, 200, "pull deadline", NULL);
    assert_false (wr_cancel_stopped (c));
    int64_t left = wr_cancel_remaining_ms (c);
    assert_true (left > 0 && left <= 200);
    int64_t started = wr_monotonic_ms ();
    /* A sleep longer than the deadline stops at it. */
    assert_int_equal (wr_cancel_sleep (c, 5000), -1);
    int64_t took = wr_monotonic_ms () - started;
    assert_true (took >= 150 && took < 2000);
    wr_error_t err = NULL;
    assert_int_equal (wr_cancel_check (c, "pull `x`", &err), -1);
    assert_int_equal (wr_error_kind (err), WR_ERROR_UNAVAILABLE);
    assert_int_equal (err->errno_value, ETIMEDOUT);
    assert_string_equal (err->message, "pull `x`: the pull deadline of 200 ms passed");
    wr_error_free (&err);
    assert_int_equal (wr_cancel_remaining_ms (c), 0);
}

static void
test_child (void **state)
{
    cleanup_cancel wr_cancel_t *parent = wr_cancel_new (NULL, 0, NULL, NULL);
    cleanup_cancel wr_cancel_t *child = wr_cancel_new (parent, 60000, "pull deadline", NULL);
    assert_int_equal (wr_cancel_fd (child), wr_cancel_fd (parent));
    assert_false (wr_cancel_stopped (child));
    /* The parent's request reaches the child, as a cancellation. */
    wr_cancel_request (parent);
    wr_error_t err = NULL;
    assert_int_equal (wr_cancel_check (child, NULL, &err), -1);
    assert_int_equal (wr_error_kind (err), WR_ERROR_CANCELLED);
    assert_string_equal (err->message, "cancelled");
    wr_error_free (&err);
    /* A child's request does not reach the parent. */
    cleanup_cancel wr_cancel_t *other = wr_cancel_new (NULL, 0, NULL, NULL);
    cleanup_cancel wr_cancel_t *kid = wr_cancel_new (other, 0, NULL, NULL);
    wr_cancel_request (kid);
    assert_true (wr_cancel_stopped (kid));
    assert_false (wr_cancel_stopped (other));
}

static void *
cancel_later (void *data)
{
    struct timespec ts = { 0, 100 * 1000000L };
    nanosleep (&ts, NULL);
    wr_cancel_request (data);
    return NULL;
}

static void
test_sleep_wakes_on_request_from_another_thread (void **state)
{
    cleanup_cancel wr_cancel_t *c = wr_cancel_new (NULL, 0, NULL, NULL);
    pthread_t t;
    int64_t started = wr_monotonic_ms ();
    assert_int_equal (pthread_create (&t, NULL, cancel_later, c), 0);
    assert_int_equal (wr_cancel_sleep (c, 10000), -1);
    assert_true (wr_monotonic_ms () - started < 2000);
    pthread_join (t, NULL);
    /* Without a request, a sleep is the whole sleep. */
    cleanup_cancel wr_cancel_t *quiet = wr_cancel_new (NULL, 0, NULL, NULL);
    assert_int_equal (wr_cancel_sleep (quiet, 20), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_null_is_never_cancelled),
        cmocka_unit_test (test_request_and_error),
        cmocka_unit_test (test_deadline),
        cmocka_unit_test (test_child),
        cmocka_unit_test (test_sleep_wakes_on_request_from_another_thread),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
