/* Unit tests of api_v1.c: the route table is exactly the one
 * docs/openapi.json describes (paths and methods, both ways), and the
 * handlers answer as documented. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <json-c/json.h>
#include <string.h>

#include "api_v1.h"
#include "cleanup.h"
#include "json_reader.h"
#include "xalloc.h"

#ifndef WARREN_OPENAPI
#error "WARREN_OPENAPI: the path of docs/openapi.json"
#endif

static const char *const http_methods[] = { "get",  "put",   "post",  "delete", "options",
                                            "head", "patch", "trace", NULL };

static bool
in_table (const wr_api_route_t *routes, size_t n, const char *method, const char *path)
{
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp (routes[i].method, method) == 0 && strcmp (routes[i].pattern, path) == 0)
            return true;
    }
    return false;
}

static void
test_openapi_matches_routes (void **state)
{
    cleanup_json_reader json_object *doc = json_object_from_file (WARREN_OPENAPI);
    if (doc == NULL)
        fail_msg ("cannot read %s", WARREN_OPENAPI);
    assert_true (
        strncmp (json_object_get_string (json_object_object_get (doc, "openapi")), "3.0.", 4) == 0);
    json_object *paths = json_object_object_get (doc, "paths");
    assert_non_null (paths);
    size_t n;
    const wr_api_route_t *routes = wr_api_v1_routes (&n);
    assert_true (n > 0);

    /* Every operation of the file is a route. */
    size_t operations = 0;
    json_object_object_foreach (paths, path, item)
    {
        json_object_object_foreach (item, key, op)
        {
            bool is_method = false;
            for (size_t m = 0; http_methods[m] != NULL; m++)
                is_method |= strcmp (key, http_methods[m]) == 0;
            if (!is_method)
                continue;
            operations++;
            if (!in_table (routes, n, key, path))
                fail_msg ("docs/openapi.json has %s %s, which the server does not route", key,
                          path);
            /* Public routes and only those say they need no token. */
            json_object *security = NULL;
            bool open = json_object_object_get_ex (op, "security", &security) &&
                        json_object_array_length (security) == 0;
            for (size_t i = 0; i < n; i++) {
                if (strcasecmp (routes[i].method, key) == 0 &&
                    strcmp (routes[i].pattern, path) == 0)
                    assert_int_equal (open, (routes[i].flags & WR_API_ROUTE_PUBLIC) != 0);
            }
        }
    }
    /* Every route is in the file. */
    for (size_t i = 0; i < n; i++) {
        json_object *route_item = json_object_object_get (paths, routes[i].pattern);
        cleanup_free char *lower = xstrdup (routes[i].method);
        for (char *p = lower; *p != '\0'; p++)
            *p = (char) tolower ((unsigned char) *p);
        if (route_item == NULL || json_object_object_get (route_item, lower) == NULL)
            fail_msg ("route %s %s is not in docs/openapi.json", routes[i].method,
                      routes[i].pattern);
        assert_non_null (routes[i].summary);
    }
    assert_int_equal (operations, n);
}

static void
call (const char *method, const char *path, wr_api_response_t *resp)
{
    wr_api_v1_t v1 = { .version = "9.8.7" };
    cleanup_error wr_error_t err = NULL;
    wr_api_router_t *router = wr_api_v1_router (&v1, &err);
    assert_non_null (router);
    const wr_api_route_t *route;
    wr_api_request_t req = { .method = method, .path = path, .body = "" };
    assert_int_equal (wr_api_router_match (router, method, path, &route, &req.params, NULL),
                      WR_API_MATCH_FOUND);
    assert_int_equal (route->handler (&req, resp, &v1, &err), 0);
    wr_api_params_clear (&req.params);
    wr_api_router_free (router);
}

/* Calls a handler that must fail, returning its error. */
static wr_error_t
call_failing (const char *method, const char *path)
{
    wr_api_v1_t v1 = { .version = "9.8.7" };
    wr_error_t err = NULL;
    wr_api_router_t *router = wr_api_v1_router (&v1, &err);
    assert_non_null (router);
    const wr_api_route_t *route;
    wr_api_request_t req = { .method = method, .path = path, .body = "{}", .body_len = 2 };
    assert_int_equal (wr_api_router_match (router, method, path, &route, &req.params, NULL),
                      WR_API_MATCH_FOUND);
    wr_api_response_t resp = { 0 };
    assert_int_equal (route->handler (&req, &resp, &v1, &err), -1);
    wr_api_response_clear (&resp);
    wr_api_params_clear (&req.params);
    wr_api_router_free (router);
    return err;
}

static void
test_handlers (void **state)
{
    wr_api_response_t resp = { 0 };
    call ("GET", "/v1/health", &resp);
    assert_int_equal (resp.status, 200);
    assert_string_equal (resp.body, "{\"status\":\"ok\",\"version\":\"9.8.7\"}\n");
    wr_api_response_clear (&resp);

    call ("GET", "/v1/version", &resp);
    assert_int_equal (resp.status, 200);
    cleanup_json_reader json_object *obj = json_tokener_parse (resp.body);
    assert_string_equal (json_object_get_string (json_object_object_get (obj, "version")), "9.8.7");
    wr_api_response_clear (&resp);

    /* Without a sandbox service behind them, the sandbox routes say so. */
    const char *later[][2] = {
        { "GET", "/v1/sandboxes" },
        { "POST", "/v1/sandboxes" },
        { "GET", "/v1/sandboxes/ab" },
        { "DELETE", "/v1/sandboxes/ab" },
        { "GET", "/metrics" },
        { "GET", "/v1/sandboxes/ab/processes" },
        { "GET", "/v1/sandboxes/ab/processes/p1" },
    };
    for (size_t i = 0; i < sizeof later / sizeof later[0]; i++) {
        wr_error_t err = call_failing (later[i][0], later[i][1]);
        assert_int_equal (wr_error_kind (err), WR_ERROR_UNAVAILABLE);
        assert_non_null (strstr (err->message, "no sandbox service"));
        wr_error_free (&err);
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_openapi_matches_routes),
        cmocka_unit_test (test_handlers),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
