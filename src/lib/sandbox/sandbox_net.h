/* Sandboxes' egress (sandbox_net.c): the uplink they share, the pool their
 * addresses come from, the resolver they get, and their firewall.
 *
 * Each sandbox gets a /30 of the pool (slot K: the gateway, the host end
 * of its link, is BASE + 4K + 1 and the sandbox BASE + 4K + 2) and a link
 * to the uplink (sandbox_link.h), whose rules hold it to its policy
 * (sandbox_firewall.h).  The uplink is a network namespace the operator
 * chose: warrend's own ("self": the host's, with its routes out), or one
 * given by path (/run/netns/NAME), which is what tests use so that no
 * sandbox traffic reaches the machine's own network.  warrend turns on
 * IPv4 forwarding there.
 *
 * Without an uplink (no --uplink) there is no egress: sandboxes have
 * loopback only, whatever their policy says. */
#ifndef WARREN_SANDBOX_NET_H
#define WARREN_SANDBOX_NET_H

#include <stdint.h>

#include "error.h"
#include "log.h"
#include "sandbox_policy.h"

typedef struct wr_sandbox_net_s wr_sandbox_net_t;

/* The pool when none is given. */
#define WR_NET_POOL_DEFAULT "10.88.0.0/16"
/* The deny list when none is given: link-local, cloud metadata among it. */
#define WR_NET_DENY_DEFAULT "169.254.0.0/16"
#define WR_NET_TABLE_DEFAULT "warren"

typedef struct {
    const char *uplink; /* "self" or a network namespace's path */
    const char *pool; /* CIDR, prefix 8 to 28; NULL: WR_NET_POOL_DEFAULT */
    const char *dns; /* the resolver's IPv4 address, or NULL: none */
    const char *const *deny; /* CIDRs; NULL: WR_NET_DENY_DEFAULT; empty: none */
    const char *table; /* NULL: WR_NET_TABLE_DEFAULT */
    const wr_log_t *log;
} wr_sandbox_net_options_t;

/* Opens the uplink, turns forwarding on and (re)makes the firewall's
 * table, empty: sandboxes adopted after a restart get their rules again
 * from wr_sandbox_net_adopt.  Errors name the flag at fault. */
wr_sandbox_net_t *wr_sandbox_net_open (const wr_sandbox_net_options_t *options, wr_error_t *err);
/* Frees NET; the table and the links stay for the next warrend.
 * wr_sandbox_net_retire first removes the table when no sandbox has a
 * link any more (a clean stop). */
void wr_sandbox_net_close (wr_sandbox_net_t *net);
void wr_sandbox_net_retire (wr_sandbox_net_t *net);

/* The uplink namespace (for wr_link_create and wr_link_remove). */
int wr_sandbox_net_uplink_fd (const wr_sandbox_net_t *net);
/* The prefix of every sandbox's /30. */
#define WR_NET_LINK_PREFIX 30

/* Takes a free address for sandbox ID and installs POLICY's rules for its
 * link (before the link exists: nothing passes unruled).  *ADDRESS gets
 * the sandbox's address (its gateway is one less).  Kind too_many when the
 * pool is full. */
int wr_sandbox_net_reserve (wr_sandbox_net_t *net, const char *id, const wr_net_policy_t *policy,
                            uint32_t *address, wr_error_t *err);
/* The same for a sandbox adopted after a restart, at ADDRESS (text, as
 * recorded). */
int wr_sandbox_net_adopt (wr_sandbox_net_t *net, const char *id, const char *address,
                          const wr_net_policy_t *policy, wr_error_t *err);
/* Replaces the rules of ID's link (at ADDRESS) with POLICY's, atomically. */
int wr_sandbox_net_apply (wr_sandbox_net_t *net, const char *id, const char *address,
                          const wr_net_policy_t *policy, wr_error_t *err);
/* Removes ID's rules and its link and frees ADDRESS (NULL or "": only
 * the rules and the link).  Missing ones are no error. */
int wr_sandbox_net_release (wr_sandbox_net_t *net, const char *id, const char *address,
                            wr_error_t *err);

/* What /etc/resolv.conf says in a sandbox with POLICY: the resolver, or a
 * comment that it has none when blocked; NULL when warrend has no
 * resolver to give (the image's own file stays).  Caller frees. */
char *wr_sandbox_net_resolv_conf (const wr_sandbox_net_t *net, const wr_net_policy_t *policy);

/* "A.B.C.D" into BUF. */
void wr_sandbox_net_address_text (uint32_t address, char buf[16]);

#endif
