/* See sandbox_ports.h.  A live sandbox (live_t) keeps its exposed ports in
 * a list under the manager's lock; a port's listening socket is bound
 * before it is recorded, so a host port in use is an error at once, and
 * its forward is stopped outside the lock. */
#include "sandbox_ports.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "sandbox_forward.h"
#include "sandbox_manager_private.h"
#include "xalloc.h"

struct wr_sandbox_exposed_s {
    struct wr_sandbox_exposed_s *next;
    int port;
    int host_port;
    wr_forward_t *forward;
};

const char *
wr_sandbox_port_address (const wr_sandbox_manager_t *mgr)
{
    return mgr->port_address != NULL ? mgr->port_address : "127.0.0.1";
}

/* A socket listening on the manager's address and HOST_PORT (0: any);
 * *BOUND gets the port. */
static int
listen_on (wr_sandbox_manager_t *mgr, int host_port, int *bound, wr_error_t *err)
{
    const char *address = wr_sandbox_port_address (mgr);
    struct sockaddr_storage ss = { 0 };
    socklen_t len;
    struct sockaddr_in *v4 = (struct sockaddr_in *) &ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *) &ss;
    if (inet_pton (AF_INET, address, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons ((uint16_t) host_port);
        len = sizeof *v4;
    } else if (inet_pton (AF_INET6, address, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons ((uint16_t) host_port);
        len = sizeof *v6;
    } else {
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "the port address `%s` is not an IPv4 or IPv6 address", address);
    }
    int fd = socket (ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, errno, "socket: %s", strerror (errno));
    int one = 1;
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind (fd, (struct sockaddr *) &ss, len) < 0 || listen (fd, 128) < 0) {
        int e = errno;
        close (fd);
        if (e == EADDRINUSE)
            return wr_error_set_kind (err, WR_ERROR_EXISTS, e, "host port %s:%d is in use", address,
                                      host_port);
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, e, "listen on %s:%d: %s", address,
                                  host_port, strerror (e));
    }
    len = sizeof ss;
    getsockname (fd, (struct sockaddr *) &ss, &len);
    *bound = ntohs (ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
    return fd;
}

static json_object *
port_json (const wr_sandbox_manager_t *mgr, int port, int host_port)
{
    const char *address = wr_sandbox_port_address (mgr);
    bool v6 = strchr (address, ':') != NULL;
    json_object *o = json_object_new_object ();
    json_object_object_add (o, "port", json_object_new_int (port));
    json_object_object_add (o, "host", json_object_new_string (address));
    json_object_object_add (o, "host_port", json_object_new_int (host_port));
    cleanup_free char *url = xasprintf (v6 ? "http://[%s]:%d" : "http://%s:%d", address, host_port);
    json_object_object_add (o, "url", json_object_new_string (url));
    return o;
}

json_object *
wr_sandbox_ports_json_locked (const wr_sandbox_manager_t *mgr, const live_t *l)
{
    json_object *list = json_object_new_array ();
    /* The list is kept by port. */
    for (const wr_sandbox_exposed_t *e = l != NULL ? l->exposed : NULL; e != NULL; e = e->next)
        json_object_array_add (list, port_json (mgr, e->port, e->host_port));
    return list;
}

/* Listens, and puts PORT in ID's list; the database is the caller's. */
static int
expose_live (wr_sandbox_manager_t *mgr, const char *id, int port, int host_port, int *bound,
             wr_error_t *err)
{
    int fd = listen_on (mgr, host_port, bound, err);
    if (fd < 0)
        return wr_error_prefix (err, "sandbox `%s`: port %d", id, port);
    cleanup_free char *what = xasprintf ("port %d", port);
    wr_forward_t *forward =
        wr_forward_start (mgr, id, fd, (wr_forward_target_t){ "tcp", port }, what, mgr->log, err);
    if (forward == NULL)
        return -1;
    wr_sandbox_exposed_t *n = xzalloc (sizeof *n);
    *n = (wr_sandbox_exposed_t){ .port = port, .host_port = *bound, .forward = forward };
    /* Put in by port, unless the sandbox went or has the port already. */
    pthread_mutex_lock (&mgr->lock);
    live_t *l = wr_sandbox_live_find (mgr, id);
    wr_sandbox_exposed_t **p = l != NULL ? &l->exposed : NULL;
    bool twice = false;
    while (p != NULL && *p != NULL && (*p)->port <= port) {
        twice = twice || (*p)->port == port;
        p = &(*p)->next;
    }
    if (p != NULL && !twice) {
        n->next = *p;
        *p = n;
    }
    pthread_mutex_unlock (&mgr->lock);
    if (p == NULL || twice) {
        /* Not running (any more), or exposed already. */
        wr_forward_stop (forward);
        free (n);
        if (twice)
            return wr_error_set_kind (err, WR_ERROR_EXISTS, 0,
                                      "sandbox `%s`: port %d is exposed already", id, port);
        return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0, "sandbox `%s` is not running", id);
    }
    return 0;
}

