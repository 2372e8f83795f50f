/* The agent's loop: the listening socket, its connections (the handshake,
 * decoding, streams and windows, the bounded output queue) and the poll()
 * over everything else the agent watches (signals, processes' pipes,
 * tunnels, dockerd's ping).  See agent.h for who holds what. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "log.h"
#include "xalloc.h"

#define MAX_POLL 1024
#ifndef WARREN_VERSION
#define WARREN_VERSION "dev"
#endif

long long
agent_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
agent_wake (agent_t *agent)
{
    uint64_t one = 1;
    (void) !write (agent->wake_fd, &one, sizeof one);
}

int
agent_listen (agent_t *agent, wr_error_t *err)
{
    const char *path = agent->options.socket_path;
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen (path) >= sizeof addr.sun_path)
        return wr_error_set (err, 0, "the agent socket path `%s` is too long", path);
    strcpy (addr.sun_path, path);
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return wr_error_set (err, errno, "socket for `%s`", path);
    /* A socket left by an earlier run (or before a checkpoint). */
    struct stat st;
    if (lstat (path, &st) == 0 && S_ISSOCK (st.st_mode))
        unlink (path);
    mode_t old = umask (0177);
    int r = bind (fd, (struct sockaddr *) &addr, sizeof addr);
    umask (old);
    if (r < 0 || chmod (path, 0600) < 0 || listen (fd, 16) < 0) {
        int saved = errno;
        close (fd);
        return wr_error_set (err, saved, "listen on `%s`", path);
    }
    agent->listen_fd = fd;
    return 0;
}

void
agent_unlisten (agent_t *agent)
{
    if (agent->listen_fd >= 0)
        close (agent->listen_fd);
    agent->listen_fd = -1;
}

static agent_stream_t *
stream_find (agent_conn_t *conn, uint32_t id)
{
    for (agent_stream_t *s = conn->streams; s; s = s->next)
        if (s->id == id)
            return s;
    return NULL;
}

static void
conn_fail (agent_conn_t *conn, const wr_error_t error)
{
    if (conn->closing || conn->fd < 0)
        return;
    wr_log (WR_LOG_WARN, "agent connection: protocol error", "error", error->message, NULL);
    cleanup_agent_message wr_agent_message_t *msg = wr_agent_error_new (error);
    cleanup_error wr_error_t err = NULL;
    if (wr_agent_message_encode (&conn->out, conn->version ? conn->version : 1, 0,
                                 WR_AGENT_FLAG_END, WR_AGENT_SIDE_AGENT, msg, &err) < 0)
        wr_log (WR_LOG_WARN, "agent: cannot encode an error", "error", err->message, NULL);
    conn->closing = true;
    conn->close_deadline_ms = agent_now_ms () + 2000;
}

static void
send_frame_msg (agent_conn_t *conn, uint32_t id, wr_agent_message_t *msg, bool end)
{
    cleanup_error wr_error_t err = NULL;
    if (wr_agent_message_encode (&conn->out, conn->version, id, end ? WR_AGENT_FLAG_END : 0,
                                 WR_AGENT_SIDE_AGENT, msg, &err) < 0) {
        wr_log (WR_LOG_ERROR, "agent: a message of ours does not encode", "error", err->message,
                NULL);
        cleanup_agent_message wr_agent_message_t *e = wr_agent_error_new (err);
        wr_error_free (&err);
        if (wr_agent_message_encode (&conn->out, conn->version, id, WR_AGENT_FLAG_END,
                                     WR_AGENT_SIDE_AGENT, e, &err) < 0)
            conn_fail (conn, err);
    }
}

/* Our END: the stream leaves the connection (frames the peer still sends
 * on it are ignored). */
static void
stream_end (agent_stream_t *stream)
{
    stream->we_ended = true;
    agent_conn_t *conn = stream->conn;
    for (agent_stream_t **p = &conn->streams; *p; p = &(*p)->next) {
        if (*p == stream) {
            *p = stream->next;
            stream->next = NULL;
            if (stream->kind == STREAM_TUNNEL)
                agent_tunnel_close (stream);
            pthread_cond_broadcast (&conn->agent->cond);
            agent_stream_unref (stream);
            return;
        }
    }
}

