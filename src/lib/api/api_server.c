#include "api_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api_auth.h"
#include "api_events.h"
#include "api_rate.h"
#include "cleanup.h"
#include "quote.h"
#include "xalloc.h"

#define DEFAULT_MAX_CONNECTIONS 256
#define DEFAULT_IDLE_TIMEOUT 60
#define STREAM_BLOCK_SIZE (32 * 1024)

typedef struct stream_s stream_t;

typedef struct {
    wr_api_server_t *server;
    struct MHD_Daemon *daemon;
    int fd;
    bool needs_token;
    const char *name; /* "unix" or "tcp", in log lines */
} listener_t;

struct wr_api_server_s {
    wr_api_server_options_t options;
    listener_t unix_listener, tcp_listener;
    char *socket_path;
    dev_t socket_dev;
    ino_t socket_ino;
    unsigned short tcp_port;
    char id_prefix[9];
    atomic_ullong next_request;
    wr_api_rate_t *rate; /* NULL: no limit */
    pthread_mutex_t lock; /* STREAMS and STOPPING */
    stream_t *streams;
    bool stopping;
};

/* An event stream being sent: the server ends it when it stops. */
struct stream_s {
    stream_t *next, *prev;
    wr_api_server_t *server;
    wr_api_events_t *events;
    int fd; /* the connection's socket, -1 when unknown */
};

typedef struct {
    listener_t *listener;
    char id[32];
    char client[64]; /* "uid:N" or "tcp:ADDRESS" */
    const char *log_fields[5];
    wr_log_t log;
    struct timespec start;
    char *method;
    char *path;
    const wr_api_route_t *route;
    wr_api_params_t params;
    size_t max_body;
    char *body;
    size_t body_len;
    bool too_large;
    bool answered;
    /* Without a body, an answer found at the first call waits for the
     * second: queued at once, MHD would close the connection (it cannot
     * know there is no body to skip). */
    bool has_body;
    bool in_begin;
    bool has_pending;
    wr_api_response_t pending;
    unsigned status;
    /* A route that streams its body: the handler's thread, the queue the
     * body goes through, and what the handler answered. */
    bool streaming;
    pthread_t handler_thread;
    wr_api_events_t *body_pipe;
    wr_api_request_t stream_request;
    wr_api_response_t stream_resp;
    wr_error_t stream_err;
    int stream_rc;
    size_t streamed;
} request_t;

/* ---- event streams ---- */

static void
stream_register (wr_api_server_t *server, stream_t *stream)
{
    pthread_mutex_lock (&server->lock);
    stream->next = server->streams;
    if (server->streams != NULL)
        server->streams->prev = stream;
    server->streams = stream;
    if (server->stopping)
        wr_api_events_cancel (stream->events);
    pthread_mutex_unlock (&server->lock);
}

static void
stream_unregister (wr_api_server_t *server, stream_t *stream)
{
    pthread_mutex_lock (&server->lock);
    if (stream->prev != NULL)
        stream->prev->next = stream->next;
    else
        server->streams = stream->next;
    if (stream->next != NULL)
        stream->next->prev = stream->prev;
    pthread_mutex_unlock (&server->lock);
}

