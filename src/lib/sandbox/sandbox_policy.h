/* What a sandbox may reach on the network (sandbox_policy.c): open (the
 * default), blocked (block_network: nothing at all), or only the CIDRs of
 * an allow_list.  Given at create and changed later with PATCH (docs/api.md,
 * "Network"); warrend enforces it outside the sandbox (sandbox_firewall.h).
 *
 * Both fields are untrusted input: addresses are IPv4 in dotted form with
 * an optional prefix length ("10.1.0.0/16", "192.0.2.7" meaning /32), and
 * host bits under the prefix are cleared ("10.1.2.3/16" is kept as
 * "10.1.0.0/16").  block_network and allow_list do not go together. */
#ifndef WARREN_SANDBOX_POLICY_H
#define WARREN_SANDBOX_POLICY_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* At most this many entries in an allow_list. */
#define WR_POLICY_ALLOW_MAX 64
/* "255.255.255.255/32" and its NUL. */
#define WR_CIDR_TEXT_MAX 19

typedef struct {
    uint32_t addr; /* host byte order, host bits cleared */
    int prefix; /* 0 .. 32 */
} wr_cidr_t;

typedef struct {
    bool block; /* block_network */
    bool has_allow; /* an allow_list was given (an empty one allows nothing) */
    wr_cidr_t *allow;
    size_t n_allow;
} wr_net_policy_t;

/* TEXT as a CIDR; an INVALID error quoting it otherwise. */
int wr_cidr_parse (const char *text, wr_cidr_t *out, wr_error_t *err);
/* "A.B.C.D/N" into BUF. */
void wr_cidr_format (const wr_cidr_t *cidr, char buf[WR_CIDR_TEXT_MAX]);
/* Whether ADDR (host byte order) is inside CIDR. */
bool wr_cidr_contains (const wr_cidr_t *cidr, uint32_t addr);
/* Whether the two ranges share an address. */
bool wr_cidr_overlaps (const wr_cidr_t *a, const wr_cidr_t *b);

/* Reads block_network and allow_list from OBJ (other members are the
 * caller's business) into *OUT (cleared first).  Messages start with NAME
 * ("request body").  Returns 1 when either field was given, 0 when
 * neither (*OUT is then open), -1 with an INVALID error. */
int wr_net_policy_from_object (json_object *obj, const char *name, wr_net_policy_t *out,
                               wr_error_t *err);

/* Adds "block_network" and "allow_list" (null when none) to OBJ. */
void wr_net_policy_add_json (const wr_net_policy_t *policy, json_object *obj);
/* The policy as compact JSON text (what the database keeps); caller
 * frees. */
char *wr_net_policy_to_json (const wr_net_policy_t *policy);
/* Text from wr_net_policy_to_json back (NULL or "": open). */
int wr_net_policy_parse (const char *text, wr_net_policy_t *out, wr_error_t *err);

/* "open", "blocked" or "allow_list". */
const char *wr_net_policy_mode (const wr_net_policy_t *policy);

void wr_net_policy_copy (const wr_net_policy_t *from, wr_net_policy_t *to);
void wr_net_policy_clear (wr_net_policy_t *policy);

#endif