void
agent_send (agent_stream_t *stream, wr_agent_message_t *msg, bool end)
{
    if (!stream->we_ended && stream->conn->fd >= 0 && !stream->conn->closing)
        send_frame_msg (stream->conn, stream->id, msg, end);
    wr_agent_message_free (msg);
    if (end && !stream->we_ended)
        stream_end (stream);
}

void
agent_send_error (agent_stream_t *stream, wr_error_kind_t kind, int errno_value, const char *fmt,
                  ...)
{
    va_list ap;
    va_start (ap, fmt);
    cleanup_error wr_error_t err = NULL;
    wr_error_setv (&err, errno_value, fmt, ap);
    va_end (ap);
    wr_error_retag (&err, kind);
    agent_send (stream, wr_agent_error_new (err), true);
}

void
agent_send_data (agent_stream_t *stream, uint8_t channel, uint64_t offset, const void *data,
                 size_t n, bool end)
{
    agent_conn_t *conn = stream->conn;
    if (stream->we_ended)
        return;
    if (conn->fd >= 0 && !conn->closing) {
        cleanup_error wr_error_t err = NULL;
        if (wr_agent_data_encode (&conn->out, (uint8_t) conn->version, stream->id,
                                  end ? WR_AGENT_FLAG_END : 0, channel, offset, data, n, &err) < 0)
            conn_fail (conn, err);
        stream->send_window -= (int64_t) n;
    }
    if (end)
        stream_end (stream);
}

bool
agent_stream_can_send (const agent_stream_t *stream)
{
    return !stream->we_ended && stream->send_window > 0 && stream->conn->fd >= 0 &&
           !stream->conn->closing && stream->conn->out.len < AGENT_OUT_HIGH;
}

void
agent_stream_consumed (agent_stream_t *stream, size_t n)
{
    stream->unacked += n;
    /* Grant in batches, or at once when the body is drained. */
    if (stream->unacked == 0 || stream->peer_ended || stream->we_ended)
        return;
    if (stream->unacked < AGENT_WINDOW / 4 && stream->body.len > 0)
        return;
    wr_agent_message_t *msg = wr_agent_message_new (WR_AGENT_MSG_WINDOW);
    wr_agent_message_set_int (msg, "bytes", (int64_t) stream->unacked);
    stream->recv_window += (int64_t) stream->unacked;
    stream->unacked = 0;
    agent_send (stream, msg, false);
}

static void
conn_close (agent_conn_t *conn)
{
    if (conn->fd < 0)
        return;
    close (conn->fd);
    conn->fd = -1;
    while (conn->streams) {
        agent_stream_t *s = conn->streams;
        s->cancelled = true;
        stream_end (s);
    }
    wr_agent_buf_clear (&conn->out);
    pthread_cond_broadcast (&conn->agent->cond);
}

agent_stream_t *
agent_stream_open (agent_conn_t *conn, uint32_t id, wr_agent_message_t *msg, bool end)
{
    agent_stream_t *s = xzalloc (sizeof *s);
    s->conn = conn;
    s->id = id;
    s->refs = 1;
    s->peer_ended = end;
    s->send_window = conn->peer_window;
    s->recv_window = AGENT_WINDOW;
    s->request = msg;
    s->fd = -1;
    s->deadline_ms = -1;
    s->next = conn->streams;
    conn->streams = s;
    conn->refs++;
    return s;
}

