/* Unit tests of the client (client.c and the route files): a real HTTP
 * server (http_stub.c, a thread on a unix socket under /tmp) answers canned
 * answers; each test checks the request the client sent (method, path,
 * query, headers, body) and what it made of the answer: JSON bodies, event
 * streams split across reads, a 50 MB download and upload (checksums),
 * error bodies, and servers that send garbage or close mid-answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "client_files.h"
#include "client_process.h"
#include "client_sandbox.h"
#include "cleanup.h"
#include "http_stub.h"
#include "json_reader.h"
#include "strv.h"
#include "xalloc.h"

static test_server_t server;
static wr_client_t *client;

static const char sandbox_json[] =
    "{\"id\":\"sb-3f9c2a1b7d4e8f60\",\"name\":\"ci-42\",\"labels\":{\"team\":\"ml\"},"
    "\"state\":\"running\",\"reason\":null,\"image\":\"127.0.0.1:5000/test/debian:v1\","
    "\"cpu\":1.0,\"memory\":1073741824,\"docker_enabled\":true,\"keep_warm_seconds\":600,"
    "\"created_ms\":1796250000000,\"docker_socket\":\"/run/warren/sandboxes/sb-3f/docker.sock\"}";

static int
setup (void **state)
{
    test_server_start (&server);
    wr_client_options_t opts = { .host = server.path, .timeout_ms = 20000 };
    cleanup_error wr_error_t err = NULL;
    client = wr_client_new (&opts, &err);
    assert_non_null (client);
    return 0;
}

static int
teardown (void **state)
{
    wr_client_free (client);
    test_server_stop (&server);
    return 0;
}

static test_request_t last;

static void
fetch_last (void)
{
    test_server_last (&server, &last);
}

static void
assert_header (const char *name, const char *want)
{
    char value[1024];
    assert_true (test_header (&last, name, value, sizeof value));
    assert_string_equal (value, want);
}

/* ---- plain JSON ---- */

static void
answer_health (int fd, const test_request_t *req)
{
    test_answer (fd, 200, "application/json", "{\"status\":\"ok\",\"version\":\"0.1.0\"}");
}

static void
test_health (void **state)
{
    test_server_set (&server, answer_health);
    cleanup_error wr_error_t err = NULL;
    cleanup_json_reader json_object *health = NULL;
    assert_int_equal (wr_client_health (client, &health, &err), 0);
    assert_string_equal (json_object_get_string (json_object_object_get (health, "version")),
                         "0.1.0");
    fetch_last ();
    assert_string_equal (last.method, "GET");
    assert_string_equal (last.target, "/v1/health");
    assert_header ("Accept", "application/json");
    assert_header ("Host", "warrend");
    char ua[256];
    assert_true (test_header (&last, "User-Agent", ua, sizeof ua));
    assert_true (strncmp (ua, "warren-client/", 14) == 0);
    assert_false (test_header (&last, "Authorization", ua, sizeof ua));
}

static void
answer_sandbox (int fd, const test_request_t *req)
{
    test_answer (fd, 200, "application/json", sandbox_json);
}

static void
test_token_and_escaping (void **state)
{
    wr_client_options_t opts = { .host = server.path, .token = "s3cret-token-0123456789" };
    cleanup_error wr_error_t err = NULL;
    wr_client_t *c = wr_client_new (&opts, &err);
    assert_non_null (c);
    test_server_set (&server, answer_sandbox);
    cleanup_json_reader json_object *sb = NULL;
    assert_int_equal (wr_client_sandbox_get (c, "ci 42/x", &sb, &err), 0);
    fetch_last ();
    assert_string_equal (last.target, "/v1/sandboxes/ci%2042%2Fx");
    assert_header ("Authorization", "Bearer s3cret-token-0123456789");
    wr_client_sandbox_t view;
    assert_int_equal (wr_client_sandbox_read (sb, &view, &err), 0);
    assert_string_equal (view.id, "sb-3f9c2a1b7d4e8f60");
    assert_string_equal (view.docker_socket, "/run/warren/sandboxes/sb-3f/docker.sock");
    assert_true (view.docker_enabled);
    assert_null (view.reason);
    assert_true (view.cpu == 1.0);
    wr_client_free (c);

    /* A token that would forge a header is refused. */
    opts.token = "abc\r\nX-Evil: 1";
    assert_null (wr_client_new (&opts, &err));
    assert_int_equal (err->kind, WR_ERROR_INVALID);
}

static void
test_bad_hosts (void **state)
{
    const char *bad[] = { "", "ftp://x", "http://", "http://h:1/?q", NULL };
    for (size_t i = 0; bad[i] != NULL; i++) {
        cleanup_error wr_error_t err = NULL;
        wr_client_options_t opts = { .host = bad[i] };
        assert_null (wr_client_new (&opts, &err));
        assert_int_equal (err->kind, WR_ERROR_INVALID);
    }
    char long_path[200];
    memset (long_path, 'a', sizeof long_path - 1);
    long_path[sizeof long_path - 1] = '\0';
    long_path[0] = '/';
    cleanup_error wr_error_t err = NULL;
    wr_client_options_t opts = { .host = long_path };
    assert_null (wr_client_new (&opts, &err));
    assert_non_null (strstr (err->message, "longer than a socket path"));
}

