/* warrend's sandbox service, built from its settings: the image store, the
 * registry client, runsc, the host's places for sandboxes and the sandbox
 * manager over them.  main fills the settings from flags and the
 * environment; nothing here reads either. */
#ifndef WARREND_SERVICE_H
#define WARREND_SERVICE_H

#include <stdint.h>

#include "error.h"
#include "sandbox_manager.h"

typedef struct {
    const char *root; /* the state directory */
    const char *runsc; /* runsc; NULL: on PATH */
    const char *search_path; /* PATH, to find runsc */
    const char *init; /* warren-init; NULL: found next to warrend or installed */
    const char *self_exe; /* warrend's own path, to find warren-init next to it */
    const char *libexecdir;
    const char *docker_io_mirror; /* "http://127.0.0.1:5000"; NULL: Docker Hub */
    const char *auth_config; /* registry credentials; NULL: none */
    char *const *insecure_registries; /* reached over plain HTTP; NULL-terminated */
    const char *cgroup_parent; /* NULL: "/warren" */
    const char *platform; /* runsc --platform; NULL: runsc's default */
    int64_t max_lifetime_seconds;
    int64_t keep_ended_seconds; /* 0: forever */
    int64_t max_sandboxes_per_client; /* 0: no limit */
    int max_processes_per_sandbox; /* 0: no limit */
    const char *port_address; /* where exposed ports listen; NULL: 127.0.0.1 */
    /* Egress (sandbox_net.h): the uplink ("self" or a namespace's path;
     * NULL: none, loopback only), the pool, the resolver, the deny list
     * (NULL: the default; empty: none) and the nftables table. */
    const char *uplink;
    const char *sandbox_subnet;
    const char *dns;
    char *const *egress_deny;
    const char *nft_table;
} service_options_t;

typedef struct service_s service_t;

service_t *service_start (const service_options_t *options, wr_error_t *err);
wr_sandbox_manager_t *service_manager (service_t *service);
/* Closes the manager (the sandboxes keep running) and frees the rest. */
void service_stop (service_t *service);

#endif