static void
handle_request (agent_conn_t *conn, uint32_t id, wr_agent_message_t *msg, bool end)
{
    agent_t *agent = conn->agent;
    agent_stream_t *s = agent_stream_open (conn, id, msg, end);
    switch (msg->type) {
    case WR_AGENT_MSG_PING:
        agent_send (s, wr_agent_message_new (WR_AGENT_MSG_PONG), true);
        break;
    case WR_AGENT_MSG_EXEC:
        agent_process_exec (agent, s);
        break;
    case WR_AGENT_MSG_PROCESS_STATUS:
    case WR_AGENT_MSG_PROCESS_WAIT:
    case WR_AGENT_MSG_PROCESS_SIGNAL:
    case WR_AGENT_MSG_PROCESS_KILL:
    case WR_AGENT_MSG_PROCESS_RESIZE:
    case WR_AGENT_MSG_PROCESS_LIST:
    case WR_AGENT_MSG_PROCESS_REMOVE:
    case WR_AGENT_MSG_OUTPUT_READ:
    case WR_AGENT_MSG_STDIN:
        agent_process_request (agent, s);
        break;
    case WR_AGENT_MSG_FILE_READ:
    case WR_AGENT_MSG_FILE_WRITE:
    case WR_AGENT_MSG_FILE_STAT:
    case WR_AGENT_MSG_FILE_LIST:
    case WR_AGENT_MSG_FILE_MKDIR:
    case WR_AGENT_MSG_FILE_REMOVE:
    case WR_AGENT_MSG_FILE_RENAME:
    case WR_AGENT_MSG_FILE_CHMOD:
    case WR_AGENT_MSG_FILE_CHOWN:
    case WR_AGENT_MSG_FILE_FIND:
    case WR_AGENT_MSG_FILE_REPLACE:
        agent_worker_start (s);
        break;
    case WR_AGENT_MSG_DOCKER_WATCH:
        agent_docker_watch (agent, s);
        break;
    case WR_AGENT_MSG_TUNNEL_OPEN:
        agent_tunnel_open (agent, s);
        break;
    case WR_AGENT_MSG_CHECKPOINT_PREPARE:
        agent_send (s, wr_agent_message_new (WR_AGENT_MSG_OK), true);
        /* After the ok is out, every host-side socket closes (agent_run). */
        agent_unlisten (agent);
        for (agent_conn_t *c = agent->conns; c; c = c->next)
            if (!c->closing) {
                c->closing = true;
                c->close_deadline_ms = agent_now_ms () + 2000;
            }
        wr_log (WR_LOG_INFO, "agent: checkpoint prepared; SIGUSR2 makes it listen again", NULL);
        break;
    case WR_AGENT_MSG_CHECKPOINT_RESUME:
        agent_send (s, wr_agent_message_new (WR_AGENT_MSG_OK), true);
        break;
    default:
        agent_send_error (s, WR_ERROR_INVALID, 0, "the agent does not serve %s requests",
                          wr_agent_msg_type_name (msg->type));
        break;
    }
}

static int
handle_hello (agent_conn_t *conn, const wr_agent_frame_t *frame, wr_error_t *err)
{
    cleanup_agent_message wr_agent_message_t *hello =
        wr_agent_message_decode (frame, WR_AGENT_SIDE_HOST, err);
    if (hello == NULL)
        return -1;
    unsigned version;
    if (wr_agent_negotiate (hello, WR_AGENT_SIDE_HOST, &version, err) < 0 ||
        wr_agent_decoder_set_version (conn->dec, version, err) < 0)
        return -1;
    conn->version = version;
    conn->peer_window = wr_agent_message_int (hello, "window", AGENT_WINDOW);
    conn->relays = wr_agent_message_bool (hello, "relays", false);
    return 0;
}

static int
handle_data (agent_conn_t *conn, const wr_agent_frame_t *frame, wr_error_t *err)
{
    agent_stream_t *s = stream_find (conn, frame->stream);
    if (s == NULL) {
        if (frame->stream % 2 == 1 ? frame->stream <= conn->max_stream
                                   : frame->stream <= conn->last_relay)
            return 0; /* a stream we ended already */
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "warrend's data frame on stream %u, which is not open",
                                  frame->stream);
    }
    if (s->peer_ended)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "warrend's data frame on stream %u after its END", s->id);
    if (frame->channel != WR_AGENT_CHANNEL_BODY || frame->offset != s->recv_offset)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "warrend's data frame on stream %u: channel %u offset %llu, "
                                  "expected channel 0 offset %llu",
                                  s->id, frame->channel, (unsigned long long) frame->offset,
                                  (unsigned long long) s->recv_offset);
    if ((int64_t) frame->length > s->recv_window)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "warrend sent %u bytes on stream %u beyond its window of %lld",
                                  frame->length, s->id, (long long) s->recv_window);
    s->recv_window -= frame->length;
    s->recv_offset += frame->length;
    if (frame->flags & WR_AGENT_FLAG_END)
        s->peer_ended = true;
    if (s->kind == STREAM_SIMPLE)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "warrend sent a body on stream %u, whose request has none",
                                  s->id);
    wr_agent_buf_append (&s->body, frame->payload, frame->length);
    pthread_cond_broadcast (&conn->agent->cond);
    return 0;
}

