/* See mirror.h: the connection loop, the answers, and the handlers of the
 * three routes.  Requests are parsed by mirror_request.c; what upstream
 * vouched for is remembered by mirror_known.c. */
#include "mirror.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "image_ref.h"
#include "json_reader.h"
#include "manifest.h"
#include "mirror_known.h"
#include "mirror_request.h"
#include "quote.h"
#include "xalloc.h"

#define DEFAULT_MANIFEST_DEADLINE_MS (60 * 1000)
#define DEFAULT_BLOB_DEADLINE_MS (30 * 60 * 1000)
#define DEFAULT_MAX_KNOWN 65536
#define BUF_SIZE (WR_MIRROR_MAX_HEAD + 2)
#define CHUNK (256 * 1024)

struct wr_mirror_s {
    wr_registry_t *registry;
    wr_store_t *store;
    char *upstream;
    const wr_log_t *log;
    const wr_cancel_t *cancel;
    int64_t manifest_deadline_ms, blob_deadline_ms;
    wr_mirror_known_t *known;
    _Atomic uint64_t connections, requests, manifests_upstream, manifests_from_store,
        blobs_from_store, blobs_fetched, bytes_served, client_errors, upstream_errors;
};

/* ---- the fd adapter ---- */

static ssize_t
fd_read (void *data, void *buf, size_t len)
{
    int fd = (int) (intptr_t) data;
    ssize_t n;
    do
        n = read (fd, buf, len);
    while (n < 0 && errno == EINTR);
    return n;
}

static ssize_t
fd_write (void *data, const void *buf, size_t len)
{
    int fd = (int) (intptr_t) data;
    ssize_t n;
    do
        n = send (fd, buf, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno == ENOTSOCK) {
        do
            n = write (fd, buf, len);
        while (n < 0 && errno == EINTR);
    }
    return n;
}

wr_mirror_conn_t
wr_mirror_conn_fd (int fd)
{
    return (wr_mirror_conn_t){ .read = fd_read, .write = fd_write, .data = (void *) (intptr_t) fd };
}

/* ---- the mirror ---- */

wr_mirror_t *
wr_mirror_new (const wr_mirror_options_t *options, wr_error_t *err)
{
    if (options == NULL || options->registry == NULL || options->store == NULL) {
        wr_error_set (err, 0, "registry mirror: a registry client and a store are needed");
        return NULL;
    }
    if (options->manifest_deadline_ms < 0 || options->blob_deadline_ms < 0) {
        wr_error_set (err, 0, "registry mirror: a deadline is negative");
        return NULL;
    }
    wr_mirror_t *m = xzalloc (sizeof *m);
    m->registry = options->registry;
    m->store = options->store;
    m->upstream = xstrdup (options->upstream != NULL ? options->upstream : WR_DOCKER_HUB);
    m->log = options->log;
    m->cancel = options->cancel;
    m->manifest_deadline_ms = options->manifest_deadline_ms > 0 ? options->manifest_deadline_ms
                                                                : DEFAULT_MANIFEST_DEADLINE_MS;
    m->blob_deadline_ms =
        options->blob_deadline_ms > 0 ? options->blob_deadline_ms : DEFAULT_BLOB_DEADLINE_MS;
    m->known =
        wr_mirror_known_new (options->max_known > 0 ? options->max_known : DEFAULT_MAX_KNOWN);
    return m;
}

void
wr_mirror_free (wr_mirror_t *m)
{
    if (m == NULL)
        return;
    wr_mirror_known_free (m->known);
    free (m->upstream);
    free (m);
}

void
wr_mirror_stats (wr_mirror_t *m, wr_mirror_stats_t *s)
{
    *s = (wr_mirror_stats_t){
        .connections = atomic_load (&m->connections),
        .requests = atomic_load (&m->requests),
        .manifests_upstream = atomic_load (&m->manifests_upstream),
        .manifests_from_store = atomic_load (&m->manifests_from_store),
        .blobs_from_store = atomic_load (&m->blobs_from_store),
        .blobs_fetched = atomic_load (&m->blobs_fetched),
        .bytes_served = atomic_load (&m->bytes_served),
        .client_errors = atomic_load (&m->client_errors),
        .upstream_errors = atomic_load (&m->upstream_errors),
    };
}

/* ---- answers ---- */

typedef struct {
    wr_mirror_t *m;
    const wr_mirror_conn_t *conn;
    const wr_log_t *log;
    const wr_cancel_t *cancel;
    wr_error_t io_error; /* the first write that failed: the connection is gone */
    const wr_mirror_request_t *req;
    int status; /* of the answer, for the request's log line */
} conn_t;

