/* The parallel blob fetcher: a pool of download threads, each blob
 * resumed where a partial download stopped, retried, checked by the
 * store, and optionally given to a tee as it arrives. */
#include "registry.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cleanup.h"
#include "digest.h"
#include "log.h"
#include "registry_private.h"
#include "xalloc.h"

/* ---- blobs ---- */

/* "bytes START-END/TOTAL": START, or -1. */
static long long
content_range_start (const char *value)
{
    long long start = -1;
    if (value == NULL || strncasecmp (value, "bytes ", 6) != 0)
        return -1;
    if (sscanf (value + 6, "%lld-", &start) != 1)
        return -1;
    return start;
}

/* A tee and whether its end was called. */
typedef struct {
    const wr_blob_tee_t *tee;
    atomic_bool ended;
} tee_state_t;

static void
tee_end (tee_state_t *t, bool ok)
{
    if (t != NULL && t->tee != NULL && !atomic_exchange (&t->ended, true))
        t->tee->end (t->tee->data, ok);
}

typedef struct {
    tee_state_t *tee; /* giving this blob's bytes to a tee, or NULL */
    int64_t tee_next; /* the offset of the next byte the tee expects */
    wr_blob_writer_t *writer;
    int64_t size;
    int64_t written; /* bytes the writer holds */
    int64_t range_from; /* asked from this offset; -1: whole blob */
    bool started; /* the first byte of this answer was seen */
    _Atomic int64_t *progress;
    const wr_http_response_t *response; /* of the request in progress */
} blob_sink_t;

static int
blob_sink (void *data, CURL *curl, const void *buf, size_t len, wr_error_t *err)
{
    blob_sink_t *b = data;
    if (!b->started) {
        long status = 0;
        b->started = true;
        curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
        if (status == 206) {
            /* Headers come before the body: check where these bytes go. */
            const char *cr = b->response->content_range;
            if (b->range_from < 0 || content_range_start (cr) != b->range_from)
                return wr_error_set (err, 0,
                                     "206 Partial Content from `%.80s` for a request from %" PRId64,
                                     cr ? cr : "(no Content-Range)", b->range_from);
        } else if (b->written > 0) {
            /* The whole blob again: the registry ignored the range. */
            if (wr_blob_writer_restart (b->writer, err) < 0)
                return -1;
            b->written = 0;
        }
    }
    if (b->tee != NULL && b->written != b->tee_next) {
        /* Bytes the tee was given come again, or some it was not given
         * were kept: it cannot follow. */
        tee_end (b->tee, false);
        b->tee = NULL;
    }
    if ((int64_t) len > b->size - b->written)
        return wr_error_set (err, 0, "the blob is larger than the %" PRId64 " bytes announced",
                             b->size);
    if (wr_blob_writer_write (b->writer, buf, len, err) < 0)
        return -1;
    if (b->tee != NULL) {
        if (b->tee->tee->write (b->tee->tee->data, buf, len) < 0) {
            tee_end (b->tee, false);
            b->tee = NULL;
        } else {
            b->tee_next += (int64_t) len;
        }
    }
    b->written += (int64_t) len;
    atomic_store (b->progress, b->written);
    return 0;
}

typedef struct {
    wr_registry_t *registry;
    const wr_image_ref_t *ref;
    const char *base_url;
    const char *host;
    const char *scope;
    wr_store_t *store;
    const wr_descriptor_t **todo;
    size_t n_todo;
    _Atomic int64_t *done;
    tee_state_t *tee;
    const wr_cancel_t *cancel; /* the call's; may be NULL */
    const wr_log_t *log; /* the call's, else the registry's */

    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t next;
    int running;
    atomic_bool failed;
    wr_error_t error;
} pool_t;

static bool
pool_cancelled (void *data)
{
    pool_t *pool = data;
    return atomic_load (&pool->failed);
}

