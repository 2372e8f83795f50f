/* The sandboxes' uplink, address pool and firewall (see sandbox_net.h). */
#include "sandbox_net.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"
#include "sandbox_firewall.h"
#include "sandbox_link.h"
#include "xalloc.h"

struct wr_sandbox_net_s {
    int uplink_fd;
    char *uplink;
    wr_cidr_t pool;
    uint32_t dns; /* 0: none */
    wr_firewall_t *fw;
    const wr_log_t *log;
    pthread_mutex_t lock; /* USED */
    uint8_t *used; /* one byte per slot */
    size_t slots;
    size_t n_used;
};

void
wr_sandbox_net_address_text (uint32_t a, char buf[16])
{
    snprintf (buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

static int
write_forwarding (void *data, wr_error_t *err)
{
    (void) data;
    static const char path[] = "/proc/sys/net/ipv4/ip_forward";
    cleanup_close int fd = open (path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write (fd, "1\n", 2) != 2)
        return wr_error_set (err, errno, "turn IPv4 forwarding on in the uplink (`%s`)", path);
    return 0;
}

static int
parse_deny (const char *const *deny, wr_cidr_t **out, size_t *n, wr_error_t *err)
{
    static const char *const fallback[] = { WR_NET_DENY_DEFAULT, NULL };
    if (deny == NULL)
        deny = fallback;
    size_t count = 0;
    while (deny[count] != NULL)
        count++;
    *out = count > 0 ? xzalloc (count * sizeof **out) : NULL;
    *n = 0;
    for (size_t i = 0; i < count; i++) {
        if (wr_cidr_parse (deny[i], &(*out)[*n], err) < 0)
            return wr_error_prefix (err, "--egress-deny");
        (*n)++;
    }
    return 0;
}

wr_sandbox_net_t *
wr_sandbox_net_open (const wr_sandbox_net_options_t *o, wr_error_t *err)
{
    wr_sandbox_net_t *net = xzalloc (sizeof *net);
    net->uplink_fd = -1;
    net->log = o->log;
    pthread_mutex_init (&net->lock, NULL);
    cleanup_free wr_cidr_t *deny = NULL;
    size_t n_deny = 0;
    if (wr_cidr_parse (o->pool != NULL ? o->pool : WR_NET_POOL_DEFAULT, &net->pool, err) < 0) {
        wr_error_prefix (err, "--sandbox-subnet");
        goto fail;
    }
    if (net->pool.prefix < 8 || net->pool.prefix > 28) {
        wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                           "--sandbox-subnet: the prefix length must be 8 to 28 (each sandbox "
                           "takes a /30), not %d",
                           net->pool.prefix);
        goto fail;
    }
    net->slots = (size_t) 1 << (32 - net->pool.prefix - 2);
    net->used = xzalloc (net->slots);
    if (o->dns != NULL) {
        wr_cidr_t d;
        if (wr_cidr_parse (o->dns, &d, err) < 0 || d.prefix != 32) {
            if (err != NULL && *err == NULL)
                wr_error_set_kind (err, WR_ERROR_INVALID, 0, "`%s` is one address, not a range",
                                   o->dns);
            wr_error_prefix (err, "--dns");
            goto fail;
        }
        net->dns = d.addr;
    }
    if (parse_deny (o->deny, &deny, &n_deny, err) < 0)
        goto fail;
    if (o->uplink == NULL || o->uplink[0] == '\0') {
        wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                           "--uplink: give `self` or a network namespace's path");
        goto fail;
    }
    net->uplink = xstrdup (o->uplink);
    const char *path = strcmp (o->uplink, "self") == 0 ? "/proc/self/ns/net" : o->uplink;
    net->uplink_fd = open (path, O_RDONLY | O_CLOEXEC);
    if (net->uplink_fd < 0) {
        wr_error_set (err, errno, "--uplink: open the network namespace `%s`", path);
        goto fail;
    }
    if (wr_in_netns (net->uplink_fd, write_forwarding, NULL, err) < 0) {
        wr_error_prefix (err, "--uplink `%s`", o->uplink);
        goto fail;
    }
    wr_firewall_options_t fo = {
        .table = o->table != NULL ? o->table : WR_NET_TABLE_DEFAULT,
        .pool = net->pool,
        .deny = deny,
        .n_deny = n_deny,
    };
    net->fw = wr_firewall_open (&fo, net->uplink_fd, err);
    if (net->fw == NULL) {
        wr_error_prefix (err, "--uplink `%s`", o->uplink);
        goto fail;
    }
    char pool[WR_CIDR_TEXT_MAX];
    wr_cidr_format (&net->pool, pool);
    wr_log_to (net->log, WR_LOG_INFO, "sandbox egress ready", "uplink", net->uplink, "pool", pool,
               "table", fo.table, NULL);
    return net;
fail:
    wr_sandbox_net_close (net);
    return NULL;
}

void
wr_sandbox_net_retire (wr_sandbox_net_t *net)
{
    if (net == NULL || net->fw == NULL)
        return;
    pthread_mutex_lock (&net->lock);
    size_t used = net->n_used;
    pthread_mutex_unlock (&net->lock);
    if (used > 0)
        return;
    cleanup_error wr_error_t err = NULL;
    if (wr_firewall_delete (net->fw, &err) < 0)
        wr_log_to (net->log, WR_LOG_WARN, "removing the firewall's table failed", "error",
                   err->message, NULL);
}

