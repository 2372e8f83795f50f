/* Unit tests of sandbox_relay.c: relays the agent opens (relay.open),
 * served by the real mirror (mirror.h) in front of tests/unit/registry's
 * fake registry as docker.io's mirror, a real store, and warrend's real
 * agent client over a socketpair whose other end is a fake agent written
 * here with the protocol library: it opens relay streams and sends HTTP
 * requests through them as the nested dockerd would, paced by windows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_client.h"
#include "cleanup.h"
#include "digest.h"
#include "fake_registry.h"
#include "mirror.h"
#include "registry.h"
#include "sandbox_relay.h"
#include "store.h"
#include "xalloc.h"

/* ---- the upstream: one blob in library/demo ---- */

static const char layer_body[] = "the bytes of a layer, relayed to a sandbox's dockerd";
static char layer_digest[WR_DIGEST_MAX_LEN + 1];
static char manifest_body[1024];
static char manifest_digest[WR_DIGEST_MAX_LEN + 1];

static void
upstream (fake_server_t *srv, const fake_request_t *req, fake_answer_t *ans)
{
    (void) srv;
    if (strcmp (req->path, "/v2/library/demo/manifests/latest") == 0) {
        answer (ans, 200, manifest_body);
        add_header (ans, "Content-Type: application/vnd.docker.distribution.manifest.v2+json");
        add_header (ans, "Docker-Content-Digest: %s", manifest_digest);
    } else if (strncmp (req->path, "/v2/library/demo/blobs/", 23) == 0 &&
               strcmp (req->path + 23, layer_digest) == 0) {
        answer (ans, 200, layer_body);
    }
}

/* ---- the fake agent ---- */

typedef struct {
    int fd;
    wr_agent_decoder_t *dec;
    pthread_t thread;
    const char *target; /* of relay.open */
    const char *request; /* HTTP, sent in pieces of 7 bytes */
    char reply[8192]; /* the first relay's body from warrend */
    size_t reply_len;
    char answer[64]; /* warrend's answer to relay.open: "ok", "error" */
    char error[256];
    bool got_end; /* warrend's END on the relay */
    bool second; /* open a second relay and leave it idle */
    bool idle_ended; /* ...which warrend ended when its relays closed */
    bool hello_relays; /* warrend's hello had relays: true */
    pthread_mutex_t *lock; /* what the fake records, for the test's thread */
} fake_t;