static int
write_all (conn_t *c, const void *data, size_t len)
{
    const char *p = data;
    if (c->io_error != NULL)
        return -1;
    while (len > 0) {
        ssize_t n = c->conn->write (c->conn->data, p, len);
        if (n <= 0)
            return wr_error_set_kind (&c->io_error, WR_ERROR_UNAVAILABLE, n < 0 ? errno : EPIPE,
                                      "registry mirror: write an answer");
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

static const char *
reason (int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 414:
        return "URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Internal Server Error";
    }
}

/* The status line and headers (EXTRA: more "Name: value\r\n" lines). */
static int
send_head (conn_t *c, int status, int64_t length, const char *extra, bool close)
{
    cleanup_free char *head =
        xasprintf ("HTTP/1.1 %d %s\r\nContent-Length: %" PRId64
                   "\r\nDocker-Distribution-API-Version: registry/2.0\r\n%s%s\r\n",
                   status, reason (status), length, extra != NULL ? extra : "",
                   close ? "Connection: close\r\n" : "");
    c->status = status;
    if (status >= 400 && status < 500)
        atomic_fetch_add (&c->m->client_errors, 1);
    else if (status >= 500)
        atomic_fetch_add (&c->m->upstream_errors, 1);
    return write_all (c, head, strlen (head));
}

/* A small body, omitted for HEAD. */
static int
send_answer (conn_t *c, int status, const char *extra, const char *body, size_t len, bool close)
{
    if (send_head (c, status, (int64_t) len, extra, close) < 0)
        return -1;
    if (c->req != NULL && strcmp (c->req->method, "HEAD") == 0)
        return 0;
    return write_all (c, body, len);
}

/* A registry-style error, {"errors":[{"code":CODE,"message":MESSAGE}]},
 * with EXTRA header lines (may be NULL). */
static int
send_error_with (conn_t *c, int status, const char *code, const char *message, const char *extra,
                 bool close)
{
    size_t ccap = 0, mcap = 0;
    cleanup_free char *code_json = NULL, *message_json = NULL;
    wr_log_append_json_string (&code_json, 0, &ccap, code);
    wr_log_append_json_string (&message_json, 0, &mcap, message);
    cleanup_free char *body =
        xasprintf ("{\"errors\":[{\"code\":%s,\"message\":%s}]}", code_json, message_json);
    cleanup_free char *headers =
        xasprintf ("Content-Type: application/json\r\n%s", extra != NULL ? extra : "");
    wr_log_to (c->log, status >= 500 ? WR_LOG_WARN : WR_LOG_INFO, "registry mirror: refused",
               "method", c->req != NULL ? c->req->method : "", "path",
               c->req != NULL && c->req->path != NULL ? c->req->path : "", "status",
               reason (status), "error", message, NULL);
    return send_answer (c, status, headers, body, strlen (body), close);
}

static int
send_error (conn_t *c, int status, const char *code, const char *message, bool close)
{
    return send_error_with (c, status, code, message, NULL, close);
}

/* An upstream failure as an answer: not found upstream is 404 with
 * NOT_FOUND_CODE; a registry that does not answer (or not in time) 503; a
 * wrong answer (a digest that does not match, a refusal) 502. */
static int
send_upstream_error (conn_t *c, const char *not_found_code, const char *what, wr_error_t e)
{
    cleanup_free char *message = xasprintf ("%s: %s", what, e != NULL ? e->message : "failed");
    switch (wr_error_kind (e)) {
    case WR_ERROR_NOT_FOUND:
        return send_error (c, 404, not_found_code, message, false);
    case WR_ERROR_UNAVAILABLE:
    case WR_ERROR_CANCELLED:
        return send_error (c, 503, "UNAVAILABLE", message, false);
    case WR_ERROR_INVALID:
    case WR_ERROR_LIMIT:
        return send_error (c, 502, "UNKNOWN", message, false);
    default:
        return send_error (c, 500, "UNKNOWN", message, false);
    }
}

/* A media type fit for a header line. */
static bool
media_type_valid (const char *type)
{
    if (type == NULL || type[0] == '\0' || strlen (type) > 255)
        return false;
    for (const char *p = type; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr ("./+-_", *p) != NULL))
            return false;
    return true;
}

