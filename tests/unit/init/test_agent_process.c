/* The agent in warren-init (its path is argv[1]) as warrend sees it: the
 * built binary runs with --agent-socket in a temporary directory, and the
 * tests talk to it over the real socket with the protocol library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "../../tools/agent_client.h"
#include "../../tools/agent_start.h"
#include "cleanup.h"
#include "xalloc.h"

static const char *warren_init;
static char dir[] = "/tmp/test-agent-XXXXXX";
static char sock[256];
static pid_t agent_pid;

static int
setup (void **state)
{
    (void) state;
    assert_non_null (mkdtemp (dir));
    agent_pid = agent_start (warren_init, dir, dir, sock, sizeof sock);
    assert_true (agent_pid >= 0);
    return 0;
}

static int
teardown (void **state)
{
    (void) state;
    int status = agent_stop (agent_pid);
    assert_true (WIFEXITED (status));
    assert_int_equal (WEXITSTATUS (status), 0);
    char cmd[300];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal (system (cmd), 0);
    return 0;
}

static void
connect_ok (ac_t *c)
{
    if (ac_connect (c, sock) < 0)
        fail_msg ("connect: %s", c->err ? c->err->message : "failed");
    assert_int_equal (c->version, WR_AGENT_VERSION_MAX);
}

/* The next message on STREAM (frames of other streams, and window
 * grants, are skipped). */
static wr_agent_message_t *
next_message (ac_t *c, uint32_t stream)
{
    for (;;) {
        assert_int_equal (ac_next (c, 20000), 1);
        if (c->frame.stream != stream || c->frame.type != WR_AGENT_FRAME_MESSAGE)
            continue;
        wr_agent_message_t *msg = ac_message (c);
        if (msg == NULL)
            fail_msg ("decode: %s", c->err->message);
        /* Credit for a body (stdin) may come before the answer, at any time. */
        if (msg->type == WR_AGENT_MSG_WINDOW) {
            wr_agent_message_free (msg);
            continue;
        }
        return msg;
    }
}

static char *
exec_argv (ac_t *c, uint32_t stream, char **argv, bool keep_stdin)
{
    wr_agent_exec_t ex = { .argv = argv, .stdin = keep_stdin };
    assert_int_equal (ac_send (c, stream, wr_agent_exec_new (&ex), true), 0);
    wr_agent_message_t *msg = next_message (c, stream);
    if (msg->type != WR_AGENT_MSG_STARTED)
        fail_msg ("exec: %s", json_object_to_json_string (msg->json));
    assert_true (wr_agent_message_int (msg, "pid", 0) > 0);
    char *id = xstrdup (wr_agent_message_string (msg, "process_id"));
    wr_agent_message_free (msg);
    return id;
}

static char *
exec_sh (ac_t *c, uint32_t stream, const char *script, bool keep_stdin)
{
    char *argv[] = { "sh", "-c", (char *) script, NULL };
    return exec_argv (c, stream, argv, keep_stdin);
}

static wr_agent_message_t *
wait_process (ac_t *c, uint32_t stream, const char *id)
{
    wr_agent_message_t *req = wr_agent_message_new (WR_AGENT_MSG_PROCESS_WAIT);
    wr_agent_message_set_string (req, "process_id", id);
    assert_int_equal (ac_send (c, stream, req, true), 0);
    wr_agent_message_t *msg = next_message (c, stream);
    assert_int_equal (msg->type, WR_AGENT_MSG_PROCESS);
    return msg;
}

static void
test_exit_code (void **state)
{
    (void) state;
    ac_t c;
    connect_ok (&c);
    char *id = exec_sh (&c, 1, "exit 3", false);
    wr_agent_message_t *msg = wait_process (&c, 3, id);
    assert_string_equal (wr_agent_message_string (msg, "state"), "exited");
    assert_int_equal (wr_agent_message_int (msg, "exit_code", -1), 3);
    assert_false (wr_agent_message_has (msg, "signal"));
    wr_agent_message_free (msg);
    free (id);
    ac_close (&c);
}

