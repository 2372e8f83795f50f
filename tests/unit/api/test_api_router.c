/* Unit tests of api_router.c: patterns, parameters, 404 and 405 with
 * Allow, malformed tables, hostile paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "api_router.h"
#include "cleanup.h"
#include "xalloc.h"

static int
handler (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    return 0;
}

static const wr_api_route_t routes[] = {
    { "GET", "/v1/health", handler, WR_API_ROUTE_PUBLIC, 0, "health" },
    { "GET", "/v1/sandboxes", handler, 0, 0, "list" },
    { "POST", "/v1/sandboxes", handler, 0, 0, "create" },
    { "GET", "/v1/sandboxes/{id}", handler, 0, 0, "get" },
    { "DELETE", "/v1/sandboxes/{id}", handler, 0, 0, "delete" },
    { "GET", "/v1/sandboxes/{id}/processes/{pid}", handler, 0, 0, "process" },
    { "POST", "/v1/sandboxes/{id}/processes/{pid}/signal", handler, 0, 0, "signal" },
};

static wr_api_router_t *
router_of_table (void)
{
    cleanup_error wr_error_t err = NULL;
    int data = 42;
    static int stored;
    stored = data;
    wr_api_router_t *router =
        wr_api_router_new (routes, sizeof routes / sizeof routes[0], &stored, &err);
    assert_non_null (router);
    assert_null (err);
    assert_ptr_equal (wr_api_router_data (router), &stored);
    assert_int_equal (wr_api_router_count (router), 7);
    assert_ptr_equal (wr_api_router_route (router, 3), &routes[3]);
    assert_null (wr_api_router_route (router, 7));
    return router;
}

static void
test_match_params (void **state)
{
    wr_api_router_t *router = router_of_table ();
    const wr_api_route_t *route;
    wr_api_params_t params;
    assert_int_equal (wr_api_router_match (router, "GET", "/v1/health", &route, &params, NULL),
                      WR_API_MATCH_FOUND);
    assert_ptr_equal (route, &routes[0]);
    assert_int_equal (params.n, 0);

    assert_int_equal (
        wr_api_router_match (router, "DELETE", "/v1/sandboxes/ab12", &route, &params, NULL),
        WR_API_MATCH_FOUND);
    assert_ptr_equal (route, &routes[4]);
    assert_int_equal (params.n, 1);
    assert_string_equal (wr_api_params_get (&params, "id"), "ab12");
    assert_null (wr_api_params_get (&params, "pid"));
    wr_api_params_clear (&params);

    assert_int_equal (
        wr_api_router_match (router, "GET", "/v1/sandboxes/s1/processes/77", &route, &params, NULL),
        WR_API_MATCH_FOUND);
    assert_ptr_equal (route, &routes[5]);
    assert_string_equal (wr_api_params_get (&params, "id"), "s1");
    assert_string_equal (wr_api_params_get (&params, "pid"), "77");
    wr_api_params_clear (&params);

    assert_int_equal (wr_api_router_match (router, "POST", "/v1/sandboxes/s1/processes/77/signal",
                                           &route, &params, NULL),
                      WR_API_MATCH_FOUND);
    assert_ptr_equal (route, &routes[6]);
    wr_api_params_clear (&params);
    wr_api_router_free (router);
}

static void
test_not_found_and_method (void **state)
{
    wr_api_router_t *router = router_of_table ();
    const wr_api_route_t *route;
    wr_api_params_t params;
    char *allow = NULL;
    const char *missing[] = {
        "/",
        "",
        "v1/health",
        "/v1",
        "/v1/health/",
        "/v1//health",
        "/v2/health",
        "/v1/sandboxes/",
        "/v1/sandboxes//processes/1",
        "/v1/sandboxes/a/processes",
        "/v1/sandboxes/a/b/c/d",
        "/v1/health\x01",
        "/V1/health",
    };
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        assert_int_equal (wr_api_router_match (router, "GET", missing[i], &route, &params, &allow),
                          WR_API_MATCH_NO_PATH);
        assert_null (route);
        assert_null (allow);
        assert_int_equal (params.n, 0);
    }
    assert_int_equal (wr_api_router_match (router, "GET", NULL, &route, &params, &allow),
                      WR_API_MATCH_NO_PATH);

    assert_int_equal (
        wr_api_router_match (router, "PUT", "/v1/sandboxes/x", &route, &params, &allow),
        WR_API_MATCH_NO_METHOD);
    assert_null (route);
    assert_int_equal (params.n, 0);
    assert_string_equal (allow, "GET, DELETE");
    free (allow);
    assert_int_equal (
        wr_api_router_match (router, "DELETE", "/v1/sandboxes", &route, &params, &allow),
        WR_API_MATCH_NO_METHOD);
    assert_string_equal (allow, "GET, POST");
    free (allow);
    assert_int_equal (wr_api_router_match (router, "get", "/v1/health", &route, &params, &allow),
                      WR_API_MATCH_NO_METHOD);
    assert_string_equal (allow, "GET");
    free (allow);
    wr_api_router_free (router);
}

static void
test_hostile_paths (void **state)
{
    wr_api_router_t *router = router_of_table ();
    const wr_api_route_t *route;
    wr_api_params_t params;
    /* Too long a parameter, too long a path, too many segments. */
    cleanup_free char *long_id = xzalloc (WR_API_MAX_PARAM + 2);
    memset (long_id, 'a', WR_API_MAX_PARAM + 1);
    cleanup_free char *path = xasprintf ("/v1/sandboxes/%s", long_id);
    assert_int_equal (wr_api_router_match (router, "GET", path, &route, &params, NULL),
                      WR_API_MATCH_NO_PATH);
    long_id[WR_API_MAX_PARAM] = '\0';
    free (path);
    path = xasprintf ("/v1/sandboxes/%s", long_id);
    assert_int_equal (wr_api_router_match (router, "GET", path, &route, &params, NULL),
                      WR_API_MATCH_FOUND);
    wr_api_params_clear (&params);
    cleanup_free char *huge = xzalloc (WR_API_MAX_PATH + 2);
    memset (huge, '/', WR_API_MAX_PATH + 1);
    assert_int_equal (wr_api_router_match (router, "GET", huge, &route, &params, NULL),
                      WR_API_MATCH_NO_PATH);
    wr_api_router_free (router);
}

