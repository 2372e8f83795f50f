/* A registry in the test's own process: an HTTP/1.1 server on a loopback
 * port, one request per connection, whose answers come from a handler
 * and whose requests are logged.  Shared by the registry client's and the
 * pull's unit tests. */
#ifndef WARREN_TEST_FAKE_REGISTRY_H
#define WARREN_TEST_FAKE_REGISTRY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define MAX_LOG 64

typedef struct {
    char method[16];
    char path[1024];
    char authorization[1024];
    char range[128];
    char content_type[256];
    size_t body_len; /* the request's body (Content-Length bytes) */
    char body_digest[80]; /* its sha256 digest */
    char body_start[256]; /* its first bytes, NUL-terminated */
} fake_request_t;

typedef struct {
    int status;
    char headers[2048]; /* extra "Name: value\r\n" lines */
    const char *body;
    size_t body_len;
    size_t send_len; /* < body_len: close the connection after that much */
    /* Send TRICKLE_AFTER bytes of the body at once, then one byte a second
     * (a registry that holds a response, or trickles it) */
    bool trickle;
    size_t trickle_after;
} fake_answer_t;

typedef struct fake_server fake_server_t;
typedef void (*fake_handler_fn) (fake_server_t *srv, const fake_request_t *req, fake_answer_t *ans);

struct fake_server {
    int fd;
    int port;
    pthread_t thread;
    fake_handler_fn handler;
    void *data;
    _Atomic bool stop; /* set by fake_stop, read by the serving threads */
    bool threaded; /* each connection in a thread of its own */
    pthread_mutex_t lock;
    pthread_cond_t connections_done;
    size_t n_connections; /* being answered (threaded) */
    char trickle_repository[256]; /* its blobs are trickled; "" for none */
    size_t trickle_after;
    size_t n_log;
    fake_request_t log[MAX_LOG];
};

/* Starts serving on 127.0.0.1 (a free port, in srv->port) with HANDLER;
 * DATA is left in srv->data for it. */
fake_server_t *fake_start (fake_handler_fn handler, void *data);
/* The same, answering each connection in a thread of its own, so that
 * many clients are served at once (HANDLER must be thread-safe). */
fake_server_t *fake_start_threaded (fake_handler_fn handler, void *data);
/* Blobs of REPOSITORY ("test/slow"; NULL: none) are trickled: AFTER bytes
 * at once, then one byte a second. */
void fake_trickle (fake_server_t *srv, const char *repository, size_t after);
/* Stops serving; waits for the connections being answered (a trickle
 * stops within 50 ms). */
void fake_stop (fake_server_t *srv);
/* How many logged requests have PATH_PART in their path. */
size_t fake_count (fake_server_t *srv, const char *path_part);
/* Sets the answer's status and a NUL-terminated body. */
void answer (fake_answer_t *ans, int status, const char *body);
/* Appends a "Name: value" header line. */
void add_header (fake_answer_t *ans, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

#endif