static void
test_killed (void **state)
{
    (void) state;
    ac_t c;
    connect_ok (&c);
    char *id = exec_sh (&c, 1, "sleep 60", false);
    wr_agent_message_t *req = wr_agent_message_new (WR_AGENT_MSG_PROCESS_KILL);
    wr_agent_message_set_string (req, "process_id", id);
    assert_int_equal (ac_send (&c, 3, req, true), 0);
    wr_agent_message_t *ok = next_message (&c, 3);
    assert_int_equal (ok->type, WR_AGENT_MSG_OK);
    wr_agent_message_free (ok);
    wr_agent_message_t *msg = wait_process (&c, 5, id);
    assert_string_equal (wr_agent_message_string (msg, "state"), "signaled");
    assert_int_equal (wr_agent_message_int (msg, "signal", -1), 9);
    assert_false (wr_agent_message_has (msg, "exit_code"));
    wr_agent_message_free (msg);
    free (id);
    ac_close (&c);
}

static wr_agent_message_t *
output_read_new (const char *id, const char *which, uint64_t out_off, bool follow)
{
    wr_agent_message_t *req = wr_agent_message_new (WR_AGENT_MSG_OUTPUT_READ);
    wr_agent_message_set_string (req, "process_id", id);
    wr_agent_message_set_string (req, "stream", which);
    wr_agent_message_set_int (req, "stdout_offset", (int64_t) out_off);
    wr_agent_message_set_bool (req, "follow", follow);
    return req;
}

typedef struct {
    uint32_t stream;
    char *data;
    size_t len, cap;
    uint64_t next; /* the offset expected */
    wr_agent_message_t *end;
} reader_t;

/* Reads frames until every reader has its output.end, granting windows. */
static void
read_all (ac_t *c, reader_t *readers, size_t n)
{
    size_t done = 0;
    while (done < n) {
        assert_int_equal (ac_next (c, 30000), 1);
        reader_t *r = NULL;
        for (size_t i = 0; i < n; i++)
            if (readers[i].stream == c->frame.stream)
                r = &readers[i];
        assert_non_null (r);
        if (c->frame.type == WR_AGENT_FRAME_DATA) {
            assert_int_equal (c->frame.channel, WR_AGENT_CHANNEL_STDOUT);
            assert_int_equal (c->frame.offset, r->next);
            if (r->len + c->frame.length > r->cap) {
                r->cap = (r->len + c->frame.length) * 2;
                r->data = xrealloc (r->data, r->cap);
            }
            memcpy (r->data + r->len, c->frame.payload, c->frame.length);
            r->len += c->frame.length;
            r->next += c->frame.length;
            uint32_t length = c->frame.length;
            if (length > 0) {
                wr_agent_message_t *w = wr_agent_message_new (WR_AGENT_MSG_WINDOW);
                wr_agent_message_set_int (w, "bytes", length);
                assert_int_equal (ac_send (c, r->stream, w, false), 0);
            }
            continue;
        }
        wr_agent_message_t *msg = ac_message (c);
        assert_non_null (msg);
        if (msg->type != WR_AGENT_MSG_OUTPUT_END)
            fail_msg ("read: %s", json_object_to_json_string (msg->json));
        assert_true (c->frame.flags & WR_AGENT_FLAG_END);
        r->end = msg;
        done++;
    }
}

static void
check_lines (const reader_t *r, int count)
{
    char expect[16];
    size_t pos = 0;
    for (int i = 1; i <= count; i++) {
        int len = snprintf (expect, sizeof expect, "%d\n", i);
        assert_true (pos + (size_t) len <= r->len);
        if (memcmp (r->data + pos, expect, (size_t) len) != 0)
            fail_msg ("line %d is wrong at byte %zu", i, pos);
        pos += (size_t) len;
    }
    assert_int_equal (pos, r->len);
}

