/* The mirror for sandboxes against tests/unit/registry's fake registry as
 * its upstream (which logs every request it answers), a real store, and a
 * real socketpair per "sandbox" connection, served by wr_mirror_serve on a
 * thread of its own through the fd adapter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "fake_registry.h"
#include "manifest.h"
#include "mirror.h"
#include "registry.h"
#include "store.h"
#include "xalloc.h"

/* ---- the upstream: one image, in every repository ---- */

static const char config_body[] = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{"
                                  "\"type\":\"layers\",\"diff_ids\":[]}}";
static const char layer_body[] = "layer bytes: not a real tar, the mirror never looks inside";
static char config_digest[WR_DIGEST_MAX_LEN + 1];
static char layer_digest[WR_DIGEST_MAX_LEN + 1];
static char manifest_body[2048];
static char manifest_digest[WR_DIGEST_MAX_LEN + 1];
static char index_body[1024];
static char index_digest[WR_DIGEST_MAX_LEN + 1];

static void
make_image (void)
{
    wr_sha256_digest (config_body, strlen (config_body), config_digest);
    wr_sha256_digest (layer_body, strlen (layer_body), layer_digest);
    snprintf (manifest_body, sizeof manifest_body,
              "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
              "\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"%s\",\"digest\":"
              "\"%s\",\"size\":%zu}]}",
              WR_MEDIA_DOCKER_MANIFEST, WR_MEDIA_DOCKER_CONFIG, config_digest, strlen (config_body),
              WR_MEDIA_DOCKER_LAYER_TAR_GZIP, layer_digest, strlen (layer_body));
    wr_sha256_digest (manifest_body, strlen (manifest_body), manifest_digest);
    snprintf (index_body, sizeof index_body,
              "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[{\"mediaType\":\"%s\","
              "\"digest\":\"%s\",\"size\":%zu,\"platform\":{\"os\":\"linux\",\"architecture\":"
              "\"amd64\"}}]}",
              WR_MEDIA_DOCKER_LIST, WR_MEDIA_DOCKER_MANIFEST, manifest_digest,
              strlen (manifest_body));
    wr_sha256_digest (index_body, strlen (index_body), index_digest);
}

/* /v2/REPO/KIND/REF: REPO is library/demo and the like; "library/nope"
 * has nothing, "library/broken" answers 500, "library/bad" serves the
 * wrong bytes for its layer. */
static void
upstream (fake_server_t *srv, const fake_request_t *req, fake_answer_t *ans)
{
    char repo[256] = "";
    const char *p = req->path + 4;
    const char *kind = strstr (p, "/manifests/");
    if (kind == NULL)
        kind = strstr (p, "/blobs/");
    if (strncmp (req->path, "/v2/", 4) != 0 || kind == NULL)
        return;
    snprintf (repo, sizeof repo, "%.*s", (int) (kind - p), p);
    const char *ref = strrchr (req->path, '/') + 1;
    if (strcmp (repo, "library/nope") == 0) {
        answer (ans, 404,
                "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}");
        return;
    }
    if (strcmp (repo, "library/broken") == 0) {
        answer (ans, 500, "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"disk on fire\"}]}");
        return;
    }
    if (strncmp (kind, "/manifests/", 11) == 0) {
        if (strcmp (ref, "latest") == 0 || strcmp (ref, manifest_digest) == 0) {
            answer (ans, 200, manifest_body);
            add_header (ans, "Content-Type: %s", WR_MEDIA_DOCKER_MANIFEST);
            add_header (ans, "Docker-Content-Digest: %s", manifest_digest);
        } else if (strcmp (ref, "multi") == 0 || strcmp (ref, index_digest) == 0) {
            answer (ans, 200, index_body);
            add_header (ans, "Content-Type: %s", WR_MEDIA_DOCKER_LIST);
        }
        return;
    }
    if (strcmp (ref, config_digest) == 0) {
        answer (ans, 200, config_body);
    } else if (strcmp (ref, layer_digest) == 0) {
        if (strcmp (repo, "library/bad") == 0) {
            /* As long as the real one, other bytes. */
            static char wrong[sizeof layer_body];
            memset (wrong, 'x', sizeof wrong - 1);
            answer (ans, 200, wrong);
        } else {
            answer (ans, 200, layer_body);
        }
    }
}

/* ---- the fixture: upstream, store, mirror ---- */

typedef struct {
    fake_server_t *srv;
    char dir[64];
    wr_store_t *store;
    wr_registry_t *registry;
    wr_mirror_t *mirror;
    pthread_mutex_t lines_lock;
    char lines[16384]; /* the log's lines, "msg sandbox=ID" */
} fixture_t;

static void
log_line (void *data, wr_log_level_t level, const char *msg, const char *const *fields)
{
    fixture_t *f = data;
    pthread_mutex_lock (&f->lines_lock);
    size_t n = strlen (f->lines);
    const char *sandbox = "";
    for (size_t i = 0; fields != NULL && fields[i] != NULL && fields[i + 1] != NULL; i += 2)
        if (strcmp (fields[i], "sandbox") == 0)
            sandbox = fields[i + 1];
    snprintf (f->lines + n, sizeof f->lines - n, "%s sandbox=%s\n", msg, sandbox);
    pthread_mutex_unlock (&f->lines_lock);
}

static wr_log_t root_log;

static fixture_t *
start (bool threaded, int64_t blob_deadline_ms)
{
    fixture_t *f = xzalloc (sizeof *f);
    pthread_mutex_init (&f->lines_lock, NULL);
    f->srv = threaded ? fake_start_threaded (upstream, NULL) : fake_start (upstream, NULL);
    snprintf (f->dir, sizeof f->dir, "/tmp/warren-mirror-XXXXXX");
    assert_non_null (mkdtemp (f->dir));
    wr_error_t err = NULL;
    f->store = wr_store_open (f->dir, &err);
    assert_non_null (f->store);
    root_log = (wr_log_t){ .write = log_line, .data = f };
    wr_store_set_log (f->store, &root_log);
    cleanup_free char *url = xasprintf ("http://127.0.0.1:%d", f->srv->port);
    wr_registry_options_t ropts = { .docker_io_mirror = url, .log = &root_log };
    f->registry = wr_registry_new (&ropts, &err);
    assert_non_null (f->registry);
    wr_mirror_options_t mopts = { .registry = f->registry,
                                  .store = f->store,
                                  .log = &root_log,
                                  .blob_deadline_ms = blob_deadline_ms };
    f->mirror = wr_mirror_new (&mopts, &err);
    assert_non_null (f->mirror);
    return f;
}

static void
stop (fixture_t *f)
{
    wr_mirror_free (f->mirror);
    wr_registry_free (f->registry);
    wr_store_close (f->store);
    fake_stop (f->srv);
    cleanup_free char *cmd = xasprintf ("rm -rf '%s'", f->dir);
    assert_int_equal (system (cmd), 0);
    pthread_mutex_destroy (&f->lines_lock);
    free (f);
}

/* ---- a sandbox's connection: a socketpair, the mirror on one end ---- */

typedef struct {
    fixture_t *f;
    int client, server;
    pthread_t thread;
    int rc;
    char id[16];
    const char *fields[3];
    wr_log_t log;
} sandbox_t;

static void *
serve_thread (void *data)
{
    sandbox_t *s = data;
    wr_mirror_conn_t conn = wr_mirror_conn_fd (s->server);
    wr_error_t err = NULL;
    s->rc = wr_mirror_serve (s->f->mirror, &conn, &s->log, NULL, &err);
    wr_error_free (&err);
    /* The connection ends: the client sees its end of the stream. */
    shutdown (s->server, SHUT_RDWR);
    return NULL;
}

static sandbox_t *
connect_sandbox (fixture_t *f, const char *id)
{
    sandbox_t *s = xzalloc (sizeof *s);
    int sv[2];
    assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    s->f = f;
    s->client = sv[0];
    s->server = sv[1];
    snprintf (s->id, sizeof s->id, "%s", id);
    s->fields[0] = "sandbox";
    s->fields[1] = s->id;
    s->log = (wr_log_t){ .parent = &root_log, .fields = s->fields };
    assert_int_equal (pthread_create (&s->thread, NULL, serve_thread, s), 0);
    return s;
}

static void
disconnect (sandbox_t *s)
{
    shutdown (s->client, SHUT_WR);
    pthread_join (s->thread, NULL);
    close (s->client);
    close (s->server);
    free (s);
}

typedef struct {
    int status;
    char head[8192];
    char *body;
    size_t len;
} response_t;

static void
response_clear (response_t *r)
{
    free (r->body);
    memset (r, 0, sizeof *r);
}

static void
send_text (sandbox_t *s, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = send (s->client, text, len, MSG_NOSIGNAL);
        if (n <= 0)
            return; /* the mirror closed: the answer says why */
        text += n;
        len -= (size_t) n;
    }
}

