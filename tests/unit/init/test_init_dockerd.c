/* Unit tests of warren-init's dockerd.c: dockerd's flags per network mode
 * and configuration, daemon.json members (the parsing itself is in
 * test_init_daemon_json.c), log tails and failure advice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cleanup.h"
#include "dockerd.h"
#include "xalloc.h"

/* The flags of a plan (without argv[0]) joined by spaces. */
static char *
flags_of (const dockerd_plan_t *plan)
{
    size_t len = 1;
    for (char **a = plan->argv + 1; *a; a++)
        len += strlen (*a) + 1;
    char *out = xzalloc (len);
    for (char **a = plan->argv + 1; *a; a++) {
        if (a != plan->argv + 1)
            strcat (out, " ");
        strcat (out, *a);
    }
    return out;
}

static void
make_config (docker_config_t *config, network_mode_t network, const char *extra)
{
    memset (config, 0, sizeof *config);
    config->network = network;
    config->extra_args = split_words (extra);
    config->log_path = "/var/log/dockerd.log";
}

/* Plans with NETWORK, EXTRA args and DAEMON_JSON; checks the flags. */
static void
check_flags (network_mode_t network, const char *extra, const char *daemon_json, unsigned dropped,
             const char *expected)
{
    docker_config_t config;
    make_config (&config, network, extra);
    dockerd_plan_t plan;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (
        dockerd_plan_make (&config, "/usr/sbin/dockerd", daemon_json, dropped, &plan, &err), 0);
    assert_string_equal (plan.argv[0], "/usr/sbin/dockerd");
    cleanup_free char *flags = flags_of (&plan);
    assert_string_equal (flags, expected);
    dockerd_plan_free (&plan);
    docker_config_free (&config);
}

static void
test_flags_per_network_mode (void **state)
{
    check_flags (NETWORK_HOST, NULL, NULL, 0,
                 "--host=unix:///var/run/docker.sock --bridge=none --iptables=false "
                 "--ip6tables=false --ip-forward=false");
    /* netstack (sandbox, none): dockerd keeps docker0 and may switch
     * forwarding on, but still installs no iptables rules. */
    check_flags (NETWORK_SANDBOX, NULL, NULL, 0,
                 "--host=unix:///var/run/docker.sock --iptables=false --ip6tables=false");
    check_flags (NETWORK_NONE, NULL, NULL, 0,
                 "--host=unix:///var/run/docker.sock --iptables=false --ip6tables=false");
    /* Unknown mode: what works in every mode. */
    check_flags (NETWORK_UNKNOWN, NULL, NULL, 0,
                 "--host=unix:///var/run/docker.sock --bridge=none --iptables=false "
                 "--ip6tables=false --ip-forward=false");
}

static void
test_flags_daemon_json_wins (void **state)
{
    /* dockerd refuses an option set both in daemon.json and as a flag. */
    check_flags (NETWORK_HOST, NULL,
                 "{\n  \"iptables\": false,\n  \"ip-forward\": false,\n"
                 "  \"log-opts\": {\"bridge\": \"x\"}\n}\n",
                 0, "--host=unix:///var/run/docker.sock --bridge=none --ip6tables=false");
    check_flags (NETWORK_HOST, NULL,
                 "{\"hosts\": [\"unix:///run/d.sock\"], \"bip\": \"10.9.0.1/24\"}", 0,
                 "--iptables=false --ip6tables=false --ip-forward=false");
    /* Under netstack a bip of the user's simply configures docker0. */
    check_flags (NETWORK_SANDBOX, NULL, "{\"bip\": \"10.9.0.1/24\", \"ip-forward\": true}", 0,
                 "--host=unix:///var/run/docker.sock --iptables=false --ip6tables=false");
    /* Empty and whitespace-only files set nothing. */
    check_flags (NETWORK_SANDBOX, NULL, " \n", 0,
                 "--host=unix:///var/run/docker.sock --iptables=false --ip6tables=false");
}