static void
test_million_lines (void **state)
{
    (void) state;
    ac_t c;
    connect_ok (&c);
    char *id = exec_argv (&c, 1, (char *[]){ "seq", "1", "1000000", NULL }, false);
    /* One follows from the start while it runs... */
    assert_int_equal (ac_send (&c, 3, output_read_new (id, "stdout", 0, true), true), 0);
    reader_t readers[2] = { { .stream = 3 }, { .stream = 5 } };
    read_all (&c, readers, 1);
    assert_string_equal (wr_agent_message_string (readers[0].end, "state"), "exited");
    /* ...and a second reads it all afterwards, both from a second
     * connection at once with another follower. */
    ac_t c2;
    connect_ok (&c2);
    assert_int_equal (ac_send (&c2, 1, output_read_new (id, "both", 0, false), true), 0);
    assert_int_equal (ac_send (&c2, 3, output_read_new (id, "stdout", 0, true), true), 0);
    reader_t late[2] = { { .stream = 1 }, { .stream = 3 } };
    read_all (&c2, late, 2);
    check_lines (&readers[0], 1000000);
    check_lines (&late[0], 1000000);
    check_lines (&late[1], 1000000);
    assert_int_equal (wr_agent_message_int (late[0].end, "stdout_offset", 0), late[0].len);
    /* Offsets resume: from the middle, exactly the rest. */
    uint64_t half = late[0].len / 2;
    assert_int_equal (ac_send (&c2, 5, output_read_new (id, "stdout", half, false), true), 0);
    reader_t rest = { .stream = 5, .next = half };
    read_all (&c2, &rest, 1);
    assert_int_equal (rest.len, late[0].len - half);
    assert_memory_equal (rest.data, late[0].data + half, rest.len);
    for (int i = 0; i < 2; i++) {
        free (readers[i].data);
        wr_agent_message_free (readers[i].end);
        free (late[i].data);
        wr_agent_message_free (late[i].end);
    }
    free (rest.data);
    wr_agent_message_free (rest.end);
    free (id);
    ac_close (&c);
    ac_close (&c2);
}

static void
test_stdin_cat (void **state)
{
    (void) state;
    ac_t c;
    connect_ok (&c);
    char *id = exec_argv (&c, 1, (char *[]){ "cat", NULL }, true);
    wr_agent_message_t *req = wr_agent_message_new (WR_AGENT_MSG_STDIN);
    wr_agent_message_set_string (req, "process_id", id);
    wr_agent_message_set_bool (req, "close", true);
    assert_int_equal (ac_send (&c, 3, req, false), 0);
    assert_int_equal (ac_send_data (&c, 3, 0, "hello ", 6, false), 0);
    assert_int_equal (ac_send_data (&c, 3, 6, "agent\n", 6, true), 0);
    wr_agent_message_t *ok = next_message (&c, 3);
    if (ok->type != WR_AGENT_MSG_OK)
        fail_msg ("stdin: %s", json_object_to_json_string (ok->json));
    wr_agent_message_free (ok);
    assert_int_equal (ac_send (&c, 5, output_read_new (id, "stdout", 0, true), true), 0);
    reader_t r = { .stream = 5 };
    read_all (&c, &r, 1);
    assert_int_equal (r.len, 12);
    assert_memory_equal (r.data, "hello agent\n", 12);
    assert_int_equal (wr_agent_message_int (r.end, "exit_code", -1), 0);
    free (r.data);
    wr_agent_message_free (r.end);
    free (id);
    ac_close (&c);
}

/* Runs EX to its end and returns its stdout (a terminal's output too);
 * its exit code must be 0. */
static char *
run_output (ac_t *c, uint32_t stream, const wr_agent_exec_t *ex)
{
    assert_int_equal (ac_send (c, stream, wr_agent_exec_new (ex), true), 0);
    wr_agent_message_t *msg = next_message (c, stream);
    if (msg->type != WR_AGENT_MSG_STARTED)
        fail_msg ("exec: %s", json_object_to_json_string (msg->json));
    const char *id = wr_agent_message_string (msg, "process_id");
    assert_int_equal (ac_send (c, stream + 2, output_read_new (id, "stdout", 0, true), true), 0);
    wr_agent_message_free (msg);
    reader_t r = { .stream = stream + 2 };
    read_all (c, &r, 1);
    assert_int_equal (wr_agent_message_int (r.end, "exit_code", -1), 0);
    wr_agent_message_free (r.end);
    r.data = xrealloc (r.data, r.len + 1);
    r.data[r.len] = '\0';
    return r.data;
}

