/* A tiny HTTP/1.1 server for the client's tests: one request per
 * connection, read whole (Content-Length or chunked), recorded, then
 * answered by the test's handler. */
#ifndef WARREN_HTTP_STUB_H
#define WARREN_HTTP_STUB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char method[16];
    char target[8192]; /* path?query */
    char headers[16384]; /* the header lines as sent */
    char body[65536]; /* its first 64 KiB, NUL-terminated */
    size_t body_len; /* all of it */
    uint64_t body_hash; /* FNV-1a of all of it */
    bool chunked;
} test_request_t;

/* Answers REQ on FD (write what you like, then return: the connection is
 * closed). */
typedef void (*test_handler_fn) (int fd, const test_request_t *req);

typedef struct {
    char dir[64];
    char path[100];
    int listen_fd;
    pthread_t thread;
    pthread_mutex_t lock;
    test_handler_fn handler;
    test_request_t last;
    int requests;
    int port; /* TCP only */
} test_server_t;

void test_server_start (test_server_t *s);
/* The same on 127.0.0.1 (a free port, in PORT). */
void test_server_start_tcp (test_server_t *s);
void test_server_stop (test_server_t *s);
void test_server_set (test_server_t *s, test_handler_fn handler);
/* A copy of the last request. */
void test_server_last (test_server_t *s, test_request_t *out);

uint64_t test_hash (uint64_t h, const void *data, size_t len);
#define TEST_HASH_INIT 1469598103934665603ull

void test_write (int fd, const void *data, size_t len);
/* A whole answer with Content-Length. */
void test_answer (int fd, int status, const char *content_type, const char *body);
/* The header of a chunked answer, chunks, and its end. */
void test_chunked_start (int fd, int status, const char *content_type, const char *extra);
void test_chunk (int fd, const void *data, size_t len);
void test_chunked_end (int fd);
/* The value of header NAME in REQ (a copy in OUT), or false. */
bool test_header (const test_request_t *req, const char *name, char *out, size_t size);

#endif
