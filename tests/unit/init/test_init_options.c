/* Unit tests of warren-init's options.c: the command line, the Docker
 * mode's environment variables, tmpfs sizes and durations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "options.h"
#include "xalloc.h"

static void
test_args_docker_and_command (void **state)
{
    char *argv[] = { "warren-init", "--docker", "--", "sh", "-c", "echo hi", NULL };
    init_args_t args;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (init_args_parse (6, argv, &args, &err), 0);
    assert_true (args.docker);
    assert_non_null (args.command);
    assert_string_equal (args.command[0], "sh");
    assert_string_equal (args.command[1], "-c");
    assert_string_equal (args.command[2], "echo hi");
    assert_null (args.command[3]);
}

static void
test_args_agent (void **state)
{
    (void) state;
    init_args_t args;
    char *argv[] = { "warren-init",       "--agent-socket", "/run/agent/agent.sock",
                     "--agent-root=/srv", "--docker",       NULL };
    assert_int_equal (init_args_parse (5, argv, &args, NULL), 0);
    assert_string_equal (args.agent_socket, "/run/agent/agent.sock");
    assert_string_equal (args.agent_root, "/srv");
    assert_string_equal (args.agent_spill_dir, "/run/warren-agent");
    assert_true (args.docker);
    assert_null (args.command);
    /* A missing value is an error naming the option. */
    char *argv2[] = { "warren-init", "--agent-socket", NULL };
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (init_args_parse (2, argv2, &args, &err), -1);
    assert_non_null (strstr (err->message, "--agent-socket"));
    /* Without the option: no agent. */
    char *argv3[] = { "warren-init", "true", NULL };
    assert_int_equal (init_args_parse (2, argv3, &args, NULL), 0);
    assert_null (args.agent_socket);
    assert_int_equal (args.registry_mirror_port, INIT_DEFAULT_REGISTRY_MIRROR_PORT);
}

static void
test_args_registry_mirror_port (void **state)
{
    (void) state;
    init_args_t args;
    char *argv[] = { "warren-init", "--registry-mirror-port", "6000", "--docker", NULL };
    assert_int_equal (init_args_parse (4, argv, &args, NULL), 0);
    assert_int_equal (args.registry_mirror_port, 6000);
    char *argv2[] = { "warren-init", "--registry-mirror-port=0", NULL };
    assert_int_equal (init_args_parse (2, argv2, &args, NULL), 0);
    assert_int_equal (args.registry_mirror_port, 0);
    const char *bad[] = { "65536", "-1", "12x", "" };
    for (size_t i = 0; i < 4; i++) {
        char *arg = xasprintf ("--registry-mirror-port=%s", bad[i]);
        char *argv3[] = { "warren-init", arg, NULL };
        cleanup_error wr_error_t err = NULL;
        assert_int_equal (init_args_parse (2, argv3, &args, &err), -1);
        assert_non_null (strstr (err->message, "--registry-mirror-port"));
        free (arg);
    }
}

static void
test_args_agent_max_processes (void **state)
{
    (void) state;
    init_args_t args;
    char *argv[] = { "warren-init", "--agent-max-processes", "256", NULL };
    assert_int_equal (init_args_parse (3, argv, &args, NULL), 0);
    assert_int_equal (args.agent_max_processes, 256);
    char *none[] = { "warren-init", NULL };
    assert_int_equal (init_args_parse (1, none, &args, NULL), 0);
    assert_int_equal (args.agent_max_processes, 0);
    const char *bad[] = { "-1", "1048577", "2x", "" };
    for (size_t i = 0; i < 4; i++) {
        char *arg = xasprintf ("--agent-max-processes=%s", bad[i]);
        char *argv2[] = { "warren-init", arg, NULL };
        cleanup_error wr_error_t err = NULL;
        assert_int_equal (init_args_parse (2, argv2, &args, &err), -1);
        assert_non_null (strstr (err->message, "--agent-max-processes"));
        free (arg);
    }
    char *user[] = { "warren-init", "--agent-user", "1000:1000", "--agent-socket", "/s", NULL };
    assert_int_equal (init_args_parse (5, user, &args, NULL), 0);
    assert_string_equal (args.agent_user, "1000:1000");
    assert_null (args.command);
    cleanup_free char *long_user = xzalloc (300);
    memset (long_user, 'u', 299);
    char *argv3[] = { "warren-init", "--agent-user", long_user, NULL };
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (init_args_parse (3, argv3, &args, &err), -1);
    assert_non_null (strstr (err->message, "--agent-user"));
}

static void
test_args_options_stop_at_command (void **state)
{
    /* "--docker" after the command belongs to the command. */
    char *argv[] = { "warren-init", "dockerd", "--docker", NULL };
    init_args_t args;
    assert_int_equal (init_args_parse (3, argv, &args, NULL), 0);
    assert_false (args.docker);
    assert_string_equal (args.command[0], "dockerd");
    assert_string_equal (args.command[1], "--docker");
}

