/* Unit tests of agent_message.c: every message type of version 1 round
 * trips; the handshake picks the highest common version or says why there
 * is none; and malformed, mistyped, unknown, missing, oversize and
 * misplaced fields are each refused with a message naming them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "agent_message.h"
#include "cleanup.h"
#include "xalloc.h"

#define HOST WR_AGENT_SIDE_HOST
#define AGENT WR_AGENT_SIDE_AGENT
#define END WR_AGENT_FLAG_END

static wr_agent_frame_t
frame_of (const char *json, uint32_t stream, uint8_t flags)
{
    wr_agent_frame_t f = { .version = 1,
                           .type = WR_AGENT_FRAME_MESSAGE,
                           .flags = flags,
                           .stream = stream,
                           .length = (uint32_t) strlen (json),
                           .payload = (const uint8_t *) json };
    return f;
}

static wr_agent_message_t *
decode (const char *json, uint32_t stream, uint8_t flags, wr_agent_side_t from, wr_error_t *err)
{
    wr_agent_frame_t f = frame_of (json, stream, flags);
    return wr_agent_message_decode (&f, from, err);
}

/* JSON refused with an error of KIND containing WANT. */
static void
expect_refused (const char *json, uint32_t stream, uint8_t flags, wr_agent_side_t from,
                wr_error_kind_t kind, const char *want)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_agent_message wr_agent_message_t *msg = decode (json, stream, flags, from, &err);
    if (msg != NULL)
        fail_msg ("`%s` was taken", json);
    assert_non_null (err);
    if (strstr (err->message, want) == NULL)
        fail_msg ("error `%s` does not say `%s`", err->message, want);
    if (err->kind != kind)
        fail_msg ("error `%s` has kind %s", err->message, wr_error_kind_name (err->kind));
}

