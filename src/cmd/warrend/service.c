#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"
#include "mirror.h"
#include "registry.h"
#include "runtime_backend.h"
#include "runtime_launch.h"
#include "sandbox_runsc.h"
#include "store.h"
#include "xalloc.h"

struct service_s {
    char *root;
    char *store_dir;
    char *probe_dir;
    char *netns_dir;
    char *init;
    wr_store_t *store;
    wr_registry_t *registry;
    wr_mirror_t *mirror;
    wr_backend_t *runsc;
    wr_sandbox_host_t host;
    wr_sandbox_net_t *net;
    wr_sandbox_manager_t *manager;
    int lock_fd;
};

/* ROOT/warrend.lock, held (flock) for warrend's life: two warrends on one
 * root would remove each other's sandboxes as leftovers. */
static int
lock_root (service_t *s, const char *root, wr_error_t *err)
{
    cleanup_free char *path = xasprintf ("%s/warrend.lock", root);
    s->lock_fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (s->lock_fd < 0)
        return wr_error_set (err, errno, "open `%s`", path);
    if (flock (s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        char pid[32] = "";
        ssize_t n = pread (s->lock_fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn (pid, "\n")] = '\0';
        if (e == EWOULDBLOCK)
            return wr_error_set_kind (err, WR_ERROR_EXISTS, 0,
                                      "root `%s` is in use by another warrend (pid %s): give each "
                                      "warrend its own --root",
                                      root, pid[0] != '\0' ? pid : "unknown");
        return wr_error_set (err, e, "lock `%s`", path);
    }
    char text[32];
    int len = snprintf (text, sizeof text, "%ld\n", (long) getpid ());
    if (ftruncate (s->lock_fd, 0) < 0 || pwrite (s->lock_fd, text, (size_t) len, 0) != len)
        return wr_error_set (err, errno, "write `%s`", path);
    return 0;
}

service_t *
service_start (const service_options_t *o, wr_error_t *err)
{
    service_t *s = xzalloc (sizeof *s);
    s->lock_fd = -1;
    cleanup_free char *searched = NULL;
    if (wr_runtime_find_init (o->init, o->self_exe, o->libexecdir, &s->init, &searched, err) < 0)
        goto fail;
    if (s->init == NULL) {
        wr_error_set_kind (err, WR_ERROR_NOT_FOUND, 0,
                           "warren-init not found (looked in %s): give --init PATH", searched);
        goto fail;
    }
    s->root = xstrdup (o->root);
    if (lock_root (s, o->root, err) < 0)
        goto fail;
    s->store_dir = xasprintf ("%s/store", o->root);
    s->probe_dir = xasprintf ("%s/run", o->root);
    s->netns_dir = xasprintf ("%s/run/netns", o->root);
    if (wr_mkdir_p (s->netns_dir, 0700, err) < 0)
        goto fail;
    s->store = wr_store_open (s->store_dir, err);
    if (s->store == NULL)
        goto fail;
    wr_registry_options_t ropts = {
        .docker_io_mirror = o->docker_io_mirror,
        .auth_config = o->auth_config,
        .insecure_registries = (const char *const *) o->insecure_registries,
    };
    s->registry = wr_registry_new (&ropts, err);
    if (s->registry == NULL)
        goto fail;
    /* What Docker-enabled sandboxes' dockerd pulls through: docker.io's
     * images, by the registry client (its docker.io mirror, credentials). */
    wr_mirror_options_t miopts = { .registry = s->registry, .store = s->store };
    s->mirror = wr_mirror_new (&miopts, err);
    if (s->mirror == NULL)
        goto fail;
    s->runsc =
        wr_backend_new (&wr_backend_runsc, o->runsc != NULL ? o->runsc : "runsc", s->probe_dir);
    wr_backend_set_search_path (s->runsc, o->search_path);
    s->host = (wr_sandbox_host_t){
        .runsc = s->runsc,
        .root = s->root,
        .netns_dir = s->netns_dir,
        .cgroup_parent = o->cgroup_parent != NULL ? o->cgroup_parent : "/warren",
        .platform = o->platform,
    };
    if (o->uplink != NULL) {
        wr_sandbox_net_options_t nopts = {
            .uplink = o->uplink,
            .pool = o->sandbox_subnet,
            .dns = o->dns,
            .deny = (const char *const *) o->egress_deny,
            .table = o->nft_table,
        };
        s->net = wr_sandbox_net_open (&nopts, err);
        if (s->net == NULL)
            goto fail;
    }
    wr_sandbox_manager_options_t mopts = {
        .root = s->root,
        .store = s->store,
        .registry = s->registry,
        .mirror = s->mirror,
        .host = &s->host,
        .net = s->net,
        .init_path = s->init,
        .max_lifetime_seconds = o->max_lifetime_seconds,
        .keep_ended_seconds = o->keep_ended_seconds,
        .max_sandboxes_per_client = o->max_sandboxes_per_client,
        .max_processes_per_sandbox = o->max_processes_per_sandbox,
        .port_address = o->port_address,
    };
    s->manager = wr_sandbox_manager_open (&mopts, err);
    if (s->manager == NULL)
        goto fail;
    return s;
fail:
    service_stop (s);
    return NULL;
}

wr_sandbox_manager_t *
service_manager (service_t *s)
{
    return s->manager;
}

void
service_stop (service_t *s)
{
    if (s == NULL)
        return;
    wr_sandbox_manager_close (s->manager);
    wr_sandbox_net_retire (s->net);
    wr_sandbox_net_close (s->net);
    wr_mirror_free (s->mirror);
    if (s->runsc != NULL)
        wr_backend_free (s->runsc);
    if (s->registry != NULL)
        wr_registry_free (s->registry);
    if (s->store != NULL)
        wr_store_close (s->store);
    free (s->root);
    free (s->store_dir);
    free (s->probe_dir);
    free (s->netns_dir);
    free (s->init);
    if (s->lock_fd >= 0)
        close (s->lock_fd);
    free (s);
}
