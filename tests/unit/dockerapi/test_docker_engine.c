/* Unit tests of docker_engine.c against a real HTTP server on a unix
 * socket (../client/http_stub.c): JSON answers (objects and arrays),
 * dockerd's errors to kinds and messages (quoted when hostile), streamed
 * answers and bodies, X-Registry-Auth, escaping, a stop mid-stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "docker_engine.h"
#include "http_stub.h"

static test_server_t server;
static wr_docker_t *docker;
static int stop_after; /* stop callbacks answered false before true; <0 never */

static bool
stop_cb (void *data)
{
    if (stop_after < 0)
        return false;
    return stop_after-- == 0;
}

static int
setup (void **state)
{
    test_server_start (&server);
    cleanup_error wr_error_t err = NULL;
    docker = wr_docker_new (server.path, stop_cb, NULL, &err);
    assert_non_null (docker);
    stop_after = -1;
    return 0;
}

static int
teardown (void **state)
{
    wr_docker_free (docker);
    test_server_stop (&server);
    return 0;
}

static void
answer_list (int fd, const test_request_t *req)
{
    test_answer (fd, 200, "application/json", "[{\"Id\":\"sha256:ab\"},{\"Id\":\"sha256:cd\"}]\n");
}

static void
test_json_array (void **state)
{
    test_server_set (&server, answer_list);
    cleanup_error wr_error_t err = NULL;
    json_object *out = NULL;
    assert_int_equal (wr_docker_json (docker, "GET", "/images/json", NULL, &out, &err), 0);
    assert_true (json_object_is_type (out, json_type_array));
    assert_int_equal (json_object_array_length (out), 2);
    json_object_put (out);
    test_request_t last;
    test_server_last (&server, &last);
    assert_string_equal (last.method, "GET");
    assert_string_equal (last.target, "/images/json");
    assert_false (wr_docker_answered_error (docker));
}

static void
answer_404 (int fd, const test_request_t *req)
{
    test_answer (fd, 404, "application/json", "{\"message\":\"No such image: nope:v1\"}");
}

static void
answer_hostile (int fd, const test_request_t *req)
{
    test_answer (fd, 500, "application/json", "{\"message\":\"bad\\u001b[31m\\nline\"}");
}

static void
answer_text (int fd, const test_request_t *req)
{
    test_answer (fd, 409, "text/plain", "conflict: in use");
}

static void
answer_broken (int fd, const test_request_t *req)
{
    test_answer (fd, 200, "application/json", "{\"Id\":");
}

static void
test_errors (void **state)
{
    cleanup_error wr_error_t err = NULL;
    test_server_set (&server, answer_404);
    assert_int_equal (wr_docker_json (docker, "DELETE", "/images/nope", NULL, NULL, &err), -1);
    assert_int_equal (err->kind, WR_ERROR_NOT_FOUND);
    assert_string_equal (err->message, "No such image: nope:v1");
    assert_true (wr_docker_answered_error (docker));
    wr_error_free (&err);

    test_server_set (&server, answer_hostile);
    assert_int_equal (wr_docker_json (docker, "GET", "/x", NULL, NULL, &err), -1);
    assert_int_equal (err->kind, WR_ERROR_INTERNAL);
    assert_string_equal (err->message, "bad\\x1b[31m\\x0aline");
    wr_error_free (&err);

    test_server_set (&server, answer_text);
    assert_int_equal (wr_docker_json (docker, "POST", "/x", NULL, NULL, &err), -1);
    assert_int_equal (err->kind, WR_ERROR_EXISTS);
    assert_string_equal (err->message, "conflict: in use");
    wr_error_free (&err);

    test_server_set (&server, answer_broken);
    assert_int_equal (wr_docker_json (docker, "GET", "/x", NULL, NULL, &err), -1);
    assert_int_equal (err->kind, WR_ERROR_INTERNAL);
    assert_non_null (strstr (err->message, "not JSON"));
    assert_false (wr_docker_answered_error (docker));
}

static void
answer_stream (int fd, const test_request_t *req)
{
    test_chunked_start (fd, 200, "application/json", NULL);
    test_chunk (fd, "{\"status\":\"a\"}\n{\"sta", 20);
    test_chunk (fd, "tus\":\"b\"}\n", 10);
    test_chunked_end (fd);
}

typedef struct {
    char buf[256];
    size_t len;
} sink_t;

static int
sink (void *data, const char *buf, size_t len, wr_error_t *err)
{
    sink_t *s = data;
    memcpy (s->buf + s->len, buf, len);
    s->len += len;
    return 0;
}

typedef struct {
    size_t left;
} source_t;

static ssize_t
source (void *data, char *buf, size_t max, wr_error_t *err)
{
    source_t *s = data;
    size_t n = s->left < max ? s->left : max;
    memset (buf, 'x', n);
    s->left -= n;
    return (ssize_t) n;
}

static void
test_stream_both_ways (void **state)
{
    test_server_set (&server, answer_stream);
    sink_t got = { 0 };
    source_t body = { .left = 300000 };
    wr_docker_request_t r = {
        .method = "POST",
        .path = "/build?t=a%3Ab",
        .read = source,
        .read_data = &body,
        .content_type = "application/x-tar",
        .registry_auth = "e30=",
        .on_data = sink,
        .data = &got,
    };
    cleanup_error wr_error_t err = NULL;
    long status = 0;
    assert_int_equal (wr_docker_call (docker, &r, &status, NULL, &err), 0);
    assert_int_equal (status, 200);
    assert_int_equal (got.len, 30);
    assert_memory_equal (got.buf, "{\"status\":\"a\"}\n{\"status\":\"b\"}\n", 30);
    test_request_t last;
    test_server_last (&server, &last);
    assert_true (last.chunked);
    assert_int_equal (last.body_len, 300000);
    char value[64];
    assert_true (test_header (&last, "X-Registry-Auth", value, sizeof value));
    assert_string_equal (value, "e30=");
    assert_true (test_header (&last, "Content-Type", value, sizeof value));
    assert_string_equal (value, "application/x-tar");
    assert_string_equal (last.target, "/build?t=a%3Ab");
}

static void
answer_slowly (int fd, const test_request_t *req)
{
    test_chunked_start (fd, 200, "application/octet-stream", NULL);
    test_chunk (fd, "early", 5);
    sleep (4);
    test_chunked_end (fd);
}

static void
test_stop (void **state)
{
    test_server_set (&server, answer_slowly);
    stop_after = 1;
    sink_t got = { 0 };
    wr_docker_request_t r = {
        .method = "GET", .path = "/containers/x/logs?follow=1", .on_data = sink, .data = &got
    };
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_docker_call (docker, &r, NULL, NULL, &err), -1);
    assert_int_equal (err->kind, WR_ERROR_CANCELLED);
    stop_after = -1;
}

static void
test_escape (void **state)
{
    cleanup_free char *a = wr_docker_escape ("127.0.0.1:5000/a/b:v1");
    assert_string_equal (a, "127.0.0.1%3A5000%2Fa%2Fb%3Av1");
    cleanup_free char *b = wr_docker_escape ("x y&z=\xff~_-.");
    assert_string_equal (b, "x%20y%26z%3D%FF~_-.");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_json_array, setup, teardown),
        cmocka_unit_test_setup_teardown (test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown (test_stream_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown (test_stop, setup, teardown),
        cmocka_unit_test (test_escape),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
