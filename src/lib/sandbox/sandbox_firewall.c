/* nftables rules for sandbox policies, through libnftables (see
 * sandbox_firewall.h). */
#include "sandbox_firewall.h"

#include <nftables/libnftables.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "sandbox_link.h"
#include "xalloc.h"

struct wr_firewall_s {
    wr_firewall_options_t o;
    char *table;
    wr_cidr_t *deny;
    int uplink_fd;
    pthread_mutex_t lock; /* one transaction at a time */
};

/* A script being written. */
typedef struct {
    FILE *f;
    char *text;
    size_t len;
} script_t;

static void
script_open (script_t *s)
{
    s->text = NULL;
    s->f = open_memstream (&s->text, &s->len);
    if (s->f == NULL)
        abort (); /* out of memory, as xalloc treats it */
}

static char *
script_take (script_t *s)
{
    fclose (s->f);
    return s->text;
}

static void
cidr_text (const wr_cidr_t *c, char buf[WR_CIDR_TEXT_MAX])
{
    wr_cidr_format (c, buf);
}

/* PREFIX and the link's hex (at most 12 characters) into BUF. */
static void
named (const char *prefix, const char *link, char *buf, size_t size)
{
    const char *hex = strncmp (link, WR_LINK_PREFIX, 3) == 0 ? link + 3 : link;
    size_t p = strlen (prefix), n = strnlen (hex, 12);
    if (p + n + 1 > size)
        n = size > p + 1 ? size - p - 1 : 0;
    memcpy (buf, prefix, p);
    memcpy (buf + p, hex, n);
    buf[p + n] = '\0';
}

/* "sb-" and the link's hex: the chain of what the sandbox sends; "sbi-"
 * and the hex: of what it is sent. */
static void
chain_name (const char *link, char buf[WR_LINK_NAME_MAX])
{
    named ("sb-", link, buf, WR_LINK_NAME_MAX);
}

static void
in_chain_name (const char *link, char buf[WR_LINK_NAME_MAX + 1])
{
    named ("sbi-", link, buf, WR_LINK_NAME_MAX + 1);
}

char *
wr_firewall_base_script (const wr_firewall_options_t *o)
{
    char pool[WR_CIDR_TEXT_MAX];
    cidr_text (&o->pool, pool);
    script_t b;
    script_open (&b);
    fprintf (b.f, "add table inet %s\ndelete table inet %s\n", o->table, o->table);
    fprintf (b.f, "table inet %s {\n", o->table);
    fprintf (b.f, "  set deny {\n    type ipv4_addr\n    flags interval\n");
    if (o->n_deny > 0) {
        fprintf (b.f, "    elements = { ");
        for (size_t i = 0; i < o->n_deny; i++) {
            char d[WR_CIDR_TEXT_MAX];
            cidr_text (&o->deny[i], d);
            fprintf (b.f, "%s%s", i > 0 ? ", " : "", d);
        }
        fprintf (b.f, " }\n");
    }
    fprintf (b.f, "  }\n");
    fprintf (b.f, "  map links {\n    type ifname : verdict\n  }\n");
    fprintf (b.f, "  map links_in {\n    type ifname : verdict\n  }\n");
    fprintf (b.f,
             "  chain forward {\n"
             "    type filter hook forward priority filter; policy accept;\n"
             "    meta nfproto ipv6 iifname \"" WR_LINK_PREFIX "*\" drop\n"
             "    meta nfproto ipv6 oifname \"" WR_LINK_PREFIX "*\" drop\n"
             "    iifname vmap @links\n"
             "    ip saddr %s drop\n"
             "    oifname vmap @links_in\n"
             "    ip daddr %s drop\n"
             "  }\n",
             pool, pool);
    fprintf (b.f, "  chain input {\n"
                  "    type filter hook input priority filter; policy accept;\n"
                  "    iifname \"" WR_LINK_PREFIX "*\" ct state established,related accept\n"
                  "    iifname \"" WR_LINK_PREFIX "*\" drop\n"
                  "  }\n");
    fprintf (b.f,
             "  chain postrouting {\n"
             "    type nat hook postrouting priority srcnat; policy accept;\n"
             "    ip saddr %s ip daddr != %s masquerade\n"
             "  }\n"
             "}\n",
             pool, pool);
    return script_take (&b);
}

