/* Network policies and their rules: CIDRs parsed, normalised and refused
 * with the message a user sees; block_network and allow_list from a body
 * and back; the nftables scripts each policy makes; and those scripts run
 * for real by libnftables in a network namespace of the test's own (the
 * kernel checks every rule), changed and removed twice over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "cleanup.h"
#include "json_reader.h"
#include "sandbox_firewall.h"
#include "sandbox_netns.h"
#include "sandbox_policy.h"
#include "xalloc.h"

static void
cidr_is (const char *text, const char *want)
{
    wr_cidr_t c;
    wr_error_t err = NULL;
    if (wr_cidr_parse (text, &c, &err) < 0)
        fail_msg ("%s: %s", text, err->message);
    char buf[WR_CIDR_TEXT_MAX];
    wr_cidr_format (&c, buf);
    assert_string_equal (buf, want);
}

static void
cidr_refused (const char *text, const char *message)
{
    wr_cidr_t c;
    wr_error_t err = NULL;
    assert_int_equal (wr_cidr_parse (text, &c, &err), -1);
    assert_non_null (strstr (err->message, message));
    assert_int_equal (err->kind, WR_ERROR_INVALID);
    wr_error_free (&err);
}

static void
test_cidr (void **state)
{
    (void) state;
    cidr_is ("10.1.0.0/16", "10.1.0.0/16");
    cidr_is ("192.0.2.7", "192.0.2.7/32");
    cidr_is ("10.1.2.3/16", "10.1.0.0/16");
    cidr_is ("0.0.0.0/0", "0.0.0.0/0");
    cidr_is ("255.255.255.255/32", "255.255.255.255/32");
    cidr_refused ("10.1.2.300", "is not an IPv4 address");
    cidr_refused ("10.1.2", "is not an IPv4 address");
    cidr_refused ("10.1.2.3/33", "has no prefix length of 0 to 32");
    cidr_refused ("10.1.2.3/", "prefix length");
    cidr_refused ("10.1.2.3\x01", "\\x01");
    cidr_refused ("10.1.2.3 ", "is not an IPv4 address");
    cidr_refused ("0010.1.2.3", "is not an IPv4 address");
    cidr_refused ("::1", "is not an IPv4 address");
    cidr_refused ("", "is not an IPv4 address");
    wr_cidr_t a, b;
    wr_cidr_parse ("10.0.0.0/8", &a, NULL);
    wr_cidr_parse ("10.5.0.0/16", &b, NULL);
    assert_true (wr_cidr_overlaps (&a, &b));
    assert_true (wr_cidr_contains (&a, 0x0a050001));
    wr_cidr_parse ("11.0.0.0/8", &b, NULL);
    assert_false (wr_cidr_overlaps (&a, &b));
}

static int
policy_of (const char *json, wr_net_policy_t *p, wr_error_t *err)
{
    cleanup_json_reader json_object *o = json_tokener_parse (json);
    assert_non_null (o);
    return wr_net_policy_from_object (o, "request body", p, err);
}

static void
test_policy (void **state)
{
    (void) state;
    wr_net_policy_t p;
    wr_error_t err = NULL;
    assert_int_equal (policy_of ("{}", &p, &err), 0);
    assert_string_equal (wr_net_policy_mode (&p), "open");
    assert_int_equal (policy_of ("{\"block_network\": true}", &p, &err), 1);
    assert_string_equal (wr_net_policy_mode (&p), "blocked");
    assert_int_equal (
        policy_of ("{\"allow_list\": [\"10.1.2.3\", \"10.1.2.3/32\", \"10.2.0.0/16\"]}", &p, &err),
        1);
    assert_string_equal (wr_net_policy_mode (&p), "allow_list");
    assert_int_equal (p.n_allow, 2); /* the same range given twice is kept once */
    cleanup_free char *text = wr_net_policy_to_json (&p);
    assert_string_equal (
        text, "{\"block_network\":false,\"allow_list\":[\"10.1.2.3/32\",\"10.2.0.0/16\"]}");
    wr_net_policy_t back;
    assert_int_equal (wr_net_policy_parse (text, &back, &err), 0);
    assert_int_equal (back.n_allow, 2);
    assert_int_equal (back.allow[1].prefix, 16);
    wr_net_policy_clear (&back);
    wr_net_policy_clear (&p);
    /* An empty list allows nothing; null is no list. */
    assert_int_equal (policy_of ("{\"allow_list\": []}", &p, &err), 1);
    assert_true (p.has_allow);
    assert_int_equal (policy_of ("{\"allow_list\": null}", &p, &err), 0);
    assert_false (p.has_allow);

    static const struct {
        const char *json, *message;
    } bad[] = {
        { "{\"block_network\": true, \"allow_list\": []}", "cannot go together" },
        { "{\"block_network\": 1}", "request body: block_network: must be" },
        { "{\"allow_list\": \"10.0.0.0/8\"}", "request body: allow_list: must be" },
        { "{\"allow_list\": [7]}", "allow_list[0]" },
        { "{\"allow_list\": [\"10.0.0.0/8\", \"bad\"]}", "request body: allow_list[1]: `bad`" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal (policy_of (bad[i].json, &p, &err), -1);
        if (strstr (err->message, bad[i].message) == NULL)
            fail_msg ("%s: %s", bad[i].json, err->message);
        wr_error_free (&err);
    }
    cleanup_free char *many = xstrdup ("{\"allow_list\": [");
    for (int i = 0; i <= WR_POLICY_ALLOW_MAX; i++) {
        char *next = xasprintf ("%s%s\"10.0.%d.0/24\"", many, i > 0 ? ", " : "", i);
        free (many);
        many = next;
    }
    char *closed = xasprintf ("%s]}", many);
    assert_int_equal (policy_of (closed, &p, &err), -1);
    assert_non_null (strstr (err->message, "more than 64"));
    wr_error_free (&err);
    free (closed);
}

