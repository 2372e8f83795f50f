/* Unit tests of api_auth.c: bearer headers and the token comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "api_auth.h"

static void
test_token_equal (void **state)
{
    assert_true (wr_api_token_equal ("secret-token", 12, "secret-token", 12));
    assert_false (wr_api_token_equal ("secret-token", 12, "secret-tokeN", 12));
    /* A prefix is not the token, nor is the token with more after it. */
    assert_false (wr_api_token_equal ("secret", 6, "secret-token", 12));
    assert_false (wr_api_token_equal ("secret-token-and-more", 21, "secret-token", 12));
    assert_false (wr_api_token_equal ("", 0, "secret-token", 12));
    /* Bytes after a NUL count. */
    assert_false (wr_api_token_equal ("ab\0c", 4, "ab\0d", 4));
}

static void
test_auth_check (void **state)
{
    const char *token = "0123456789abcdef";
    assert_int_equal (wr_api_auth_check (NULL, token), WR_API_AUTH_MISSING);
    assert_int_equal (wr_api_auth_check ("Basic dXNlcjpwYXNz", token), WR_API_AUTH_MALFORMED);
    assert_int_equal (wr_api_auth_check ("Bearer", token), WR_API_AUTH_MALFORMED);
    assert_int_equal (wr_api_auth_check ("Bearer   ", token), WR_API_AUTH_MALFORMED);
    assert_int_equal (wr_api_auth_check ("Bearer nope", token), WR_API_AUTH_WRONG);
    assert_int_equal (wr_api_auth_check ("Bearer 0123456789abcdef0", token), WR_API_AUTH_WRONG);
    assert_int_equal (wr_api_auth_check ("Bearer 0123456789abcdef", token), WR_API_AUTH_OK);
    assert_int_equal (wr_api_auth_check ("bearer 0123456789abcdef ", token), WR_API_AUTH_OK);
    for (int r = WR_API_AUTH_OK; r <= WR_API_AUTH_WRONG; r++)
        assert_true (strlen (wr_api_auth_message ((wr_api_auth_t) r)) > 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_token_equal),
        cmocka_unit_test (test_auth_check),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