/* The document's own mediaType, or what its fields say it is. */
static char *
document_media_type (const char *body, size_t len, const char *name)
{
    wr_error_t e = NULL;
    cleanup_json_reader json_object *doc =
        wr_json_parse_object (body, len, WR_MANIFEST_MAX_SIZE, "a manifest", name, &e);
    char *type = NULL;
    if (doc == NULL) {
        wr_error_free (&e);
        return xstrdup (WR_MEDIA_OCI_MANIFEST);
    }
    if (wr_json_member_string (doc, "mediaType", false, name, "", &type, &e) < 0)
        wr_error_free (&e);
    if (type != NULL)
        return type;
    return xstrdup (json_object_object_get_ex (doc, "manifests", NULL) ? WR_MEDIA_OCI_INDEX
                                                                       : WR_MEDIA_OCI_MANIFEST);
}

/* Remembers what the manifest DIGEST of NAME, from upstream, references. */
static void
remember (conn_t *c, const char *name, const char *digest, const char *body, size_t len,
          const char *media_type)
{
    wr_mirror_known_t *k = c->m->known;
    wr_mirror_known_put (k, name, digest, (int64_t) len, media_type);
    wr_manifest_t man = { 0 };
    wr_error_t e = NULL;
    if (wr_manifest_parse (body, len, media_type, name, &man, &e) < 0) {
        wr_log_to (c->log, WR_LOG_DEBUG, "registry mirror: a manifest it cannot read", "name", name,
                   "digest", digest, "error", e->message, NULL);
        wr_error_free (&e);
        return;
    }
    if (man.kind == WR_MANIFEST_INDEX) {
        for (size_t i = 0; i < man.n_manifests; i++)
            wr_mirror_known_put (k, name, man.manifests[i].digest, man.manifests[i].size,
                                 man.manifests[i].media_type);
    } else {
        wr_mirror_known_put (k, name, man.config.digest, man.config.size, NULL);
        for (size_t i = 0; i < man.n_layers; i++)
            wr_mirror_known_put (k, name, man.layers[i].digest, man.layers[i].size, NULL);
    }
    wr_manifest_clear (&man);
}

/* A deadline token for one upstream request, under the connection's. */
static wr_cancel_t *
deadline (conn_t *c, int64_t ms, const char *name)
{
    const wr_cancel_t *parent = c->cancel != NULL ? c->cancel : c->m->cancel;
    wr_cancel_t *token = wr_cancel_new (parent, ms, name, NULL);
    if (token == NULL)
        abort ();
    return token;
}

static int
serve_manifest (conn_t *c, const wr_mirror_route_t *route)
{
    wr_mirror_t *m = c->m;
    cleanup_free char *body = NULL, *type = NULL, *digest = NULL;
    size_t len = 0;
    cleanup_free char *what =
        xasprintf ("manifest %s of %s/%s", route->reference, m->upstream, route->name);
    int64_t known_size = -1;

    if (route->by_digest &&
        wr_mirror_known_get (m->known, route->name, route->reference, &known_size, &type) &&
        wr_store_has_blob_size (m->store, route->reference, known_size)) {
        wr_error_t e = NULL;
        if (wr_store_read_blob (m->store, route->reference, WR_MANIFEST_MAX_SIZE, &body, &len,
                                &e) == 0) {
            digest = xstrdup (route->reference);
            atomic_fetch_add (&m->manifests_from_store, 1);
        } else {
            wr_log_to (c->log, WR_LOG_WARN, "registry mirror: a stored manifest could not be read",
                       "error", e->message, NULL);
            wr_error_free (&e);
            free (type);
            type = NULL;
        }
    }
    if (body == NULL) {
        wr_image_ref_t ref = {
            .registry = m->upstream,
            .repository = route->name,
            .tag = route->by_digest ? NULL : route->reference,
            .digest = route->by_digest ? route->reference : NULL,
        };
        cleanup_cancel wr_cancel_t *token =
            deadline (c, m->manifest_deadline_ms, "mirror's manifest deadline");
        wr_registry_call_t call = { .cancel = token, .log = c->log };
        cleanup_error wr_error_t e = NULL;
        if (wr_registry_get_manifest_call (m->registry, &call, &ref, route->reference, &body, &len,
                                           &type, &digest, &e) < 0)
            return send_upstream_error (c, "MANIFEST_UNKNOWN", what, e);
        if (wr_store_put_blob (m->store, body, len, digest, NULL, &e) < 0)
            return send_upstream_error (c, "MANIFEST_UNKNOWN", what, e);
        if (type == NULL)
            type = document_media_type (body, len, what);
        if (!media_type_valid (type)) {
            cleanup_free char *msg =
                xasprintf ("%s: upstream gave a media type a header cannot carry", what);
            return send_error (c, 502, "UNKNOWN", msg, false);
        }
        remember (c, route->name, digest, body, len, type);
        atomic_fetch_add (&m->manifests_upstream, 1);
        wr_log_to (c->log, WR_LOG_INFO, "registry mirror: manifest from upstream", "name",
                   route->name, "reference", route->reference, "digest", digest, NULL);
    }
    if (type == NULL)
        type = document_media_type (body, len, what);
    if (!wr_mirror_accepts (c->req->accept, type)) {
        cleanup_free char *msg =
            xasprintf ("%s is a %s (%s), which the request does not accept", what, type, digest);
        return send_error (c, 404, "MANIFEST_UNKNOWN", msg, false);
    }
    cleanup_free char *extra = xasprintf (
        "Content-Type: %s\r\nDocker-Content-Digest: %s\r\nEtag: \"%s\"\r\n", type, digest, digest);
    if (strcmp (c->req->method, "GET") == 0)
        atomic_fetch_add (&m->bytes_served, len);
    return send_answer (c, 200, extra, body, len, false);
}