/* One valid message of every type, with who sends it and where. */
static const struct {
    const char *json;
    uint32_t stream;
    uint8_t flags;
    wr_agent_side_t from;
} valid[] = {
    { "{\"type\":\"hello\",\"versions\":[1],\"software\":\"warren-init 0.1\",\"window\":4194304}",
      0, 0, AGENT },
    { "{\"type\":\"error\",\"kind\":\"not_found\",\"message\":\"no process p9\",\"errno\":2}", 3,
      END, AGENT },
    { "{\"type\":\"error\",\"kind\":\"invalid\",\"message\":\"no common version\"}", 0, END, HOST },
    { "{\"type\":\"ok\"}", 3, END, AGENT },
    { "{\"type\":\"cancel\"}", 3, END, HOST },
    { "{\"type\":\"window\",\"bytes\":65536}", 5, 0, AGENT },
    { "{\"type\":\"ping\"}", 1, END, HOST },
    { "{\"type\":\"ping\"}", 2, END, AGENT },
    { "{\"type\":\"pong\"}", 1, END, AGENT },
    { "{\"type\":\"exec\",\"argv\":[\"sh\",\"-c\",\"echo hi\"],\"env\":[\"A=1\",\"EMPTY=\"],"
      "\"cwd\":\"/root\",\"user\":\"1000:1000\",\"stdin\":true,\"tty\":{\"rows\":24,\"cols\":80}}",
      1, END, HOST },
    { "{\"type\":\"started\",\"process_id\":\"p1\",\"pid\":42}", 1, END, AGENT },
    { "{\"type\":\"process.status\",\"process_id\":\"p1\"}", 3, END, HOST },
    { "{\"type\":\"process.wait\",\"process_id\":\"p1\",\"timeout_ms\":1000}", 5, END, HOST },
    { "{\"type\":\"process\",\"process_id\":\"p1\",\"pid\":42,\"argv\":[\"false\"],"
      "\"state\":\"exited\",\"exit_code\":1,\"started_ms\":1,\"ended_ms\":2}",
      5, END, AGENT },
    { "{\"type\":\"process.signal\",\"process_id\":\"p1\",\"signal\":15,\"group\":true}", 7, END,
      HOST },
    { "{\"type\":\"process.kill\",\"process_id\":\"p1\"}", 9, END, HOST },
    { "{\"type\":\"process.resize\",\"process_id\":\"p1\",\"rows\":50,\"cols\":132}", 9, END,
      HOST },
    { "{\"type\":\"process.list\"}", 11, END, HOST },
    { "{\"type\":\"processes\",\"processes\":[{\"process_id\":\"p1\",\"pid\":42,\"argv\":["
      "\"sleep\","
      "\"9\"],\"state\":\"running\",\"tty\":false},{\"process_id\":\"p2\",\"pid\":43,\"argv\":["
      "\"kill\"],\"state\":\"signaled\",\"signal\":9,\"core_dumped\":false}]}",
      11, END, AGENT },
    { "{\"type\":\"process.remove\",\"process_id\":\"p1\"}", 13, END, HOST },
    { "{\"type\":\"output.read\",\"process_id\":\"p1\",\"stream\":\"both\",\"stdout_offset\":10,"
      "\"stderr_offset\":0,\"follow\":true}",
      15, END, HOST },
    { "{\"type\":\"output.end\",\"stdout_offset\":10,\"stderr_offset\":3,\"state\":\"signaled\","
      "\"signal\":11,\"core_dumped\":true}",
      15, END, AGENT },
    { "{\"type\":\"stdin\",\"process_id\":\"p1\",\"close\":true}", 17, 0, HOST },
    { "{\"type\":\"file.read\",\"path\":\"/etc/hostname\",\"offset\":0,\"length\":4096}", 19, END,
      HOST },
    { "{\"type\":\"file.write\",\"path\":\"/tmp/x\",\"mode\":420,\"uid\":0,\"gid\":0,\"size\":5,"
      "\"append\":false,\"parents\":true}",
      21, 0, HOST },
    { "{\"type\":\"file.stat\",\"path\":\"/tmp\",\"follow_symlinks\":true}", 23, END, HOST },
    { "{\"type\":\"file.info\",\"path\":\"/tmp/l\",\"file_type\":\"symlink\",\"size\":1,"
      "\"mode\":511,\"uid\":0,\"gid\":0,\"mtime_ms\":-5,\"target\":\"x\"}",
      23, END, AGENT },
    { "{\"type\":\"file.list\",\"path\":\"/\",\"recursive\":true,\"limit\":10}", 25, END, HOST },
    { "{\"type\":\"file.entries\",\"entries\":[{\"path\":\"etc\",\"file_type\":\"directory\","
      "\"size\":0,\"mode\":493,\"uid\":0,\"gid\":0}],\"truncated\":true}",
      25, 0, AGENT },
    { "{\"type\":\"file.mkdir\",\"path\":\"/a/b\",\"mode\":448,\"parents\":true}", 27, END, HOST },
    { "{\"type\":\"file.remove\",\"path\":\"/a\",\"recursive\":true}", 29, END, HOST },
    { "{\"type\":\"file.rename\",\"from\":\"/a\",\"to\":\"/b\",\"replace\":false}", 31, END, HOST },
    { "{\"type\":\"file.chmod\",\"path\":\"/b\",\"mode\":4095}", 33, END, HOST },
    { "{\"type\":\"file.chown\",\"path\":\"/b\",\"uid\":4294967295,\"gid\":1}", 35, END, HOST },
    { "{\"type\":\"file.find\",\"path\":\"/src\",\"pattern\":\"TODO|FIXME\",\"glob\":\"*.c\","
      "\"ignore_case\":true,\"max_matches\":100}",
      37, END, HOST },
    { "{\"type\":\"file.matches\",\"matches\":[{\"path\":\"/src/a.c\",\"line\":3,\"column\":7,"
      "\"text\":\"// TODO\"}]}",
      37, END, AGENT },
    { "{\"type\":\"file.replace\",\"path\":\"/src\",\"pattern\":\"foo\",\"replacement\":\"bar\"}",
      39, END, HOST },
    { "{\"type\":\"file.replaced\",\"files\":2,\"replacements\":5}", 39, END, AGENT },
    { "{\"type\":\"docker.watch\"}", 41, END, HOST },
    { "{\"type\":\"docker.waiting\",\"timeout_ms\":30000}", 41, 0, AGENT },
    { "{\"type\":\"docker.ready\",\"took_ms\":1200}", 41, END, AGENT },
    { "{\"type\":\"docker.failed\",\"message\":\"dockerd exited\",\"exit_code\":1,\"log\":["
      "\"failed to start daemon\"]}",
      41, END, AGENT },
    { "{\"type\":\"checkpoint.prepare\"}", 43, END, HOST },
    { "{\"type\":\"checkpoint.resume\"}", 45, END, HOST },
    { "{\"type\":\"tunnel.open\",\"target\":\"docker\"}", 47, 0, HOST },
    { "{\"type\":\"tunnel.open\",\"target\":\"tcp\",\"port\":8080}", 49, 0, HOST },
    { "{\"type\":\"relay.open\",\"target\":\"registry-mirror\"}", 2, 0, AGENT },
};

/* Each decodes, encodes back to the same object, and every type of version
 * 1 is among them. */
