/* Unit tests of agent_frame.c: the byte layout of headers, round trips,
 * frames split across feeds at every byte and several in one feed, and
 * every way a hostile peer's bytes are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "agent_frame.h"
#include "cleanup.h"

static const char hello_json[] = "{\"type\":\"hello\",\"versions\":[1]}";

/* A hello message frame as the peer's first frame. */
static void
append_hello (wr_agent_buf_t *buf)
{
    wr_agent_frame_t f = { .version = 1,
                           .type = WR_AGENT_FRAME_MESSAGE,
                           .length = sizeof hello_json - 1,
                           .payload = (const uint8_t *) hello_json };
    assert_int_equal (wr_agent_frame_encode (buf, &f, NULL), 0);
}

/* A decoder of the agent's frames past its hello, at version 1. */
static wr_agent_decoder_t *
ready_decoder (void)
{
    wr_agent_decoder_t *dec = wr_agent_decoder_new (WR_AGENT_SIDE_AGENT);
    cleanup_agent_buf wr_agent_buf_t buf = { 0 };
    append_hello (&buf);
    assert_int_equal (wr_agent_decoder_feed (dec, buf.data, buf.len, NULL), 0);
    wr_agent_frame_t f;
    assert_int_equal (wr_agent_decoder_next (dec, &f, NULL), 1);
    assert_int_equal (wr_agent_decoder_set_version (dec, 1, NULL), 0);
    return dec;
}

/* A raw 24-byte header with every field given. */
static void
raw_header (uint8_t *h, uint8_t m0, uint8_t m1, uint8_t version, uint8_t type, uint8_t flags,
            uint8_t channel, uint16_t reserved, uint32_t stream, uint32_t length, uint64_t offset)
{
    h[0] = m0;
    h[1] = m1;
    h[2] = version;
    h[3] = type;
    h[4] = flags;
    h[5] = channel;
    h[6] = (uint8_t) (reserved >> 8);
    h[7] = (uint8_t) reserved;
    for (int i = 0; i < 4; i++) {
        h[8 + i] = (uint8_t) (stream >> (24 - 8 * i));
        h[12 + i] = (uint8_t) (length >> (24 - 8 * i));
    }
    for (int i = 0; i < 8; i++)
        h[16 + i] = (uint8_t) (offset >> (56 - 8 * i));
}

/* Feeds H (a header) to a ready decoder and expects an error of KIND whose
 * message contains WANT. */
static void
expect_header_error (const uint8_t *h, size_t len, wr_error_kind_t kind, const char *want)
{
    cleanup_agent_decoder wr_agent_decoder_t *dec = ready_decoder ();
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_agent_decoder_feed (dec, h, len, &err), 0);
    wr_agent_frame_t f;
    assert_int_equal (wr_agent_decoder_next (dec, &f, &err), -1);
    assert_non_null (err);
    if (strstr (err->message, want) == NULL)
        fail_msg ("error `%s` does not say `%s`", err->message, want);
    assert_int_equal (err->kind, kind);
    /* The decoder stays failed. */
    cleanup_error wr_error_t again = NULL;
    assert_int_equal (wr_agent_decoder_next (dec, &f, &again), -1);
    assert_string_equal (again->message, err->message);
    cleanup_error wr_error_t fed = NULL;
    assert_int_equal (wr_agent_decoder_feed (dec, "x", 1, &fed), -1);
}

static void
test_header_layout (void **state)
{
    wr_agent_frame_t f = { .version = 1,
                           .type = WR_AGENT_FRAME_DATA,
                           .flags = WR_AGENT_FLAG_END,
                           .channel = WR_AGENT_CHANNEL_STDERR,
                           .stream = 0x01020304,
                           .offset = 0x0102030405060708ull,
                           .length = 0x00010000 };
    uint8_t h[WR_AGENT_HEADER_SIZE];
    assert_int_equal (wr_agent_frame_header_encode (&f, h, NULL), 0);
    const uint8_t want[WR_AGENT_HEADER_SIZE] = { 'W', 'A', 1, 2, 1, 2, 0, 0, 1, 2, 3, 4,
                                                 0,   1,   0, 0, 1, 2, 3, 4, 5, 6, 7, 8 };
    assert_memory_equal (h, want, sizeof want);
}