typedef struct {
    atomic_bool wrote;
    atomic_bool ok;
} blob_tee_t;

static int
tee_write (void *data, const void *buf, size_t len)
{
    blob_tee_t *t = data;
    atomic_store (&t->wrote, true);
    return 0;
}

static void
tee_end (void *data, bool ok)
{
    blob_tee_t *t = data;
    atomic_store (&t->ok, ok);
}

/* The blob's bytes from the store, SIZE of them. */
static int
send_blob_file (conn_t *c, const char *digest, int64_t size)
{
    cleanup_error wr_error_t e = NULL;
    cleanup_free char *path = wr_store_blob_path (c->m->store, digest, &e);
    cleanup_close int fd = path != NULL ? open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
    struct stat st;
    if (fd < 0 || fstat (fd, &st) < 0 || st.st_size != size) {
        cleanup_free char *msg = xasprintf ("blob %s: not in the store as it should be", digest);
        return send_error (c, 500, "UNKNOWN", msg, false);
    }
    cleanup_free char *extra = xasprintf (
        "Content-Type: application/octet-stream\r\nDocker-Content-Digest: %s\r\nEtag: \"%s\"\r\n",
        digest, digest);
    if (send_head (c, 200, size, extra, false) < 0)
        return -1;
    if (strcmp (c->req->method, "HEAD") == 0)
        return 0;
    cleanup_free char *buf = xmalloc (CHUNK);
    int64_t left = size;
    while (left > 0) {
        ssize_t n = read (fd, buf, left < CHUNK ? (size_t) left : CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* The head promised SIZE bytes: only closing says otherwise. */
            wr_error_set (&c->io_error, n < 0 ? errno : 0, "read blob `%s`", path);
            return -1;
        }
        if (write_all (c, buf, (size_t) n) < 0)
            return -1;
        left -= n;
        atomic_fetch_add (&c->m->bytes_served, (uint64_t) n);
    }
    return 0;
}

static int
serve_blob (conn_t *c, const wr_mirror_route_t *route)
{
    wr_mirror_t *m = c->m;
    int64_t size = -1;
    const char *digest = route->reference;
    cleanup_free char *what = xasprintf ("blob %s of %s/%s", digest, m->upstream, route->name);

    if (!wr_mirror_known_get (m->known, route->name, digest, &size, NULL)) {
        cleanup_free char *msg = xasprintf (
            "%s: the mirror has seen no manifest of the repository that references it", what);
        return send_error (c, 404, "BLOB_UNKNOWN", msg, false);
    }
    bool get = strcmp (c->req->method, "GET") == 0;
    if (wr_store_has_blob_size (m->store, digest, size)) {
        if (get)
            atomic_fetch_add (&m->blobs_from_store, 1);
    } else if (!get) {
        /* Upstream said it has it: no download for a HEAD. */
        cleanup_free char *extra = xasprintf (
            "Content-Type: application/octet-stream\r\nDocker-Content-Digest: %s\r\n", digest);
        return send_head (c, 200, size, extra, false);
    } else {
        wr_image_ref_t ref = { .registry = m->upstream, .repository = route->name };
        wr_descriptor_t desc = { .media_type = (char *) "application/octet-stream",
                                 .digest = (char *) digest,
                                 .size = size };
        const wr_descriptor_t *blobs[] = { &desc };
        blob_tee_t state;
        atomic_init (&state.wrote, false);
        atomic_init (&state.ok, false);
        wr_blob_tee_t tee = {
            .digest = digest, .write = tee_write, .end = tee_end, .data = &state
        };
        cleanup_cancel wr_cancel_t *token =
            deadline (c, m->blob_deadline_ms, "mirror's blob deadline");
        wr_registry_call_t call = { .cancel = token, .log = c->log };
        cleanup_error wr_error_t e = NULL;
        int64_t start = wr_monotonic_ms ();
        if (wr_registry_fetch_blobs_call (m->registry, &call, &ref, blobs, 1, m->store, NULL, NULL,
                                          &tee, &e) < 0)
            return send_upstream_error (c, "BLOB_UNKNOWN", what, e);
        bool fetched = atomic_load (&state.wrote);
        atomic_fetch_add (fetched ? &m->blobs_fetched : &m->blobs_from_store, 1);
        char took[32], bytes[32];
        snprintf (took, sizeof took, "%" PRId64 "ms", wr_monotonic_ms () - start);
        snprintf (bytes, sizeof bytes, "%" PRId64, size);
        wr_log_to (c->log, WR_LOG_INFO,
                   fetched ? "registry mirror: blob fetched from upstream"
                           : "registry mirror: blob downloaded by another request",
                   "name", route->name, "digest", digest, "size", bytes, "took", took, NULL);
    }
    return send_blob_file (c, digest, size);
}