char *
wr_firewall_set_script (const wr_firewall_options_t *o, const char *link, uint32_t address,
                        const wr_net_policy_t *policy)
{
    char pool[WR_CIDR_TEXT_MAX], chain[WR_LINK_NAME_MAX];
    cidr_text (&o->pool, pool);
    chain_name (link, chain);
    wr_cidr_t self = { .addr = address, .prefix = 32 };
    char addr[WR_CIDR_TEXT_MAX];
    cidr_text (&self, addr);
    *strchr (addr, '/') = '\0';
    const char *t = o->table;
    script_t b;
    script_open (&b);
    fprintf (b.f, "add chain inet %s %s\nflush chain inet %s %s\n", t, chain, t, chain);
    fprintf (b.f, "add rule inet %s %s ip saddr != %s drop\n", t, chain, addr);
    fprintf (b.f, "add rule inet %s %s ip daddr @deny drop\n", t, chain);
    fprintf (b.f, "add rule inet %s %s ip daddr %s drop\n", t, chain, pool);
    if (!policy->block && !policy->has_allow) {
        fprintf (b.f, "add rule inet %s %s accept\n", t, chain);
    } else {
        if (!policy->block && policy->n_allow > 0) {
            fprintf (b.f, "add rule inet %s %s ip daddr { ", t, chain);
            for (size_t i = 0; i < policy->n_allow; i++) {
                char c[WR_CIDR_TEXT_MAX];
                cidr_text (&policy->allow[i], c);
                fprintf (b.f, "%s%s", i > 0 ? ", " : "", c);
            }
            fprintf (b.f, " } accept\n");
        }
        fprintf (b.f, "add rule inet %s %s drop\n", t, chain);
    }
    fprintf (b.f, "add element inet %s links { \"%s\" : jump %s }\n", t, link, chain);
    /* What it is sent: replies only (nothing opens a connection to a
     * sandbox), and only from where it may go now, so a change stops a
     * connection in both directions. */
    char in[WR_LINK_NAME_MAX + 1];
    in_chain_name (link, in);
    fprintf (b.f, "add chain inet %s %s\nflush chain inet %s %s\n", t, in, t, in);
    fprintf (b.f, "add rule inet %s %s ct state != { established, related } drop\n", t, in);
    fprintf (b.f, "add rule inet %s %s ip saddr @deny drop\n", t, in);
    if (!policy->block && !policy->has_allow) {
        fprintf (b.f, "add rule inet %s %s accept\n", t, in);
    } else {
        if (!policy->block && policy->n_allow > 0) {
            fprintf (b.f, "add rule inet %s %s ip saddr { ", t, in);
            for (size_t i = 0; i < policy->n_allow; i++) {
                char c[WR_CIDR_TEXT_MAX];
                cidr_text (&policy->allow[i], c);
                fprintf (b.f, "%s%s", i > 0 ? ", " : "", c);
            }
            fprintf (b.f, " } accept\n");
        }
        fprintf (b.f, "add rule inet %s %s drop\n", t, in);
    }
    fprintf (b.f, "add element inet %s links_in { \"%s\" : jump %s }\n", t, link, in);
    return script_take (&b);
}

char *
wr_firewall_unset_script (const wr_firewall_options_t *o, const char *link)
{
    char chain[WR_LINK_NAME_MAX], in[WR_LINK_NAME_MAX + 1];
    chain_name (link, chain);
    in_chain_name (link, in);
    const char *t = o->table;
    /* Adding first makes the deletes no error when they are missing. */
    return xasprintf ("add chain inet %s %s\n"
                      "add chain inet %s %s\n"
                      "add element inet %s links { \"%s\" : jump %s }\n"
                      "add element inet %s links_in { \"%s\" : jump %s }\n"
                      "delete element inet %s links { \"%s\" }\n"
                      "delete element inet %s links_in { \"%s\" }\n"
                      "flush chain inet %s %s\n"
                      "delete chain inet %s %s\n"
                      "flush chain inet %s %s\n"
                      "delete chain inet %s %s\n",
                      t, chain, t, in, t, link, chain, t, link, in, t, link, t, link, t, chain, t,
                      chain, t, in, t, in);
}

