/* Progress display: formatting, throttled redraws on a terminal, log lines
 * elsewhere, and updates from several threads at once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "log.h"
#include "progress.h"

#define DIGEST_A "sha256:3f2a9c1b0d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"
#define DIGEST_B "sha256:aaaabbbbccccddddeeeeffff00001111222233334444555566667777888899990"

static void
test_format_bytes (void **state)
{
    char out[16];
    wr_progress_format_bytes (0, out, sizeof out);
    assert_string_equal (out, "0 B");
    wr_progress_format_bytes (999, out, sizeof out);
    assert_string_equal (out, "999 B");
    wr_progress_format_bytes (1500, out, sizeof out);
    assert_string_equal (out, "1.50 KB");
    wr_progress_format_bytes (12345678, out, sizeof out);
    assert_string_equal (out, "12.3 MB");
    wr_progress_format_bytes (123456789, out, sizeof out);
    assert_string_equal (out, "123 MB");
    wr_progress_format_bytes (2000000000, out, sizeof out);
    assert_string_equal (out, "2.00 GB");
}

static void
test_format_duration (void **state)
{
    char out[16];
    wr_progress_format_duration (520000000, out, sizeof out);
    assert_string_equal (out, "0.52s");
    wr_progress_format_duration (12300000000, out, sizeof out);
    assert_string_equal (out, "12.3s");
    wr_progress_format_duration (125000000000, out, sizeof out);
    assert_string_equal (out, "2m05s");
    wr_progress_format_duration (-5, out, sizeof out);
    assert_string_equal (out, "0.00s");
}

static void
test_render_line (void **state)
{
    cleanup_free char *half = wr_progress_render_line (DIGEST_A, 500, 1000, 2500000, false, 80);
    assert_string_equal (half, "3f2a9c1b0d4e  [=================>                ]  "
                               "  500 B / 1.00 KB  2.50 MB/s");
    assert_true (strlen (half) <= 80);

    cleanup_free char *done = wr_progress_render_line (DIGEST_A, 1000, 1000, 0, true, 80);
    assert_non_null (strstr (done, "[====="));
    assert_non_null (strstr (done, "=====]"));
    assert_null (strchr (done, '>'));
    assert_non_null (strstr (done, "1.00 KB / 1.00 KB  done"));

    /* Unknown size: no bar, just the bytes. */
    cleanup_free char *unknown = wr_progress_render_line (DIGEST_B, 2048, -1, 0, false, 80);
    assert_string_equal (unknown, "aaaabbbbcccc  2.05 KB");

    /* Narrow terminals shrink the bar, then drop it; never wider than asked. */
    cleanup_free char *narrow = wr_progress_render_line (DIGEST_A, 1, 3, 10, false, 40);
    assert_true (strlen (narrow) <= 40);
    assert_null (strchr (narrow, '['));
    cleanup_free char *tiny = wr_progress_render_line (DIGEST_A, 1, 3, 10, false, 8);
    assert_int_equal (strlen (tiny), 8);
}

/* A clock the test moves by hand. */
static int64_t fake_now;
static int64_t
fake_clock (void *data)
{
    return fake_now;
}

static char *
read_all (FILE *f)
{
    fflush (f);
    long size = ftell (f);
    char *buf = calloc (1, (size_t) size + 1);
    rewind (f);
    assert_int_equal (fread (buf, 1, (size_t) size, f), (size_t) size);
    fseek (f, 0, SEEK_END);
    return buf;
}

static size_t
count (const char *haystack, const char *needle)
{
    size_t n = 0;
    for (const char *p = haystack; (p = strstr (p, needle)) != NULL; p += strlen (needle))
        n++;
    return n;
}

static void
test_bars_redraw_at_most_ten_times_a_second (void **state)
{
    cleanup_fclose FILE *out = tmpfile ();
    assert_non_null (out);
    wr_progress_options_t options = {
        .fd = fileno (out), .bars = true, .width = 80, .clock = fake_clock
    };
    fake_now = 1000000000;
    wr_progress_t *p = wr_progress_new (&options);
    wr_progress_add (p, DIGEST_A, 1000);
    wr_progress_add (p, DIGEST_B, 2000);
    wr_progress_update (p, DIGEST_A, 100, 1000); /* first draw */
    cleanup_free char *first = read_all (out);
    assert_int_equal (count (first, "\r\033[K"), 2);
    assert_null (strstr (first, "\033[2A"));
    assert_non_null (strstr (first, "3f2a9c1b0d4e"));
    assert_non_null (strstr (first, "aaaabbbbcccc"));

    /* 50 ms later: too soon for another redraw. */
    fake_now += 50000000;
    wr_progress_update (p, DIGEST_A, 200, 1000);
    wr_progress_update (p, DIGEST_B, 300, 2000);
    cleanup_free char *second = read_all (out);
    assert_string_equal (second, first);

    /* 100 ms after the first draw: redrawn in place (cursor up two lines). */
    fake_now += 50000000;
    wr_progress_update (p, DIGEST_B, 400, 2000);
    cleanup_free char *third = read_all (out);
    assert_int_equal (count (third, "\033[2A"), 1);
    assert_non_null (strstr (third, "400 B / 2.00 KB"));

    /* Completion is drawn at once, whatever the time. */
    wr_progress_update (p, DIGEST_A, 1000, 1000);
    cleanup_free char *fourth = read_all (out);
    assert_int_equal (count (fourth, "\033[2A"), 2);
    assert_non_null (strstr (fourth, "1.00 KB / 1.00 KB  done"));
    wr_progress_finish (p);
    wr_progress_free (p);
    cleanup_free char *last = read_all (out);
    assert_non_null (strstr (last, "2.00 KB / 2.00 KB  done"));
}