static void
answer_list (int fd, const test_request_t *req)
{
    char body[4096];
    snprintf (body, sizeof body, "{\"sandboxes\":[%s,%s]}", sandbox_json, sandbox_json);
    test_answer (fd, 200, "application/json", body);
}

static void
test_list_filters (void **state)
{
    test_server_set (&server, answer_list);
    const char *labels[] = { "team=ml", "a=b&c", NULL };
    wr_client_sandbox_filter_t filter = { .state = "running", .labels = labels };
    cleanup_error wr_error_t err = NULL;
    cleanup_json_reader json_object *list = NULL;
    assert_int_equal (wr_client_sandbox_list (client, &filter, &list, &err), 0);
    assert_int_equal (json_object_array_length (list), 2);
    fetch_last ();
    assert_string_equal (last.target, "/v1/sandboxes?state=running&label=team%3Dml%2Ca%3Db%26c");
    /* warrend splits the pairs on commas: one in a pair cannot be asked for. */
    const char *comma[] = { "team=ml", "a=b,c", NULL };
    wr_client_sandbox_filter_t bad = { .labels = comma };
    cleanup_json_reader json_object *none = NULL;
    assert_int_equal (wr_client_sandbox_list (client, &bad, &none, &err), -1);
    assert_non_null (strstr (err->message, "a=b,c"));
}

static void
answer_patch (int fd, const test_request_t *req)
{
    test_answer (fd, 200, "application/json", sandbox_json);
}

static void
test_keep_warm_and_delete (void **state)
{
    test_server_set (&server, answer_patch);
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_client_sandbox_keep_warm (client, "sb-1", -1, NULL, &err), 0);
    fetch_last ();
    assert_string_equal (last.method, "PATCH");
    assert_string_equal (last.target, "/v1/sandboxes/sb-1");
    assert_string_equal (last.body, "{\"keep_warm_seconds\":-1}");
    assert_header ("Content-Type", "application/json");
    assert_int_equal (wr_client_sandbox_delete (client, "sb-1", NULL, &err), 0);
    fetch_last ();
    assert_string_equal (last.method, "DELETE");
    assert_int_equal (last.body_len, 0);
}

/* ---- errors ---- */

static void
answer_not_found (int fd, const test_request_t *req)
{
    test_answer (fd, 404, "application/json",
                 "{\"error\":{\"kind\":\"not_found\",\"message\":\"sandbox `ab12`: no such "
                 "sandbox\"}}");
}

static void
answer_unauthorized (int fd, const test_request_t *req)
{
    test_answer (fd, 401, "application/json",
                 "{\"error\":{\"kind\":\"unauthorized\",\"message\":\"a wrong token\"}}");
}

static void
answer_teapot (int fd, const test_request_t *req)
{
    test_answer (fd, 502, "text/html", "<html>bad gateway</html>");
}

static void
answer_control_bytes (int fd, const test_request_t *req)
{
    test_answer (fd, 400, "application/json",
                 "{\"error\":{\"kind\":\"invalid\",\"message\":\"bad\\u001b[31m red\\nnext\"}}");
}

static void
answer_unknown_kind (int fd, const test_request_t *req)
{
    test_answer (fd, 418, "application/json",
                 "{\"error\":{\"kind\":\"teapot\",\"message\":\"short and stout\"}}");
}

static void
test_error_bodies (void **state)
{
    cleanup_error wr_error_t err = NULL;
    test_server_set (&server, answer_not_found);
    assert_int_equal (wr_client_sandbox_get (client, "ab12", NULL, &err), -1);
    assert_int_equal (err->kind, WR_ERROR_NOT_FOUND);
    assert_string_equal (err->message, "sandbox `ab12`: no such sandbox");
    wr_error_free (&err);

    test_server_set (&server, answer_unauthorized);
    assert_int_equal (wr_client_sandbox_get (client, "ab12", NULL, &err), -1);
    assert_int_equal (err->kind, WR_ERROR_INVALID);
    assert_int_equal (err->errno_value, EACCES);
    assert_string_equal (err->message, "a wrong token");
    wr_error_free (&err);

    test_server_set (&server, answer_teapot);
    assert_int_equal (wr_client_process_kill (client, "sb", "p1", &err), -1);
    assert_int_equal (err->kind, WR_ERROR_UNAVAILABLE);
    assert_string_equal (err->message,
                         "POST /v1/sandboxes/sb/processes/p1/kill: warrend answered 502 without "
                         "an error body");
    wr_error_free (&err);

    test_server_set (&server, answer_control_bytes);
    assert_int_equal (wr_client_sandbox_get (client, "x", NULL, &err), -1);
    assert_int_equal (err->kind, WR_ERROR_INVALID);
    assert_string_equal (err->message, "bad?[31m red\nnext");
    wr_error_free (&err);

    test_server_set (&server, answer_unknown_kind);
    assert_int_equal (wr_client_sandbox_get (client, "x", NULL, &err), -1);
    assert_int_equal (err->kind, WR_ERROR_INTERNAL);
    assert_string_equal (err->message, "short and stout");
}

