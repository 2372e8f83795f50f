/* libFuzzer target: the agent protocol.  The agent runs inside the sandbox,
 * so warrend's decoder takes bytes a hostile program wrote.  The first byte
 * of the input chooses the peer and seeds the points where the rest is cut
 * into feeds (as a non-blocking socket would); every frame that comes out
 * is decoded as a message when it is one, and every message that decodes
 * must encode again and decode to the same object.  The rest is also
 * decoded as one message payload directly, from both sides. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent_frame.h"
#include "agent_message.h"
#include "cleanup.h"
#include "error.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* A decoded message must survive its own encoder. */
static void
check_round_trip (const wr_agent_message_t *msg, const wr_agent_frame_t *frame,
                  wr_agent_side_t from)
{
    cleanup_agent_buf wr_agent_buf_t buf = { 0 };
    cleanup_error wr_error_t err = NULL;
    if (wr_agent_message_encode (&buf, frame->version, frame->stream, frame->flags, from, msg,
                                 &err) < 0) {
        /* Escapes can make the text longer than the frame it came in. */
        if (wr_error_kind (err) == WR_ERROR_LIMIT)
            return;
        abort ();
    }
    wr_agent_frame_t again = *frame;
    again.length = (uint32_t) (buf.len - WR_AGENT_HEADER_SIZE);
    again.payload = buf.data + WR_AGENT_HEADER_SIZE;
    cleanup_agent_message wr_agent_message_t *back = wr_agent_message_decode (&again, from, NULL);
    if (back == NULL || back->type != msg->type || !json_object_equal (back->json, msg->json))
        abort ();
}

/* What warrend and the agent will do with a message of each kind. */
static void
use_message (const wr_agent_message_t *msg, wr_agent_side_t from)
{
    switch (msg->type) {
    case WR_AGENT_MSG_EXEC: {
        wr_agent_exec_t exec;
        wr_agent_exec_from (msg, &exec);
        if (exec.argv == NULL || exec.argv[0] == NULL)
            abort ();
        wr_agent_exec_clear (&exec);
        break;
    }
    case WR_AGENT_MSG_ERROR: {
        cleanup_error wr_error_t err = NULL;
        wr_agent_error_from (msg, from, &err);
        if (err == NULL)
            abort ();
        break;
    }
    case WR_AGENT_MSG_PROCESS:
    case WR_AGENT_MSG_OUTPUT_END: {
        wr_agent_exit_t exit;
        wr_agent_exit_get (msg->json, &exit);
        if (exit.state == WR_AGENT_EXITED && (exit.exit_code < 0 || exit.exit_code > 255))
            abort ();
        if (exit.state == WR_AGENT_SIGNALED && (exit.signal < 1 || exit.signal > 64))
            abort ();
        break;
    }
    default:
        break;
    }
}

static void
decode_stream (wr_agent_side_t peer, uint8_t seed, const uint8_t *data, size_t size)
{
    cleanup_agent_decoder wr_agent_decoder_t *dec = wr_agent_decoder_new (peer);
    uint32_t rng = 2654435761u * (seed + 1u) ^ (uint32_t) size;
    size_t at = 0;
    while (at < size) {
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        size_t chunk = (rng % 8 == 0) ? 1 + rng % 4096 : 1 + rng % 32;
        if (chunk > size - at)
            chunk = size - at;
        cleanup_error wr_error_t err = NULL;
        if (wr_agent_decoder_feed (dec, data + at, chunk, &err) < 0)
            return;
        at += chunk;
        for (;;) {
            wr_agent_frame_t frame;
            cleanup_error wr_error_t ferr = NULL;
            int r = wr_agent_decoder_next (dec, &frame, &ferr);
            if (r < 0) {
                if (ferr == NULL || ferr->message == NULL)
                    abort ();
                return;
            }
            if (r == 0)
                break;
            if (frame.length > WR_AGENT_MAX_PAYLOAD)
                abort ();
            if (frame.type != WR_AGENT_FRAME_MESSAGE) {
                if (frame.stream == 0 || frame.channel > WR_AGENT_CHANNEL_MAX)
                    abort ();
                continue;
            }
            cleanup_error wr_error_t merr = NULL;
            cleanup_agent_message wr_agent_message_t *msg =
                wr_agent_message_decode (&frame, peer, &merr);
            if (msg == NULL) {
                if (merr == NULL)
                    abort ();
                continue;
            }
            check_round_trip (msg, &frame, peer);
            use_message (msg, peer);
            if (msg->type == WR_AGENT_MSG_HELLO && frame.stream == 0) {
                unsigned version = 0;
                cleanup_error wr_error_t nerr = NULL;
                if (wr_agent_negotiate (msg, peer, &version, &nerr) < 0)
                    return;
                if (wr_agent_decoder_set_version (dec, version, NULL) < 0)
                    abort ();
            }
        }
    }
    cleanup_error wr_error_t err = NULL;
    wr_agent_decoder_finish (dec, &err);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t options = data[0];
    wr_agent_side_t peer = (options & 1) ? WR_AGENT_SIDE_HOST : WR_AGENT_SIDE_AGENT;
    decode_stream (peer, options, data + 1, size - 1);

    /* The rest as one message payload, as each side on a few streams. */
    if (size - 1 <= WR_AGENT_MAX_PAYLOAD) {
        const uint32_t streams[] = { 0, 1, 2 };
        for (int side = WR_AGENT_SIDE_HOST; side <= WR_AGENT_SIDE_AGENT; side++) {
            for (size_t i = 0; i < sizeof streams / sizeof streams[0]; i++) {
                wr_agent_frame_t frame = { .version = 1,
                                           .type = WR_AGENT_FRAME_MESSAGE,
                                           .flags = (options & 2) ? WR_AGENT_FLAG_END : 0,
                                           .stream = streams[i],
                                           .length = (uint32_t) (size - 1),
                                           .payload = data + 1 };
                cleanup_error wr_error_t err = NULL;
                cleanup_agent_message wr_agent_message_t *msg =
                    wr_agent_message_decode (&frame, (wr_agent_side_t) side, &err);
                if (msg == NULL)
                    continue;
                check_round_trip (msg, &frame, (wr_agent_side_t) side);
                use_message (msg, (wr_agent_side_t) side);
            }
        }
    }
    return 0;
}
