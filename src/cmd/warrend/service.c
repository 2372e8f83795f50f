#include "service.h"

#include <stdlib.h>
#include <string.h>

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
    wr_sandbox_manager_t *manager;
};

service_t *
service_start (const service_options_t *o, wr_error_t *err)
{
    service_t *s = xzalloc (sizeof *s);
    cleanup_free char *searched = NULL;
    if (wr_runtime_find_init (o->init, o->self_exe, o->libexecdir, &s->init, &searched, err) < 0)
        goto fail;
    if (s->init == NULL) {
        wr_error_set_kind (err, WR_ERROR_NOT_FOUND, 0,
                           "warren-init not found (looked in %s): give --init PATH", searched);
        goto fail;
    }
    s->root = xstrdup (o->root);
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
    wr_sandbox_manager_options_t mopts = {
        .root = s->root,
        .store = s->store,
        .registry = s->registry,
        .mirror = s->mirror,
        .host = &s->host,
        .init_path = s->init,
        .max_lifetime_seconds = o->max_lifetime_seconds,
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
    free (s);
}
