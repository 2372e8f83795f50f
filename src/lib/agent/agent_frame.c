#include "agent_frame.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* The header, in network byte order:
 *    0  u16 magic "WA"      2  u8 version      3  u8 type
 *    4  u8 flags            5  u8 channel      6  u16 reserved (0)
 *    8  u32 stream id      12  u32 payload length
 *   16  u64 offset */

struct wr_agent_decoder_s {
    wr_agent_side_t peer;
    unsigned version; /* 0 until the handshake settles it */
    bool hello_seen;
    uint8_t *buf;
    size_t len; /* bytes in buf */
    size_t start; /* where the first byte not handed out is */
    size_t cap;
    /* The first error, repeated by every later call. */
    wr_error_kind_t failed_kind;
    char *failed;
};

static void
put16 (uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t) (v >> 8);
    p[1] = (uint8_t) v;
}

static void
put32 (uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t) (v >> (24 - 8 * i));
}

static void
put64 (uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t) (v >> (56 - 8 * i));
}

static uint16_t
get16 (const uint8_t *p)
{
    return (uint16_t) ((p[0] << 8) | p[1]);
}

static uint32_t
get32 (const uint8_t *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}

static uint64_t
get64 (const uint8_t *p)
{
    return ((uint64_t) get32 (p) << 32) | get32 (p + 4);
}

void
wr_agent_buf_append (wr_agent_buf_t *buf, const void *data, size_t len)
{
    if (len == 0)
        return;
    if (buf->cap - buf->len < len) {
        size_t cap = buf->cap ? buf->cap : 256;
        while (cap - buf->len < len)
            cap *= 2;
        buf->data = xrealloc (buf->data, cap);
        buf->cap = cap;
    }
    memcpy (buf->data + buf->len, data, len);
    buf->len += len;
}

void
wr_agent_buf_consume (wr_agent_buf_t *buf, size_t n)
{
    if (n >= buf->len) {
        buf->len = 0;
        return;
    }
    memmove (buf->data, buf->data + n, buf->len - n);
    buf->len -= n;
}

void
wr_agent_buf_clear (wr_agent_buf_t *buf)
{
    free (buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

const char *
wr_agent_frame_type_name (uint8_t type)
{
    switch (type) {
    case WR_AGENT_FRAME_MESSAGE:
        return "message";
    case WR_AGENT_FRAME_DATA:
        return "data";
    }
    return "unknown";
}

/* The checks a header must pass, shared by encoder and decoder.  WHO is
 * "the peer's" or "a" in messages. */
static int
check_header (const wr_agent_frame_t *f, wr_error_t *err)
{
    if (f->version < WR_AGENT_VERSION_MIN || f->version > WR_AGENT_VERSION_MAX)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "frame of stream %u: unknown protocol version %u (this side "
                                  "speaks %d to %d)",
                                  f->stream, f->version, WR_AGENT_VERSION_MIN,
                                  WR_AGENT_VERSION_MAX);
    if (f->type != WR_AGENT_FRAME_MESSAGE && f->type != WR_AGENT_FRAME_DATA)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "frame of stream %u: unknown frame type %u", f->stream, f->type);
    if ((f->flags & ~WR_AGENT_FLAGS_KNOWN) != 0)
        return wr_error_set_kind (
            err, WR_ERROR_INVALID, 0, "%s frame of stream %u: unknown flags 0x%02x",
            wr_agent_frame_type_name (f->type), f->stream, f->flags & ~WR_AGENT_FLAGS_KNOWN);
    if (f->length > WR_AGENT_MAX_PAYLOAD)
        return wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                                  "%s frame of stream %u: a payload of %u bytes is over the limit "
                                  "of %u",
                                  wr_agent_frame_type_name (f->type), f->stream, f->length,
                                  WR_AGENT_MAX_PAYLOAD);
    if (f->type == WR_AGENT_FRAME_MESSAGE) {
        if (f->channel != 0 || f->offset != 0)
            return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                      "message frame of stream %u: channel and offset must be 0",
                                      f->stream);
        if (f->length == 0)
            return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                      "message frame of stream %u: empty payload", f->stream);
    } else {
        if (f->stream == 0)
            return wr_error_set_kind (
                err, WR_ERROR_INVALID, 0,
                "data frame on stream 0 (the connection carries messages only)");
        if (f->channel > WR_AGENT_CHANNEL_MAX)
            return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                      "data frame of stream %u: unknown channel %u", f->stream,
                                      f->channel);
        if (f->offset > UINT64_MAX - f->length)
            return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                      "data frame of stream %u: offset %llu plus length %u "
                                      "overflows",
                                      f->stream, (unsigned long long) f->offset, f->length);
    }
    return 0;
}

