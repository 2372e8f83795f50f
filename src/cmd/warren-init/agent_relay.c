/* relay.open: the registry mirror the agent offers the nested dockerd.
 * In --docker mode the agent listens on 127.0.0.1:PORT in the sandbox
 * (dockerd's registry-mirrors names it); each connection there becomes a
 * stream the agent opens (an even id) on the newest warrend connection,
 * with relay.open {target: registry-mirror}.  Once warrend answers ok, the
 * bytes go both ways as data frames of channel 0, exactly as a tunnel's
 * (agent_tunnel.c, whose poll, event and tick functions serve it): the
 * other way round from tunnel.open only in who opened the stream.
 *
 * A connection while no warrend is connected is closed at once: dockerd
 * then falls back to the registry itself, which a sandbox without a
 * network cannot reach either. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"

#define RELAY_TARGET "registry-mirror"

int
agent_relay_listen (agent_t *agent, int port, wr_error_t *err)
{
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return wr_error_set (err, errno, "socket for the registry mirror's port %d", port);
    int one = 1;
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (fd, 64) < 0) {
        int saved = errno;
        close (fd);
        return wr_error_set (err, saved, "listen on 127.0.0.1:%d for the registry mirror", port);
    }
    agent->relay_fd = fd;
    return 0;
}

void
agent_relay_unlisten (agent_t *agent)
{
    if (agent->relay_fd >= 0)
        close (agent->relay_fd);
    agent->relay_fd = -1;
}

/* The connection a relay goes to: the newest one that is up and whose
 * hello said it takes relays (connections are added at the head of the
 * list; a tool such as agent-call connects too, and takes none). */
static agent_conn_t *
newest_conn (agent_t *agent)
{
    for (agent_conn_t *c = agent->conns; c; c = c->next)
        if (c->fd >= 0 && !c->closing && c->version != 0 && c->relays)
            return c;
    return NULL;
}

void
agent_relay_accept (agent_t *agent)
{
    for (int i = 0; i < 16; i++) {
        int fd = accept4 (agent->relay_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        agent_conn_t *conn = newest_conn (agent);
        if (conn == NULL || conn->last_relay >= UINT32_MAX - 2) {
            wr_log (WR_LOG_WARN,
                    "agent: a registry mirror connection, but warrend is not "
                    "connected: closed",
                    NULL);
            close (fd);
            continue;
        }
        conn->last_relay += 2;
        agent_stream_t *s = agent_stream_open (conn, conn->last_relay, NULL, false);
        s->kind = STREAM_TUNNEL;
        s->relay = true;
        s->relay_waiting = true;
        s->fd = fd;
        wr_agent_message_t *msg = wr_agent_message_new (WR_AGENT_MSG_RELAY_OPEN);
        wr_agent_message_set_string (msg, "target", RELAY_TARGET);
        agent_send (s, msg, false);
    }
}

void
agent_relay_answer (agent_stream_t *s, const wr_agent_message_t *msg, bool end)
{
    if (msg->type == WR_AGENT_MSG_OK && s->relay_waiting) {
        s->relay_waiting = false;
        if (end)
            s->peer_ended = true;
        return;
    }
    /* Refused, or given up (an error, warrend's END with it): the mirror's
     * connection closes and our half ends, with nothing sent on it. */
    if (msg->type == WR_AGENT_MSG_ERROR)
        wr_log (s->relay_waiting ? WR_LOG_WARN : WR_LOG_DEBUG, "agent: warrend ended a relay",
                "message", wr_agent_message_string (msg, "message"), NULL);
    s->peer_ended = true;
    agent_tunnel_close (s);
    agent_send_data (s, WR_AGENT_CHANNEL_BODY, s->send_offset, "", 0, true);
}
