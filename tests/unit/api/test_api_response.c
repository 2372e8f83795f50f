/* Unit tests of api_response.c: the kind -> status map and error bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "api_events.h"
#include "api_response.h"
#include "cleanup.h"
#include "error.h"
#include "json_reader.h"

static void
test_status_of_kind (void **state)
{
    assert_int_equal (wr_api_status_of_kind (WR_ERROR_INVALID), 400);
    assert_int_equal (wr_api_status_of_kind (WR_ERROR_NOT_FOUND), 404);
    assert_int_equal (wr_api_status_of_kind (WR_ERROR_EXISTS), 409);
    assert_int_equal (wr_api_status_of_kind (WR_ERROR_LIMIT), 413);
    assert_int_equal (wr_api_status_of_kind (WR_ERROR_UNAVAILABLE), 503);
    assert_int_equal (wr_api_status_of_kind (WR_ERROR_CANCELLED), 409);
    assert_int_equal (wr_api_status_of_kind (WR_ERROR_INTERNAL), 500);
    assert_int_equal (wr_api_status_of_kind ((wr_error_kind_t) 99), 500);
}

static json_object *
parse_body (const wr_api_response_t *resp)
{
    assert_non_null (resp->body);
    assert_int_equal (strlen (resp->body), resp->body_len);
    assert_int_equal (resp->body[resp->body_len - 1], '\n');
    json_object *obj = json_tokener_parse (resp->body);
    assert_non_null (obj);
    return obj;
}

static void
check_error (const wr_api_response_t *resp, unsigned status, const char *kind, const char *message)
{
    assert_int_equal (resp->status, status);
    assert_string_equal (resp->content_type, "application/json");
    cleanup_json_reader json_object *obj = parse_body (resp);
    json_object *error = json_object_object_get (obj, "error");
    assert_non_null (error);
    assert_int_equal (json_object_object_length (obj), 1);
    assert_int_equal (json_object_object_length (error), 2);
    assert_string_equal (json_object_get_string (json_object_object_get (error, "kind")), kind);
    assert_string_equal (json_object_get_string (json_object_object_get (error, "message")),
                         message);
}

static void
test_error_from_kind (void **state)
{
    struct {
        int errno_value;
        wr_error_kind_t kind;
        unsigned status;
        const char *name;
    } cases[] = {
        { ENOENT, WR_ERROR_NOT_FOUND, 404, "not_found" },
        { EEXIST, WR_ERROR_EXISTS, 409, "exists" },
        { 0, WR_ERROR_INVALID, 400, "invalid" },
        { ENOSPC, WR_ERROR_LIMIT, 413, "limit" },
        { ETIMEDOUT, WR_ERROR_UNAVAILABLE, 503, "unavailable" },
        { ECANCELED, WR_ERROR_CANCELLED, 409, "cancelled" },
        { EIO, WR_ERROR_INTERNAL, 500, "internal" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cleanup_error wr_error_t err = NULL;
        wr_error_set (&err, cases[i].errno_value, "sandbox `ab12`");
        assert_int_equal (wr_error_kind (err), cases[i].kind);
        wr_api_response_t resp = { 0 };
        wr_api_response_error (&resp, err);
        check_error (&resp, cases[i].status, cases[i].name, err->message);
        wr_api_response_clear (&resp);
    }
    /* No error at all is an internal one, still JSON. */
    wr_api_response_t resp = { 0 };
    wr_api_response_error (&resp, NULL);
    check_error (&resp, 500, "internal", "internal error");
    wr_api_response_clear (&resp);
}

static void
test_error_status_and_json (void **state)
{
    wr_api_response_t resp = { 0 };
    wr_api_response_error_status (&resp, 501, "unavailable", "not \"yet\"\nreally");
    check_error (&resp, 501, "unavailable", "not \"yet\"\nreally");
    /* The body is one line, whatever the message holds. */
    assert_null (memchr (resp.body, '\n', resp.body_len - 1));

    json_object *body = json_object_new_object ();
    json_object_object_add (body, "path", json_object_new_string ("/v1/x"));
    wr_api_response_json (&resp, 201, body);
    assert_int_equal (resp.status, 201);
    assert_string_equal (resp.body, "{\"path\":\"/v1/x\"}\n");
    wr_api_response_clear (&resp);
    assert_null (resp.body);
    assert_int_equal (resp.status, 0);

    wr_api_response_events (&resp, wr_api_events_new (0));
    assert_int_equal (resp.status, 200);
    assert_string_equal (resp.content_type, "application/x-ndjson");
    assert_non_null (resp.events);
    wr_api_response_clear (&resp);
    assert_null (resp.events);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_status_of_kind),
        cmocka_unit_test (test_error_from_kind),
        cmocka_unit_test (test_error_status_and_json),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