static void
test_unreachable (void **state)
{
    wr_client_options_t opts = { .host = "/tmp/warren-test-client-none/warrend.sock" };
    cleanup_error wr_error_t err = NULL;
    wr_client_t *c = wr_client_new (&opts, &err);
    assert_non_null (c);
    json_object *version = NULL;
    assert_int_equal (wr_client_version (c, &version, &err), -1);
    assert_null (version);
    assert_int_equal (err->kind, WR_ERROR_UNAVAILABLE);
    assert_non_null (
        strstr (err->message, "cannot reach warrend at /tmp/warren-test-client-none/warrend.sock"));
    assert_non_null (strstr (err->message, "No such file or directory"));
    assert_non_null (strstr (err->message, "warrend --root DIR"));
    wr_client_free (c);
}

/* ---- broken servers ---- */

static void
answer_garbage (int fd, const test_request_t *req)
{
    test_write (fd, "SSH-2.0-OpenSSH_9.2\r\n\r\n", 23);
}

static void
answer_cut (int fd, const test_request_t *req)
{
    const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        "Content-Length: 1000\r\n\r\n{\"id\":\"sb-";
    test_write (fd, head, sizeof head - 1);
}

static void
answer_not_json (int fd, const test_request_t *req)
{
    test_answer (fd, 200, "application/json", "{\"id\": \"sb-1\", nope");
}

static void
answer_wrong_type (int fd, const test_request_t *req)
{
    test_answer (fd, 200, "application/json", "{\"id\": 12, \"state\": \"running\"}");
}

static void
answer_array (int fd, const test_request_t *req)
{
    test_answer (fd, 200, "application/json", "[1,2,3]");
}

static void
answer_huge (int fd, const test_request_t *req)
{
    test_chunked_start (fd, 200, "application/json", NULL);
    static char block[65536];
    memset (block, ' ', sizeof block);
    block[0] = '{';
    for (int i = 0; i < 300; i++) /* 19 MB */
        test_chunk (fd, block, sizeof block);
    test_chunked_end (fd);
}

static void
answer_nothing (int fd, const test_request_t *req)
{
}

static void
test_broken_servers (void **state)
{
    struct {
        test_handler_fn handler;
        wr_error_kind_t kind;
        const char *needle;
    } cases[] = {
        { answer_garbage, WR_ERROR_INTERNAL, "sent a broken answer to GET /v1/sandboxes/x" },
        { answer_cut, WR_ERROR_UNAVAILABLE, "closed the connection before its answer" },
        { answer_nothing, WR_ERROR_UNAVAILABLE, "closed the connection before its answer" },
        { answer_not_json, WR_ERROR_INVALID, "warrend's answer to GET /v1/sandboxes/x" },
        { answer_wrong_type, WR_ERROR_INVALID, "id: must be a string, not an integer" },
        { answer_array, WR_ERROR_INVALID, "warrend's answer to GET /v1/sandboxes/x" },
        { answer_huge, WR_ERROR_LIMIT, "larger than 16777216 bytes" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        test_server_set (&server, cases[i].handler);
        cleanup_error wr_error_t err = NULL;
        json_object *sb = NULL;
        assert_int_equal (wr_client_sandbox_get (client, "x", &sb, &err), -1);
        assert_null (sb);
        if (strstr (err->message, cases[i].needle) == NULL || err->kind != cases[i].kind)
            fail_msg ("case %zu: kind %d, message: %s", i, err->kind, err->message);
    }
}

/* ---- create with events ---- */

static void
answer_create_events (int fd, const test_request_t *req)
{
    test_chunked_start (fd, 200, "application/x-ndjson", NULL);
    const char *parts[] = {
        "{\"event\":\"state\",\"state\":\"creating\"}\n{\"event\":\"pu",
        "ll\",\"message\":\"fetching layers\",\"layers\":3,\"bytes\":31457280}\n",
        "{\"event\":\"docker.waiting\",\"timeout_ms\":30000,\"message\":\"Waiting for Docker "
        "daemon to be ready (timeout: 30s)...\"}",
        "\n\n{\"event\":\"docker.ready\",\"took_ms\":1200,\"message\":\"Docker daemon is ready "
        "(took 1.2s)\"}\r\n{\"event\":\"sandbox\",\"sandbox\":",
        sandbox_json,
        "}", /* the last line without its newline */
    };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        test_chunk (fd, parts[i], strlen (parts[i]));
        usleep (20000); /* separate reads */
    }
    test_chunked_end (fd);
}