char *
wr_firewall_delete_script (const wr_firewall_options_t *o)
{
    return xasprintf ("add table inet %s\ndelete table inet %s\n", o->table, o->table);
}

typedef struct {
    const char *script;
    const char *what;
} run_t;

/* Runs a script in the calling thread's namespace: one transaction. */
static int
run_script (void *data, wr_error_t *err)
{
    const run_t *r = data;
    struct nft_ctx *ctx = nft_ctx_new (NFT_CTX_DEFAULT);
    if (ctx == NULL)
        return wr_error_set (err, 0, "%s: libnftables could not start", r->what);
    nft_ctx_buffer_output (ctx);
    nft_ctx_buffer_error (ctx);
    int rc = 0;
    if (nft_run_cmd_from_buffer (ctx, r->script) != 0) {
        const char *msg = nft_ctx_get_error_buffer (ctx);
        cleanup_free char *text = xstrdup (msg != NULL ? msg : "");
        size_t n = strlen (text);
        while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
            text[--n] = '\0';
        rc = wr_error_set (err, 0, "%s: nftables refused the rules: %s", r->what,
                           text[0] != '\0' ? text : "no reason given");
    }
    nft_ctx_free (ctx);
    return rc;
}

static int
run (wr_firewall_t *fw, char *script, const char *what, wr_error_t *err)
{
    run_t r = { .script = script, .what = what };
    pthread_mutex_lock (&fw->lock);
    int rc = wr_in_netns (fw->uplink_fd, run_script, &r, err);
    pthread_mutex_unlock (&fw->lock);
    free (script);
    return rc;
}

wr_firewall_t *
wr_firewall_open (const wr_firewall_options_t *options, int uplink_fd, wr_error_t *err)
{
    wr_firewall_t *fw = xzalloc (sizeof *fw);
    fw->o = *options;
    fw->table = xstrdup (options->table);
    fw->o.table = fw->table;
    if (options->n_deny > 0) {
        fw->deny = xzalloc (options->n_deny * sizeof *fw->deny);
        memcpy (fw->deny, options->deny, options->n_deny * sizeof *fw->deny);
    }
    fw->o.deny = fw->deny;
    fw->uplink_fd = uplink_fd;
    pthread_mutex_init (&fw->lock, NULL);
    cleanup_free char *what = xasprintf ("table `inet %s`", fw->table);
    if (run (fw, wr_firewall_base_script (&fw->o), what, err) < 0) {
        wr_firewall_close (fw);
        return NULL;
    }
    return fw;
}

int
wr_firewall_set (wr_firewall_t *fw, const char *link, uint32_t address,
                 const wr_net_policy_t *policy, wr_error_t *err)
{
    cleanup_free char *what = xasprintf ("the rules of link `%s`", link);
    return run (fw, wr_firewall_set_script (&fw->o, link, address, policy), what, err);
}

int
wr_firewall_unset (wr_firewall_t *fw, const char *link, wr_error_t *err)
{
    cleanup_free char *what = xasprintf ("removing the rules of link `%s`", link);
    return run (fw, wr_firewall_unset_script (&fw->o, link), what, err);
}

int
wr_firewall_delete (wr_firewall_t *fw, wr_error_t *err)
{
    cleanup_free char *what = xasprintf ("deleting table `inet %s`", fw->table);
    return run (fw, wr_firewall_delete_script (&fw->o), what, err);
}

void
wr_firewall_close (wr_firewall_t *fw)
{
    if (fw == NULL)
        return;
    pthread_mutex_destroy (&fw->lock);
    free (fw->table);
    free (fw->deny);
    free (fw);
}