static void
test_round_trip (void **state)
{
    cleanup_agent_buf wr_agent_buf_t buf = { 0 };
    append_hello (&buf);
    const char body[] = "hello\0world";
    assert_int_equal (wr_agent_data_encode (&buf, 1, 7, 0, WR_AGENT_CHANNEL_STDOUT, 1234, body,
                                            sizeof body, NULL),
                      0);
    assert_int_equal (wr_agent_data_encode (&buf, 1, 7, WR_AGENT_FLAG_END, WR_AGENT_CHANNEL_BODY, 0,
                                            NULL, 0, NULL),
                      0);
    cleanup_agent_decoder wr_agent_decoder_t *dec = wr_agent_decoder_new (WR_AGENT_SIDE_AGENT);
    assert_int_equal (wr_agent_decoder_feed (dec, buf.data, buf.len, NULL), 0);
    wr_agent_frame_t f;
    assert_int_equal (wr_agent_decoder_next (dec, &f, NULL), 1);
    assert_int_equal (f.type, WR_AGENT_FRAME_MESSAGE);
    assert_int_equal (f.stream, 0);
    assert_int_equal (f.length, sizeof hello_json - 1);
    assert_memory_equal (f.payload, hello_json, f.length);
    assert_int_equal (wr_agent_decoder_set_version (dec, 1, NULL), 0);
    assert_int_equal (wr_agent_decoder_next (dec, &f, NULL), 1);
    assert_int_equal (f.type, WR_AGENT_FRAME_DATA);
    assert_int_equal (f.stream, 7);
    assert_int_equal (f.channel, WR_AGENT_CHANNEL_STDOUT);
    assert_int_equal (f.offset, 1234);
    assert_int_equal (f.flags, 0);
    assert_int_equal (f.length, sizeof body);
    assert_memory_equal (f.payload, body, sizeof body);
    assert_int_equal (wr_agent_decoder_next (dec, &f, NULL), 1);
    assert_int_equal (f.length, 0);
    assert_int_equal (f.flags, WR_AGENT_FLAG_END);
    assert_int_equal (wr_agent_decoder_next (dec, &f, NULL), 0);
    assert_int_equal (wr_agent_decoder_pending (dec), 0);
    assert_int_equal (wr_agent_decoder_finish (dec, NULL), 0);
}

/* The same three frames fed one byte at a time: each comes out when its
 * last byte is in, and not before. */
static void
test_byte_by_byte (void **state)
{
    cleanup_agent_buf wr_agent_buf_t buf = { 0 };
    append_hello (&buf);
    size_t ends[3];
    ends[0] = buf.len;
    assert_int_equal (wr_agent_data_encode (&buf, 1, 3, 0, 1, 0, "abc", 3, NULL), 0);
    ends[1] = buf.len;
    assert_int_equal (wr_agent_data_encode (&buf, 1, 3, 1, 1, 3, "defg", 4, NULL), 0);
    ends[2] = buf.len;
    cleanup_agent_decoder wr_agent_decoder_t *dec = wr_agent_decoder_new (WR_AGENT_SIDE_AGENT);
    size_t got = 0;
    for (size_t i = 0; i < buf.len; i++) {
        assert_int_equal (wr_agent_decoder_feed (dec, buf.data + i, 1, NULL), 0);
        wr_agent_frame_t f;
        int r = wr_agent_decoder_next (dec, &f, NULL);
        assert_true (r >= 0);
        if (i + 1 == ends[got]) {
            assert_int_equal (r, 1);
            if (got == 0)
                assert_int_equal (wr_agent_decoder_set_version (dec, 1, NULL), 0);
            if (got == 2) {
                assert_int_equal (f.offset, 3);
                assert_memory_equal (f.payload, "defg", 4);
            }
            got++;
        } else {
            assert_int_equal (r, 0);
            if (got < 3 && i + 1 < ends[got]) {
                cleanup_error wr_error_t err = NULL;
                assert_int_equal (wr_agent_decoder_finish (dec, &err), -1);
                assert_non_null (strstr (err->message, "truncated"));
            }
        }
    }
    assert_int_equal (got, 3);
}