static int
record_event (void *data, json_object *event, wr_error_t *err)
{
    char ***names = data;
    wr_strv_add (names, json_object_get_string (json_object_object_get (event, "event")));
    return 0;
}

static void
test_create_events (void **state)
{
    test_server_set (&server, answer_create_events);
    const char *env[] = { "CI=1", "EMPTY=", NULL };
    wr_client_sandbox_spec_t spec = {
        .image = "127.0.0.1:5000/test/debian:v1",
        .cpu = 1.5,
        .memory = 512 * 1024 * 1024,
        .docker_enabled = true,
        .env = env,
        .name = "ci-42",
        .keep_warm_set = true,
        .keep_warm_seconds = 0,
    };
    cleanup_error wr_error_t err = NULL;
    cleanup_json_reader json_object *body = wr_client_sandbox_spec_json (&spec, &err);
    assert_non_null (body);
    cleanup_strv char **names = NULL;
    cleanup_json_reader json_object *sb = NULL;
    assert_int_equal (wr_client_sandbox_create (client, body, record_event, &names, &sb, &err), 0);
    cleanup_free char *joined = wr_strv_join (names, ",");
    assert_string_equal (joined, "state,pull,docker.waiting,docker.ready,sandbox");
    wr_client_sandbox_t view;
    assert_int_equal (wr_client_sandbox_read (sb, &view, &err), 0);
    assert_string_equal (view.name, "ci-42");
    fetch_last ();
    assert_string_equal (last.method, "POST");
    assert_string_equal (last.target, "/v1/sandboxes");
    assert_header ("Accept", "application/x-ndjson");
    cleanup_json_reader json_object *sent =
        wr_json_parse_object (last.body, last.body_len, 65536, "body", "body", &err);
    assert_non_null (sent);
    assert_string_equal (json_object_to_json_string_ext (sent, JSON_C_TO_STRING_PLAIN |
                                                                   JSON_C_TO_STRING_NOSLASHESCAPE),
                         "{\"image\":\"127.0.0.1:5000/test/debian:v1\",\"cpu\":1.5,\"memory\":"
                         "536870912,\"docker_enabled\":true,\"name\":\"ci-42\","
                         "\"keep_warm_seconds\":0,\"env\":{\"CI\":\"1\",\"EMPTY\":\"\"}}");

    const char *bad_env[] = { "NOEQUALS", NULL };
    spec.env = bad_env;
    assert_null (wr_client_sandbox_spec_json (&spec, &err));
    assert_int_equal (err->kind, WR_ERROR_INVALID);
}

static void
answer_create_fails (int fd, const test_request_t *req)
{
    test_chunked_start (fd, 200, "application/x-ndjson", NULL);
    const char lines[] =
        "{\"event\":\"docker.waiting\",\"timeout_ms\":30000,\"message\":\"Waiting\"}\n"
        "{\"error\":{\"kind\":\"unavailable\",\"message\":\"docker daemon failed: exit status "
        "1\\nlast lines\"}}\n";
    test_chunk (fd, lines, sizeof lines - 1);
    test_chunked_end (fd);
}

static void
answer_create_no_sandbox (int fd, const test_request_t *req)
{
    test_chunked_start (fd, 200, "application/x-ndjson", NULL);
    test_chunk (fd, "{\"event\":\"state\",\"state\":\"creating\"}\n", 37);
    test_chunked_end (fd);
}

static void
answer_create_bad_line (int fd, const test_request_t *req)
{
    test_chunked_start (fd, 200, "application/x-ndjson", NULL);
    test_chunk (fd, "{\"event\":\"state\"}\nnot json\n", 27);
    test_chunked_end (fd);
}

static void
test_create_stream_errors (void **state)
{
    cleanup_json_reader json_object *spec = json_object_new_object ();
    json_object_object_add (spec, "image", json_object_new_string ("x"));
    cleanup_strv char **names = NULL;
    json_object *sb = NULL;
    cleanup_error wr_error_t err = NULL;

    test_server_set (&server, answer_create_fails);
    assert_int_equal (wr_client_sandbox_create (client, spec, record_event, &names, &sb, &err), -1);
    assert_int_equal (err->kind, WR_ERROR_UNAVAILABLE);
    assert_string_equal (err->message, "docker daemon failed: exit status 1\nlast lines");
    assert_null (sb);
    wr_error_free (&err);

    test_server_set (&server, answer_create_no_sandbox);
    assert_int_equal (wr_client_sandbox_create (client, spec, record_event, &names, &sb, &err), -1);
    assert_non_null (strstr (err->message, "ended without the sandbox"));
    wr_error_free (&err);

    test_server_set (&server, answer_create_bad_line);
    assert_int_equal (wr_client_sandbox_create (client, spec, record_event, &names, &sb, &err), -1);
    assert_non_null (strstr (err->message, "line 2"));
    wr_error_free (&err);

    /* Without a callback: a plain 201 with the Sandbox. */
    test_server_set (&server, answer_sandbox);
    assert_int_equal (wr_client_sandbox_create (client, spec, NULL, NULL, &sb, &err), 0);
    json_object_put (sb);
    fetch_last ();
    assert_header ("Accept", "application/json");
    assert_string_equal (last.body, "{\"image\":\"x\"}");
}

