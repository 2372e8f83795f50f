#include "sandbox_docker_socket.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent_client.h"
#include "cleanup.h"
#include "sandbox_manager.h"
#include "xalloc.h"

#define MAX_CONNECTIONS 64

typedef struct conn_s conn_t;

struct wr_docker_socket_s {
    wr_sandbox_manager_t *mgr;
    char *id;
    char *path;
    const wr_log_t *log;
    int fd;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t done;
    int fds[MAX_CONNECTIONS]; /* open connections, -1 for a free slot */
    int n_open;
    bool stopping;
};

struct conn_s {
    wr_docker_socket_t *sock;
    int slot;
    int fd;
    wr_agent_call_t *call;
};

/* The agent's half: its data frames onto the connection. */
static void *
agent_to_client (void *data)
{
    conn_t *c = data;
    for (;;) {
        wr_agent_item_t item = { 0 };
        cleanup_error wr_error_t err = NULL;
        int r = wr_agent_call_next (c->call, -1, &item, &err);
        if (r <= 0)
            break;
        bool end = item.end;
        size_t done = 0;
        while (item.message == NULL && done < item.len) {
            ssize_t n = send (c->fd, item.data + done, item.len - done, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            done += (size_t) n;
        }
        bool failed = item.message == NULL && done < item.len;
        wr_agent_item_clear (&item);
        if (end || failed)
            break;
    }
    shutdown (c->fd, SHUT_WR);
    return NULL;
}

static int
open_tunnel (conn_t *c, wr_agent_client_t *agent, wr_error_t *err)
{
    cleanup_agent_message wr_agent_message_t *msg = wr_agent_message_new (WR_AGENT_MSG_TUNNEL_OPEN);
    wr_agent_message_set_string (msg, "target", "docker");
    c->call = wr_agent_call_open (agent, msg, true, NULL, err);
    if (c->call == NULL)
        return -1;
    wr_agent_item_t item = { 0 };
    int r = wr_agent_call_next (c->call, 30000, &item, err);
    if (r <= 0) {
        if (r == 0)
            wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0, "the agent ended the tunnel at once");
        return -1;
    }
    int rc = 0;
    if (item.message == NULL || item.message->type != WR_AGENT_MSG_OK) {
        if (item.message != NULL && item.message->type == WR_AGENT_MSG_ERROR)
            wr_agent_error_from (item.message, WR_AGENT_SIDE_AGENT, err);
        else
            wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                               "the agent did not open a tunnel to dockerd");
        rc = -1;
    }
    wr_agent_item_clear (&item);
    return rc;
}

static void *
serve_connection (void *data)
{
    conn_t *c = data;
    wr_docker_socket_t *sock = c->sock;
    cleanup_error wr_error_t err = NULL;
    wr_agent_client_t *agent = wr_sandbox_manager_agent (sock->mgr, sock->id, &err);
    if (agent != NULL && open_tunnel (c, agent, &err) == 0) {
        pthread_t back;
        bool two = pthread_create (&back, NULL, agent_to_client, c) == 0;
        static _Thread_local char buf[65536];
        for (;;) {
            ssize_t n = recv (c->fd, buf, sizeof buf, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                wr_agent_call_send (c->call, buf, 0, true, 30000, NULL);
                break;
            }
            if (wr_agent_call_send (c->call, buf, (size_t) n, false, 60000, &err) < 0)
                break;
        }
        if (two)
            pthread_join (back, NULL);
    } else if (err != NULL) {
        wr_log_to (sock->log, WR_LOG_WARN, "docker socket: no tunnel to the sandbox's dockerd",
                   "sandbox", sock->id, "error", err->message, NULL);
    }
    if (c->call != NULL)
        wr_agent_call_free (c->call);
    wr_sandbox_manager_release (sock->mgr, agent);
    pthread_mutex_lock (&sock->lock);
    sock->fds[c->slot] = -1;
    sock->n_open--;
    pthread_cond_broadcast (&sock->done);
    pthread_mutex_unlock (&sock->lock);
    close (c->fd);
    free (c);
    return NULL;
}

