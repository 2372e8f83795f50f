#include "http_stub.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

uint64_t
test_hash (uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

void
test_write (int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send (fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* the client went away: fine for the tests that do that */
        p += n;
        len -= (size_t) n;
    }
}

static const char *
reason (int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 404:
        return "Not Found";
    case 503:
        return "Service Unavailable";
    default:
        return "Whatever";
    }
}

void
test_answer (int fd, int status, const char *content_type, const char *body)
{
    char head[512];
    int n = snprintf (head, sizeof head,
                      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      status, reason (status), content_type, strlen (body));
    test_write (fd, head, (size_t) n);
    test_write (fd, body, strlen (body));
}

void
test_chunked_start (int fd, int status, const char *content_type, const char *extra)
{
    char head[1024];
    int n = snprintf (head, sizeof head,
                      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n"
                      "%sConnection: close\r\n\r\n",
                      status, reason (status), content_type, extra != NULL ? extra : "");
    test_write (fd, head, (size_t) n);
}

void
test_chunk (int fd, const void *data, size_t len)
{
    char size[32];
    int n = snprintf (size, sizeof size, "%zx\r\n", len);
    test_write (fd, size, (size_t) n);
    test_write (fd, data, len);
    test_write (fd, "\r\n", 2);
}

void
test_chunked_end (int fd)
{
    test_write (fd, "0\r\n\r\n", 5);
}

bool
test_header (const test_request_t *req, const char *name, char *out, size_t size)
{
    size_t nlen = strlen (name);
    for (const char *line = req->headers; *line != '\0';) {
        const char *end = strstr (line, "\r\n");
        if (end == NULL)
            break;
        if ((size_t) (end - line) > nlen && strncasecmp (line, name, nlen) == 0 &&
            line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ')
                v++;
            snprintf (out, size, "%.*s", (int) (end - v), v);
            return true;
        }
        line = end + 2;
    }
    return false;
}

/* Buffered reading of one connection. */
typedef struct {
    int fd;
    char buf[65536];
    size_t start, end;
} conn_t;