/* ---- processes ---- */

static void
answer_process (int fd, const test_request_t *req)
{
    test_answer (fd, 201, "application/json",
                 "{\"pid\":\"p7\",\"os_pid\":112,\"argv\":[\"sh\",\"-c\",\"exit 2\"],\"tty\":false,"
                 "\"state\":\"exited\",\"exit_code\":2,\"started_ms\":1,\"ended_ms\":2}");
}

static void
answer_signaled_no_signal (int fd, const test_request_t *req)
{
    test_answer (fd, 200, "application/json", "{\"pid\":\"p7\",\"state\":\"signaled\"}");
}

static void
answer_empty (int fd, const test_request_t *req)
{
    test_answer (fd, 200, "application/json", "{}");
}

static void
test_process_calls (void **state)
{
    test_server_set (&server, answer_process);
    const char *argv[] = { "sh", "-c", "exit 2", NULL };
    const char *env[] = { "A=b", NULL };
    wr_client_exec_t exec = { .argv = argv, .env = env, .cwd = "/srv", .stdin_open = true };
    cleanup_error wr_error_t err = NULL;
    cleanup_json_reader json_object *p = NULL;
    assert_int_equal (wr_client_process_exec (client, "sb-1", &exec, &p, &err), 0);
    fetch_last ();
    assert_string_equal (last.target, "/v1/sandboxes/sb-1/processes");
    assert_string_equal (last.body, "{\"argv\":[\"sh\",\"-c\",\"exit 2\"],\"env\":{\"A\":\"b\"},"
                                    "\"cwd\":\"/srv\",\"stdin\":true}");
    wr_client_process_t view;
    assert_int_equal (wr_client_process_read (p, &view, &err), 0);
    assert_string_equal (view.state, "exited");
    assert_int_equal (view.exit_code, 2);

    json_object *waited = NULL;
    assert_int_equal (wr_client_process_wait (client, "sb-1", "p7", 1500, &waited, &err), 0);
    json_object_put (waited);
    fetch_last ();
    assert_string_equal (last.target, "/v1/sandboxes/sb-1/processes/p7/wait");
    assert_string_equal (last.body, "{\"timeout_ms\":1500}");

    test_server_set (&server, answer_signaled_no_signal);
    assert_int_equal (wr_client_process_get (client, "sb-1", "p7", &waited, &err), -1);
    assert_non_null (strstr (err->message, "signal"));
    wr_error_free (&err);

    test_server_set (&server, answer_empty);
    assert_int_equal (wr_client_process_signal (client, "sb-1", "p7", 15, true, &err), 0);
    fetch_last ();
    assert_string_equal (last.body, "{\"signal\":15,\"group\":true}");
    assert_int_equal (wr_client_process_remove (client, "sb-1", "p7", &err), 0);
    fetch_last ();
    assert_string_equal (last.method, "DELETE");
    assert_int_equal (wr_client_process_stdin (client, "sb-1", "p7", "hi\n", 3, true, &err), 0);
    fetch_last ();
    assert_string_equal (last.target, "/v1/sandboxes/sb-1/processes/p7/stdin?close=true");
    assert_string_equal (last.body, "hi\n");
    assert_header ("Content-Type", "application/octet-stream");
}

static void
answer_output_both (int fd, const test_request_t *req)
{
    test_chunked_start (fd, 200, "application/x-ndjson", NULL);
    const char *parts[] = {
        "{\"event\":\"output\",\"stream\":\"stdout\",\"offset\":0,\"data\":\"aGVsbG8K\"}\n{\"ev",
        "ent\":\"output\",\"stream\":\"stderr\",\"offset\":0,\"data\":\"b29w\"}\n",
        "{\"event\":\"output\",\"stream\":\"stdout\",\"offset\":6,\"data\":\"YQ==\"}\n",
        ("{\"event\":\"end\",\"stdout_offset\":7,\"stderr_offset\":3,\"state\":\"exited\","
         "\"exit_code\":3}\n"),
    };
    for (size_t i = 0; i < 4; i++) {
        test_chunk (fd, parts[i], strlen (parts[i]));
        usleep (10000);
    }
    test_chunked_end (fd);
}

typedef struct {
    char out[64], errs[64];
    size_t out_len, err_len;
    int64_t first_offset;
} collected_t;

