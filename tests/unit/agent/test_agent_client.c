/* Unit tests of agent_client.c, agent_call.c and agent_stream.c: warrend's
 * client against a fake agent written here with the same protocol library,
 * over a real unix socket in a temporary directory.  The fake scripts its
 * answers (hellos, replies, data paced by windows, errors) and misbehaves
 * on purpose; what it sees of the client is checked too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent_client.h"
#include "cleanup.h"
#include "fs.h"
#include "xalloc.h"

typedef struct fake_s fake_t;
typedef void (*script_fn) (fake_t *f);

struct fake_s {
    char dir[64];
    char path[100];
    int listen_fd;
    int fd;
    pthread_t thread;
    script_fn script;
    int delay_ms; /* before listening */
    int64_t agent_window; /* in the fake's hello; 0: none */
    const char *versions; /* the hello's versions as JSON; NULL: [1] */
    wr_agent_decoder_t *dec;
    uint32_t host_window;
    char failure[512]; /* the first thing the fake found wrong */
    /* what scripts record */
    int64_t max_outstanding;
    uint64_t bytes;
    int cancels;
    char seen[512];
    bool joined;
};

__attribute__ ((format (printf, 2, 3))) static void
fake_fail (fake_t *f, const char *fmt, ...)
{
    if (f->failure[0] != '\0')
        return;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (f->failure, sizeof f->failure, fmt, ap);
    va_end (ap);
}

static void
fake_write (fake_t *f, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = send (f->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* the client closed: what the hostile cases expect */
        p += n;
        len -= (size_t) n;
    }
}

static void
fake_send (fake_t *f, uint32_t stream, uint8_t flags, wr_agent_message_t *msg)
{
    cleanup_agent_buf wr_agent_buf_t buf = { 0 };
    cleanup_error wr_error_t err = NULL;
    if (wr_agent_message_encode (&buf, 1, stream, flags, WR_AGENT_SIDE_AGENT, msg, &err) < 0)
        fake_fail (f, "encode: %s", err->message);
    fake_write (f, buf.data, buf.len);
    wr_agent_message_free (msg);
}

static void
fake_data (fake_t *f, uint32_t stream, uint8_t flags, uint8_t channel, uint64_t offset,
           const void *data, size_t len)
{
    cleanup_agent_buf wr_agent_buf_t buf = { 0 };
    assert_int_equal (
        wr_agent_data_encode (&buf, 1, stream, flags, channel, offset, data, len, NULL), 0);
    fake_write (f, buf.data, buf.len);
}

/* The client's next frame (its message decoded into *MSG): 1, or 0 at the
 * end of the connection. */
