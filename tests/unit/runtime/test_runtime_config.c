/* Unit tests of runtime_config.c: the operator's config file and the
 * --annotation-profiles list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cleanup.h"
#include "error.h"
#include "runtime_config.h"
#include "strv.h"
#include "test_runtime_util.h"
#include "xalloc.h"

static void
expect_invalid (const char *dir, const char *text, const char *needle)
{
    cleanup_free char *path = xasprintf ("%s/runtime.json", dir);
    wr_test_write_file (path, text);
    cleanup_runtime_config wr_runtime_config_t config = { 0 };
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_runtime_config_load (path, &config, &err), -1);
    if (strstr (err->message, needle) == NULL)
        fail_msg ("error `%s` does not contain `%s`", err->message, needle);
    assert_non_null (strstr (err->message, path));
    assert_null (config.annotation_profiles);
}

static void
test_config_file (void **state)
{
    cleanup_free char *dir = wr_test_tmpdir ();
    cleanup_free char *path = xasprintf ("%s/runtime.json", dir);

    /* No file: the defaults. */
    cleanup_runtime_config wr_runtime_config_t none = { 0 };
    assert_int_equal (wr_runtime_config_load (path, &none, NULL), 0);
    assert_null (none.annotation_profiles);

    wr_test_write_file (path, "{\"annotation_profiles\": [\"default\"]}");
    cleanup_runtime_config wr_runtime_config_t one = { 0 };
    assert_int_equal (wr_runtime_config_load (path, &one, NULL), 0);
    assert_int_equal (wr_strv_length (one.annotation_profiles), 1);
    assert_string_equal (one.annotation_profiles[0], "default");

    wr_test_write_file (path, "{\"annotation_profiles\": []}");
    cleanup_runtime_config wr_runtime_config_t empty = { 0 };
    assert_int_equal (wr_runtime_config_load (path, &empty, NULL), 0);
    assert_non_null (empty.annotation_profiles);
    assert_int_equal (wr_strv_length (empty.annotation_profiles), 0);

    expect_invalid (dir, "{\"annotation_profiles\": [\"docker\",]", "not valid JSON");
    expect_invalid (dir, "[]", "expected a JSON object");
    expect_invalid (dir, "{\"annotation_profile\": []}", "unknown field \"annotation_profile\"");
    expect_invalid (dir, "{\"annotation_profiles\": \"docker\"}", "must be an array");
    expect_invalid (dir, "{\"annotation_profiles\": [1]}",
                    "annotation_profiles[0]: expected a string");
    expect_invalid (dir, "{\"annotation_profiles\": [\"kvm\"]}", "unknown profile `kvm`");
    wr_test_rm_rf (dir);
}

static void
test_profiles_flag (void **state)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_strv char **both = wr_runtime_config_parse_profiles ("default,docker", "--x", &err);
    assert_int_equal (wr_strv_length (both), 2);
    assert_string_equal (both[1], "docker");
    cleanup_strv char **empty = wr_runtime_config_parse_profiles ("", "--x", &err);
    assert_non_null (empty);
    assert_int_equal (wr_strv_length (empty), 0);
    assert_null (wr_runtime_config_parse_profiles ("default,kvm", "--annotation-profiles", &err));
    assert_non_null (strstr (err->message, "--annotation-profiles: unknown profile `kvm`"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_config_file),
        cmocka_unit_test (test_profiles_flag),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