static void
test_every_type_round_trips (void **state)
{
    bool seen[WR_AGENT_MSG_COUNT] = { false };
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        cleanup_error wr_error_t err = NULL;
        cleanup_agent_message wr_agent_message_t *msg =
            decode (valid[i].json, valid[i].stream, valid[i].flags, valid[i].from, &err);
        if (msg == NULL)
            fail_msg ("`%s`: %s", valid[i].json, err->message);
        seen[msg->type] = true;
        assert_string_equal (wr_agent_msg_type_name (msg->type),
                             json_object_get_string (wr_agent_message_get (msg, "type")));
        cleanup_agent_buf wr_agent_buf_t buf = { 0 };
        if (wr_agent_message_encode (&buf, 1, valid[i].stream, valid[i].flags, valid[i].from, msg,
                                     &err) < 0)
            fail_msg ("encode `%s`: %s", valid[i].json, err->message);
        cleanup_agent_decoder wr_agent_decoder_t *dec = wr_agent_decoder_new (valid[i].from);
        if (valid[i].stream != 0) {
            /* Past a handshake, to take frames of any stream. */
            cleanup_agent_message wr_agent_message_t *hello = wr_agent_hello_new (NULL);
            cleanup_agent_buf wr_agent_buf_t h = { 0 };
            assert_int_equal (wr_agent_message_encode (&h, 1, 0, 0, valid[i].from, hello, NULL), 0);
            wr_agent_frame_t f;
            assert_int_equal (wr_agent_decoder_feed (dec, h.data, h.len, NULL), 0);
            assert_int_equal (wr_agent_decoder_next (dec, &f, NULL), 1);
            assert_int_equal (wr_agent_decoder_set_version (dec, 1, NULL), 0);
        }
        assert_int_equal (wr_agent_decoder_feed (dec, buf.data, buf.len, NULL), 0);
        wr_agent_frame_t f;
        assert_int_equal (wr_agent_decoder_next (dec, &f, NULL), 1);
        assert_int_equal (f.stream, valid[i].stream);
        assert_int_equal (f.flags, valid[i].flags);
        cleanup_agent_message wr_agent_message_t *again =
            wr_agent_message_decode (&f, valid[i].from, &err);
        if (again == NULL)
            fail_msg ("decode again `%s`: %s", valid[i].json, err->message);
        assert_true (json_object_equal (msg->json, again->json));
    }
    for (int t = 0; t < WR_AGENT_MSG_COUNT; t++)
        if (!seen[t])
            fail_msg ("no valid %s message in the table", wr_agent_msg_type_name (t));
}

static void
test_type_names (void **state)
{
    for (int t = 0; t < WR_AGENT_MSG_COUNT; t++)
        assert_int_equal (wr_agent_msg_type_from_name (wr_agent_msg_type_name (t)), t);
    assert_int_equal (wr_agent_msg_type_from_name ("exec2"), -1);
    assert_string_equal (wr_agent_msg_type_name (WR_AGENT_MSG_COUNT), "unknown");
}

static void
test_bad_json (void **state)
{
    expect_refused ("{\"type\":\"ok\"", 1, END, AGENT, WR_ERROR_INVALID, "truncated JSON");
    expect_refused ("{\"type\":\"ok\",}", 1, END, AGENT, WR_ERROR_INVALID, "not JSON");
    expect_refused ("{\"type\":\"ok\"} x", 1, END, AGENT, WR_ERROR_INVALID,
                    "not JSON: unexpected character at offset 14");
    {
        /* White space after the object is fine. */
        cleanup_agent_message wr_agent_message_t *ok =
            decode ("{\"type\":\"ok\"} \r\n", 1, END, AGENT, NULL);
        assert_non_null (ok);
    }
    expect_refused ("[1]", 1, END, AGENT, WR_ERROR_INVALID, "must be a JSON object, not an array");
    expect_refused ("{\"type\":\"ok\"}\n{}", 1, END, AGENT, WR_ERROR_INVALID, "not JSON");
    expect_refused ("{\"type\":\"ok\" /* c */}", 1, END, AGENT, WR_ERROR_INVALID, "not JSON");
    /* Not UTF-8. */
    expect_refused ("{\"type\":\"ok\",\"x\":\"\xff\"}", 1, END, AGENT, WR_ERROR_INVALID,
                    "not JSON");
    /* Deeper than any message of version 1. */
    expect_refused ("{\"type\":\"ok\",\"a\":[[[[[[[[[[[[1]]]]]]]]]]]]}", 1, END, AGENT,
                    WR_ERROR_INVALID, "not JSON");
    /* A NUL byte in the payload. */
    char nul[] = "{\"type\":\"ok\"}";
    nul[1] = '\0';
    wr_agent_frame_t f = frame_of ("{\"type\":\"ok\"}", 1, END);
    f.payload = (const uint8_t *) nul;
    cleanup_error wr_error_t err = NULL;
    assert_null (wr_agent_message_decode (&f, AGENT, &err));
    assert_string_equal (err->message,
                         "the agent's message on stream 1: not JSON: a NUL byte at offset 1");
    /* A data frame is no message. */
    f = frame_of ("{\"type\":\"ok\"}", 1, END);
    f.type = WR_AGENT_FRAME_DATA;
    assert_null (wr_agent_message_decode (&f, AGENT, &err));
}