/* Downloads one blob into the store, resuming and retrying. */
static int
fetch_blob (pool_t *pool, wr_session_t *s, const wr_descriptor_t *desc, _Atomic int64_t *done,
            wr_error_t *err)
{
    wr_registry_t *r = pool->registry;
    cleanup_free char *url = NULL;
    int64_t offset = 0;

    if (wr_digest_validate (desc->digest, err) < 0)
        return -1;
    if (desc->size < 0)
        return wr_error_set (err, 0, "blob %s: negative size %" PRId64, desc->digest, desc->size);
    url = xasprintf ("%s/v2/%s/blobs/%s", pool->base_url, pool->ref->repository, desc->digest);
    tee_state_t *tee = pool->tee != NULL && pool->tee->tee != NULL &&
                               strcmp (pool->tee->tee->digest, desc->digest) == 0
                           ? pool->tee
                           : NULL;
    if (wr_cancel_check (pool->cancel, url, err) < 0)
        return -1;
    if (wr_store_has_blob_size (pool->store, desc->digest, desc->size)) {
        tee_end (tee, false); /* nothing to give: the store has it */
        atomic_store (done, desc->size);
        return 0;
    }

    bool fresh_retry_done = false;
again:;
    wr_blob_writer_t *writer =
        wr_store_blob_writer (pool->store, desc->digest, desc->size, &offset, pool->cancel, err);
    if (writer == NULL)
        return wr_error_prefix (err, "GET %s", url);
    bool resumed = offset > 0;
    if (resumed) {
        wr_log_to (pool->log, WR_LOG_DEBUG, "resuming a download", "digest", desc->digest, NULL);
        tee_end (tee, false); /* the kept bytes were never given */
        tee = NULL;
    }
    blob_sink_t sink = {
        .tee = tee, .writer = writer, .size = desc->size, .written = offset, .progress = done
    };
    atomic_store (done, offset);

    for (int attempt = 0;;) {
        if (sink.written == desc->size)
            break;
        wr_http_response_t response;
        char range[64];
        sink.started = false;
        sink.response = &response;
        sink.range_from = sink.written > 0 ? sink.written : -1;
        if (sink.written > 0)
            snprintf (range, sizeof range, "Range: bytes=%" PRId64 "-", sink.written);
        wr_http_request_t request = {
            .url = url,
            .sink = blob_sink,
            .sink_data = &sink,
            .follow_redirects = true,
            .max_recv_speed = r->max_bytes_per_second,
        };
        const char *headers[] = { sink.written > 0 ? range : NULL, NULL };
        int rc = wr_session_send (s, &request, headers, &response, err);
        if (rc < 0) {
            bool transient = wr_http_failure_is_transient (&response);
            wr_http_response_clear (&response);
            if (!transient || attempt >= r->retries || atomic_load (&pool->failed)) {
                wr_blob_writer_free (writer);
                return -1;
            }
            wr_log_to (pool->log, WR_LOG_DEBUG, "retrying a blob", "digest", desc->digest, "error",
                       *err != NULL ? (*err)->message : "", NULL);
            wr_error_free (err);
            if (wr_registry_backoff (attempt++, NULL, pool->cancel) < 0) {
                wr_blob_writer_free (writer);
                return wr_cancel_check (pool->cancel, url, err);
            }
            continue;
        }
        long status = response.status;
        if (status == 200 || status == 206) {
            wr_http_response_clear (&response);
            if (sink.written == desc->size)
                break;
            /* A short answer: go on from where it stopped. */
            if (attempt >= r->retries) {
                wr_blob_writer_free (writer);
                return wr_error_set (
                    err, 0, "GET %s: the answer ended after %" PRId64 " of %" PRId64 " bytes", url,
                    sink.written, desc->size);
            }
            if (wr_registry_backoff (attempt++, NULL, pool->cancel) < 0) {
                wr_blob_writer_free (writer);
                return wr_cancel_check (pool->cancel, url, err);
            }
            continue;
        }
        if (status == 416 && sink.written > 0) {
            /* The range is past what the registry has: start again. */
            wr_http_response_clear (&response);
            if (wr_blob_writer_restart (writer, err) < 0 || attempt >= r->retries) {
                wr_blob_writer_free (writer);
                if (*err == NULL)
                    wr_error_set (err, 0, "GET %s: 416 Range Not Satisfiable", url);
                return -1;
            }
            sink.written = 0;
            attempt++;
            continue;
        }
        if (wr_http_status_is_transient (status) && attempt < r->retries) {
            int stopped = wr_registry_backoff (attempt++, response.retry_after, pool->cancel);
            wr_http_response_clear (&response);
            if (stopped < 0) {
                wr_blob_writer_free (writer);
                return wr_cancel_check (pool->cancel, url, err);
            }
            continue;
        }
        cleanup_free char *what = wr_http_describe (&response);
        wr_http_response_clear (&response);
        wr_blob_writer_free (writer);
        return wr_error_set_kind (err, wr_http_status_kind (status), 0, "GET %s: %s", url, what);
    }

    if (wr_blob_writer_commit (writer, err) < 0) {
        wr_blob_writer_free (writer);
        /* A partial kept from an earlier run may be what was wrong: the
         * store threw it away, so try once more from the start. */
        if (resumed && !fresh_retry_done) {
            wr_log_to (pool->log, WR_LOG_WARN,
                       "a resumed download did not match its digest; starting again", "digest",
                       desc->digest, "error", (*err)->message, NULL);
            wr_error_free (err);
            fresh_retry_done = true;
            offset = 0;
            goto again;
        }
        return wr_error_prefix (err, "GET %s", url);
    }
    wr_blob_writer_free (writer);
    /* Every byte given, and the blob is in the store, checked. */
    tee_end (sink.tee, sink.tee != NULL && sink.tee_next == desc->size);
    atomic_store (done, desc->size);
    return 0;
}

