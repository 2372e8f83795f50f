/* See sandbox_forward.h.  A connection's thread opens the tunnel, starts a
 * second thread for the agent's direction (data frames onto the socket)
 * and carries the socket's bytes to the agent itself; the connection ends
 * when both directions have. */
#include "sandbox_forward.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_client.h"
#include "cancel.h"
#include "cleanup.h"
#include "sandbox_manager.h"
#include "xalloc.h"

#define MAX_CONNECTIONS 64
/* How long the agent has to connect the tunnel, and to take a frame. */
#define OPEN_TIMEOUT_MS 30000
#define SEND_TIMEOUT_MS 60000

struct wr_forward_s {
    wr_sandbox_manager_t *mgr;
    char *id;
    char *target;
    int port;
    char *what;
    const wr_log_t *log;
    int fd;
    wr_cancel_t *cancel; /* requested at stop: every connection's waits end */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t done;
    int fds[MAX_CONNECTIONS]; /* open connections, -1 for a free slot */
    unsigned n_open;
    unsigned long total;
    bool stopping;
};

typedef struct {
    wr_forward_t *forward;
    int slot;
    int fd;
    wr_agent_call_t *call;
} conn_t;

/* The agent's direction: its data frames onto the connection. */
static void *
agent_to_client (void *data)
{
    conn_t *c = data;
    for (;;) {
        wr_agent_item_t item = { 0 };
        cleanup_error wr_error_t err = NULL;
        if (wr_agent_call_next (c->call, -1, &item, &err) <= 0)
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
    wr_forward_t *f = c->forward;
    cleanup_agent_message wr_agent_message_t *msg = wr_agent_message_new (WR_AGENT_MSG_TUNNEL_OPEN);
    wr_agent_message_set_string (msg, "target", f->target);
    if (strcmp (f->target, "tcp") == 0)
        wr_agent_message_set_int (msg, "port", f->port);
    c->call = wr_agent_call_open (agent, msg, true, f->cancel, err);
    if (c->call == NULL)
        return -1;
    wr_agent_item_t item = { 0 };
    int r = wr_agent_call_next (c->call, OPEN_TIMEOUT_MS, &item, err);
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
            wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0, "the agent did not open the tunnel");
        rc = -1;
    }
    wr_agent_item_clear (&item);
    return rc;
}

static void
conn_end (conn_t *c)
{
    wr_forward_t *f = c->forward;
    pthread_mutex_lock (&f->lock);
    f->fds[c->slot] = -1;
    f->n_open--;
    pthread_cond_broadcast (&f->done);
    pthread_mutex_unlock (&f->lock);
    close (c->fd);
    free (c);
}

static void *
serve_connection (void *data)
{
    conn_t *c = data;
    wr_forward_t *f = c->forward;
    cleanup_error wr_error_t err = NULL;
    wr_agent_client_t *agent = wr_sandbox_manager_agent (f->mgr, f->id, &err);
    if (agent != NULL && open_tunnel (c, agent, &err) == 0) {
        pthread_t back;
        bool two = pthread_create (&back, NULL, agent_to_client, c) == 0;
        static _Thread_local char buf[65536];
        for (;;) {
            ssize_t n = recv (c->fd, buf, sizeof buf, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                wr_agent_call_send (c->call, buf, 0, true, SEND_TIMEOUT_MS / 2, NULL);
                break;
            }
            if (wr_agent_call_send (c->call, buf, (size_t) n, false, SEND_TIMEOUT_MS, &err) < 0)
                break;
        }
        if (two)
            pthread_join (back, NULL);
    } else if (err != NULL) {
        wr_log_to (f->log, WR_LOG_WARN, "forward: no tunnel into the sandbox", "sandbox", f->id,
                   "forward", f->what, "error", err->message, NULL);
    }
    if (c->call != NULL)
        wr_agent_call_free (c->call);
    wr_sandbox_manager_release (f->mgr, agent);
    conn_end (c);
    return NULL;
}

