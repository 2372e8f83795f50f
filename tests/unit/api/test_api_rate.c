/* Unit tests of api_rate.c: each client's bucket, refills, the bounded
 * table of clients, and many threads taking at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>

#include "api_rate.h"

static void
test_burst_then_rate (void **state)
{
    /* 10 a second, 3 at once. */
    wr_api_rate_t *r = wr_api_rate_new (10, 3, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal (wr_api_rate_take (r, "uid:0", 1000), 0);
    /* The fourth waits for a token: 100 ms at 10 a second. */
    assert_int_equal (wr_api_rate_take (r, "uid:0", 1000), 100);
    assert_int_equal (wr_api_rate_take (r, "uid:0", 1050), 50);
    assert_int_equal (wr_api_rate_take (r, "uid:0", 1100), 0);
    assert_int_equal (wr_api_rate_take (r, "uid:0", 1100), 100);
    /* A long pause refills up to the burst, not more. */
    for (int i = 0; i < 3; i++)
        assert_int_equal (wr_api_rate_take (r, "uid:0", 60000), 0);
    assert_true (wr_api_rate_take (r, "uid:0", 60000) > 0);
    wr_api_rate_free (r);
}

static void
test_clients_apart (void **state)
{
    wr_api_rate_t *r = wr_api_rate_new (1, 1, 0);
    assert_int_equal (wr_api_rate_take (r, "uid:0", 0), 0);
    assert_int_equal (wr_api_rate_take (r, "uid:0", 0), 1000);
    /* Another client has a bucket of its own. */
    assert_int_equal (wr_api_rate_take (r, "uid:1000", 0), 0);
    assert_int_equal (wr_api_rate_take (r, "tcp:10.0.0.1", 0), 0);
    assert_int_equal (wr_api_rate_clients (r), 3);
    /* A clock that goes back gives nothing. */
    assert_true (wr_api_rate_take (r, "uid:1000", -5000) > 0);
    wr_api_rate_free (r);
}

static void
test_table_bounded (void **state)
{
    wr_api_rate_t *r = wr_api_rate_new (1, 2, 4);
    char key[32];
    for (int i = 0; i < 4; i++) {
        snprintf (key, sizeof key, "tcp:10.0.0.%d", i);
        assert_int_equal (wr_api_rate_take (r, key, 0), 0);
    }
    /* All four have a request in their bucket's window: a fifth client is
     * refused for a token's time, not tracked. */
    assert_int_equal (wr_api_rate_take (r, "tcp:10.0.0.9", 0), 1000);
    assert_int_equal (wr_api_rate_clients (r), 4);
    /* Once their buckets are full again they are forgotten, and the new
     * one gets in. */
    assert_int_equal (wr_api_rate_take (r, "tcp:10.0.0.9", 1000), 0);
    assert_int_equal (wr_api_rate_clients (r), 1);
    /* 100,000 clients one after another, each idle by the next: the table
     * never holds more than its bound. */
    for (int i = 0; i < 100000; i++) {
        snprintf (key, sizeof key, "tcp:10.1.%d.%d", i / 256, i % 256);
        assert_int_equal (wr_api_rate_take (r, key, 10000 + (int64_t) i * 2000), 0);
        assert_true (wr_api_rate_clients (r) <= 4);
    }
    wr_api_rate_free (r);
}

typedef struct {
    wr_api_rate_t *rate;
    int allowed;
} taker_t;

static void *
taker (void *data)
{
    taker_t *t = data;
    for (int i = 0; i < 1000; i++)
        t->allowed += wr_api_rate_take (t->rate, "uid:0", 5000) == 0;
    return NULL;
}

static void
test_threads (void **state)
{
    /* At one instant, 8 threads taking 1000 each get exactly the burst. */
    wr_api_rate_t *r = wr_api_rate_new (1, 100, 0);
    pthread_t threads[8];
    taker_t takers[8] = { 0 };
    for (int i = 0; i < 8; i++) {
        takers[i].rate = r;
        assert_int_equal (pthread_create (&threads[i], NULL, taker, &takers[i]), 0);
    }
    int allowed = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join (threads[i], NULL);
        allowed += takers[i].allowed;
    }
    assert_int_equal (allowed, 100);
    wr_api_rate_free (r);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_burst_then_rate),
        cmocka_unit_test (test_clients_apart),
        cmocka_unit_test (test_table_bounded),
        cmocka_unit_test (test_threads),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