static int
collect (void *data, wr_client_stream_t stream, int64_t offset, const char *bytes, size_t len,
         wr_error_t *err)
{
    collected_t *c = data;
    if (c->first_offset < 0)
        c->first_offset = offset;
    char *buf = stream == WR_CLIENT_STDOUT ? c->out : c->errs;
    size_t *n = stream == WR_CLIENT_STDOUT ? &c->out_len : &c->err_len;
    assert_true (*n + len < 64);
    memcpy (buf + *n, bytes, len);
    *n += len;
    return 0;
}

static void
answer_output_raw (int fd, const test_request_t *req)
{
    test_chunked_start (fd, 200, "application/octet-stream", "X-Warren-Offset: 100\r\n");
    test_chunk (fd, "tail", 4);
    test_chunked_end (fd);
}

static void
answer_output_bad_base64 (int fd, const test_request_t *req)
{
    test_chunked_start (fd, 200, "application/x-ndjson", NULL);
    const char line[] =
        "{\"event\":\"output\",\"stream\":\"stdout\",\"offset\":0,\"data\":\"a$==\"}\n";
    test_chunk (fd, line, sizeof line - 1);
    test_chunked_end (fd);
}

static void
test_output (void **state)
{
    test_server_set (&server, answer_output_both);
    collected_t c = { .first_offset = -1 };
    wr_client_output_options_t opts = { .follow = true };
    wr_client_output_end_t end;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (
        wr_client_process_output (client, "sb-1", "p7", &opts, collect, &c, &end, &err), 0);
    assert_int_equal (c.out_len, 7);
    assert_memory_equal (c.out, "hello\na", 7);
    assert_int_equal (c.err_len, 3);
    assert_memory_equal (c.errs, "oop", 3);
    assert_string_equal (end.state, "exited");
    assert_int_equal (end.exit_code, 3);
    assert_int_equal (end.stdout_offset, 7);
    assert_int_equal (end.stderr_offset, 3);
    free (end.state);
    fetch_last ();
    assert_string_equal (last.target,
                         "/v1/sandboxes/sb-1/processes/p7/output?stream=both&follow=true");
    assert_header ("Accept", "application/x-ndjson");

    test_server_set (&server, answer_output_raw);
    collected_t r = { .first_offset = -1 };
    opts = (wr_client_output_options_t){ .streams = WR_CLIENT_STDERR, .stderr_offset = 100 };
    assert_int_equal (
        wr_client_process_output (client, "sb-1", "p7", &opts, collect, &r, &end, &err), 0);
    assert_int_equal (r.first_offset, 100);
    assert_memory_equal (r.errs, "tail", 4);
    assert_int_equal (end.stderr_offset, 104);
    assert_null (end.state);
    fetch_last ();
    assert_string_equal (last.target,
                         "/v1/sandboxes/sb-1/processes/p7/output?stream=stderr&stderr_offset=100");

    test_server_set (&server, answer_output_bad_base64);
    collected_t b = { .first_offset = -1 };
    assert_int_equal (
        wr_client_process_output (client, "sb-1", "p7", NULL, collect, &b, NULL, &err), -1);
    assert_non_null (strstr (err->message, "base64"));
}

/* ---- files: 50 MB each way ---- */

#define BIG (50u * 1024 * 1024)

static void
fill_block (uint64_t *seed, char *block, size_t len)
{
    for (size_t i = 0; i < len; i += 8) {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        memcpy (block + i, seed, 8);
    }
}

static void
answer_download (int fd, const test_request_t *req)
{
    char head[256];
    int n = snprintf (head, sizeof head,
                      "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                      "Content-Length: %u\r\n\r\n",
                      BIG);
    test_write (fd, head, (size_t) n);
    static char block[65536];
    uint64_t seed = 42;
    for (size_t done = 0; done < BIG; done += sizeof block) {
        fill_block (&seed, block, sizeof block);
        test_write (fd, block, sizeof block);
    }
}

/* The hash of what answer_download sends, computed here. */
static uint64_t
download_hash (void)
{
    static char block[65536];
    uint64_t seed = 42;
    uint64_t h = TEST_HASH_INIT;
    for (size_t done = 0; done < BIG; done += sizeof block) {
        fill_block (&seed, block, sizeof block);
        h = test_hash (h, block, sizeof block);
    }
    return h;
}

static void
answer_file_info (int fd, const test_request_t *req)
{
    test_answer (fd, 200, "application/json",
                 "{\"path\":\"/srv/big\",\"file_type\":\"file\",\"size\":52428800,\"mode\":416,"
                 "\"mode_octal\":\"0640\",\"uid\":1000,\"gid\":1000,\"mtime_ms\":1}");
}

static uint64_t
hash_file (const char *path, size_t *size)
{
    cleanup_close int fd = open (path, O_RDONLY);
    assert_true (fd >= 0);
    static char buf[65536];
    uint64_t h = TEST_HASH_INIT;
    *size = 0;
    ssize_t n;
    while ((n = read (fd, buf, sizeof buf)) > 0) {
        h = test_hash (h, buf, (size_t) n);
        *size += (size_t) n;
    }
    return h;
}