static wr_firewall_options_t
options (wr_cidr_t *deny)
{
    wr_firewall_options_t o = { .table = "wt_unit", .deny = deny, .n_deny = 1 };
    wr_cidr_parse ("10.99.0.0/24", &o.pool, NULL);
    wr_cidr_parse ("169.254.0.0/16", deny, NULL);
    return o;
}

static void
test_scripts (void **state)
{
    (void) state;
    wr_cidr_t deny;
    wr_firewall_options_t o = options (&deny);
    cleanup_free char *base = wr_firewall_base_script (&o);
    assert_non_null (strstr (base, "delete table inet wt_unit"));
    assert_non_null (strstr (base, "elements = { 169.254.0.0/16 }"));
    assert_non_null (strstr (base, "ip saddr 10.99.0.0/24 drop"));
    assert_non_null (strstr (base, "ip saddr 10.99.0.0/24 ip daddr != 10.99.0.0/24 masquerade"));
    assert_non_null (strstr (base, "iifname \"wr-*\" drop"));

    wr_net_policy_t open = { 0 };
    cleanup_free char *s_open = wr_firewall_set_script (&o, "wr-0123456789ab", 0x0a630006, &open);
    assert_non_null (
        strstr (s_open, "add rule inet wt_unit sb-0123456789ab ip saddr != 10.99.0.6 drop"));
    assert_non_null (strstr (s_open, "sb-0123456789ab ip daddr @deny drop"));
    assert_non_null (strstr (s_open, "sb-0123456789ab accept"));
    assert_non_null (strstr (s_open, "links { \"wr-0123456789ab\" : jump sb-0123456789ab }"));

    wr_net_policy_t blocked = { .block = true };
    cleanup_free char *s_block =
        wr_firewall_set_script (&o, "wr-0123456789ab", 0x0a630006, &blocked);
    assert_null (strstr (s_block, " accept\n"));
    assert_non_null (strstr (s_block, "sb-0123456789ab drop"));

    wr_cidr_t allow[2];
    wr_cidr_parse ("10.77.1.2", &allow[0], NULL);
    wr_cidr_parse ("10.77.2.0/24", &allow[1], NULL);
    wr_net_policy_t listed = { .has_allow = true, .allow = allow, .n_allow = 2 };
    cleanup_free char *s_allow =
        wr_firewall_set_script (&o, "wr-0123456789ab", 0x0a630006, &listed);
    assert_non_null (strstr (s_allow, "ip daddr { 10.77.1.2/32, 10.77.2.0/24 } accept"));
    assert_non_null (
        strstr (s_allow, "sbi-0123456789ab ip saddr { 10.77.1.2/32, 10.77.2.0/24 } accept"));
    assert_non_null (strstr (s_allow, "links_in { \"wr-0123456789ab\" : jump sbi-0123456789ab }"));
    /* The deny list comes before the allow list. */
    assert_true (strstr (s_allow, "@deny") < strstr (s_allow, "10.77.1.2/32"));

    cleanup_free char *unset = wr_firewall_unset_script (&o, "wr-0123456789ab");
    assert_non_null (strstr (unset, "delete chain inet wt_unit sb-0123456789ab"));
}

