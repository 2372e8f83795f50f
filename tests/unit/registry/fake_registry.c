/* See fake_registry.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "digest.h"
#include "fake_registry.h"
#include "xalloc.h"

static void
header_value (const char *head, const char *name, char *out, size_t size)
{
    out[0] = '\0';
    size_t nlen = strlen (name);
    for (const char *line = head; line != NULL && *line; line = strstr (line, "\r\n")) {
        if (line[0] == '\r')
            line += 2;
        if (strncasecmp (line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ')
                v++;
            size_t n = strcspn (v, "\r\n");
            snprintf (out, size, "%.*s", (int) n, v);
            return;
        }
        line = strstr (line, "\r\n");
        if (line == NULL)
            return;
    }
}

/* Reads the body of a request with a Content-Length (part of it may have
 * come with the head) and notes its size, digest and first bytes. */
static void
read_body (int c, const char *head, size_t n, fake_request_t *req)
{
    char value[32];
    header_value (head, "Content-Length", value, sizeof value);
    size_t want = (size_t) strtoull (value, NULL, 10);
    const char *end = strstr (head, "\r\n\r\n");
    if (want == 0 || end == NULL)
        return;
    char expect[32];
    header_value (head, "Expect", expect, sizeof expect);
    if (strcasecmp (expect, "100-continue") == 0)
        send (c, "HTTP/1.1 100 Continue\r\n\r\n", 25, MSG_NOSIGNAL);
    char *body = xmalloc (want + 1);
    size_t have = n - (size_t) (end + 4 - head);
    if (have > want)
        have = want;
    memcpy (body, end + 4, have);
    while (have < want) {
        ssize_t r = recv (c, body + have, want - have, 0);
        if (r <= 0)
            break;
        have += (size_t) r;
    }
    body[have] = '\0';
    req->body_len = have;
    wr_sha256_digest (body, have, req->body_digest);
    snprintf (req->body_start, sizeof req->body_start, "%s", body);
    free (body);
}

static void
write_all (int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = send (fd, data, len, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        data += w;
        len -= (size_t) w;
    }
}

/* Is PATH a blob of the repository being trickled? */
static bool
trickled (fake_server_t *srv, const char *path)
{
    pthread_mutex_lock (&srv->lock);
    bool yes = false;
    if (srv->trickle_repository[0] != '\0') {
        char *prefix = xasprintf ("/v2/%s/blobs/", srv->trickle_repository);
        yes = strncmp (path, prefix, strlen (prefix)) == 0;
        free (prefix);
    }
    pthread_mutex_unlock (&srv->lock);
    return yes;
}

/* One byte a second, until the body is sent, the client goes or the
 * server stops. */
