/* Unit tests of client_reply.c: error bodies to kinds and messages, lines
 * of a stream however the bytes are split, strict base64, typed members. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "client_reply.h"
#include "xalloc.h"

static void
test_error_kinds (void **state)
{
    static const char *names[] = { "internal", "not_found",   "exists",   "invalid",
                                   "limit",    "unavailable", "cancelled" };
    for (size_t i = 0; i < 7; i++) {
        wr_error_kind_t kind;
        assert_int_equal (wr_client_kind_from_name (names[i], &kind), 0);
        assert_string_equal (wr_error_kind_name (kind), names[i]);
    }
    wr_error_kind_t kind;
    assert_int_equal (wr_client_kind_from_name ("bogus", &kind), -1);

    cleanup_error wr_error_t err = NULL;
    const char body[] = "{\"error\":{\"kind\":\"exists\",\"message\":\"name `ci` is taken\"}}";
    assert_int_equal (wr_client_reply_error (409, body, sizeof body - 1, "POST /x", &err), -1);
    assert_int_equal (err->kind, WR_ERROR_EXISTS);
    assert_string_equal (err->message, "name `ci` is taken");
    wr_error_free (&err);

    /* Not an error body: the status's kind, and the request named. */
    assert_int_equal (wr_client_reply_error (413, "{\"error\":1}", 11, "PUT /y", &err), -1);
    assert_int_equal (err->kind, WR_ERROR_LIMIT);
    assert_string_equal (err->message, "PUT /y: warrend answered 413 without an error body");
    wr_error_free (&err);

    /* A message longer than the bound is cut. */
    size_t n = WR_CLIENT_MAX_MESSAGE * 2;
    cleanup_free char *big = xmalloc (n + 64);
    int len = snprintf (big, n + 64, "{\"error\":{\"kind\":\"invalid\",\"message\":\"");
    memset (big + len, 'm', n);
    strcpy (big + len + n, "\"}}");
    assert_int_equal (wr_client_reply_error (400, big, strlen (big), "GET /", &err), -1);
    assert_int_equal (strlen (err->message), WR_CLIENT_MAX_MESSAGE + 3);
}

static int
count_line (void *data, json_object *line, wr_error_t *err)
{
    int *n = data;
    json_object *v = NULL;
    assert_true (json_object_object_get_ex (line, "n", &v));
    assert_int_equal (json_object_get_int (v), *n);
    (*n)++;
    return 0;
}

static void
test_lines_every_split (void **state)
{
    const char stream[] = "{\"n\":0}\n{\"n\":1}\r\n\n{\"n\":2}\n{\"n\":3}";
    size_t len = sizeof stream - 1;
    for (size_t a = 0; a <= len; a++)
        for (size_t b = a; b <= len; b++) {
            int n = 0;
            wr_client_lines_t lines;
            wr_client_lines_init (&lines, "test", count_line, &n);
            cleanup_error wr_error_t err = NULL;
            assert_int_equal (wr_client_lines_feed (&lines, stream, a, &err), 0);
            assert_int_equal (wr_client_lines_feed (&lines, stream + a, b - a, &err), 0);
            assert_int_equal (wr_client_lines_feed (&lines, stream + b, len - b, &err), 0);
            assert_int_equal (wr_client_lines_end (&lines, &err), 0);
            assert_int_equal (n, 4);
            wr_client_lines_clear (&lines);
        }
}

static void
test_lines_too_long (void **state)
{
    int n = 0;
    wr_client_lines_t lines;
    wr_client_lines_init (&lines, "the events", count_line, &n);
    cleanup_free char *block = xmalloc (65536);
    memset (block, ' ', 65536);
    cleanup_error wr_error_t err = NULL;
    int ret = 0;
    for (int i = 0; i < 20 && ret == 0; i++)
        ret = wr_client_lines_feed (&lines, block, 65536, &err);
    assert_int_equal (ret, -1);
    assert_int_equal (err->kind, WR_ERROR_LIMIT);
    assert_string_equal (err->message, "the events: line 1: longer than 1048576 bytes");
    wr_client_lines_clear (&lines);
}

static void
test_base64 (void **state)
{
    struct {
        const char *in, *out;
    } good[] = {
        { "", "" }, { "YQ==", "a" }, { "YWI=", "ab" }, { "YWJj", "abc" }, { "aGVsbG8K", "hello\n" }
    };
    for (size_t i = 0; i < 5; i++) {
        cleanup_free char *out = NULL;
        size_t n = 0;
        cleanup_error wr_error_t err = NULL;
        assert_int_equal (wr_client_base64_decode (good[i].in, strlen (good[i].in), &out, &n, &err),
                          0);
        assert_int_equal (n, strlen (good[i].out));
        assert_memory_equal (out, good[i].out, n);
    }
    const char *bad[] = { "Y", "YQ=", "Y===", "=YQ=", "YQ==YQ==", "a$==", "YW\nI=" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out = NULL;
        size_t n = 0;
        cleanup_error wr_error_t err = NULL;
        assert_int_equal (wr_client_base64_decode (bad[i], strlen (bad[i]), &out, &n, &err), -1);
        assert_null (out);
    }
}

static void
test_members (void **state)
{
    cleanup_error wr_error_t err = NULL;
    const char text[] = "{\"s\":\"x\",\"i\":3,\"b\":true,\"a\":[],\"n\":null}";
    json_object *o = wr_client_reply_object (text, sizeof text - 1, 1024, "it", &err);
    assert_non_null (o);
    const char *s = NULL;
    int64_t i = 0;
    bool b = false;
    json_object *a = NULL;
    assert_int_equal (wr_client_get_string (o, "s", true, "it", &s, &err), 0);
    assert_string_equal (s, "x");
    assert_int_equal (wr_client_get_int (o, "i", true, "it", &i, &err), 0);
    assert_int_equal (i, 3);
    assert_int_equal (wr_client_get_bool (o, "b", true, "it", &b, &err), 0);
    assert_true (b);
    assert_int_equal (wr_client_get_array (o, "a", true, "it", &a, &err), 0);
    s = "kept";
    assert_int_equal (wr_client_get_string (o, "n", false, "it", &s, &err), 0);
    assert_string_equal (s, "kept");
    assert_int_equal (wr_client_get_int (o, "s", true, "it", &i, &err), -1);
    assert_string_equal (err->message, "it: s: must be an integer, not a string");
    wr_error_free (&err);
    assert_int_equal (wr_client_get_string (o, "missing", true, "it", &s, &err), -1);
    json_object_put (o);
    wr_error_free (&err);
    assert_null (wr_client_reply_object ("[]", 2, 1024, "it", &err));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_error_kinds),    cmocka_unit_test (test_lines_every_split),
        cmocka_unit_test (test_lines_too_long), cmocka_unit_test (test_base64),
        cmocka_unit_test (test_members),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
