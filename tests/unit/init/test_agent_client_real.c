/* warrend's client (src/lib/agent/agent_client.h) against the real agent:
 * the built warren-init (its path is argv[1]) runs with --agent-socket in a
 * temporary directory, and the client connects while it starts (so the
 * retry until the socket appears is exercised), runs processes, reads their
 * output paced by its window, sends stdin, and serves eight threads at
 * once.  The two sides were written apart from the document; this is where
 * they meet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../tools/agent_start.h"
#include "agent_client.h"
#include "cleanup.h"
#include "xalloc.h"

static const char *warren_init;
static char dir[] = "/tmp/test-agent-client-XXXXXX";
static char sock[256];
static pid_t agent_pid;
static wr_agent_client_t *client;

static int
setup (void **state)
{
    (void) state;
    assert_non_null (mkdtemp (dir));
    agent_pid = agent_start (warren_init, dir, dir, sock, sizeof sock);
    assert_true (agent_pid >= 0);
    wr_agent_client_options_t opts = { .connect_timeout_ms = 20000, .window = 65536 };
    cleanup_error wr_error_t err = NULL;
    if (wr_agent_client_connect (sock, &opts, &client, &err) < 0)
        fail_msg ("connect: %s", err->message);
    return 0;
}

static int
teardown (void **state)
{
    (void) state;
    wr_agent_client_free (client);
    agent_stop (agent_pid);
    char cmd[300];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal (system (cmd), 0);
    return 0;
}

static char *
run_sh (const char *script, bool keep_stdin)
{
    char *argv[] = { (char *) "sh", (char *) "-c", (char *) script, NULL };
    wr_agent_exec_t ex = { .argv = argv, .stdin = keep_stdin };
    cleanup_agent_message wr_agent_message_t *req = wr_agent_exec_new (&ex);
    cleanup_agent_message wr_agent_message_t *started = NULL;
    cleanup_error wr_error_t err = NULL;
    if (wr_agent_client_request (client, req, 10000, &started, &err) < 0)
        fail_msg ("exec: %s", err->message);
    assert_int_equal (started->type, WR_AGENT_MSG_STARTED);
    return xstrdup (wr_agent_message_string (started, "process_id"));
}

/* Follows ID's output to its end: stdout into OUT (CAP bytes), and
 * output.end's message. */
static wr_agent_message_t *
read_output (const char *id, char *out, size_t cap, size_t *len, size_t *err_len)
{
    wr_agent_message_t *req = wr_agent_message_new (WR_AGENT_MSG_OUTPUT_READ);
    wr_agent_message_set_string (req, "process_id", id);
    wr_agent_message_set_string (req, "stream", "both");
    wr_agent_message_set_bool (req, "follow", true);
    cleanup_error wr_error_t err = NULL;
    cleanup_agent_call wr_agent_call_t *call = wr_agent_call_open (client, req, false, NULL, &err);
    wr_agent_message_free (req);
    assert_non_null (call);
    *len = *err_len = 0;
    wr_agent_message_t *end = NULL;
    wr_agent_item_t item;
    int r;
    while ((r = wr_agent_call_next (call, 30000, &item, &err)) == 1) {
        if (item.message != NULL) {
            assert_int_equal (item.message->type, WR_AGENT_MSG_OUTPUT_END);
            assert_true (item.end);
            end = steal_pointer (&item.message);
        } else if (item.channel == WR_AGENT_CHANNEL_STDOUT) {
            assert_int_equal (item.offset, *len);
            assert_true (*len + item.len <= cap);
            memcpy (out + *len, item.data, item.len);
            *len += item.len;
        } else {
            assert_int_equal (item.channel, WR_AGENT_CHANNEL_STDERR);
            assert_int_equal (item.offset, *err_len);
            *err_len += item.len;
        }
        wr_agent_item_clear (&item);
    }
    if (r < 0)
        fail_msg ("output: %s", err->message);
    assert_non_null (end);
    return end;
}

static void
test_exec_and_output (void **state)
{
    (void) state;
    char *id = run_sh ("echo hi; echo oops >&2; exit 3", false);
    char out[64];
    size_t len, err_len;
    wr_agent_message_t *end = read_output (id, out, sizeof out, &len, &err_len);
    assert_int_equal (len, 3);
    assert_memory_equal (out, "hi\n", 3);
    assert_int_equal (err_len, 5);
    assert_string_equal (wr_agent_message_string (end, "state"), "exited");
    assert_int_equal (wr_agent_message_int (end, "exit_code", -1), 3);
    wr_agent_message_free (end);
    free (id);
}