static int
fake_next (fake_t *f, wr_agent_frame_t *frame, wr_agent_message_t **msg)
{
    *msg = NULL;
    for (;;) {
        cleanup_error wr_error_t err = NULL;
        int r = wr_agent_decoder_next (f->dec, frame, &err);
        if (r < 0) {
            fake_fail (f, "decode: %s", err->message);
            return 0;
        }
        if (r == 1) {
            if (frame->type == WR_AGENT_FRAME_MESSAGE &&
                (*msg = wr_agent_message_decode (frame, WR_AGENT_SIDE_HOST, &err)) == NULL) {
                fake_fail (f, "message: %s", err->message);
                return 0;
            }
            return 1;
        }
        uint8_t buf[65536];
        ssize_t n = recv (f->fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        if (wr_agent_decoder_feed (f->dec, buf, (size_t) n, &err) < 0) {
            fake_fail (f, "feed: %s", err->message);
            return 0;
        }
    }
}

/* A message frame of JSON as it is, unchecked: what only warrend may send. */
static void
fake_raw_message (fake_t *f, uint32_t stream, uint8_t flags, const char *json)
{
    wr_agent_frame_t frame = { .version = 1,
                               .type = WR_AGENT_FRAME_MESSAGE,
                               .flags = flags,
                               .stream = stream,
                               .length = (uint32_t) strlen (json),
                               .payload = (const uint8_t *) json };
    cleanup_agent_buf wr_agent_buf_t buf = { 0 };
    assert_int_equal (wr_agent_frame_encode (&buf, &frame, NULL), 0);
    fake_write (f, buf.data, buf.len);
}

static void
fake_hello (fake_t *f)
{
    char json[256];
    int n =
        snprintf (json, sizeof json, "{\"type\":\"hello\",\"versions\":%s,\"software\":\"fake\"",
                  f->versions ? f->versions : "[1]");
    if (f->agent_window)
        n += snprintf (json + n, sizeof json - (size_t) n, ",\"window\":%lld",
                       (long long) f->agent_window);
    n += snprintf (json + n, sizeof json - (size_t) n, "}");
    (void) n;
    fake_raw_message (f, 0, 0, json);
    wr_agent_frame_t frame;
    cleanup_agent_message wr_agent_message_t *msg = NULL;
    if (!fake_next (f, &frame, &msg) || msg == NULL || msg->type != WR_AGENT_MSG_HELLO) {
        fake_fail (f, "no hello from the client");
        return;
    }
    f->host_window = (uint32_t) wr_agent_message_int (msg, "window", 4194304);
    wr_agent_decoder_set_version (f->dec, 1, NULL);
}

static void *
fake_thread (void *arg)
{
    fake_t *f = arg;
    if (f->delay_ms > 0)
        usleep ((useconds_t) f->delay_ms * 1000);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    snprintf (addr.sun_path, sizeof addr.sun_path, "%s", f->path);
    f->listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (bind (f->listen_fd, (struct sockaddr *) &addr, sizeof addr) < 0 ||
        listen (f->listen_fd, 4) < 0) {
        fake_fail (f, "listen: %s", strerror (errno));
        return NULL;
    }
    f->fd = accept (f->listen_fd, NULL, NULL);
    if (f->fd < 0) {
        fake_fail (f, "accept: %s", strerror (errno));
        return NULL;
    }
    fake_hello (f);
    if (f->failure[0] == '\0' && f->script != NULL) {
        f->script (f);
    } else {
        /* Until the client hangs up. */
        wr_agent_frame_t frame;
        wr_agent_message_t *msg;
        while (fake_next (f, &frame, &msg))
            wr_agent_message_free (msg);
    }
    close (f->fd);
    f->fd = -1;
    return NULL;
}

static fake_t *
fake_start (script_fn script)
{
    fake_t *f = xzalloc (sizeof *f);
    snprintf (f->dir, sizeof f->dir, "/tmp/test_agent_client.XXXXXX");
    assert_non_null (mkdtemp (f->dir));
    snprintf (f->path, sizeof f->path, "%s/agent.sock", f->dir);
    f->script = script;
    f->fd = f->listen_fd = -1;
    f->dec = wr_agent_decoder_new (WR_AGENT_SIDE_HOST);
    return f;
}

static void
fake_run (fake_t *f)
{
    assert_int_equal (pthread_create (&f->thread, NULL, fake_thread, f), 0);
}

/* Joins the fake, checks it found nothing wrong, and frees it. */
static void
fake_join (fake_t *f)
{
    if (!f->joined)
        pthread_join (f->thread, NULL);
    f->joined = true;
}

static void
fake_finish (fake_t *f)
{
    fake_join (f);
    if (f->failure[0] != '\0')
        fail_msg ("the fake agent: %s", f->failure);
    if (f->listen_fd >= 0)
        close (f->listen_fd);
    unlink (f->path);
    rmdir (f->dir);
    wr_agent_decoder_free (f->dec);
    free (f);
}

static wr_agent_client_t *
connect_to (fake_t *f, uint32_t window)
{
    wr_agent_client_options_t opts = { .connect_timeout_ms = 5000, .window = window };
    wr_agent_client_t *client = NULL;
    cleanup_error wr_error_t err = NULL;
    if (wr_agent_client_connect (f->path, &opts, &client, &err) < 0)
        fail_msg ("connect: %s", err->message);
    return client;
}

static void
expect_error (const wr_error_t err, wr_error_kind_t kind, const char *want)
{
    assert_non_null (err);
    if (strstr (err->message, want) == NULL)
        fail_msg ("error `%s` does not say `%s`", err->message, want);
    assert_int_equal (err->kind, kind);
}

static wr_agent_message_t *
exec_msg (const char *arg)
{
    char *argv[] = { (char *) "echo", (char *) arg, NULL };
    wr_agent_exec_t e = { .argv = argv };
    return wr_agent_exec_new (&e);
}

static wr_agent_message_t *
path_msg (wr_agent_msg_type_t type, const char *path)
{
    wr_agent_message_t *m = wr_agent_message_new (type);
    wr_agent_message_set_string (m, "path", path);
    return m;
}

/* Serves simple requests until the client goes: exec (started, named after
 * its stream), file.stat (not_found), ping (pong). */
static void
serve (fake_t *f)
{
    wr_agent_frame_t frame;
    wr_agent_message_t *msg;
    while (fake_next (f, &frame, &msg)) {
        cleanup_agent_message wr_agent_message_t *m = msg;
        if (m == NULL)
            continue;
        if (m->type == WR_AGENT_MSG_EXEC) {
            wr_agent_message_t *r = wr_agent_message_new (WR_AGENT_MSG_STARTED);
            char id[32];
            snprintf (id, sizeof id, "p%u", frame.stream);
            wr_agent_message_set_string (r, "process_id", id);
            wr_agent_message_set_int (r, "pid", frame.stream);
            fake_send (f, frame.stream, WR_AGENT_FLAG_END, r);
        } else if (m->type == WR_AGENT_MSG_FILE_STAT) {
            cleanup_error wr_error_t e = NULL;
            wr_error_set_kind (&e, WR_ERROR_NOT_FOUND, ENOENT, "stat `%s`",
                               wr_agent_message_string (m, "path"));
            fake_send (f, frame.stream, WR_AGENT_FLAG_END, wr_agent_error_new (e));
        } else if (m->type == WR_AGENT_MSG_PING) {
            fake_send (f, frame.stream, WR_AGENT_FLAG_END,
                       wr_agent_message_new (WR_AGENT_MSG_PONG));
        } else if (m->type == WR_AGENT_MSG_CANCEL) {
            f->cancels++;
        }
    }
}

static void
test_handshake (void **state)
{
    (void) state;
    fake_t *f = fake_start (NULL);
    fake_run (f);
    wr_agent_client_t *client = connect_to (f, 131072);
    assert_int_equal (wr_agent_client_version (client), 1);
    assert_string_equal (wr_agent_client_peer_software (client), "fake");
    assert_int_equal (wr_agent_client_check (client, NULL), 0);
    wr_agent_client_free (client);
    fake_join (f);
    assert_int_equal (f->host_window, 131072);
    fake_finish (f);
}

/* The fake speaks only versions 2 and 3: it reads the client's error. */
static void
mismatch_script (fake_t *f)
{
    wr_agent_frame_t frame;
    wr_agent_message_t *msg;
    if (fake_next (f, &frame, &msg) && msg != NULL) {
        if (msg->type == WR_AGENT_MSG_ERROR && frame.stream == 0 &&
            (frame.flags & WR_AGENT_FLAG_END))
            snprintf (f->seen, sizeof f->seen, "%s", wr_agent_message_string (msg, "message"));
        wr_agent_message_free (msg);
    }
}

static void
test_version_mismatch (void **state)
{
    (void) state;
    fake_t *f = fake_start (mismatch_script);
    f->versions = "[4,5]";
    fake_run (f);
    wr_agent_client_options_t opts = { .connect_timeout_ms = 5000 };
    wr_agent_client_t *client = NULL;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_agent_client_connect (f->path, &opts, &client, &err), -1);
    assert_null (client);
    expect_error (err, WR_ERROR_INVALID, "no common protocol version: the agent speaks 4, 5");
    assert_non_null (strstr (err->message, f->path));
    fake_join (f);
    /* The agent was told why, on stream 0 with END. */
    assert_non_null (strstr (f->seen, "no common protocol version"));
    fake_finish (f);
}