/* The "SigBlk:" line of /proc/PID/status: the signal mask. */
static char *
blocked_line (const char *pid)
{
    char path[64], line[256];
    snprintf (path, sizeof path, "/proc/%s/status", pid);
    FILE *f = fopen (path, "re");
    assert_non_null (f);
    char *found = NULL;
    while (fgets (line, sizeof line, f))
        if (strncmp (line, "SigBlk:", 7) == 0)
            found = xstrdup (line);
    fclose (f);
    assert_non_null (found);
    return found;
}

/* User (by name, from /etc/passwd), groups, working directory, own process
 * group and the signal mask warren-init was given (not its own, all
 * blocked) reach the process. */
static void
test_exec_user_cwd_group_mask (void **state)
{
    (void) state;
    ac_t c;
    connect_ok (&c);
    char *script = "id -u; id -g; id -G; pwd; awk '{ print ($1 == $5) }' /proc/$$/stat";
    wr_agent_exec_t ex = { .argv = (char *[]){ "sh", "-c", script, NULL },
                           .user = "nobody",
                           .cwd = "/usr" };
    char *out = run_output (&c, 1, &ex);
    assert_string_equal (out, "65534\n65534\n65534\n/usr\n1\n");
    free (out);
    /* The mask of the very process started (a shell would change its own). */
    ex = (wr_agent_exec_t){ .argv = (char *[]){ "grep", "^SigBlk:", "/proc/self/status", NULL } };
    out = run_output (&c, 5, &ex);
    char pid[16];
    snprintf (pid, sizeof pid, "%d", (int) agent_pid);
    char *agent_mask = blocked_line (pid);
    char *own_mask = blocked_line ("self");
    assert_string_equal (out, own_mask);
    /* The check means something: warren-init itself blocks them all. */
    assert_string_not_equal (agent_mask, own_mask);
    free (agent_mask);
    free (own_mask);
    free (out);
    /* A uid:gid of no passwd entry. */
    ex = (wr_agent_exec_t){ .argv = (char *[]){ "sh", "-c", "id -u; id -g; id -G", NULL },
                            .user = "4321:8765" };
    out = run_output (&c, 9, &ex);
    assert_string_equal (out, "4321\n8765\n8765\n");
    free (out);
    ac_close (&c);
}

/* On a terminal: its own session, the terminal its controlling tty (so
 * /dev/tty opens), of the size asked for. */
static void
test_exec_tty (void **state)
{
    (void) state;
    ac_t c;
    connect_ok (&c);
    char *script = "tty > /dev/null && echo tty; stty size; awk '{ print ($1 == $6) }' "
                   "/proc/$$/stat; : < /dev/tty && echo ctty";
    wr_agent_exec_t ex = {
        .argv = (char *[]){ "sh", "-c", script, NULL }, .tty = true, .rows = 30, .cols = 100
    };
    char *out = run_output (&c, 1, &ex);
    assert_string_equal (out, "tty\r\n30 100\r\n1\r\nctty\r\n");
    free (out);
    ac_close (&c);
}

/* A failed exec is an error answer with its errno, not a process. */
static void
exec_fails (ac_t *c, uint32_t stream, char *program, const char *kind, int errno_value)
{
    wr_agent_exec_t ex = { .argv = (char *[]){ program, NULL } };
    assert_int_equal (ac_send (c, stream, wr_agent_exec_new (&ex), true), 0);
    wr_agent_message_t *msg = next_message (c, stream);
    if (msg->type != WR_AGENT_MSG_ERROR)
        fail_msg ("exec %s: %s", program, json_object_to_json_string (msg->json));
    assert_string_equal (wr_agent_message_string (msg, "kind"), kind);
    assert_int_equal (wr_agent_message_int (msg, "errno", 0), errno_value);
    assert_non_null (strstr (wr_agent_message_string (msg, "message"), program));
    wr_agent_message_free (msg);
}

