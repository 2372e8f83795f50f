/* The registry mirror warrend serves to the nested dockerd of every
 * sandbox (docs/registries.md, "The mirror for sandboxes").
 *
 * The agent in a sandbox offers dockerd a registry mirror on a loopback
 * port and relays each connection to warrend; warrend runs
 * wr_mirror_serve on the byte stream of each.  The mirror answers the
 * read side of the distribution API (GET and HEAD of /v2/, manifests and
 * blobs) for the images of one upstream registry (docker.io: what
 * dockerd asks a mirror for), fetched with warrend's registry client, its
 * credentials and its docker.io mirror, into warrend's content store: so
 * every blob is fetched once for all sandboxes, and the credentials never
 * enter a sandbox.
 *
 * Manifests by tag are resolved upstream every time (a tag moves); by
 * digest, and blobs, come from the store when the mirror has seen them
 * in a manifest of that repository that upstream gave it.  A blob it has
 * not seen so is refused (404 BLOB_UNKNOWN): a sandbox cannot read a blob
 * of another registry's (private) image out of the store by its digest,
 * and the mirror knows the size it must have. */
#ifndef WARREN_MIRROR_H
#define WARREN_MIRROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cancel.h"
#include "error.h"
#include "log.h"
#include "registry.h"
#include "store.h"

/* One connection's byte stream: a socket, or a stream the agent relays.
 * READ returns the bytes read (0 at the end of the stream), WRITE the
 * bytes written (at least 1); both -1 with errno on failure. */
typedef struct {
    ssize_t (*read) (void *data, void *buf, size_t len);
    ssize_t (*write) (void *data, const void *buf, size_t len);
    void *data;
} wr_mirror_conn_t;

/* A connection over the connected descriptor FD (a socket or a pipe's
 * pair; not closed by the mirror).  Writes do not raise SIGPIPE on a
 * socket. */
wr_mirror_conn_t wr_mirror_conn_fd (int fd);

typedef struct {
    wr_registry_t *registry; /* the upstream client (its docker_io_mirror, credentials) */
    wr_store_t *store;
    const char *upstream; /* the registry whose images are served; NULL: "docker.io" */
    const wr_log_t *log; /* NULL: the standard log */
    const wr_cancel_t *cancel; /* stops every request (warrend stopping); may be NULL */
    /* Deadlines of one upstream request (0: the defaults, 60 s and 30 min):
     * a manifest; a blob's download, including waiting for another
     * connection's download of it. */
    int64_t manifest_deadline_ms;
    int64_t blob_deadline_ms;
    /* (repository, digest) pairs remembered (0: 65536); the oldest are
     * forgotten first. */
    size_t max_known;
} wr_mirror_options_t;

typedef struct wr_mirror_s wr_mirror_t;

/* OPTIONS->registry and ->store must outlive the mirror. */
wr_mirror_t *wr_mirror_new (const wr_mirror_options_t *options, wr_error_t *err);
void wr_mirror_free (wr_mirror_t *mirror);

/* Serves the requests of CONN, one after the other (keep-alive), until the
 * client ends the stream, a request or an answer closes it, or CANCEL (the
 * connection's, or the sandbox's; may be NULL) stops an upstream request.
 * LOG (may be NULL: the mirror's) gives the lines their sandbox's fields.
 * Thread-safe: connections are served on threads of their own.  0 when the
 * connection ended as HTTP says; -1 with *ERR on a read or write error. */
int wr_mirror_serve (wr_mirror_t *mirror, const wr_mirror_conn_t *conn, const wr_log_t *log,
                     const wr_cancel_t *cancel, wr_error_t *err);

/* Counters since wr_mirror_new, for metrics. */
typedef struct {
    uint64_t connections;
    uint64_t requests; /* every request answered, refused ones too */
    uint64_t manifests_upstream; /* manifests fetched from upstream */
    uint64_t manifests_from_store;
    uint64_t blobs_from_store; /* in the store already, or downloaded by another request */
    uint64_t blobs_fetched; /* downloaded from upstream by the request */
    uint64_t bytes_served; /* bodies of manifests and blobs */
    uint64_t client_errors; /* 4xx answers */
    uint64_t upstream_errors; /* 5xx answers */
} wr_mirror_stats_t;
void wr_mirror_stats (wr_mirror_t *mirror, wr_mirror_stats_t *stats);

#endif
