/* A minimal blocking client of the agent protocol for tests and
 * agent-call: connect, handshake, send messages and data, read frames. */
#ifndef WARREN_TESTS_AGENT_CLIENT_H
#define WARREN_TESTS_AGENT_CLIENT_H

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent_frame.h"
#include "agent_message.h"

typedef struct {
    int fd;
    wr_agent_decoder_t *dec;
    unsigned version;
    wr_agent_frame_t frame; /* the last frame read */
    wr_error_t err;
} ac_t;

static inline int
ac_connect_raw (ac_t *c, const char *path)
{
    memset (c, 0, sizeof *c);
    c->fd = -1;
    for (int tries = 0; tries < 200; tries++) {
        int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        if (strlen (path) >= sizeof addr.sun_path)
            return -1;
        memcpy (addr.sun_path, path, strlen (path) + 1);
        if (connect (fd, (struct sockaddr *) &addr, sizeof addr) == 0) {
            c->fd = fd;
            c->dec = wr_agent_decoder_new (WR_AGENT_SIDE_AGENT);
            return 0;
        }
        close (fd);
        struct timespec ts = { 0, 25 * 1000 * 1000 };
        nanosleep (&ts, NULL);
    }
    return -1;
}

static inline int
ac_write (ac_t *c, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = send (c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t) w;
    }
    return 0;
}

static inline int
ac_send (ac_t *c, uint32_t stream, wr_agent_message_t *msg, bool end)
{
    wr_agent_buf_t buf = { 0 };
    int r = wr_agent_message_encode (&buf, c->version ? c->version : 1, stream,
                                     end ? WR_AGENT_FLAG_END : 0, WR_AGENT_SIDE_HOST, msg, &c->err);
    if (r == 0)
        r = ac_write (c, buf.data, buf.len);
    wr_agent_buf_clear (&buf);
    wr_agent_message_free (msg);
    return r;
}

static inline int
ac_send_data (ac_t *c, uint32_t stream, uint64_t offset, const void *data, size_t n, bool end)
{
    wr_agent_buf_t buf = { 0 };
    int r = wr_agent_data_encode (&buf, (uint8_t) c->version, stream, end ? WR_AGENT_FLAG_END : 0,
                                  0, offset, data, n, &c->err);
    if (r == 0)
        r = ac_write (c, buf.data, buf.len);
    wr_agent_buf_clear (&buf);
    return r;
}

/* The next frame into c->frame: 1, 0 at the end of the connection, -1 on
 * an error or after TIMEOUT_MS. */
static inline int
ac_next (ac_t *c, int timeout_ms)
{
    for (;;) {
        int r = wr_agent_decoder_next (c->dec, &c->frame, &c->err);
        if (r != 0)
            return r;
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        if (poll (&p, 1, timeout_ms) <= 0)
            return -1;
        char buf[65536];
        ssize_t n = read (c->fd, buf, sizeof buf);
        if (n == 0)
            return 0;
        if (n < 0)
            return -1;
        if (wr_agent_decoder_feed (c->dec, buf, (size_t) n, &c->err) < 0)
            return -1;
    }
}

/* The last frame as a message (the caller frees it). */
static inline wr_agent_message_t *
ac_message (ac_t *c)
{
    if (c->frame.type != WR_AGENT_FRAME_MESSAGE)
        return NULL;
    return wr_agent_message_decode (&c->frame, WR_AGENT_SIDE_AGENT, &c->err);
}

static inline int
ac_connect (ac_t *c, const char *path)
{
    if (ac_connect_raw (c, path) < 0 || ac_send (c, 0, wr_agent_hello_new ("test"), false) < 0 ||
        ac_next (c, 5000) != 1)
        return -1;
    wr_agent_message_t *hello = ac_message (c);
    if (hello == NULL)
        return -1;
    int r = wr_agent_negotiate (hello, WR_AGENT_SIDE_AGENT, &c->version, &c->err);
    wr_agent_message_free (hello);
    if (r == 0)
        r = wr_agent_decoder_set_version (c->dec, c->version, &c->err);
    return r;
}

static inline void
ac_close (ac_t *c)
{
    if (c->fd >= 0)
        close (c->fd);
    wr_agent_decoder_free (c->dec);
    wr_error_free (&c->err);
    memset (c, 0, sizeof *c);
    c->fd = -1;
}

#endif
