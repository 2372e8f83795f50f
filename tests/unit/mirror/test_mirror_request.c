/* The request head parser and the routes: limits, incomplete heads,
 * pipelined requests, keep-alive by HTTP version, the Accept headers, the
 * repository name grammar, tags and digests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirror_request.h"
#include "xalloc.h"

#define DIGEST "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static int
parse (const char *text, wr_mirror_request_t *req, size_t *head_len, int *status)
{
    wr_error_t err = NULL;
    int r = wr_mirror_request_parse (text, strlen (text), req, head_len, status, &err);
    if (r < 0) {
        assert_non_null (err);
        assert_non_null (err->message);
    }
    wr_error_free (&err);
    return r;
}

static void
test_parse (void **state)
{
    wr_mirror_request_t req;
    size_t n;
    int status;
    const char *text = "GET /v2/library/nginx/manifests/latest?x=1 HTTP/1.1\r\n"
                       "Host: 127.0.0.1:5999\r\n"
                       "Accept: application/vnd.oci.image.index.v1+json\r\n"
                       "accept:   application/vnd.docker.distribution.manifest.v2+json  \r\n"
                       "\r\n"
                       "GET /v2/ HTTP/1.1\r\n\r\n";
    assert_int_equal (parse (text, &req, &n, &status), 1);
    assert_string_equal (req.method, "GET");
    assert_string_equal (req.path, "/v2/library/nginx/manifests/latest");
    assert_int_equal (req.minor, 1);
    assert_true (req.keep_alive);
    assert_false (req.has_body);
    assert_string_equal (req.accept, "application/vnd.oci.image.index.v1+json, "
                                     "application/vnd.docker.distribution.manifest.v2+json");
    /* The head ends where the pipelined request starts. */
    assert_string_equal (text + n, "GET /v2/ HTTP/1.1\r\n\r\n");
    wr_mirror_request_clear (&req);

    /* Every prefix of a head is "not yet". */
    for (size_t len = 0; len < n; len++) {
        wr_error_t err = NULL;
        assert_int_equal (wr_mirror_request_parse (text, len, &req, &n, &status, &err), 0);
        assert_null (req.path);
    }

    /* Keep-alive: HTTP/1.1 unless close; HTTP/1.0 only when asked. */
    assert_int_equal (
        parse ("HEAD /v2/ HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n", &req, &n, &status),
        1);
    assert_false (req.keep_alive);
    wr_mirror_request_clear (&req);
    assert_int_equal (parse ("GET /v2/ HTTP/1.0\r\n\r\n", &req, &n, &status), 1);
    assert_false (req.keep_alive);
    wr_mirror_request_clear (&req);
    assert_int_equal (
        parse ("GET /v2/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &req, &n, &status), 1);
    assert_true (req.keep_alive);
    wr_mirror_request_clear (&req);
    /* Bodies are noticed, Content-Length: 0 is none. */
    assert_int_equal (parse ("POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &req, &n, &status),
                      1);
    assert_false (req.has_body);
    wr_mirror_request_clear (&req);
    assert_int_equal (parse ("PUT /x HTTP/1.1\r\nContent-Length: 12\r\n\r\n", &req, &n, &status),
                      1);
    assert_true (req.has_body);
    wr_mirror_request_clear (&req);
    /* A few empty lines before a request are skipped. */
    assert_int_equal (parse ("\r\n\r\nGET /v2/ HTTP/1.1\r\n\r\n", &req, &n, &status), 1);
    assert_string_equal (req.path, "/v2/");
    wr_mirror_request_clear (&req);
}

static void
expect_refused (const char *text, size_t len, int expected)
{
    wr_mirror_request_t req;
    size_t n;
    int status = 0;
    wr_error_t err = NULL;
    if (wr_mirror_request_parse (text, len, &req, &n, &status, &err) != -1)
        fail_msg ("accepted: `%.60s`", text);
    assert_int_equal (status, expected);
    assert_null (req.path);
    wr_error_free (&err);
}

static void
test_refused (void **state)
{
    expect_refused ("GET\r\n\r\n", 7, 400);
    expect_refused ("GET  /v2/ HTTP/1.1\r\n\r\n", 22, 400);
    expect_refused ("GET v2 HTTP/1.1\r\n\r\n", 19, 400);
    expect_refused ("GET http://x/v2/ HTTP/1.1\r\n\r\n", 29, 400);
    expect_refused ("GET /v2/ HTTP/1.1 \r\n\r\n", 22, 400);
    expect_refused ("GET /v2/ HTTP/3.0\r\n\r\n", 21, 505);
    expect_refused ("GET /v2/ HTTP/1.2\r\n\r\n", 21, 505);
    expect_refused ("GET /v2/ FTP/1.1\r\n\r\n", 20, 400);
    expect_refused ("G(T /v2/ HTTP/1.1\r\n\r\n", 21, 400);
    expect_refused ("AVERYLONGMETHODNAME /v2/ HTTP/1.1\r\n\r\n", 37, 400);
    expect_refused ("GET /v2/\x7f HTTP/1.1\r\n\r\n", 22, 400);
    expect_refused ("GET /v2/ HTTP/1.1\r\n folded\r\n\r\n", 30, 400);
    expect_refused ("GET /v2/ HTTP/1.1\r\nNo colon\r\n\r\n", 30, 400);
    expect_refused ("GET /v2/ HTTP/1.1\r\nBad Name: x\r\n\r\n", 33, 400);
    expect_refused ("GET /v2/ HTTP/1.1\r\nX: a\x01\r\n\r\n", 27, 400);
    expect_refused ("GET /v2/ HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 41, 400);
    expect_refused ("GET /v2/ HTTP/1.1\nX: y\r\n\r\n", 25, 400);

    /* Limits: a line, the head, the header count. */
    static char line[WR_MIRROR_MAX_LINE + 101];
    size_t big = sizeof line - 1;
    memcpy (line, "GET /", 5);
    memset (line + 5, 'a', big - 5);
    line[big] = '\0';
    expect_refused (line, big, 414);
    memcpy (line, "GET / HTTP/1.1\r\nX: ", 19);
    expect_refused (line, big, 431);
    char *head = xmalloc (WR_MIRROR_MAX_HEAD + 2048);
    strcpy (head, "GET / HTTP/1.1\r\n");
    for (int i = 0; strlen (head) < WR_MIRROR_MAX_HEAD + 100; i++)
        sprintf (head + strlen (head), "X-%d: %0500d\r\n", i, 0);
    expect_refused (head, strlen (head), 431);
    strcpy (head, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 65; i++)
        sprintf (head + strlen (head), "X-%d: 1\r\n", i);
    strcat (head, "\r\n");
    expect_refused (head, strlen (head), 431);
    free (head);
}

static void
expect_route (const char *path, wr_mirror_route_kind_t kind, const char *name,
              const char *reference, bool by_digest)
{
    wr_mirror_route_t route;
    int status = 0;
    const char *code = NULL;
    wr_error_t err = NULL;
    if (wr_mirror_route_parse (path, &route, &status, &code, &err) < 0)
        fail_msg ("%s: %s", path, err->message);
    assert_int_equal (route.kind, kind);
    if (name == NULL) {
        assert_null (route.name);
    } else {
        assert_string_equal (route.name, name);
        assert_string_equal (route.reference, reference);
        assert_int_equal (route.by_digest, by_digest);
    }
    wr_mirror_route_clear (&route);
}

static void
expect_bad_route (const char *path, int expected, const char *expected_code)
{
    wr_mirror_route_t route;
    int status = 0;
    const char *code = NULL;
    wr_error_t err = NULL;
    if (wr_mirror_route_parse (path, &route, &status, &code, &err) == 0)
        fail_msg ("accepted: %s", path);
    assert_int_equal (status, expected);
    assert_string_equal (code, expected_code);
    assert_null (route.name);
    wr_error_free (&err);
}

static void
test_routes (void **state)
{
    expect_route ("/v2/", WR_MIRROR_ROUTE_BASE, NULL, NULL, false);
    expect_route ("/v2", WR_MIRROR_ROUTE_BASE, NULL, NULL, false);
    expect_route ("/v2/library/nginx/manifests/1.25-alpine", WR_MIRROR_ROUTE_MANIFEST,
                  "library/nginx", "1.25-alpine", false);
    expect_route ("/v2/library/nginx/manifests/" DIGEST, WR_MIRROR_ROUTE_MANIFEST, "library/nginx",
                  DIGEST, true);
    expect_route ("/v2/a/b/c/blobs/" DIGEST, WR_MIRROR_ROUTE_BLOB, "a/b/c", DIGEST, true);
    /* A repository may have a component named like a route. */
    expect_route ("/v2/x/manifests/blobs/" DIGEST, WR_MIRROR_ROUTE_BLOB, "x/manifests", DIGEST,
                  true);
    expect_route ("/v2/my_org/a__b/c-d---e/f.g/manifests/_x", WR_MIRROR_ROUTE_MANIFEST,
                  "my_org/a__b/c-d---e/f.g", "_x", false);

    expect_bad_route ("/", 404, "UNSUPPORTED");
    expect_bad_route ("/v1/x/manifests/latest", 404, "UNSUPPORTED");
    expect_bad_route ("/v2/_catalog", 404, "UNSUPPORTED");
    expect_bad_route ("/v2/x/tags/list", 404, "UNSUPPORTED");
    expect_bad_route ("/v2/manifests/latest", 404, "UNSUPPORTED");
    expect_bad_route ("/v2/x/blobs/uploads/", 404, "UNSUPPORTED");
    expect_bad_route ("/v2/../manifests/latest", 400, "NAME_INVALID");
    expect_bad_route ("/v2/a/../b/manifests/latest", 400, "NAME_INVALID");
    expect_bad_route ("/v2/a//b/manifests/latest", 400, "NAME_INVALID");
    expect_bad_route ("/v2//a/manifests/latest", 400, "NAME_INVALID");
    expect_bad_route ("/v2/A/manifests/latest", 400, "NAME_INVALID");
    expect_bad_route ("/v2/a./manifests/latest", 400, "NAME_INVALID");
    expect_bad_route ("/v2/a___b/manifests/latest", 400, "NAME_INVALID");
    expect_bad_route ("/v2/-a/manifests/latest", 400, "NAME_INVALID");
    expect_bad_route ("/v2/a%2fb/manifests/latest", 400, "NAME_INVALID");
    expect_bad_route ("/v2/a/manifests/", 400, "TAG_INVALID");
    expect_bad_route ("/v2/a/manifests/.x", 400, "TAG_INVALID");
    expect_bad_route ("/v2/a/manifests/sha256:abc", 400, "DIGEST_INVALID");
    expect_bad_route ("/v2/a/manifests/sha512:abc", 400, "DIGEST_INVALID");
    expect_bad_route ("/v2/a/blobs/latest", 400, "DIGEST_INVALID");
    char name[400];
    memset (name, 'a', sizeof name);
    strcpy (name + 256, "/manifests/latest");
    char path[500];
    snprintf (path, sizeof path, "/v2/%s", name);
    expect_bad_route (path, 400, "NAME_INVALID");
    assert_true (wr_mirror_name_valid ("library/nginx"));
    assert_false (wr_mirror_name_valid (""));
}

static void
test_accepts (void **state)
{
    assert_true (wr_mirror_accepts (NULL, "application/x"));
    assert_true (wr_mirror_accepts ("", "application/x"));
    assert_true (wr_mirror_accepts ("application/a, application/x; q=0.5", "application/x"));
    assert_true (wr_mirror_accepts ("text/plain, */*", "application/x"));
    assert_true (wr_mirror_accepts ("application/*", "application/x"));
    assert_false (wr_mirror_accepts ("application/a, application/xy", "application/x"));
    assert_false (wr_mirror_accepts ("application/x+json", "application/x"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_parse),
        cmocka_unit_test (test_refused),
        cmocka_unit_test (test_routes),
        cmocka_unit_test (test_accepts),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