static void *
accept_loop (void *data)
{
    wr_docker_socket_t *sock = data;
    for (;;) {
        struct pollfd p = { .fd = sock->fd, .events = POLLIN };
        int r = poll (&p, 1, 200);
        pthread_mutex_lock (&sock->lock);
        bool stopping = sock->stopping;
        pthread_mutex_unlock (&sock->lock);
        if (stopping)
            break;
        if (r <= 0)
            continue;
        int fd = accept4 (sock->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        pthread_mutex_lock (&sock->lock);
        int slot = -1;
        for (int i = 0; i < MAX_CONNECTIONS && slot < 0; i++)
            if (sock->fds[i] < 0)
                slot = i;
        if (slot >= 0) {
            sock->fds[slot] = fd;
            sock->n_open++;
        }
        pthread_mutex_unlock (&sock->lock);
        if (slot < 0) {
            close (fd); /* too many at once: the client sees a closed connection */
            continue;
        }
        conn_t *c = xzalloc (sizeof *c);
        *c = (conn_t){ .sock = sock, .slot = slot, .fd = fd };
        pthread_t t;
        if (pthread_create (&t, NULL, serve_connection, c) == 0) {
            pthread_detach (t);
        } else {
            pthread_mutex_lock (&sock->lock);
            sock->fds[slot] = -1;
            sock->n_open--;
            pthread_mutex_unlock (&sock->lock);
            close (fd);
            free (c);
        }
    }
    return NULL;
}

wr_docker_socket_t *
wr_docker_socket_start (wr_sandbox_manager_t *mgr, const char *id, const char *path,
                        const wr_log_t *log, wr_error_t *err)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen (path) >= sizeof addr.sun_path) {
        wr_error_set_kind (err, WR_ERROR_INVALID, ENAMETOOLONG,
                           "docker socket `%s`: the path is longer than a unix socket's %zu bytes",
                           path, sizeof addr.sun_path - 1);
        return NULL;
    }
    memcpy (addr.sun_path, path, strlen (path) + 1);
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        wr_error_set_kind (err, WR_ERROR_INTERNAL, errno, "docker socket `%s`: socket: %s", path,
                           strerror (errno));
        return NULL;
    }
    unlink (path);
    if (bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0 || chmod (path, 0660) < 0 ||
        listen (fd, 64) < 0) {
        int e = errno;
        close (fd);
        unlink (path);
        wr_error_set_kind (err, WR_ERROR_INTERNAL, e, "docker socket `%s`: %s", path, strerror (e));
        return NULL;
    }
    wr_docker_socket_t *sock = xzalloc (sizeof *sock);
    sock->mgr = mgr;
    sock->id = xstrdup (id);
    sock->path = xstrdup (path);
    sock->log = log;
    sock->fd = fd;
    for (int i = 0; i < MAX_CONNECTIONS; i++)
        sock->fds[i] = -1;
    pthread_mutex_init (&sock->lock, NULL);
    pthread_cond_init (&sock->done, NULL);
    if (pthread_create (&sock->thread, NULL, accept_loop, sock) != 0) {
        wr_error_set_kind (err, WR_ERROR_INTERNAL, 0, "docker socket `%s`: cannot start a thread",
                           path);
        close (fd);
        unlink (path);
        pthread_cond_destroy (&sock->done);
        pthread_mutex_destroy (&sock->lock);
        free (sock->id);
        free (sock->path);
        free (sock);
        return NULL;
    }
    return sock;
}

const char *
wr_docker_socket_path (const wr_docker_socket_t *sock)
{
    return sock->path;
}

void
wr_docker_socket_stop (wr_docker_socket_t *sock)
{
    if (sock == NULL)
        return;
    pthread_mutex_lock (&sock->lock);
    sock->stopping = true;
    pthread_mutex_unlock (&sock->lock);
    pthread_join (sock->thread, NULL);
    close (sock->fd);
    unlink (sock->path);
    /* Open connections: their reads end now, and their tunnels with them
     * (the sandbox's agent is closed by the caller, which ends the
     * agent's halves). */
    pthread_mutex_lock (&sock->lock);
    for (int i = 0; i < MAX_CONNECTIONS; i++)
        if (sock->fds[i] >= 0)
            shutdown (sock->fds[i], SHUT_RDWR);
    while (sock->n_open > 0)
        pthread_cond_wait (&sock->done, &sock->lock);
    pthread_mutex_unlock (&sock->lock);
    pthread_cond_destroy (&sock->done);
    pthread_mutex_destroy (&sock->lock);
    free (sock->id);
    free (sock->path);
    free (sock);
}
