/* The uncompressed bytes of a layer (gzip, zstd or plain tar), made by a
 * thread of their own so that decompressing and hashing overlap with
 * writing the files (on two cores, an unpack takes about the time of the
 * slower of the two instead of their sum).  Every byte is hashed once, on
 * the way: the digest is the layer's DIFF_ID. */
#ifndef WARREN_LAYER_STREAM_H
#define WARREN_LAYER_STREAM_H

#include <sys/types.h>

#include "error.h"

typedef struct wr_layer_stream_s wr_layer_stream_t;

/* Opens PATH and starts decompressing it: gzip with gzip_reader.h (ISA-L),
 * zstd with libarchive's decoder, never an outside program. */
wr_layer_stream_t *wr_layer_stream_open (const char *path, wr_error_t *err);
/* The same for the layer read from FD (taken, closed by _free): a file, a
 * pipe or a socket, read from where it is to its end. */
wr_layer_stream_t *wr_layer_stream_open_fd (int fd, wr_error_t *err);

/* The next block: its size (*DATA valid until the next call), 0 at the end
 * of the stream, -1 on error.  *COMPRESSED gets the bytes of PATH read so
 * far. */
ssize_t wr_layer_stream_next (wr_layer_stream_t *stream, const void **data,
                              unsigned long long *compressed, wr_error_t *err);

/* "sha256:<hex>" of the whole uncompressed stream, once _next returned 0. */
void wr_layer_stream_digest (wr_layer_stream_t *stream, char *out);

/* Stops the thread (wherever it is) and frees everything. */
void wr_layer_stream_free (wr_layer_stream_t *stream);

#endif