/* A slot for FD, or -1 when MAX_CONNECTIONS are open. */
static int
take_slot (wr_forward_t *f, int fd)
{
    pthread_mutex_lock (&f->lock);
    int slot = -1;
    for (int i = 0; i < MAX_CONNECTIONS && slot < 0; i++)
        if (f->fds[i] < 0)
            slot = i;
    if (slot >= 0) {
        f->fds[slot] = fd;
        f->n_open++;
        f->total++;
    }
    pthread_mutex_unlock (&f->lock);
    return slot;
}

static void *
accept_loop (void *data)
{
    wr_forward_t *f = data;
    for (;;) {
        struct pollfd p = { .fd = f->fd, .events = POLLIN };
        int r = poll (&p, 1, 200);
        pthread_mutex_lock (&f->lock);
        bool stopping = f->stopping;
        pthread_mutex_unlock (&f->lock);
        if (stopping)
            break;
        if (r <= 0)
            continue;
        int fd = accept4 (f->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        int slot = take_slot (f, fd);
        if (slot < 0) {
            close (fd); /* too many at once: the client sees a closed connection */
            continue;
        }
        conn_t *c = xzalloc (sizeof *c);
        *c = (conn_t){ .forward = f, .slot = slot, .fd = fd };
        pthread_t t;
        if (pthread_create (&t, NULL, serve_connection, c) == 0)
            pthread_detach (t);
        else
            conn_end (c);
    }
    return NULL;
}

wr_forward_t *
wr_forward_start (wr_sandbox_manager_t *mgr, const char *id, int fd, wr_forward_target_t target,
                  const char *what, const wr_log_t *log, wr_error_t *err)
{
    wr_cancel_t *cancel = wr_cancel_new (NULL, 0, NULL, err);
    if (cancel == NULL) {
        close (fd);
        return NULL;
    }
    wr_forward_t *f = xzalloc (sizeof *f);
    f->mgr = mgr;
    f->id = xstrdup (id);
    f->target = xstrdup (target.target);
    f->port = target.port;
    f->what = xstrdup (what);
    f->log = log;
    f->fd = fd;
    f->cancel = cancel;
    for (int i = 0; i < MAX_CONNECTIONS; i++)
        f->fds[i] = -1;
    pthread_mutex_init (&f->lock, NULL);
    pthread_cond_init (&f->done, NULL);
    int rc = pthread_create (&f->thread, NULL, accept_loop, f);
    if (rc != 0) {
        wr_error_set_kind (err, WR_ERROR_INTERNAL, rc, "sandbox `%s`: %s: cannot start a thread",
                           id, what);
        f->thread = 0;
        f->stopping = true;
        wr_forward_stop (f);
        return NULL;
    }
    return f;
}

unsigned
wr_forward_open (wr_forward_t *f)
{
    pthread_mutex_lock (&f->lock);
    unsigned n = f->n_open;
    pthread_mutex_unlock (&f->lock);
    return n;
}

unsigned long
wr_forward_total (wr_forward_t *f)
{
    pthread_mutex_lock (&f->lock);
    unsigned long n = f->total;
    pthread_mutex_unlock (&f->lock);
    return n;
}

void
wr_forward_stop (wr_forward_t *f)
{
    if (f == NULL)
        return;
    pthread_mutex_lock (&f->lock);
    bool running = !f->stopping;
    f->stopping = true;
    pthread_mutex_unlock (&f->lock);
    if (running)
        pthread_join (f->thread, NULL);
    close (f->fd);
    /* Open connections: their reads end now, and the waits of their
     * tunnels with the token. */
    wr_cancel_request (f->cancel);
    pthread_mutex_lock (&f->lock);
    for (int i = 0; i < MAX_CONNECTIONS; i++)
        if (f->fds[i] >= 0)
            shutdown (f->fds[i], SHUT_RDWR);
    while (f->n_open > 0)
        pthread_cond_wait (&f->done, &f->lock);
    pthread_mutex_unlock (&f->lock);
    pthread_cond_destroy (&f->done);
    pthread_mutex_destroy (&f->lock);
    wr_cancel_free (f->cancel);
    free (f->id);
    free (f->target);
    free (f->what);
    free (f);
}
