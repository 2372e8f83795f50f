/* Unit tests of error.c: messages that name their object, and context. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "error.h"

static void
test_set_without_errno (void **state)
{
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_error_set (&err, 0, "unknown profile `%s`", "x"), -1);
    assert_non_null (err);
    assert_int_equal (err->errno_value, 0);
    assert_string_equal (err->message, "unknown profile `x`");
}

static void
test_set_with_errno_appends_strerror (void **state)
{
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_error_set (&err, ENOENT, "open `%s`", "/b/config.json"), -1);
    assert_int_equal (err->errno_value, ENOENT);
    assert_string_equal (err->message, "open `/b/config.json`: No such file or directory");
}

static void
test_set_replaces_previous_error (void **state)
{
    cleanup_error wr_error_t err = NULL;
    wr_error_set (&err, EACCES, "first");
    wr_error_set (&err, 0, "second %d", 2);
    assert_int_equal (err->errno_value, 0);
    assert_string_equal (err->message, "second 2");
}

static void
test_prefix_adds_context (void **state)
{
    cleanup_error wr_error_t err = NULL;
    wr_error_set (&err, ENOENT, "open `%s`", "/x");
    assert_int_equal (wr_error_prefix (&err, "load bundle `%s`", "/b"), -1);
    assert_int_equal (wr_error_prefix (&err, "create"), -1);
    assert_string_equal (err->message,
                         "create: load bundle `/b`: open `/x`: No such file or directory");
    /* The errno stays the original one. */
    assert_int_equal (err->errno_value, ENOENT);
}

static void
test_null_error_pointers (void **state)
{
    /* Callers that don't want the error pass NULL; nothing is allocated. */
    assert_int_equal (wr_error_set (NULL, EIO, "ignored"), -1);
    assert_int_equal (wr_error_prefix (NULL, "ignored"), -1);
    wr_error_t err = NULL;
    assert_int_equal (wr_error_prefix (&err, "nothing to prefix"), -1);
    assert_null (err);
    wr_error_free (&err);
    wr_error_free (NULL);
    assert_null (err);
}

static void
test_free_resets (void **state)
{
    wr_error_t err = NULL;
    wr_error_set (&err, 0, "x");
    wr_error_free (&err);
    assert_null (err);
    wr_error_free (&err);
    assert_null (err);
}

static int setv_helper (wr_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static int
setv_helper (wr_error_t *err, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    int r = wr_error_setv (err, EPERM, fmt, ap);
    va_end (ap);
    return r;
}

static void
test_kind_from_errno (void **state)
{
    cleanup_error wr_error_t err = NULL;
    wr_error_set (&err, ENOENT, "open `/x`");
    assert_int_equal (wr_error_kind (err), WR_ERROR_NOT_FOUND);
    wr_error_set (&err, EEXIST, "mkdir `/x`");
    assert_int_equal (wr_error_kind (err), WR_ERROR_EXISTS);
    wr_error_set (&err, 0, "`config.json`: not an object");
    assert_int_equal (wr_error_kind (err), WR_ERROR_INVALID);
    wr_error_set (&err, ENOSPC, "write `/x`");
    assert_int_equal (wr_error_kind (err), WR_ERROR_LIMIT);
    wr_error_set (&err, ETIMEDOUT, "GET `/v2/`");
    assert_int_equal (wr_error_kind (err), WR_ERROR_UNAVAILABLE);
    wr_error_set (&err, ECANCELED, "pull");
    assert_int_equal (wr_error_kind (err), WR_ERROR_CANCELLED);
    wr_error_set (&err, EIO, "read `/x`");
    assert_int_equal (wr_error_kind (err), WR_ERROR_INTERNAL);
    assert_int_equal (wr_error_kind (NULL), WR_ERROR_INTERNAL);
}

static void
test_kind_given_and_retagged (void **state)
{
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (
        wr_error_set_kind (&err, WR_ERROR_LIMIT, 0, "layer `%s`: over %d entries", "sha256:ab", 10),
        -1);
    assert_int_equal (wr_error_kind (err), WR_ERROR_LIMIT);
    assert_int_equal (err->errno_value, 0);
    assert_string_equal (err->message, "layer `sha256:ab`: over 10 entries");
    /* Context keeps the kind. */
    wr_error_prefix (&err, "pull `busybox`");
    assert_int_equal (wr_error_kind (err), WR_ERROR_LIMIT);
    assert_int_equal (wr_error_retag (&err, WR_ERROR_INVALID), -1);
    assert_int_equal (wr_error_kind (err), WR_ERROR_INVALID);
    assert_int_equal (wr_error_retag (NULL, WR_ERROR_INVALID), -1);
    wr_error_t none = NULL;
    assert_int_equal (wr_error_retag (&none, WR_ERROR_INVALID), -1);
    assert_null (none);
}

static void
test_kind_names (void **state)
{
    assert_string_equal (wr_error_kind_name (WR_ERROR_INTERNAL), "internal");
    assert_string_equal (wr_error_kind_name (WR_ERROR_NOT_FOUND), "not_found");
    assert_string_equal (wr_error_kind_name (WR_ERROR_EXISTS), "exists");
    assert_string_equal (wr_error_kind_name (WR_ERROR_INVALID), "invalid");
    assert_string_equal (wr_error_kind_name (WR_ERROR_LIMIT), "limit");
    assert_string_equal (wr_error_kind_name (WR_ERROR_UNAVAILABLE), "unavailable");
    assert_string_equal (wr_error_kind_name (WR_ERROR_CANCELLED), "cancelled");
    assert_string_equal (wr_error_kind_name ((wr_error_kind_t) 99), "internal");
}

static void
test_setv (void **state)
{
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (setv_helper (&err, "mount `%s` on `%s`", "cgroup", "/sys/fs/cgroup"), -1);
    assert_string_equal (err->message,
                         "mount `cgroup` on `/sys/fs/cgroup`: Operation not permitted");
}

static void
test_propagate_hands_the_error_on (void **state)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_error wr_error_t mine = NULL;
    wr_error_set (&err, EACCES, "older");
    wr_error_set (&mine, ENOSPC, "write `/x`");
    assert_int_equal (wr_error_propagate (&err, &mine), -1);
    assert_null (mine);
    assert_int_equal (err->errno_value, ENOSPC);
    assert_int_equal (wr_error_kind (err), WR_ERROR_LIMIT);
    assert_string_equal (err->message, "write `/x`: No space left on device");
    /* A caller that passed no error: it is freed. */
    wr_error_set (&mine, ENOENT, "open `/y`");
    assert_int_equal (wr_error_propagate (NULL, &mine), -1);
    assert_null (mine);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_set_without_errno),
        cmocka_unit_test (test_set_with_errno_appends_strerror),
        cmocka_unit_test (test_set_replaces_previous_error),
        cmocka_unit_test (test_prefix_adds_context),
        cmocka_unit_test (test_null_error_pointers),
        cmocka_unit_test (test_free_resets),
        cmocka_unit_test (test_setv),
        cmocka_unit_test (test_kind_from_errno),
        cmocka_unit_test (test_kind_given_and_retagged),
        cmocka_unit_test (test_kind_names),
        cmocka_unit_test (test_propagate_hands_the_error_on),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