static void
test_args_double_dash_allows_dash_command (void **state)
{
    char *argv[] = { "warren-init", "--", "--weird", NULL };
    init_args_t args;
    assert_int_equal (init_args_parse (3, argv, &args, NULL), 0);
    assert_string_equal (args.command[0], "--weird");
}

static void
test_args_no_command (void **state)
{
    char *argv[] = { "warren-init", "--docker", NULL };
    init_args_t args;
    assert_int_equal (init_args_parse (2, argv, &args, NULL), 0);
    assert_true (args.docker);
    assert_null (args.command);

    char *argv2[] = { "warren-init", "--docker", "--", NULL };
    assert_int_equal (init_args_parse (3, argv2, &args, NULL), 0);
    assert_null (args.command);
}

static void
test_args_unknown_option_is_named (void **state)
{
    char *argv[] = { "warren-init", "--dokcer", "sh", NULL };
    init_args_t args;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (init_args_parse (3, argv, &args, &err), -1);
    assert_non_null (strstr (err->message, "`--dokcer`"));
}

static void
test_args_help_and_version (void **state)
{
    char *argv[] = { "warren-init", "-h", "--version", NULL };
    init_args_t args;
    assert_int_equal (init_args_parse (3, argv, &args, NULL), 0);
    assert_true (args.help);
    assert_true (args.version);
}

/* A fake environment for docker_config_load. */
static const char *const *fake_env;

static const char *
fake_get_env (const char *name)
{
    for (size_t i = 0; fake_env && fake_env[i]; i += 2)
        if (strcmp (fake_env[i], name) == 0)
            return fake_env[i + 1];
    return NULL;
}

static void
test_config_defaults (void **state)
{
    fake_env = NULL;
    docker_config_t config;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (docker_config_load (fake_get_env, &config, &err), 0);
    assert_int_equal (config.network, NETWORK_UNKNOWN);
    assert_int_equal (config.cgroups, CGROUPS_AUTO);
    assert_string_equal (config.tmpfs_size, "50%");
    assert_true (config.ready_timeout == 30.0);
    assert_true (config.stop_timeout == 10.0);
    assert_null (config.extra_args[0]);
    assert_string_equal (config.log_path, "/var/log/dockerd.log");
    docker_config_free (&config);
}

static void
test_config_all_variables (void **state)
{
    static const char *const env[] = {
        "WARREN_NETWORK",
        "host",
        "WARREN_CGROUPS",
        "v1",
        "WARREN_DOCKER_TMPFS_SIZE",
        "2g",
        "WARREN_DOCKERD_TIMEOUT",
        "2.5",
        "WARREN_DOCKERD_STOP_TIMEOUT",
        "1",
        "WARREN_DOCKERD_ARGS",
        "  --debug   --mtu=1400 ",
        "WARREN_DOCKERD_LOG",
        "/tmp/d.log",
        NULL,
    };
    fake_env = env;
    docker_config_t config;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (docker_config_load (fake_get_env, &config, &err), 0);
    assert_int_equal (config.network, NETWORK_HOST);
    assert_int_equal (config.cgroups, CGROUPS_V1);
    assert_string_equal (config.tmpfs_size, "2g");
    assert_true (config.ready_timeout == 2.5);
    assert_true (config.stop_timeout == 1.0);
    assert_string_equal (config.extra_args[0], "--debug");
    assert_string_equal (config.extra_args[1], "--mtu=1400");
    assert_null (config.extra_args[2]);
    assert_string_equal (config.log_path, "/tmp/d.log");
    docker_config_free (&config);
}

static void
check_config_error (const char *name, const char *value, const char *expected)
{
    const char *env[] = { name, value, NULL };
    fake_env = env;
    docker_config_t config;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (docker_config_load (fake_get_env, &config, &err), -1);
    assert_non_null (err);
    if (strstr (err->message, expected) == NULL)
        fail_msg ("error `%s` does not contain `%s`", err->message, expected);
    docker_config_free (&config);
}

static void
test_config_invalid_values_name_the_variable (void **state)
{
    check_config_error ("WARREN_NETWORK", "bridge", "WARREN_NETWORK=`bridge`");
    check_config_error ("WARREN_CGROUPS", "v3", "WARREN_CGROUPS=`v3`");
    check_config_error ("WARREN_DOCKER_TMPFS_SIZE", "lots", "WARREN_DOCKER_TMPFS_SIZE");
    check_config_error ("WARREN_DOCKERD_TIMEOUT", "-1", "WARREN_DOCKERD_TIMEOUT");
    check_config_error ("WARREN_DOCKERD_TIMEOUT", "soon", "`soon`");
    check_config_error ("WARREN_DOCKERD_STOP_TIMEOUT", "0", "WARREN_DOCKERD_STOP_TIMEOUT");
    check_config_error ("WARREN_DOCKERD_LOG", "dockerd.log", "absolute");
}