int
wr_agent_frame_header_encode (const wr_agent_frame_t *frame, uint8_t out[WR_AGENT_HEADER_SIZE],
                              wr_error_t *err)
{
    if (check_header (frame, err) < 0)
        return wr_error_prefix (err, "encode");
    put16 (out, WR_AGENT_MAGIC);
    out[2] = frame->version;
    out[3] = frame->type;
    out[4] = frame->flags;
    out[5] = frame->channel;
    put16 (out + 6, 0);
    put32 (out + 8, frame->stream);
    put32 (out + 12, frame->length);
    put64 (out + 16, frame->offset);
    return 0;
}

int
wr_agent_frame_encode (wr_agent_buf_t *buf, const wr_agent_frame_t *frame, wr_error_t *err)
{
    uint8_t header[WR_AGENT_HEADER_SIZE];
    if (wr_agent_frame_header_encode (frame, header, err) < 0)
        return -1;
    wr_agent_buf_append (buf, header, sizeof header);
    wr_agent_buf_append (buf, frame->payload, frame->length);
    return 0;
}

int
wr_agent_data_encode (wr_agent_buf_t *buf, uint8_t version, uint32_t stream, uint8_t flags,
                      uint8_t channel, uint64_t offset, const void *data, size_t len,
                      wr_error_t *err)
{
    if (len > WR_AGENT_MAX_PAYLOAD)
        return wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                                  "encode: %zu bytes do not fit one data frame (the limit is %u)",
                                  len, WR_AGENT_MAX_PAYLOAD);
    wr_agent_frame_t frame = {
        .version = version,
        .type = WR_AGENT_FRAME_DATA,
        .flags = flags,
        .channel = channel,
        .stream = stream,
        .offset = offset,
        .length = (uint32_t) len,
        .payload = data,
    };
    return wr_agent_frame_encode (buf, &frame, err);
}

wr_agent_decoder_t *
wr_agent_decoder_new (wr_agent_side_t peer)
{
    wr_agent_decoder_t *dec = xzalloc (sizeof *dec);
    dec->peer = peer;
    return dec;
}

void
wr_agent_decoder_free (wr_agent_decoder_t *dec)
{
    if (dec == NULL)
        return;
    free (dec->buf);
    free (dec->failed);
    free (dec);
}

int
wr_agent_decoder_set_version (wr_agent_decoder_t *dec, unsigned version, wr_error_t *err)
{
    if (version < WR_AGENT_VERSION_MIN || version > WR_AGENT_VERSION_MAX)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "protocol version %u is not one this side speaks (%d to %d)",
                                  version, WR_AGENT_VERSION_MIN, WR_AGENT_VERSION_MAX);
    dec->version = version;
    return 0;
}

static const char *
peer_owner (const wr_agent_decoder_t *dec)
{
    return dec->peer == WR_AGENT_SIDE_AGENT ? "the agent's" : "warrend's";
}

/* Keeps the error in *ERR (never NULL here) as the decoder's own, for
 * every later call. */
static int
fail (wr_agent_decoder_t *dec, wr_error_t *err)
{
    wr_error_prefix (err, "%s frames", peer_owner (dec));
    dec->failed_kind = wr_error_kind (*err);
    dec->failed = xstrdup ((*err)->message);
    return -1;
}

static int
repeat_failure (const wr_agent_decoder_t *dec, wr_error_t *err)
{
    return wr_error_set_kind (err, dec->failed_kind, 0, "%s", dec->failed);
}

int
wr_agent_decoder_feed (wr_agent_decoder_t *dec, const void *data, size_t len, wr_error_t *err)
{
    if (dec->failed != NULL)
        return repeat_failure (dec, err);
    if (len == 0)
        return 0;
    size_t pending = dec->len - dec->start;
    size_t bound = 2 * (WR_AGENT_HEADER_SIZE + (size_t) WR_AGENT_MAX_PAYLOAD);
    if (len > bound || pending > bound - len)
        return wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                                  "%s frames: %zu bytes waiting to be decoded (take frames "
                                  "out before feeding more)",
                                  peer_owner (dec), pending + len);
    if (dec->start > 0) {
        memmove (dec->buf, dec->buf + dec->start, pending);
        dec->len = pending;
        dec->start = 0;
    }
    if (dec->cap - dec->len < len) {
        size_t cap = dec->cap ? dec->cap : 4096;
        while (cap - dec->len < len)
            cap *= 2;
        dec->buf = xrealloc (dec->buf, cap);
        dec->cap = cap;
    }
    memcpy (dec->buf + dec->len, data, len);
    dec->len += len;
    return 0;
}