/* Answers one parsed request.  *CLOSE is set when the connection must
 * close after it. */
static int
handle (conn_t *c, const wr_mirror_request_t *req, bool *close)
{
    c->req = req;
    *close = !req->keep_alive;
    bool get = strcmp (req->method, "GET") == 0, head = strcmp (req->method, "HEAD") == 0;
    if (!get && !head) {
        /* A body the mirror does not read would be taken for the next
         * request: close after the answer. */
        *close = *close || req->has_body;
        cleanup_free char *quoted = wr_quote (req->method, 16);
        cleanup_free char *msg = xasprintf ("the mirror serves GET and HEAD only, not %s", quoted);
        return send_error_with (c, 405, "UNSUPPORTED", msg, "Allow: GET, HEAD\r\n", *close);
    }
    if (req->has_body) {
        *close = true;
        return send_error (c, 400, "UNSUPPORTED", "the mirror takes no request bodies", true);
    }
    wr_mirror_route_t route;
    int status = 0;
    const char *code = NULL;
    cleanup_error wr_error_t e = NULL;
    if (wr_mirror_route_parse (req->path, &route, &status, &code, &e) < 0)
        return send_error (c, status, code, e->message, *close);
    int r;
    switch (route.kind) {
    case WR_MIRROR_ROUTE_BASE:
        r = send_answer (c, 200, "Content-Type: application/json\r\n", "{}", 2, *close);
        break;
    case WR_MIRROR_ROUTE_MANIFEST:
        r = serve_manifest (c, &route);
        break;
    default:
        r = serve_blob (c, &route);
        break;
    }
    wr_mirror_route_clear (&route);
    return r;
}

int
wr_mirror_serve (wr_mirror_t *m, const wr_mirror_conn_t *conn, const wr_log_t *log,
                 const wr_cancel_t *cancel, wr_error_t *err)
{
    conn_t c = { .m = m, .conn = conn, .log = log != NULL ? log : m->log, .cancel = cancel };
    cleanup_free char *buf = xmalloc (BUF_SIZE);
    size_t len = 0;
    atomic_fetch_add (&m->connections, 1);
    for (;;) {
        wr_mirror_request_t req;
        size_t head_len = 0;
        int status = 0;
        cleanup_error wr_error_t perr = NULL;
        int r = wr_mirror_request_parse (buf, len, &req, &head_len, &status, &perr);
        if (r < 0) {
            atomic_fetch_add (&m->requests, 1);
            c.req = NULL;
            send_error (&c, status, "UNSUPPORTED", perr->message, true);
            break;
        }
        if (r == 0) {
            if (len >= BUF_SIZE) /* the parser refuses a head this large */
                break;
            ssize_t n = conn->read (conn->data, buf + len, BUF_SIZE - len);
            if (n < 0) {
                wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, errno,
                                   "registry mirror: read a request");
                return -1;
            }
            if (n == 0) /* the client is done (midway through a head, or not) */
                break;
            len += (size_t) n;
            continue;
        }
        atomic_fetch_add (&m->requests, 1);
        bool close = false;
        c.status = 0;
        int hr = handle (&c, &req, &close);
        wr_log_to (c.log, WR_LOG_DEBUG, "registry mirror: request", "method", req.method, "path",
                   req.path, "status", reason (c.status), NULL);
        wr_mirror_request_clear (&req);
        c.req = NULL;
        if (hr < 0 || c.io_error != NULL || close)
            break;
        memmove (buf, buf + head_len, len - head_len);
        len -= head_len;
    }
    if (c.io_error != NULL)
        return wr_error_propagate (err, &c.io_error);
    return 0;
}