static void
test_flags_extra_args (void **state)
{
    /* The user's own value replaces ours; theirs come last. */
    check_flags (NETWORK_HOST, "--bridge=docker0 --iptables --debug", NULL, 0,
                 "--host=unix:///var/run/docker.sock --ip6tables=false --ip-forward=false "
                 "--bridge=docker0 --iptables --debug");
    check_flags (NETWORK_HOST, "-b br0 --ip-forward", NULL, 0,
                 "--host=unix:///var/run/docker.sock --iptables=false --ip6tables=false -b br0 "
                 "--ip-forward");
    check_flags (NETWORK_SANDBOX, "-b br0", NULL, 0,
                 "--host=unix:///var/run/docker.sock --iptables=false --ip6tables=false -b br0");
    /* A tcp host is added to ours; a unix one replaces it. */
    check_flags (NETWORK_SANDBOX, "-H tcp://127.0.0.1:2375", NULL, 0,
                 "--host=unix:///var/run/docker.sock --iptables=false --ip6tables=false "
                 "-H tcp://127.0.0.1:2375");
    check_flags (NETWORK_HOST, "--host=unix:///run/other.sock", NULL, 0,
                 "--bridge=none --iptables=false --ip6tables=false --ip-forward=false "
                 "--host=unix:///run/other.sock");
}

static void
test_flags_dropped_after_unknown_flag (void **state)
{
    check_flags (NETWORK_HOST, NULL, NULL, DOCKERD_FLAG_IP6TABLES,
                 "--host=unix:///var/run/docker.sock --bridge=none --iptables=false "
                 "--ip-forward=false");
}

static void
test_plan_registry_mirror (void **state)
{
    (void) state;
    docker_config_t config;
    dockerd_plan_t plan;
    /* No registry-mirrors of the user's: a flag, first. */
    make_config (&config, NETWORK_SANDBOX, "--registry-mirror=http://other:1 --debug");
    config.registry_mirror = "http://127.0.0.1:5999";
    assert_int_equal (dockerd_plan_make (&config, "dockerd", "{\"debug\": true}", 0, &plan, NULL),
                      0);
    cleanup_free char *flags = flags_of (&plan);
    assert_string_equal (flags, "--registry-mirror=http://127.0.0.1:5999 "
                                "--host=unix:///var/run/docker.sock "
                                "--iptables=false --ip6tables=false "
                                "--registry-mirror=http://other:1 --debug");
    assert_null (plan.merged_config);
    dockerd_plan_free (&plan);
    docker_config_free (&config);

    /* The user's registry-mirrors: a merged copy of daemon.json, ours
     * first, their --config-file replaced by the copy. */
    make_config (&config, NETWORK_SANDBOX, "--config-file /etc/d.json --debug");
    config.registry_mirror = "http://127.0.0.1:5999";
    assert_int_equal (dockerd_plan_make (&config, "dockerd",
                                         "{\"registry-mirrors\": [\"https://m.example\", "
                                         "\"http://127.0.0.1:5999\"], \"debug\": true}",
                                         0, &plan, NULL),
                      0);
    cleanup_free char *flags2 = flags_of (&plan);
    assert_string_equal (flags2, "--config-file=" DOCKER_MERGED_CONFIG
                                 " --host=unix:///var/run/docker.sock "
                                 "--iptables=false --ip6tables=false --debug");
    assert_non_null (plan.merged_config);
    json_object *merged = json_tokener_parse (plan.merged_config);
    assert_non_null (merged);
    json_object *mirrors = json_object_object_get (merged, "registry-mirrors");
    assert_int_equal (json_object_array_length (mirrors), 2);
    assert_string_equal (json_object_get_string (json_object_array_get_idx (mirrors, 0)),
                         "http://127.0.0.1:5999");
    assert_string_equal (json_object_get_string (json_object_array_get_idx (mirrors, 1)),
                         "https://m.example");
    assert_true (json_object_get_boolean (json_object_object_get (merged, "debug")));
    json_object_put (merged);
    dockerd_plan_free (&plan);
    docker_config_free (&config);

    /* Of the wrong type: an error naming the member. */
    make_config (&config, NETWORK_SANDBOX, NULL);
    config.registry_mirror = "http://127.0.0.1:5999";
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (
        dockerd_plan_make (&config, "dockerd", "{\"registry-mirrors\": \"x\"}", 0, &plan, &err),
        -1);
    assert_non_null (strstr (err->message, "registry-mirrors"));
    dockerd_plan_free (&plan);
    docker_config_free (&config);
}