static void
test_bad_fields (void **state)
{
    expect_refused ("{\"kind\":\"invalid\"}", 1, END, AGENT, WR_ERROR_INVALID, "type: missing");
    expect_refused ("{\"type\":7}", 1, END, AGENT, WR_ERROR_INVALID,
                    "type: must be a string, not an integer");
    expect_refused ("{\"type\":\"reboot\\u0007\"}", 1, END, AGENT, WR_ERROR_INVALID,
                    "unknown message type `reboot\\x07`");
    /* Unknown fields, named (and quoted when not printable). */
    expect_refused ("{\"type\":\"ok\",\"extra\":1}", 1, END, AGENT, WR_ERROR_INVALID,
                    "the agent's ok message on stream 1: unknown field `extra`");
    expect_refused ("{\"type\":\"started\",\"process_id\":\"p1\",\"pid\":1,\"\\n\":1}", 1, END,
                    AGENT, WR_ERROR_INVALID, "unknown field `\\x0a`");
    expect_refused ("{\"type\":\"exec\",\"argv\":[\"a\"],\"tty\":{\"rows\":1,\"cols\":1,"
                    "\"type\":2}}",
                    1, END, HOST, WR_ERROR_INVALID, "tty: unknown field `type`");
    /* Wrong types. */
    expect_refused ("{\"type\":\"started\",\"process_id\":\"p1\",\"pid\":\"42\"}", 3, END, AGENT,
                    WR_ERROR_INVALID,
                    "the agent's started message on stream 3: pid: must be an integer, not a "
                    "string");
    expect_refused ("{\"type\":\"started\",\"process_id\":\"p1\",\"pid\":4.5}", 3, END, AGENT,
                    WR_ERROR_INVALID, "pid: must be an integer, not a fractional number");
    expect_refused ("{\"type\":\"exec\",\"argv\":[\"a\",2]}", 1, END, HOST, WR_ERROR_INVALID,
                    "argv[1]: must be a string, not an integer");
    expect_refused ("{\"type\":\"exec\",\"argv\":[\"a\"],\"stdin\":\"yes\"}", 1, END, HOST,
                    WR_ERROR_INVALID, "stdin: must be a boolean, not a string");
    expect_refused ("{\"type\":\"exec\",\"argv\":[\"a\"],\"tty\":true}", 1, END, HOST,
                    WR_ERROR_INVALID, "tty: must be an object, not a boolean");
    /* Missing and null. */
    expect_refused ("{\"type\":\"started\",\"pid\":42}", 3, END, AGENT, WR_ERROR_INVALID,
                    "process_id: missing");
    expect_refused ("{\"type\":\"started\",\"process_id\":null,\"pid\":42}", 3, END, AGENT,
                    WR_ERROR_INVALID, "process_id: must not be null");
    expect_refused ("{\"type\":\"exec\",\"argv\":[\"a\"],\"cwd\":null}", 1, END, HOST,
                    WR_ERROR_INVALID, "cwd: must not be null");
    expect_refused ("{\"type\":\"exec\",\"argv\":[\"a\"],\"tty\":{\"rows\":1}}", 1, END, HOST,
                    WR_ERROR_INVALID, "tty.cols: missing");
    /* Values. */
    expect_refused ("{\"type\":\"exec\",\"argv\":[]}", 1, END, HOST, WR_ERROR_INVALID,
                    "argv: must have at least 1 item");
    expect_refused ("{\"type\":\"exec\",\"argv\":[\"a\"],\"env\":[\"=x\"]}", 1, END, HOST,
                    WR_ERROR_INVALID, "env[0]: must be KEY=VALUE");
    expect_refused ("{\"type\":\"exec\",\"argv\":[\"a\"],\"env\":[\"PATH\"]}", 1, END, HOST,
                    WR_ERROR_INVALID, "env[0]: must be KEY=VALUE");
    expect_refused ("{\"type\":\"exec\",\"argv\":[\"a\\u0000b\"]}", 1, END, HOST, WR_ERROR_INVALID,
                    "argv[0]: must not contain a NUL character");
    expect_refused ("{\"type\":\"exec\",\"argv\":[\"a\"],\"cwd\":\"\"}", 1, END, HOST,
                    WR_ERROR_INVALID, "cwd: must not be empty");
    expect_refused ("{\"type\":\"started\",\"process_id\":\"../p\",\"pid\":42}", 3, END, AGENT,
                    WR_ERROR_INVALID, "process_id: must be made of letters");
    expect_refused ("{\"type\":\"started\",\"process_id\":\"p\",\"pid\":0}", 3, END, AGENT,
                    WR_ERROR_INVALID, "pid: 0 is out of range (1 to 2147483647)");
    expect_refused ("{\"type\":\"output.end\",\"stdout_offset\":-1,\"stderr_offset\":0,"
                    "\"state\":\"running\"}",
                    3, END, AGENT, WR_ERROR_INVALID, "stdout_offset: -1 is out of range");
    expect_refused ("{\"type\":\"output.end\",\"stdout_offset\":99999999999999999999,"
                    "\"stderr_offset\":0,\"state\":\"running\"}",
                    3, END, AGENT, WR_ERROR_INVALID, "stdout_offset: integer too large");
    expect_refused ("{\"type\":\"output.read\",\"process_id\":\"p\",\"stream\":\"stdin\"}", 3, END,
                    HOST, WR_ERROR_INVALID, "stream: unknown value `stdin`");
    expect_refused ("{\"type\":\"error\",\"kind\":\"teapot\",\"message\":\"x\"}", 3, END, AGENT,
                    WR_ERROR_INVALID, "kind: unknown value `teapot`");
    expect_refused ("{\"type\":\"file.chmod\",\"path\":\"/x\",\"mode\":4096}", 3, END, HOST,
                    WR_ERROR_INVALID, "mode: 4096 is out of range (0 to 4095)");
    expect_refused ("{\"type\":\"tunnel.open\",\"target\":\"docker\",\"port\":1}", 3, 0, HOST,
                    WR_ERROR_INVALID, "a port is given with the tcp target, and only then");
    expect_refused ("{\"type\":\"hello\",\"versions\":[]}", 0, 0, AGENT, WR_ERROR_INVALID,
                    "versions: must have at least 1 item");
    expect_refused ("{\"type\":\"hello\",\"versions\":[256]}", 0, 0, AGENT, WR_ERROR_INVALID,
                    "versions[0]: 256 is out of range");
    expect_refused ("{\"type\":\"hello\",\"versions\":\"1\"}", 0, 0, AGENT, WR_ERROR_INVALID,
                    "versions: must be an array, not a string");
}

