#include "agent_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent_client_private.h"
#include "cleanup.h"
#include "xalloc.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 10000
/* A waiter with a cancellation token looks at it this often. */
#define CANCEL_SLICE_MS 20
#define FLUSH_MS 200

static void
monotonic_timespec (int64_t ms, struct timespec *ts)
{
    ts->tv_sec = (time_t) (ms / 1000);
    ts->tv_nsec = (long) (ms % 1000) * 1000000L;
}

bool
wr_agent_client_wait_locked (wr_agent_client_t *client, pthread_cond_t *cond, int64_t deadline_ms,
                             const wr_cancel_t *cancel)
{
    int64_t until = deadline_ms;
    if (cancel != NULL) {
        int64_t now = wr_monotonic_ms ();
        int64_t slice = now + CANCEL_SLICE_MS;
        if (until < 0 || slice < until)
            until = slice;
    }
    if (until < 0) {
        pthread_cond_wait (cond, &client->lock);
        return true;
    }
    struct timespec ts;
    monotonic_timespec (until, &ts);
    pthread_cond_timedwait (cond, &client->lock, &ts);
    return deadline_ms < 0 || wr_monotonic_ms () < deadline_ms;
}

void
wr_agent_client_wake_locked (wr_agent_client_t *client)
{
    char c = 1;
    if (client->wake[1] >= 0 && write (client->wake[1], &c, 1) < 0) {
        /* EAGAIN: a wake-up is already pending. */
    }
}

int
wr_agent_client_failed_error (const wr_agent_client_t *client, wr_error_t *err)
{
    const wr_error_t f = client->failure;
    return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0, "%s",
                              f != NULL && f->message != NULL ? f->message : "the agent failed");
}

void
wr_agent_client_fail_locked (wr_agent_client_t *client, wr_error_t *why)
{
    if (client->failure != NULL) {
        wr_error_free (why);
        return;
    }
    const char *reason = why != NULL && *why != NULL ? (*why)->message : "unknown error";
    wr_error_set_kind (&client->failure, WR_ERROR_UNAVAILABLE, 0, "the agent at `%s`: %s",
                       client->path, reason);
    wr_error_free (why);
    if (!client->closing)
        wr_log_to (client->log, WR_LOG_WARN, "agent connection failed", "socket", client->path,
                   "error", client->failure->message, NULL);
    for (wr_agent_call_t *c = client->calls; c != NULL; c = c->next)
        pthread_cond_broadcast (&c->cond);
    pthread_cond_broadcast (&client->out_cond);
    if (client->fd >= 0)
        shutdown (client->fd, SHUT_RDWR);
    wr_agent_client_wake_locked (client);
}

static int
check_out_locked (wr_agent_client_t *client, size_t before, wr_error_t *err)
{
    if (client->out.len > WR_AGENT_OUT_MAX) {
        wr_error_t why = NULL;
        wr_error_set_kind (&why, WR_ERROR_UNAVAILABLE, 0,
                           "the agent does not read: %zu bytes wait to be sent", client->out.len);
        wr_agent_client_fail_locked (client, &why);
        return wr_agent_client_failed_error (client, err);
    }
    if (before == 0)
        wr_agent_client_wake_locked (client);
    return 0;
}

int
wr_agent_client_queue_message_locked (wr_agent_client_t *client, uint32_t stream, uint8_t flags,
                                      const wr_agent_message_t *msg, wr_error_t *err)
{
    if (client->failure != NULL)
        return wr_agent_client_failed_error (client, err);
    size_t before = client->out.len;
    if (wr_agent_message_encode (&client->out, client->version, stream, flags, WR_AGENT_SIDE_HOST,
                                 msg, err) < 0)
        return -1;
    return check_out_locked (client, before, err);
}

int
wr_agent_client_queue_data_locked (wr_agent_client_t *client, uint32_t stream, uint8_t flags,
                                   uint64_t offset, const void *data, size_t len, wr_error_t *err)
{
    if (client->failure != NULL)
        return wr_agent_client_failed_error (client, err);
    size_t before = client->out.len;
    if (wr_agent_data_encode (&client->out, (uint8_t) client->version, stream, flags,
                              WR_AGENT_CHANNEL_BODY, offset, data, len, err) < 0)
        return -1;
    return check_out_locked (client, before, err);
}