static void
test_config_empty_value_means_default (void **state)
{
    static const char *const env[] = { "WARREN_NETWORK", "", "WARREN_DOCKERD_TIMEOUT", "", NULL };
    fake_env = env;
    docker_config_t config;
    assert_int_equal (docker_config_load (fake_get_env, &config, NULL), 0);
    assert_int_equal (config.network, NETWORK_UNKNOWN);
    assert_true (config.ready_timeout == 30.0);
    docker_config_free (&config);
}

static void
test_tmpfs_sizes (void **state)
{
    uint64_t bytes = 1;
    const uint64_t mem = 8ULL << 30;
    assert_int_equal (tmpfs_size_parse ("50%", mem, &bytes, NULL), 0);
    assert_true (bytes == 4ULL << 30);
    assert_int_equal (tmpfs_size_parse ("100%", mem, &bytes, NULL), 0);
    assert_true (bytes == mem);
    assert_int_equal (tmpfs_size_parse ("4g", mem, &bytes, NULL), 0);
    assert_true (bytes == 4ULL << 30);
    assert_int_equal (tmpfs_size_parse ("512M", mem, &bytes, NULL), 0);
    assert_true (bytes == 512ULL << 20);
    assert_int_equal (tmpfs_size_parse ("2GiB", mem, &bytes, NULL), 0);
    assert_true (bytes == 2ULL << 30);
    assert_int_equal (tmpfs_size_parse ("64k", mem, &bytes, NULL), 0);
    assert_true (bytes == 64ULL << 10);
    assert_int_equal (tmpfs_size_parse ("1048576", mem, &bytes, NULL), 0);
    assert_true (bytes == 1048576);
    assert_int_equal (tmpfs_size_parse ("none", mem, &bytes, NULL), 0);
    assert_true (bytes == 0);
    bytes = 1;
    assert_int_equal (tmpfs_size_parse ("0", mem, &bytes, NULL), 0);
    assert_true (bytes == 0);
}

static void
test_tmpfs_sizes_invalid (void **state)
{
    uint64_t bytes;
    cleanup_error wr_error_t err = NULL;
    const char *bad[] = { "", "g", "4x", "4gg", "-1", "101%", "0%", "1.5g", "99999999999999t" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wr_error_free (&err);
        if (tmpfs_size_parse (bad[i], 1 << 30, &bytes, &err) != -1)
            fail_msg ("`%s` was accepted", bad[i]);
        assert_non_null (err);
    }
    /* A percentage needs the memory size. */
    wr_error_free (&err);
    assert_int_equal (tmpfs_size_parse ("50%", 0, &bytes, &err), -1);
    assert_non_null (strstr (err->message, "memory size is unknown"));
}

static void
test_seconds (void **state)
{
    double s = 0;
    assert_int_equal (seconds_parse ("30", &s, NULL), 0);
    assert_true (s == 30.0);
    assert_int_equal (seconds_parse ("0.25", &s, NULL), 0);
    assert_true (s == 0.25);
    assert_int_equal (seconds_parse ("0", &s, NULL), -1);
    assert_int_equal (seconds_parse ("3s", &s, NULL), -1);
    assert_int_equal (seconds_parse ("inf", &s, NULL), -1);
    assert_int_equal (seconds_parse ("", &s, NULL), -1);
}

static void
test_split_words (void **state)
{
    cleanup_strv char **words = split_words ("\t a  bb\tccc \n");
    assert_string_equal (words[0], "a");
    assert_string_equal (words[1], "bb");
    assert_string_equal (words[2], "ccc");
    assert_null (words[3]);
    cleanup_strv char **none = split_words ("   ");
    assert_null (none[0]);
    cleanup_strv char **null_text = split_words (NULL);
    assert_null (null_text[0]);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_args_docker_and_command),
        cmocka_unit_test (test_args_agent),
        cmocka_unit_test (test_args_registry_mirror_port),
        cmocka_unit_test (test_args_agent_max_processes),
        cmocka_unit_test (test_args_options_stop_at_command),
        cmocka_unit_test (test_args_double_dash_allows_dash_command),
        cmocka_unit_test (test_args_no_command),
        cmocka_unit_test (test_args_unknown_option_is_named),
        cmocka_unit_test (test_args_help_and_version),
        cmocka_unit_test (test_config_defaults),
        cmocka_unit_test (test_config_all_variables),
        cmocka_unit_test (test_config_invalid_values_name_the_variable),
        cmocka_unit_test (test_config_empty_value_means_default),
        cmocka_unit_test (test_tmpfs_sizes),
        cmocka_unit_test (test_tmpfs_sizes_invalid),
        cmocka_unit_test (test_seconds),
        cmocka_unit_test (test_split_words),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
