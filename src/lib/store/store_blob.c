/* Blobs: ROOT/blobs/sha256/<hex>, written through ROOT/ingest so that only
 * whole, verified content ever appears under blobs/. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "fs.h"
#include "log.h"
#include "store.h"
#include "store_private.h"
#include "xalloc.h"

#define HASH_CHUNK (1024 * 1024)

bool
wr_store_has_blob_size (wr_store_t *store, const char *digest, int64_t size)
{
    if (wr_digest_validate (digest, NULL) < 0)
        return false;
    struct stat st;
    if (fstatat (store->blobs_fd, wr_digest_hex (digest), &st, AT_SYMLINK_NOFOLLOW) < 0)
        return false;
    if (!S_ISREG (st.st_mode))
        return false;
    return size < 0 || st.st_size == size;
}

bool
wr_store_has_blob (wr_store_t *store, const char *digest)
{
    return wr_store_has_blob_size (store, digest, -1);
}

/* Makes the file FD, named NAME in ingest/, the blob HEX: read-only, on
 * disk, then renamed, then the directory on disk. */
static int
publish (wr_store_t *store, int fd, const char *name, const char *hex, wr_error_t *err)
{
    if (fchmod (fd, 0444) < 0)
        return wr_error_set (err, errno, "chmod `%s/ingest/%s`", store->root, name);
    if (fsync (fd) < 0)
        return wr_error_set (err, errno, "fsync `%s/ingest/%s`", store->root, name);
    if (renameat (store->ingest_fd, name, store->blobs_fd, hex) < 0)
        return wr_error_set (err, errno, "rename `%s/ingest/%s` to `%s/blobs/sha256/%s`",
                             store->root, name, store->root, hex);
    if (fsync (store->blobs_fd) < 0)
        return wr_error_set (err, errno, "fsync `%s/blobs/sha256`", store->root);
    return 0;
}

