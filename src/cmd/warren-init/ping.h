/* `GET /_ping` on dockerd's unix socket, without blocking: the caller
 * polls ping_fd() together with the signalfd, so a dockerd that accepts
 * the connection but answers late (its API queues connections until the
 * daemon is initialised) or dies meanwhile is noticed at once. */
#ifndef WARREN_INIT_PING_H
#define WARREN_INIT_PING_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define PING_BUFFER_SIZE 4096

typedef enum {
    PING_PENDING, /* no complete answer yet: poll again */
    PING_READY, /* 200 OK with body "OK" */
    PING_FAILED, /* connection closed, refused, or another answer */
} ping_state_t;

typedef struct {
    int fd;
    char buf[PING_BUFFER_SIZE];
    size_t len;
} ping_t;

#define PING_INIT                                                                                  \
    {                                                                                              \
        .fd = -1                                                                                   \
    }

/* Connects to SOCKET_PATH and sends the request.  Returns 0 when the
 * request is on its way, -1 when the socket is not there yet or refuses
 * (err says why). */
int ping_start (ping_t *ping, const char *socket_path, wr_error_t *err);
/* Reads what is available.  PING_FAILED fills err with the reason (the
 * HTTP status line, or the socket error). */
ping_state_t ping_read (ping_t *ping, wr_error_t *err);
void ping_close (ping_t *ping);

typedef struct {
    int status; /* e.g. 200 */
    const char *body; /* points into the buffer */
    size_t body_len;
} http_response_t;

/* Parses an HTTP/1.x response held in BUF.  EOF tells whether the peer
 * closed the connection (the body then ends at LEN when there is no
 * Content-Length).  Returns 1 when the response is complete, 0 when more
 * bytes are needed, -1 when it is not HTTP (err says why). */
int http_response_parse (const char *buf, size_t len, bool eof, http_response_t *response,
                         wr_error_t *err);

#endif
