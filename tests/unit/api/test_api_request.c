/* Unit tests of api_request.c: strict JSON bodies (malformed, wrong types,
 * unknown fields, missing ones, too large), parameters and lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "api_request.h"
#include "cleanup.h"
#include "json_reader.h"
#include "xalloc.h"

static const wr_api_field_t create_fields[] = {
    { "image", json_type_string, true }, { "cpu", json_type_double, false },
    { "memory", json_type_int, false },  { "docker_enabled", json_type_boolean, false },
    { "env", json_type_object, false },  { "labels", json_type_object, false },
    { "argv", json_type_array, false },  { NULL, 0, false },
};

/* The error message of BODY, or NULL when it is accepted. */
static char *
message_of (const char *body)
{
    wr_api_request_t req = { .body = body, .body_len = strlen (body) };
    cleanup_error wr_error_t err = NULL;
    cleanup_json_reader json_object *obj = wr_api_request_json (&req, create_fields, &err);
    if (obj != NULL) {
        assert_null (err);
        return NULL;
    }
    assert_non_null (err);
    assert_int_equal (wr_error_kind (err), WR_ERROR_INVALID);
    return xstrdup (err->message);
}

static void
check_refused (const char *body, const char *expected)
{
    cleanup_free char *message = message_of (body);
    if (message == NULL)
        fail_msg ("accepted: %s", body);
    if (strstr (message, expected) == NULL)
        fail_msg ("%s: message `%s` does not say `%s`", body, message, expected);
}

static void
test_accepted (void **state)
{
    const char *good[] = {
        "{\"image\": \"busybox\"}",
        "{\"image\": \"busybox\", \"cpu\": 1.5, \"memory\": 1073741824, \"docker_enabled\": true}",
        "{\"image\": \"busybox\", \"cpu\": 2, \"env\": {\"A\": \"b\"}, \"argv\": [\"sh\"]}\n",
        "{\"image\": \"busybox\", \"memory\": null}",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        cleanup_free char *message = message_of (good[i]);
        if (message != NULL)
            fail_msg ("%s refused: %s", good[i], message);
    }
}

static void
test_refused (void **state)
{
    check_refused ("", "request body: empty");
    check_refused ("{", "request body: not JSON");
    check_refused ("{\"image\": \"x\",}", "not JSON");
    check_refused ("{\"image\": \"x\"} {}", "request body: not JSON");
    check_refused ("[1, 2]", "must be a JSON object, not an array");
    check_refused ("\"image\"", "must be a JSON object, not a string");
    check_refused ("{\"image\": \"x\\u0000y\"}", "image: must not contain a NUL character");
    check_refused ("{\"image\": 5}", "request body: image: must be a string, not an integer");
    check_refused ("{\"image\": null}", "image: must not be null");
    check_refused ("{\"cpu\": 1}", "request body: image: missing");
    check_refused ("{\"image\": \"x\", \"memory\": \"1G\"}",
                   "memory: must be an integer, not a string");
    check_refused ("{\"image\": \"x\", \"memory\": 1.5}", "memory: must be an integer");
    check_refused ("{\"image\": \"x\", \"memory\": 99999999999999999999}",
                   "memory: integer too large");
    check_refused ("{\"image\": \"x\", \"cpu\": \"2\"}", "cpu: must be a number, not a string");
    check_refused ("{\"image\": \"x\", \"docker_enabled\": 1}",
                   "docker_enabled: must be a boolean");
    check_refused ("{\"image\": \"x\", \"env\": []}", "env: must be an object, not an array");
    check_refused ("{\"image\": \"x\", \"cpus\": 1}",
                   "request body: unknown field `cpus` (known fields: image, cpu, memory");
    /* The client's field name is quoted with escapes. */
    check_refused ("{\"image\": \"x\", \"a\\nb\\u001b[31m\": 1}",
                   "unknown field `a\\x0ab\\x1b[31m`");
}

static void
test_nested_fields (void **state)
{
    static const wr_api_field_t inner[] = {
        { "seconds", json_type_int, true },
        { NULL, 0, false },
    };
    cleanup_error wr_error_t err = NULL;
    cleanup_json_reader json_object *obj =
        json_tokener_parse ("{\"lifetime\": {\"seconds\": 5, \"extra\": true}}");
    json_object *lifetime = json_object_object_get (obj, "lifetime");
    assert_int_equal (wr_api_json_check_fields (lifetime, inner, "request body", "lifetime", &err),
                      -1);
    assert_string_equal (err->message, "request body: lifetime: unknown field `extra` (known "
                                       "fields: seconds)");
    wr_error_free (&err);
    static const wr_api_field_t none[] = { { NULL, 0, false } };
    assert_int_equal (wr_api_json_check_fields (obj, none, "request body", "", &err), -1);
    assert_non_null (strstr (err->message, "(known fields: none)"));
}

static void
test_size_limit (void **state)
{
    size_t len = WR_API_MAX_JSON_BODY + 1;
    cleanup_free char *big = xmalloc (len + 1);
    memset (big, ' ', len);
    big[0] = '{';
    big[len - 1] = '}';
    big[len] = '\0';
    cleanup_error wr_error_t err = NULL;
    assert_null (wr_api_parse_json_body (big, len, WR_API_MAX_JSON_BODY, &err));
    assert_int_equal (wr_error_kind (err), WR_ERROR_LIMIT);
    assert_non_null (strstr (err->message, "too large"));
    wr_error_free (&err);
    cleanup_json_reader json_object *obj = wr_api_parse_json_body (big, len, len, &err);
    assert_non_null (obj);
}

static const char *
fake_lookup (void *conn, bool header, const char *name)
{
    if (header && strcmp (name, "X-Thing") == 0)
        return "header-value";
    if (!header && strcmp (name, "state") == 0)
        return "running";
    return NULL;
}

static void
test_params_and_lookup (void **state)
{
    wr_api_request_t req = { .lookup = fake_lookup };
    req.params.n = 2;
    req.params.names[0] = xstrdup ("id");
    req.params.values[0] = xstrdup ("ab12");
    req.params.names[1] = xstrdup ("pid");
    req.params.values[1] = xstrdup ("7");
    assert_string_equal (wr_api_request_param (&req, "id"), "ab12");
    assert_string_equal (wr_api_request_param (&req, "pid"), "7");
    assert_null (wr_api_request_param (&req, "other"));
    assert_string_equal (wr_api_request_header (&req, "X-Thing"), "header-value");
    assert_null (wr_api_request_header (&req, "state"));
    assert_string_equal (wr_api_request_query (&req, "state"), "running");
    wr_api_params_clear (&req.params);
    assert_int_equal (req.params.n, 0);
    wr_api_request_t bare = { 0 };
    assert_null (wr_api_request_header (&bare, "X-Thing"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_accepted),          cmocka_unit_test (test_refused),
        cmocka_unit_test (test_nested_fields),     cmocka_unit_test (test_size_limit),
        cmocka_unit_test (test_params_and_lookup),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