static ssize_t
stream_read (void *cls, uint64_t pos, char *buf, size_t max)
{
    stream_t *stream = cls;
    /* Each connection has its thread: waiting here blocks no one else, and
     * the server cancels the stream when it stops. */
    for (;;) {
        ssize_t n = wr_api_events_read (stream->events, buf, max, 1000);
        if (n > 0)
            return n;
        if (n < 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
        /* Nothing to send for a second: a client that hung up meanwhile
         * would be noticed at the next write only, which a silent stream
         * (a follow of a quiet process) may never make.  Its producer
         * stops now. */
        struct pollfd pfd = { .fd = stream->fd, .events = POLLRDHUP };
        if (stream->fd >= 0 && poll (&pfd, 1, 0) == 1 &&
            (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
            wr_api_events_cancel (stream->events);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
}

static void
stream_free (void *cls)
{
    stream_t *stream = cls;
    stream_unregister (stream->server, stream);
    /* Done or the client went away: either way the producer stops. */
    wr_api_events_cancel (stream->events);
    wr_api_events_unref (stream->events);
    free (stream);
}

/* ---- answers ---- */

static const char *
lookup_value (void *conn, bool header, const char *name)
{
    return MHD_lookup_connection_value (conn, header ? MHD_HEADER_KIND : MHD_GET_ARGUMENT_KIND,
                                        name);
}

static enum MHD_Result
queue (struct MHD_Connection *conn, request_t *req, wr_api_response_t *resp)
{
    struct MHD_Response *response = NULL;
    if (resp->events != NULL) {
        stream_t *stream = xzalloc (sizeof *stream);
        stream->server = req->listener->server;
        stream->events = steal_pointer (&resp->events);
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info (conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        stream->fd = info != NULL ? info->connect_fd : -1;
        response = MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, STREAM_BLOCK_SIZE,
                                                      stream_read, stream, stream_free);
        if (response == NULL) {
            wr_api_events_cancel (stream->events);
            wr_api_events_unref (stream->events);
            free (stream);
        } else {
            stream_register (stream->server, stream);
        }
    } else {
        char *body = resp->body != NULL ? steal_pointer (&resp->body) : xstrdup ("");
        response = MHD_create_response_from_buffer (resp->body_len, body, MHD_RESPMEM_MUST_FREE);
        if (response == NULL)
            free (body);
    }
    if (response == NULL) {
        wr_api_response_clear (resp);
        return MHD_NO;
    }
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE,
                             resp->content_type != NULL ? resp->content_type : "application/json");
    MHD_add_response_header (response, "X-Request-Id", req->id);
    MHD_add_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (resp->allow != NULL)
        MHD_add_response_header (response, MHD_HTTP_HEADER_ALLOW, resp->allow);
    for (size_t i = 0; i < WR_API_RESPONSE_MAX_HEADERS && resp->header_names[i] != NULL; i++)
        MHD_add_response_header (response, resp->header_names[i], resp->header_values[i]);
    if (resp->status == 401)
        MHD_add_response_header (response, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                 "Bearer realm=\"warrend\"");
    req->status = resp->status;
    req->answered = true;
    enum MHD_Result result = MHD_queue_response (conn, resp->status, response);
    MHD_destroy_response (response);
    wr_api_response_clear (resp);
    return result;
}

static enum MHD_Result
queue_error (struct MHD_Connection *conn, request_t *req, unsigned status, const char *kind,
             const char *message, char *allow)
{
    wr_api_response_t resp = { 0 };
    wr_api_response_error_status (&resp, status, kind, message);
    resp.allow = allow;
    if (req->in_begin && !req->has_body) {
        req->pending = resp;
        req->has_pending = true;
        return MHD_YES;
    }
    return queue (conn, req, &resp);
}

static wr_api_request_t
request_of (request_t *req, struct MHD_Connection *conn)
{
    return (wr_api_request_t){
        .method = req->method,
        .path = req->path,
        .id = req->id,
        .client = req->client,
        .params = req->params,
        .body = req->body != NULL ? req->body : "",
        .body_len = req->body_len,
        .log = &req->log,
        .lookup = lookup_value,
        .conn = conn,
        .body_stream = req->body_pipe,
    };
}

/* Queues what a handler answered: RC and ERR as it returned them. */
static enum MHD_Result
answer_with (struct MHD_Connection *conn, request_t *req, wr_api_response_t *answer, int rc,
             wr_error_t err)
{
    wr_api_response_t resp = *answer;
    memset (answer, 0, sizeof *answer);
    if (rc < 0) {
        wr_api_response_clear (&resp);
        wr_api_response_error (&resp, err);
        if (resp.status >= 500)
            wr_log_to (&req->log, WR_LOG_ERROR, "request failed", "error",
                       err != NULL ? err->message : "(no message)", NULL);
    } else if (resp.status == 0) {
        wr_api_response_clear (&resp);
        wr_api_response_error_status (&resp, 500, "internal", "the handler gave no answer");
    }
    return queue (conn, req, &resp);
}

static enum MHD_Result
too_large (struct MHD_Connection *conn, request_t *req)
{
    cleanup_free char *message =
        xasprintf ("request body: more than %zu bytes is too large for %s %s", req->max_body,
                   req->route->method, req->route->pattern);
    return queue_error (conn, req, 413, "limit", message, NULL);
}

static enum MHD_Result
answer_route (struct MHD_Connection *conn, request_t *req)
{
    if (req->too_large)
        return too_large (conn, req);
    wr_api_request_t request = request_of (req, conn);
    wr_api_response_t resp = { 0 };
    cleanup_error wr_error_t err = NULL;
    void *data = wr_api_router_data (req->listener->server->options.router);
    int rc = req->route->handler (&request, &resp, data, &err);
    return answer_with (conn, req, &resp, rc, err);
}

/* ---- streamed bodies ---- */

/* The queue between MHD's connection thread, which gets the body, and the
 * handler's thread, which reads it. */
#define BODY_PIPE_BYTES (4 * 1024 * 1024)

static void *
stream_handler_thread (void *data)
{
    request_t *req = data;
    void *route_data = wr_api_router_data (req->listener->server->options.router);
    req->stream_rc =
        req->route->handler (&req->stream_request, &req->stream_resp, route_data, &req->stream_err);
    /* What the handler did not read is dropped from now on. */
    wr_api_events_cancel (req->body_pipe);
    return NULL;
}

static void
stream_start (struct MHD_Connection *conn, request_t *req)
{
    req->body_pipe = wr_api_events_new (BODY_PIPE_BYTES);
    req->stream_request = request_of (req, conn);
    req->streaming = true;
    if (pthread_create (&req->handler_thread, NULL, stream_handler_thread, req) != 0) {
        req->streaming = false;
        wr_api_events_unref (req->body_pipe);
        req->body_pipe = NULL;
    }
}

static void
stream_body (request_t *req, const char *data, size_t len)
{
    if (len > req->max_body - req->streamed) {
        req->too_large = true;
        wr_api_events_cancel (req->body_pipe);
        return;
    }
    req->streamed += len;
    cleanup_error wr_error_t err = NULL;
    /* Blocks while the handler is behind: the client is slowed, memory is
     * not.  Fails once the handler stopped reading; the rest is dropped. */
    (void) wr_api_events_send_bytes (req->body_pipe, data, len, -1, &err);
}

static enum MHD_Result
stream_finish (struct MHD_Connection *conn, request_t *req)
{
    wr_api_events_close (req->body_pipe);
    pthread_join (req->handler_thread, NULL);
    req->streaming = false;
    cleanup_error wr_error_t err = steal_pointer (&req->stream_err);
    if (req->too_large) {
        wr_api_response_clear (&req->stream_resp);
        return too_large (conn, req);
    }
    return answer_with (conn, req, &req->stream_resp, req->stream_rc, err);
}

/* Who sent the request, told apart by what the client cannot choose: the
 * peer's uid on the unix socket, its address on TCP. */
static void
identify_client (struct MHD_Connection *conn, request_t *req)
{
    snprintf (req->client, sizeof req->client, "unknown");
    if (!req->listener->needs_token) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info (conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct ucred cred;
        socklen_t len = sizeof cred;
        if (info != NULL &&
            getsockopt (info->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
            snprintf (req->client, sizeof req->client, "uid:%u", (unsigned) cred.uid);
        return;
    }
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info (conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char text[INET6_ADDRSTRLEN] = "";
    if (info == NULL || info->client_addr == NULL)
        return;
    const struct sockaddr *sa = info->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop (AF_INET, &((const struct sockaddr_in *) (const void *) sa)->sin_addr, text,
                   sizeof text);
    else if (sa->sa_family == AF_INET6)
        inet_ntop (AF_INET6, &((const struct sockaddr_in6 *) (const void *) sa)->sin6_addr, text,
                   sizeof text);
    if (text[0] != '\0')
        snprintf (req->client, sizeof req->client, "tcp:%s", text);
}

/* A client over its request rate: 429 with Retry-After (whole seconds,
 * rounded up; the message has the milliseconds). */
static enum MHD_Result
too_many (struct MHD_Connection *conn, request_t *req, int64_t wait_ms)
{
    const wr_api_server_options_t *o = &req->listener->server->options;
    cleanup_free char *message =
        xasprintf ("client `%s`: more than %g requests a second (%u at once): retry in %lld ms",
                   req->client, o->client_rate, o->client_burst, (long long) wait_ms);
    wr_log_to (&req->log, WR_LOG_WARN, "request rate exceeded", "client", req->client, NULL);
    wr_api_response_t resp = { 0 };
    wr_api_response_error_status (&resp, 429, "too_many", message);
    char seconds[32];
    snprintf (seconds, sizeof seconds, "%lld", (long long) ((wait_ms + 999) / 1000));
    wr_api_response_add_header (&resp, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
    if (req->in_begin && !req->has_body) {
        req->pending = resp;
        req->has_pending = true;
        return MHD_YES;
    }
    return queue (conn, req, &resp);
}

/* The first call for a request: routing, the token, the client's rate,
 * the announced size. */
static enum MHD_Result
begin_request (struct MHD_Connection *conn, request_t *req)
{
    wr_api_server_t *server = req->listener->server;
    char *allow = NULL;
    wr_api_match_t match = wr_api_router_match (server->options.router, req->method, req->path,
                                                &req->route, &req->params, &allow);
    cleanup_free char *allowed = allow;
    bool public_route = match == WR_API_MATCH_FOUND && (req->route->flags & WR_API_ROUTE_PUBLIC);
    if (req->listener->needs_token && !public_route) {
        const char *authorization =
            MHD_lookup_connection_value (conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        wr_api_auth_t auth = wr_api_auth_check (authorization, server->options.token);
        if (auth != WR_API_AUTH_OK)
            return queue_error (conn, req, 401, "unauthorized", wr_api_auth_message (auth), NULL);
    }
    if (server->rate != NULL && !public_route) {
        struct timespec now;
        clock_gettime (CLOCK_MONOTONIC, &now);
        int64_t wait = wr_api_rate_take (server->rate, req->client,
                                         (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000);
        if (wait > 0)
            return too_many (conn, req, wait);
    }
    if (match != WR_API_MATCH_FOUND) {
        cleanup_free char *method = wr_quote (req->method, 16);
        cleanup_free char *path = wr_quote (req->path, 256);
        if (match == WR_API_MATCH_NO_PATH) {
            cleanup_free char *message = xasprintf ("no such route: %s `%s`", method, path);
            return queue_error (conn, req, 404, "not_found", message, NULL);
        }
        cleanup_free char *message =
            xasprintf ("method %s is not allowed on `%s` (allowed: %s)", method, path, allowed);
        return queue_error (conn, req, 405, "invalid", message, steal_pointer (&allowed));
    }
    req->max_body = req->route->max_body > 0 ? req->route->max_body : WR_API_MAX_JSON_BODY;
    const char *length =
        MHD_lookup_connection_value (conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length != NULL) {
        char *end = NULL;
        errno = 0;
        unsigned long long announced = strtoull (length, &end, 10);
        if (errno == 0 && end != length && *end == '\0' && announced > req->max_body) {
            /* Answered before the body is read (and the connection closed
             * after it): the client learns at once, and sends nothing. */
            cleanup_free char *message =
                xasprintf ("request body: %llu bytes is too large for %s %s (the limit is %zu)",
                           announced, req->route->method, req->route->pattern, req->max_body);
            return queue_error (conn, req, 413, "limit", message, NULL);
        }
    }
    return MHD_YES;
}

static void
take_body (request_t *req, const char *data, size_t len)
{
    if (req->too_large)
        return;
    if (len > req->max_body - req->body_len) {
        /* Read to the end and dropped: memory stays bounded, and the
         * client gets its 413 rather than a reset connection. */
        req->too_large = true;
        free (req->body);
        req->body = NULL;
        req->body_len = 0;
        return;
    }
    req->body = xrealloc (req->body, req->body_len + len + 1);
    memcpy (req->body + req->body_len, data, len);
    req->body_len += len;
    req->body[req->body_len] = '\0';
}

static enum MHD_Result
on_request (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
            const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    listener_t *listener = cls;
    wr_api_server_t *server = listener->server;
    request_t *req = *con_cls;
    if (req == NULL) {
        req = xzalloc (sizeof *req);
        *con_cls = req;
        req->listener = listener;
        snprintf (req->id, sizeof req->id, "%s-%llu", server->id_prefix,
                  (unsigned long long) atomic_fetch_add (&server->next_request, 1) + 1);
        identify_client (conn, req);
        req->log_fields[0] = "request";
        req->log_fields[1] = req->id;
        req->log_fields[2] = "client";
        req->log_fields[3] = req->client;
        req->log = (wr_log_t){ .fields = req->log_fields, .parent = server->options.log };
        clock_gettime (CLOCK_MONOTONIC, &req->start);
        req->method = xstrdup (method);
        req->path = xstrdup (url);
        const char *length =
            MHD_lookup_connection_value (conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        req->has_body = (length != NULL && strcmp (length, "0") != 0) ||
                        MHD_lookup_connection_value (conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
        req->in_begin = true;
        enum MHD_Result result = begin_request (conn, req);
        req->in_begin = false;
        return result;
    }
    if (req->has_pending) {
        wr_api_response_t pending = req->pending;
        req->has_pending = false;
        memset (&req->pending, 0, sizeof req->pending);
        *upload_data_size = 0;
        return queue (conn, req, &pending);
    }
    if (req->answered) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->route->flags & WR_API_ROUTE_STREAM_BODY) {
        if (!req->streaming && !req->too_large)
            stream_start (conn, req);
        if (!req->streaming)
            return queue_error (conn, req, 500, "internal", "cannot start a thread for the request",
                                NULL);
        if (*upload_data_size > 0) {
            if (!req->too_large)
                stream_body (req, upload_data, *upload_data_size);
            *upload_data_size = 0;
            return MHD_YES;
        }
        return stream_finish (conn, req);
    }
    if (*upload_data_size > 0) {
        take_body (req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return answer_route (conn, req);
}

static void
on_completed (void *cls, struct MHD_Connection *conn, void **con_cls,
              enum MHD_RequestTerminationCode toe)
{
    request_t *req = *con_cls;
    if (req == NULL)
        return;
    *con_cls = NULL;
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    double ms = (double) (now.tv_sec - req->start.tv_sec) * 1e3 +
                (double) (now.tv_nsec - req->start.tv_nsec) / 1e6;
    char status[16], took[32];
    snprintf (status, sizeof status, "%u", req->status);
    snprintf (took, sizeof took, "%.1fms", ms);
    cleanup_free char *path = wr_quote (req->path, 256);
    cleanup_free char *method = wr_quote (req->method, 16);
    wr_log_to (&req->log, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? WR_LOG_INFO : WR_LOG_WARN,
               toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "request" : "request not completed",
               "listener", req->listener->name, "method", method, "path", path, "status",
               req->answered ? status : "none", "took", took, NULL);
    if (req->streaming) {
        /* The client went away mid-body: the handler's reads fail now. */
        wr_api_events_cancel (req->body_pipe);
        pthread_join (req->handler_thread, NULL);
        wr_api_response_clear (&req->stream_resp);
        wr_error_free (&req->stream_err);
    }
    if (req->body_pipe != NULL)
        wr_api_events_unref (req->body_pipe);
    wr_api_response_clear (&req->pending);
    wr_api_params_clear (&req->params);
    free (req->body);
    free (req->method);
    free (req->path);
    free (req);
}

__attribute__ ((format (printf, 2, 0))) static void
on_mhd_log (void *cls, const char *fmt, va_list ap)
{
    listener_t *listener = cls;
    cleanup_free char *message = xvasprintf (fmt, ap);
    message[strcspn (message, "\n")] = '\0';
    wr_log_to (listener->server->options.log, WR_LOG_WARN, "http server", "listener",
               listener->name, "detail", message, NULL);
}

/* ---- listeners ---- */

static int
make_unix_socket (wr_api_server_t *server, wr_error_t *err)
{
    const char *path = server->options.socket_path;
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen (path) >= sizeof addr.sun_path)
        return wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                                  "socket `%s`: the path is longer than %zu bytes", path,
                                  sizeof addr.sun_path - 1);
    strcpy (addr.sun_path, path);

    struct stat st;
    if (lstat (path, &st) == 0) {
        if (!S_ISSOCK (st.st_mode))
            return wr_error_set_kind (err, WR_ERROR_EXISTS, 0,
                                      "socket `%s`: exists and is not a socket", path);
        cleanup_close int probe = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe < 0)
            return wr_error_set (err, errno, "socket");
        if (connect (probe, (struct sockaddr *) &addr, sizeof addr) == 0)
            return wr_error_set_kind (err, WR_ERROR_EXISTS, 0,
                                      "socket `%s`: another server is listening on it", path);
        if (errno != ECONNREFUSED)
            return wr_error_set (err, errno, "socket `%s`: connect to the existing socket", path);
        /* Left by a server that is gone. */
        if (unlink (path) < 0 && errno != ENOENT)
            return wr_error_set (err, errno, "socket `%s`: remove the stale socket", path);
    }

    cleanup_close int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return wr_error_set (err, errno, "socket");
    if (bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
        return wr_error_set (err, errno, "bind `%s`", path);
    /* Nobody can connect before listen(), so the umask's mode between bind
     * and chmod lets no one in. */
    if (chmod (path, 0660) < 0 || (server->options.set_socket_group &&
                                   chown (path, (uid_t) -1, server->options.socket_group) < 0)) {
        int saved = errno;
        unlink (path);
        if (server->options.set_socket_group && saved == EPERM)
            return wr_error_set (err, saved, "socket `%s`: give it to group %u", path,
                                 (unsigned) server->options.socket_group);
        return wr_error_set (err, saved, "socket `%s`: set its mode and group", path);
    }
    if (listen (fd, 128) < 0 || stat (path, &st) < 0) {
        int saved = errno;
        unlink (path);
        return wr_error_set (err, saved, "listen on `%s`", path);
    }
    server->socket_path = xstrdup (path);
    server->socket_dev = st.st_dev;
    server->socket_ino = st.st_ino;
    server->unix_listener.fd = steal_fd (&fd);
    return 0;
}

static int
make_tcp_socket (wr_api_server_t *server, wr_error_t *err)
{
    const char *host = server->options.tcp_host;
    char port[8];
    snprintf (port, sizeof port, "%u", (unsigned) server->options.tcp_port);
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
    };
    struct addrinfo *found = NULL;
    int rc = getaddrinfo (host, port, &hints, &found);
    if (rc != 0) {
        cleanup_free char *quoted = wr_quote (host, 64);
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "listen address `%s`: not a numeric address: %s", quoted,
                                  gai_strerror (rc));
    }
    cleanup_close int fd = socket (found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        freeaddrinfo (found);
        return wr_error_set (err, errno, "socket");
    }
    int one = 1;
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind (fd, found->ai_addr, found->ai_addrlen) < 0 || listen (fd, 128) < 0) {
        int saved = errno;
        freeaddrinfo (found);
        return wr_error_set (err, saved, "listen on %s port %s", host, port);
    }
    freeaddrinfo (found);
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    if (getsockname (fd, (struct sockaddr *) &bound, &bound_len) < 0)
        return wr_error_set (err, errno, "getsockname");
    if (bound.ss_family == AF_INET)
        server->tcp_port = ntohs (((struct sockaddr_in *) &bound)->sin_port);
    else
        server->tcp_port = ntohs (((struct sockaddr_in6 *) &bound)->sin6_port);
    server->tcp_listener.fd = steal_fd (&fd);
    return 0;
}

static int
start_daemon (listener_t *listener, wr_error_t *err)
{
    wr_api_server_t *server = listener->server;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    unsigned max_connections = server->options.max_connections > 0 ? server->options.max_connections
                                                                   : DEFAULT_MAX_CONNECTIONS;
    unsigned idle = server->options.idle_timeout_seconds > 0 ? server->options.idle_timeout_seconds
                                                             : DEFAULT_IDLE_TIMEOUT;
    listener->daemon = MHD_start_daemon (
        flags, 0, NULL, NULL, on_request, listener, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
        listener, MHD_OPTION_LISTEN_SOCKET, listener->fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        listener, MHD_OPTION_CONNECTION_LIMIT, max_connections, MHD_OPTION_CONNECTION_TIMEOUT, idle,
        MHD_OPTION_END);
    if (listener->daemon == NULL)
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0,
                                  "start the HTTP server on the %s listener", listener->name);
    /* MHD closes the listening socket when it stops. */
    listener->fd = -1;
    return 0;
}

static void
listener_init (listener_t *listener, wr_api_server_t *server, const char *name, bool needs_token)
{
    listener->server = server;
    listener->daemon = NULL;
    listener->fd = -1;
    listener->name = name;
    listener->needs_token = needs_token;
}

static void
remove_socket (wr_api_server_t *server)
{
    struct stat st;
    /* Only ours: another server may have replaced it since. */
    if (server->socket_path != NULL && lstat (server->socket_path, &st) == 0 &&
        st.st_dev == server->socket_dev && st.st_ino == server->socket_ino)
        unlink (server->socket_path);
}

static void
server_free (wr_api_server_t *server)
{
    listener_t *listeners[] = { &server->unix_listener, &server->tcp_listener };
    for (size_t i = 0; i < 2; i++) {
        if (listeners[i]->daemon != NULL)
            MHD_stop_daemon (listeners[i]->daemon);
        if (listeners[i]->fd >= 0)
            close (listeners[i]->fd);
    }
    remove_socket (server);
    wr_api_rate_free (server->rate);
    pthread_mutex_destroy (&server->lock);
    free (server->socket_path);
    free (server);
}

wr_api_server_t *
wr_api_server_start (const wr_api_server_options_t *options, wr_error_t *err)
{
    if (options->router == NULL) {
        wr_error_set (err, 0, "API server: no routes");
        return NULL;
    }
    if (options->socket_path == NULL && options->tcp_host == NULL) {
        wr_error_set (err, 0, "API server: neither a socket nor a TCP address to listen on");
        return NULL;
    }
    if (options->tcp_host != NULL && (options->token == NULL || options->token[0] == '\0')) {
        wr_error_set (err, 0, "API server: a TCP listener needs a bearer token");
        return NULL;
    }
    if (options->client_rate < 0 || (options->client_rate > 0 && options->client_burst == 0)) {
        wr_error_set (err, 0, "API server: a client rate needs a burst of at least one request");
        return NULL;
    }
    wr_api_server_t *server = xzalloc (sizeof *server);
    server->options = *options;
    if (options->client_rate > 0)
        server->rate = wr_api_rate_new (options->client_rate, options->client_burst, 0);
    pthread_mutex_init (&server->lock, NULL);
    atomic_init (&server->next_request, 0);
    listener_init (&server->unix_listener, server, "unix", false);
    listener_init (&server->tcp_listener, server, "tcp", true);
    unsigned char random_bytes[4] = { 0 };
    if (getrandom (random_bytes, sizeof random_bytes, GRND_NONBLOCK) < 0)
        memset (random_bytes, 0, sizeof random_bytes);
    snprintf (server->id_prefix, sizeof server->id_prefix, "%02x%02x%02x%02x", random_bytes[0],
              random_bytes[1], random_bytes[2], random_bytes[3]);

    if ((options->socket_path != NULL &&
         (make_unix_socket (server, err) < 0 || start_daemon (&server->unix_listener, err) < 0)) ||
        (options->tcp_host != NULL &&
         (make_tcp_socket (server, err) < 0 || start_daemon (&server->tcp_listener, err) < 0))) {
        server_free (server);
        return NULL;
    }
    return server;
}

unsigned short
wr_api_server_tcp_port (const wr_api_server_t *server)
{
    return server->tcp_listener.daemon != NULL ? server->tcp_port : 0;
}

void
wr_api_server_stop (wr_api_server_t *server)
{
    if (server == NULL)
        return;
    listener_t *listeners[] = { &server->unix_listener, &server->tcp_listener };
    /* First no new connections, then the streams ended, then the daemons
     * stopped, which waits for the requests being answered. */
    for (size_t i = 0; i < 2; i++) {
        if (listeners[i]->daemon != NULL) {
            MHD_socket fd = MHD_quiesce_daemon (listeners[i]->daemon);
            if (fd != MHD_INVALID_SOCKET)
                close (fd);
        }
    }
    remove_socket (server);
    pthread_mutex_lock (&server->lock);
    server->stopping = true;
    for (stream_t *s = server->streams; s != NULL; s = s->next)
        wr_api_events_cancel (s->events);
    pthread_mutex_unlock (&server->lock);
    server_free (server);
}