static size_t
process_count (ac_t *c, uint32_t stream)
{
    wr_agent_message_t *req = wr_agent_message_new (WR_AGENT_MSG_PROCESS_LIST);
    assert_int_equal (ac_send (c, stream, req, true), 0);
    wr_agent_message_t *msg = next_message (c, stream);
    assert_int_equal (msg->type, WR_AGENT_MSG_PROCESSES);
    json_object *list = NULL;
    assert_true (json_object_object_get_ex (msg->json, "processes", &list));
    size_t n = json_object_array_length (list);
    wr_agent_message_free (msg);
    return n;
}

static void
test_exec_errors (void **state)
{
    (void) state;
    ac_t c;
    connect_ok (&c);
    size_t before = process_count (&c, 1);
    exec_fails (&c, 3, "no-such-program-in-path", "not_found", ENOENT);
    exec_fails (&c, 5, "/no/such/program", "not_found", ENOENT);
    exec_fails (&c, 7, "/etc/passwd", wr_error_kind_name (wr_error_kind_of_errno (EACCES)), EACCES);
    /* None of them left a process behind, and the next exec works. */
    assert_int_equal (process_count (&c, 9), before);
    wr_agent_exec_t ex = { .argv = (char *[]){ "echo", "still", NULL } };
    char *out = run_output (&c, 11, &ex);
    assert_string_equal (out, "still\n");
    free (out);
    ac_close (&c);
}

/* An agent of a test's own, with the options MORE, in a directory of its
 * own; C is connected to it. */
typedef struct {
    char dir[64];
    char sock[256];
    pid_t pid;
} own_agent_t;

static void
own_agent_start (own_agent_t *a, char *const *more, ac_t *c)
{
    snprintf (a->dir, sizeof a->dir, "/tmp/test-agent-own-XXXXXX");
    assert_non_null (mkdtemp (a->dir));
    a->pid = agent_start_with (warren_init, a->dir, a->dir, a->sock, sizeof a->sock, more);
    assert_true (a->pid >= 0);
    if (ac_connect (c, a->sock) < 0)
        fail_msg ("connect: %s", c->err ? c->err->message : "failed");
}

/* Closes C, stops the agent (it must exit) and removes its directory. */
static void
own_agent_stop (own_agent_t *a, ac_t *c)
{
    ac_close (c);
    int status = agent_stop (a->pid);
    assert_true (WIFEXITED (status));
    char cmd[300];
    snprintf (cmd, sizeof cmd, "rm -rf %s", a->dir);
    assert_int_equal (system (cmd), 0);
}

/* --agent-max-processes 2: a third exec while two run is refused with
 * kind too_many, leaving nothing behind; once one ended the next starts.
 * An agent of its own, in a directory of its own. */
static void
test_max_processes (void **state)
{
    (void) state;
    char *more[] = { "--agent-max-processes", "2", NULL };
    own_agent_t own;
    ac_t c;
    own_agent_start (&own, more, &c);
    cleanup_free char *a = exec_sh (&c, 1, "sleep 30", false);
    cleanup_free char *b = exec_sh (&c, 3, "exec sleep 30", false);
    assert_string_not_equal (a, b);
    wr_agent_exec_t ex = { .argv = (char *[]){ "true", NULL } };
    assert_int_equal (ac_send (&c, 5, wr_agent_exec_new (&ex), true), 0);
    wr_agent_message_t *msg = next_message (&c, 5);
    assert_int_equal (msg->type, WR_AGENT_MSG_ERROR);
    assert_string_equal (wr_agent_message_string (msg, "kind"), "too_many");
    assert_non_null (strstr (wr_agent_message_string (msg, "message"),
                             "2 processes started through the agent run already"));
    wr_agent_message_free (msg);
    assert_int_equal (process_count (&c, 7), 2);
    /* One killed and reaped: there is room for one more. */
    wr_agent_message_t *kill_req = wr_agent_message_new (WR_AGENT_MSG_PROCESS_SIGNAL);
    wr_agent_message_set_string (kill_req, "process_id", a);
    wr_agent_message_set_int (kill_req, "signal", SIGKILL);
    assert_int_equal (ac_send (&c, 9, kill_req, true), 0);
    wr_agent_message_free (next_message (&c, 9));
    wr_agent_message_free (wait_process (&c, 11, a));
    char *out = run_output (&c, 13, &ex);
    assert_string_equal (out, "");
    free (out);
    own_agent_stop (&own, &c);
}