static void
test_request_reply (void **state)
{
    (void) state;
    fake_t *f = fake_start (serve);
    fake_run (f);
    wr_agent_client_t *client = connect_to (f, 0);
    cleanup_agent_message wr_agent_message_t *req = exec_msg ("hi");
    cleanup_agent_message wr_agent_message_t *reply = NULL;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_agent_client_request (client, req, 5000, &reply, &err), 0);
    assert_int_equal (reply->type, WR_AGENT_MSG_STARTED);
    assert_string_equal (wr_agent_message_string (reply, "process_id"), "p1");

    cleanup_agent_message wr_agent_message_t *stat = path_msg (WR_AGENT_MSG_FILE_STAT, "/nope");
    cleanup_agent_message wr_agent_message_t *none = NULL;
    assert_int_equal (wr_agent_client_request (client, stat, 5000, &none, &err), -1);
    assert_null (none);
    expect_error (err, WR_ERROR_NOT_FOUND, "the agent: stat `/nope`");
    assert_int_equal (err->errno_value, ENOENT);
    wr_error_free (&err);

    /* What the schemas refuse is not sent: started is the agent's. */
    cleanup_agent_message wr_agent_message_t *bad = wr_agent_message_new (WR_AGENT_MSG_STARTED);
    assert_null (wr_agent_call_open (client, bad, false, NULL, &err));
    expect_error (err, WR_ERROR_INVALID, "only the agent sends it");
    wr_agent_client_free (client);
    fake_finish (f);
}

typedef struct {
    wr_agent_client_t *client;
    int done;
    char failure[256];
} worker_t;

static void *
worker (void *arg)
{
    worker_t *w = arg;
    for (int i = 0; i < 200; i++) {
        cleanup_agent_message wr_agent_message_t *req = exec_msg ("x");
        cleanup_agent_call wr_agent_call_t *call =
            wr_agent_call_open (w->client, req, false, NULL, NULL);
        if (call == NULL) {
            snprintf (w->failure, sizeof w->failure, "open failed");
            return NULL;
        }
        wr_agent_item_t item;
        cleanup_error wr_error_t err = NULL;
        if (wr_agent_call_next (call, 10000, &item, &err) != 1 || item.message == NULL) {
            snprintf (w->failure, sizeof w->failure, "next: %s", err ? err->message : "no item");
            return NULL;
        }
        char want[32];
        snprintf (want, sizeof want, "p%u", wr_agent_call_stream (call));
        const char *got = wr_agent_message_string (item.message, "process_id");
        if (got == NULL || strcmp (got, want) != 0 || !item.end)
            snprintf (w->failure, sizeof w->failure, "stream %u got %s",
                      wr_agent_call_stream (call), got ? got : "(none)");
        wr_agent_item_clear (&item);
        if (wr_agent_call_next (call, 0, &item, NULL) != 0)
            snprintf (w->failure, sizeof w->failure, "an item after END");
        w->done++;
    }
    return NULL;
}