static int
handle_message (agent_conn_t *conn, const wr_agent_frame_t *frame, wr_error_t *err)
{
    wr_agent_message_t *msg = wr_agent_message_decode (frame, WR_AGENT_SIDE_HOST, err);
    if (msg == NULL)
        return -1;
    bool end = (frame->flags & WR_AGENT_FLAG_END) != 0;
    agent_stream_t *s = frame->stream ? stream_find (conn, frame->stream) : NULL;
    wr_agent_msg_type_t type = msg->type;
    if (frame->stream == 0) {
        /* A hello again, or warrend's fatal error. */
        if (type == WR_AGENT_MSG_ERROR) {
            wr_log (WR_LOG_WARN, "agent connection: warrend reported an error", "message",
                    wr_agent_message_string (msg, "message"), NULL);
            wr_agent_message_free (msg);
            conn_close (conn);
            return 0;
        }
        wr_agent_message_free (msg);
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "warrend's %s message on stream 0",
                                  wr_agent_msg_type_name (type));
    }
    if (frame->stream % 2 == 1 && s == NULL && frame->stream > conn->max_stream) {
        /* A new stream must open with a request. */
        if (type == WR_AGENT_MSG_ERROR || type == WR_AGENT_MSG_OK || type == WR_AGENT_MSG_CANCEL ||
            type == WR_AGENT_MSG_WINDOW || type == WR_AGENT_MSG_PONG) {
            wr_agent_message_free (msg);
            return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                      "warrend's %s message on stream %u, which is not open",
                                      wr_agent_msg_type_name (type), frame->stream);
        }
        conn->max_stream = frame->stream;
        handle_request (conn, frame->stream, msg, end);
        return 0;
    }
    if (frame->stream % 2 == 1 && s == NULL) {
        /* A stream we have ended: cancel and window may still come. */
        wr_agent_message_free (msg);
        return 0;
    }
    if (s == NULL && frame->stream <= conn->last_relay) {
        /* A relay we have ended. */
        wr_agent_message_free (msg);
        return 0;
    }
    if (s == NULL) {
        /* Agent-opened streams are relays (agent_relay.c): nothing may
         * arrive on an even id we have not opened. */
        wr_agent_message_free (msg);
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "warrend's %s message on stream %u, which is not open",
                                  wr_agent_msg_type_name (type), frame->stream);
    }
    if (s->relay && (type == WR_AGENT_MSG_OK || type == WR_AGENT_MSG_ERROR)) {
        agent_relay_answer (s, msg, end);
        wr_agent_message_free (msg);
        return 0;
    }
    switch (type) {
    case WR_AGENT_MSG_WINDOW:
        s->send_window += wr_agent_message_int (msg, "bytes", 0);
        pthread_cond_broadcast (&conn->agent->cond);
        break;
    case WR_AGENT_MSG_CANCEL:
        s->cancelled = true;
        pthread_cond_broadcast (&conn->agent->cond);
        if (s->kind != STREAM_WORKER)
            agent_send_error (s, WR_ERROR_CANCELLED, 0, "stream %u was cancelled", s->id);
        break;
    default:
        wr_agent_message_free (msg);
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "warrend's %s message on stream %u, which is open already",
                                  wr_agent_msg_type_name (type), frame->stream);
    }
    wr_agent_message_free (msg);
    return 0;
}

static void
conn_read (agent_conn_t *conn)
{
    uint8_t buf[65536];
    for (int rounds = 0; rounds < 16 && conn->fd >= 0 && !conn->closing; rounds++) {
        ssize_t n = read (conn->fd, buf, sizeof buf);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            conn_close (conn);
            return;
        }
        cleanup_error wr_error_t err = NULL;
        if (wr_agent_decoder_feed (conn->dec, buf, (size_t) n, &err) < 0) {
            conn_fail (conn, err);
            return;
        }
        wr_agent_frame_t frame;
        int r;
        while (conn->fd >= 0 && !conn->closing &&
               (r = wr_agent_decoder_next (conn->dec, &frame, &err)) == 1) {
            int ok;
            if (conn->version == 0)
                ok = handle_hello (conn, &frame, &err);
            else if (frame.type == WR_AGENT_FRAME_DATA)
                ok = handle_data (conn, &frame, &err);
            else
                ok = handle_message (conn, &frame, &err);
            if (ok < 0) {
                conn_fail (conn, err);
                return;
            }
        }
        if (r < 0) {
            conn_fail (conn, err);
            return;
        }
    }
}