/* After a protocol error the agent sends an error on stream 0, closes
 * that connection, and serves the next one. */
static void
expect_fatal (ac_t *c)
{
    int r;
    bool got_error = false;
    while ((r = ac_next (c, 5000)) == 1) {
        if (c->frame.stream == 0 && c->frame.type == WR_AGENT_FRAME_MESSAGE) {
            wr_agent_message_t *msg = ac_message (c);
            if (msg && msg->type == WR_AGENT_MSG_ERROR)
                got_error = true;
            if (msg && msg->type == WR_AGENT_MSG_HELLO && c->version == 0) {
                c->version = 1;
                assert_int_equal (wr_agent_decoder_set_version (c->dec, 1, NULL), 0);
            }
            wr_agent_message_free (msg);
        }
    }
    assert_int_equal (r, 0); /* closed */
    assert_true (got_error);
}

static void
test_protocol_errors (void **state)
{
    (void) state;
    ac_t c;
    assert_int_equal (ac_connect_raw (&c, sock), 0);
    assert_int_equal (ac_write (&c, "GET / HTTP/1.1\r\n\r\n", 18), 0);
    expect_fatal (&c);
    ac_close (&c);

    connect_ok (&c);
    const char *bad = "{\"type\": \"exec\", \"argv\": [\"true\"], \"bogus\": 1}";
    wr_agent_frame_t frame = { .version = 1,
                               .type = WR_AGENT_FRAME_MESSAGE,
                               .flags = 1,
                               .stream = 1,
                               .length = (uint32_t) strlen (bad),
                               .payload = (const uint8_t *) bad };
    wr_agent_buf_t buf = { 0 };
    assert_int_equal (wr_agent_frame_encode (&buf, &frame, NULL), 0);
    assert_int_equal (ac_write (&c, buf.data, buf.len), 0);
    wr_agent_buf_clear (&buf);
    expect_fatal (&c);
    ac_close (&c);

    connect_ok (&c);
    assert_int_equal (ac_send (&c, 1, wr_agent_message_new (WR_AGENT_MSG_PING), true), 0);
    wr_agent_message_t *pong = next_message (&c, 1);
    assert_int_equal (pong->type, WR_AGENT_MSG_PONG);
    wr_agent_message_free (pong);
    ac_close (&c);
}

static void
test_cancel_follow (void **state)
{
    (void) state;
    ac_t c;
    connect_ok (&c);
    char *id = exec_sh (&c, 1, "echo started; sleep 60", false);
    assert_int_equal (ac_send (&c, 3, output_read_new (id, "stdout", 0, true), true), 0);
    assert_int_equal (ac_next (&c, 5000), 1);
    assert_int_equal (c.frame.type, WR_AGENT_FRAME_DATA);
    assert_int_equal (ac_send (&c, 3, wr_agent_message_new (WR_AGENT_MSG_CANCEL), false), 0);
    wr_agent_message_t *msg = next_message (&c, 3);
    assert_int_equal (msg->type, WR_AGENT_MSG_ERROR);
    assert_string_equal (wr_agent_message_string (msg, "kind"), "cancelled");
    wr_agent_message_free (msg);
    wr_agent_message_t *req = wr_agent_message_new (WR_AGENT_MSG_PROCESS_KILL);
    wr_agent_message_set_string (req, "process_id", id);
    assert_int_equal (ac_send (&c, 5, req, true), 0);
    msg = next_message (&c, 5);
    assert_int_equal (msg->type, WR_AGENT_MSG_OK);
    wr_agent_message_free (msg);
    free (id);
    ac_close (&c);
}

/* The agent speaks the version warrend's hello allows: on version 2 its
 * started is the whole process, on version 1 only its names. */