/* States carry exactly what they need. */
static void
test_exit_consistency (void **state)
{
    const char *bad[] = {
        "{\"type\":\"output.end\",\"stdout_offset\":0,\"stderr_offset\":0,\"state\":\"exited\"}",
        "{\"type\":\"output.end\",\"stdout_offset\":0,\"stderr_offset\":0,\"state\":\"exited\","
        "\"exit_code\":0,\"signal\":9}",
        "{\"type\":\"output.end\",\"stdout_offset\":0,\"stderr_offset\":0,\"state\":\"signaled\","
        "\"exit_code\":137}",
        "{\"type\":\"output.end\",\"stdout_offset\":0,\"stderr_offset\":0,\"state\":\"running\","
        "\"exit_code\":0}",
        "{\"type\":\"process\",\"process_id\":\"p\",\"pid\":1,\"argv\":[\"x\"],\"state\":"
        "\"exited\","
        "\"exit_code\":0,\"core_dumped\":true}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_refused (bad[i], 3, END, AGENT, WR_ERROR_INVALID, "process");
    expect_refused ("{\"type\":\"docker.failed\",\"message\":\"x\",\"exit_code\":1,\"signal\":9}",
                    3, END, AGENT, WR_ERROR_INVALID, "both an exit_code and a signal");

    const wr_agent_exit_t cases[] = {
        { WR_AGENT_RUNNING, 0, 0, false },  { WR_AGENT_EXITED, 0, 0, false },
        { WR_AGENT_EXITED, 255, 0, false }, { WR_AGENT_SIGNALED, 0, 9, false },
        { WR_AGENT_SIGNALED, 0, 11, true },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cleanup_agent_message wr_agent_message_t *msg =
            wr_agent_message_new (WR_AGENT_MSG_OUTPUT_END);
        wr_agent_message_set_int (msg, "stdout_offset", 5);
        wr_agent_message_set_int (msg, "stderr_offset", 0);
        wr_agent_exit_set (msg->json, &cases[i]);
        cleanup_agent_buf wr_agent_buf_t buf = { 0 };
        cleanup_error wr_error_t err = NULL;
        if (wr_agent_message_encode (&buf, 1, 3, END, AGENT, msg, &err) < 0)
            fail_msg ("%s", err->message);
        wr_agent_frame_t f = { .version = 1,
                               .type = WR_AGENT_FRAME_MESSAGE,
                               .flags = END,
                               .stream = 3,
                               .length = (uint32_t) (buf.len - WR_AGENT_HEADER_SIZE),
                               .payload = buf.data + WR_AGENT_HEADER_SIZE };
        cleanup_agent_message wr_agent_message_t *back = wr_agent_message_decode (&f, AGENT, &err);
        assert_non_null (back);
        wr_agent_exit_t got;
        wr_agent_exit_get (back->json, &got);
        assert_int_equal (got.state, cases[i].state);
        assert_int_equal (got.exit_code, cases[i].exit_code);
        assert_int_equal (got.signal, cases[i].signal);
        assert_int_equal (got.core_dumped, cases[i].core_dumped);
    }
}

static void
test_limits (void **state)
{
    /* An error message over 4096 bytes, an argv of 4097 items. */
    cleanup_free char *long_message = xmalloc (5000 + 100);
    strcpy (long_message, "{\"type\":\"error\",\"kind\":\"internal\",\"message\":\"");
    size_t n = strlen (long_message);
    memset (long_message + n, 'x', 4097);
    strcpy (long_message + n + 4097, "\"}");
    expect_refused (long_message, 3, END, AGENT, WR_ERROR_LIMIT,
                    "message: 4097 bytes is over the limit of 4096");

    size_t cap = 4097 * 4 + 100;
    cleanup_free char *many = xmalloc (cap);
    strcpy (many, "{\"type\":\"exec\",\"argv\":[");
    for (int i = 0; i < 4097; i++)
        strcat (many, i ? ",\"a\"" : "\"a\"");
    strcat (many, "]}");
    expect_refused (many, 1, END, HOST, WR_ERROR_LIMIT,
                    "argv: 4097 items is over the limit of 4096");

    /* The encoder refuses what the decoder would. */
    cleanup_agent_message wr_agent_message_t *msg = wr_agent_message_new (WR_AGENT_MSG_FILE_STAT);
    cleanup_free char *path = xmalloc (4098);
    memset (path, 'p', 4097);
    path[4097] = '\0';
    wr_agent_message_set_string (msg, "path", path);
    cleanup_agent_buf wr_agent_buf_t buf = { 0 };
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_agent_message_encode (&buf, 1, 1, END, HOST, msg, &err), -1);
    assert_int_equal (err->kind, WR_ERROR_LIMIT);
    assert_non_null (strstr (err->message, "encode: warrend's file.stat message on stream 1: "
                                           "path: 4097 bytes is over the limit of 4096"));
    assert_int_equal (buf.len, 0);
}