static void
test_bad_tables (void **state)
{
    const char *bad[] = {
        "v1/x",       "/v1//x",      "/v1/x/",
        "/v1/{}",     "/v1/{a",      "/v1/a}",
        "/v1/x{a}",   "/v1/{a}/{a}", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}",
        "/v1/{a{b}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cleanup_error wr_error_t err = NULL;
        wr_api_route_t route = { "GET", bad[i], handler, 0, 0, NULL };
        assert_null (wr_api_router_new (&route, 1, NULL, &err));
        assert_non_null (err);
        assert_non_null (strstr (err->message, bad[i]));
    }
    cleanup_error wr_error_t err = NULL;
    wr_api_route_t twice[] = {
        { "GET", "/v1/x", handler, 0, 0, NULL },
        { "GET", "/v1/x", handler, 0, 0, NULL },
    };
    assert_null (wr_api_router_new (twice, 2, NULL, &err));
    assert_int_equal (wr_error_kind (err), WR_ERROR_EXISTS);
    wr_error_free (&err);
    wr_api_route_t no_handler = { "GET", "/v1/x", NULL, 0, 0, NULL };
    assert_null (wr_api_router_new (&no_handler, 1, NULL, &err));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_match_params),
        cmocka_unit_test (test_not_found_and_method),
        cmocka_unit_test (test_hostile_paths),
        cmocka_unit_test (test_bad_tables),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