static int
fill (conn_t *c)
{
    if (c->start == c->end)
        c->start = c->end = 0;
    ssize_t n;
    do
        n = recv (c->fd, c->buf + c->end, sizeof c->buf - c->end, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return -1;
    c->end += (size_t) n;
    return 0;
}

/* One line (without CRLF) into OUT. */
static int
read_line (conn_t *c, char *out, size_t size)
{
    size_t len = 0;
    for (;;) {
        while (c->start < c->end) {
            char ch = c->buf[c->start++];
            if (ch == '\n') {
                if (len > 0 && out[len - 1] == '\r')
                    len--;
                out[len] = '\0';
                return 0;
            }
            if (len + 1 < size)
                out[len++] = ch;
        }
        if (fill (c) < 0)
            return -1;
    }
}

static void
take_body (test_request_t *req, const char *data, size_t len)
{
    size_t cap = sizeof req->body - 1;
    size_t have = req->body_len < cap ? req->body_len : cap;
    size_t keep = len < cap - have ? len : cap - have;
    memcpy (req->body + have, data, keep);
    req->body_len += len;
    req->body_hash = test_hash (req->body_hash, data, len);
}

static int
read_bytes (conn_t *c, test_request_t *req, size_t n)
{
    while (n > 0) {
        if (c->start == c->end && fill (c) < 0)
            return -1;
        size_t take = c->end - c->start < n ? c->end - c->start : n;
        take_body (req, c->buf + c->start, take);
        c->start += take;
        n -= take;
    }
    return 0;
}

static int
read_request (conn_t *c, test_request_t *req)
{
    memset (req, 0, sizeof *req);
    req->body_hash = TEST_HASH_INIT;
    char line[8400];
    if (read_line (c, line, sizeof line) < 0)
        return -1;
    if (sscanf (line, "%15s %8191s", req->method, req->target) != 2)
        return -1;
    size_t hlen = 0;
    long long length = 0;
    for (;;) {
        if (read_line (c, line, sizeof line) < 0)
            return -1;
        if (line[0] == '\0')
            break;
        hlen += (size_t) snprintf (req->headers + hlen, sizeof req->headers - hlen, "%s\r\n", line);
        if (strncasecmp (line, "Content-Length:", 15) == 0)
            length = atoll (line + 15);
        if (strncasecmp (line, "Transfer-Encoding:", 18) == 0 && strstr (line, "chunked"))
            req->chunked = true;
    }
    if (!req->chunked)
        return read_bytes (c, req, (size_t) length);
    for (;;) {
        if (read_line (c, line, sizeof line) < 0)
            return -1;
        size_t n = (size_t) strtoull (line, NULL, 16);
        if (n == 0)
            return read_line (c, line, sizeof line); /* the last CRLF */
        if (read_bytes (c, req, n) < 0 || read_line (c, line, sizeof line) < 0)
            return -1;
    }
}

static void *
serve (void *data)
{
    test_server_t *s = data;
    for (;;) {
        int fd = accept4 (s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL; /* shut down */
        }
        conn_t *c = calloc (1, sizeof *c);
        test_request_t *req = calloc (1, sizeof *req);
        c->fd = fd;
        if (read_request (c, req) == 0) {
            pthread_mutex_lock (&s->lock);
            s->last = *req;
            s->requests++;
            test_handler_fn handler = s->handler;
            pthread_mutex_unlock (&s->lock);
            if (handler != NULL)
                handler (fd, req);
        }
        shutdown (fd, SHUT_WR);
        close (fd);
        free (req);
        free (c);
    }
}

void
test_server_start (test_server_t *s)
{
    memset (s, 0, sizeof *s);
    snprintf (s->dir, sizeof s->dir, "/tmp/warren-test-client-XXXXXX");
    if (mkdtemp (s->dir) == NULL)
        abort ();
    snprintf (s->path, sizeof s->path, "%s/warrend.sock", s->dir);
    pthread_mutex_init (&s->lock, NULL);
    s->listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    snprintf (addr.sun_path, sizeof addr.sun_path, "%s", s->path);
    if (bind (s->listen_fd, (struct sockaddr *) &addr, sizeof addr) < 0 ||
        listen (s->listen_fd, 64) < 0)
        abort ();
    pthread_create (&s->thread, NULL, serve, s);
}

void
test_server_start_tcp (test_server_t *s)
{
    memset (s, 0, sizeof *s);
    snprintf (s->dir, sizeof s->dir, "/tmp/warren-test-client-XXXXXX");
    if (mkdtemp (s->dir) == NULL)
        abort ();
    pthread_mutex_init (&s->lock, NULL);
    s->listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t len = sizeof addr;
    if (bind (s->listen_fd, (struct sockaddr *) &addr, sizeof addr) < 0 ||
        listen (s->listen_fd, 64) < 0 ||
        getsockname (s->listen_fd, (struct sockaddr *) &addr, &len) < 0)
        abort ();
    s->port = ntohs (addr.sin_port);
    pthread_create (&s->thread, NULL, serve, s);
}

void
test_server_stop (test_server_t *s)
{
    shutdown (s->listen_fd, SHUT_RDWR);
    pthread_join (s->thread, NULL);
    close (s->listen_fd);
    if (s->path[0] != '\0')
        unlink (s->path);
    rmdir (s->dir);
    pthread_mutex_destroy (&s->lock);
}

void
test_server_set (test_server_t *s, test_handler_fn handler)
{
    pthread_mutex_lock (&s->lock);
    s->handler = handler;
    pthread_mutex_unlock (&s->lock);
}

void
test_server_last (test_server_t *s, test_request_t *out)
{
    pthread_mutex_lock (&s->lock);
    *out = s->last;
    pthread_mutex_unlock (&s->lock);
}