static void
test_eight_threads (void **state)
{
    (void) state;
    fake_t *f = fake_start (serve);
    fake_run (f);
    wr_agent_client_t *client = connect_to (f, 0);
    pthread_t t[8];
    worker_t w[8];
    memset (w, 0, sizeof w);
    for (int i = 0; i < 8; i++) {
        w[i].client = client;
        assert_int_equal (pthread_create (&t[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join (t[i], NULL);
        if (w[i].failure[0])
            fail_msg ("worker %d: %s", i, w[i].failure);
        assert_int_equal (w[i].done, 200);
    }
    wr_agent_client_free (client);
    fake_join (f);
    assert_int_equal (f->cancels, 0);
    fake_finish (f);
}

#define BIG (50u * 1024u * 1024u)

static uint8_t
pattern (uint64_t i)
{
    return (uint8_t) (i * 7 + i / 4093);
}

/* file.read of BIG bytes in frames of uneven sizes, never more than the
 * client's window outstanding; pings are answered while it waits. */
static void
big_read_script (fake_t *f)
{
    wr_agent_frame_t frame;
    wr_agent_message_t *msg;
    uint32_t stream = 0;
    while (stream == 0 && fake_next (f, &frame, &msg)) {
        if (msg != NULL && msg->type == WR_AGENT_MSG_FILE_READ)
            stream = frame.stream;
        wr_agent_message_free (msg);
    }
    wr_agent_message_t *info = path_msg (WR_AGENT_MSG_FILE_INFO, "/big");
    wr_agent_message_set_string (info, "file_type", "file");
    wr_agent_message_set_int (info, "size", BIG);
    wr_agent_message_set_int (info, "mode", 0644);
    wr_agent_message_set_int (info, "uid", 0);
    wr_agent_message_set_int (info, "gid", 0);
    fake_send (f, stream, 0, info);
    int64_t avail = f->host_window, granted_total = f->host_window;
    uint8_t *chunk = xmalloc (65536);
    uint64_t off = 0;
    unsigned k = 0;
    while (off < BIG) {
        if (avail == 0) {
            if (!fake_next (f, &frame, &msg)) {
                fake_fail (f, "the client went at offset %llu", (unsigned long long) off);
                break;
            }
            if (msg != NULL && msg->type == WR_AGENT_MSG_WINDOW && frame.stream == stream) {
                avail += wr_agent_message_int (msg, "bytes", 0);
                granted_total += wr_agent_message_int (msg, "bytes", 0);
            } else if (msg != NULL && msg->type == WR_AGENT_MSG_PING) {
                fake_send (f, frame.stream, WR_AGENT_FLAG_END,
                           wr_agent_message_new (WR_AGENT_MSG_PONG));
            } else {
                fake_fail (f, "unexpected %s", msg ? wr_agent_msg_type_name (msg->type) : "data");
            }
            wr_agent_message_free (msg);
            continue;
        }
        size_t n = 1000 + (k++ * 7919) % 40000;
        if ((int64_t) n > avail)
            n = (size_t) avail;
        if (n > BIG - off)
            n = BIG - off;
        for (size_t i = 0; i < n; i++)
            chunk[i] = pattern (off + i);
        fake_data (f, stream, off + n == BIG ? WR_AGENT_FLAG_END : 0, 0, off, chunk, n);
        off += n;
        avail -= (int64_t) n;
        int64_t outstanding = (int64_t) off - (granted_total - f->host_window);
        if (outstanding > f->max_outstanding)
            f->max_outstanding = outstanding;
    }
    free (chunk);
    f->bytes = off;
    serve (f);
}

static void
test_streamed_read (void **state)
{
    (void) state;
    fake_t *f = fake_start (big_read_script);
    fake_run (f);
    wr_agent_client_t *client = connect_to (f, 65536);
    cleanup_agent_message wr_agent_message_t *req = path_msg (WR_AGENT_MSG_FILE_READ, "/big");
    cleanup_error wr_error_t err = NULL;
    cleanup_agent_call wr_agent_call_t *call = wr_agent_call_open (client, req, false, NULL, &err);
    assert_non_null (call);
    wr_agent_item_t item;
    assert_int_equal (wr_agent_call_next (call, 5000, &item, &err), 1);
    assert_non_null (item.message);
    assert_int_equal (item.message->type, WR_AGENT_MSG_FILE_INFO);
    wr_agent_item_clear (&item);

    /* The read is stalled on its window: another stream still answers. */
    usleep (50000);
    cleanup_agent_message wr_agent_message_t *ping = wr_agent_message_new (WR_AGENT_MSG_PING);
    cleanup_agent_message wr_agent_message_t *pong = NULL;
    assert_int_equal (wr_agent_client_request (client, ping, 5000, &pong, &err), 0);
    assert_int_equal (pong->type, WR_AGENT_MSG_PONG);

    uint64_t off = 0;
    bool end = false;
    while (!end) {
        int r = wr_agent_call_next (call, 10000, &item, &err);
        if (r != 1)
            fail_msg ("next at %llu: %s", (unsigned long long) off, err ? err->message : "end");
        assert_null (item.message);
        assert_int_equal (item.channel, 0);
        assert_int_equal (item.offset, off);
        for (size_t i = 0; i < item.len; i++)
            if (item.data[i] != pattern (off + i))
                fail_msg ("byte %llu is wrong", (unsigned long long) (off + i));
        off += item.len;
        end = item.end;
        wr_agent_item_clear (&item);
    }
    assert_int_equal (off, BIG);
    assert_int_equal (wr_agent_call_next (call, 0, &item, &err), 0);
    wr_agent_call_free (call);
    call = NULL;
    wr_agent_client_free (client);
    fake_join (f);
    assert_int_equal (f->bytes, BIG);
    assert_true (f->max_outstanding <= 65536);
    assert_true (f->max_outstanding > 32768);
    fake_finish (f);
}

#define UPLOAD (10u * 1024u * 1024u + 12345u)

/* file.write: reads the body, giving the client 64 KiB of window at a
 * time and checking it never sends more. */
static void
upload_script (fake_t *f)
{
    wr_agent_frame_t frame;
    wr_agent_message_t *msg;
    uint32_t stream = 0;
    int64_t avail = f->agent_window;
    uint64_t off = 0;
    int64_t taken = 0;
    while (fake_next (f, &frame, &msg)) {
        cleanup_agent_message wr_agent_message_t *m = msg;
        if (m != NULL && m->type == WR_AGENT_MSG_FILE_WRITE) {
            stream = frame.stream;
            continue;
        }
        if (m != NULL || frame.stream != stream) {
            fake_fail (f, "unexpected frame on stream %u", frame.stream);
            return;
        }
        if (frame.offset != off)
            fake_fail (f, "offset %llu, not %llu", (unsigned long long) frame.offset,
                       (unsigned long long) off);
        if ((int64_t) frame.length > avail)
            fake_fail (f, "%u bytes over a window of %lld", frame.length, (long long) avail);
        for (uint32_t i = 0; i < frame.length; i++)
            if (frame.payload[i] != pattern (off + i)) {
                fake_fail (f, "byte %llu is wrong", (unsigned long long) (off + i));
                break;
            }
        avail -= frame.length;
        off += frame.length;
        taken += frame.length;
        if (taken >= 32768) {
            usleep (200); /* a slow disk */
            wr_agent_message_t *w = wr_agent_message_new (WR_AGENT_MSG_WINDOW);
            wr_agent_message_set_int (w, "bytes", taken);
            fake_send (f, stream, 0, w);
            avail += taken;
            taken = 0;
        }
        if (frame.flags & WR_AGENT_FLAG_END) {
            wr_agent_message_t *info = path_msg (WR_AGENT_MSG_FILE_INFO, "/up");
            wr_agent_message_set_string (info, "file_type", "file");
            wr_agent_message_set_int (info, "size", (int64_t) off);
            wr_agent_message_set_int (info, "mode", 0644);
            wr_agent_message_set_int (info, "uid", 0);
            wr_agent_message_set_int (info, "gid", 0);
            fake_send (f, stream, WR_AGENT_FLAG_END, info);
        }
    }
    f->bytes = off;
}

static void
test_upload (void **state)
{
    (void) state;
    fake_t *f = fake_start (upload_script);
    f->agent_window = 65536;
    fake_run (f);
    wr_agent_client_t *client = connect_to (f, 0);
    cleanup_agent_message wr_agent_message_t *req = path_msg (WR_AGENT_MSG_FILE_WRITE, "/up");
    cleanup_error wr_error_t err = NULL;
    cleanup_agent_call wr_agent_call_t *call = wr_agent_call_open (client, req, true, NULL, &err);
    assert_non_null (call);
    uint8_t *buf = xmalloc (UPLOAD);
    for (size_t i = 0; i < UPLOAD; i++)
        buf[i] = pattern (i);
    for (size_t off = 0; off < UPLOAD; off += 300000) {
        size_t n = UPLOAD - off < 300000 ? UPLOAD - off : 300000;
        if (wr_agent_call_send (call, buf + off, n, off + n == UPLOAD, 10000, &err) < 0)
            fail_msg ("send: %s", err->message);
    }
    free (buf);
    /* Its half has ended. */
    assert_int_equal (wr_agent_call_send (call, "x", 1, true, 1000, &err), -1);
    expect_error (err, WR_ERROR_INVALID, "warrend's half has ended");
    wr_error_free (&err);
    wr_agent_item_t item;
    assert_int_equal (wr_agent_call_next (call, 10000, &item, &err), 1);
    assert_non_null (item.message);
    if (item.message->type != WR_AGENT_MSG_FILE_INFO)
        fail_msg ("%s", json_object_to_json_string (item.message->json));
    assert_int_equal (wr_agent_message_int (item.message, "size", 0), UPLOAD);
    assert_true (item.end);
    wr_agent_item_clear (&item);
    wr_agent_call_free (call);
    call = NULL;
    wr_agent_client_free (client);
    fake_join (f);
    assert_int_equal (f->bytes, UPLOAD);
    fake_finish (f);
}

/* file.write refused after its first data frame. */
static void
refuse_upload_script (fake_t *f)
{
    wr_agent_frame_t frame;
    wr_agent_message_t *msg;
    bool refused = false;
    while (fake_next (f, &frame, &msg)) {
        cleanup_agent_message wr_agent_message_t *m = msg;
        if (m != NULL)
            continue;
        if (!refused) {
            cleanup_error wr_error_t e = NULL;
            wr_error_set_kind (&e, WR_ERROR_LIMIT, ENOSPC, "write `/up`");
            fake_send (f, frame.stream, WR_AGENT_FLAG_END, wr_agent_error_new (e));
            refused = true;
        }
        if (frame.flags & WR_AGENT_FLAG_END)
            snprintf (f->seen, sizeof f->seen, "END at %llu after %u bytes",
                      (unsigned long long) frame.offset, frame.length);
    }
}

static void
test_upload_refused (void **state)
{
    (void) state;
    fake_t *f = fake_start (refuse_upload_script);
    f->agent_window = 65536;
    fake_run (f);
    wr_agent_client_t *client = connect_to (f, 0);
    cleanup_agent_message wr_agent_message_t *req = path_msg (WR_AGENT_MSG_FILE_WRITE, "/up");
    cleanup_error wr_error_t err = NULL;
    wr_agent_call_t *call = wr_agent_call_open (client, req, true, NULL, &err);
    static uint8_t buf[300000];
    int r = 0;
    for (int i = 0; i < 100 && r == 0; i++)
        r = wr_agent_call_send (call, buf, sizeof buf, false, 5000, &err);
    assert_int_equal (r, -1);
    expect_error (err, WR_ERROR_UNAVAILABLE, "the agent ended it before its body was sent");
    wr_error_free (&err);
    wr_agent_item_t item;
    assert_int_equal (wr_agent_call_next (call, 5000, &item, &err), 1);
    assert_int_equal (item.message->type, WR_AGENT_MSG_ERROR);
    cleanup_error wr_error_t agent_err = NULL;
    wr_agent_error_from (item.message, WR_AGENT_SIDE_AGENT, &agent_err);
    expect_error (agent_err, WR_ERROR_LIMIT, "the agent: write `/up`");
    wr_agent_item_clear (&item);
    /* Freed with its body unfinished: an empty END closes warrend's half. */
    wr_agent_call_free (call);
    assert_int_equal (wr_agent_client_check (client, NULL), 0);
    wr_agent_client_free (client);
    fake_join (f);
    assert_string_equal (f->seen, "END at 65536 after 0 bytes");
    fake_finish (f);
}

/* output.read that follows: stdout until a cancel, then the error. */
static void
follow_script (fake_t *f)
{
    wr_agent_frame_t frame;
    wr_agent_message_t *msg;
    while (fake_next (f, &frame, &msg)) {
        cleanup_agent_message wr_agent_message_t *m = msg;
        if (m == NULL)
            continue;
        if (m->type == WR_AGENT_MSG_OUTPUT_READ) {
            for (int i = 0; i < 4; i++)
                fake_data (f, frame.stream, 0, 1, (uint64_t) i * 6, "line\n\n", 6);
        } else if (m->type == WR_AGENT_MSG_CANCEL) {
            f->cancels++;
            size_t len = strlen (f->seen);
            snprintf (f->seen + len, sizeof f->seen - len, "%u%s ", frame.stream,
                      frame.flags & WR_AGENT_FLAG_END ? "E" : "");
            /* More output raced the cancel. */
            fake_data (f, frame.stream, 0, 1, 24, "late\n", 5);
            cleanup_error wr_error_t e = NULL;
            wr_error_set_kind (&e, WR_ERROR_CANCELLED, 0, "cancelled");
            fake_send (f, frame.stream, WR_AGENT_FLAG_END, wr_agent_error_new (e));
        } else if (m->type == WR_AGENT_MSG_PING) {
            fake_send (f, frame.stream, WR_AGENT_FLAG_END,
                       wr_agent_message_new (WR_AGENT_MSG_PONG));
        }
    }
}

static wr_agent_message_t *
output_read_msg (void)
{
    wr_agent_message_t *m = wr_agent_message_new (WR_AGENT_MSG_OUTPUT_READ);
    wr_agent_message_set_string (m, "process_id", "p1");
    wr_agent_message_set_string (m, "stream", "stdout");
    wr_agent_message_set_bool (m, "follow", true);
    return m;
}

static void
test_cancel (void **state)
{
    (void) state;
    fake_t *f = fake_start (follow_script);
    fake_run (f);
    wr_agent_client_t *client = connect_to (f, 0);
    cleanup_error wr_error_t err = NULL;
    cleanup_agent_message wr_agent_message_t *req = output_read_msg ();
    wr_agent_call_t *call = wr_agent_call_open (client, req, false, NULL, &err);
    wr_agent_item_t item;
    assert_int_equal (wr_agent_call_next (call, 5000, &item, &err), 1);
    assert_int_equal (item.channel, 1);
    assert_int_equal (item.len, 6);
    assert_memory_equal (item.data, "line\n\n", 6);
    wr_agent_item_clear (&item);
    /* Nothing more for a while: a timeout says so, and the call goes on. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal (wr_agent_call_next (call, 5000, &item, &err), 1);
        wr_agent_item_clear (&item);
    }
    assert_int_equal (wr_agent_call_next (call, 50, &item, &err), -1);
    expect_error (err, WR_ERROR_UNAVAILABLE, "no answer on stream 1 (output.read) within 50 ms");
    assert_int_equal (err->errno_value, ETIMEDOUT);
    wr_error_free (&err);
    assert_int_equal (wr_agent_call_cancel (call, 5000, &err), 0);
    assert_int_equal (wr_agent_call_next (call, 0, &item, &err), 0);
    wr_agent_call_free (call);

    /* A token cancels a wait. */
    wr_cancel_t *token = wr_cancel_new (NULL, 0, NULL, NULL);
    call = wr_agent_call_open (client, req, false, token, &err);
    for (int i = 0; i < 4; i++) {
        assert_int_equal (wr_agent_call_next (call, 5000, &item, &err), 1);
        wr_agent_item_clear (&item);
    }
    wr_cancel_request (token);
    assert_int_equal (wr_agent_call_next (call, 5000, &item, &err), -1);
    expect_error (err, WR_ERROR_CANCELLED, "stream 3 (output.read)");
    wr_error_free (&err);
    /* Freed before the agent ended it: cancelled, the rest dropped. */
    wr_agent_call_free (call);
    wr_cancel_free (token);

    cleanup_agent_message wr_agent_message_t *ping = wr_agent_message_new (WR_AGENT_MSG_PING);
    cleanup_agent_message wr_agent_message_t *pong = NULL;
    assert_int_equal (wr_agent_client_request (client, ping, 5000, &pong, &err), 0);
    assert_int_equal (wr_agent_client_check (client, NULL), 0);
    wr_agent_client_free (client);
    fake_join (f);
    assert_int_equal (f->cancels, 2);
    assert_string_equal (f->seen, "1 3 ");
    fake_finish (f);
}

/* Reads three requests, then closes the connection. */
static void
close_script (fake_t *f)
{
    wr_agent_frame_t frame;
    wr_agent_message_t *msg;
    for (int n = 0; n < 3 && fake_next (f, &frame, &msg); n++)
        wr_agent_message_free (msg);
}

typedef struct {
    wr_agent_call_t *call;
    int r;
    wr_error_t err;
} waiter_t;

static void *
waiter (void *arg)
{
    waiter_t *w = arg;
    wr_agent_item_t item;
    w->r = wr_agent_call_next (w->call, 10000, &item, &w->err);
    if (w->r == 1)
        wr_agent_item_clear (&item);
    return NULL;
}

static void
test_agent_closes (void **state)
{
    (void) state;
    fake_t *f = fake_start (close_script);
    fake_run (f);
    wr_agent_client_t *client = connect_to (f, 0);
    cleanup_agent_message wr_agent_message_t *req = output_read_msg ();
    waiter_t w[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (waiter_t){ 0 };
        w[i].call = wr_agent_call_open (client, req, false, NULL, NULL);
        assert_non_null (w[i].call);
        assert_int_equal (pthread_create (&t[i], NULL, waiter, &w[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join (t[i], NULL);
        assert_int_equal (w[i].r, -1);
        expect_error (w[i].err, WR_ERROR_UNAVAILABLE, "the agent closed the connection");
        assert_non_null (strstr (w[i].err->message, f->path));
        wr_error_free (&w[i].err);
        wr_agent_call_free (w[i].call);
    }
    /* Later calls fail at once. */
    cleanup_error wr_error_t err = NULL;
    int64_t t0 = wr_monotonic_ms ();
    cleanup_agent_message wr_agent_message_t *ping = wr_agent_message_new (WR_AGENT_MSG_PING);
    cleanup_agent_message wr_agent_message_t *pong = NULL;
    assert_int_equal (wr_agent_client_request (client, ping, 5000, &pong, &err), -1);
    assert_true (wr_monotonic_ms () - t0 < 1000);
    expect_error (err, WR_ERROR_UNAVAILABLE, "the agent closed the connection");
    wr_error_free (&err);
    assert_int_equal (wr_agent_client_check (client, &err), -1);
    wr_agent_client_free (client);
    fake_finish (f);
}

/* The misbehaviour each hostile case scripts after the first request. */
static int hostile_case;

static void
hostile_script (fake_t *f)
{
    wr_agent_frame_t frame;
    wr_agent_message_t *msg;
    if (!fake_next (f, &frame, &msg))
        return;
    wr_agent_message_free (msg);
    uint32_t s = frame.stream;
    static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    static uint8_t big[70000];
    switch (hostile_case) {
    case 0: /* data on a stream warrend never opened */
        fake_data (f, s + 4, 0, 0, 0, "x", 1);
        break;
    case 1: { /* more data than the window */
        wr_agent_message_t *info = path_msg (WR_AGENT_MSG_FILE_INFO, "/f");
        wr_agent_message_set_string (info, "file_type", "file");
        wr_agent_message_set_int (info, "size", 80000);
        wr_agent_message_set_int (info, "mode", 0644);
        wr_agent_message_set_int (info, "uid", 0);
        wr_agent_message_set_int (info, "gid", 0);
        fake_send (f, s, 0, info);
        fake_data (f, s, 0, 0, 0, big, sizeof big);
        break;
    }
    case 2: /* not the protocol at all */
        fake_write (f, http, sizeof http - 1);
        break;
    case 3: /* an answer to another request */
        fake_send (f, s, WR_AGENT_FLAG_END, wr_agent_message_new (WR_AGENT_MSG_PONG));
        break;
    case 4: /* data where the request reads none */
        fake_data (f, s, 0, 1, 0, "x", 1);
        break;
    case 5: { /* the connection's error */
        cleanup_error wr_error_t e = NULL;
        wr_error_set_kind (&e, WR_ERROR_INTERNAL, 0, "out of \x1b[31mluck");
        fake_send (f, 0, WR_AGENT_FLAG_END, wr_agent_error_new (e));
        break;
    }
    case 6: /* a reply that is not the agent's to send */
        fake_raw_message (f, s, WR_AGENT_FLAG_END, "{\"type\":\"exec\",\"argv\":[\"sh\"]}");
        break;
    }
    /* Wait for the client to hang up. */
    while (fake_next (f, &frame, &msg))
        wr_agent_message_free (msg);
}

static void
test_hostile (void **state)
{
    (void) state;
    static const char *const want[] = {
        "protocol error: a data frame on stream 5, which warrend never opened",
        "protocol error: 70000 bytes of data on stream 1, over its window (65536 left)",
        "protocol error: the agent's frames: bad magic 0x47",
        "protocol error: a pong message on stream 1, which does not answer file.read",
        "protocol error: data on channel stdout of stream 1, which answers file.read",
        "the agent ended the connection: out of \\x1b[31mluck (internal)",
        "only warrend sends it",
    };
    for (hostile_case = 0; hostile_case < (int) (sizeof want / sizeof *want); hostile_case++) {
        fake_t *f = fake_start (hostile_script);
        fake_run (f);
        wr_agent_client_t *client = connect_to (f, 65536);
        cleanup_agent_message wr_agent_message_t *req = path_msg (WR_AGENT_MSG_FILE_READ, "/f");
        cleanup_error wr_error_t err = NULL;
        wr_agent_call_t *call = wr_agent_call_open (client, req, false, NULL, &err);
        wr_agent_item_t item;
        int r;
        while ((r = wr_agent_call_next (call, 10000, &item, &err)) == 1)
            wr_agent_item_clear (&item);
        assert_int_equal (r, -1);
        expect_error (err, WR_ERROR_UNAVAILABLE, want[hostile_case]);
        assert_non_null (strstr (err->message, f->path));
        wr_error_free (&err);
        wr_agent_call_free (call);
        assert_null (wr_agent_call_open (client, req, false, NULL, &err));
        expect_error (err, WR_ERROR_UNAVAILABLE, want[hostile_case]);
        wr_agent_client_free (client);
        fake_finish (f);
    }
}

#define LIST_MESSAGES 60

/* file.list answered with LIST_MESSAGES messages of about 100 KB: more
 * than the client holds for a caller that does not read. */
static void
list_script (fake_t *f)
{
    wr_agent_frame_t frame;
    wr_agent_message_t *msg;
    if (!fake_next (f, &frame, &msg))
        return;
    wr_agent_message_free (msg);
    char name[4001];
    memset (name, 'n', 4000);
    name[4000] = '\0';
    for (int i = 0; i < LIST_MESSAGES; i++) {
        json_object *entries = json_object_new_array ();
        for (int j = 0; j < 25; j++) {
            json_object *e = json_object_new_object ();
            json_object_object_add (e, "path", json_object_new_string (name));
            json_object_object_add (e, "file_type", json_object_new_string ("file"));
            json_object_object_add (e, "size", json_object_new_int (i));
            json_object_object_add (e, "mode", json_object_new_int (0644));
            json_object_object_add (e, "uid", json_object_new_int (0));
            json_object_object_add (e, "gid", json_object_new_int (0));
            json_object_array_add (entries, e);
        }
        wr_agent_message_t *m = wr_agent_message_new (WR_AGENT_MSG_FILE_ENTRIES);
        wr_agent_message_set_json (m, "entries", entries);
        wr_agent_message_set_bool (m, "truncated", false);
        fake_send (f, frame.stream, i == LIST_MESSAGES - 1 ? WR_AGENT_FLAG_END : 0, m);
    }
    f->bytes = (uint64_t) wr_monotonic_ms (); /* when the last was written */
    serve (f);
}

static void
test_messages_wait_for_their_reader (void **state)
{
    (void) state;
    fake_t *f = fake_start (list_script);
    fake_run (f);
    wr_agent_client_t *client = connect_to (f, 0);
    cleanup_agent_message wr_agent_message_t *req = path_msg (WR_AGENT_MSG_FILE_LIST, "/");
    wr_agent_call_t *call = wr_agent_call_open (client, req, false, NULL, NULL);
    assert_non_null (call);
    usleep (400000);
    int64_t reading = wr_monotonic_ms ();
    wr_agent_item_t item;
    cleanup_error wr_error_t err = NULL;
    for (int i = 0; i < LIST_MESSAGES; i++) {
        if (wr_agent_call_next (call, 10000, &item, &err) != 1)
            fail_msg ("message %d: %s", i, err ? err->message : "the end");
        assert_int_equal (item.message->type, WR_AGENT_MSG_FILE_ENTRIES);
        json_object *first =
            json_object_array_get_idx (wr_agent_message_get (item.message, "entries"), 0);
        assert_int_equal (json_object_get_int (json_object_object_get (first, "size")), i);
        assert_int_equal (item.end, i == LIST_MESSAGES - 1);
        wr_agent_item_clear (&item);
    }
    assert_int_equal (wr_agent_call_next (call, 0, &item, &err), 0);
    wr_agent_call_free (call);
    wr_agent_client_free (client);
    fake_join (f);
    /* The client stopped reading the socket while the caller did not take
     * its messages: the fake could not write them all before. */
    assert_true ((int64_t) f->bytes >= reading);
    fake_finish (f);
}

static void
test_connect_retries (void **state)
{
    (void) state;
    fake_t *f = fake_start (serve);
    f->delay_ms = 300;
    fake_run (f);
    int64_t t0 = wr_monotonic_ms ();
    wr_agent_client_t *client = connect_to (f, 0);
    assert_true (wr_monotonic_ms () - t0 >= 250);
    cleanup_agent_message wr_agent_message_t *ping = wr_agent_message_new (WR_AGENT_MSG_PING);
    cleanup_agent_message wr_agent_message_t *pong = NULL;
    assert_int_equal (wr_agent_client_request (client, ping, 5000, &pong, NULL), 0);
    wr_agent_client_free (client);
    fake_finish (f);
}

static void
test_connect_deadline (void **state)
{
    (void) state;
    char dir[] = "/tmp/test_agent_client.XXXXXX";
    assert_non_null (mkdtemp (dir));
    char path[100];
    snprintf (path, sizeof path, "%s/agent.sock", dir);
    wr_agent_client_options_t opts = { .connect_timeout_ms = 300 };
    wr_agent_client_t *client = NULL;
    cleanup_error wr_error_t err = NULL;
    int64_t t0 = wr_monotonic_ms ();
    assert_int_equal (wr_agent_client_connect (path, &opts, &client, &err), -1);
    int64_t took = wr_monotonic_ms () - t0;
    assert_true (took >= 300 && took < 3000);
    expect_error (err, WR_ERROR_UNAVAILABLE, "no agent listening within 300 ms");
    assert_non_null (strstr (err->message, path));
    assert_int_equal (err->errno_value, ETIMEDOUT);
    wr_error_free (&err);

    /* A socket nobody accepts on, and so no hello: the same deadline. */
    int fd = socket (AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    snprintf (addr.sun_path, sizeof addr.sun_path, "%s", path);
    assert_int_equal (bind (fd, (struct sockaddr *) &addr, sizeof addr), 0);
    assert_int_equal (listen (fd, 4), 0);
    assert_int_equal (wr_agent_client_connect (path, &opts, &client, &err), -1);
    expect_error (err, WR_ERROR_UNAVAILABLE, "no hello within 300 ms");
    close (fd);
    unlink (path);
    rmdir (dir);
}

/* The agent opens relays: refused without a callback; with one, echoed. */
static void
relay_script (fake_t *f)
{
    wr_agent_message_t *open = wr_agent_message_new (WR_AGENT_MSG_RELAY_OPEN);
    wr_agent_message_set_string (open, "target", "registry-mirror");
    fake_send (f, 2, 0, open);
    fake_data (f, 2, 0, 0, 0, "GET /v2/", 8);
    wr_agent_frame_t frame;
    wr_agent_message_t *msg;
    size_t len = 0;
    while (fake_next (f, &frame, &msg)) {
        if (msg != NULL) {
            len += (size_t) snprintf (f->seen + len, sizeof f->seen - len, "%u:%s%s ", frame.stream,
                                      wr_agent_msg_type_name (msg->type),
                                      frame.flags & WR_AGENT_FLAG_END ? "E" : "");
            wr_agent_message_free (msg);
        } else {
            len += (size_t) snprintf (f->seen + len, sizeof f->seen - len, "%u:%.*s%s ",
                                      frame.stream, (int) frame.length, frame.payload,
                                      frame.flags & WR_AGENT_FLAG_END ? "E" : "");
            if (frame.flags & WR_AGENT_FLAG_END)
                fake_data (f, frame.stream, WR_AGENT_FLAG_END, 0, 8, NULL, 0);
        }
        if (frame.stream == 2 && (frame.flags & WR_AGENT_FLAG_END)) {
            /* The refused stream ended; open one more. */
            wr_agent_message_t *o = wr_agent_message_new (WR_AGENT_MSG_RELAY_OPEN);
            wr_agent_message_set_string (o, "target", "registry-mirror");
            fake_send (f, 4, 0, o);
            fake_data (f, 2, WR_AGENT_FLAG_END, 0, 8, NULL, 0);
            fake_data (f, 4, 0, 0, 0, "GET /v2/", 8);
        }
    }
}

static pthread_mutex_t relay_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t relay_cond = PTHREAD_COND_INITIALIZER;
static wr_agent_call_t *relay_call;
static int relay_offers;

static int
accept_relay (void *data, wr_agent_call_t *call, const wr_agent_message_t *request, wr_error_t *err)
{
    (void) data;
    assert_int_equal (request->type, WR_AGENT_MSG_RELAY_OPEN);
    pthread_mutex_lock (&relay_lock);
    int first = relay_offers++ == 0;
    if (!first) {
        relay_call = call;
        pthread_cond_signal (&relay_cond);
    }
    pthread_mutex_unlock (&relay_lock);
    if (first)
        return wr_error_set_kind (err, WR_ERROR_LIMIT, 0, "not now");
    return 0;
}

static void
test_relay (void **state)
{
    (void) state;
    fake_t *f = fake_start (relay_script);
    fake_run (f);
    wr_agent_client_options_t opts = { .connect_timeout_ms = 5000, .accept = accept_relay };
    wr_agent_client_t *client = NULL;
    assert_int_equal (wr_agent_client_connect (f->path, &opts, &client, NULL), 0);
    pthread_mutex_lock (&relay_lock);
    while (relay_call == NULL)
        pthread_cond_wait (&relay_cond, &relay_lock);
    wr_agent_call_t *call = relay_call;
    pthread_mutex_unlock (&relay_lock);
    cleanup_error wr_error_t err = NULL;
    cleanup_agent_message wr_agent_message_t *ok = wr_agent_message_new (WR_AGENT_MSG_OK);
    assert_int_equal (wr_agent_call_send_message (call, ok, false, &err), 0);
    wr_agent_item_t item;
    assert_int_equal (wr_agent_call_next (call, 5000, &item, &err), 1);
    assert_int_equal (item.len, 8);
    assert_memory_equal (item.data, "GET /v2/", 8);
    wr_agent_item_clear (&item);
    assert_int_equal (wr_agent_call_send (call, "200 OK", 6, true, 5000, &err), 0);
    assert_int_equal (wr_agent_call_next (call, 5000, &item, &err), 1);
    assert_true (item.end);
    assert_int_equal (item.len, 0);
    wr_agent_item_clear (&item);
    assert_int_equal (wr_agent_call_next (call, 5000, &item, &err), 0);
    wr_agent_call_free (call);
    wr_agent_client_free (client);
    fake_join (f);
    assert_string_equal (f->seen, "2:errorE 4:ok 4:200 OKE ");
    fake_finish (f);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_handshake),
        cmocka_unit_test (test_version_mismatch),
        cmocka_unit_test (test_request_reply),
        cmocka_unit_test (test_eight_threads),
        cmocka_unit_test (test_streamed_read),
        cmocka_unit_test (test_upload),
        cmocka_unit_test (test_cancel),
        cmocka_unit_test (test_agent_closes),
        cmocka_unit_test (test_hostile),
        cmocka_unit_test (test_connect_retries),
        cmocka_unit_test (test_connect_deadline),
        cmocka_unit_test (test_relay),
        cmocka_unit_test (test_messages_wait_for_their_reader),
        cmocka_unit_test (test_upload_refused),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