/* 3 MB of output through a 64 KiB window. */
static void
test_big_output (void **state)
{
    (void) state;
    char *id = run_sh ("seq 1 400000", false);
    size_t cap = 4 * 1024 * 1024, len, err_len;
    char *out = xmalloc (cap);
    wr_agent_message_t *end = read_output (id, out, cap, &len, &err_len);
    assert_int_equal (wr_agent_message_int (end, "exit_code", -1), 0);
    assert_int_equal (wr_agent_message_int (end, "stdout_offset", -1), (int64_t) len);
    /* Every number, in order. */
    size_t pos = 0;
    for (int n = 1; n <= 400000; n++) {
        char want[16];
        int w = snprintf (want, sizeof want, "%d\n", n);
        if (pos + (size_t) w > len || memcmp (out + pos, want, (size_t) w) != 0)
            fail_msg ("line %d is wrong", n);
        pos += (size_t) w;
    }
    assert_int_equal (pos, len);
    wr_agent_message_free (end);
    free (out);
    free (id);
}

static void
test_stdin (void **state)
{
    (void) state;
    char *id = run_sh ("cat", true);
    wr_agent_message_t *req = wr_agent_message_new (WR_AGENT_MSG_STDIN);
    wr_agent_message_set_string (req, "process_id", id);
    wr_agent_message_set_bool (req, "close", true);
    cleanup_error wr_error_t err = NULL;
    cleanup_agent_call wr_agent_call_t *call = wr_agent_call_open (client, req, true, NULL, &err);
    wr_agent_message_free (req);
    assert_non_null (call);
    assert_int_equal (wr_agent_call_send (call, "hello ", 6, false, 5000, &err), 0);
    assert_int_equal (wr_agent_call_send (call, "agent\n", 6, true, 5000, &err), 0);
    wr_agent_item_t item;
    if (wr_agent_call_next (call, 10000, &item, &err) != 1)
        fail_msg ("stdin: %s", err ? err->message : "no answer");
    assert_int_equal (item.message->type, WR_AGENT_MSG_OK);
    wr_agent_item_clear (&item);
    char out[64];
    size_t len, err_len;
    wr_agent_message_t *end = read_output (id, out, sizeof out, &len, &err_len);
    assert_int_equal (len, 12);
    assert_memory_equal (out, "hello agent\n", 12);
    wr_agent_message_free (end);
    free (id);
}

#define FILE_SIZE (5u * 1024u * 1024u + 17u)

/* 5 MB up with file.write and back with file.read, both paced by windows,
 * and file.stat of it. */
static void
test_file_round_trip (void **state)
{
    (void) state;
    uint8_t *buf = xmalloc (FILE_SIZE);
    for (size_t i = 0; i < FILE_SIZE; i++)
        buf[i] = (uint8_t) (i * 13 + i / 1000);
    wr_agent_message_t *req = wr_agent_message_new (WR_AGENT_MSG_FILE_WRITE);
    wr_agent_message_set_string (req, "path", "/up/big.bin");
    wr_agent_message_set_int (req, "mode", 0600);
    wr_agent_message_set_int (req, "size", FILE_SIZE);
    wr_agent_message_set_bool (req, "parents", true);
    cleanup_error wr_error_t err = NULL;
    wr_agent_call_t *call = wr_agent_call_open (client, req, true, NULL, &err);
    wr_agent_message_free (req);
    assert_non_null (call);
    for (size_t off = 0; off < FILE_SIZE; off += 700000) {
        size_t n = FILE_SIZE - off < 700000 ? FILE_SIZE - off : 700000;
        if (wr_agent_call_send (call, buf + off, n, off + n == FILE_SIZE, 20000, &err) < 0)
            fail_msg ("send: %s", err->message);
    }
    wr_agent_item_t item;
    if (wr_agent_call_next (call, 20000, &item, &err) != 1)
        fail_msg ("file.write: %s", err ? err->message : "no answer");
    if (item.message == NULL || item.message->type != WR_AGENT_MSG_FILE_INFO)
        fail_msg ("file.write: %s",
                  item.message ? json_object_to_json_string (item.message->json) : "data");
    assert_int_equal (wr_agent_message_int (item.message, "size", 0), FILE_SIZE);
    assert_int_equal (wr_agent_message_int (item.message, "mode", 0), 0600);
    wr_agent_item_clear (&item);
    wr_agent_call_free (call);

    req = wr_agent_message_new (WR_AGENT_MSG_FILE_READ);
    wr_agent_message_set_string (req, "path", "/up/big.bin");
    call = wr_agent_call_open (client, req, false, NULL, &err);
    wr_agent_message_free (req);
    assert_int_equal (wr_agent_call_next (call, 20000, &item, &err), 1);
    assert_non_null (item.message);
    assert_int_equal (item.message->type, WR_AGENT_MSG_FILE_INFO);
    wr_agent_item_clear (&item);
    uint64_t off = 0;
    int r;
    while ((r = wr_agent_call_next (call, 20000, &item, &err)) == 1) {
        assert_null (item.message);
        assert_int_equal (item.offset, off);
        assert_true (off + item.len <= FILE_SIZE);
        if (memcmp (item.data, buf + off, item.len) != 0)
            fail_msg ("bytes at %llu differ", (unsigned long long) off);
        off += item.len;
        wr_agent_item_clear (&item);
    }
    if (r < 0)
        fail_msg ("file.read: %s", err->message);
    assert_int_equal (off, FILE_SIZE);
    wr_agent_call_free (call);
    free (buf);

    req = wr_agent_message_new (WR_AGENT_MSG_FILE_STAT);
    wr_agent_message_set_string (req, "path", "/up/nothing");
    wr_agent_message_t *reply = NULL;
    assert_int_equal (wr_agent_client_request (client, req, 10000, &reply, &err), -1);
    wr_agent_message_free (req);
    assert_int_equal (err->kind, WR_ERROR_NOT_FOUND);
}

