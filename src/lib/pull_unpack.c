#include "pull_unpack.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "strv.h"
#include "unpack.h"
#include "xalloc.h"

/* How often a waiting unpack looks for its next layer (a stat). */
#define POLL_MS 20

struct wr_pull_unpack_s {
    wr_store_t *store;
    const wr_manifest_t *manifest;
    char **layers; /* blob paths, lowest first */
    char **diff_ids;
    char *root_path;
    pthread_t thread;

    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool fetch_done, fetch_ok;

    int result;
    wr_error_t error;
};

static bool
is_directory (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

/* layer_ready of the unpack: returns when layer INDEX is in the store, or
 * with an error once the downloads are over without it. */
static int
layer_ready (void *data, size_t index, wr_error_t *err)
{
    wr_pull_unpack_t *u = data;
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
        .layer_ready = layer_ready,
        .layer_ready_data = u,
    };
    u->result = wr_unpack_root ((const char *const *) u->layers, (const char *const *) u->diff_ids,
                                u->root_path, &options, &u->error);
    return NULL;
}

wr_pull_unpack_t *
wr_pull_unpack_start (wr_store_t *store, const wr_manifest_t *manifest, char *const *diff_ids,
                      const char *root_path, wr_error_t *err)
{
    wr_pull_unpack_t *u = xzalloc (sizeof *u);
    u->store = store;
    u->manifest = manifest;
    for (size_t i = 0; i < manifest->n_layers; i++)
        wr_strv_add_take (&u->layers, wr_store_blob_path (store, manifest->layers[i].digest));
    for (size_t i = 0; diff_ids != NULL && diff_ids[i] != NULL; i++)
        wr_strv_add (&u->diff_ids, diff_ids[i]);
    u->root_path = xstrdup (root_path);
    pthread_mutex_init (&u->lock, NULL);
    pthread_cond_init (&u->changed, NULL);
    int r = pthread_create (&u->thread, NULL, run, u);
    if (r != 0) {
        wr_error_set (err, r, "start the unpacking thread");
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

int
wr_pull_unpack_finish (wr_pull_unpack_t *u, bool fetch_ok, wr_error_t *err)
{
    pthread_mutex_lock (&u->lock);
    u->fetch_done = true;
    u->fetch_ok = fetch_ok;
    pthread_cond_broadcast (&u->changed);
    pthread_mutex_unlock (&u->lock);
    pthread_join (u->thread, NULL);

    int r = u->result;
    if (r < 0 && is_directory (u->root_path)) {
        /* Another pull of an image with the same layers made it
         * meanwhile: the rename of its finished root won. */
        wr_log (WR_LOG_INFO, "root unpacked by another pull", "root", u->root_path, NULL);
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