static void
test_plan_socket_data_root_and_config_file (void **state)
{
    docker_config_t config;
    dockerd_plan_t plan;

    make_config (&config, NETWORK_HOST, NULL);
    assert_int_equal (dockerd_plan_make (&config, "dockerd", NULL, 0, &plan, NULL), 0);
    assert_string_equal (plan.socket_path, "/var/run/docker.sock");
    assert_string_equal (plan.data_root, "/var/lib/docker");
    assert_string_equal (plan.config_file, "/etc/docker/daemon.json");
    assert_string_equal (plan.log_path, "/var/log/dockerd.log");
    dockerd_plan_free (&plan);
    docker_config_free (&config);

    make_config (&config, NETWORK_HOST, NULL);
    assert_int_equal (dockerd_plan_make (&config, "dockerd",
                                         "{\"data-root\": \"/srv/docker\", \"hosts\": "
                                         "[\"tcp://0.0.0.0:2376\", \"unix:///run/d2.sock\"]}",
                                         0, &plan, NULL),
                      0);
    assert_string_equal (plan.socket_path, "/run/d2.sock");
    assert_string_equal (plan.data_root, "/srv/docker");
    dockerd_plan_free (&plan);
    docker_config_free (&config);

    make_config (&config, NETWORK_HOST,
                 "--config-file /etc/d.json --data-root=/data -H unix:///run/x.sock");
    assert_int_equal (
        dockerd_plan_make (&config, "dockerd", "{\"data-root\": \"/ignored\"}", 0, &plan, NULL), 0);
    assert_string_equal (plan.config_file, "/etc/d.json");
    assert_string_equal (plan.data_root, "/data");
    assert_string_equal (plan.socket_path, "/run/x.sock");
    dockerd_plan_free (&plan);
    docker_config_free (&config);
}

static void
test_plan_malformed_daemon_json (void **state)
{
    docker_config_t config;
    make_config (&config, NETWORK_HOST, NULL);
    dockerd_plan_t plan;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (dockerd_plan_make (&config, "dockerd", "{\"iptables\": }", 0, &plan, &err),
                      -1);
    assert_non_null (strstr (err->message, "/etc/docker/daemon.json"));
    assert_non_null (strstr (err->message, "byte 13"));
    dockerd_plan_free (&plan);
    docker_config_free (&config);
}

/* Plans with daemon.json TEXT: fails with an error that names the file
 * and contains WANT. */
static void
check_plan_refused (const char *extra, const char *text, const char *want)
{
    docker_config_t config;
    make_config (&config, NETWORK_HOST, extra);
    dockerd_plan_t plan;
    cleanup_error wr_error_t err = NULL;
    if (dockerd_plan_make (&config, "dockerd", text, 0, &plan, &err) != -1)
        fail_msg ("`%s` was accepted", text);
    cleanup_free char *file =
        xasprintf ("read dockerd's configuration `%s`: ", dockerd_config_file (config.extra_args));
    if (strncmp (err->message, file, strlen (file)) != 0 || strstr (err->message, want) == NULL)
        fail_msg ("`%s`: the error `%s` does not start with `%s` and say `%s`", text, err->message,
                  file, want);
    dockerd_plan_free (&plan);
    docker_config_free (&config);
}

static void
test_plan_daemon_json_errors (void **state)
{
    check_plan_refused (NULL, "[\"unix:///x\"]", "must be a JSON object, not an array");
    check_plan_refused ("--config-file=/etc/d.json", "{\"hosts\": ", "unexpected end of data");
    check_plan_refused (NULL, "{\"iptables\": false, \"debug\": true, \"iptables\": true}",
                        "`iptables` is given twice, at line 1, column 2 (byte 1)");
    /* The members warren-init reads must have dockerd's types. */
    check_plan_refused (NULL, "{\"hosts\": \"unix:///run/d.sock\"}",
                        "`/etc/docker/daemon.json`: `hosts` must be an array of strings, not a "
                        "string");
    check_plan_refused (NULL, "{\"hosts\": [\"unix:///run/d.sock\", 2375]}",
                        "`hosts[1]` must be a string, not an integer");
    check_plan_refused (NULL, "{\"data-root\": [\"/srv\"]}",
                        "`data-root` must be a string, not an array");
    check_plan_refused (NULL, "{\"graph\": 1.5}", "`graph` must be a string, not a fractional");
    check_plan_refused (NULL, "{\"iptables\": \"false\"}",
                        "`iptables` must be true or false, not a string");
    check_plan_refused (NULL, "{\"ip-forward\": 0}",
                        "`ip-forward` must be true or false, not an integer");
    check_plan_refused (NULL, "{\"bip\": {}}", "`bip` must be a string, not an object");
    check_plan_refused (NULL, "{\"bridge\": true}", "`bridge` must be a string, not a boolean");
    check_plan_refused (NULL, "{\"data-root\": \"/srv\\u0000/x\"}",
                        "`data-root` must not hold a NUL character");
}