static void
test_started_by_version (void **state)
{
    (void) state;
    ac_t c;
    connect_ok (&c);
    wr_agent_exec_t ex = { .argv = (char *[]){ "sleep", "60", NULL } };
    assert_int_equal (ac_send (&c, 1, wr_agent_exec_new (&ex), true), 0);
    wr_agent_message_t *msg = next_message (&c, 1);
    assert_int_equal (msg->type, WR_AGENT_MSG_STARTED);
    assert_string_equal (wr_agent_message_string (msg, "state"), "running");
    assert_true (wr_agent_message_int (msg, "started_ms", 0) > 0);
    char **argv = wr_agent_message_strv (msg, "argv");
    assert_string_equal (argv[0], "sleep");
    assert_string_equal (argv[1], "60");
    assert_null (argv[2]);
    cleanup_strv_fn (&argv);
    char *id = xstrdup (wr_agent_message_string (msg, "process_id"));
    wr_agent_message_free (msg);
    wr_agent_message_t *req = wr_agent_message_new (WR_AGENT_MSG_PROCESS_KILL);
    wr_agent_message_set_string (req, "process_id", id);
    assert_int_equal (ac_send (&c, 3, req, true), 0);
    msg = next_message (&c, 3);
    assert_int_equal (msg->type, WR_AGENT_MSG_OK);
    wr_agent_message_free (msg);
    free (id);
    ac_close (&c);

    /* A warrend of version 1 only. */
    assert_int_equal (ac_connect_raw (&c, sock), 0);
    wr_agent_message_t *hello = wr_agent_hello_new ("old warrend");
    json_object *versions = json_object_new_array ();
    json_object_array_add (versions, json_object_new_int (1));
    wr_agent_message_set_json (hello, "versions", versions);
    assert_int_equal (ac_send (&c, 0, hello, false), 0);
    assert_int_equal (ac_next (&c, 5000), 1);
    wr_agent_message_t *theirs = ac_message (&c);
    assert_non_null (theirs);
    assert_int_equal (wr_agent_negotiate (theirs, WR_AGENT_SIDE_AGENT, &c.version, NULL), 0);
    wr_agent_message_free (theirs);
    assert_int_equal (c.version, 3); /* what it offers; the lower common one is used */
    c.version = 1;
    assert_int_equal (wr_agent_decoder_set_version (c.dec, 1, NULL), 0);
    ex = (wr_agent_exec_t){ .argv = (char *[]){ "true", NULL } };
    assert_int_equal (ac_send (&c, 1, wr_agent_exec_new (&ex), true), 0);
    msg = next_message (&c, 1);
    if (msg->type != WR_AGENT_MSG_STARTED)
        fail_msg ("exec on version 1: %s", json_object_to_json_string (msg->json));
    assert_true (wr_agent_message_has (msg, "process_id"));
    assert_true (wr_agent_message_int (msg, "pid", 0) > 0);
    assert_false (wr_agent_message_has (msg, "state"));
    assert_false (wr_agent_message_has (msg, "argv"));
    wr_agent_message_free (msg);
    ac_close (&c);
}

static void
test_files_and_docker_answer (void **state)
{
    (void) state;
    ac_t c;
    connect_ok (&c);
    wr_agent_message_t *req = wr_agent_message_new (WR_AGENT_MSG_DOCKER_WATCH);
    assert_int_equal (ac_send (&c, 1, req, true), 0);
    wr_agent_message_t *msg = next_message (&c, 1);
    assert_int_equal (msg->type, WR_AGENT_MSG_ERROR);
    assert_string_equal (wr_agent_message_string (msg, "kind"), "not_found");
    wr_agent_message_free (msg);
    /* A file request goes to its worker and gets an answer. */
    req = wr_agent_message_new (WR_AGENT_MSG_FILE_STAT);
    wr_agent_message_set_string (req, "path", "/");
    assert_int_equal (ac_send (&c, 3, req, true), 0);
    msg = next_message (&c, 3);
    assert_true (msg->type == WR_AGENT_MSG_FILE_INFO || msg->type == WR_AGENT_MSG_ERROR);
    wr_agent_message_free (msg);
    ac_close (&c);
}