static void
test_download_upload_50mb (void **state)
{
    char path[160];
    snprintf (path, sizeof path, "%s/big", server.dir);
    cleanup_error wr_error_t err = NULL;

    test_server_set (&server, answer_download);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true (fd >= 0);
    int64_t written = 0;
    assert_int_equal (
        wr_client_file_download_fd (client, "sb-1", "/srv/big file", 0, -1, fd, &written, &err), 0);
    close (fd);
    assert_int_equal (written, BIG);
    fetch_last ();
    assert_string_equal (last.target, "/v1/sandboxes/sb-1/files/content?path=%2Fsrv%2Fbig%20file");
    size_t size = 0;
    uint64_t h = hash_file (path, &size);
    assert_int_equal (size, BIG);
    assert_true (h == download_hash ());

    test_server_set (&server, answer_file_info);
    wr_client_upload_t opts = { .mode = 0640, .uid = 1000, .gid = -1, .parents = true };
    cleanup_json_reader json_object *info = NULL;
    assert_int_equal (
        wr_client_file_upload_path (client, "sb-1", "/srv/big", path, &opts, &info, &err), 0);
    fetch_last ();
    assert_string_equal (last.method, "PUT");
    assert_string_equal (last.target,
                         "/v1/sandboxes/sb-1/files/content?path=%2Fsrv%2Fbig&mode=0640&uid=1000&"
                         "parents=true");
    assert_false (last.chunked);
    assert_header ("Content-Length", "52428800");
    assert_int_equal (last.body_len, BIG);
    assert_true (last.body_hash == h);
    wr_client_file_info_t view;
    assert_int_equal (wr_client_file_info_read (info, &view, &err), 0);
    assert_int_equal (view.mode, 0640);
    unlink (path);

    /* From a pipe: chunked. */
    int p[2];
    assert_int_equal (pipe (p), 0);
    assert_int_equal (write (p[1], "from a pipe", 11), 11);
    close (p[1]);
    assert_int_equal (wr_client_file_upload_fd (client, "sb-1", "/srv/p", p[0], NULL, NULL, &err),
                      0);
    close (p[0]);
    fetch_last ();
    assert_true (last.chunked);
    assert_string_equal (last.body, "from a pipe");
    assert_string_equal (last.target, "/v1/sandboxes/sb-1/files/content?path=%2Fsrv%2Fp");
}

static void
answer_download_cut (int fd, const test_request_t *req)
{
    const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nsome bytes";
    test_write (fd, head, sizeof head - 1);
}

static void
test_download_cut (void **state)
{
    test_server_set (&server, answer_download_cut);
    int p[2];
    assert_int_equal (pipe (p), 0);
    cleanup_error wr_error_t err = NULL;
    int64_t written = 0;
    assert_int_equal (
        wr_client_file_download_fd (client, "sb-1", "/f", 0, -1, p[1], &written, &err), -1);
    assert_int_equal (err->kind, WR_ERROR_UNAVAILABLE);
    assert_non_null (strstr (err->message, "closed the connection"));
    assert_int_equal (written, 10);
    close (p[0]);
    close (p[1]);
}

static void
answer_find (int fd, const test_request_t *req)
{
    test_answer (fd, 200, "application/json",
                 "{\"matches\":[{\"path\":\"/a\",\"line\":3,\"column\":1,\"text\":\"x\"}],"
                 "\"truncated\":true}");
}

static void
test_file_calls (void **state)
{
    cleanup_error wr_error_t err = NULL;
    test_server_set (&server, answer_empty);
    assert_int_equal (wr_client_file_mkdir (client, "sb", "/d", 0755, true, &err), 0);
    fetch_last ();
    assert_string_equal (last.target, "/v1/sandboxes/sb/files/mkdir");
    assert_string_equal (last.body, "{\"path\":\"/d\",\"mode\":493,\"parents\":true}");
    assert_int_equal (wr_client_file_rename (client, "sb", "/a", "/b", false, &err), 0);
    fetch_last ();
    assert_string_equal (last.body, "{\"from\":\"/a\",\"to\":\"/b\",\"replace\":false}");
    assert_int_equal (wr_client_file_chown (client, "sb", "/a", 5, -1, false, &err), 0);
    fetch_last ();
    assert_string_equal (last.body, "{\"path\":\"/a\",\"uid\":5,\"follow_symlinks\":false}");
    assert_int_equal (wr_client_file_chmod (client, "sb", "/a", 010000, &err), -1);
    wr_error_free (&err);

    test_server_set (&server, answer_find);
    cleanup_json_reader json_object *matches = NULL;
    bool truncated = false;
    wr_client_find_t find = { .glob = "*.c", .ignore_case = true };
    assert_int_equal (
        wr_client_file_find (client, "sb", "/", "ma?in", &find, &matches, &truncated, &err), 0);
    assert_true (truncated);
    assert_int_equal (json_object_array_length (matches), 1);
    fetch_last ();
    assert_string_equal (last.body, "{\"path\":\"/\",\"pattern\":\"ma?in\",\"glob\":\"*.c\","
                                    "\"ignore_case\":true}");

    /* A FileInfo whose mode is out of range is refused. */
    test_server_set (&server, answer_find);
    json_object *info = NULL;
    assert_int_equal (wr_client_file_stat (client, "sb", "/a", true, &info, &err), -1);
    assert_null (info);
}

