/* The network of a sandbox's image build steps: the sandbox's own
 * namespace and link, made before the build, so that a step (pip
 * install, apt-get) reaches what the sandbox may reach under its egress
 * policy, through the same rules, and nothing else.  Each step's sandbox
 * runs with gVisor's network stack in that namespace; eth0 is readied
 * again before each one (runsc takes its address), and once more before
 * the sandbox itself starts (wr_sandbox_network_ready). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"
#include "runtime_probe.h"
#include "runtime_runsc.h"
#include "sandbox_manager_private.h"
#include "sandbox_net.h"
#include "sandbox_runsc.h"
#include "xalloc.h"

static int
prepare (void *data, wr_spec_t *spec, wr_error_t *err)
{
    wr_sandbox_build_network_t *bn = data;
    if (wr_spec_remove_namespace (spec, "network", err) < 0 ||
        wr_spec_add_namespace (spec, "network", bn->netns_path, err) < 0)
        return -1;
    /* runsc takes the interfaces of the namespace it is given: never the
     * host's (the rmem_default workaround turns off runsc's own check). */
    if (wr_runsc_check_not_host_netns (spec, "/proc/1/ns/net", err) < 0)
        return -1;
    return wr_sandbox_network_ready (bn->host, bn->id, bn->address, bn->uplink_fd, err);
}

/* The resolver the sandbox gets, in a file for the steps' bind mount:
 * ROOT/build-resolv.conf, replaced whole (a step that has it mounted keeps
 * the file it had). */
static char *
write_resolv_conf (wr_sandbox_manager_t *mgr, const char *id, const char *text, wr_error_t *err)
{
    cleanup_free char *path = xasprintf ("%s/build-resolv.conf", mgr->root);
    cleanup_free char *tmp = xasprintf ("%s.%s", path, id);
    cleanup_close int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        wr_error_set_kind (err, WR_ERROR_INTERNAL, errno, "write `%s`: %s", tmp, strerror (errno));
        return NULL;
    }
    if (wr_write_all (fd, text, strlen (text), tmp, err) < 0 || rename (tmp, path) < 0) {
        if (err != NULL && *err == NULL)
            wr_error_set_kind (err, WR_ERROR_INTERNAL, errno, "rename `%s`: %s", tmp,
                               strerror (errno));
        unlink (tmp);
        return NULL;
    }
    return steal_pointer (&path);
}

int
wr_sandbox_build_network_open (wr_sandbox_manager_t *mgr, const char *id, uint32_t address,
                               const wr_net_policy_t *policy, wr_sandbox_build_network_t *bn,
                               wr_error_t *err)
{
    memset (bn, 0, sizeof *bn);
    /* Without an uplink the sandbox has loopback only: so have its steps
     * (runsc --network=none). */
    if (mgr->net == NULL || address == 0)
        return 0;
    if (wr_backend_probe (mgr->host->runsc, err) < 0)
        return -1;
    bn->host = mgr->host;
    bn->id = id;
    bn->address = address;
    bn->uplink_fd = wr_sandbox_net_uplink_fd (mgr->net);
    bn->netns_path = wr_sandbox_netns_path (mgr->host, id);
    if (wr_sandbox_network_ready (mgr->host, id, address, bn->uplink_fd, err) < 0) {
        wr_sandbox_build_network_close (bn);
        return wr_error_prefix (err, "the build's network");
    }
    cleanup_free char *resolv = wr_sandbox_net_resolv_conf (mgr->net, policy);
    if (resolv != NULL) {
        bn->resolv_path = write_resolv_conf (mgr, id, resolv, err);
        if (bn->resolv_path == NULL) {
            wr_sandbox_build_network_close (bn);
            return -1;
        }
    }
    bool rmem = wr_runsc_needs_rmem_workaround (&mgr->host->runsc->info, "sandbox");
    bn->network = (wr_build_network_t){
        .prepare = prepare,
        .child_setup = rmem ? wr_sandbox_rmem_workaround : NULL,
        .child_setup_what = "the rmem_default workaround (a private mount namespace with a "
                            "tmpfs on /proc/sys/net)",
        .data = bn,
        .resolv_conf = bn->resolv_path,
    };
    bn->active = true;
    return 0;
}

void
wr_sandbox_build_network_close (wr_sandbox_build_network_t *bn)
{
    /* The namespace and link stay: they are the sandbox's, removed with
     * it (on a failed build too, as its end destroys what its id owns). */
    free (bn->netns_path);
    free (bn->resolv_path);
    memset (bn, 0, sizeof *bn);
}