/* Exec with wait (version 3): started, then on the same stream the
 * process once it ended; with timeout_ms, an unavailable error while it
 * still runs. */
static void
test_exec_wait (void **state)
{
    (void) state;
    ac_t c;
    connect_ok (&c);
    wr_agent_exec_t ex = { .argv = (char *[]){ "sh", "-c", "exit 3", NULL }, .wait = true };
    assert_int_equal (ac_send (&c, 1, wr_agent_exec_new (&ex), true), 0);
    wr_agent_message_t *msg = next_message (&c, 1);
    assert_int_equal (msg->type, WR_AGENT_MSG_STARTED);
    assert_false (c.frame.flags & WR_AGENT_FLAG_END);
    cleanup_free char *id = xstrdup (wr_agent_message_string (msg, "process_id"));
    wr_agent_message_free (msg);
    msg = next_message (&c, 1);
    assert_int_equal (msg->type, WR_AGENT_MSG_PROCESS);
    assert_true (c.frame.flags & WR_AGENT_FLAG_END);
    assert_string_equal (wr_agent_message_string (msg, "process_id"), id);
    assert_string_equal (wr_agent_message_string (msg, "state"), "exited");
    assert_int_equal (wr_agent_message_int (msg, "exit_code", -1), 3);
    wr_agent_message_free (msg);

    ex = (wr_agent_exec_t){ .argv = (char *[]){ "sleep", "30", NULL },
                            .wait = true,
                            .wait_timeout_ms = 200 };
    assert_int_equal (ac_send (&c, 3, wr_agent_exec_new (&ex), true), 0);
    msg = next_message (&c, 3);
    assert_int_equal (msg->type, WR_AGENT_MSG_STARTED);
    cleanup_free char *sleeper = xstrdup (wr_agent_message_string (msg, "process_id"));
    wr_agent_message_free (msg);
    msg = next_message (&c, 3);
    assert_int_equal (msg->type, WR_AGENT_MSG_ERROR);
    assert_string_equal (wr_agent_message_string (msg, "kind"), "unavailable");
    wr_agent_message_free (msg);
    wr_agent_message_t *kill_req = wr_agent_message_new (WR_AGENT_MSG_PROCESS_KILL);
    wr_agent_message_set_string (kill_req, "process_id", sleeper);
    assert_int_equal (ac_send (&c, 5, kill_req, true), 0);
    wr_agent_message_free (next_message (&c, 5));
    ac_close (&c);
}

/* --agent-user: an exec that names no user runs as it; one that names a
 * user runs as that one (root included). */
static void
test_default_user (void **state)
{
    (void) state;
    char *more[] = { "--agent-user", "4321:8765", NULL };
    own_agent_t own;
    ac_t c;
    own_agent_start (&own, more, &c);
    wr_agent_exec_t ex = { .argv = (char *[]){ "sh", "-c", "id -u; id -g", NULL } };
    char *out = run_output (&c, 1, &ex);
    assert_string_equal (out, "4321\n8765\n");
    free (out);
    ex.user = "0";
    out = run_output (&c, 5, &ex);
    assert_string_equal (out, "0\n0\n");
    free (out);
    own_agent_stop (&own, &c);
}

int
main (int argc, char **argv)
{
    if (argc < 2) {
        fprintf (stderr, "usage: %s WARREN_INIT\n", argv[0]);
        return 2;
    }
    warren_init = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_exit_code),
        cmocka_unit_test (test_killed),
        cmocka_unit_test (test_stdin_cat),
        cmocka_unit_test (test_million_lines),
        cmocka_unit_test (test_protocol_errors),
        cmocka_unit_test (test_cancel_follow),
        cmocka_unit_test (test_files_and_docker_answer),
        cmocka_unit_test (test_started_by_version),
        cmocka_unit_test (test_exec_user_cwd_group_mask),
        cmocka_unit_test (test_exec_tty),
        cmocka_unit_test (test_exec_errors),
        cmocka_unit_test (test_max_processes),
        cmocka_unit_test (test_default_user),
        cmocka_unit_test (test_exec_wait),
    };
    return cmocka_run_group_tests (tests, setup, teardown);
}
