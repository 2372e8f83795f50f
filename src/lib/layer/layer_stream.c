#include "layer_stream.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "gzip_reader.h"
#include "xalloc.h"

/* A ring of chunks between the decompressing thread (producer) and the
 * reader (consumer).  Slots [head, head + filled) hold data; the consumer
 * keeps slot head while it reads it (held) and gives it back at its next
 * call. */
#define CHUNK_SIZE (256 * 1024)
#define N_CHUNKS 8
#define RAW_BUFFER (128 * 1024)

typedef struct {
    char *data;
    size_t size;
    unsigned long long compressed;
} chunk_t;

struct wr_layer_stream_s {
    /* Gzip goes through gzip_reader (ISA-L), zstd and plain tar through
     * libarchive's "raw" format; only the producer touches either once
     * started. */
    int fd;
    unsigned char prefix[2]; /* read to tell gzip from the rest */
    size_t prefix_len;
    wr_gzip_reader_t *gzip;
    struct archive *raw;
    char *raw_buffer;
    wr_sha256_t *sha;
    pthread_t thread;
    bool started;

    pthread_mutex_t lock;
    pthread_cond_t changed;
    chunk_t chunks[N_CHUNKS];
    size_t head, filled;
    bool held, eof, failed, stop;
    wr_error_t error; /* what failed, handed to the consumer once */
};

/* Takes ERROR. */
static void
fail (wr_layer_stream_t *s, wr_error_t error)
{
    pthread_mutex_lock (&s->lock);
    s->failed = true;
    s->error = error;
    pthread_cond_broadcast (&s->changed);
    pthread_mutex_unlock (&s->lock);
}

static void
fail_archive (wr_layer_stream_t *s)
{
    wr_error_t error = NULL;
    int e = archive_errno (s->raw);
    const char *message = archive_error_string (s->raw);
    wr_error_set (&error, e > 0 ? e : 0, "%s", message != NULL ? message : "decompression failed");
    fail (s, error);
}

/* Fills CHUNK from the gzip reader, straight into its buffer.  Returns
 * false on error (reported). */
static bool
fill_from_gzip (wr_layer_stream_t *s, chunk_t *chunk, bool *at_end)
{
    while (chunk->size < CHUNK_SIZE) {
        wr_error_t err = NULL;
        ssize_t n = wr_gzip_reader_read (s->gzip, chunk->data + chunk->size,
                                         CHUNK_SIZE - chunk->size, &err);
        if (n < 0) {
            fail (s, err);
            return false;
        }
        if (n == 0) {
            *at_end = true;
            break;
        }
        wr_sha256_update (s->sha, chunk->data + chunk->size, (size_t) n);
        chunk->size += (size_t) n;
    }
    chunk->compressed = wr_gzip_reader_consumed (s->gzip);
    return true;
}

static void *
produce (void *data)
{
    wr_layer_stream_t *s = data;
    const void *pending = NULL;
    size_t pending_size = 0;
    bool at_end = false;
    while (!at_end) {
        pthread_mutex_lock (&s->lock);
        while (s->filled == N_CHUNKS && !s->stop)
            pthread_cond_wait (&s->changed, &s->lock);
        if (s->stop) {
            pthread_mutex_unlock (&s->lock);
            return NULL;
        }
        /* Stable while we fill it: the consumer moves head and filled
         * together. */
        chunk_t *chunk = &s->chunks[(s->head + s->filled) % N_CHUNKS];
        pthread_mutex_unlock (&s->lock);

        if (chunk->data == NULL) /* small layers use one or two */
            chunk->data = xmalloc (CHUNK_SIZE);
        chunk->size = 0;
        if (s->gzip != NULL) {
            if (!fill_from_gzip (s, chunk, &at_end))
                return NULL;
        }
        while (s->gzip == NULL && chunk->size < CHUNK_SIZE) {
            if (pending_size == 0) {
                la_int64_t offset;
                int r = archive_read_data_block (s->raw, &pending, &pending_size, &offset);
                if (r == ARCHIVE_EOF) {
                    at_end = true;
                    break;
                }
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
                    fail_archive (s);
                    return NULL;
                }
                wr_sha256_update (s->sha, pending, pending_size);
            }
            size_t n = CHUNK_SIZE - chunk->size;
            if (n > pending_size)
                n = pending_size;
            memcpy (chunk->data + chunk->size, pending, n);
            chunk->size += n;
            pending = (const char *) pending + n;
            pending_size -= n;
        }
        if (s->gzip == NULL)
            chunk->compressed = (unsigned long long) archive_filter_bytes (s->raw, -1);

        pthread_mutex_lock (&s->lock);
        if (chunk->size > 0)
            s->filled++;
        s->eof = at_end;
        pthread_cond_broadcast (&s->changed);
        pthread_mutex_unlock (&s->lock);
    }
    return NULL;
}

/* libarchive's reader for what is not gzip: the bytes read to look at the
 * magic number first, then the rest of the file descriptor. */