/* ---- TCP with a token, timeouts, the Docker events ---- */

static void
test_tcp_with_token (void **state)
{
    test_server_t tcp;
    test_server_start_tcp (&tcp);
    test_server_set (&tcp, answer_health);
    char url[64];
    snprintf (url, sizeof url, "http://127.0.0.1:%d/", tcp.port);
    wr_client_options_t opts = { .host = url, .token = "tok-0123456789abcdef" };
    cleanup_error wr_error_t err = NULL;
    wr_client_t *c = wr_client_new (&opts, &err);
    assert_non_null (c);
    cleanup_json_reader json_object *h = NULL;
    assert_int_equal (wr_client_health (c, &h, &err), 0);
    test_server_last (&tcp, &last);
    assert_string_equal (last.target, "/v1/health");
    assert_header ("Authorization", "Bearer tok-0123456789abcdef");
    char host[64];
    snprintf (host, sizeof host, "127.0.0.1:%d", tcp.port);
    assert_header ("Host", host);
    wr_client_free (c);
    test_server_stop (&tcp);
}

static void
answer_slowly (int fd, const test_request_t *req)
{
    usleep (1500 * 1000);
    test_answer (fd, 200, "application/json", sandbox_json);
}

static void
test_timeout (void **state)
{
    wr_client_options_t opts = { .host = server.path, .timeout_ms = 300 };
    cleanup_error wr_error_t err = NULL;
    wr_client_t *c = wr_client_new (&opts, &err);
    test_server_set (&server, answer_slowly);
    assert_int_equal (wr_client_sandbox_get (c, "x", NULL, &err), -1);
    assert_int_equal (err->kind, WR_ERROR_UNAVAILABLE);
    assert_non_null (strstr (err->message, "did not answer GET /v1/sandboxes/x in time"));
    wr_client_free (c);
    usleep (1300 * 1000); /* the server's thread ends its answer */
}

static void
answer_docker_events (int fd, const test_request_t *req)
{
    test_chunked_start (fd, 200, "application/x-ndjson", NULL);
    const char lines[] = "{\"event\":\"docker.ready\",\"took_ms\":0,\"message\":\"ready\"}\n";
    test_chunk (fd, lines, sizeof lines - 1);
    test_chunked_end (fd);
}

static void
test_docker_events (void **state)
{
    test_server_set (&server, answer_docker_events);
    cleanup_strv char **names = NULL;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_client_sandbox_docker (client, "sb 1", record_event, &names, &err), 0);
    assert_int_equal (wr_strv_length (names), 1);
    assert_string_equal (names[0], "docker.ready");
    fetch_last ();
    assert_string_equal (last.target, "/v1/sandboxes/sb%201/docker");
    assert_header ("Accept", "application/x-ndjson");
}

/* ---- many threads, one client ---- */

static void *
hammer (void *data)
{
    for (int i = 0; i < 20; i++) {
        cleanup_error wr_error_t err = NULL;
        json_object *h = NULL;
        if (wr_client_health (client, &h, &err) < 0)
            return (void *) 1;
        json_object_put (h);
    }
    return NULL;
}

static void
test_threads (void **state)
{
    test_server_set (&server, answer_health);
    pthread_t threads[8];
    for (int i = 0; i < 8; i++)
        pthread_create (&threads[i], NULL, hammer, NULL);
    for (int i = 0; i < 8; i++) {
        void *ret;
        pthread_join (threads[i], &ret);
        assert_null (ret);
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_health),
        cmocka_unit_test (test_token_and_escaping),
        cmocka_unit_test (test_bad_hosts),
        cmocka_unit_test (test_list_filters),
        cmocka_unit_test (test_keep_warm_and_delete),
        cmocka_unit_test (test_error_bodies),
        cmocka_unit_test (test_unreachable),
        cmocka_unit_test (test_broken_servers),
        cmocka_unit_test (test_create_events),
        cmocka_unit_test (test_create_stream_errors),
        cmocka_unit_test (test_process_calls),
        cmocka_unit_test (test_output),
        cmocka_unit_test (test_download_upload_50mb),
        cmocka_unit_test (test_download_cut),
        cmocka_unit_test (test_file_calls),
        cmocka_unit_test (test_tcp_with_token),
        cmocka_unit_test (test_timeout),
        cmocka_unit_test (test_docker_events),
        cmocka_unit_test (test_threads),
    };
    return cmocka_run_group_tests (tests, setup, teardown);
}