static void
conn_write (agent_conn_t *conn)
{
    while (conn->fd >= 0 && conn->out.len > 0) {
        ssize_t n = send (conn->fd, conn->out.data, conn->out.len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            conn_close (conn);
            return;
        }
        wr_agent_buf_consume (&conn->out, (size_t) n);
        pthread_cond_broadcast (&conn->agent->cond);
    }
    if (conn->fd >= 0 && conn->closing && conn->out.len == 0)
        conn_close (conn);
}

static void
accept_conn (agent_t *agent)
{
    int fd = accept4 (agent->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    agent_conn_t *conn = xzalloc (sizeof *conn);
    conn->agent = agent;
    conn->fd = fd;
    conn->refs = 1;
    conn->dec = wr_agent_decoder_new (WR_AGENT_SIDE_HOST);
    cleanup_agent_message wr_agent_message_t *hello =
        wr_agent_hello_new ("warren-init " WARREN_VERSION);
    wr_agent_message_set_int (hello, "window", AGENT_WINDOW);
    cleanup_error wr_error_t err = NULL;
    if (wr_agent_message_encode (&conn->out, WR_AGENT_HELLO_VERSION, 0, 0, WR_AGENT_SIDE_AGENT,
                                 hello, &err) < 0)
        wr_log (WR_LOG_ERROR, "agent: our hello does not encode", "error", err->message, NULL);
    conn->next = agent->conns;
    agent->conns = conn;
}

void
agent_conn_unref (agent_conn_t *conn)
{
    if (--conn->refs > 0)
        return;
    wr_agent_decoder_free (conn->dec);
    wr_agent_buf_clear (&conn->out);
    free (conn);
}

/* Drops closed connections from the list (freed once no worker holds them). */
static void
conns_sweep (agent_t *agent)
{
    for (agent_conn_t **p = &agent->conns; *p;) {
        agent_conn_t *c = *p;
        if (c->fd < 0) {
            *p = c->next;
            agent_conn_unref (c);
        } else {
            p = &c->next;
        }
    }
}

static void
handle_signals (agent_t *agent, const int *signals, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int signo = signals[i];
        if (signo == SIGUSR2) {
            if (agent->listen_fd < 0) {
                cleanup_error wr_error_t err = NULL;
                if (agent_listen (agent, &err) < 0)
                    wr_log (WR_LOG_ERROR, err->message, NULL);
                else
                    wr_log (WR_LOG_INFO, "agent: listening again (SIGUSR2)", "socket",
                            agent->options.socket_path, NULL);
            }
        } else if (agent->main_pid > 0 && !agent->main_exited) {
            if (signal_should_forward (signo))
                kill (agent->main_pid, signo);
        } else if (signo == SIGTERM || signo == SIGINT) {
            agent->stop = true;
        }
    }
}

/* One turn of every stream that has work of its own. */
static void
streams_tick (agent_t *agent, long long now, int *timeout)
{
    for (agent_conn_t *c = agent->conns; c; c = c->next) {
        agent_stream_t *next;
        for (agent_stream_t *s = c->streams; s; s = next) {
            next = s->next;
            switch (s->kind) {
            case STREAM_READER:
            case STREAM_WAIT:
            case STREAM_STDIN:
                agent_process_tick (agent, s, now, timeout);
                break;
            case STREAM_TUNNEL:
                agent_tunnel_tick (s);
                break;
            case STREAM_DOCKER:
                agent_docker_tick (agent, s);
                break;
            default:
                break;
            }
        }
    }
}

