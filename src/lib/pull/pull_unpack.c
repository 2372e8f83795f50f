#include "pull_unpack.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"
#include "log.h"
#include "strv.h"
#include "unpack.h"
#include "xalloc.h"

/* How often a waiting unpack looks for its next layer (a stat). */
#define POLL_MS 20
/* Socket buffers between the download and the unpack of the lowest layer. */
#define STREAM_BUFFER (1024 * 1024)

struct wr_pull_unpack_s {
    wr_store_t *store;
    const wr_manifest_t *manifest;
    char **layers; /* blob paths, lowest first */
    char **diff_ids;
    char *root_path;
    wr_unpack_limits_t limits;
    const wr_log_t *log;
    const wr_cancel_t *cancel;
    pthread_t thread;

    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool fetch_done, fetch_ok;

    /* The lowest layer as it downloads: the download thread writes to
     * tee_fd (through the tee), the unpack reads stream_fd. */
    wr_blob_tee_t tee;
    int tee_fd, stream_fd;
    bool streamed; /* the unpack took stream_fd */
    bool tee_ok; /* the tee's end: every byte given, the blob checked */
    size_t bytes_streamed; /* written by the download thread, read after fetch_done */

    int result;
    wr_error_t error;
};

/* The tee's write: to the socket the unpack reads (blocking: a slower
 * unpack slows this layer's download down). */
static int
tee_write (void *data, const void *buf, size_t len)
{
    wr_pull_unpack_t *u = data;
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send (u->tee_fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1; /* the unpack stopped reading */
        p += n;
        len -= (size_t) n;
        u->bytes_streamed += (size_t) n;
    }
    return 0;
}

static void
close_tee_locked (wr_pull_unpack_t *u)
{
    if (u->tee_fd >= 0) {
        close (u->tee_fd);
        u->tee_fd = -1;
    }
}

static void
tee_end (void *data, bool ok)
{
    wr_pull_unpack_t *u = data;
    pthread_mutex_lock (&u->lock);
    u->tee_ok = ok;
    /* Set before the close: the unpack sees the end of its stream after. */
    close_tee_locked (u);
    pthread_mutex_unlock (&u->lock);
}

/* Called once the unpack has applied layer INDEX: a layer read as it
 * downloaded counts only when its download ended whole and checked. */
static int
layer_done (void *data, size_t index, wr_error_t *err)
{
    wr_pull_unpack_t *u = data;
    if (index != 0 || !u->streamed)
        return 0;
    pthread_mutex_lock (&u->lock);
    bool ok = u->tee_ok;
    pthread_mutex_unlock (&u->lock);
    if (!ok)
        return wr_error_set (err, 0, "layer %s: its download did not end as it was read",
                             u->manifest->layers[0].digest);
    return 0;
}

/* layer_source of the unpack: the lowest layer from the download when it
 * is streamed, else the file, once layer INDEX is in the store (an error
 * once the downloads are over without it). */
static int
layer_source (void *data, size_t index, int *fd, wr_error_t *err)
{
    wr_pull_unpack_t *u = data;
    *fd = -1;
    if (index == 0 && u->stream_fd >= 0) {
        *fd = steal_fd (&u->stream_fd);
        u->streamed = true;
        return 0;
    }
    const wr_descriptor_t *layer = &u->manifest->layers[index];
    pthread_mutex_lock (&u->lock);
    for (;;) {
        bool done = u->fetch_done, ok = u->fetch_ok;
        /* Asked after reading the flags: a blob committed before the
         * downloads were declared over is seen. */
        if (wr_store_has_blob_size (u->store, layer->digest, layer->size)) {
            pthread_mutex_unlock (&u->lock);
            return 0;
        }
        /* Looked at every POLL_MS: a cancelled pull does not wait on. */
        if (wr_cancel_check (u->cancel, NULL, err) < 0) {
            pthread_mutex_unlock (&u->lock);
            return wr_error_prefix (err, "layer %s: waiting for its download", layer->digest);
        }
        if (done) {
            pthread_mutex_unlock (&u->lock);
            return wr_error_set (err, ECANCELED, "layer %s: %s", layer->digest,
                                 ok ? "not in the store after the downloads"
                                    : "its download failed");
        }
        struct timespec until;
        clock_gettime (CLOCK_REALTIME, &until);
        until.tv_nsec += POLL_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait (&u->changed, &u->lock, &until);
    }
}