/* The thread's frames: the held one first, then what the decoder has. */
static void
drain_frames_locked (wr_agent_client_t *client)
{
    cleanup_error wr_error_t err = NULL;
    if (client->held) {
        int r = wr_agent_stream_frame_locked (client, &client->held_frame, &err);
        if (r == 0)
            return;
        client->held = false;
        if (r < 0)
            goto fail;
    }
    while (client->failure == NULL) {
        wr_agent_frame_t frame;
        int r = wr_agent_decoder_next (client->dec, &frame, &err);
        if (r == 0)
            return;
        if (r < 0)
            goto fail;
        r = wr_agent_stream_frame_locked (client, &frame, &err);
        if (r < 0)
            goto fail;
        if (r == 0) {
            client->held = true;
            client->held_frame = frame;
            return;
        }
    }
    return;
fail:
    wr_error_prefix (&err, "protocol error");
    wr_agent_client_fail_locked (client, &err);
    err = NULL;
}

static void
write_out_locked (wr_agent_client_t *client)
{
    while (client->out.len > 0) {
        ssize_t n =
            send (client->fd, client->out.data, client->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0) {
            wr_error_t why = NULL;
            wr_error_set_kind (&why, WR_ERROR_UNAVAILABLE, errno, "write to the socket");
            wr_agent_client_fail_locked (client, &why);
            return;
        }
        wr_agent_buf_consume (&client->out, (size_t) n);
    }
    if (client->out.len <= WR_AGENT_OUT_HIGH)
        pthread_cond_broadcast (&client->out_cond);
}

/* Reads what the socket has; false once it is closed or failed. */
static void
read_in (wr_agent_client_t *client)
{
    ssize_t n = recv (client->fd, client->rbuf, WR_AGENT_READ_SIZE, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    pthread_mutex_lock (&client->lock);
    cleanup_error wr_error_t err = NULL;
    if (n < 0) {
        wr_error_set_kind (&err, WR_ERROR_UNAVAILABLE, errno, "read from the socket");
    } else if (n == 0) {
        if (wr_agent_decoder_finish (client->dec, &err) == 0)
            wr_error_set_kind (&err, WR_ERROR_UNAVAILABLE, 0, "the agent closed the connection");
        else
            wr_error_prefix (&err, "the agent closed the connection");
    } else if (wr_agent_decoder_feed (client->dec, client->rbuf, (size_t) n, &err) == 0) {
        drain_frames_locked (client);
    }
    if (err != NULL) {
        wr_agent_client_fail_locked (client, &err);
        err = NULL;
    }
    pthread_mutex_unlock (&client->lock);
}

/* On close: what is queued (a cancel, an END) goes out if the agent takes
 * it within FLUSH_MS. */
static void
flush_locked (wr_agent_client_t *client)
{
    int64_t until = wr_monotonic_ms () + FLUSH_MS;
    while (client->out.len > 0 && client->failure == NULL) {
        write_out_locked (client);
        int64_t left = until - wr_monotonic_ms ();
        if (client->out.len == 0 || left <= 0)
            break;
        struct pollfd p = { .fd = client->fd, .events = POLLOUT };
        pthread_mutex_unlock (&client->lock);
        poll (&p, 1, (int) left);
        pthread_mutex_lock (&client->lock);
    }
}

static void *
client_thread (void *arg)
{
    wr_agent_client_t *client = arg;
    pthread_mutex_lock (&client->lock);
    drain_frames_locked (client); /* what came with the hello */
    for (;;) {
        if (client->closing && client->failure == NULL) {
            flush_locked (client);
            wr_error_t why = NULL;
            wr_error_set_kind (&why, WR_ERROR_UNAVAILABLE, 0, "the connection was closed");
            wr_agent_client_fail_locked (client, &why);
        }
        if (client->failure != NULL)
            break;
        struct pollfd pfd[2] = {
            { .fd = client->fd, .events = 0 },
            { .fd = client->wake[0], .events = POLLIN },
        };
        if (!client->held)
            pfd[0].events |= POLLIN;
        if (client->out.len > 0)
            pfd[0].events |= POLLOUT;
        if (pfd[0].events == 0)
            pfd[0].fd = -1; /* a hang-up waits for the held frame's room */
        pthread_mutex_unlock (&client->lock);
        int r = poll (pfd, 2, -1);
        if (r < 0 && errno != EINTR) {
            pthread_mutex_lock (&client->lock);
            wr_error_t why = NULL;
            wr_error_set_kind (&why, WR_ERROR_INTERNAL, errno, "poll");
            wr_agent_client_fail_locked (client, &why);
            break;
        }
        if (r > 0 && (pfd[1].revents & POLLIN)) {
            char drain[64];
            while (read (client->wake[0], drain, sizeof drain) > 0) {
            }
        }
        if (r > 0 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) && !client->held)
            read_in (client);
        pthread_mutex_lock (&client->lock);
        if (client->held && client->failure == NULL)
            drain_frames_locked (client);
        if (client->out.len > 0 && client->failure == NULL)
            write_out_locked (client);
    }
    pthread_mutex_unlock (&client->lock);
    return NULL;
}

