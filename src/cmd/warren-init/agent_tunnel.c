/* tunnel.open: a connection inside the sandbox (dockerd's unix socket, or
 * 127.0.0.1:PORT) relayed as data frames of channel 0 both ways.  The
 * socket is read only while the stream's window and the connection's
 * queue have room, so a slow peer slows the tunnel, not the agent.
 *
 * The stream leaves the connection with our END, so the END of the
 * direction from the sandbox waits until warrend's direction has ended too
 * (a socket that closes first is kept half-open meanwhile). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"

#define DOCKER_SOCKET "/var/run/docker.sock"

static int
connect_target (const wr_agent_message_t *req, wr_error_t *err)
{
    bool tcp = strcmp (wr_agent_message_string (req, "target"), "tcp") == 0;
    int port = (int) wr_agent_message_int (req, "port", 0);
    int fd = socket (tcp ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return wr_error_set (err, errno, "socket");
    int r;
    if (tcp) {
        struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
        addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        r = connect (fd, (struct sockaddr *) &addr, sizeof addr);
    } else {
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        strcpy (addr.sun_path, DOCKER_SOCKET);
        r = connect (fd, (struct sockaddr *) &addr, sizeof addr);
    }
    if (r < 0) {
        int saved = errno;
        close (fd);
        wr_error_kind_t kind = saved == ENOENT || saved == ECONNREFUSED
                                   ? WR_ERROR_UNAVAILABLE
                                   : wr_error_kind_of_errno (saved);
        if (tcp)
            return wr_error_set_kind (err, kind, saved, "connect to 127.0.0.1:%d in the sandbox",
                                      port);
        return wr_error_set_kind (err, kind, saved, "connect to %s", DOCKER_SOCKET);
    }
    fcntl (fd, F_SETFL, O_NONBLOCK);
    return fd;
}

void
agent_tunnel_open (agent_t *agent, agent_stream_t *s)
{
    (void) agent;
    s->kind = STREAM_TUNNEL;
    wr_error_t err = NULL;
    int fd = connect_target (s->request, &err);
    if (fd < 0) {
        agent_send (s, wr_agent_error_new (err), true);
        wr_error_free (&err);
        return;
    }
    s->fd = fd;
    agent_send (s, wr_agent_message_new (WR_AGENT_MSG_OK), false);
}

void
agent_tunnel_close (agent_stream_t *s)
{
    if (s->fd >= 0)
        close (s->fd);
    s->fd = -1;
}

/* s->follow marks the socket's end of file (the stream has no other use
 * for it). */
size_t
agent_tunnel_poll_fd (agent_stream_t *s, struct pollfd *fd)
{
    if (s->fd < 0 || s->relay_waiting)
        return 0;
    short ev = 0;
    if (!s->follow && agent_stream_can_send (s))
        ev |= POLLIN;
    if (s->body.len > 0 && !s->fd_write_shut)
        ev |= POLLOUT;
    if (ev == 0)
        return 0;
    *fd = (struct pollfd){ .fd = s->fd, .events = ev };
    return 1;
}

static void
tunnel_flush (agent_stream_t *s)
{
    while (s->fd >= 0 && s->body.len > 0 && !s->fd_write_shut) {
        ssize_t n = send (s->fd, s->body.data, s->body.len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) {
            /* The sandbox's side is gone: drop what warrend still sends. */
            s->fd_write_shut = true;
            agent_stream_consumed (s, s->body.len);
            wr_agent_buf_clear (&s->body);
            return;
        }
        wr_agent_buf_consume (&s->body, (size_t) n);
        agent_stream_consumed (s, (size_t) n);
    }
    if (s->fd >= 0 && s->peer_ended && s->body.len == 0 && !s->fd_write_shut) {
        shutdown (s->fd, SHUT_WR);
        s->fd_write_shut = true;
    }
}

void
agent_tunnel_event (agent_stream_t *s, short revents)
{
    if (revents & POLLOUT)
        tunnel_flush (s);
    if (!(revents & (POLLIN | POLLHUP | POLLERR)) || s->follow || s->fd < 0)
        return;
    static uint8_t buf[AGENT_DATA_CHUNK];
    while (agent_stream_can_send (s)) {
        size_t cap = sizeof buf;
        if ((int64_t) cap > s->send_window)
            cap = (size_t) s->send_window;
        ssize_t n = recv (s->fd, buf, cap, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            s->follow = true; /* the sandbox's side ended */
            agent_tunnel_tick (s);
            return;
        }
        agent_send_data (s, WR_AGENT_CHANNEL_BODY, s->send_offset, buf, (size_t) n, false);
        s->send_offset += (uint64_t) n;
    }
}

void
agent_tunnel_tick (agent_stream_t *s)
{
    tunnel_flush (s);
    if (s->follow && s->peer_ended && s->body.len == 0 && !s->we_ended)
        agent_send_data (s, WR_AGENT_CHANNEL_BODY, s->send_offset, "", 0, true);
}