static void
trickle_all (fake_server_t *srv, int fd, const char *data, size_t len)
{
    while (len > 0 && !srv->stop) {
        if (send (fd, data, 1, MSG_NOSIGNAL) <= 0)
            return;
        data++;
        len--;
        for (int i = 0; i < 20 && !srv->stop; i++) {
            struct pollfd p = { .fd = fd, .events = POLLRDHUP };
            if (poll (&p, 1, 50) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
                return; /* the client gave up */
        }
    }
}

static void
serve_connection (fake_server_t *srv, int c)
{
    {
        char head[8192];
        size_t n = 0;
        while (n < sizeof head - 1) {
            ssize_t r = recv (c, head + n, sizeof head - 1 - n, 0);
            if (r <= 0)
                break;
            n += (size_t) r;
            head[n] = '\0';
            if (strstr (head, "\r\n\r\n") != NULL)
                break;
        }
        head[n] = '\0';
        fake_request_t req = { 0 };
        sscanf (head, "%15s %1023s", req.method, req.path);
        header_value (head, "Authorization", req.authorization, sizeof req.authorization);
        header_value (head, "Range", req.range, sizeof req.range);
        header_value (head, "Content-Type", req.content_type, sizeof req.content_type);
        read_body (c, head, n, &req);
        pthread_mutex_lock (&srv->lock);
        if (srv->n_log < MAX_LOG)
            srv->log[srv->n_log++] = req;
        pthread_mutex_unlock (&srv->lock);

        fake_answer_t ans = { .status = 404, .body = "{}", .body_len = 2 };
        ans.send_len = (size_t) -1;
        srv->handler (srv, &req, &ans);
        if (ans.send_len > ans.body_len)
            ans.send_len = ans.body_len;
        char *top = xasprintf ("HTTP/1.1 %d Fake\r\nContent-Length: %zu\r\nConnection: "
                               "close\r\n%s\r\n",
                               ans.status, ans.body_len, ans.headers);
        if (!ans.trickle && trickled (srv, req.path)) {
            ans.trickle = true;
            ans.trickle_after = srv->trickle_after;
        }
        write_all (c, top, strlen (top));
        if (strcmp (req.method, "HEAD") != 0 && ans.trickle) {
            size_t fast = ans.trickle_after < ans.send_len ? ans.trickle_after : ans.send_len;
            write_all (c, ans.body, fast);
            trickle_all (srv, c, ans.body + fast, ans.send_len - fast);
        } else if (strcmp (req.method, "HEAD") != 0) {
            write_all (c, ans.body, ans.send_len);
        }
        free (top);
        close (c);
    }
}

typedef struct {
    fake_server_t *srv;
    int fd;
} connection_t;

static void *
connection_thread (void *data)
{
    connection_t *conn = data;
    fake_server_t *srv = conn->srv;
    serve_connection (srv, conn->fd);
    free (conn);
    pthread_mutex_lock (&srv->lock);
    srv->n_connections--;
    pthread_cond_broadcast (&srv->connections_done);
    pthread_mutex_unlock (&srv->lock);
    return NULL;
}

static void *
fake_serve (void *data)
{
    fake_server_t *srv = data;
    while (!srv->stop) {
        struct pollfd p = { .fd = srv->fd, .events = POLLIN };
        if (poll (&p, 1, 50) <= 0)
            continue;
        int c = accept (srv->fd, NULL, NULL);
        if (c < 0)
            continue;
        if (!srv->threaded) {
            serve_connection (srv, c);
            continue;
        }
        connection_t *conn = xmalloc (sizeof *conn);
        conn->srv = srv;
        conn->fd = c;
        pthread_t t;
        pthread_mutex_lock (&srv->lock);
        srv->n_connections++;
        pthread_mutex_unlock (&srv->lock);
        assert_int_equal (pthread_create (&t, NULL, connection_thread, conn), 0);
        pthread_detach (t);
    }
    return NULL;
}

static fake_server_t *
start (fake_handler_fn handler, void *data, bool threaded)
{
    fake_server_t *srv = xzalloc (sizeof *srv);
    srv->handler = handler;
    srv->data = data;
    srv->threaded = threaded;
    pthread_mutex_init (&srv->lock, NULL);
    pthread_cond_init (&srv->connections_done, NULL);
    srv->fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true (srv->fd >= 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    assert_int_equal (bind (srv->fd, (struct sockaddr *) &addr, sizeof addr), 0);
    assert_int_equal (listen (srv->fd, 64), 0);
    socklen_t len = sizeof addr;
    getsockname (srv->fd, (struct sockaddr *) &addr, &len);
    srv->port = ntohs (addr.sin_port);
    assert_int_equal (pthread_create (&srv->thread, NULL, fake_serve, srv), 0);
    return srv;
}

fake_server_t *
fake_start (fake_handler_fn handler, void *data)
{
    return start (handler, data, false);
}

fake_server_t *
fake_start_threaded (fake_handler_fn handler, void *data)
{
    return start (handler, data, true);
}

void
fake_trickle (fake_server_t *srv, const char *repository, size_t after)
{
    pthread_mutex_lock (&srv->lock);
    snprintf (srv->trickle_repository, sizeof srv->trickle_repository, "%s",
              repository != NULL ? repository : "");
    srv->trickle_after = after;
    pthread_mutex_unlock (&srv->lock);
}

void
fake_stop (fake_server_t *srv)
{
    srv->stop = true;
    pthread_join (srv->thread, NULL);
    /* Connections being answered notice the stop within 50 ms. */
    pthread_mutex_lock (&srv->lock);
    while (srv->n_connections > 0)
        pthread_cond_wait (&srv->connections_done, &srv->lock);
    pthread_mutex_unlock (&srv->lock);
    close (srv->fd);
    pthread_cond_destroy (&srv->connections_done);
    pthread_mutex_destroy (&srv->lock);
    free (srv);
}

size_t
fake_count (fake_server_t *srv, const char *path_part)
{
    size_t n = 0;
    pthread_mutex_lock (&srv->lock);
    for (size_t i = 0; i < srv->n_log; i++)
        if (strstr (srv->log[i].path, path_part) != NULL)
            n++;
    pthread_mutex_unlock (&srv->lock);
    return n;
}

void
answer (fake_answer_t *ans, int status, const char *body)
{
    ans->status = status;
    ans->body = body;
    ans->body_len = strlen (body);
}

void
add_header (fake_answer_t *ans, const char *fmt, ...)
{
    va_list ap;
    size_t used = strlen (ans->headers);
    va_start (ap, fmt);
    vsnprintf (ans->headers + used, sizeof ans->headers - used, fmt, ap);
    va_end (ap);
    used = strlen (ans->headers);
    snprintf (ans->headers + used, sizeof ans->headers - used, "\r\n");
}