static void
test_errors_and_ping (void **state)
{
    (void) state;
    wr_agent_message_t *req = wr_agent_message_new (WR_AGENT_MSG_PROCESS_STATUS);
    wr_agent_message_set_string (req, "process_id", "nope");
    wr_agent_message_t *reply = NULL;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_agent_client_request (client, req, 10000, &reply, &err), -1);
    wr_agent_message_free (req);
    assert_int_equal (err->kind, WR_ERROR_NOT_FOUND);
    assert_non_null (strstr (err->message, "the agent: "));
    wr_error_free (&err);
    req = wr_agent_message_new (WR_AGENT_MSG_PING);
    assert_int_equal (wr_agent_client_request (client, req, 10000, &reply, &err), 0);
    assert_int_equal (reply->type, WR_AGENT_MSG_PONG);
    wr_agent_message_free (reply);
    wr_agent_message_free (req);
    assert_int_equal (wr_agent_client_check (client, NULL), 0);
}

static void *
exec_many (void *arg)
{
    int *failures = arg;
    for (int i = 0; i < 10; i++) {
        char *argv[] = { (char *) "true", NULL };
        wr_agent_exec_t ex = { .argv = argv };
        cleanup_agent_message wr_agent_message_t *req = wr_agent_exec_new (&ex);
        cleanup_agent_message wr_agent_message_t *started = NULL;
        if (wr_agent_client_request (client, req, 20000, &started, NULL) < 0) {
            (*failures)++;
            continue;
        }
        wr_agent_message_t *wait = wr_agent_message_new (WR_AGENT_MSG_PROCESS_WAIT);
        wr_agent_message_set_string (wait, "process_id",
                                     wr_agent_message_string (started, "process_id"));
        cleanup_agent_message wr_agent_message_t *done = NULL;
        if (wr_agent_client_request (client, wait, 20000, &done, NULL) < 0 ||
            wr_agent_message_int (done, "exit_code", -1) != 0)
            (*failures)++;
        wr_agent_message_free (wait);
    }
    return NULL;
}

static void
test_eight_threads (void **state)
{
    (void) state;
    pthread_t t[8];
    int failures[8] = { 0 };
    for (int i = 0; i < 8; i++)
        assert_int_equal (pthread_create (&t[i], NULL, exec_many, &failures[i]), 0);
    for (int i = 0; i < 8; i++) {
        pthread_join (t[i], NULL);
        assert_int_equal (failures[i], 0);
    }
}

int
main (int argc, char **argv)
{
    if (argc < 2) {
        fprintf (stderr, "usage: %s WARREN-INIT\n", argv[0]);
        return 2;
    }
    warren_init = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_exec_and_output), cmocka_unit_test (test_big_output),
        cmocka_unit_test (test_stdin),           cmocka_unit_test (test_errors_and_ping),
        cmocka_unit_test (test_eight_threads),   cmocka_unit_test (test_file_round_trip),
    };
    return cmocka_run_group_tests (tests, setup, teardown);
}