int
wr_store_read_blob (wr_store_t *store, const char *digest, size_t max_size, char **data,
                    size_t *len, wr_error_t *err)
{
    if (wr_digest_validate (digest, err) < 0)
        return wr_error_prefix (err, "read a blob");
    const char *hex = wr_digest_hex (digest);
    cleanup_close int fd = openat (store->blobs_fd, hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return wr_error_set (err, errno, "blob %s is not in the store (`%s/blobs/sha256/%s`)",
                                 digest, store->root, hex);
        return wr_error_set (err, errno, "open `%s/blobs/sha256/%s`", store->root, hex);
    }
    struct stat st;
    if (fstat (fd, &st) < 0)
        return wr_error_set (err, errno, "stat `%s/blobs/sha256/%s`", store->root, hex);
    if (!S_ISREG (st.st_mode))
        return wr_error_set (err, 0, "`%s/blobs/sha256/%s` is not a regular file", store->root,
                             hex);
    if ((uint64_t) st.st_size > max_size)
        return wr_error_set (err, EFBIG, "blob %s is %lld bytes, more than the limit of %zu",
                             digest, (long long) st.st_size, max_size);
    size_t size = (size_t) st.st_size;
    cleanup_free char *buf = xmalloc (size + 1);
    size_t got = 0;
    while (got < size) {
        ssize_t n = read (fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return wr_error_set (err, errno, "read `%s/blobs/sha256/%s`", store->root, hex);
        if (n == 0)
            break;
        got += (size_t) n;
    }
    buf[got] = '\0';
    char actual[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest (buf, got, actual);
    if (strcmp (actual, digest) != 0)
        return wr_error_set (err, 0,
                             "blob `%s/blobs/sha256/%s` is corrupt: its content has digest %s",
                             store->root, hex, actual);
    *data = steal_pointer (&buf);
    *len = got;
    return 0;
}

int
wr_store_put_blob (wr_store_t *store, const void *data, size_t len, const char *expected,
                   char *out_digest, wr_error_t *err)
{
    if (expected != NULL && wr_digest_validate (expected, err) < 0)
        return wr_error_prefix (err, "store a blob");
    char digest[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest (data, len, digest);
    if (expected != NULL && strcmp (digest, expected) != 0)
        return wr_error_set (err, 0, "blob %s: digest mismatch: the %zu bytes have digest %s",
                             expected, len, digest);
    if (out_digest != NULL)
        memcpy (out_digest, digest, sizeof digest);
    /* Written once: an existing blob of the right size stays as it is. */
    if (wr_store_has_blob_size (store, digest, (int64_t) len))
        return 0;

    cleanup_free char *tmp_path = xasprintf ("%s/ingest/put-XXXXXX", store->root);
    cleanup_close int fd = mkostemp (tmp_path, O_CLOEXEC);
    if (fd < 0)
        return wr_error_set (err, errno, "create a temporary file `%s`", tmp_path);
    const char *name = strrchr (tmp_path, '/') + 1;
    if (wr_write_all (fd, data, len, tmp_path, err) < 0 ||
        publish (store, fd, name, wr_digest_hex (digest), err) < 0) {
        unlinkat (store->ingest_fd, name, 0);
        return wr_error_prefix (err, "store blob %s", digest);
    }
    return 0;
}

/* ---- the resumable writer ---- */

struct wr_blob_writer_s {
    wr_store_t *store;
    char digest[WR_DIGEST_MAX_LEN + 1];
    char partial[WR_DIGEST_SHA256_HEX_LEN + 16]; /* "<hex>.partial" in ingest/ */
    int fd; /* the partial, locked; -1 when complete or committed */
    int64_t size; /* -1: unknown */
    int64_t written;
    wr_sha256_t *sha;
    bool complete;
    bool committed;
};

bool
wr_blob_writer_complete (wr_blob_writer_t *writer)
{
    return writer->complete;
}

/* Hashes the bytes already in the partial, leaving the offset at its end. */
static int
rehash_partial (wr_blob_writer_t *w, wr_error_t *err)
{
    cleanup_free char *buf = xmalloc (HASH_CHUNK);
    if (lseek (w->fd, 0, SEEK_SET) < 0)
        return wr_error_set (err, errno, "seek `%s/ingest/%s`", w->store->root, w->partial);
    w->written = 0;
    for (;;) {
        ssize_t n = read (w->fd, buf, HASH_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return wr_error_set (err, errno, "read `%s/ingest/%s`", w->store->root, w->partial);
        if (n == 0)
            break;
        wr_sha256_update (w->sha, buf, (size_t) n);
        w->written += n;
    }
    return 0;
}

static int
truncate_partial (wr_blob_writer_t *w, wr_error_t *err)
{
    if (ftruncate (w->fd, 0) < 0 || lseek (w->fd, 0, SEEK_SET) < 0)
        return wr_error_set (err, errno, "truncate `%s/ingest/%s`", w->store->root, w->partial);
    wr_sha256_free (w->sha);
    w->sha = wr_sha256_new ();
    w->written = 0;
    return 0;
}

/* Opens and locks ingest/<hex>.partial.  0 with W->fd set, 1 when the blob
 * turned up in the store meanwhile, -1 on error. */
static int
open_partial (wr_blob_writer_t *w, const wr_cancel_t *cancel, wr_error_t *err)
{
    wr_store_t *store = w->store;
    for (;;) {
        if (wr_store_has_blob_size (store, w->digest, w->size))
            return 1;
        cleanup_close int fd =
            openat (store->ingest_fd, w->partial, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            return wr_error_set (err, errno, "open `%s/ingest/%s`", store->root, w->partial);
        /* Another process downloading the same blob holds the lock: wait
         * for it, then find its blob committed or its partial to resume. */
        if (flock (fd, LOCK_EX | LOCK_NB) < 0) {
            if (errno != EWOULDBLOCK && errno != EINTR)
                return wr_error_set (err, errno, "lock `%s/ingest/%s`", store->root, w->partial);
            wr_log_to (w->store->log, WR_LOG_INFO, "waiting for another download of the same blob",
                       "digest", w->digest, NULL);
            /* Tried every 50 ms rather than waited for in flock, so that a
             * cancelled pull stops waiting too. */
            while (flock (fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK && errno != EINTR)
                    return wr_error_set (err, errno, "lock `%s/ingest/%s`", store->root,
                                         w->partial);
                if (wr_cancel_sleep (cancel, 50) < 0 && wr_cancel_check (cancel, NULL, err) < 0)
                    return wr_error_prefix (err, "wait for another download of `%s`", w->digest);
            }
        }
        /* The holder may have committed (renamed) or removed the file we
         * opened: only the file still at the partial's name is ours. */
        struct stat held, named;
        if (fstat (fd, &held) < 0)
            return wr_error_set (err, errno, "stat `%s/ingest/%s`", store->root, w->partial);
        if (fstatat (store->ingest_fd, w->partial, &named, AT_SYMLINK_NOFOLLOW) < 0 ||
            named.st_ino != held.st_ino || named.st_dev != held.st_dev)
            continue;
        if (!S_ISREG (held.st_mode))
            return wr_error_set (err, 0, "`%s/ingest/%s` is not a regular file", store->root,
                                 w->partial);
        if (wr_store_has_blob_size (store, w->digest, w->size)) {
            unlinkat (store->ingest_fd, w->partial, 0);
            return 1;
        }
        w->fd = steal_fd (&fd);
        return 0;
    }
}

wr_blob_writer_t *
wr_store_blob_writer (wr_store_t *store, const char *digest, int64_t size, int64_t *offset,
                      const wr_cancel_t *cancel, wr_error_t *err)
{
    if (wr_digest_validate (digest, err) < 0) {
        wr_error_prefix (err, "write a blob");
        return NULL;
    }
    wr_blob_writer_t *w = xzalloc (sizeof *w);
    w->store = store;
    w->fd = -1;
    w->size = size < 0 ? -1 : size;
    snprintf (w->digest, sizeof w->digest, "%s", digest);
    snprintf (w->partial, sizeof w->partial, "%s.partial", wr_digest_hex (digest));
    w->sha = wr_sha256_new ();

    int r = open_partial (w, cancel, err);
    if (r < 0)
        goto fail;
    if (r == 1) {
        struct stat st;
        if (fstatat (store->blobs_fd, wr_digest_hex (digest), &st, AT_SYMLINK_NOFOLLOW) < 0) {
            wr_error_set (err, errno, "stat `%s/blobs/sha256/%s`", store->root,
                          wr_digest_hex (digest));
            goto fail;
        }
        w->complete = true;
        w->size = w->written = st.st_size;
        *offset = w->written;
        return w;
    }
    struct stat st;
    if (fstat (w->fd, &st) < 0) {
        wr_error_set (err, errno, "stat `%s/ingest/%s`", store->root, w->partial);
        goto fail;
    }
    /* Longer than the blob: not a prefix of it, start again. */
    if (w->size >= 0 && st.st_size > w->size) {
        if (truncate_partial (w, err) < 0)
            goto fail;
    } else if (rehash_partial (w, err) < 0)
        goto fail;
    *offset = w->written;
    return w;

fail:
    wr_error_prefix (err, "write blob %s", digest);
    wr_blob_writer_free (w);
    return NULL;
}

int
wr_blob_writer_write (wr_blob_writer_t *w, const void *data, size_t len, wr_error_t *err)
{
    if (w->complete || w->committed || w->sha == NULL)
        return wr_error_set (err, 0, "blob %s: write after it was stored", w->digest);
    if (w->size >= 0 && (uint64_t) w->written + len > (uint64_t) w->size)
        return wr_error_set (err, EFBIG, "blob %s: more than its size of %lld bytes", w->digest,
                             (long long) w->size);
    cleanup_free char *path = xasprintf ("%s/ingest/%s", w->store->root, w->partial);
    if (wr_write_all (w->fd, data, len, path, err) < 0)
        return -1;
    wr_sha256_update (w->sha, data, len);
    w->written += (int64_t) len;
    return 0;
}

int
wr_blob_writer_restart (wr_blob_writer_t *w, wr_error_t *err)
{
    if (w->complete)
        return 0;
    if (w->committed)
        return wr_error_set (err, 0, "blob %s: restart after it was stored", w->digest);
    return truncate_partial (w, err);
}

int
wr_blob_writer_commit (wr_blob_writer_t *w, wr_error_t *err)
{
    wr_store_t *store = w->store;
    if (w->complete || w->committed)
        return 0;
    /* A short blob is kept: the download can resume. */
    if (w->size >= 0 && w->written != w->size)
        return wr_error_set (err, 0, "blob %s is truncated: %lld of %lld bytes", w->digest,
                             (long long) w->written, (long long) w->size);
    char actual[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_final (w->sha, actual);
    wr_sha256_free (w->sha);
    w->sha = NULL;
    if (strcmp (actual, w->digest) != 0) {
        unlinkat (store->ingest_fd, w->partial, 0);
        w->committed = true;
        return wr_error_set (err, 0, "blob %s: digest mismatch: the %lld bytes have digest %s",
                             w->digest, (long long) w->written, actual);
    }
    if (publish (store, w->fd, w->partial, wr_digest_hex (w->digest), err) < 0)
        return wr_error_prefix (err, "store blob %s", w->digest);
    w->committed = true;
    return 0;
}

void
wr_blob_writer_free (wr_blob_writer_t *w)
{
    if (w == NULL)
        return;
    if (w->fd >= 0)
        close (w->fd);
    wr_sha256_free (w->sha);
    free (w);
}
