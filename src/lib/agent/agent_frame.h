/* The framing of the protocol between warrend and the agent in each sandbox
 * (docs/agent-protocol.md): 24-byte headers in network byte order, then a
 * payload of at most WR_AGENT_MAX_PAYLOAD bytes, which is a JSON control
 * message (WR_AGENT_FRAME_MESSAGE) or raw bytes of a stream
 * (WR_AGENT_FRAME_DATA).
 *
 * The decoder takes bytes as they arrive from a non-blocking socket and
 * hands out complete frames.  The agent runs inside the sandbox, so to
 * warrend every byte is hostile: a header is checked as soon as its 24
 * bytes are in, a length above the limit is refused before any payload is
 * waited for, and the decoder never holds more than one frame plus what the
 * caller fed since it last drained it.  This file uses libc and core's
 * error.c and xalloc.c only: the static warren-init compiles it. */
#ifndef WARREN_AGENT_FRAME_H
#define WARREN_AGENT_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define WR_AGENT_MAGIC 0x5741u /* "WA" */
#define WR_AGENT_HEADER_SIZE 24
#define WR_AGENT_MAX_PAYLOAD (1024u * 1024u)
/* The framing version of every hello, whatever the peers speak later. */
#define WR_AGENT_HELLO_VERSION 1
/* The protocol versions this code speaks (docs/agent-protocol.md: 2 is 1
 * with a started message that describes the process; 3 is 2 with exec's
 * wait, which ends the stream with the process once it ended). */
#define WR_AGENT_VERSION_MIN 1
#define WR_AGENT_VERSION_MAX 3

typedef enum {
    WR_AGENT_FRAME_MESSAGE = 1, /* a JSON object: a request, reply or event */
    WR_AGENT_FRAME_DATA = 2, /* raw bytes of a stream at an offset */
} wr_agent_frame_type_t;

/* Flags of a frame's header. */
#define WR_AGENT_FLAG_END 0x01u /* the last frame its sender sends on the stream */
#define WR_AGENT_FLAGS_KNOWN WR_AGENT_FLAG_END

/* The channel of a data frame. */
typedef enum {
    WR_AGENT_CHANNEL_BODY = 0, /* the stream's own bytes: a file, stdin, a tunnel */
    WR_AGENT_CHANNEL_STDOUT = 1,
    WR_AGENT_CHANNEL_STDERR = 2,
} wr_agent_channel_t;
#define WR_AGENT_CHANNEL_MAX WR_AGENT_CHANNEL_STDERR

/* Which end of the connection a peer is.  warrend (the host) opens streams
 * with odd ids, the agent with even ids; stream 0 is the connection. */
typedef enum {
    WR_AGENT_SIDE_HOST = 1,
    WR_AGENT_SIDE_AGENT = 2,
} wr_agent_side_t;

typedef struct {
    uint8_t version;
    uint8_t type; /* wr_agent_frame_type_t */
    uint8_t flags;
    uint8_t channel; /* data frames; 0 for messages */
    uint32_t stream;
    uint64_t offset; /* data frames: where the payload starts in its channel */
    uint32_t length;
    /* LENGTH bytes; in a decoded frame they belong to the decoder and stay
     * valid until the next wr_agent_decoder_feed (so several frames taken
     * out in a row can be used together). */
    const uint8_t *payload;
} wr_agent_frame_t;

/* A growable byte buffer that encoders append to. */
typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
} wr_agent_buf_t;

void wr_agent_buf_append (wr_agent_buf_t *buf, const void *data, size_t len);
/* Drops the first N bytes (those written to the socket). */
void wr_agent_buf_consume (wr_agent_buf_t *buf, size_t n);
void wr_agent_buf_clear (wr_agent_buf_t *buf);

static inline void
wr_agent_buf_cleanup (wr_agent_buf_t *buf)
{
    wr_agent_buf_clear (buf);
}
#define cleanup_agent_buf __attribute__ ((cleanup (wr_agent_buf_cleanup)))

/* "message", "data" (or "type 7"). */
const char *wr_agent_frame_type_name (uint8_t type);

/* Writes FRAME's 24-byte header into OUT, checking what a decoder would:
 * a known type and version, known flags, a channel and offset only on data
 * frames, a length within the limit. */
int wr_agent_frame_header_encode (const wr_agent_frame_t *frame, uint8_t out[WR_AGENT_HEADER_SIZE],
                                  wr_error_t *err);
/* Appends FRAME (header and payload) to BUF. */
int wr_agent_frame_encode (wr_agent_buf_t *buf, const wr_agent_frame_t *frame, wr_error_t *err);
/* Appends a data frame of LEN bytes of DATA. */
int wr_agent_data_encode (wr_agent_buf_t *buf, uint8_t version, uint32_t stream, uint8_t flags,
                          uint8_t channel, uint64_t offset, const void *data, size_t len,
                          wr_error_t *err);

typedef struct wr_agent_decoder_s wr_agent_decoder_t;

/* A decoder of the frames PEER sends (warrend decodes the agent's frames
 * with PEER = WR_AGENT_SIDE_AGENT).  Until wr_agent_decoder_set_version it
 * takes one frame only, the peer's hello: a message on stream 0 framed with
 * version WR_AGENT_HELLO_VERSION. */
wr_agent_decoder_t *wr_agent_decoder_new (wr_agent_side_t peer);
void wr_agent_decoder_free (wr_agent_decoder_t *dec);
/* After the handshake: the version every later frame must carry. */
int wr_agent_decoder_set_version (wr_agent_decoder_t *dec, unsigned version, wr_error_t *err);

/* Takes LEN more bytes from the peer.  Fails (kind limit) only when the
 * caller has fed more than two frames' worth without draining the decoder
 * with wr_agent_decoder_next. */
int wr_agent_decoder_feed (wr_agent_decoder_t *dec, const void *data, size_t len, wr_error_t *err);
/* The next complete frame: 1 with *FRAME filled, 0 when more bytes are
 * needed, -1 when the bytes are not a valid frame (kind invalid, or limit
 * for an oversize length).  After an error the connection is unusable:
 * every later call fails with the same error. */
int wr_agent_decoder_next (wr_agent_decoder_t *dec, wr_agent_frame_t *frame, wr_error_t *err);
/* Bytes fed and not yet handed out as frames: a connection that closes
 * with some is truncated. */
size_t wr_agent_decoder_pending (const wr_agent_decoder_t *dec);
/* Checks the end of the peer's bytes: -1 "truncated" when a frame was cut. */
int wr_agent_decoder_finish (const wr_agent_decoder_t *dec, wr_error_t *err);

static inline void
wr_agent_decoder_cleanup (wr_agent_decoder_t **dec)
{
    wr_agent_decoder_free (*dec);
}
#define cleanup_agent_decoder __attribute__ ((cleanup (wr_agent_decoder_cleanup)))

#endif