/* Connects a non-blocking socket to PATH: 0, or -1 with errno. */
static int
connect_once (const char *path, int *out)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    memcpy (addr.sun_path, path, strlen (path) + 1);
    cleanup_close int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0) {
        if (errno != EINPROGRESS)
            return -1;
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int e = 0;
        socklen_t el = sizeof e;
        if (poll (&p, 1, 100) <= 0 || getsockopt (fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e) {
            errno = e ? e : EAGAIN;
            return -1;
        }
    }
    *out = fd;
    fd = -1;
    return 0;
}

static int
timeout_error (const char *path, int64_t timeout_ms, const char *doing, wr_error_t *err)
{
    return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, ETIMEDOUT,
                              "the agent at `%s`: %s within %lld ms", path, doing,
                              (long long) timeout_ms);
}

/* Sends warrend's hello and reads the agent's; then negotiates. */
static int
handshake (wr_agent_client_t *client, const char *software, int64_t deadline, int64_t timeout_ms,
           wr_error_t *err)
{
    cleanup_agent_message wr_agent_message_t *hello = wr_agent_hello_new (software);
    wr_agent_message_set_int (hello, "window", client->window);
    if (client->accept != NULL)
        wr_agent_message_set_bool (hello, "relays", true);
    cleanup_agent_buf wr_agent_buf_t buf = { 0 };
    if (wr_agent_message_encode (&buf, WR_AGENT_HELLO_VERSION, 0, 0, WR_AGENT_SIDE_HOST, hello,
                                 err) < 0)
        return -1;
    cleanup_agent_message wr_agent_message_t *theirs = NULL;
    while (theirs == NULL || buf.len > 0) {
        int64_t left = deadline - wr_monotonic_ms ();
        if (left <= 0)
            return timeout_error (client->path, timeout_ms, "no hello", err);
        struct pollfd p = { .fd = client->fd,
                            .events = (short) ((theirs == NULL ? POLLIN : 0) |
                                               (buf.len > 0 ? POLLOUT : 0)) };
        if (poll (&p, 1, (int) left) < 0 && errno != EINTR)
            return wr_error_set (err, errno, "poll");
        if (p.revents & POLLOUT) {
            ssize_t n = send (client->fd, buf.data, buf.len, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, errno,
                                          "the agent at `%s`: send the hello", client->path);
            if (n > 0)
                wr_agent_buf_consume (&buf, (size_t) n);
        }
        if (theirs == NULL && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = recv (client->fd, client->rbuf, WR_AGENT_READ_SIZE, MSG_DONTWAIT);
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, errno,
                                          "the agent at `%s`: read its hello", client->path);
            if (n == 0)
                return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                                          "the agent at `%s`: the connection closed before "
                                          "its hello",
                                          client->path);
            wr_agent_frame_t frame;
            int r = 0;
            if (n > 0 && (wr_agent_decoder_feed (client->dec, client->rbuf, (size_t) n, err) < 0 ||
                          (r = wr_agent_decoder_next (client->dec, &frame, err)) < 0))
                return wr_error_prefix (err, "the agent at `%s`: its hello", client->path);
            if (r == 1 &&
                (theirs = wr_agent_message_decode (&frame, WR_AGENT_SIDE_AGENT, err)) == NULL)
                return wr_error_prefix (err, "the agent at `%s`", client->path);
        }
    }
    cleanup_error wr_error_t why = NULL;
    if (wr_agent_negotiate (theirs, WR_AGENT_SIDE_AGENT, &client->version, &why) < 0) {
        /* Tell the agent, as it would tell warrend; best effort. */
        cleanup_agent_message wr_agent_message_t *e = wr_agent_error_new (why);
        if (wr_agent_message_encode (&buf, WR_AGENT_HELLO_VERSION, 0, WR_AGENT_FLAG_END,
                                     WR_AGENT_SIDE_HOST, e, NULL) == 0 &&
            send (client->fd, buf.data, buf.len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        }
        wr_error_prefix (&why, "the agent at `%s`", client->path);
        return wr_error_propagate (err, &why);
    }
    if (wr_agent_decoder_set_version (client->dec, client->version, err) < 0)
        return -1;
    client->peer_window =
        (uint32_t) wr_agent_message_int (theirs, "window", WR_AGENT_DEFAULT_WINDOW);
    const char *sw = wr_agent_message_string (theirs, "software");
    client->peer_software = xstrdup (sw != NULL ? sw : "");
    return 0;
}