/* Many frames in one feed, and a feed that ends in the middle of one. */
static void
test_several_in_one_feed (void **state)
{
    cleanup_agent_buf wr_agent_buf_t buf = { 0 };
    append_hello (&buf);
    for (uint32_t i = 0; i < 100; i++)
        assert_int_equal (wr_agent_data_encode (&buf, 1, 2 * i + 1, 0, 0, i, &i, sizeof i, NULL),
                          0);
    cleanup_agent_decoder wr_agent_decoder_t *dec = wr_agent_decoder_new (WR_AGENT_SIDE_AGENT);
    size_t half = buf.len - 2;
    assert_int_equal (wr_agent_decoder_feed (dec, buf.data, half, NULL), 0);
    wr_agent_frame_t f;
    assert_int_equal (wr_agent_decoder_next (dec, &f, NULL), 1);
    assert_int_equal (wr_agent_decoder_set_version (dec, 1, NULL), 0);
    /* Payloads stay where they are until the next feed. */
    const uint8_t *first_payload = NULL;
    for (uint32_t i = 0; i < 99; i++) {
        assert_int_equal (wr_agent_decoder_next (dec, &f, NULL), 1);
        assert_int_equal (f.stream, 2 * i + 1);
        assert_int_equal (f.offset, i);
        uint32_t v;
        memcpy (&v, f.payload, sizeof v);
        assert_int_equal (v, i);
        if (i == 0)
            first_payload = f.payload;
    }
    uint32_t v0;
    memcpy (&v0, first_payload, sizeof v0);
    assert_int_equal (v0, 0);
    assert_int_equal (wr_agent_decoder_next (dec, &f, NULL), 0);
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_agent_decoder_finish (dec, &err), -1);
    assert_non_null (
        strstr (err->message, "truncated: the connection ended 2 bytes into a payload of 4"));
    assert_int_equal (wr_agent_decoder_feed (dec, buf.data + half, 2, NULL), 0);
    assert_int_equal (wr_agent_decoder_next (dec, &f, NULL), 1);
    assert_int_equal (f.stream, 199);
    assert_int_equal (wr_agent_decoder_next (dec, &f, NULL), 0);
    assert_int_equal (wr_agent_decoder_finish (dec, NULL), 0);
}

static void
test_bad_magic (void **state)
{
    uint8_t h[WR_AGENT_HEADER_SIZE];
    raw_header (h, 'X', 'A', 1, 2, 0, 0, 0, 1, 0, 0);
    /* Refused from its first byte, before the header is complete. */
    expect_header_error (h, 1, WR_ERROR_INVALID, "bad magic 0x58 at byte 0");
    raw_header (h, 'W', 'B', 1, 2, 0, 0, 0, 1, 0, 0);
    expect_header_error (h, 2, WR_ERROR_INVALID, "bad magic 0x42 at byte 1");
    /* An HTTP request instead of frames. */
    expect_header_error ((const uint8_t *) "GET / HTTP/1.1\r\n", 16, WR_ERROR_INVALID,
                         "bad magic 0x47");
}

static void
test_bad_version (void **state)
{
    uint8_t h[WR_AGENT_HEADER_SIZE];
    raw_header (h, 'W', 'A', 2, 2, 0, 0, 0, 1, 0, 0);
    expect_header_error (h, sizeof h, WR_ERROR_INVALID,
                         "protocol version 2, but version 1 was agreed");
    raw_header (h, 'W', 'A', 0, 2, 0, 0, 0, 1, 0, 0);
    expect_header_error (h, sizeof h, WR_ERROR_INVALID, "protocol version 0");

    /* A hello framed with another version. */
    cleanup_agent_decoder wr_agent_decoder_t *dec = wr_agent_decoder_new (WR_AGENT_SIDE_HOST);
    raw_header (h, 'W', 'A', 3, 1, 0, 0, 0, 0, 2, 0);
    assert_int_equal (wr_agent_decoder_feed (dec, h, sizeof h, NULL), 0);
    cleanup_error wr_error_t err = NULL;
    wr_agent_frame_t f;
    assert_int_equal (wr_agent_decoder_next (dec, &f, &err), -1);
    assert_string_equal (err->message,
                         "warrend's frames: the hello must be framed with version 1, not 3");

    cleanup_error wr_error_t err2 = NULL;
    assert_int_equal (wr_agent_decoder_set_version (dec, 9, &err2), -1);
}

