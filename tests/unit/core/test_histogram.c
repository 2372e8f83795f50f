/* Unit tests of histogram.c: buckets, cumulative counts, the text format,
 * and observations from several threads at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "histogram.h"

static const double bounds[] = { 0.001, 0.01, 0.1, 1 };

static void
test_buckets_and_text (void **state)
{
    wr_histogram_t h;
    wr_histogram_init (&h, "warren_test_seconds", "A test.", bounds, 4);
    wr_histogram_observe (&h, 0.0005);
    wr_histogram_observe (&h, 0.001); /* on a bound: in that bucket */
    wr_histogram_observe (&h, 0.05);
    wr_histogram_observe (&h, 3);
    wr_histogram_observe (&h, -1); /* as 0 */
    assert_int_equal (wr_histogram_count (&h), 5);
    cleanup_free char *text = NULL;
    wr_histogram_write (&h, &text);
    assert_string_equal (text, "# HELP warren_test_seconds A test.\n"
                               "# TYPE warren_test_seconds histogram\n"
                               "warren_test_seconds_bucket{le=\"0.001\"} 3\n"
                               "warren_test_seconds_bucket{le=\"0.01\"} 3\n"
                               "warren_test_seconds_bucket{le=\"0.1\"} 4\n"
                               "warren_test_seconds_bucket{le=\"1\"} 4\n"
                               "warren_test_seconds_bucket{le=\"+Inf\"} 5\n"
                               "warren_test_seconds_sum 3.051500\n"
                               "warren_test_seconds_count 5\n");
}

static void
test_labelled (void **state)
{
    const char *const states[] = { "running", "failed" };
    const uint64_t counts[] = { 3, 1 };
    cleanup_free char *text = NULL;
    wr_metric_write_labelled (&text, "warren_sandboxes", "gauge", "Sandboxes by state.", "state",
                              states, counts, 2);
    assert_string_equal (text, "# HELP warren_sandboxes Sandboxes by state.\n"
                               "# TYPE warren_sandboxes gauge\n"
                               "warren_sandboxes{state=\"running\"} 3\n"
                               "warren_sandboxes{state=\"failed\"} 1\n");
}

static void
test_gauge (void **state)
{
    cleanup_free char *text = NULL;
    wr_metric_write_gauge (&text, "warren_heap_bytes", "Bytes.", 18446744073709551615ull);
    assert_string_equal (text, "# HELP warren_heap_bytes Bytes.\n"
                               "# TYPE warren_heap_bytes gauge\n"
                               "warren_heap_bytes 18446744073709551615\n");
}

static wr_histogram_t shared;

static void *
observe_many (void *data)
{
    for (int i = 0; i < 100000; i++)
        wr_histogram_observe (&shared, (i % 4) * 0.004);
    return NULL;
}

static void
test_threads (void **state)
{
    wr_histogram_init (&shared, "warren_threads_seconds", "Threads.", bounds, 4);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal (pthread_create (&t[i], NULL, observe_many, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join (t[i], NULL);
    assert_int_equal (wr_histogram_count (&shared), 400000);
    /* A quarter are 0 (first bucket), three quarters in (0.001, 0.1]. */
    assert_int_equal (atomic_load (&shared.counts[0]), 100000);
    assert_int_equal (atomic_load (&shared.counts[1]), 200000);
    assert_int_equal (atomic_load (&shared.counts[2]), 100000);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_buckets_and_text),
        cmocka_unit_test (test_labelled),
        cmocka_unit_test (test_gauge),
        cmocka_unit_test (test_threads),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