static char log_path[] = "/tmp/warren-test-progress-XXXXXX";

static char *
read_log (void)
{
    cleanup_fclose FILE *f = fopen (log_path, "r");
    assert_non_null (f);
    fseek (f, 0, SEEK_END);
    return read_all (f);
}

static void
test_lines_without_a_terminal (void **state)
{
    int fd = mkstemp (log_path);
    assert_true (fd >= 0);
    close (fd);
    assert_int_equal (wr_log_set_file (log_path, NULL), 0);
    cleanup_fclose FILE *out = tmpfile ();
    wr_progress_options_t options = { .fd = fileno (out), .bars = false, .clock = fake_clock };
    fake_now = 0;
    wr_progress_t *p = wr_progress_new (&options);
    wr_progress_add (p, DIGEST_A, 1000);
    wr_progress_update (p, DIGEST_A, 0, 1000);
    fake_now = 520000000;
    wr_progress_update (p, DIGEST_A, 600, 1000);
    wr_progress_update (p, DIGEST_A, 1000, 1000);
    wr_progress_update (p, DIGEST_A, 1000, 1000); /* said twice: logged once */
    wr_progress_done (p, DIGEST_A);
    wr_progress_add (p, DIGEST_B, 77);
    wr_progress_finish (p); /* never updated: done at the end */
    wr_progress_free (p);
    cleanup_free char *bars = read_all (out);
    assert_string_equal (bars, "");
    cleanup_free char *log = read_log ();
    assert_int_equal (count (log, "msg=\"layer done\""), 2);
    assert_non_null (
        strstr (log, "level=info msg=\"layer done\" digest=" DIGEST_A " size=1000 took=0.52s\n"));
    assert_non_null (strstr (log, "digest=" DIGEST_B " size=77 took=0.00s\n"));
    unlink (log_path);
}

#define THREADS 4
#define STEPS 2000

static void *
updater (void *data)
{
    wr_progress_t *p = ((void **) data)[0];
    const char *digest = ((void **) data)[1];
    for (int i = 1; i <= STEPS; i++)
        wr_progress_update (p, digest, i, STEPS);
    return NULL;
}

static void
test_updates_from_many_threads (void **state)
{
    strcpy (log_path, "/tmp/warren-test-progress-XXXXXX");
    int fd = mkstemp (log_path);
    assert_true (fd >= 0);
    close (fd);
    assert_int_equal (wr_log_set_file (log_path, NULL), 0);
    cleanup_fclose FILE *out = tmpfile ();
    wr_progress_options_t options = { .fd = fileno (out), .bars = false };
    wr_progress_t *p = wr_progress_new (&options);
    char digests[THREADS][80];
    void *args[THREADS][2];
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        snprintf (digests[i], sizeof digests[i], "sha256:%064d", i);
        args[i][0] = p;
        args[i][1] = digests[i];
        assert_int_equal (pthread_create (&threads[i], NULL, updater, args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join (threads[i], NULL);
    wr_progress_finish (p);
    wr_progress_free (p);
    cleanup_free char *log = read_log ();
    assert_int_equal (count (log, "msg=\"layer done\""), THREADS);
    for (int i = 0; i < THREADS; i++)
        assert_non_null (strstr (log, digests[i]));
    unlink (log_path);

    /* With bars too: every line ends drawn as done. */
    cleanup_fclose FILE *tty = tmpfile ();
    options = (wr_progress_options_t){ .fd = fileno (tty), .bars = true, .width = 100 };
    p = wr_progress_new (&options);
    for (int i = 0; i < THREADS; i++) {
        args[i][0] = p;
        assert_int_equal (pthread_create (&threads[i], NULL, updater, args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join (threads[i], NULL);
    wr_progress_free (p);
    cleanup_free char *drawn = read_all (tty);
    assert_true (count (drawn, "2.00 KB / 2.00 KB  done") >= THREADS);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_format_bytes),
        cmocka_unit_test (test_format_duration),
        cmocka_unit_test (test_render_line),
        cmocka_unit_test (test_bars_redraw_at_most_ten_times_a_second),
        cmocka_unit_test (test_lines_without_a_terminal),
        cmocka_unit_test (test_updates_from_many_threads),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