/* The value of header NAME in R's head, or NULL (a buffer of the thread). */
static const char *
header (const response_t *r, const char *name)
{
    static _Thread_local char value[1024];
    size_t nlen = strlen (name);
    for (const char *line = strstr (r->head, "\r\n"); line != NULL; line = strstr (line, "\r\n")) {
        line += 2;
        if (strncasecmp (line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1 + strspn (line + nlen + 1, " ");
            snprintf (value, sizeof value, "%.*s", (int) strcspn (v, "\r\n"), v);
            return value;
        }
    }
    return NULL;
}

/* Reads one answer (its body unless HEAD); status -1 when the stream
 * ended first. */
static void
read_response (sandbox_t *s, bool head_only, response_t *r)
{
    memset (r, 0, sizeof *r);
    size_t n = 0;
    while (n < sizeof r->head - 1 && strstr (r->head, "\r\n\r\n") == NULL) {
        ssize_t got = recv (s->client, r->head + n, 1, 0);
        if (got <= 0) {
            r->status = -1;
            return;
        }
        n++;
    }
    assert_int_equal (sscanf (r->head, "HTTP/1.1 %d", &r->status), 1);
    const char *cl = header (r, "Content-Length");
    assert_non_null (cl);
    size_t want = head_only ? 0 : (size_t) strtoull (cl, NULL, 10);
    r->body = xmalloc (want + 1);
    while (r->len < want) {
        ssize_t got = recv (s->client, r->body + r->len, want - r->len, 0);
        assert_true (got > 0);
        r->len += (size_t) got;
    }
    r->body[r->len] = '\0';
}

static void
request (sandbox_t *s, const char *method, const char *path, const char *extra, response_t *r)
{
    cleanup_free char *text = xasprintf ("%s %s HTTP/1.1\r\nHost: 127.0.0.1:5999\r\n%s\r\n", method,
                                         path, extra != NULL ? extra : "");
    send_text (s, text, strlen (text));
    read_response (s, strcmp (method, "HEAD") == 0, r);
}

/* The connection was closed by the mirror: the next read ends. */
static void
assert_closed (sandbox_t *s)
{
    struct pollfd p = { .fd = s->client, .events = POLLIN };
    assert_int_equal (poll (&p, 1, 5000), 1);
    char c;
    assert_int_equal (recv (s->client, &c, 1, 0), 0);
}

/* The connection is still served: /v2/ answers on it. */
static void
assert_open (sandbox_t *s)
{
    response_t r;
    request (s, "GET", "/v2/", NULL, &r);
    assert_int_equal (r.status, 200);
    response_clear (&r);
}

/* R is a registry error with CODE whose message has PART. */
static void
assert_error (const response_t *r, int status, const char *code, const char *part)
{
    if (r->status != status)
        fail_msg ("status %d, not %d: %s", r->status, status, r->body ? r->body : "");
    assert_string_equal (header (r, "Content-Type"), "application/json");
    json_object *doc = json_tokener_parse (r->body);
    assert_non_null (doc);
    json_object *errors, *first, *c, *m;
    assert_true (json_object_object_get_ex (doc, "errors", &errors));
    first = json_object_array_get_idx (errors, 0);
    assert_non_null (first);
    assert_true (json_object_object_get_ex (first, "code", &c));
    assert_true (json_object_object_get_ex (first, "message", &m));
    assert_string_equal (json_object_get_string (c), code);
    if (part != NULL && strstr (json_object_get_string (m), part) == NULL)
        fail_msg ("`%s` not in `%s`", part, json_object_get_string (m));
    json_object_put (doc);
}

/* ---- tests ---- */

static void
test_base_and_keep_alive (void **state)
{
    fixture_t *f = start (false, 0);
    sandbox_t *s = connect_sandbox (f, "a");
    response_t r;
    for (int i = 0; i < 3; i++) {
        request (s, "GET", "/v2/", NULL, &r);
        assert_int_equal (r.status, 200);
        assert_string_equal (r.body, "{}");
        assert_string_equal (header (&r, "Docker-Distribution-API-Version"), "registry/2.0");
        response_clear (&r);
    }
    /* Two requests in one write (pipelined): two answers, in order. */
    const char *two = "HEAD /v2/ HTTP/1.1\r\n\r\nGET /v2 HTTP/1.1\r\nConnection: close\r\n\r\n";
    send_text (s, two, strlen (two));
    read_response (s, true, &r);
    assert_int_equal (r.status, 200);
    response_clear (&r);
    read_response (s, false, &r);
    assert_int_equal (r.status, 200);
    assert_non_null (strstr (r.head, "Connection: close"));
    response_clear (&r);
    assert_closed (s);
    disconnect (s);
    wr_mirror_stats_t st;
    wr_mirror_stats (f->mirror, &st);
    assert_int_equal (st.requests, 5);
    assert_int_equal (st.connections, 1);
    /* Nothing went upstream for /v2/. */
    assert_int_equal (f->srv->n_log, 0);
    stop (f);
}

static void
test_manifest_by_tag_and_digest (void **state)
{
    fixture_t *f = start (false, 0);
    sandbox_t *s = connect_sandbox (f, "a");
    response_t r;
    request (s, "HEAD", "/v2/library/demo/manifests/latest", NULL, &r);
    assert_int_equal (r.status, 200);
    assert_string_equal (header (&r, "Content-Type"), WR_MEDIA_DOCKER_MANIFEST);
    assert_string_equal (header (&r, "Docker-Content-Digest"), manifest_digest);
    assert_int_equal (strtoull (header (&r, "Content-Length"), NULL, 10), strlen (manifest_body));
    response_clear (&r);

    request (s, "GET", "/v2/library/demo/manifests/latest",
             "Accept: application/vnd.oci.image.manifest.v1+json\r\n"
             "Accept: application/vnd.docker.distribution.manifest.v2+json\r\n",
             &r);
    assert_int_equal (r.status, 200);
    assert_string_equal (r.body, manifest_body);
    assert_string_equal (header (&r, "Docker-Content-Digest"), manifest_digest);
    response_clear (&r);
    /* A tag is resolved upstream every time. */
    assert_int_equal (fake_count (f->srv, "/v2/library/demo/manifests/latest"), 2);

    /* By digest: from the store, upstream not asked. */
    cleanup_free char *by_digest = xasprintf ("/v2/library/demo/manifests/%s", manifest_digest);
    request (s, "GET", by_digest, NULL, &r);
    assert_int_equal (r.status, 200);
    assert_string_equal (r.body, manifest_body);
    assert_string_equal (header (&r, "Content-Type"), WR_MEDIA_DOCKER_MANIFEST);
    response_clear (&r);
    request (s, "HEAD", by_digest, NULL, &r);
    assert_int_equal (r.status, 200);
    assert_string_equal (header (&r, "Docker-Content-Digest"), manifest_digest);
    response_clear (&r);
    assert_int_equal (fake_count (f->srv, "/manifests/sha256:"), 0);
    assert_true (wr_store_has_blob (f->store, manifest_digest));

    /* An index by tag, passed through as upstream gave it; its entry by
     * digest comes from upstream the first time (not in the store yet). */
    request (s, "GET", "/v2/library/multi/manifests/multi", NULL, &r);
    assert_int_equal (r.status, 200);
    assert_string_equal (r.body, index_body);
    assert_string_equal (header (&r, "Content-Type"), WR_MEDIA_DOCKER_LIST);
    assert_string_equal (header (&r, "Docker-Content-Digest"), index_digest);
    response_clear (&r);

    /* A client that accepts only OCI manifests is not given a Docker one. */
    request (s, "GET", "/v2/library/demo/manifests/latest",
             "Accept: application/vnd.oci.image.manifest.v1+json\r\n", &r);
    assert_error (&r, 404, "MANIFEST_UNKNOWN", "does not accept");
    response_clear (&r);

    /* The same digest under a repository upstream never named is asked
     * upstream, not served from the store. */
    cleanup_free char *other = xasprintf ("/v2/library/other/manifests/%s", manifest_digest);
    request (s, "GET", other, NULL, &r);
    assert_int_equal (r.status, 200);
    response_clear (&r);
    assert_int_equal (fake_count (f->srv, "/v2/library/other/manifests/sha256:"), 1);

    wr_mirror_stats_t st;
    wr_mirror_stats (f->mirror, &st);
    assert_int_equal (st.manifests_from_store, 2);
    assert_true (st.manifests_upstream >= 4);
    disconnect (s);
    /* The lines carry the sandbox's fields. */
    assert_non_null (strstr (f->lines, "registry mirror: manifest from upstream sandbox=a"));
    stop (f);
}

/* Sandbox A pulls: manifest, config, layer (with GET and HEAD). */
static void
pull (sandbox_t *s)
{
    response_t r;
    request (s, "GET", "/v2/library/demo/manifests/latest", NULL, &r);
    assert_int_equal (r.status, 200);
    response_clear (&r);
    cleanup_free char *config = xasprintf ("/v2/library/demo/blobs/%s", config_digest);
    cleanup_free char *layer = xasprintf ("/v2/library/demo/blobs/%s", layer_digest);
    request (s, "GET", config, NULL, &r);
    assert_int_equal (r.status, 200);
    assert_string_equal (r.body, config_body);
    assert_string_equal (header (&r, "Docker-Content-Digest"), config_digest);
    response_clear (&r);
    request (s, "HEAD", layer, NULL, &r);
    assert_int_equal (r.status, 200);
    assert_int_equal (strtoull (header (&r, "Content-Length"), NULL, 10), strlen (layer_body));
    response_clear (&r);
    request (s, "GET", layer, NULL, &r);
    assert_int_equal (r.status, 200);
    assert_int_equal (r.len, strlen (layer_body));
    assert_memory_equal (r.body, layer_body, r.len);
    assert_string_equal (header (&r, "Content-Type"), "application/octet-stream");
    response_clear (&r);
}

static void
test_blob_fetched_once_for_two_sandboxes (void **state)
{
    fixture_t *f = start (false, 0);
    sandbox_t *a = connect_sandbox (f, "a");
    pull (a);
    disconnect (a);
    cleanup_free char *layer = xasprintf ("/v2/library/demo/blobs/%s", layer_digest);
    assert_int_equal (fake_count (f->srv, layer), 1);
    assert_true (wr_store_has_blob (f->store, layer_digest));
    wr_mirror_stats_t st;
    wr_mirror_stats (f->mirror, &st);
    assert_int_equal (st.blobs_fetched, 2);
    assert_int_equal (st.blobs_from_store, 0);

    sandbox_t *b = connect_sandbox (f, "b");
    pull (b);
    disconnect (b);
    /* Upstream served each blob exactly once, to the first sandbox. */
    assert_int_equal (fake_count (f->srv, layer), 1);
    cleanup_free char *config = xasprintf ("/v2/library/demo/blobs/%s", config_digest);
    assert_int_equal (fake_count (f->srv, config), 1);
    wr_mirror_stats (f->mirror, &st);
    assert_int_equal (st.blobs_fetched, 2);
    assert_int_equal (st.blobs_from_store, 2);
    assert_true (st.bytes_served >= 2 * (strlen (layer_body) + strlen (config_body)));
    assert_non_null (strstr (f->lines, "registry mirror: blob fetched from upstream sandbox=a"));
    stop (f);
}

typedef struct {
    sandbox_t *s;
    response_t r;
} get_t;

static void *
get_layer (void *data)
{
    get_t *g = data;
    cleanup_free char *layer = xasprintf ("/v2/library/slowish/blobs/%s", layer_digest);
    request (g->s, "GET", layer, NULL, &g->r);
    return NULL;
}

static void
test_concurrent_requests_one_download (void **state)
{
    fixture_t *f = start (true, 0);
    /* Upstream sends the last two bytes a second apart: the two requests
     * overlap. */
    fake_trickle (f->srv, "library/slowish", strlen (layer_body) - 2);
    get_t g[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        g[i].s = connect_sandbox (f, i == 0 ? "a" : "b");
        response_t r;
        request (g[i].s, "GET", "/v2/library/slowish/manifests/latest", NULL, &r);
        assert_int_equal (r.status, 200);
        response_clear (&r);
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal (pthread_create (&t[i], NULL, get_layer, &g[i]), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join (t[i], NULL);
        assert_int_equal (g[i].r.status, 200);
        assert_int_equal (g[i].r.len, strlen (layer_body));
        assert_memory_equal (g[i].r.body, layer_body, g[i].r.len);
        response_clear (&g[i].r);
        disconnect (g[i].s);
    }
    cleanup_free char *layer = xasprintf ("/v2/library/slowish/blobs/%s", layer_digest);
    assert_int_equal (fake_count (f->srv, layer), 1);
    wr_mirror_stats_t st;
    wr_mirror_stats (f->mirror, &st);
    assert_int_equal (st.blobs_fetched, 1);
    assert_int_equal (st.blobs_from_store, 1);
    stop (f);
}

static void
test_unknown_manifest_and_blob (void **state)
{
    fixture_t *f = start (false, 0);
    sandbox_t *s = connect_sandbox (f, "a");
    response_t r;
    request (s, "GET", "/v2/library/nope/manifests/latest", NULL, &r);
    assert_error (&r, 404, "MANIFEST_UNKNOWN", "library/nope");
    response_clear (&r);
    /* HEAD: the same status and headers, no body. */
    request (s, "HEAD", "/v2/library/nope/manifests/latest", NULL, &r);
    assert_int_equal (r.status, 404);
    response_clear (&r);
    /* A blob no manifest upstream gave names: refused without asking. */
    cleanup_free char *blob = xasprintf ("/v2/library/demo/blobs/%s", layer_digest);
    request (s, "GET", blob, NULL, &r);
    assert_error (&r, 404, "BLOB_UNKNOWN", layer_digest);
    response_clear (&r);
    assert_int_equal (fake_count (f->srv, "/blobs/"), 0);
    assert_open (s);
    disconnect (s);
    wr_mirror_stats_t st;
    wr_mirror_stats (f->mirror, &st);
    assert_int_equal (st.client_errors, 3);
    stop (f);
}

/* Sends TEXT, expects STATUS with CODE (NULL: any), and a closed or open
 * connection after it. */
static void
hostile (fixture_t *f, const char *text, size_t len, int status, const char *code, bool closed)
{
    sandbox_t *s = connect_sandbox (f, "hostile");

    response_t r;
    send_text (s, text, len);
    read_response (s, strncmp (text, "HEAD", 4) == 0, &r);
    if (r.status != status)
        fail_msg ("`%.60s`: status %d, not %d", text, r.status, status);
    if (code != NULL)
        assert_error (&r, status, code, NULL);
    response_clear (&r);
    if (closed)
        assert_closed (s);
    else
        assert_open (s);
    disconnect (s);
}

static void
test_hostile_requests (void **state)
{
    fixture_t *f = start (false, 0);
    /* Heads over the limits. */
    size_t big = 40 * 1024;
    cleanup_free char *huge = xmalloc (big + 64);
    strcpy (huge, "GET /v2/ HTTP/1.1\r\n");
    while (strlen (huge) < big)
        strcat (huge, "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    strcat (huge, "\r\n");
    hostile (f, huge, strlen (huge), 431, "UNSUPPORTED", true);
    cleanup_free char *long_line = xmalloc (10000);
    strcpy (long_line, "GET /v2/ HTTP/1.1\r\nX-Long: ");
    memset (long_line + strlen (long_line), 'a', 9000);
    long_line[27 + 9000] = '\0';
    strcat (long_line, "\r\n\r\n");
    hostile (f, long_line, strlen (long_line), 431, "UNSUPPORTED", true);
    cleanup_free char *long_target = xmalloc (10000);
    strcpy (long_target, "GET /v2/");
    memset (long_target + 8, 'a', 9000);
    strcpy (long_target + 8 + 9000, " HTTP/1.1\r\n\r\n");
    hostile (f, long_target, strlen (long_target), 414, "UNSUPPORTED", true);
    cleanup_free char *many = xstrdup ("GET /v2/ HTTP/1.1\r\n");
    for (int i = 0; i < 70; i++) {
        char *more = xasprintf ("%sX-%d: 1\r\n", many, i);
        free (many);
        many = more;
    }
    char *ended = xasprintf ("%s\r\n", many);
    free (many);
    many = ended;
    hostile (f, many, strlen (many), 431, "UNSUPPORTED", true);

    /* Paths and names: refused, the connection kept. */
    const char *bad_paths[][2] = {
        { "GET /v2/../etc/manifests/latest HTTP/1.1\r\n\r\n", "NAME_INVALID" },
        { "GET /v2/library/../../x/manifests/latest HTTP/1.1\r\n\r\n", "NAME_INVALID" },
        { "GET /v2/Library/Nginx/manifests/latest HTTP/1.1\r\n\r\n", "NAME_INVALID" },
        { "GET /v2/library/nginx/manifests/-bad HTTP/1.1\r\n\r\n", "TAG_INVALID" },
        { "GET /v2/library/nginx/blobs/sha256:zz HTTP/1.1\r\n\r\n", "DIGEST_INVALID" },
        { "GET /v2/library/nginx/blobs/latest HTTP/1.1\r\n\r\n", "DIGEST_INVALID" },
        { "GET /v2/library/nginx/tags/list HTTP/1.1\r\n\r\n", "UNSUPPORTED" },
        { "GET /etc/passwd HTTP/1.1\r\n\r\n", "UNSUPPORTED" },
    };
    for (size_t i = 0; i < sizeof bad_paths / sizeof *bad_paths; i++) {
        int status = strcmp (bad_paths[i][1], "UNSUPPORTED") == 0 ? 404 : 400;
        hostile (f, bad_paths[i][0], strlen (bad_paths[i][0]), status, bad_paths[i][1], false);
    }
    /* Methods: 405 with Allow; a body closes the connection. */
    const char *post =
        "POST /v2/library/x/blobs/uploads/ HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd";
    hostile (f, post, strlen (post), 405, "UNSUPPORTED", true);
    const char *del = "DELETE /v2/library/x/manifests/latest HTTP/1.1\r\n\r\n";
    hostile (f, del, strlen (del), 405, "UNSUPPORTED", false);
    const char *body = "GET /v2/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    hostile (f, body, strlen (body), 400, "UNSUPPORTED", true);
    /* Not HTTP/1.x, not HTTP at all, bare LF, NUL bytes. */
    const char *h2 = "GET /v2/ HTTP/2.0\r\n\r\n";
    hostile (f, h2, strlen (h2), 505, "UNSUPPORTED", true);
    const char *junk = "\x16\x03\x01\x02\x01\x01\xfc\r\n\r\n";
    hostile (f, junk, strlen (junk), 400, "UNSUPPORTED", true);
    const char *lf = "GET /v2/ HTTP/1.1\nHost: x\n\n";
    hostile (f, lf, strlen (lf), 400, "UNSUPPORTED", true);
    const char nul[] = "GET /v2/ HTTP/1.1\r\nX: a\0b\r\n\r\n";
    hostile (f, nul, sizeof nul - 1, 400, "UNSUPPORTED", true);
    const char *smuggle = "GET /v2/ HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n";
    hostile (f, smuggle, strlen (smuggle), 400, "UNSUPPORTED", true);
    /* HTTP/1.0 closes unless asked to keep the connection. */
    const char *old = "GET /v2/ HTTP/1.0\r\n\r\n";
    hostile (f, old, strlen (old), 200, NULL, true);

    /* A client that stops midway through a head: the mirror just ends. */
    sandbox_t *s = connect_sandbox (f, "half");
    send_text (s, "GET /v2/ HTT", 12);
    disconnect (s);
    assert_int_equal (f->srv->n_log, 0);
    stop (f);
}

static void
test_upstream_failures (void **state)
{
    fixture_t *f = start (false, 1500);
    sandbox_t *s = connect_sandbox (f, "a");
    response_t r;

    /* A blob upstream trickles, past the mirror's blob deadline: 503. */
    fake_trickle (f->srv, "library/slow", 4);
    request (s, "GET", "/v2/library/slow/manifests/latest", NULL, &r);
    assert_int_equal (r.status, 200);
    response_clear (&r);
    cleanup_free char *slow = xasprintf ("/v2/library/slow/blobs/%s", layer_digest);
    int64_t start_ms = wr_monotonic_ms ();
    request (s, "GET", slow, NULL, &r);
    int64_t took = wr_monotonic_ms () - start_ms;
    assert_error (&r, 503, "UNAVAILABLE", "deadline");
    assert_non_null (strstr (r.body, layer_digest));
    assert_non_null (strstr (r.body, "library/slow"));
    assert_true (took >= 1400 && took < 10000);
    response_clear (&r);
    assert_false (wr_store_has_blob (f->store, layer_digest));

    /* Upstream answers 500 (retried, then given up): 503. */
    request (s, "GET", "/v2/library/broken/manifests/latest", NULL, &r);
    assert_error (&r, 503, "UNAVAILABLE", "library/broken");
    response_clear (&r);

    /* A blob whose bytes are not its digest: 502 naming both. */
    request (s, "GET", "/v2/library/bad/manifests/latest", NULL, &r);
    assert_int_equal (r.status, 200);
    response_clear (&r);
    cleanup_free char *bad = xasprintf ("/v2/library/bad/blobs/%s", layer_digest);
    request (s, "GET", bad, NULL, &r);
    assert_error (&r, 502, "UNKNOWN", layer_digest);
    assert_non_null (strstr (r.body, "library/bad"));
    response_clear (&r);
    assert_false (wr_store_has_blob (f->store, layer_digest));

    /* Each failure answered; the connection still serves. */
    assert_open (s);
    disconnect (s);
    wr_mirror_stats_t st;
    wr_mirror_stats (f->mirror, &st);
    assert_int_equal (st.upstream_errors, 3);
    stop (f);
}

static void
test_options_and_fd_adapter (void **state)
{
    wr_error_t err = NULL;
    wr_mirror_options_t none = { 0 };
    assert_null (wr_mirror_new (&none, &err));
    assert_non_null (strstr (err->message, "registry client"));
    wr_error_free (&err);
    /* The adapter works on a pipe too (write falls back from send). */
    int p[2];
    assert_int_equal (pipe (p), 0);
    wr_mirror_conn_t w = wr_mirror_conn_fd (p[1]);
    wr_mirror_conn_t rd = wr_mirror_conn_fd (p[0]);
    assert_int_equal (w.write (w.data, "abc", 3), 3);
    char buf[4] = "";
    assert_int_equal (rd.read (rd.data, buf, 3), 3);
    assert_memory_equal (buf, "abc", 3);
    close (p[0]);
    close (p[1]);
}

int
main (void)
{
    make_image ();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_base_and_keep_alive),
        cmocka_unit_test (test_manifest_by_tag_and_digest),
        cmocka_unit_test (test_blob_fetched_once_for_two_sandboxes),
        cmocka_unit_test (test_concurrent_requests_one_download),
        cmocka_unit_test (test_unknown_manifest_and_blob),
        cmocka_unit_test (test_hostile_requests),
        cmocka_unit_test (test_upstream_failures),
        cmocka_unit_test (test_options_and_fd_adapter),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