static void *
pool_worker (void *data)
{
    pool_t *pool = data;
    wr_session_t s = {
        .registry = pool->registry,
        .curl = wr_registry_take_handle (pool->registry),
        .base_url = pool->base_url,
        .host = pool->host,
        .scope = pool->scope,
        .https_redirects_only = strncmp (pool->base_url, "https:", 6) == 0,
        .cancelled = pool_cancelled,
        .cancel_data = pool,
        .cancel = pool->cancel,
        .log = pool->log,
    };
    for (;;) {
        pthread_mutex_lock (&pool->lock);
        size_t i = pool->next++;
        pthread_mutex_unlock (&pool->lock);
        if (i >= pool->n_todo || atomic_load (&pool->failed))
            break;
        wr_error_t err = NULL;
        if (fetch_blob (pool, &s, pool->todo[i], &pool->done[i], &err) < 0) {
            pthread_mutex_lock (&pool->lock);
            /* The first error is the one to report: later ones are mostly
             * "cancelled" because of it. */
            if (pool->error == NULL && !atomic_load (&pool->failed))
                pool->error = err;
            else
                wr_error_free (&err);
            atomic_store (&pool->failed, true);
            pthread_mutex_unlock (&pool->lock);
            break;
        }
    }
    wr_registry_give_handle (pool->registry, s.curl);
    pthread_mutex_lock (&pool->lock);
    pool->running--;
    pthread_cond_signal (&pool->cond);
    pthread_mutex_unlock (&pool->lock);
    return NULL;
}

static void
report_progress (pool_t *pool, int64_t *reported, wr_registry_progress_fn progress, void *data)
{
    if (progress == NULL)
        return;
    for (size_t i = 0; i < pool->n_todo; i++) {
        int64_t now = atomic_load (&pool->done[i]);
        if (now >= 0 && now != reported[i]) {
            reported[i] = now;
            progress (data, pool->todo[i]->digest, now, pool->todo[i]->size);
        }
    }
}