int
agent_run (agent_t *agent)
{
    struct pollfd *fds = xzalloc (MAX_POLL * sizeof *fds);
    agent_stream_t **tunnels = xzalloc (MAX_POLL * sizeof *tunnels);
    pthread_mutex_lock (&agent->lock);
    while (!agent->stop && !(agent->main_pid > 0 && agent->main_exited)) {
        long long now = agent_now_ms ();
        int timeout = -1;
        streams_tick (agent, now, &timeout);
        for (agent_conn_t *c = agent->conns; c; c = c->next) {
            if (c->fd >= 0 && c->out.len > 0)
                conn_write (c);
            if (c->fd >= 0 && c->closing && now >= c->close_deadline_ms)
                conn_close (c);
        }
        conns_sweep (agent);

        size_t n = 0;
        fds[n++] = (struct pollfd){ .fd = agent->reaper->signal_fd, .events = POLLIN };
        fds[n++] = (struct pollfd){ .fd = agent->wake_fd, .events = POLLIN };
        fds[n++] = (struct pollfd){ .fd = agent->listen_fd, .events = POLLIN };
        size_t relay_at = n;
        if (agent->relay_fd >= 0)
            fds[n++] = (struct pollfd){ .fd = agent->relay_fd, .events = POLLIN };
        size_t conn_start = n;
        for (agent_conn_t *c = agent->conns; c && n < MAX_POLL; c = c->next) {
            short ev = (c->closing ? 0 : POLLIN) | (c->out.len > 0 ? POLLOUT : 0);
            fds[n++] = (struct pollfd){ .fd = c->fd, .events = ev };
            if (c->closing)
                timeout = timeout < 0 || timeout > 100 ? 100 : timeout;
        }
        size_t tunnel_start = n;
        for (agent_conn_t *c = agent->conns; c; c = c->next)
            for (agent_stream_t *s = c->streams; s && n < MAX_POLL; s = s->next)
                if (s->kind == STREAM_TUNNEL && agent_tunnel_poll_fd (s, &fds[n]) > 0)
                    tunnels[n++] = s;
        size_t proc_start = n;
        n += agent_process_poll_fds (agent, fds + n, MAX_POLL - n, now, &timeout);
        size_t docker_start = n;
        n += agent_docker_poll_fds (agent, fds + n, MAX_POLL - n, now, &timeout);

        pthread_mutex_unlock (&agent->lock);
        int r = poll (fds, n, timeout);
        pthread_mutex_lock (&agent->lock);
        if (r < 0 && errno != EINTR) {
            wr_log (WR_LOG_ERROR, "agent: poll failed", "error", strerror (errno), NULL);
            break;
        }
        now = agent_now_ms ();
        if (fds[0].revents) {
            int signals[REAPER_MAX_SIGNALS];
            size_t n_signals = 0;
            cleanup_error wr_error_t err = NULL;
            if (reaper_poll (agent->reaper, -1, 0, signals, &n_signals, NULL, &err) == 0)
                handle_signals (agent, signals, n_signals);
        }
        if (fds[1].revents) {
            uint64_t v;
            (void) !read (agent->wake_fd, &v, sizeof v);
        }
        size_t i = conn_start;
        for (agent_conn_t *c = agent->conns; c && i < tunnel_start; c = c->next, i++) {
            if (fds[i].fd != c->fd || c->fd < 0)
                continue;
            if (fds[i].revents & POLLOUT)
                conn_write (c);
            if (c->fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                conn_read (c);
        }
        for (i = tunnel_start; i < proc_start; i++)
            if (fds[i].revents)
                agent_tunnel_event (tunnels[i], fds[i].revents);
        agent_process_events (agent, fds + proc_start, docker_start - proc_start, now);
        agent_docker_events (agent, fds + docker_start, n - docker_start, now);
        /* Last, as it adds to the list the loops above walk. */
        if (fds[2].revents && agent->listen_fd >= 0)
            accept_conn (agent);
        if (relay_at < conn_start && fds[relay_at].revents)
            agent_relay_accept (agent);
        conns_sweep (agent);
    }
    int code =
        agent->main_pid > 0 && agent->main_exited ? exit_code_from_status (agent->main_status) : 0;
    for (agent_conn_t *c = agent->conns; c; c = c->next)
        conn_close (c);
    conns_sweep (agent);
    pthread_mutex_unlock (&agent->lock);
    free (fds);
    free (tunnels);
    return code;
}