static void
fake_write (fake_t *f, const wr_agent_buf_t *buf)
{
    size_t off = 0;
    while (off < buf->len) {
        ssize_t n = send (f->fd, buf->data + off, buf->len - off, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        off += (size_t) n;
    }
}

static void
fake_send (fake_t *f, uint32_t stream, uint8_t flags, wr_agent_message_t *msg)
{
    cleanup_agent_buf wr_agent_buf_t buf = { 0 };
    assert_int_equal (
        wr_agent_message_encode (&buf, 1, stream, flags, WR_AGENT_SIDE_AGENT, msg, NULL), 0);
    wr_agent_message_free (msg);
    fake_write (f, &buf);
}

static void
fake_data (fake_t *f, uint32_t stream, uint8_t flags, uint64_t offset, const void *data, size_t len)
{
    cleanup_agent_buf wr_agent_buf_t buf = { 0 };
    assert_int_equal (wr_agent_data_encode (&buf, 1, stream, flags, 0, offset, data, len, NULL), 0);
    fake_write (f, &buf);
}

static int
fake_next (fake_t *f, wr_agent_frame_t *frame, wr_agent_message_t **msg)
{
    *msg = NULL;
    for (;;) {
        int r = wr_agent_decoder_next (f->dec, frame, NULL);
        if (r < 0)
            return 0;
        if (r == 1) {
            if (frame->type == WR_AGENT_FRAME_MESSAGE)
                *msg = wr_agent_message_decode (frame, WR_AGENT_SIDE_HOST, NULL);
            return 1;
        }
        uint8_t buf[65536];
        ssize_t n = recv (f->fd, buf, sizeof buf, 0);
        if (n <= 0)
            return 0;
        if (wr_agent_decoder_feed (f->dec, buf, (size_t) n, NULL) < 0)
            return 0;
    }
}

static void *
fake_thread (void *data)
{
    fake_t *f = data;
    f->dec = wr_agent_decoder_new (WR_AGENT_SIDE_HOST);
    wr_agent_message_t *hello = wr_agent_hello_new ("fake-agent");
    /* Version 1 only: what it encodes below. */
    json_object *versions = json_object_new_array ();
    json_object_array_add (versions, json_object_new_int (1));
    wr_agent_message_set_json (hello, "versions", versions);
    wr_agent_message_set_int (hello, "window", 65536);
    cleanup_agent_buf wr_agent_buf_t buf = { 0 };
    assert_int_equal (wr_agent_message_encode (&buf, WR_AGENT_HELLO_VERSION, 0, 0,
                                               WR_AGENT_SIDE_AGENT, hello, NULL),
                      0);
    wr_agent_message_free (hello);
    fake_write (f, &buf);
    wr_agent_frame_t frame;
    wr_agent_message_t *msg = NULL;
    assert_true (fake_next (f, &frame, &msg)); /* warrend's hello: it takes relays */
    assert_non_null (msg);
    pthread_mutex_lock (f->lock);
    f->hello_relays = wr_agent_message_bool (msg, "relays", false);
    pthread_mutex_unlock (f->lock);
    wr_agent_message_free (msg);
    wr_agent_decoder_set_version (f->dec, 1, NULL);

    if (strcmp (f->target, "registry-mirror") == 0) {
        wr_agent_message_t *open = wr_agent_message_new (WR_AGENT_MSG_RELAY_OPEN);
        wr_agent_message_set_string (open, "target", f->target);
        fake_send (f, 2, 0, open);
    } else {
        /* What the protocol library would not encode: a hostile agent. */
        char json[256];
        snprintf (json, sizeof json, "{\"type\":\"relay.open\",\"target\":\"%s\"}", f->target);
        wr_agent_frame_t raw = { .version = 1,
                                 .type = WR_AGENT_FRAME_MESSAGE,
                                 .stream = 2,
                                 .length = (uint32_t) strlen (json),
                                 .payload = (const uint8_t *) json };
        cleanup_agent_buf wr_agent_buf_t rbuf = { 0 };
        assert_int_equal (wr_agent_frame_encode (&rbuf, &raw, NULL), 0);
        fake_write (f, &rbuf);
    }
    /* Sent at once, as dockerd would, before the answer: the agent
     * queues it. */
    size_t len = strlen (f->request), off = 0;
    bool answered = false;
    while (fake_next (f, &frame, &msg)) {
        pthread_mutex_lock (f->lock);
        if (msg != NULL && frame.stream == 2 && !answered) {
            answered = true;
            snprintf (f->answer, sizeof f->answer, "%s", wr_agent_msg_type_name (msg->type));
            if (msg->type == WR_AGENT_MSG_ERROR) {
                snprintf (f->error, sizeof f->error, "%s",
                          wr_agent_message_string (msg, "message"));
                fake_data (f, 2, WR_AGENT_FLAG_END, 0, NULL, 0);
            } else {
                for (; off < len; off += 7) {
                    size_t n = len - off < 7 ? len - off : 7;
                    fake_data (f, 2, 0, off, f->request + off, n);
                }
                if (f->second) {
                    wr_agent_message_t *o = wr_agent_message_new (WR_AGENT_MSG_RELAY_OPEN);
                    wr_agent_message_set_string (o, "target", f->target);
                    fake_send (f, 4, 0, o);
                }
            }
        } else if (msg == NULL && frame.stream == 2) {
            if (f->reply_len + frame.length < sizeof f->reply) {
                memcpy (f->reply + f->reply_len, frame.payload, frame.length);
                f->reply_len += frame.length;
            }
            if (frame.length > 0) {
                wr_agent_message_t *w = wr_agent_message_new (WR_AGENT_MSG_WINDOW);
                wr_agent_message_set_int (w, "bytes", frame.length);
                fake_send (f, 2, 0, w);
            }
            if (frame.flags & WR_AGENT_FLAG_END) {
                /* warrend's direction ended: so does the sandbox's. */
                f->got_end = true;
                fake_data (f, 2, WR_AGENT_FLAG_END, len, NULL, 0);
            }
        } else if (frame.stream == 4 && (frame.flags & WR_AGENT_FLAG_END)) {
            f->idle_ended = true;
            if (msg == NULL)
                fake_data (f, 4, WR_AGENT_FLAG_END, 0, NULL, 0);
        }
        pthread_mutex_unlock (f->lock);
        wr_agent_message_free (msg);
    }
    wr_agent_decoder_free (f->dec);
    return NULL;
}

/* ---- the fixture ---- */

typedef struct {
    fake_server_t *srv;
    char dir[64];
    wr_store_t *store;
    wr_registry_t *registry;
    wr_mirror_t *mirror;
    wr_sandbox_relays_t *relays;
    wr_agent_client_t *client;
    pthread_mutex_t lock;
    fake_t fake;
    fake_t seen; /* a copy of FAKE (snap) */
} fixture_t;

/* What the fake has recorded so far, copied under its lock. */
static fake_t *
snap (fixture_t *t)
{
    pthread_mutex_lock (&t->lock);
    t->seen = t->fake;
    pthread_mutex_unlock (&t->lock);
    t->seen.reply[t->seen.reply_len] = '\0';
    return &t->seen;
}

static fixture_t *
start (const char *target, const char *request, bool second)
{
    fixture_t *t = xzalloc (sizeof *t);
    t->srv = fake_start_threaded (upstream, NULL);
    snprintf (t->dir, sizeof t->dir, "/tmp/warren-relay-XXXXXX");
    assert_non_null (mkdtemp (t->dir));
    t->store = wr_store_open (t->dir, NULL);
    assert_non_null (t->store);
    cleanup_free char *url = xasprintf ("http://127.0.0.1:%d", t->srv->port);
    wr_registry_options_t ropts = { .docker_io_mirror = url };
    t->registry = wr_registry_new (&ropts, NULL);
    assert_non_null (t->registry);
    wr_mirror_options_t mopts = { .registry = t->registry, .store = t->store };
    t->mirror = wr_mirror_new (&mopts, NULL);
    assert_non_null (t->mirror);
    t->relays = wr_sandbox_relays_new (t->mirror, "sb-test", NULL);
    int sv[2];
    assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    pthread_mutex_init (&t->lock, NULL);
    t->fake.lock = &t->lock;
    t->fake.fd = sv[1];
    t->fake.target = target;
    t->fake.request = request;
    t->fake.second = second;
    assert_int_equal (pthread_create (&t->fake.thread, NULL, fake_thread, &t->fake), 0);
    wr_agent_client_options_t opts = { .connect_timeout_ms = 5000,
                                       .accept = wr_sandbox_relay_accept,
                                       .accept_data = t->relays };
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_agent_client_open (sv[0], "fake agent", &opts, &t->client, &err), 0);
    return t;
}

