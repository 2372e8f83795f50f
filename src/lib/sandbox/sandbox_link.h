/* The link that gives a sandbox its egress (sandbox_link.c): a veth pair
 * whose sandbox end is eth0 in the sandbox's network namespace (an
 * address and a default route through the other end, which gVisor's
 * network stack takes over when the sandbox starts) and whose host end,
 * "wr-" and 12 hex digits of the sandbox's id, sits in the uplink's
 * namespace with the gateway's address.  Made with rtnetlink and the
 * interface ioctls, without the `ip` tool; needs CAP_NET_ADMIN.
 *
 * Removing the host end removes the pair, and so does removing the
 * sandbox's namespace: a link never outlives its sandbox's namespace. */
#ifndef WARREN_SANDBOX_LINK_H
#define WARREN_SANDBOX_LINK_H

#include <stdint.h>

#include "error.h"

/* "wr-" and 12 characters: within IFNAMSIZ. */
#define WR_LINK_PREFIX "wr-"
#define WR_LINK_NAME_MAX 16

/* The host end's name for SANDBOX_ID ("sb-" + hex: the hex's first 12)
 * into BUF. */
void wr_link_name (const char *sandbox_id, char buf[WR_LINK_NAME_MAX]);

typedef struct {
    const char *name; /* the host end (wr_link_name) */
    int uplink_fd; /* the uplink's network namespace (an open nsfs file) */
    const char *netns_path; /* the sandbox's network namespace */
    uint32_t gateway; /* the host end's address, host byte order */
    uint32_t address; /* eth0's */
    int prefix; /* of both */
} wr_link_spec_t;

/* Makes the pair, addresses both ends, brings them up and routes the
 * sandbox's traffic through the gateway.  On failure nothing is left. */
int wr_link_create (const wr_link_spec_t *spec, wr_error_t *err);

/* Gives eth0 in SPEC's sandbox namespace its address, its state up and
 * its default route again: runsc takes the addresses of the interfaces
 * its network stack takes over, so a namespace that served one sandbox
 * (a build step's) is readied again for the next. */
int wr_link_readdress (const wr_link_spec_t *spec, wr_error_t *err);

/* Removes link NAME from the uplink's namespace; a missing one is no
 * error. */
int wr_link_remove (int uplink_fd, const char *name, wr_error_t *err);

/* Runs FN(DATA) on a thread of its own in the network namespace NS_FD and
 * returns what it returned (its ERR is the caller's).  The caller's
 * threads stay where they are. */
int wr_in_netns (int ns_fd, int (*fn) (void *data, wr_error_t *err), void *data, wr_error_t *err);

#endif
