/* The rules that hold each sandbox to its network policy
 * (sandbox_firewall.c): one nftables table of warrend's (`inet TABLE`) in
 * the uplink's namespace, on the host side of every sandbox's link, so
 * nothing inside a sandbox (nested containers included) can change them.
 *
 *   forward     IPv6 to or from a link "wr-*": dropped (sandboxes have
 *               none).  A packet from one of this warrend's links jumps to
 *               its sandbox's chain sb-HEX (the map `links`), one to such a
 *               link to its chain sbi-HEX (`links_in`); a packet from or to
 *               the pool through any other link is dropped.
 *   sb-HEX      what a sandbox sends: a source other than its own address,
 *               the deny list (`deny`: link-local and cloud metadata by
 *               default) and the pool itself (sandbox to sandbox) are
 *               dropped first, whatever the policy; then open accepts,
 *               allow_list accepts its CIDRs, and the rest is dropped.
 *   sbi-HEX     what it is sent: replies only (conntrack established or
 *               related: nothing opens a connection to a sandbox), not
 *               from the deny list, and only from where its policy lets it
 *               go.
 *   input       nothing from a link "wr-*" reaches the uplink's own
 *               addresses (the host, when the uplink is warrend's own
 *               namespace) but replies.
 *   postrouting the pool's traffic leaving through the uplink is
 *               masqueraded.
 *
 * A change to a sandbox's policy is one nftables transaction, and rules
 * are checked for every packet, not only a connection's first: a
 * connection the new policy does not allow stops at once.
 *
 * Rules scoped to the pool, not to "wr-*", keep two warrends with
 * different pools and tables in one namespace out of each other's way;
 * two warrends must not share a table name. */
#ifndef WARREN_SANDBOX_FIREWALL_H
#define WARREN_SANDBOX_FIREWALL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "sandbox_policy.h"

typedef struct wr_firewall_s wr_firewall_t;

typedef struct {
    const char *table; /* the nftables table's name (inet family) */
    wr_cidr_t pool; /* the sandboxes' addresses */
    const wr_cidr_t *deny; /* dropped for every sandbox */
    size_t n_deny;
} wr_firewall_options_t;

/* The script that (re)makes the table: empty of sandboxes, atomically
 * replacing one left by an earlier warrend.  Caller frees. */
char *wr_firewall_base_script (const wr_firewall_options_t *options);
/* The script that gives LINK (address ADDRESS) POLICY, replacing what it
 * had; and the one that removes LINK's chain and map entry (missing ones
 * are no error).  Caller frees. */
char *wr_firewall_set_script (const wr_firewall_options_t *options, const char *link,
                              uint32_t address, const wr_net_policy_t *policy);
char *wr_firewall_unset_script (const wr_firewall_options_t *options, const char *link);
/* The script that deletes the table (a missing one is no error). */
char *wr_firewall_delete_script (const wr_firewall_options_t *options);

/* Makes the table in the namespace UPLINK_FD (kept open by the caller for
 * the firewall's life).  Needs CAP_NET_ADMIN there. */
wr_firewall_t *wr_firewall_open (const wr_firewall_options_t *options, int uplink_fd,
                                 wr_error_t *err);
int wr_firewall_set (wr_firewall_t *fw, const char *link, uint32_t address,
                     const wr_net_policy_t *policy, wr_error_t *err);
int wr_firewall_unset (wr_firewall_t *fw, const char *link, wr_error_t *err);
/* Deletes the table (at a clean stop with no sandbox left). */
int wr_firewall_delete (wr_firewall_t *fw, wr_error_t *err);
void wr_firewall_close (wr_firewall_t *fw);

#endif
