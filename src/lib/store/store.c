/* The image store: opening it, its directories, paths and the store lock.
 * Blobs are in store_blob.c, the database in store_db.c, garbage collection
 * in store_gc.c. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "fs.h"
#include "log.h"
#include "quote.h"
#include "store_private.h"
#include "xalloc.h"

/* Opens (creating it 0700 when missing) the directory NAME under DIR_FD,
 * refusing a symlink in its place. */
static int
open_subdir (int dir_fd, const char *root, const char *name, wr_error_t *err)
{
    if (mkdirat (dir_fd, name, 0700) < 0 && errno != EEXIST)
        return wr_error_set (err, errno, "mkdir `%s/%s`", root, name);
    int fd = openat (dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return wr_error_set (err, errno, "open `%s/%s`", root, name);
    return fd;
}

static int
open_dirs (wr_store_t *store, wr_error_t *err)
{
    const char *root = store->root;
    store->root_fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (store->root_fd < 0)
        return wr_error_set (err, errno, "open `%s`", root);
    cleanup_close int blobs_fd = open_subdir (store->root_fd, root, "blobs", err);
    if (blobs_fd < 0)
        return -1;
    cleanup_free char *blobs = xasprintf ("%s/blobs", root);
    store->blobs_fd = open_subdir (blobs_fd, blobs, "sha256", err);
    if (store->blobs_fd < 0)
        return -1;
    store->ingest_fd = open_subdir (store->root_fd, root, "ingest", err);
    if (store->ingest_fd < 0)
        return -1;
    store->roots_fd = open_subdir (store->root_fd, root, "roots", err);
    if (store->roots_fd < 0)
        return -1;
    return 0;
}

wr_store_t *
wr_store_open (const char *root, wr_error_t *err)
{
    if (root == NULL || root[0] == '\0') {
        wr_error_set (err, 0, "open the image store: no directory given");
        return NULL;
    }
    if (wr_mkdir_p (root, 0700, err) < 0) {
        wr_error_prefix (err, "open the image store `%s`", root);
        return NULL;
    }
    wr_store_t *store = xzalloc (sizeof *store);
    store->root = xstrdup (root);
    store->root_fd = store->blobs_fd = store->ingest_fd = store->roots_fd = -1;
    pthread_mutex_init (&store->db_lock, NULL);
    if (open_dirs (store, err) < 0 || wr_store_db_open (store, err) < 0) {
        wr_error_prefix (err, "open the image store `%s`", root);
        wr_store_close (store);
        return NULL;
    }
    return store;
}

void
wr_store_close (wr_store_t *store)
{
    if (store == NULL)
        return;
    wr_store_db_close (store);
    int fds[] = { store->root_fd, store->blobs_fd, store->ingest_fd, store->roots_fd };
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close (fds[i]);
    pthread_mutex_destroy (&store->db_lock);
    free (store->root);
    free (store);
}

const char *
wr_store_path (wr_store_t *store)
{
    return store->root;
}

void
wr_store_set_log (wr_store_t *store, const wr_log_t *log)
{
    store->log = log;
}

char *
wr_store_blob_path (wr_store_t *store, const char *digest, wr_error_t *err)
{
    if (wr_digest_validate (digest, err) < 0) {
        wr_error_prefix (err, "the path of a blob");
        return NULL;
    }
    return xasprintf ("%s/blobs/sha256/%s", store->root, wr_digest_hex (digest));
}

bool
wr_store_root_id_valid (const char *root_id)
{
    if (root_id == NULL || strlen (root_id) != WR_DIGEST_SHA256_HEX_LEN)
        return false;
    for (const char *p = root_id; *p != '\0'; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

char *
wr_store_root_path (wr_store_t *store, const char *root_id, wr_error_t *err)
{
    if (!wr_store_root_id_valid (root_id)) {
        cleanup_free char *quoted = wr_quote (root_id, 80);
        wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                           "the path of a root: root id `%s` is not 64 lowercase hex digits",
                           quoted);
        return NULL;
    }
    return xasprintf ("%s/roots/%s", store->root, root_id);
}

static int
store_lock (wr_store_t *store, int operation, const char *how, wr_error_t *err)
{
    cleanup_close int fd =
        openat (store->root_fd, "store.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return wr_error_set (err, errno, "open `%s/store.lock`", store->root);
    if (flock (fd, operation | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK && errno != EINTR)
            return wr_error_set (err, errno, "lock `%s/store.lock` %s", store->root, how);
        wr_log_to (store->log, WR_LOG_INFO,
                   operation == LOCK_EX ? "waiting for pulls into the image store to finish"
                                        : "waiting for a prune of the image store to finish",
                   "store", store->root, NULL);
        while (flock (fd, operation) < 0)
            if (errno != EINTR)
                return wr_error_set (err, errno, "lock `%s/store.lock` %s", store->root, how);
    }
    return steal_fd (&fd);
}

int
wr_store_lock_shared (wr_store_t *store, wr_error_t *err)
{
    return store_lock (store, LOCK_SH, "shared", err);
}

int
wr_store_lock_exclusive (wr_store_t *store, wr_error_t *err)
{
    return store_lock (store, LOCK_EX, "exclusively", err);
}

void
wr_store_unlock (int lock_fd)
{
    if (lock_fd >= 0)
        close (lock_fd);
}
