/* Unit tests of docker_lines.c: objects however the bytes are split,
 * CRLF and empty lines, a last line without its newline, the bound of a
 * line, and lines that are not objects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cleanup.h"
#include "docker_lines.h"

typedef struct {
    int n;
    char ids[16][32];
} seen_t;

static int
on_line (void *data, json_object *obj, wr_error_t *err)
{
    seen_t *s = data;
    json_object *id = json_object_object_get (obj, "id");
    if (s->n < 16)
        strncpy (s->ids[s->n], id != NULL ? json_object_get_string (id) : "-", 31);
    s->n++;
    return 0;
}

static const char STREAM[] = "{\"id\":\"a\"}\r\n\n{\"id\":\"b\",\"x\":[1,2]}\n  \n{\"id\":\"c\"}";

static void
test_every_split (void **state)
{
    size_t len = sizeof STREAM - 1;
    for (size_t step = 1; step <= len; step++) {
        seen_t seen = { 0 };
        wr_docker_lines_t l;
        wr_docker_lines_init (&l, "test", 0, on_line, &seen);
        cleanup_error wr_error_t err = NULL;
        for (size_t at = 0; at < len; at += step)
            assert_int_equal (
                wr_docker_lines_feed (&l, STREAM + at, len - at < step ? len - at : step, &err), 0);
        assert_int_equal (seen.n, 2);
        assert_int_equal (wr_docker_lines_end (&l, &err), 0);
        assert_int_equal (seen.n, 3);
        assert_string_equal (seen.ids[0], "a");
        assert_string_equal (seen.ids[1], "b");
        assert_string_equal (seen.ids[2], "c");
        wr_docker_lines_clear (&l);
    }
}

static void
test_bounds (void **state)
{
    seen_t seen = { 0 };
    wr_docker_lines_t l;
    wr_docker_lines_init (&l, "pull of x", 16, on_line, &seen);
    cleanup_error wr_error_t err = NULL;
    /* 16 bytes fit; 17 do not, even fed in pieces. */
    assert_int_equal (wr_docker_lines_feed (&l, "{\"id\":\"0123456\"}\n", 17, &err), 0);
    assert_int_equal (seen.n, 1);
    assert_int_equal (wr_docker_lines_feed (&l, "{\"id\":\"01234", 12, &err), 0);
    assert_int_equal (wr_docker_lines_feed (&l, "567\"}\n", 6, &err), -1);
    assert_int_equal (err->kind, WR_ERROR_LIMIT);
    assert_string_equal (err->message, "pull of x: line 2 is longer than 16 bytes");
    wr_docker_lines_clear (&l);
}

static void
test_not_objects (void **state)
{
    static const char *bad[] = {
        "[1]\n", "\"x\"\n", "{\"a\":1}{\"b\":2}\n", "{\"a\":\n}\n", "{\"a\":\"\xff\"}\n", "nope\n"
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        seen_t seen = { 0 };
        wr_docker_lines_t l;
        wr_docker_lines_init (&l, "test", 0, on_line, &seen);
        cleanup_error wr_error_t err = NULL;
        assert_int_equal (wr_docker_lines_feed (&l, bad[i], strlen (bad[i]), &err), -1);
        assert_int_equal (err->kind, WR_ERROR_INVALID);
        assert_non_null (strstr (err->message, "line 1"));
        assert_int_equal (seen.n, 0);
        wr_docker_lines_clear (&l);
    }
}

static int
refuse (void *data, json_object *obj, wr_error_t *err)
{
    return wr_error_set_kind (err, WR_ERROR_CANCELLED, 0, "enough");
}

static void
test_callback_stops (void **state)
{
    wr_docker_lines_t l;
    wr_docker_lines_init (&l, "test", 0, refuse, NULL);
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_docker_lines_feed (&l, "{}\n{}\n", 6, &err), -1);
    assert_string_equal (err->message, "enough");
    wr_docker_lines_clear (&l);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_every_split),
        cmocka_unit_test (test_bounds),
        cmocka_unit_test (test_not_objects),
        cmocka_unit_test (test_callback_stops),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
