/* Docker's multiplexed stream (logs, attach and exec of a container without
 * a TTY): frames of an 8-byte header, [STREAM, 0, 0, 0, SIZE as 4 bytes big
 * endian], then SIZE bytes of that stream (0 stdin, 1 stdout, 2 stderr, 3
 * dockerd's own error).  The payload is handed on in the pieces it
 * arrives in, never gathered, so a frame of any size takes no memory; a
 * header with another stream number or non-zero padding is refused. */
#ifndef WARREN_DOCKER_MUX_H
#define WARREN_DOCKER_MUX_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef enum {
    WR_DOCKER_STDIN = 0,
    WR_DOCKER_STDOUT = 1,
    WR_DOCKER_STDERR = 2,
    WR_DOCKER_SYSTEMERR = 3,
} wr_docker_stream_t;

/* LEN bytes (LEN > 0) of STREAM; a negative return stops with *ERR. */
typedef int (*wr_docker_mux_fn) (void *data, wr_docker_stream_t stream, const char *buf, size_t len,
                                 wr_error_t *err);

typedef struct {
    uint8_t header[8];
    size_t have; /* header bytes read of the next frame */
    uint32_t left; /* payload bytes still to come of the current frame */
    wr_docker_stream_t stream;
    uint64_t frames;
    wr_docker_mux_fn fn;
    void *data;
} wr_docker_mux_t;

void wr_docker_mux_init (wr_docker_mux_t *m, wr_docker_mux_fn fn, void *data);
int wr_docker_mux_feed (wr_docker_mux_t *m, const void *buf, size_t len, wr_error_t *err);
/* The stream ended: fails (INVALID) inside a header or a frame. */
int wr_docker_mux_end (wr_docker_mux_t *m, wr_error_t *err);

#endif