static void
test_plan_daemon_json_values (void **state)
{
    /* null sets nothing but is still a member: dockerd refuses the flag. */
    check_flags (NETWORK_HOST, NULL, "{\"hosts\": null, \"iptables\": null, \"bip\": null}", 0,
                 "--ip6tables=false --ip-forward=false");
    /* Names are decoded: an escape does not hide a member from warren-init. */
    check_flags (NETWORK_SANDBOX, NULL, "{\"ip\\u0074ables\": true}", 0,
                 "--host=unix:///var/run/docker.sock --ip6tables=false");
    /* Members warren-init does not read may hold anything. */
    check_flags (NETWORK_SANDBOX, NULL,
                 "{\"debug\": \"yes\", \"log-opts\": {\"hosts\": 1}, \"x\": [1, {}]}", 0,
                 "--host=unix:///var/run/docker.sock --iptables=false --ip6tables=false");

    docker_config_t config;
    dockerd_plan_t plan;
    make_config (&config, NETWORK_HOST, NULL);
    assert_int_equal (dockerd_plan_make (&config, "dockerd",
                                         "{\"data-root\": \"\\/srv\\/d\\u00e9\", \"hosts\": "
                                         "[\"fd://\", \"unix://\"]}",
                                         0, &plan, NULL),
                      0);
    assert_string_equal (plan.data_root, "/srv/d\xc3\xa9");
    /* "unix://" alone is dockerd's default socket. */
    assert_string_equal (plan.socket_path, "/var/run/docker.sock");
    dockerd_plan_free (&plan);
    docker_config_free (&config);

    /* An empty data-root is dockerd's default; graph is the old name. */
    make_config (&config, NETWORK_HOST, NULL);
    assert_int_equal (dockerd_plan_make (&config, "dockerd",
                                         "{\"data-root\": \"\", \"graph\": \"/old\", "
                                         "\"hosts\": [\"tcp://0.0.0.0:2375\"]}",
                                         0, &plan, NULL),
                      0);
    assert_string_equal (plan.data_root, "/old");
    assert_string_equal (plan.socket_path, "/var/run/docker.sock");
    dockerd_plan_free (&plan);
    docker_config_free (&config);
}

static void
test_unknown_flag_in_log (void **state)
{
    assert_int_equal (dockerd_unknown_flag ("Status: unknown flag: --ip6tables\nSee 'dockerd "
                                            "--help'., Code: 125\n"),
                      DOCKERD_FLAG_IP6TABLES);
    assert_int_equal (dockerd_unknown_flag ("unknown flag: --ip-forward"), DOCKERD_FLAG_IP_FORWARD);
    /* Not one of ours: nothing to drop, the user must fix it. */
    assert_int_equal (dockerd_unknown_flag ("unknown flag: --bogus"), 0);
    /* A prefix of one of ours is another flag. */
    assert_int_equal (dockerd_unknown_flag ("unknown flag: --ip"), 0);
    assert_int_equal (dockerd_unknown_flag ("all is well"), 0);
    assert_int_equal (dockerd_unknown_flag (NULL), 0);
    assert_string_equal (dockerd_flag_text (DOCKERD_FLAG_IP6TABLES), "--ip6tables=false");
}

static void
test_log_tail (void **state)
{
    assert_string_equal (log_tail ("a\nb\nc\nd\n", 2), "c\nd\n");
    assert_string_equal (log_tail ("a\nb\nc\nd", 2), "c\nd");
    assert_string_equal (log_tail ("a\nb\n", 5), "a\nb\n");
    assert_string_equal (log_tail ("only", 1), "only");
    assert_string_equal (log_tail ("", 20), "");
    /* 25 lines: the last 20 start at line 6. */
    char text[256] = "";
    for (int i = 1; i <= 25; i++)
        snprintf (text + strlen (text), sizeof text - strlen (text), "line%d\n", i);
    assert_true (strncmp (log_tail (text, 20), "line6\n", 6) == 0);
}