/* Who may send what, on which streams. */
static void
test_placement (void **state)
{
    expect_refused ("{\"type\":\"exec\",\"argv\":[\"sh\"]}", 2, END, AGENT, WR_ERROR_INVALID,
                    "the agent's exec message on stream 2: only warrend sends it");
    expect_refused ("{\"type\":\"started\",\"process_id\":\"p\",\"pid\":1}", 1, END, HOST,
                    WR_ERROR_INVALID, "only the agent sends it");
    expect_refused ("{\"type\":\"exec\",\"argv\":[\"sh\"]}", 2, END, HOST, WR_ERROR_INVALID,
                    "opens a stream, and warrend's streams have odd ids");
    expect_refused ("{\"type\":\"exec\",\"argv\":[\"sh\"]}", 0, END, HOST, WR_ERROR_INVALID,
                    "opens a stream");
    expect_refused ("{\"type\":\"relay.open\",\"target\":\"registry-mirror\"}", 3, 0, AGENT,
                    WR_ERROR_INVALID, "the agent's streams have even ids");
    expect_refused ("{\"type\":\"hello\",\"versions\":[1]}", 1, 0, AGENT, WR_ERROR_INVALID,
                    "belongs on stream 0");
    expect_refused ("{\"type\":\"ok\"}", 0, END, AGENT, WR_ERROR_INVALID,
                    "belongs on a stream, not on stream 0");
    expect_refused ("{\"type\":\"error\",\"kind\":\"internal\",\"message\":\"x\"}", 3, 0, AGENT,
                    WR_ERROR_INVALID, "must carry END");
}

