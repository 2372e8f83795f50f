#include "ping.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"

/* HTTP/1.0: the server closes the connection after the answer, and never
 * uses chunked encoding. */
static const char ping_request[] = "GET /_ping HTTP/1.0\r\n"
                                   "Host: docker\r\n"
                                   "User-Agent: warren-init\r\n"
                                   "\r\n";

void
ping_close (ping_t *ping)
{
    if (ping->fd >= 0)
        close (ping->fd);
    ping->fd = -1;
    ping->len = 0;
}

int
ping_start (ping_t *ping, const char *socket_path, wr_error_t *err)
{
    ping_close (ping);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen (socket_path) >= sizeof addr.sun_path)
        return wr_error_set (err, 0, "socket path `%s` is too long", socket_path);
    strcpy (addr.sun_path, socket_path);

    cleanup_close int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return wr_error_set (err, errno, "socket");
    /* A unix connect completes at once or fails at once (EAGAIN when the
     * listener's backlog is full: try again later). */
    if (connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
        return wr_error_set (err, errno, "connect to `%s`", socket_path);
    ssize_t n = send (fd, ping_request, sizeof ping_request - 1, MSG_NOSIGNAL);
    if (n != (ssize_t) (sizeof ping_request - 1))
        return wr_error_set (err, n < 0 ? errno : EIO, "send to `%s`", socket_path);
    ping->fd = steal_fd (&fd);
    ping->len = 0;
    return 0;
}

ping_state_t
ping_read (ping_t *ping, wr_error_t *err)
{
    bool eof = false;
    for (;;) {
        if (ping->len == sizeof ping->buf - 1) {
            wr_error_set (err, 0, "answer to GET /_ping is longer than %zu bytes", ping->len);
            return PING_FAILED;
        }
        ssize_t n = read (ping->fd, ping->buf + ping->len, sizeof ping->buf - 1 - ping->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0) {
            wr_error_set (err, errno, "read answer to GET /_ping");
            return PING_FAILED;
        }
        if (n == 0) {
            eof = true;
            break;
        }
        ping->len += (size_t) n;
    }
    ping->buf[ping->len] = '\0';
    http_response_t response;
    int r = http_response_parse (ping->buf, ping->len, eof, &response, err);
    if (r < 0)
        return PING_FAILED;
    if (r == 0) {
        if (!eof)
            return PING_PENDING;
        wr_error_set (err, 0, "connection closed after %zu bytes of an answer to GET /_ping",
                      ping->len);
        return PING_FAILED;
    }
    if (response.status == 200 && response.body_len == 2 && memcmp (response.body, "OK", 2) == 0)
        return PING_READY;
    wr_error_set (err, 0, "GET /_ping answered %d with %zu bytes of body", response.status,
                  response.body_len);
    return PING_FAILED;
}

static const char *
find_header_end (const char *buf, size_t len, size_t *separator_len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (buf[i] == '\n' && buf[i + 1] == '\n') {
            *separator_len = 2;
            return buf + i;
        }
        if (i + 3 < len && memcmp (buf + i, "\r\n\r\n", 4) == 0) {
            *separator_len = 4;
            return buf + i;
        }
    }
    return NULL;
}

/* The value of header NAME (case-insensitive) in HEADERS..END, or -1. */
static long long
content_length (const char *headers, const char *end)
{
    static const char name[] = "content-length:";
    const char *line = headers;
    while (line < end) {
        const char *eol = memchr (line, '\n', (size_t) (end - line));
        if (eol == NULL)
            eol = end;
        if ((size_t) (eol - line) > sizeof name - 1 &&
            strncasecmp (line, name, sizeof name - 1) == 0) {
            const char *p = line + sizeof name - 1;
            while (p < eol && (*p == ' ' || *p == '\t'))
                p++;
            if (p == eol || !isdigit ((unsigned char) *p))
                return -2;
            long long value = 0;
            while (p < eol && isdigit ((unsigned char) *p) && value < (1LL << 40))
                value = value * 10 + (*p++ - '0');
            return value;
        }
        line = eol + 1;
    }
    return -1;
}

int
http_response_parse (const char *buf, size_t len, bool eof, http_response_t *response,
                     wr_error_t *err)
{
    memset (response, 0, sizeof *response);
    static const char prefix[] = "HTTP/1.";
    size_t check = len < sizeof prefix - 1 ? len : sizeof prefix - 1;
    if (memcmp (buf, prefix, check) != 0)
        return wr_error_set (err, 0, "the answer is not HTTP/1.x (it starts with `%.*s`)",
                             (int) (len < 16 ? len : 16), buf);
    const char *line_end = memchr (buf, '\n', len);
    if (line_end == NULL)
        return 0;
    /* "HTTP/1.1 200 OK": digit, space, three digits. */
    if (line_end - buf < 12 || !isdigit ((unsigned char) buf[7]) || buf[8] != ' ' ||
        !isdigit ((unsigned char) buf[9]) || !isdigit ((unsigned char) buf[10]) ||
        !isdigit ((unsigned char) buf[11]))
        return wr_error_set (err, 0, "malformed HTTP status line `%.*s`",
                             (int) (line_end - buf > 64 ? 64 : line_end - buf), buf);
    if (line_end - buf > 12 && buf[12] != ' ' && buf[12] != '\r')
        return wr_error_set (err, 0, "malformed HTTP status line `%.*s`",
                             (int) (line_end - buf > 64 ? 64 : line_end - buf), buf);
    response->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');

    size_t separator_len = 0;
    const char *header_end = find_header_end (buf, len, &separator_len);
    if (header_end == NULL)
        return 0;
    const char *body = header_end + separator_len;
    size_t available = len - (size_t) (body - buf);
    long long length = content_length (line_end + 1, header_end);
    if (length == -2)
        return wr_error_set (err, 0, "malformed Content-Length header");
    response->body = body;
    if (length >= 0) {
        if (available < (size_t) length)
            return 0;
        response->body_len = (size_t) length;
        return 1;
    }
    if (!eof)
        return 0;
    response->body_len = available;
    return 1;
}