static void
test_failure_advice (void **state)
{
    const char *devices = "level=info msg=\"Starting up\"\nfailed to start daemon: Devices "
                          "cgroup isn't mounted\n";
    assert_non_null (strstr (dockerd_failure_advice (devices, false), "runsc 20240729"));
    assert_non_null (strstr (dockerd_failure_advice ("failed to start daemon: Error initializing "
                                                     "network controller: Enabling IP forwarding "
                                                     "failed: write "
                                                     "/proc/sys/net/ipv4/ip_forward: permission "
                                                     "denied",
                                                     false),
                             "WARREN_NETWORK=host"));
    assert_non_null (strstr (dockerd_failure_advice ("iptables: Failed to initialize nft: "
                                                     "Protocol not supported",
                                                     false),
                             "iptables-legacy"));
    /* Both measured under runsc 20240729: a bridge under runsc's host
     * network, and dockerd's NAT rules under netstack. */
    assert_non_null (strstr (dockerd_failure_advice ("failed to start daemon: Error initializing "
                                                     "network controller: Error creating default "
                                                     "\"bridge\" network: inappropriate ioctl for "
                                                     "device",
                                                     false),
                             "keep --bridge=none"));
    const char *masquerade =
        dockerd_failure_advice ("Unable to enable NAT rule:  (iptables failed: iptables --wait -t "
                                "nat -I POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE: "
                                "Warning: Extension MASQUERADE revision 0 not supported",
                                false);
    assert_non_null (strstr (masquerade, "keep --iptables=false"));
    assert_null (strstr (masquerade, "--bridge=none"));
    /* The last lines decide: an early warning does not hide the cause. */
    const char *mixed = "level=warning msg=\"mount: operation not permitted\"\nx\ny\nfailed to "
                        "start daemon: pid file found, ensure docker is not running\n";
    assert_non_null (strstr (dockerd_failure_advice (mixed, false), "docker.pid"));
    assert_non_null (
        strstr (dockerd_failure_advice ("nothing known", true), "WARREN_DOCKERD_TIMEOUT"));
    assert_non_null (dockerd_failure_advice (NULL, false));
}

static void
test_command_is_dockerd (void **state)
{
    char *a[] = { "dockerd", "--debug", NULL };
    char *b[] = { "/usr/local/bin/dockerd-entrypoint.sh", NULL };
    char *c[] = { "/usr/bin/docker", "run", NULL };
    char *d[] = { "sh", "-c", "dockerd", NULL };
    assert_true (command_is_dockerd (a));
    assert_true (command_is_dockerd (b));
    assert_false (command_is_dockerd (c));
    assert_false (command_is_dockerd (d));
    assert_false (command_is_dockerd (NULL));
}

static void
test_find_executable (void **state)
{
    char dir[] = "/tmp/warren-init-find-XXXXXX";
    assert_non_null (mkdtemp (dir));
    cleanup_free char *exe = xasprintf ("%s/dockerd-test-only", dir);
    cleanup_free char *plain = xasprintf ("%s/not-executable", dir);
    FILE *f = fopen (exe, "w");
    fclose (f);
    chmod (exe, 0755);
    f = fopen (plain, "w");
    fclose (f);
    cleanup_free char *path = xasprintf ("/nonexistent::%s", dir);
    cleanup_free char *found = find_executable ("dockerd-test-only", path);
    assert_non_null (found);
    assert_string_equal (found, exe);
    assert_null (find_executable ("not-executable", path));
    assert_null (find_executable ("no-such-program-warren", path));
    /* A directory is no program. */
    assert_null (find_executable ("tmp", "/"));
    /* Absolute names are checked as they are. */
    cleanup_free char *absolute = find_executable (exe, NULL);
    assert_non_null (absolute);
    unlink (exe);
    unlink (plain);
    rmdir (dir);
}

static void
test_read_log_from_offset (void **state)
{
    char path[] = "/tmp/warren-init-log-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    const char old[] = "old run\n";
    const char new_lines[] = "new 1\nnew 2\n";
    assert_int_equal (write (fd, old, sizeof old - 1), sizeof old - 1);
    assert_int_equal (write (fd, new_lines, sizeof new_lines - 1), sizeof new_lines - 1);
    close (fd);
    cleanup_free char *log = dockerd_read_log (path, sizeof old - 1);
    assert_string_equal (log, "new 1\nnew 2\n");
    unlink (path);
    assert_null (dockerd_read_log (path, 0));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_flags_per_network_mode),
        cmocka_unit_test (test_flags_daemon_json_wins),
        cmocka_unit_test (test_flags_extra_args),
        cmocka_unit_test (test_flags_dropped_after_unknown_flag),
        cmocka_unit_test (test_plan_socket_data_root_and_config_file),
        cmocka_unit_test (test_plan_registry_mirror),
        cmocka_unit_test (test_plan_malformed_daemon_json),
        cmocka_unit_test (test_plan_daemon_json_errors),
        cmocka_unit_test (test_plan_daemon_json_values),
        cmocka_unit_test (test_unknown_flag_in_log),
        cmocka_unit_test (test_log_tail),
        cmocka_unit_test (test_failure_advice),
        cmocka_unit_test (test_command_is_dockerd),
        cmocka_unit_test (test_find_executable),
        cmocka_unit_test (test_read_log_from_offset),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