static void
test_negotiation (void **state)
{
    unsigned version = 99;
    {
        cleanup_agent_message wr_agent_message_t *hello = wr_agent_hello_new ("warrend 0.1");
        cleanup_agent_buf wr_agent_buf_t buf = { 0 };
        assert_int_equal (wr_agent_message_encode (&buf, 1, 0, 0, HOST, hello, NULL), 0);
        wr_agent_frame_t f = frame_of ("{}", 0, 0);
        f.length = (uint32_t) (buf.len - WR_AGENT_HEADER_SIZE);
        f.payload = buf.data + WR_AGENT_HEADER_SIZE;
        cleanup_agent_message wr_agent_message_t *back = wr_agent_message_decode (&f, HOST, NULL);
        assert_non_null (back);
        assert_string_equal (wr_agent_message_string (back, "software"), "warrend 0.1");
        assert_int_equal (wr_agent_negotiate (back, HOST, &version, NULL), 0);
        assert_int_equal (version, 3);
    }
    {
        /* A newer peer: more versions, fields of its own (taken in a hello). */
        cleanup_agent_message wr_agent_message_t *hello =
            decode ("{\"type\":\"hello\",\"versions\":[4,1,3,2],\"features\":{\"x\":1}}", 0, 0,
                    AGENT, NULL);
        assert_non_null (hello);
        assert_int_equal (wr_agent_negotiate (hello, AGENT, &version, NULL), 0);
        assert_int_equal (version, 3);
    }
    {
        /* An older peer: its version. */
        cleanup_agent_message wr_agent_message_t *hello =
            decode ("{\"type\":\"hello\",\"versions\":[1]}", 0, 0, AGENT, NULL);
        assert_non_null (hello);
        assert_int_equal (wr_agent_negotiate (hello, AGENT, &version, NULL), 0);
        assert_int_equal (version, 1);
    }
    {
        cleanup_agent_message wr_agent_message_t *hello =
            decode ("{\"type\":\"hello\",\"versions\":[4,5]}", 0, 0, AGENT, NULL);
        assert_non_null (hello);
        cleanup_error wr_error_t err = NULL;
        assert_int_equal (wr_agent_negotiate (hello, AGENT, &version, &err), -1);
        assert_int_equal (version, 0);
        assert_int_equal (err->kind, WR_ERROR_INVALID);
        assert_string_equal (err->message,
                             "no common protocol version: the agent speaks 4, 5, this side 1 to 3");
        /* What is sent to the peer before closing. */
        cleanup_agent_message wr_agent_message_t *reply = wr_agent_error_new (err);
        cleanup_agent_buf wr_agent_buf_t buf = { 0 };
        assert_int_equal (wr_agent_message_encode (&buf, 1, 0, END, HOST, reply, NULL), 0);
    }
    {
        cleanup_agent_message wr_agent_message_t *ok =
            decode ("{\"type\":\"ok\"}", 1, END, AGENT, NULL);
        cleanup_error wr_error_t err = NULL;
        assert_int_equal (wr_agent_negotiate (ok, AGENT, &version, &err), -1);
        assert_string_equal (err->message, "the agent's first message must be a hello, not ok");
    }
    /* Hello's known fields are still checked. */
    expect_refused ("{\"type\":\"hello\",\"versions\":[1],\"window\":\"big\"}", 0, 0, AGENT,
                    WR_ERROR_INVALID, "window: must be an integer");
}

/* Version 2's one change: started describes the whole process (as a
 * process message, exit fields consistent); version 1 refuses that. */
static void
test_started_by_version (void **state)
{
    (void) state;
    const char *full = "{\"type\":\"started\",\"process_id\":\"p1\",\"pid\":42,\"argv\":[\"true\"],"
                       "\"tty\":false,\"state\":\"running\",\"started_ms\":1700000000000}";
    wr_agent_frame_t f = frame_of (full, 1, END);
    cleanup_error wr_error_t err = NULL;
    cleanup_agent_message wr_agent_message_t *v1 = wr_agent_message_decode (&f, AGENT, &err);
    assert_null (v1);
    assert_non_null (strstr (err->message, "argv"));
    f.version = 2;
    cleanup_agent_message wr_agent_message_t *v2 = wr_agent_message_decode (&f, AGENT, NULL);
    assert_non_null (v2);
    assert_int_equal (v2->type, WR_AGENT_MSG_STARTED);
    assert_string_equal (wr_agent_message_string (v2, "state"), "running");
    /* It encodes in version 2 only. */
    cleanup_agent_buf wr_agent_buf_t buf = { 0 };
    assert_int_equal (wr_agent_message_encode (&buf, 2, 1, END, AGENT, v2, NULL), 0);
    assert_int_equal (wr_agent_message_encode (&buf, 1, 1, END, AGENT, v2, NULL), -1);
    /* Version 2's started needs what a process message needs. */
    static const char *const bad[] = {
        "{\"type\":\"started\",\"process_id\":\"p1\",\"pid\":42}",
        "{\"type\":\"started\",\"process_id\":\"p1\",\"pid\":42,\"argv\":[\"true\"],"
        "\"state\":\"running\",\"exit_code\":0}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wr_agent_frame_t g = frame_of (bad[i], 1, END);
        g.version = 2;
        cleanup_error wr_error_t e = NULL;
        cleanup_agent_message wr_agent_message_t *m = wr_agent_message_decode (&g, AGENT, &e);
        if (m != NULL)
            fail_msg ("`%s` was taken in version 2", bad[i]);
        assert_int_equal (e->kind, WR_ERROR_INVALID);
    }
}