/* The scripts, run by libnftables in a namespace of the test's. */
static void
test_real_rules (void **state)
{
    (void) state;
    if (geteuid () != 0)
        fail_msg ("this test needs root (a network namespace and nftables in it)");
    char dir[] = "/tmp/wt-policy-XXXXXX";
    assert_non_null (mkdtemp (dir));
    wr_error_t err = NULL;
    cleanup_free char *path = NULL;
    if (wr_netns_create (dir, "up", &path, &err) < 0)
        fail_msg ("%s", err->message);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    assert_true (fd >= 0);
    wr_cidr_t deny;
    wr_firewall_options_t o = options (&deny);
    wr_firewall_t *fw = wr_firewall_open (&o, fd, &err);
    if (fw == NULL)
        fail_msg ("%s", err->message);
    wr_net_policy_t open_policy = { 0 }, blocked = { .block = true };
    wr_cidr_t allow[1];
    wr_cidr_parse ("10.77.1.0/24", &allow[0], NULL);
    wr_net_policy_t listed = { .has_allow = true, .allow = allow, .n_allow = 1 };
    wr_net_policy_t empty = { .has_allow = true };
    const wr_net_policy_t *policies[] = { &open_policy, &blocked, &listed, &empty, &listed };
    for (size_t i = 0; i < 5; i++)
        if (wr_firewall_set (fw, "wr-0123456789ab", 0x0a630006, policies[i], &err) < 0)
            fail_msg ("policy %zu: %s", i, err->message);
    if (wr_firewall_set (fw, "wr-ba9876543210", 0x0a63000a, &open_policy, &err) < 0)
        fail_msg ("%s", err->message);
    for (int twice = 0; twice < 2; twice++)
        if (wr_firewall_unset (fw, "wr-0123456789ab", &err) < 0)
            fail_msg ("unset %d: %s", twice, err->message);
    /* A second open replaces the table (what a restart does). */
    wr_firewall_t *again = wr_firewall_open (&o, fd, &err);
    if (again == NULL)
        fail_msg ("%s", err->message);
    if (wr_firewall_delete (again, &err) < 0 || wr_firewall_delete (again, &err) < 0)
        fail_msg ("%s", err->message);
    wr_firewall_close (again);
    wr_firewall_close (fw);
    close (fd);
    if (wr_netns_remove (path, &err) < 0)
        fail_msg ("%s", err->message);
    rmdir (dir);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_cidr),
        cmocka_unit_test (test_policy),
        cmocka_unit_test (test_scripts),
        cmocka_unit_test (test_real_rules),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
