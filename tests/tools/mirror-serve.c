/* mirror-serve STORE UPSTREAM PORT: warrend's registry mirror on
 * 127.0.0.1:PORT, one thread per connection through the fd adapter, with
 * UPSTREAM (a URL: http://127.0.0.1:5000) as docker.io.  For trying the
 * mirror with a real dockerd (`registry-mirrors`) or curl.  Runs until
 * killed; each connection's lines carry its number. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "mirror.h"
#include "registry.h"
#include "store.h"
#include "xalloc.h"

typedef struct {
    wr_mirror_t *mirror;
    int fd;
    char id[24];
} conn_t;

static void *
serve (void *data)
{
    conn_t *c = data;
    const char *fields[] = { "connection", c->id, NULL };
    wr_log_t log = { .fields = fields };
    wr_mirror_conn_t conn = wr_mirror_conn_fd (c->fd);
    wr_error_t err = NULL;
    if (wr_mirror_serve (c->mirror, &conn, &log, NULL, &err) < 0) {
        wr_log (WR_LOG_WARN, "connection ended", "connection", c->id, "error", err->message, NULL);
        wr_error_free (&err);
    }
    close (c->fd);
    free (c);
    return NULL;
}

int
main (int argc, char **argv)
{
    if (argc != 4) {
        fprintf (stderr, "usage: mirror-serve STORE UPSTREAM PORT\n");
        return 2;
    }
    wr_log_set_level (WR_LOG_DEBUG);
    wr_error_t err = NULL;
    wr_store_t *store = wr_store_open (argv[1], &err);
    wr_registry_options_t ropts = { .docker_io_mirror = argv[2] };
    wr_registry_t *registry = store != NULL ? wr_registry_new (&ropts, &err) : NULL;
    wr_mirror_options_t mopts = { .registry = registry, .store = store };
    wr_mirror_t *mirror = registry != NULL ? wr_mirror_new (&mopts, &err) : NULL;
    if (mirror == NULL) {
        fprintf (stderr, "mirror-serve: %s\n", err->message);
        return 1;
    }
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = { .sin_family = AF_INET,
                                .sin_port = htons ((uint16_t) atoi (argv[3])),
                                .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    if (fd < 0 || bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (fd, 64) < 0) {
        perror ("mirror-serve: listen");
        return 1;
    }
    wr_log (WR_LOG_INFO, "mirror listening", "port", argv[3], "upstream", argv[2], NULL);
    for (unsigned long n = 1;; n++) {
        int c = accept4 (fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        conn_t *conn = xzalloc (sizeof *conn);
        conn->mirror = mirror;
        conn->fd = c;
        snprintf (conn->id, sizeof conn->id, "%lu", n);
        pthread_t t;
        if (pthread_create (&t, NULL, serve, conn) != 0) {
            close (c);
            free (conn);
            continue;
        }
        pthread_detach (t);
    }
}
