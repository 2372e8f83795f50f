/* Unit tests of docker_mux.c: frames of stdout and stderr however the
 * bytes are split, empty frames, bad headers, a stream cut inside a
 * frame. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cleanup.h"
#include "docker_mux.h"

typedef struct {
    char out[256], err[256];
    size_t out_len, err_len;
} seen_t;

static int
on_frame (void *data, wr_docker_stream_t stream, const char *buf, size_t len, wr_error_t *err)
{
    seen_t *s = data;
    assert_true (len > 0);
    if (stream == WR_DOCKER_STDERR) {
        memcpy (s->err + s->err_len, buf, len);
        s->err_len += len;
    } else {
        memcpy (s->out + s->out_len, buf, len);
        s->out_len += len;
    }
    return 0;
}

static const unsigned char STREAM[] = {
    1, 0, 0, 0, 0, 0, 0, 6, 'h', 'e', 'l', 'l',  'o', '\n', /* stdout */
    2, 0, 0, 0, 0, 0, 0, 4, 'b', 'a', 'd', '\n', /* stderr */
    1, 0, 0, 0, 0, 0, 0, 0, /* empty */
    1, 0, 0, 0, 0, 0, 0, 3, 'b', 'y', 'e',
};

static void
test_every_split (void **state)
{
    size_t len = sizeof STREAM;
    for (size_t step = 1; step <= len; step++) {
        seen_t seen = { 0 };
        wr_docker_mux_t m;
        wr_docker_mux_init (&m, on_frame, &seen);
        cleanup_error wr_error_t err = NULL;
        for (size_t at = 0; at < len; at += step)
            assert_int_equal (
                wr_docker_mux_feed (&m, STREAM + at, len - at < step ? len - at : step, &err), 0);
        assert_int_equal (wr_docker_mux_end (&m, &err), 0);
        assert_int_equal (seen.out_len, 9);
        assert_memory_equal (seen.out, "hello\nbye", 9);
        assert_int_equal (seen.err_len, 4);
        assert_memory_equal (seen.err, "bad\n", 4);
        assert_int_equal (m.frames, 4);
    }
}

static void
test_bad_header (void **state)
{
    static const unsigned char bad[][8] = {
        { 4, 0, 0, 0, 0, 0, 0, 1 },
        { 1, 1, 0, 0, 0, 0, 0, 1 },
        { 'H', 'T', 'T', 'P', '/', '1', '.', '1' },
    };
    for (size_t i = 0; i < 3; i++) {
        seen_t seen = { 0 };
        wr_docker_mux_t m;
        wr_docker_mux_init (&m, on_frame, &seen);
        cleanup_error wr_error_t err = NULL;
        assert_int_equal (wr_docker_mux_feed (&m, bad[i], 8, &err), -1);
        assert_int_equal (err->kind, WR_ERROR_INVALID);
        assert_non_null (strstr (err->message, "frame 1 has a bad header"));
    }
}

static void
test_cut (void **state)
{
    seen_t seen = { 0 };
    wr_docker_mux_t m;
    wr_docker_mux_init (&m, on_frame, &seen);
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_docker_mux_feed (&m, STREAM, 10, &err), 0);
    assert_int_equal (wr_docker_mux_end (&m, &err), -1);
    assert_string_equal (err->message, "dockerd's output stream ended inside frame 1");
    wr_error_free (&err);
    wr_docker_mux_init (&m, on_frame, &seen);
    assert_int_equal (wr_docker_mux_feed (&m, STREAM, 17, &err), 0);
    assert_int_equal (wr_docker_mux_end (&m, &err), -1);
    assert_string_equal (err->message, "dockerd's output stream ended inside frame 2");
}

static void
test_large_frame_not_gathered (void **state)
{
    /* A 4 GiB - 1 frame announced: pieces are handed on as they come. */
    static const unsigned char header[] = { 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
    seen_t seen = { 0 };
    wr_docker_mux_t m;
    wr_docker_mux_init (&m, on_frame, &seen);
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_docker_mux_feed (&m, header, 8, &err), 0);
    assert_int_equal (wr_docker_mux_feed (&m, "abc", 3, &err), 0);
    assert_int_equal (seen.out_len, 3);
    assert_int_equal (m.left, 0xffffffffu - 3);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_every_split),
        cmocka_unit_test (test_bad_header),
        cmocka_unit_test (test_cut),
        cmocka_unit_test (test_large_frame_not_gathered),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
