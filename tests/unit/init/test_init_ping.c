/* Unit tests of warren-init's ping.c: HTTP response parsing, and GET /_ping
 * against a real unix socket served by the test itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "ping.h"

static int
parse (const char *text, bool eof, http_response_t *response, wr_error_t *err)
{
    return http_response_parse (text, strlen (text), eof, response, err);
}

static void
test_parse_docker_answer (void **state)
{
    const char *answer = "HTTP/1.0 200 OK\r\n"
                         "Api-Version: 1.41\r\n"
                         "Content-Length: 2\r\n"
                         "Content-Type: text/plain; charset=utf-8\r\n"
                         "\r\n"
                         "OK";
    http_response_t r;
    assert_int_equal (parse (answer, false, &r, NULL), 1);
    assert_int_equal (r.status, 200);
    assert_int_equal (r.body_len, 2);
    assert_memory_equal (r.body, "OK", 2);
}

static void
test_parse_needs_more (void **state)
{
    http_response_t r;
    assert_int_equal (parse ("", false, &r, NULL), 0);
    assert_int_equal (parse ("HTTP/1.", false, &r, NULL), 0);
    assert_int_equal (parse ("HTTP/1.1 200 OK\r\n", false, &r, NULL), 0);
    assert_int_equal (parse ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nO", false, &r, NULL), 0);
    /* Without Content-Length the body ends when the server closes. */
    assert_int_equal (parse ("HTTP/1.0 200 OK\r\n\r\nOK", false, &r, NULL), 0);
    assert_int_equal (parse ("HTTP/1.0 200 OK\r\n\r\nOK", true, &r, NULL), 1);
    assert_int_equal (r.body_len, 2);
}

static void
test_parse_other_status_and_bare_newlines (void **state)
{
    http_response_t r;
    assert_int_equal (
        parse ("HTTP/1.1 500 Internal Server Error\nContent-Length: 5\n\nerror", false, &r, NULL),
        1);
    assert_int_equal (r.status, 500);
    assert_int_equal (r.body_len, 5);
    /* Header names are case-insensitive. */
    assert_int_equal (
        parse ("HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n", false, &r, NULL), 1);
    assert_int_equal (r.status, 204);
    assert_int_equal (r.body_len, 0);
}

