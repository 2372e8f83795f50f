/* The process routes (api_processes.c) against the real agent: warren-init
 * (argv[1]) serving a temporary directory, a real API server on a unix
 * socket, libcurl as the client (agent_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_fixture.h"
#include "xalloc.h"

static const char *
str (json_object *obj, const char *key)
{
    json_object *v = json_object_object_get (obj, key);
    return v != NULL ? json_object_get_string (v) : NULL;
}

static int64_t
num (json_object *obj, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex (obj, key, &v) || v == NULL)
        fail_msg ("no %s in %s", key, json_object_to_json_string (obj));
    return json_object_get_int64 (v);
}

/* Starts BODY's process and returns its pid (caller frees). */
static char *
exec_process (const char *body)
{
    json_object *p = http_json ("POST", "/v1/sandboxes/sb1/processes", body, 201);
    char *pid = xstrdup (str (p, "pid"));
    assert_true (num (p, "os_pid") > 0);
    json_object_put (p);
    return pid;
}

static json_object *
wait_process (const char *pid)
{
    char path[256];
    snprintf (path, sizeof path, "/v1/sandboxes/sb1/processes/%s/wait", pid);
    return http_json ("POST", path, "{\"timeout_ms\": 60000}", 200);
}

static char *
decode64 (const char *b64, size_t *len)
{
    size_t n = strlen (b64);
    unsigned char *out = xmalloc (n + 1);
    int r = EVP_DecodeBlock (out, (const unsigned char *) b64, (int) n);
    assert_true (r >= 0);
    size_t pad = (n > 0 && b64[n - 1] == '=') + (n > 1 && b64[n - 2] == '=');
    *len = (size_t) r - pad;
    out[*len] = '\0';
    return (char *) out;
}

static void
test_exec_wait_output (void **state)
{
    (void) state;
    char *pid = exec_process ("{\"argv\": [\"sh\", \"-c\", \"echo out; echo err >&2; exit 3\"]}");
    assert_int_equal (wr_histogram_count (&exec_histogram), 1);
    json_object *p = wait_process (pid);
    assert_string_equal (str (p, "state"), "exited");
    assert_int_equal (num (p, "exit_code"), 3);
    assert_string_equal (str (p, "pid"), pid);
    assert_true (num (p, "ended_ms") >= num (p, "started_ms"));
    assert_string_equal (json_object_to_json_string (json_object_object_get (p, "argv")),
                         "[ \"sh\", \"-c\", \"echo out; echo err >&2; exit 3\" ]");
    json_object_put (p);

    char path[256];
    answer_t a;
    snprintf (path, sizeof path, "/v1/sandboxes/sb1/processes/%s/output?stream=stdout", pid);
    http ("GET", path, NULL, 0, "X-Warren-Offset", &a);
    assert_int_equal (a.status, 200);
    assert_string_equal (a.body, "out\n");
    assert_non_null (a.header_value);
    assert_string_equal (a.header_value, "0");
    answer_clear (&a);
    snprintf (path, sizeof path,
              "/v1/sandboxes/sb1/processes/%s/output?stream=stderr&stderr_offset=2", pid);
    http ("GET", path, NULL, 0, "X-Warren-Offset", &a);
    assert_int_equal (a.status, 200);
    assert_string_equal (a.body, "r\n");
    assert_string_equal (a.header_value, "2");
    answer_clear (&a);

    snprintf (path, sizeof path, "/v1/sandboxes/sb1/processes/%s/output", pid);
    http ("GET", path, NULL, 0, NULL, &a);
    assert_int_equal (a.status, 200);
    char out[64] = "", err[64] = "";
    bool ended = false;
    for (char *line = strtok (a.body, "\n"); line != NULL; line = strtok (NULL, "\n")) {
        json_object *e = json_tokener_parse (line);
        assert_non_null (e);
        if (strcmp (str (e, "event"), "output") == 0) {
            size_t len;
            char *data = decode64 (str (e, "data"), &len);
            char *to = strcmp (str (e, "stream"), "stdout") == 0 ? out : err;
            assert_int_equal (num (e, "offset"), (int64_t) strlen (to));
            strcat (to, data);
            free (data);
        } else {
            assert_string_equal (str (e, "event"), "end");
            assert_int_equal (num (e, "stdout_offset"), 4);
            assert_int_equal (num (e, "stderr_offset"), 4);
            assert_string_equal (str (e, "state"), "exited");
            assert_int_equal (num (e, "exit_code"), 3);
            ended = true;
        }
        json_object_put (e);
    }
    assert_true (ended);
    assert_string_equal (out, "out\n");
    assert_string_equal (err, "err\n");
    answer_clear (&a);

    /* Listed, then forgotten. */
    json_object *list = http_json ("GET", "/v1/sandboxes/sb1/processes", NULL, 200);
    json_object *procs = json_object_object_get (list, "processes");
    bool found = false;
    for (size_t i = 0; i < json_object_array_length (procs); i++)
        found |= strcmp (str (json_object_array_get_idx (procs, i), "pid"), pid) == 0;
    assert_true (found);
    json_object_put (list);
    snprintf (path, sizeof path, "/v1/sandboxes/sb1/processes/%s", pid);
    json_object_put (http_json ("DELETE", path, NULL, 200));
    json_object_put (http_json ("GET", path, NULL, 404));
    free (pid);
}

