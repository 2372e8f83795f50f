/* See sandbox_docker_socket.h: a unix socket bound at PATH, served by a
 * forward (sandbox_forward.h) to the agent's `docker` tunnel target. */
#include "sandbox_docker_socket.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sandbox_forward.h"
#include "xalloc.h"

struct wr_docker_socket_s {
    char *path;
    wr_forward_t *forward;
};

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
    wr_forward_t *forward = wr_forward_start (mgr, id, fd, (wr_forward_target_t){ "docker", 0 },
                                              "docker socket", log, err);
    if (forward == NULL) {
        unlink (path);
        return NULL;
    }
    wr_docker_socket_t *sock = xzalloc (sizeof *sock);
    sock->path = xstrdup (path);
    sock->forward = forward;
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
    wr_forward_stop (sock->forward);
    unlink (sock->path);
    free (sock->path);
    free (sock);
}