static void
test_parse_rejects_what_is_not_http (void **state)
{
    http_response_t r;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (parse ("SSH-2.0-OpenSSH\r\n", false, &r, &err), -1);
    assert_non_null (strstr (err->message, "not HTTP/1.x"));
    wr_error_free (&err);
    assert_int_equal (parse ("HTTP/1.1 2x0 OK\r\n\r\n", false, &r, &err), -1);
    assert_non_null (strstr (err->message, "malformed HTTP status line"));
    wr_error_free (&err);
    assert_int_equal (parse ("HTTP/1.1 2000 OK\r\n\r\n", false, &r, &err), -1);
    wr_error_free (&err);
    assert_int_equal (parse ("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false, &r, &err), -1);
    assert_non_null (strstr (err->message, "Content-Length"));
}

/* A listening socket at a fresh path. */
static int
listen_at (char *path, size_t size)
{
    snprintf (path, size, "/tmp/warren-init-ping-test-%d.sock", (int) getpid ());
    unlink (path);
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true (fd >= 0);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    strcpy (addr.sun_path, path);
    assert_int_equal (bind (fd, (struct sockaddr *) &addr, sizeof addr), 0);
    assert_int_equal (listen (fd, 4), 0);
    return fd;
}

/* Accepts the ping's connection and checks what it asked. */
static int
accept_request (int listener)
{
    int conn = accept4 (listener, NULL, NULL, SOCK_CLOEXEC);
    assert_true (conn >= 0);
    char request[512];
    ssize_t n = read (conn, request, sizeof request - 1);
    assert_true (n > 0);
    request[n] = '\0';
    assert_true (strncmp (request, "GET /_ping HTTP/1.0\r\n", 21) == 0);
    assert_non_null (strstr (request, "\r\n\r\n"));
    return conn;
}

static ping_state_t
read_when_ready (ping_t *ping, wr_error_t *err)
{
    struct pollfd pfd = { .fd = ping->fd, .events = POLLIN };
    assert_int_equal (poll (&pfd, 1, 2000), 1);
    return ping_read (ping, err);
}

static void
test_ping_ready (void **state)
{
    char path[108];
    cleanup_close int listener = listen_at (path, sizeof path);
    ping_t ping = PING_INIT;
    assert_int_equal (ping_start (&ping, path, NULL), 0);
    cleanup_close int conn = accept_request (listener);
    const char answer[] = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nOK";
    assert_int_equal (write (conn, answer, sizeof answer - 1), sizeof answer - 1);
    assert_int_equal (read_when_ready (&ping, NULL), PING_READY);
    ping_close (&ping);
    unlink (path);
}

static void
test_ping_answer_in_pieces (void **state)
{
    char path[108];
    cleanup_close int listener = listen_at (path, sizeof path);
    ping_t ping = PING_INIT;
    assert_int_equal (ping_start (&ping, path, NULL), 0);
    cleanup_close int conn = accept_request (listener);
    assert_int_equal (write (conn, "HTTP/1.0 200 OK\r\n", 17), 17);
    assert_int_equal (read_when_ready (&ping, NULL), PING_PENDING);
    assert_int_equal (write (conn, "\r\nOK", 4), 4);
    /* No Content-Length: only the close ends the body. */
    assert_int_equal (read_when_ready (&ping, NULL), PING_PENDING);
    close (steal_fd (&conn));
    assert_int_equal (read_when_ready (&ping, NULL), PING_READY);
    ping_close (&ping);
    unlink (path);
}

static void
test_ping_not_ready_answers (void **state)
{
    char path[108];
    cleanup_close int listener = listen_at (path, sizeof path);
    const char *answers[] = {
        "HTTP/1.0 500 Internal Server Error\r\nContent-Length: 2\r\n\r\nOK",
        "HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\nNOPE", "", /* closed without a word */
    };
    for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
        ping_t ping = PING_INIT;
        assert_int_equal (ping_start (&ping, path, NULL), 0);
        int conn = accept_request (listener);
        size_t len = strlen (answers[i]);
        assert_int_equal (write (conn, answers[i], len), (ssize_t) len);
        close (conn);
        cleanup_error wr_error_t err = NULL;
        assert_int_equal (read_when_ready (&ping, &err), PING_FAILED);
        assert_non_null (err);
        ping_close (&ping);
    }
    unlink (path);
}

static void
test_ping_no_socket (void **state)
{
    ping_t ping = PING_INIT;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (ping_start (&ping, "/tmp/warren-init-no-such-socket", &err), -1);
    assert_int_equal (err->errno_value, ENOENT);
    assert_non_null (strstr (err->message, "/tmp/warren-init-no-such-socket"));
    assert_int_equal (ping.fd, -1);
}

static void
test_ping_refused (void **state)
{
    /* A socket file nobody listens on any more (a stale docker.sock). */
    char path[108];
    int listener = listen_at (path, sizeof path);
    close (listener);
    ping_t ping = PING_INIT;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (ping_start (&ping, path, &err), -1);
    assert_int_equal (err->errno_value, ECONNREFUSED);
    unlink (path);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_parse_docker_answer),
        cmocka_unit_test (test_parse_needs_more),
        cmocka_unit_test (test_parse_other_status_and_bare_newlines),
        cmocka_unit_test (test_parse_rejects_what_is_not_http),
        cmocka_unit_test (test_ping_ready),
        cmocka_unit_test (test_ping_answer_in_pieces),
        cmocka_unit_test (test_ping_not_ready_answers),
        cmocka_unit_test (test_ping_no_socket),
        cmocka_unit_test (test_ping_refused),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