void
wr_sandbox_net_close (wr_sandbox_net_t *net)
{
    if (net == NULL)
        return;
    wr_firewall_close (net->fw);
    if (net->uplink_fd >= 0)
        close (net->uplink_fd);
    pthread_mutex_destroy (&net->lock);
    free (net->used);
    free (net->uplink);
    free (net);
}

int
wr_sandbox_net_uplink_fd (const wr_sandbox_net_t *net)
{
    return net->uplink_fd;
}

/* The slot of ADDRESS, or -1 when it is not a sandbox address of ours. */
static long
slot_of (const wr_sandbox_net_t *net, uint32_t address)
{
    if (!wr_cidr_contains (&net->pool, address) || (address & 3) != 2)
        return -1;
    size_t slot = (address - net->pool.addr) / 4;
    return slot < net->slots ? (long) slot : -1;
}

static int
parse_address (const wr_sandbox_net_t *net, const char *text, long *slot, uint32_t *addr,
               wr_error_t *err)
{
    wr_cidr_t c;
    if (text == NULL || wr_cidr_parse (text, &c, err) < 0 || c.prefix != 32 ||
        (*slot = slot_of (net, c.addr)) < 0) {
        if (err != NULL && *err != NULL)
            wr_error_free (err);
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0,
                                  "the recorded address `%s` is not one of the pool's",
                                  text != NULL ? text : "(none)");
    }
    *addr = c.addr;
    return 0;
}

static void
free_slot (wr_sandbox_net_t *net, long slot)
{
    pthread_mutex_lock (&net->lock);
    if (net->used[slot]) {
        net->used[slot] = 0;
        net->n_used--;
    }
    pthread_mutex_unlock (&net->lock);
}

int
wr_sandbox_net_reserve (wr_sandbox_net_t *net, const char *id, const wr_net_policy_t *policy,
                        uint32_t *address, wr_error_t *err)
{
    long slot = -1;
    pthread_mutex_lock (&net->lock);
    for (size_t i = 0; i < net->slots && slot < 0; i++)
        if (!net->used[i]) {
            net->used[i] = 1;
            net->n_used++;
            slot = (long) i;
        }
    pthread_mutex_unlock (&net->lock);
    if (slot < 0)
        return wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                                  "sandbox `%s`: the pool's %zu addresses are all taken: give "
                                  "warrend a larger --sandbox-subnet",
                                  id, net->slots);
    *address = net->pool.addr + 4 * (uint32_t) slot + 2;
    char link[WR_LINK_NAME_MAX];
    wr_link_name (id, link);
    if (wr_firewall_set (net->fw, link, *address, policy, err) < 0) {
        free_slot (net, slot);
        return wr_error_prefix (err, "sandbox `%s`", id);
    }
    return 0;
}

int
wr_sandbox_net_adopt (wr_sandbox_net_t *net, const char *id, const char *address,
                      const wr_net_policy_t *policy, wr_error_t *err)
{
    long slot = 0;
    uint32_t addr = 0;
    if (parse_address (net, address, &slot, &addr, err) < 0)
        return wr_error_prefix (err, "sandbox `%s`", id);
    pthread_mutex_lock (&net->lock);
    if (!net->used[slot]) {
        net->used[slot] = 1;
        net->n_used++;
    }
    pthread_mutex_unlock (&net->lock);
    return wr_sandbox_net_apply (net, id, address, policy, err);
}

int
wr_sandbox_net_apply (wr_sandbox_net_t *net, const char *id, const char *address,
                      const wr_net_policy_t *policy, wr_error_t *err)
{
    long slot = 0;
    uint32_t addr = 0;
    if (parse_address (net, address, &slot, &addr, err) < 0)
        return wr_error_prefix (err, "sandbox `%s`", id);
    char link[WR_LINK_NAME_MAX];
    wr_link_name (id, link);
    if (wr_firewall_set (net->fw, link, addr, policy, err) < 0)
        return wr_error_prefix (err, "sandbox `%s`", id);
    return 0;
}

int
wr_sandbox_net_release (wr_sandbox_net_t *net, const char *id, const char *address, wr_error_t *err)
{
    char link[WR_LINK_NAME_MAX];
    wr_link_name (id, link);
    int rc = 0;
    if (wr_firewall_unset (net->fw, link, err) < 0 ||
        wr_link_remove (net->uplink_fd, link, err) < 0)
        rc = wr_error_prefix (err, "sandbox `%s`", id);
    long slot = 0;
    uint32_t addr = 0;
    if (address != NULL && address[0] != '\0' &&
        parse_address (net, address, &slot, &addr, NULL) == 0)
        free_slot (net, slot);
    return rc;
}

char *
wr_sandbox_net_resolv_conf (const wr_sandbox_net_t *net, const wr_net_policy_t *policy)
{
    if (policy->block)
        return xstrdup ("# warren: this sandbox's network is blocked: it has no resolver\n");
    if (net == NULL || net->dns == 0)
        return NULL;
    char dns[16];
    wr_sandbox_net_address_text (net->dns, dns);
    return xasprintf ("# warren: the resolver warrend gives its sandboxes (--dns)\n"
                      "nameserver %s\n",
                      dns);
}