static void
test_oversize (void **state)
{
    uint8_t h[WR_AGENT_HEADER_SIZE];
    /* Refused from the header alone: no payload is waited for. */
    raw_header (h, 'W', 'A', 1, 2, 0, 0, 0, 1, WR_AGENT_MAX_PAYLOAD + 1, 0);
    expect_header_error (h, sizeof h, WR_ERROR_LIMIT,
                         "data frame of stream 1: a payload of 1048577 bytes is over the limit "
                         "of 1048576");
    raw_header (h, 'W', 'A', 1, 1, 0, 0, 0, 1, UINT32_MAX, 0);
    expect_header_error (h, sizeof h, WR_ERROR_LIMIT, "4294967295 bytes is over the limit");

    /* The largest payload is taken. */
    cleanup_agent_decoder wr_agent_decoder_t *dec = ready_decoder ();
    cleanup_free uint8_t *big = calloc (1, WR_AGENT_MAX_PAYLOAD);
    cleanup_agent_buf wr_agent_buf_t buf = { 0 };
    assert_int_equal (wr_agent_data_encode (&buf, 1, 1, 0, 0, 0, big, WR_AGENT_MAX_PAYLOAD, NULL),
                      0);
    assert_int_equal (wr_agent_decoder_feed (dec, buf.data, buf.len, NULL), 0);
    wr_agent_frame_t f;
    assert_int_equal (wr_agent_decoder_next (dec, &f, NULL), 1);
    assert_int_equal (f.length, WR_AGENT_MAX_PAYLOAD);

    /* And the encoder will not write more. */
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (
        wr_agent_data_encode (&buf, 1, 1, 0, 0, 0, big, WR_AGENT_MAX_PAYLOAD + 1ul, &err), -1);
    assert_int_equal (err->kind, WR_ERROR_LIMIT);
}

static void
test_header_fields (void **state)
{
    uint8_t h[WR_AGENT_HEADER_SIZE];
    raw_header (h, 'W', 'A', 1, 9, 0, 0, 0, 5, 0, 0);
    expect_header_error (h, sizeof h, WR_ERROR_INVALID, "frame of stream 5: unknown frame type 9");
    raw_header (h, 'W', 'A', 1, 2, 0x82, 0, 0, 5, 0, 0);
    expect_header_error (h, sizeof h, WR_ERROR_INVALID, "unknown flags 0x82");
    raw_header (h, 'W', 'A', 1, 2, 0, 0, 1, 5, 0, 0);
    expect_header_error (h, sizeof h, WR_ERROR_INVALID, "reserved bytes 6-7 must be 0, not 0x0001");
    raw_header (h, 'W', 'A', 1, 1, 0, 1, 0, 5, 2, 0);
    expect_header_error (h, sizeof h, WR_ERROR_INVALID, "channel and offset must be 0");
    raw_header (h, 'W', 'A', 1, 1, 0, 0, 0, 5, 2, 9);
    expect_header_error (h, sizeof h, WR_ERROR_INVALID, "channel and offset must be 0");
    raw_header (h, 'W', 'A', 1, 1, 0, 0, 0, 5, 0, 0);
    expect_header_error (h, sizeof h, WR_ERROR_INVALID, "message frame of stream 5: empty payload");
    raw_header (h, 'W', 'A', 1, 2, 0, 3, 0, 5, 0, 0);
    expect_header_error (h, sizeof h, WR_ERROR_INVALID, "unknown channel 3");
    raw_header (h, 'W', 'A', 1, 2, 0, 0, 0, 0, 0, 0);
    expect_header_error (h, sizeof h, WR_ERROR_INVALID, "data frame on stream 0");
    raw_header (h, 'W', 'A', 1, 2, 0, 0, 0, 5, 2, UINT64_MAX);
    expect_header_error (h, sizeof h, WR_ERROR_INVALID, "overflows");
}

/* Before the handshake only a hello message on stream 0 is taken, and
 * nothing after it until the version is set. */
static void
test_handshake_order (void **state)
{
    uint8_t h[WR_AGENT_HEADER_SIZE];
    wr_agent_frame_t f;
    {
        cleanup_agent_decoder wr_agent_decoder_t *dec = wr_agent_decoder_new (WR_AGENT_SIDE_AGENT);
        raw_header (h, 'W', 'A', 1, 2, 0, 0, 0, 1, 0, 0);
        assert_int_equal (wr_agent_decoder_feed (dec, h, sizeof h, NULL), 0);
        cleanup_error wr_error_t err = NULL;
        assert_int_equal (wr_agent_decoder_next (dec, &f, &err), -1);
        assert_string_equal (err->message, "the agent's frames: the first frame must be a hello "
                                           "message on stream 0, not a data frame of stream 1");
    }
    {
        cleanup_agent_decoder wr_agent_decoder_t *dec = wr_agent_decoder_new (WR_AGENT_SIDE_AGENT);
        raw_header (h, 'W', 'A', 1, 1, 0, 0, 0, 3, 2, 0);
        assert_int_equal (wr_agent_decoder_feed (dec, h, sizeof h, NULL), 0);
        cleanup_error wr_error_t err = NULL;
        assert_int_equal (wr_agent_decoder_next (dec, &f, &err), -1);
        assert_non_null (strstr (err->message, "not a message frame of stream 3"));
    }
    {
        cleanup_agent_decoder wr_agent_decoder_t *dec = wr_agent_decoder_new (WR_AGENT_SIDE_AGENT);
        cleanup_agent_buf wr_agent_buf_t buf = { 0 };
        append_hello (&buf);
        append_hello (&buf);
        assert_int_equal (wr_agent_decoder_feed (dec, buf.data, buf.len, NULL), 0);
        assert_int_equal (wr_agent_decoder_next (dec, &f, NULL), 1);
        cleanup_error wr_error_t err = NULL;
        assert_int_equal (wr_agent_decoder_next (dec, &f, &err), -1);
        assert_non_null (
            strstr (err->message, "a frame after the hello before the version was agreed"));
    }
}