static void *
run (void *data)
{
    wr_pull_unpack_t *u = data;
    wr_unpack_options_t options = {
        .keep_owners = geteuid () == 0,
        .limits = u->limits,
        .layer_source = layer_source,
        .layer_done = layer_done,
        .layer_data = u,
        .log = u->log,
        .cancel = u->cancel,
    };
    u->result = wr_unpack_root ((const char *const *) u->layers, (const char *const *) u->diff_ids,
                                u->root_path, &options, &u->error);
    /* Not taken (the unpack stopped first): closed, so that the download
     * is not left writing to a socket nobody reads. */
    if (u->stream_fd >= 0) {
        close (u->stream_fd);
        u->stream_fd = -1;
    }
    if (u->result < 0 && u->streamed && !wr_is_directory (u->root_path)) {
        /* Reading the lowest layer as it came did not work out (its download
         * started over, or broke): once the downloads are over, the layers
         * are in the store and the unpack is made again from them. */
        pthread_mutex_lock (&u->lock);
        while (!u->fetch_done)
            pthread_cond_wait (&u->changed, &u->lock);
        bool fetch_ok = u->fetch_ok, tee_ok = u->tee_ok;
        size_t streamed = u->bytes_streamed;
        pthread_mutex_unlock (&u->lock);
        /* Only when the stream was what failed: a stream that ended whole
         * and checked leaves the unpack's own error (a full disk, a hostile
         * layer) as the answer. */
        /* The unpack gave the stream up to wait for another one (unpack_root.c). */
        bool given_up = u->error != NULL && u->error->errno_value == EAGAIN &&
                        wr_error_kind (u->error) == WR_ERROR_UNAVAILABLE;
        if (fetch_ok && (!tee_ok || given_up) && !wr_cancel_stopped (u->cancel)) {
            if (streamed == 0)
                wr_log_to (u->log, WR_LOG_DEBUG,
                           "the lowest layer was not streamed (a download resumed)", "root",
                           u->root_path, NULL);
            else
                wr_log_to (u->log, WR_LOG_INFO, "unpacking again from the stored layers", "root",
                           u->root_path, "after", u->error != NULL ? u->error->message : "", NULL);
            wr_error_free (&u->error);
            u->streamed = false;
            u->result =
                wr_unpack_root ((const char *const *) u->layers, (const char *const *) u->diff_ids,
                                u->root_path, &options, &u->error);
        }
    }
    return NULL;
}

wr_pull_unpack_t *
wr_pull_unpack_start (wr_store_t *store, const wr_manifest_t *manifest, char *const *diff_ids,
                      const char *root_path, bool stream_lowest, const wr_unpack_limits_t *limits,
                      const wr_log_t *log, const wr_cancel_t *cancel, wr_error_t *err)
{
    cleanup_strv char **layers = NULL;
    for (size_t i = 0; i < manifest->n_layers; i++) {
        char *layer = wr_store_blob_path (store, manifest->layers[i].digest, err);
        if (layer == NULL)
            return NULL;
        wr_strv_add_take (&layers, layer);
    }
    wr_pull_unpack_t *u = xzalloc (sizeof *u);
    u->log = log;
    u->cancel = cancel;
    if (limits != NULL)
        u->limits = *limits;
    u->store = store;
    u->manifest = manifest;
    u->tee_fd = u->stream_fd = -1;
    int pair[2];
    if (stream_lowest && manifest->n_layers > 0 &&
        socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0) {
        int size = STREAM_BUFFER;
        setsockopt (pair[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        setsockopt (pair[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        u->tee_fd = pair[0];
        u->stream_fd = pair[1];
        u->tee = (wr_blob_tee_t){
            .digest = manifest->layers[0].digest,
            .write = tee_write,
            .end = tee_end,
            .data = u,
        };
    }
    u->layers = steal_pointer (&layers);
    for (size_t i = 0; diff_ids != NULL && diff_ids[i] != NULL; i++)
        wr_strv_add (&u->diff_ids, diff_ids[i]);
    u->root_path = xstrdup (root_path);
    pthread_mutex_init (&u->lock, NULL);
    pthread_cond_init (&u->changed, NULL);
    int r = pthread_create (&u->thread, NULL, run, u);
    if (r != 0) {
        wr_error_set (err, r, "start the unpacking thread");
        if (u->tee_fd >= 0)
            close (u->tee_fd);
        if (u->stream_fd >= 0)
            close (u->stream_fd);
        pthread_cond_destroy (&u->changed);
        pthread_mutex_destroy (&u->lock);
        wr_strv_free (u->layers);
        wr_strv_free (u->diff_ids);
        free (u->root_path);
        free (u);
        return NULL;
    }
    return u;
}

const wr_blob_tee_t *
wr_pull_unpack_tee (wr_pull_unpack_t *u)
{
    return u->tee.write != NULL ? &u->tee : NULL;
}

int
wr_pull_unpack_finish (wr_pull_unpack_t *u, bool fetch_ok, wr_error_t *err)
{
    pthread_mutex_lock (&u->lock);
    /* A tee the downloads never ended (they did not run): the stream ends
     * here, unfinished. */
    close_tee_locked (u);
    u->fetch_done = true;
    u->fetch_ok = fetch_ok;
    pthread_cond_broadcast (&u->changed);
    pthread_mutex_unlock (&u->lock);
    pthread_join (u->thread, NULL);

    int r = u->result;
    if (r < 0 && wr_is_directory (u->root_path)) {
        /* Another pull of an image with the same layers made it
         * meanwhile: the rename of its finished root won. */
        wr_log_to (u->log, WR_LOG_INFO, "root unpacked by another pull", "root", u->root_path,
                   NULL);
        r = 0;
    } else if (r < 0 && fetch_ok && err != NULL) {
        *err = steal_pointer (&u->error);
    }
    wr_error_free (&u->error);
    pthread_cond_destroy (&u->changed);
    pthread_mutex_destroy (&u->lock);
    wr_strv_free (u->layers);
    wr_strv_free (u->diff_ids);
    free (u->root_path);
    free (u);
    return r;
}