/* 1,000,000 numbered lines, what seq prints. */
static char *
numbered_lines (size_t *len)
{
    size_t cap = 8 * 1000000, n = 0;
    char *s = xmalloc (cap);
    for (int i = 1; i <= 1000000; i++)
        n += (size_t) sprintf (s + n, "%d\n", i);
    *len = n;
    return s;
}

typedef struct {
    const char *path;
    answer_t answer;
} reader_t;

static void *
read_output (void *data)
{
    reader_t *r = data;
    http ("GET", r->path, NULL, 0, NULL, &r->answer);
    return NULL;
}

static void
test_million_lines_two_readers (void **state)
{
    (void) state;
    char *pid = exec_process ("{\"argv\": [\"sh\", \"-c\", \"sleep 0.2; seq 1 1000000\"]}");
    char follow_path[256], path[256];
    snprintf (follow_path, sizeof follow_path,
              "/v1/sandboxes/sb1/processes/%s/output?stream=stdout&follow=true", pid);
    reader_t follower = { .path = follow_path };
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, read_output, &follower), 0);
    json_object *p = wait_process (pid);
    assert_int_equal (num (p, "exit_code"), 0);
    json_object_put (p);
    snprintf (path, sizeof path, "/v1/sandboxes/sb1/processes/%s/output?stream=stdout", pid);
    reader_t after = { .path = path };
    read_output (&after);
    pthread_join (thread, NULL);
    size_t len;
    char *expected = numbered_lines (&len);
    assert_int_equal (follower.answer.status, 200);
    assert_int_equal (after.answer.status, 200);
    assert_int_equal (follower.answer.len, len);
    assert_int_equal (after.answer.len, len);
    assert_memory_equal (follower.answer.body, expected, len);
    assert_memory_equal (after.answer.body, expected, len);
    free (expected);
    answer_clear (&follower.answer);
    answer_clear (&after.answer);
    free (pid);
}

static void
test_stdin_round_trip (void **state)
{
    (void) state;
    char *pid = exec_process ("{\"argv\": [\"cat\"], \"stdin\": true, \"env\": {\"A\": \"1\"}}");
    char path[256];
    snprintf (path, sizeof path, "/v1/sandboxes/sb1/processes/%s/stdin", pid);
    json_object_put (http_json ("POST", path, "hello ", 200));
    snprintf (path, sizeof path, "/v1/sandboxes/sb1/processes/%s/stdin?close=true", pid);
    json_object_put (http_json ("POST", path, "world\n", 200));
    json_object *p = wait_process (pid);
    assert_string_equal (str (p, "state"), "exited");
    assert_int_equal (num (p, "exit_code"), 0);
    json_object_put (p);
    answer_t a;
    snprintf (path, sizeof path, "/v1/sandboxes/sb1/processes/%s/output?stream=stdout", pid);
    http ("GET", path, NULL, 0, NULL, &a);
    assert_string_equal (a.body, "hello world\n");
    answer_clear (&a);
    free (pid);
}