/* Waits until the fake has warrend's END on the first relay (or 5 s). */
static void
wait_end (fixture_t *t)
{
    for (int i = 0; i < 500 && !snap (t)->got_end; i++)
        usleep (10000);
}

static void
stop (fixture_t *t)
{
    /* As the manager does: the client closed, then the relays, then the
     * client freed. */
    wr_agent_client_close (t->client);
    wr_sandbox_relays_free (t->relays);
    wr_agent_client_free (t->client);
    shutdown (t->fake.fd, SHUT_RDWR);
    pthread_join (t->fake.thread, NULL);
    close (t->fake.fd);
    wr_mirror_free (t->mirror);
    wr_registry_free (t->registry);
    wr_store_close (t->store);
    fake_stop (t->srv);
    pthread_mutex_destroy (&t->lock);
    cleanup_free char *cmd = xasprintf ("rm -rf '%s'", t->dir);
    assert_int_equal (system (cmd), 0);
    free (t);
}

static void
test_v2_through_a_relay (void **state)
{
    (void) state;
    fixture_t *t =
        start ("registry-mirror",
               "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:5999\r\nConnection: close\r\n\r\n", false);
    wait_end (t);
    assert_true (snap (t)->got_end);
    assert_string_equal (snap (t)->answer, "ok");
    assert_true (snap (t)->hello_relays);
    assert_true (strncmp (snap (t)->reply, "HTTP/1.1 200", 12) == 0);
    assert_int_equal (wr_sandbox_relays_total (t->relays), 1);
    stop (t);
}

