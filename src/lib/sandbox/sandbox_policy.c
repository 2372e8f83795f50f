/* Network policies: parsing, normalising and writing them.  See
 * sandbox_policy.h. */
#include "sandbox_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json_reader.h"
#include "quote.h"
#include "xalloc.h"

static uint32_t
mask_of (int prefix)
{
    return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

/* One decimal number of 1-3 digits at *P, at most MAX; advances *P. */
static bool
number (const char **p, unsigned max, unsigned *out)
{
    unsigned v = 0;
    int digits = 0;
    while (**p >= '0' && **p <= '9' && digits < 4) {
        v = v * 10 + (unsigned) (**p - '0');
        (*p)++;
        digits++;
    }
    if (digits == 0 || digits > 3 || v > max)
        return false;
    *out = v;
    return true;
}

/* The error for TEXT, quoted (it is the client's). */
static int
cidr_error (wr_error_t *err, const char *text, const char *why)
{
    cleanup_free char *quoted = wr_quote (text, 64);
    return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "`%s` %s", quoted, why);
}

int
wr_cidr_parse (const char *text, wr_cidr_t *out, wr_error_t *err)
{
    static const char not_one[] = "is not an IPv4 address or CIDR (such as 192.0.2.0/24)";
    const char *p = text;
    uint32_t addr = 0;
    for (int i = 0; i < 4; i++) {
        unsigned octet = 0;
        if (!number (&p, 255, &octet) || (i < 3 && *p++ != '.'))
            return cidr_error (err, text, not_one);
        addr = addr << 8 | octet;
    }
    unsigned prefix = 32;
    if (*p == '/') {
        p++;
        if (!number (&p, 32, &prefix))
            return cidr_error (err, text, "has no prefix length of 0 to 32");
    }
    if (*p != '\0')
        return cidr_error (err, text, not_one);
    out->prefix = (int) prefix;
    out->addr = addr & mask_of ((int) prefix);
    return 0;
}

void
wr_cidr_format (const wr_cidr_t *c, char buf[WR_CIDR_TEXT_MAX])
{
    snprintf (buf, WR_CIDR_TEXT_MAX, "%u.%u.%u.%u/%d", c->addr >> 24, (c->addr >> 16) & 0xff,
              (c->addr >> 8) & 0xff, c->addr & 0xff, c->prefix);
}

bool
wr_cidr_contains (const wr_cidr_t *c, uint32_t addr)
{
    return (addr & mask_of (c->prefix)) == c->addr;
}

bool
wr_cidr_overlaps (const wr_cidr_t *a, const wr_cidr_t *b)
{
    int shorter = a->prefix < b->prefix ? a->prefix : b->prefix;
    return (a->addr & mask_of (shorter)) == (b->addr & mask_of (shorter));
}

static int
parse_allow (json_object *v, const char *name, wr_net_policy_t *out, wr_error_t *err)
{
    if (wr_json_expect (v, json_type_array, name, "allow_list", err) < 0)
        return -1;
    size_t n = json_object_array_length (v);
    if (n > WR_POLICY_ALLOW_MAX)
        return wr_json_error (err, name, "allow_list", "%zu entries, more than %d", n,
                              WR_POLICY_ALLOW_MAX);
    out->has_allow = true;
    out->allow = n > 0 ? xzalloc (n * sizeof *out->allow) : NULL;
    for (size_t i = 0; i < n; i++) {
        char path[32];
        snprintf (path, sizeof path, "allow_list[%zu]", i);
        const char *s = NULL;
        if (wr_json_string (json_object_array_get_idx (v, i), name, path, &s, err) < 0)
            return -1;
        wr_cidr_t c;
        if (wr_cidr_parse (s, &c, err) < 0)
            return wr_error_prefix (err, "%s: %s", name, path);
        bool seen = false;
        for (size_t j = 0; j < out->n_allow && !seen; j++)
            seen = out->allow[j].addr == c.addr && out->allow[j].prefix == c.prefix;
        if (!seen)
            out->allow[out->n_allow++] = c;
    }
    return 0;
}

int
wr_net_policy_from_object (json_object *obj, const char *name, wr_net_policy_t *out,
                           wr_error_t *err)
{
    memset (out, 0, sizeof *out);
    json_object *v = NULL;
    int given = 0;
    int r = wr_json_member (obj, "block_network", false, name, "", &v, err);
    if (r < 0)
        return -1;
    if (r > 0 && v != NULL) {
        if (wr_json_expect (v, json_type_boolean, name, "block_network", err) < 0)
            return -1;
        out->block = json_object_get_boolean (v);
        given = 1;
    }
    r = wr_json_member (obj, "allow_list", false, name, "", &v, err);
    if (r < 0)
        return -1;
    if (r > 0 && v != NULL) {
        if (parse_allow (v, name, out, err) < 0) {
            wr_net_policy_clear (out);
            return -1;
        }
        given = 1;
    }
    if (out->block && out->has_allow) {
        wr_net_policy_clear (out);
        return wr_json_error (err, name, "",
                              "block_network and allow_list cannot go together: block_network "
                              "allows nothing, allow_list only what it lists");
    }
    return given;
}

void
wr_net_policy_add_json (const wr_net_policy_t *p, json_object *obj)
{
    json_object_object_add (obj, "block_network", json_object_new_boolean (p->block));
    json_object *allow = NULL;
    if (p->has_allow) {
        allow = json_object_new_array ();
        for (size_t i = 0; i < p->n_allow; i++) {
            char buf[WR_CIDR_TEXT_MAX];
            wr_cidr_format (&p->allow[i], buf);
            json_object_array_add (allow, json_object_new_string (buf));
        }
    }
    json_object_object_add (obj, "allow_list", allow);
}

char *
wr_net_policy_to_json (const wr_net_policy_t *p)
{
    json_object *o = json_object_new_object ();
    wr_net_policy_add_json (p, o);
    char *text = xstrdup (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put (o);
    return text;
}

int
wr_net_policy_parse (const char *text, wr_net_policy_t *out, wr_error_t *err)
{
    memset (out, 0, sizeof *out);
    if (text == NULL || text[0] == '\0')
        return 0;
    cleanup_json_reader json_object *o = wr_json_parse_object (
        text, strlen (text), 64 * 1024, "a network policy", "network policy", err);
    if (o == NULL)
        return -1;
    return wr_net_policy_from_object (o, "network policy", out, err) < 0 ? -1 : 0;
}

const char *
wr_net_policy_mode (const wr_net_policy_t *p)
{
    return p->block ? "blocked" : p->has_allow ? "allow_list" : "open";
}

void
wr_net_policy_copy (const wr_net_policy_t *from, wr_net_policy_t *to)
{
    *to = *from;
    to->allow = NULL;
    if (from->n_allow > 0) {
        to->allow = xzalloc (from->n_allow * sizeof *to->allow);
        memcpy (to->allow, from->allow, from->n_allow * sizeof *to->allow);
    }
}

void
wr_net_policy_clear (wr_net_policy_t *p)
{
    if (p == NULL)
        return;
    free (p->allow);
    memset (p, 0, sizeof *p);
}