static void
test_env_cwd (void **state)
{
    (void) state;
    char *pid = exec_process (
        "{\"argv\": [\"sh\", \"-c\", \"echo $GREETING; pwd\"], \"env\": {\"GREETING\": \"hi\"}, "
        "\"cwd\": \"/tmp\"}");
    json_object_put (wait_process (pid));
    answer_t a;
    char path[256];
    snprintf (path, sizeof path, "/v1/sandboxes/sb1/processes/%s/output?stream=stdout", pid);
    http ("GET", path, NULL, 0, NULL, &a);
    assert_string_equal (a.body, "hi\n/tmp\n");
    answer_clear (&a);
    free (pid);
}

static void
test_kill_and_signal (void **state)
{
    (void) state;
    char *pid = exec_process ("{\"argv\": [\"sleep\", \"100\"]}");
    char path[256];
    snprintf (path, sizeof path, "/v1/sandboxes/sb1/processes/%s", pid);
    json_object *p = http_json ("GET", path, NULL, 200);
    assert_string_equal (str (p, "state"), "running");
    json_object_put (p);
    snprintf (path, sizeof path, "/v1/sandboxes/sb1/processes/%s/wait", pid);
    answer_t a;
    http ("POST", path, "{\"timeout_ms\": 100}", 19, NULL, &a);
    assert_int_equal (a.status, 503);
    answer_clear (&a);
    snprintf (path, sizeof path, "/v1/sandboxes/sb1/processes/%s/kill", pid);
    json_object_put (http_json ("POST", path, NULL, 200));
    p = wait_process (pid);
    assert_string_equal (str (p, "state"), "signaled");
    assert_int_equal (num (p, "signal"), 9);
    assert_null (json_object_object_get (p, "exit_code"));
    json_object_put (p);
    free (pid);

    pid = exec_process ("{\"argv\": [\"sleep\", \"100\"]}");
    snprintf (path, sizeof path, "/v1/sandboxes/sb1/processes/%s/signal", pid);
    json_object_put (http_json ("POST", path, "{\"signal\": 15, \"group\": false}", 200));
    p = wait_process (pid);
    assert_string_equal (str (p, "state"), "signaled");
    assert_int_equal (num (p, "signal"), 15);
    json_object_put (p);
    free (pid);
}

static size_t
hang_up_after_data (char *p, size_t size, size_t n, void *data)
{
    (void) p;
    *(size_t *) data += size * n;
    return 0; /* curl aborts the transfer */
}

/* A follower that goes away: with output flowing (its next send fails) and
 * with a silent process (the stream sees it cancelled): either way the
 * agent call is cancelled and the agent given back. */
static void
test_follower_goes_away (void **state)
{
    (void) state;
    char *chatty =
        exec_process ("{\"argv\": [\"sh\", \"-c\", \"while true; do echo x; sleep 0.02; done\"]}");
    char *silent = exec_process ("{\"argv\": [\"sleep\", \"100\"]}");
    char path[256], url[512];
    snprintf (path, sizeof path, "/v1/sandboxes/sb1/processes/%s/output?stream=both&follow=true",
              chatty);
    snprintf (url, sizeof url, "http://warrend%s", path);
    CURL *curl = curl_easy_init ();
    size_t got = 0;
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_UNIX_SOCKET_PATH, fx.api_sock);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, hang_up_after_data);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, &got);
    assert_int_equal (curl_easy_perform (curl), CURLE_WRITE_ERROR);
    assert_true (got > 0);
    curl_easy_cleanup (curl);
    assert_true (fixture_refs_released (5000));

    snprintf (path, sizeof path, "/v1/sandboxes/sb1/processes/%s/output?stream=stdout&follow=true",
              silent);
    snprintf (url, sizeof url, "http://warrend%s", path);
    curl = curl_easy_init ();
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_UNIX_SOCKET_PATH, fx.api_sock);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, 300L);
    assert_int_equal (curl_easy_perform (curl), CURLE_OPERATION_TIMEDOUT);
    curl_easy_cleanup (curl);
    assert_true (fixture_refs_released (5000));
    free (chatty);
    free (silent);
}