static void
test_blob_through_a_relay (void **state)
{
    (void) state;
    /* A keep-alive connection: the manifest (so the mirror knows the
     * blob), then the blob, then the close. */
    cleanup_free char *req =
        xasprintf ("GET /v2/library/demo/manifests/latest HTTP/1.1\r\nHost: m\r\n"
                   "Accept: application/vnd.docker.distribution.manifest.v2+json\r\n\r\n"
                   "GET /v2/library/demo/blobs/%s HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n",
                   layer_digest);
    fixture_t *t = start ("registry-mirror", req, false);
    wait_end (t);
    assert_true (snap (t)->got_end);
    assert_true (strncmp (snap (t)->reply, "HTTP/1.1 200", 12) == 0);
    assert_non_null (strstr (snap (t)->reply, manifest_digest));
    const char *second = strstr (snap (t)->reply + 12, "HTTP/1.1 200");
    assert_non_null (second);
    assert_non_null (strstr (second, layer_body));
    wr_mirror_stats_t st;
    wr_mirror_stats (t->mirror, &st);
    assert_int_equal (st.blobs_fetched, 1);
    assert_int_equal (fake_count (t->srv, layer_digest), 1);
    /* The counters in /metrics's format. */
    char *text = NULL;
    wr_sandbox_relay_metrics (t->mirror, &text);
    assert_non_null (strstr (text, "warren_mirror_blobs_fetched_total 1\n"));
    assert_non_null (strstr (text, "warren_mirror_blobs_from_store_total 0\n"));
    free (text);
    stop (t);
}

static void
test_other_target_refused (void **state)
{
    (void) state;
    /* A relay to anything but the mirror breaks the protocol: the
     * connection closes and no relay starts. */
    fixture_t *t = start ("docker", "GET / HTTP/1.1\r\n\r\n", false);
    cleanup_error wr_error_t err = NULL;
    for (int i = 0; i < 500 && wr_agent_client_check (t->client, NULL) == 0; i++)
        usleep (10000);
    assert_int_equal (wr_agent_client_check (t->client, &err), -1);
    assert_non_null (strstr (err->message, "target"));
    assert_int_equal (wr_sandbox_relays_total (t->relays), 0);
    stop (t);
}

static void
test_idle_relay_ends_when_freed (void **state)
{
    (void) state;
    /* A second relay stays idle (dockerd's keep-alive): freeing the
     * relays after closing the client ends its thread. */
    fixture_t *t = start ("registry-mirror",
                          "GET /v2/ HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n", true);
    wait_end (t);
    for (int i = 0; i < 500 && wr_sandbox_relays_total (t->relays) < 2; i++)
        usleep (10000);
    assert_int_equal (wr_sandbox_relays_total (t->relays), 2);
    assert_true (wr_sandbox_relays_running (t->relays) >= 1);
    stop (t); /* returns: the idle relay's thread ended */
}

int
main (void)
{
    wr_sha256_digest (layer_body, strlen (layer_body), layer_digest);
    snprintf (manifest_body, sizeof manifest_body,
              "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest."
              "v2+json\",\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+"
              "json\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"application/"
              "vnd.docker.image.rootfs.diff.tar.gzip\",\"digest\":\"%s\",\"size\":%zu}]}",
              layer_digest, strlen (layer_body), layer_digest, strlen (layer_body));
    wr_sha256_digest (manifest_body, strlen (manifest_body), manifest_digest);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_v2_through_a_relay),
        cmocka_unit_test (test_blob_through_a_relay),
        cmocka_unit_test (test_other_target_refused),
        cmocka_unit_test (test_idle_relay_ends_when_freed),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