static la_ssize_t
raw_read (struct archive *a, void *data, const void **buf)
{
    wr_layer_stream_t *s = data;
    if (s->prefix_len > 0) {
        *buf = s->prefix;
        la_ssize_t n = (la_ssize_t) s->prefix_len;
        s->prefix_len = 0;
        return n;
    }
    ssize_t n;
    do
        n = read (s->fd, s->raw_buffer, RAW_BUFFER);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        archive_set_error (a, errno, "read");
    *buf = s->raw_buffer;
    return n;
}

wr_layer_stream_t *
wr_layer_stream_open_fd (int fd, wr_error_t *err)
{
    wr_layer_stream_t *s = xzalloc (sizeof *s);
    pthread_mutex_init (&s->lock, NULL);
    pthread_cond_init (&s->changed, NULL);
    s->fd = fd;
    /* Two bytes tell gzip from the rest; read, not pread, so that a pipe
     * or a socket works too. */
    while (s->prefix_len < 2) {
        ssize_t got = read (s->fd, s->prefix + s->prefix_len, 2 - s->prefix_len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            wr_error_set (err, errno, "read");
            goto fail;
        }
        if (got == 0)
            break;
        s->prefix_len += (size_t) got;
    }
    if (wr_gzip_magic (s->prefix, s->prefix_len)) {
        s->gzip = wr_gzip_reader_new_with_prefix (s->fd, s->prefix, s->prefix_len);
        s->prefix_len = 0;
    } else {
        s->raw = archive_read_new ();
        s->raw_buffer = xmalloc (RAW_BUFFER);
        /* Only what OCI layers use, and no filter that runs an outside
         * program (libarchive falls back to one, with a warning, for
         * some). */
        if (archive_read_support_filter_zstd (s->raw) != ARCHIVE_OK ||
            archive_read_support_format_raw (s->raw) != ARCHIVE_OK) {
            wr_error_set (err, 0, "libarchive cannot read zstd by itself: %s",
                          archive_error_string (s->raw));
            goto fail;
        }
        struct archive_entry *entry;
        if (archive_read_open (s->raw, s, NULL, raw_read, NULL) != ARCHIVE_OK ||
            archive_read_next_header (s->raw, &entry) != ARCHIVE_OK) {
            int e = archive_errno (s->raw);
            wr_error_set (err, e > 0 ? e : 0, "%s", archive_error_string (s->raw));
            goto fail;
        }
    }
    s->sha = wr_sha256_new ();
    int r = pthread_create (&s->thread, NULL, produce, s);
    if (r != 0) {
        wr_error_set (err, r, "start the decompressing thread");
        goto fail;
    }
    s->started = true;
    return s;
fail:
    wr_layer_stream_free (s);
    return NULL;
}

wr_layer_stream_t *
wr_layer_stream_open (const char *path, wr_error_t *err)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        wr_error_set (err, errno, "open");
        return NULL;
    }
    return wr_layer_stream_open_fd (fd, err);
}

ssize_t
wr_layer_stream_next (wr_layer_stream_t *s, const void **data, unsigned long long *compressed,
                      wr_error_t *err)
{
    pthread_mutex_lock (&s->lock);
    if (s->held) {
        s->held = false;
        s->head = (s->head + 1) % N_CHUNKS;
        s->filled--;
        pthread_cond_broadcast (&s->changed);
    }
    while (s->filled == 0 && !s->eof && !s->failed)
        pthread_cond_wait (&s->changed, &s->lock);
    ssize_t r;
    if (s->filled > 0) {
        chunk_t *chunk = &s->chunks[s->head];
        s->held = true;
        *data = chunk->data;
        *compressed = chunk->compressed;
        r = (ssize_t) chunk->size;
    } else if (s->failed) {
        if (err != NULL && s->error != NULL)
            *err = steal_pointer (&s->error);
        else
            wr_error_set (err, 0, "decompression failed");
        r = -1;
    } else {
        r = 0;
    }
    pthread_mutex_unlock (&s->lock);
    return r;
}

void
wr_layer_stream_digest (wr_layer_stream_t *s, char *out)
{
    /* The producer is done (it set eof after its last hash update). */
    pthread_join (s->thread, NULL);
    s->started = false;
    wr_sha256_final (s->sha, out);
    wr_sha256_free (s->sha);
    s->sha = NULL;
}

void
wr_layer_stream_free (wr_layer_stream_t *s)
{
    if (s == NULL)
        return;
    if (s->started) {
        pthread_mutex_lock (&s->lock);
        s->stop = true;
        pthread_cond_broadcast (&s->changed);
        pthread_mutex_unlock (&s->lock);
        pthread_join (s->thread, NULL);
    }
    if (s->raw != NULL)
        archive_read_free (s->raw);
    wr_gzip_reader_free (s->gzip);
    free (s->raw_buffer);
    if (s->fd >= 0)
        close (s->fd);
    if (s->sha != NULL)
        wr_sha256_free (s->sha);
    for (size_t i = 0; i < N_CHUNKS; i++)
        free (s->chunks[i].data);
    wr_error_free (&s->error);
    pthread_cond_destroy (&s->changed);
    pthread_mutex_destroy (&s->lock);
    free (s);
}