static int
connect_socket (wr_agent_client_t *client, int64_t deadline, int64_t timeout_ms, wr_error_t *err)
{
    int64_t pause = 5;
    for (;;) {
        if (connect_once (client->path, &client->fd) == 0)
            return 0;
        int e = errno;
        if (e != ENOENT && e != ECONNREFUSED && e != EAGAIN)
            return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, e, "the agent at `%s`: connect",
                                      client->path);
        int64_t left = deadline - wr_monotonic_ms ();
        if (left <= 0)
            return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, ETIMEDOUT,
                                      "the agent at `%s`: no agent listening within %lld ms "
                                      "(last: %s)",
                                      client->path, (long long) timeout_ms, strerror (e));
        struct timespec ts;
        monotonic_timespec (pause < left ? pause : left, &ts);
        nanosleep (&ts, NULL);
        if (pause < 50)
            pause *= 2;
    }
}

static int
start_thread (wr_agent_client_t *client, wr_error_t *err)
{
    sigset_t all, old;
    sigfillset (&all);
    pthread_sigmask (SIG_SETMASK, &all, &old);
    int e = pthread_create (&client->thread, NULL, client_thread, client);
    pthread_sigmask (SIG_SETMASK, &old, NULL);
    if (e != 0)
        return wr_error_set (err, e, "the agent at `%s`: start its thread", client->path);
    client->thread_started = true;
    return 0;
}

/* A client named NAME (the socket's path) with its options checked. */
static wr_agent_client_t *
client_new (const char *name, const wr_agent_client_options_t *opts, wr_error_t *err)
{
    uint32_t window = opts->window ? opts->window : WR_AGENT_DEFAULT_WINDOW;
    if (window < 65536 || window > INT32_MAX) {
        wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                           "the agent at `%s`: a window of %u bytes is not 65536 to 2^31-1", name,
                           window);
        return NULL;
    }
    cleanup_agent_client wr_agent_client_t *client = xzalloc (sizeof *client);
    client->path = xstrdup (name);
    client->log = opts->log;
    client->accept = opts->accept;
    client->accept_data = opts->accept_data;
    client->window = window;
    client->fd = -1;
    client->wake[0] = client->wake[1] = -1;
    client->next_stream = 1;
    pthread_mutex_init (&client->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init (&attr);
    pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
    pthread_cond_init (&client->out_cond, &attr);
    pthread_condattr_destroy (&attr);
    client->dec = wr_agent_decoder_new (WR_AGENT_SIDE_AGENT);
    client->rbuf = xmalloc (WR_AGENT_READ_SIZE);
    if (pipe2 (client->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        wr_error_set (err, errno, "the agent at `%s`: pipe", name);
        return NULL;
    }
    return steal_pointer (&client);
}

/* The handshake on CLIENT's socket, then its thread. */
static int
client_start (wr_agent_client_t **clientp, const wr_agent_client_options_t *opts, int64_t deadline,
              int64_t timeout, wr_agent_client_t **out, wr_error_t *err)
{
    wr_agent_client_t *client = *clientp;
    if (handshake (client, opts->software != NULL ? opts->software : "warrend", deadline, timeout,
                   err) < 0 ||
        start_thread (client, err) < 0)
        return -1;
    char version[16];
    snprintf (version, sizeof version, "%u", client->version);
    wr_log_to (client->log, WR_LOG_DEBUG, "agent connected", "socket", client->path, "version",
               version, "software", client->peer_software, NULL);
    *out = steal_pointer (clientp);
    return 0;
}

static int64_t
connect_timeout (const wr_agent_client_options_t *opts)
{
    return opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
}

int
wr_agent_client_connect (const char *socket_path, const wr_agent_client_options_t *opts,
                         wr_agent_client_t **out, wr_error_t *err)
{
    static const wr_agent_client_options_t none = { 0 };
    if (opts == NULL)
        opts = &none;
    *out = NULL;
    if (strlen (socket_path) >= sizeof ((struct sockaddr_un *) 0)->sun_path)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "the agent at `%s`: the socket's path is too long", socket_path);
    cleanup_agent_client wr_agent_client_t *client = client_new (socket_path, opts, err);
    if (client == NULL)
        return -1;
    int64_t timeout = connect_timeout (opts);
    int64_t deadline = wr_monotonic_ms () + timeout;
    if (connect_socket (client, deadline, timeout, err) < 0)
        return -1;
    return client_start (&client, opts, deadline, timeout, out, err);
}