/* Takes PORT out of ID's list and stops it; false when it was not there. */
static bool
unexpose_live (wr_sandbox_manager_t *mgr, const char *id, int port)
{
    pthread_mutex_lock (&mgr->lock);
    live_t *l = wr_sandbox_live_find (mgr, id);
    wr_sandbox_exposed_t *found = NULL;
    for (wr_sandbox_exposed_t **p = l != NULL ? &l->exposed : NULL; p != NULL && *p != NULL;
         p = &(*p)->next) {
        if ((*p)->port == port) {
            found = *p;
            *p = found->next;
            break;
        }
    }
    pthread_mutex_unlock (&mgr->lock);
    if (found == NULL)
        return false;
    wr_forward_stop (found->forward);
    free (found);
    return true;
}

json_object *
wr_sandbox_manager_expose (wr_sandbox_manager_t *mgr, const char *id, int port, int host_port,
                           wr_error_t *err)
{
    if (port < 1 || port > 65535 || host_port < 0 || host_port > 65535) {
        wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                           "port %d, host port %d: a port is 1 to 65535 (a host port 0: any)", port,
                           host_port);
        return NULL;
    }
    cleanup_free char *sid = wr_sandbox_running_id (mgr, id, err);
    if (sid == NULL)
        return NULL;
    int bound = 0;
    if (expose_live (mgr, sid, port, host_port, &bound, err) < 0)
        return NULL;
    if (wr_sandbox_db_port_add (mgr->db, sid, port, bound, err) < 0) {
        unexpose_live (mgr, sid, port);
        return NULL;
    }
    char port_text[16], host_text[16];
    snprintf (port_text, sizeof port_text, "%d", port);
    snprintf (host_text, sizeof host_text, "%d", bound);
    wr_log_to (mgr->log, WR_LOG_INFO, "port exposed", "sandbox", sid, "port", port_text,
               "host_port", host_text, NULL);
    return port_json (mgr, port, bound);
}

int
wr_sandbox_manager_unexpose (wr_sandbox_manager_t *mgr, const char *id, int port, wr_error_t *err)
{
    cleanup_free char *sid = wr_sandbox_running_id (mgr, id, err);
    if (sid == NULL)
        return -1;
    if (wr_sandbox_db_port_remove (mgr->db, sid, port, err) < 0)
        return -1;
    unexpose_live (mgr, sid, port);
    return 0;
}

json_object *
wr_sandbox_manager_ports (wr_sandbox_manager_t *mgr, const char *id, wr_error_t *err)
{
    wr_sandbox_record_t record = { 0 };
    if (wr_sandbox_lookup (mgr, id, &record, err) < 0)
        return NULL;
    pthread_mutex_lock (&mgr->lock);
    json_object *list = wr_sandbox_ports_json_locked (mgr, wr_sandbox_live_find (mgr, record.id));
    pthread_mutex_unlock (&mgr->lock);
    wr_sandbox_record_clear (&record);
    json_object *o = json_object_new_object ();
    json_object_object_add (o, "ports", list);
    return o;
}

int
wr_sandbox_ports_apply (wr_sandbox_manager_t *mgr, const char *id, const int *ports, size_t n,
                        wr_error_t *err)
{
    for (size_t i = 0; i < n; i++) {
        json_object *o = wr_sandbox_manager_expose (mgr, id, ports[i], 0, err);
        if (o == NULL)
            return -1;
        json_object_put (o);
    }
    return 0;
}

void
wr_sandbox_ports_restore (wr_sandbox_manager_t *mgr, const char *id)
{
    wr_sandbox_port_t *ports = NULL;
    size_t n = 0;
    cleanup_error wr_error_t err = NULL;
    if (wr_sandbox_db_ports (mgr->db, id, &ports, &n, &err) < 0) {
        wr_log_to (mgr->log, WR_LOG_WARN, "recovery: cannot read the exposed ports", "sandbox", id,
                   "error", err->message, NULL);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        int bound = 0;
        cleanup_error wr_error_t e = NULL;
        if (expose_live (mgr, id, ports[i].port, ports[i].host_port, &bound, &e) < 0) {
            /* Its host port was taken while warrend was down: forgotten. */
            wr_log_to (mgr->log, WR_LOG_WARN, "recovery: an exposed port is lost", "sandbox", id,
                       "error", e->message, NULL);
            wr_sandbox_db_port_remove (mgr->db, id, ports[i].port, NULL);
        }
    }
    free (ports);
}

void
wr_sandbox_ports_stop (wr_sandbox_exposed_t *list)
{
    while (list != NULL) {
        wr_sandbox_exposed_t *next = list->next;
        wr_forward_stop (list->forward);
        free (list);
        list = next;
    }
}