static void
expect_error (const char *method, const char *path, const char *body, long status, const char *kind,
              const char *needle)
{
    json_object *e = http_json (method, path, body, status);
    json_object *error = json_object_object_get (e, "error");
    assert_non_null (error);
    assert_string_equal (str (error, "kind"), kind);
    if (strstr (str (error, "message"), needle) == NULL)
        fail_msg ("`%s` not in `%s`", needle, str (error, "message"));
    json_object_put (e);
}

static void
test_errors (void **state)
{
    (void) state;
    expect_error ("GET", "/v1/sandboxes/sb1/processes/p999", NULL, 404, "not_found", "the agent:");
    expect_error ("GET", "/v1/sandboxes/sb1/processes/p999", NULL, 404, "not_found", "p999");
    expect_error ("GET", "/v1/sandboxes/sb1/processes/p999/output?stream=stdout", NULL, 404,
                  "not_found", "p999");
    expect_error ("POST", "/v1/sandboxes/sb1/processes/p999/stdin", "data", 404, "not_found",
                  "p999");
    expect_error ("GET", "/v1/sandboxes/nope/processes", NULL, 404, "not_found", "nope");
    expect_error ("POST", "/v1/sandboxes/sb1/processes", "{\"argv\": [\"true\"], \"bogus\": 1}",
                  400, "invalid", "unknown field `bogus`");
    expect_error ("POST", "/v1/sandboxes/sb1/processes", "{\"argv\": \"true\"}", 400, "invalid",
                  "argv: must be an array");
    expect_error ("POST", "/v1/sandboxes/sb1/processes", "{\"argv\": [\"true\", 1]}", 400,
                  "invalid", "argv[1]");
    expect_error ("POST", "/v1/sandboxes/sb1/processes", "{\"argv\": []}", 400, "invalid", "argv");
    expect_error ("POST", "/v1/sandboxes/sb1/processes",
                  "{\"argv\": [\"true\"], \"env\": {\"A\": 1}}", 400, "invalid", "env.A");
    expect_error ("POST", "/v1/sandboxes/sb1/processes",
                  "{\"argv\": [\"true\"], \"tty\": {\"rows\": 24}}", 400, "invalid", "tty.cols");
    expect_error ("POST", "/v1/sandboxes/sb1/processes", "{\"env\": {}}", 400, "invalid",
                  "argv: missing");
    expect_error ("POST", "/v1/sandboxes/sb1/processes/p1/signal", "{\"signal\": \"TERM\"}", 400,
                  "invalid", "signal: must be an integer");
    expect_error ("POST", "/v1/sandboxes/sb1/processes/p1/signal", "{\"signal\": 99}", 400,
                  "invalid", "signal");
    expect_error ("POST", "/v1/sandboxes/sb1/processes/p1/wait", "{\"timeout\": 5}", 400, "invalid",
                  "unknown field `timeout`");
    expect_error ("GET", "/v1/sandboxes/sb1/processes/p1/output?follow=yes", NULL, 400, "invalid",
                  "follow");
    expect_error ("GET", "/v1/sandboxes/sb1/processes/p1/output?stdout_offset=-1", NULL, 400,
                  "invalid", "stdout_offset");
    expect_error ("GET", "/v1/sandboxes/sb1/processes/p1/output?stream=all", NULL, 400, "invalid",
                  "stream");
    expect_error ("POST", "/v1/sandboxes/sb1/processes", "{\"argv\": [\"/nonexistent/program\"]}",
                  404, "not_found", "the agent:");
}

int
main (int argc, char **argv)
{
    if (argc < 2) {
        fprintf (stderr, "usage: %s WARREN_INIT\n", argv[0]);
        return 2;
    }
    warren_init_path = argv[1];
    curl_global_init (CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_exec_wait_output, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown (test_million_lines_two_readers, fixture_setup,
                                         fixture_teardown),
        cmocka_unit_test_setup_teardown (test_stdin_round_trip, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown (test_env_cwd, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown (test_kill_and_signal, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown (test_follower_goes_away, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown (test_errors, fixture_setup, fixture_teardown),
    };
    int failed = cmocka_run_group_tests (tests, NULL, NULL);
    curl_global_cleanup ();
    return failed;
}
