/* Unit tests of sandbox_json.c: a record as the API's Sandbox object. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cleanup.h"
#include "json_reader.h"
#include "sandbox_json.h"
#include "sandbox_spec.h"

static const char *
str (json_object *o, const char *key)
{
    json_object *v = json_object_object_get (o, key);
    return v != NULL ? json_object_get_string (v) : NULL;
}

static void
test_running_docker_sandbox (void **state)
{
    const char *body = "{\"image\": \"busybox\", \"cpu\": 2, \"memory\": \"512Mi\", "
                       "\"docker_enabled\": true, \"env\": {\"CI\": \"1\"}, \"workdir\": \"/src\"}";
    wr_sandbox_spec_t spec = { 0 };
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_sandbox_spec_parse (body, strlen (body), NULL, &spec, &err), 0);
    cleanup_free char *spec_json = wr_sandbox_spec_to_json (&spec);
    wr_sandbox_label_t labels[] = { { "team", "ml" } };
    wr_sandbox_record_t record = {
        .id = "sb-0123456789abcdef",
        .name = "ci-42",
        .labels = labels,
        .n_labels = 1,
        .spec_json = spec_json,
        .keep_warm_seconds = 600,
        .image_ref = "busybox",
        .manifest_digest = "sha256:aa",
        .state = WR_SANDBOX_RUNNING,
        .created_ms = 1000,
        .started_ms = 2000,
        .last_activity_ms = 2000,
        .expires_ms = 602000,
    };
    cleanup_json_reader json_object *o = wr_sandbox_record_json (&record, "/run/x/docker.sock");
    assert_string_equal (str (o, "id"), "sb-0123456789abcdef");
    assert_string_equal (str (o, "name"), "ci-42");
    assert_string_equal (str (o, "state"), "running");
    assert_null (json_object_object_get (o, "reason"));
    assert_string_equal (str (o, "image"), "busybox");
    assert_string_equal (str (o, "image_digest"), "sha256:aa");
    assert_true (json_object_get_double (json_object_object_get (o, "cpu")) == 2.0);
    assert_int_equal (json_object_get_int64 (json_object_object_get (o, "memory")), 512 << 20);
    assert_true (json_object_get_boolean (json_object_object_get (o, "docker_enabled")));
    assert_string_equal (str (json_object_object_get (o, "env"), "CI"), "1");
    assert_string_equal (str (o, "workdir"), "/src");
    assert_string_equal (str (json_object_object_get (o, "labels"), "team"), "ml");
    assert_int_equal (json_object_get_int64 (json_object_object_get (o, "expires_ms")), 602000);
    assert_null (json_object_object_get (o, "ended_ms"));
    assert_string_equal (str (o, "docker_socket"), "/run/x/docker.sock");
    wr_sandbox_spec_clear (&spec);
}

static void
test_failed_sandbox_without_docker (void **state)
{
    wr_sandbox_record_t record = {
        .id = "sb-0123456789abcdef",
        .keep_warm_seconds = -1,
        .image_ref = "busybox",
        .state = WR_SANDBOX_FAILED,
        .reason = "runsc died: killed by signal 9",
        .created_ms = 1000,
        .ended_ms = 3000,
    };
    cleanup_json_reader json_object *o = wr_sandbox_record_json (&record, NULL);
    assert_string_equal (str (o, "state"), "failed");
    assert_string_equal (str (o, "reason"), "runsc died: killed by signal 9");
    assert_int_equal (json_object_get_int64 (json_object_object_get (o, "keep_warm_seconds")), -1);
    assert_null (json_object_object_get (o, "docker_socket"));
    assert_null (json_object_object_get (o, "cpu"));
    assert_null (json_object_object_get (o, "expires_ms"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_running_docker_sandbox),
        cmocka_unit_test (test_failed_sandbox_without_docker),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