static void
test_feed_bound (void **state)
{
    cleanup_agent_decoder wr_agent_decoder_t *dec = ready_decoder ();
    cleanup_free uint8_t *junk = calloc (1, WR_AGENT_MAX_PAYLOAD);
    cleanup_agent_buf wr_agent_buf_t buf = { 0 };
    assert_int_equal (wr_agent_data_encode (&buf, 1, 1, 0, 0, 0, junk, WR_AGENT_MAX_PAYLOAD, NULL),
                      0);
    assert_int_equal (wr_agent_decoder_feed (dec, buf.data, buf.len, NULL), 0);
    assert_int_equal (wr_agent_decoder_feed (dec, buf.data, buf.len, NULL), 0);
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_agent_decoder_feed (dec, buf.data, buf.len, &err), -1);
    assert_int_equal (err->kind, WR_ERROR_LIMIT);
    /* Draining makes room again. */
    wr_agent_frame_t f;
    assert_int_equal (wr_agent_decoder_next (dec, &f, NULL), 1);
    assert_int_equal (wr_agent_decoder_feed (dec, buf.data, buf.len, NULL), 0);
}

static void
test_encode_checks (void **state)
{
    uint8_t h[WR_AGENT_HEADER_SIZE];
    wr_agent_frame_t f = { .version = WR_AGENT_VERSION_MAX + 1,
                           .type = WR_AGENT_FRAME_DATA,
                           .stream = 1 };
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_agent_frame_header_encode (&f, h, &err), -1);
    assert_non_null (strstr (err->message, "unknown protocol version 4"));
    f.version = 1;
    f.stream = 0;
    assert_int_equal (wr_agent_frame_header_encode (&f, h, &err), -1);
    f.stream = 1;
    f.channel = 7;
    assert_int_equal (wr_agent_frame_header_encode (&f, h, &err), -1);
    f.channel = 0;
    f.type = WR_AGENT_FRAME_MESSAGE;
    f.length = 1;
    f.offset = 1;
    assert_int_equal (wr_agent_frame_header_encode (&f, h, &err), -1);
    f.offset = 0;
    assert_int_equal (wr_agent_frame_header_encode (&f, h, NULL), 0);
    assert_string_equal (wr_agent_frame_type_name (1), "message");
    assert_string_equal (wr_agent_frame_type_name (2), "data");
    assert_string_equal (wr_agent_frame_type_name (0), "unknown");
}

static void
test_buf (void **state)
{
    cleanup_agent_buf wr_agent_buf_t buf = { 0 };
    for (int i = 0; i < 1000; i++)
        wr_agent_buf_append (&buf, "0123456789", 10);
    assert_int_equal (buf.len, 10000);
    wr_agent_buf_consume (&buf, 9995);
    assert_int_equal (buf.len, 5);
    assert_memory_equal (buf.data, "56789", 5);
    wr_agent_buf_consume (&buf, 99);
    assert_int_equal (buf.len, 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_header_layout),   cmocka_unit_test (test_round_trip),
        cmocka_unit_test (test_byte_by_byte),    cmocka_unit_test (test_several_in_one_feed),
        cmocka_unit_test (test_bad_magic),       cmocka_unit_test (test_bad_version),
        cmocka_unit_test (test_oversize),        cmocka_unit_test (test_header_fields),
        cmocka_unit_test (test_handshake_order), cmocka_unit_test (test_feed_bound),
        cmocka_unit_test (test_encode_checks),   cmocka_unit_test (test_buf),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
