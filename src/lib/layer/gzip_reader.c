#include "gzip_reader.h"

#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xalloc.h"

#define INPUT_SIZE (1024 * 1024)

struct wr_gzip_reader_s {
    int fd;
    unsigned char *input;
    unsigned long long file_read; /* bytes read from fd */
    bool at_eof; /* read() gave 0 */
    bool between_members; /* a member ended; another may follow */
    bool done;
    struct inflate_state state; /* last: it is large (about 100 KB) */
};

bool
wr_gzip_magic (const void *data, size_t len)
{
    const unsigned char *p = data;
    return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

static void
start_member (wr_gzip_reader_t *r)
{
    uint8_t *next_in = r->state.next_in;
    uint32_t avail_in = r->state.avail_in;
    isal_inflate_reset (&r->state);
    r->state.crc_flag = ISAL_GZIP; /* parse the header, check CRC-32 and length */
    r->state.next_in = next_in;
    r->state.avail_in = avail_in;
}

wr_gzip_reader_t *
wr_gzip_reader_new (int fd)
{
    wr_gzip_reader_t *r = xzalloc (sizeof *r);
    r->fd = fd;
    r->input = xmalloc (INPUT_SIZE);
    isal_inflate_init (&r->state);
    r->state.next_in = r->input;
    r->state.avail_in = 0;
    start_member (r);
    return r;
}

wr_gzip_reader_t *
wr_gzip_reader_new_with_prefix (int fd, const void *prefix, size_t len)
{
    wr_gzip_reader_t *r = wr_gzip_reader_new (fd);
    if (len > 16)
        len = 16;
    memcpy (r->input, prefix, len);
    r->state.next_in = r->input;
    r->state.avail_in = (uint32_t) len;
    r->file_read = len;
    return r;
}

unsigned long long
wr_gzip_reader_consumed (const wr_gzip_reader_t *r)
{
    /* After a decoding error ISA-L may leave avail_in past what was read
     * (seen by fuzz_gzip); the count stays within the file then. */
    if (r->state.avail_in > r->file_read)
        return 0;
    return r->file_read - r->state.avail_in;
}

/* Keeps the unread input and reads more after it.  Sets at_eof when the
 * file has no more. */
static int
fill (wr_gzip_reader_t *r, wr_error_t *err)
{
    if (r->state.avail_in > 0 && r->state.next_in != r->input)
        memmove (r->input, r->state.next_in, r->state.avail_in);
    r->state.next_in = r->input;
    size_t room = INPUT_SIZE - r->state.avail_in;
    if (room == 0)
        return 0;
    ssize_t n;
    do
        n = read (r->fd, r->input + r->state.avail_in, room);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return wr_error_set (err, errno, "gzip: read at offset %llu", r->file_read);
    if (n == 0)
        r->at_eof = true;
    r->state.avail_in += (uint32_t) n;
    r->file_read += (unsigned long long) n;
    return 0;
}

static const char *
describe (int code)
{
    switch (code) {
    case ISAL_INVALID_BLOCK:
        return "invalid deflate block";
    case ISAL_INVALID_SYMBOL:
        return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK:
        return "invalid back-reference distance";
    case ISAL_INVALID_WRAPPER:
        return "invalid gzip header";
    case ISAL_UNSUPPORTED_METHOD:
        return "unsupported compression method";
    case ISAL_INCORRECT_CHECKSUM:
        return "CRC-32 or length does not match the data";
    case ISAL_NEED_DICT:
        return "the stream asks for a preset dictionary";
    default:
        return "the decoder failed";
    }
}

ssize_t
wr_gzip_reader_read (wr_gzip_reader_t *r, void *buf, size_t cap, wr_error_t *err)
{
    if (cap > UINT32_MAX)
        cap = UINT32_MAX;
    while (!r->done) {
        if (r->between_members) {
            /* Two bytes decide whether another member follows. */
            if (r->state.avail_in < 2 && !r->at_eof) {
                if (fill (r, err) < 0)
                    return -1;
                continue;
            }
            if (r->state.avail_in == 0) {
                r->done = true;
                break;
            }
            if (!wr_gzip_magic (r->state.next_in, r->state.avail_in))
                return wr_error_set (err, 0,
                                     "gzip: %u bytes at offset %llu after the end of the stream "
                                     "are not another gzip member",
                                     r->state.avail_in, wr_gzip_reader_consumed (r));
            start_member (r);
            r->between_members = false;
        }
        if (r->state.avail_in == 0 && !r->at_eof && fill (r, err) < 0)
            return -1;
        uint32_t avail_before = r->state.avail_in;
        unsigned long long offset = wr_gzip_reader_consumed (r);
        r->state.next_out = buf;
        r->state.avail_out = (uint32_t) cap;
        int code = isal_inflate (&r->state);
        if (code != ISAL_DECOMP_OK)
            return wr_error_set (err, 0, "gzip: %s (in the %u bytes after offset %llu)",
                                 describe (code), avail_before, offset);
        size_t produced = cap - r->state.avail_out;
        if (r->state.block_state == ISAL_BLOCK_FINISH)
            r->between_members = true;
        if (produced > 0)
            return (ssize_t) produced;
        if (r->between_members)
            continue;
        if (r->state.avail_in == avail_before) {
            /* Neither input taken nor output made: it needs more input. */
            if (r->at_eof)
                return wr_error_set (err, 0, "gzip: the stream is truncated after %llu bytes",
                                     r->file_read);
            if (r->state.avail_in == INPUT_SIZE)
                return wr_error_set (err, 0, "gzip: the decoder made no progress at offset %llu",
                                     wr_gzip_reader_consumed (r));
            if (fill (r, err) < 0)
                return -1;
        }
    }
    return 0;
}

void
wr_gzip_reader_free (wr_gzip_reader_t *r)
{
    if (r == NULL)
        return;
    free (r->input);
    free (r);
}