int
wr_agent_client_open (int fd, const char *name, const wr_agent_client_options_t *opts,
                      wr_agent_client_t **out, wr_error_t *err)
{
    static const wr_agent_client_options_t none = { 0 };
    if (opts == NULL)
        opts = &none;
    *out = NULL;
    cleanup_agent_client wr_agent_client_t *client = client_new (name, opts, err);
    if (client == NULL) {
        close (fd);
        return -1;
    }
    client->fd = fd;
    int flags = fcntl (fd, F_GETFL);
    if (flags < 0 || fcntl (fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return wr_error_set (err, errno, "the agent at `%s`: make the socket non-blocking", name);
    int64_t timeout = connect_timeout (opts);
    return client_start (&client, opts, wr_monotonic_ms () + timeout, timeout, out, err);
}

void
wr_agent_client_close (wr_agent_client_t *client)
{
    if (client == NULL)
        return;
    pthread_mutex_lock (&client->lock);
    client->closing = true;
    bool join = client->thread_started;
    client->thread_started = false;
    wr_agent_client_wake_locked (client);
    /* The thread flushes what is queued, then fails every waiter; without
     * one, fail here. */
    if (!join && client->failure == NULL) {
        wr_error_t why = NULL;
        wr_error_set_kind (&why, WR_ERROR_UNAVAILABLE, 0, "the connection was closed");
        wr_agent_client_fail_locked (client, &why);
    }
    pthread_mutex_unlock (&client->lock);
    if (join)
        pthread_join (client->thread, NULL);
}

void
wr_agent_client_free (wr_agent_client_t *client)
{
    if (client == NULL)
        return;
    wr_agent_client_close (client);
    /* What is left are orphans: calls freed before the agent ended them. */
    while (client->calls != NULL)
        wr_agent_call_destroy_locked (client->calls);
    if (client->fd >= 0)
        close (client->fd);
    for (int i = 0; i < 2; i++)
        if (client->wake[i] >= 0)
            close (client->wake[i]);
    wr_agent_buf_clear (&client->out);
    wr_agent_decoder_free (client->dec);
    wr_error_free (&client->failure);
    pthread_cond_destroy (&client->out_cond);
    pthread_mutex_destroy (&client->lock);
    free (client->rbuf);
    free (client->peer_software);
    free (client->path);
    free (client);
}

unsigned
wr_agent_client_version (const wr_agent_client_t *client)
{
    return client->version;
}

const char *
wr_agent_client_peer_software (const wr_agent_client_t *client)
{
    return client->peer_software != NULL ? client->peer_software : "";
}

int
wr_agent_client_check (wr_agent_client_t *client, wr_error_t *err)
{
    pthread_mutex_lock (&client->lock);
    int r = client->failure != NULL ? wr_agent_client_failed_error (client, err) : 0;
    pthread_mutex_unlock (&client->lock);
    return r;
}