static void
test_errors_carry_kinds (void **state)
{
    for (int kind = WR_ERROR_INTERNAL; kind <= WR_ERROR_CANCELLED; kind++) {
        cleanup_error wr_error_t e = NULL;
        wr_error_set_kind (&e, (wr_error_kind_t) kind, kind == WR_ERROR_NOT_FOUND ? 2 : 0,
                           "open `/x`");
        cleanup_agent_message wr_agent_message_t *msg = wr_agent_error_new (e);
        cleanup_agent_buf wr_agent_buf_t buf = { 0 };
        cleanup_error wr_error_t err = NULL;
        if (wr_agent_message_encode (&buf, 1, 5, END, AGENT, msg, &err) < 0)
            fail_msg ("%s", err->message);
        wr_agent_frame_t f = frame_of ("{}", 5, END);
        f.length = (uint32_t) (buf.len - WR_AGENT_HEADER_SIZE);
        f.payload = buf.data + WR_AGENT_HEADER_SIZE;
        cleanup_agent_message wr_agent_message_t *back = wr_agent_message_decode (&f, AGENT, &err);
        assert_non_null (back);
        cleanup_error wr_error_t got = NULL;
        assert_int_equal (wr_agent_error_from (back, AGENT, &got), -1);
        assert_int_equal (got->kind, kind);
        assert_string_equal (wr_error_kind_name (got->kind), wr_error_kind_name (kind));
        if (kind == WR_ERROR_NOT_FOUND) {
            assert_string_equal (got->message, "the agent: open `/x`: No such file or directory");
            assert_int_equal (got->errno_value, 2);
        } else {
            assert_string_equal (got->message, "the agent: open `/x`");
        }
    }
    assert_int_equal (wr_agent_error_kind_from_name ("limit"), WR_ERROR_LIMIT);
    assert_int_equal (wr_agent_error_kind_from_name ("nope"), -1);

    /* A message longer than the field's limit is cut to fit. */
    cleanup_free char *text = xmalloc (6000);
    memset (text, 'y', 5999);
    text[5999] = '\0';
    cleanup_error wr_error_t e = NULL;
    wr_error_set (&e, 0, "%s", text);
    cleanup_agent_message wr_agent_message_t *msg = wr_agent_error_new (e);
    cleanup_agent_buf wr_agent_buf_t buf = { 0 };
    assert_int_equal (wr_agent_message_encode (&buf, 1, 0, END, HOST, msg, NULL), 0);
}

static void
test_exec_helpers (void **state)
{
    char *argv[] = { "sh", "-c", "echo $A", NULL };
    char *env[] = { "A=1", NULL };
    wr_agent_exec_t exec = { .argv = argv,
                             .env = env,
                             .cwd = "/work",
                             .user = "1000",
                             .stdin = true,
                             .tty = true,
                             .rows = 40,
                             .cols = 100 };
    cleanup_agent_message wr_agent_message_t *msg = wr_agent_exec_new (&exec);
    cleanup_agent_buf wr_agent_buf_t buf = { 0 };
    assert_int_equal (wr_agent_message_encode (&buf, 1, 1, END, HOST, msg, NULL), 0);
    wr_agent_frame_t f = frame_of ("{}", 1, END);
    f.length = (uint32_t) (buf.len - WR_AGENT_HEADER_SIZE);
    f.payload = buf.data + WR_AGENT_HEADER_SIZE;
    cleanup_agent_message wr_agent_message_t *back = wr_agent_message_decode (&f, HOST, NULL);
    assert_non_null (back);
    wr_agent_exec_t got;
    wr_agent_exec_from (back, &got);
    assert_string_equal (got.argv[0], "sh");
    assert_string_equal (got.argv[2], "echo $A");
    assert_null (got.argv[3]);
    assert_string_equal (got.env[0], "A=1");
    assert_null (got.env[1]);
    assert_string_equal (got.cwd, "/work");
    assert_string_equal (got.user, "1000");
    assert_true (got.stdin);
    assert_true (got.tty);
    assert_int_equal (got.rows, 40);
    assert_int_equal (got.cols, 100);
    wr_agent_exec_clear (&got);

    /* The least: argv alone. */
    char *argv2[] = { "true", NULL };
    wr_agent_exec_t plain = { .argv = argv2 };
    cleanup_agent_message wr_agent_message_t *m2 = wr_agent_exec_new (&plain);
    assert_string_equal (json_object_to_json_string_ext (m2->json, JSON_C_TO_STRING_PLAIN),
                         "{\"type\":\"exec\",\"argv\":[\"true\"]}");
    wr_agent_exec_from (m2, &got);
    assert_null (got.env);
    assert_null (got.cwd);
    assert_false (got.tty);
    assert_false (got.stdin);
    wr_agent_exec_clear (&got);

    /* Getters' defaults. */
    assert_int_equal (wr_agent_message_int (m2, "nothing", 7), 7);
    assert_true (wr_agent_message_bool (m2, "nothing", true));
    assert_null (wr_agent_message_string (m2, "nothing"));
    assert_false (wr_agent_message_has (m2, "nothing"));
    assert_true (wr_agent_message_has (m2, "argv"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_every_type_round_trips),
        cmocka_unit_test (test_type_names),
        cmocka_unit_test (test_bad_json),
        cmocka_unit_test (test_bad_fields),
        cmocka_unit_test (test_exit_consistency),
        cmocka_unit_test (test_limits),
        cmocka_unit_test (test_placement),
        cmocka_unit_test (test_negotiation),
        cmocka_unit_test (test_started_by_version),
        cmocka_unit_test (test_errors_carry_kinds),
        cmocka_unit_test (test_exec_helpers),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