static int
decoder_next (wr_agent_decoder_t *dec, wr_agent_frame_t *frame, wr_error_t *err)
{
    size_t avail = dec->len - dec->start;
    const uint8_t *p = dec->buf + dec->start;
    /* The magic is checked as soon as its bytes are in, so that a peer
     * speaking something else is told at once. */
    for (size_t i = 0; i < 2 && i < avail; i++) {
        uint8_t want = (uint8_t) (WR_AGENT_MAGIC >> (8 - 8 * i));
        if (p[i] != want) {
            wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                               "bad magic 0x%02x at byte %zu of a frame header (want \"WA\")", p[i],
                               i);
            return fail (dec, err);
        }
    }
    if (avail < WR_AGENT_HEADER_SIZE)
        return 0;
    wr_agent_frame_t f = {
        .version = p[2],
        .type = p[3],
        .flags = p[4],
        .channel = p[5],
        .stream = get32 (p + 8),
        .length = get32 (p + 12),
        .offset = get64 (p + 16),
    };
    if (get16 (p + 6) != 0) {
        wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                           "frame of stream %u: reserved bytes 6-7 must be 0, not 0x%04x", f.stream,
                           get16 (p + 6));
        return fail (dec, err);
    }
    if (dec->version == 0) {
        if (dec->hello_seen) {
            wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                               "a frame after the hello before the version was agreed");
            return fail (dec, err);
        }
        if (f.version != WR_AGENT_HELLO_VERSION) {
            wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                               "the hello must be framed with version %d, not %u",
                               WR_AGENT_HELLO_VERSION, f.version);
            return fail (dec, err);
        }
    } else if (f.version != dec->version) {
        wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                           "frame of stream %u: protocol version %u, but version %u was agreed",
                           f.stream, f.version, dec->version);
        return fail (dec, err);
    }
    if (check_header (&f, err) < 0)
        return fail (dec, err);
    if (dec->version == 0 && (f.type != WR_AGENT_FRAME_MESSAGE || f.stream != 0)) {
        wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                           "the first frame must be a hello message on stream 0, not a %s frame "
                           "of stream %u",
                           wr_agent_frame_type_name (f.type), f.stream);
        return fail (dec, err);
    }
    if (avail - WR_AGENT_HEADER_SIZE < f.length)
        return 0;
    f.payload = p + WR_AGENT_HEADER_SIZE;
    dec->start += WR_AGENT_HEADER_SIZE + f.length;
    if (dec->version == 0)
        dec->hello_seen = true;
    *frame = f;
    return 1;
}

int
wr_agent_decoder_next (wr_agent_decoder_t *dec, wr_agent_frame_t *frame, wr_error_t *err)
{
    memset (frame, 0, sizeof *frame);
    if (dec->failed != NULL)
        return repeat_failure (dec, err);
    wr_error_t local = NULL;
    int r = decoder_next (dec, frame, &local);
    if (r < 0) {
        wr_error_set_kind (err, wr_error_kind (local), 0, "%s", local->message);
        wr_error_free (&local);
    }
    return r;
}

size_t
wr_agent_decoder_pending (const wr_agent_decoder_t *dec)
{
    return dec->len - dec->start;
}

int
wr_agent_decoder_finish (const wr_agent_decoder_t *dec, wr_error_t *err)
{
    if (dec->failed != NULL)
        return repeat_failure (dec, err);
    size_t pending = wr_agent_decoder_pending (dec);
    if (pending == 0)
        return 0;
    if (pending < WR_AGENT_HEADER_SIZE)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "%s frames: truncated: the connection ended %zu bytes "
                                  "into a frame header",
                                  peer_owner (dec), pending);
    const uint8_t *p = dec->buf + dec->start;
    return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                              "%s frames: truncated: the connection ended %zu bytes into "
                              "a payload of %u",
                              peer_owner (dec), pending - WR_AGENT_HEADER_SIZE, get32 (p + 12));
}
