/* Unit tests of api_events.c: lines in order, split reads, the bounded
 * queue's back-pressure and deadline, close and cancel from either side. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api_events.h"
#include "cleanup.h"
#include "xalloc.h"

static json_object *
event (int n)
{
    json_object *obj = json_object_new_object ();
    json_object_object_add (obj, "n", json_object_new_int (n));
    json_object_object_add (obj, "text", json_object_new_string ("line\nbreak"));
    return obj;
}

/* Everything until the end of the stream. */
static char *
read_all (wr_api_events_t *events, size_t chunk)
{
    size_t len = 0;
    char *out = xzalloc (1);
    char buf[4096];
    for (;;) {
        ssize_t n = wr_api_events_read (events, buf, chunk, 5000);
        assert_true (n != 0);
        if (n < 0)
            return out;
        out = xrealloc (out, len + (size_t) n + 1);
        memcpy (out + len, buf, (size_t) n);
        len += (size_t) n;
        out[len] = '\0';
    }
}

static void
test_lines_in_order (void **state)
{
    wr_api_events_t *events = wr_api_events_new (0);
    cleanup_error wr_error_t err = NULL;
    for (int i = 0; i < 3; i++)
        assert_int_equal (wr_api_events_send (events, event (i), -1, &err), 0);
    cleanup_error wr_error_t failure = NULL;
    wr_error_set_kind (&failure, WR_ERROR_NOT_FOUND, 0, "image `x`: not found");
    assert_int_equal (wr_api_events_send_error (events, failure, -1, &err), 0);
    wr_api_events_close (events);
    /* Sending after close fails. */
    assert_int_equal (wr_api_events_send (events, event (9), -1, &err), -1);
    assert_int_equal (wr_error_kind (err), WR_ERROR_CANCELLED);
    /* Reads of 7 bytes split lines; the text is the same. */
    cleanup_free char *text = read_all (events, 7);
    assert_string_equal (text, "{\"n\":0,\"text\":\"line\\nbreak\"}\n"
                               "{\"n\":1,\"text\":\"line\\nbreak\"}\n"
                               "{\"n\":2,\"text\":\"line\\nbreak\"}\n"
                               "{\"error\":{\"kind\":\"not_found\",\"message\":\"image `x`: not "
                               "found\"}}\n");
    assert_int_equal (wr_api_events_queued (events), 0);
    wr_api_events_unref (events);
}

static void
test_read_deadline (void **state)
{
    wr_api_events_t *events = wr_api_events_new (0);
    char buf[16];
    struct timespec a, b;
    clock_gettime (CLOCK_MONOTONIC, &a);
    assert_int_equal (wr_api_events_read (events, buf, sizeof buf, 50), 0);
    clock_gettime (CLOCK_MONOTONIC, &b);
    double ms = (double) (b.tv_sec - a.tv_sec) * 1e3 + (double) (b.tv_nsec - a.tv_nsec) / 1e6;
    assert_true (ms >= 45);
    wr_api_events_cancel (events);
    assert_true (wr_api_events_cancelled (events));
    assert_int_equal (wr_api_events_read (events, buf, sizeof buf, -1), -1);
    wr_api_events_unref (events);
}

typedef struct {
    wr_api_events_t *events;
    int sent;
    int result;
    wr_error_kind_t kind;
} producer_t;

static void *
produce (void *arg)
{
    producer_t *p = arg;
    for (int i = 0; i < 1000; i++) {
        cleanup_error wr_error_t err = NULL;
        if (wr_api_events_send (p->events, event (i), 10000, &err) < 0) {
            p->result = -1;
            p->kind = wr_error_kind (err);
            return NULL;
        }
        __atomic_store_n (&p->sent, i + 1, __ATOMIC_SEQ_CST);
    }
    wr_api_events_close (p->events);
    return NULL;
}

static void
test_back_pressure (void **state)
{
    /* Room for a few lines only: the producer waits for the reader. */
    wr_api_events_t *events = wr_api_events_new (128);
    producer_t p = { .events = events };
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, produce, &p), 0);
    struct timespec pause = { 0, 50 * 1000000L };
    nanosleep (&pause, NULL);
    int sent = __atomic_load_n (&p.sent, __ATOMIC_SEQ_CST);
    assert_true (sent > 0 && sent < 10);
    assert_true (wr_api_events_queued (events) <= 128);
    /* Reading everything lets it finish, every line in order. */
    cleanup_free char *text = read_all (events, 100);
    pthread_join (thread, NULL);
    assert_int_equal (p.result, 0);
    int expected = 0;
    for (char *line = text; *line != '\0'; expected++) {
        char want[64];
        snprintf (want, sizeof want, "{\"n\":%d,", expected);
        assert_memory_equal (line, want, strlen (want));
        line = strchr (line, '\n') + 1;
    }
    assert_int_equal (expected, 1000);
    wr_api_events_unref (events);
}

static void
test_cancel_wakes_producer (void **state)
{
    wr_api_events_t *events = wr_api_events_new (64);
    producer_t p = { .events = wr_api_events_ref (events) };
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, produce, &p), 0);
    struct timespec pause = { 0, 20 * 1000000L };
    nanosleep (&pause, NULL);
    /* The client went away: the waiting producer gives up at once. */
    wr_api_events_cancel (events);
    wr_api_events_unref (events);
    pthread_join (thread, NULL);
    assert_int_equal (p.result, -1);
    assert_int_equal (p.kind, WR_ERROR_CANCELLED);
    wr_api_events_unref (p.events);
}

static void
test_send_deadline (void **state)
{
    wr_api_events_t *events = wr_api_events_new (16);
    cleanup_error wr_error_t err = NULL;
    /* The first line always fits, even when larger than the queue. */
    assert_int_equal (wr_api_events_send (events, event (1), 10, &err), 0);
    assert_int_equal (wr_api_events_send (events, event (2), 30, &err), -1);
    assert_int_equal (wr_error_kind (err), WR_ERROR_UNAVAILABLE);
    assert_non_null (strstr (err->message, "read nothing for 30 ms"));
    wr_api_events_unref (events);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_lines_in_order), cmocka_unit_test (test_read_deadline),
        cmocka_unit_test (test_back_pressure),  cmocka_unit_test (test_cancel_wakes_producer),
        cmocka_unit_test (test_send_deadline),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
