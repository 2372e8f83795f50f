/* Digests: validation of untrusted digest strings and SHA-256. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "digest.h"

static const char empty_sha256[] =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

static void
test_sha256_known_values (void **state)
{
    char out[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest ("", 0, out);
    assert_string_equal (out, empty_sha256);
    wr_sha256_digest ("abc", 3, out);
    assert_string_equal (out,
                         "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* Streaming in pieces gives the same digest. */
    wr_sha256_t *sha = wr_sha256_new ();
    wr_sha256_update (sha, "a", 1);
    wr_sha256_update (sha, "", 0);
    wr_sha256_update (sha, "bc", 2);
    char streamed[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_final (sha, streamed);
    wr_sha256_free (sha);
    assert_string_equal (streamed, out);
    assert_int_equal (wr_digest_validate (out, NULL), 0);
    assert_string_equal (wr_digest_hex (out), out + 7);
}

static void
expect_invalid (const char *digest, const char *message)
{
    wr_error_t err = NULL;
    assert_int_equal (wr_digest_validate (digest, &err), -1);
    assert_non_null (err);
    assert_string_equal (err->message, message);
    wr_error_free (&err);
}

static void
test_validate_refuses_hostile_digests (void **state)
{
    assert_int_equal (wr_digest_validate (empty_sha256, NULL), 0);
    expect_invalid (NULL, "missing digest");
    expect_invalid ("sha256:../x",
                    "digest `sha256:../x`: a sha256 digest has 64 hex digits, not 4");
    expect_invalid ("sha512:abc", "digest `sha512:abc`: only sha256 digests are supported");
    expect_invalid (
        "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "digest `sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855`"
        ": character 8 is not a lowercase hex digit");
    expect_invalid (
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85/",
        "digest `sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85/`"
        ": character 71 is not a lowercase hex digit");
    expect_invalid ("", "digest ``: only sha256 digests are supported");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_sha256_known_values),
        cmocka_unit_test (test_validate_refuses_hostile_digests),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