static int
fetch_blobs (wr_registry_t *registry, const wr_registry_call_t *call, const wr_image_ref_t *ref,
             const wr_descriptor_t *const *blobs, size_t count, wr_store_t *store,
             wr_registry_progress_fn progress, void *progress_data, tee_state_t *tee,
             wr_error_t *err)
{
    cleanup_free char *base_url = NULL;
    cleanup_free char *host = NULL;
    cleanup_free char *scope = NULL;
    cleanup_free const wr_descriptor_t **todo = NULL;
    cleanup_free _Atomic int64_t *done = NULL;
    cleanup_free int64_t *reported = NULL;
    cleanup_free pthread_t *threads = NULL;
    size_t n = 0;

    if (count == 0)
        return 0;
    if (wr_registry_check_repository (ref->repository, err) < 0)
        return wr_error_prefix (err, "blobs of %s", ref->registry);
    /* Each digest once: two workers must not write the same blob. */
    todo = xmalloc (count * sizeof *todo);
    for (size_t i = 0; i < count; i++) {
        if (wr_digest_validate (blobs[i]->digest, err) < 0)
            return wr_error_prefix (err, "blobs of %s/%s", ref->registry, ref->repository);
        bool seen = false;
        for (size_t j = 0; j < n && !seen; j++)
            seen = strcmp (todo[j]->digest, blobs[i]->digest) == 0;
        if (!seen)
            todo[n++] = blobs[i];
    }
    if (wr_registry_base_url (ref->registry, registry->mirror,
                              (const char *const *) registry->insecure, &base_url, &host, err) < 0)
        return -1;
    scope = xasprintf ("repository:%s:pull", ref->repository);

    done = xzalloc (n * sizeof *done);
    reported = xmalloc (n * sizeof *reported);
    /* -1 until a worker takes the blob (and knows how much was kept). */
    for (size_t i = 0; i < n; i++) {
        reported[i] = -1;
        atomic_init (&done[i], -1);
    }
    pool_t pool = {
        .registry = registry,
        .ref = ref,
        .base_url = base_url,
        .host = host,
        .scope = scope,
        .store = store,
        .todo = todo,
        .n_todo = n,
        .done = done,
        .tee = tee,
        .cancel = call != NULL ? call->cancel : NULL,
        .log = call != NULL && call->log != NULL ? call->log : registry->log,
    };
    pthread_mutex_init (&pool.lock, NULL);
    pthread_cond_init (&pool.cond, NULL);
    atomic_init (&pool.failed, false);

    size_t n_threads = (size_t) registry->max_parallel < n ? (size_t) registry->max_parallel : n;
    threads = xmalloc (n_threads * sizeof *threads);
    size_t started = 0;
    pthread_mutex_lock (&pool.lock);
    for (; started < n_threads; started++) {
        if (pthread_create (&threads[started], NULL, pool_worker, &pool) != 0)
            break;
        pool.running++;
    }
    pthread_mutex_unlock (&pool.lock);
    if (started == 0) {
        pthread_mutex_destroy (&pool.lock);
        pthread_cond_destroy (&pool.cond);
        return wr_error_set (err, errno, "start a download thread");
    }

    /* Progress is reported from this thread, so callers need no locks. */
    pthread_mutex_lock (&pool.lock);
    while (pool.running > 0) {
        struct timespec deadline;
        clock_gettime (CLOCK_REALTIME, &deadline);
        deadline.tv_nsec += 100 * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait (&pool.cond, &pool.lock, &deadline);
        pthread_mutex_unlock (&pool.lock);
        report_progress (&pool, reported, progress, progress_data);
        pthread_mutex_lock (&pool.lock);
    }
    pthread_mutex_unlock (&pool.lock);
    for (size_t i = 0; i < started; i++)
        pthread_join (threads[i], NULL);
    report_progress (&pool, reported, progress, progress_data);

    pthread_mutex_destroy (&pool.lock);
    pthread_cond_destroy (&pool.cond);
    if (pool.error != NULL) {
        wr_error_free (err);
        if (err != NULL)
            *err = pool.error;
        else
            wr_error_free (&pool.error);
        return -1;
    }
    return 0;
}

int
wr_registry_fetch_blobs_call (wr_registry_t *registry, const wr_registry_call_t *call,
                              const wr_image_ref_t *ref, const wr_descriptor_t *const *blobs,
                              size_t count, wr_store_t *store, wr_registry_progress_fn progress,
                              void *progress_data, const wr_blob_tee_t *tee, wr_error_t *err)
{
    tee_state_t state = { .tee = tee };
    atomic_init (&state.ended, false);
    int r = fetch_blobs (registry, call, ref, blobs, count, store, progress, progress_data,
                         tee != NULL ? &state : NULL, err);
    /* Whatever happened (a failure, a blob not in the list): ended once. */
    tee_end (&state, false);
    return r;
}

int
wr_registry_fetch_blobs_tee (wr_registry_t *registry, const wr_image_ref_t *ref,
                             const wr_descriptor_t *const *blobs, size_t count, wr_store_t *store,
                             wr_registry_progress_fn progress, void *progress_data,
                             const wr_blob_tee_t *tee, wr_error_t *err)
{
    return wr_registry_fetch_blobs_call (registry, NULL, ref, blobs, count, store, progress,
                                         progress_data, tee, err);
}

int
wr_registry_fetch_blobs (wr_registry_t *registry, const wr_image_ref_t *ref,
                         const wr_descriptor_t *const *blobs, size_t count, wr_store_t *store,
                         wr_registry_progress_fn progress, void *progress_data, wr_error_t *err)
{
    return wr_registry_fetch_blobs_tee (registry, ref, blobs, count, store, progress, progress_data,
                                        NULL, err);
}
