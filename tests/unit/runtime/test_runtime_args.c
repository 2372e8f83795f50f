/* Unit tests of runtime_args.c: warren-runtime's command line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "runtime_args.h"
#include "runtime_backend.h"
#include "strv.h"
#include "xalloc.h"

#define ARGC(a) ((int) (sizeof (a) / sizeof (a)[0]) - 1)

static void
parse_ok (wr_runtime_args_t *args, int argc, char *const *argv)
{
    cleanup_error wr_error_t err = NULL;
    if (wr_runtime_args_parse (args, argc, argv, &err) < 0)
        fail_msg ("parse failed: %s", err->message);
}

static char *
joined_globals (const wr_runtime_args_t *args, const wr_backend_ops_t *ops)
{
    cleanup_strv char **globals = wr_runtime_args_backend_globals (args, ops);
    return wr_strv_join (globals, " ");
}

/* What containerd's runc shim runs, with Docker runtimeArgs in front. */
static void
test_docker_style_command_line (void **state)
{
    char *const argv[] = { "warren-runtime",
                           "--network=host",
                           "--profile",
                           "docker",
                           "--root",
                           "/run/docker/runtime-runc/moby",
                           "--log",
                           "/run/containerd/x/log.json",
                           "--log-format",
                           "json",
                           "--systemd-cgroup",
                           "create",
                           "--bundle",
                           "/run/containerd/x",
                           "--pid-file",
                           "/run/containerd/x/init.pid",
                           "abc123",
                           NULL };
    cleanup_runtime_args wr_runtime_args_t args = { 0 };
    parse_ok (&args, ARGC (argv), argv);
    assert_string_equal (args.profile, "docker");
    assert_false (args.profile_from_name);
    assert_string_equal (args.root, "/run/docker/runtime-runc/moby");
    assert_string_equal (args.log, "/run/containerd/x/log.json");
    assert_string_equal (args.log_format, "json");
    assert_true (args.systemd_cgroup);
    assert_false (args.debug);
    assert_string_equal (args.command, "create");
    assert_int_equal (wr_strv_length (args.command_args), 5);
    assert_string_equal (args.command_args[4], "abc123");
    assert_true (wr_runtime_command_launches (args.command));
    assert_string_equal (wr_runtime_args_network (&args), "host");

    /* --profile is consumed; the rest is passed on, in order. */
    cleanup_free char *runsc = joined_globals (&args, &wr_backend_runsc);
    assert_string_equal (runsc, "--network=host --root=/run/docker/runtime-runc/moby "
                                "--log=/run/containerd/x/log.json --log-format=json "
                                "--systemd-cgroup");
    cleanup_free char *bundle = wr_runtime_args_bundle (&args, NULL);
    assert_string_equal (bundle, "/run/containerd/x");
    assert_string_equal (wr_runtime_args_container_id (&args), "abc123");
}

static void
test_warren_flags_are_consumed (void **state)
{
    char *const argv[] = { "warren-runtime",    "--backend=runc", "--backend-binary",
                           "/opt/runc",         "-init",          "/opt/warren-init",
                           "--profile=default", "list",           NULL };
    cleanup_runtime_args wr_runtime_args_t args = { 0 };
    parse_ok (&args, ARGC (argv), argv);
    assert_string_equal (args.backend, "runc");
    assert_string_equal (args.backend_binary, "/opt/runc");
    assert_string_equal (args.init, "/opt/warren-init");
    assert_string_equal (args.profile, "default");
    assert_int_equal (args.n_globals, 0);
    assert_string_equal (args.command, "list");
    assert_false (wr_runtime_command_launches (args.command));
    assert_string_equal (wr_runtime_args_backend_name (&args, "crun"), "runc");
    assert_string_equal (wr_runtime_args_backend_binary (&args, &wr_backend_runc, "/opt/runsc"),
                         "/opt/runc");
}

static void
test_unknown_flag_value_forms (void **state)
{
    /* `--platform ptrace` takes the next argument; `--net-raw` before a
     * command does not; single-dash Go style is kept. */
    char *const argv[] = { "warren-runtime", "--platform", "ptrace", "-debug-log", "/tmp/d/",
                           "--net-raw",      "run",        "-d",     "ctr",        NULL };
    cleanup_runtime_args wr_runtime_args_t args = { 0 };
    parse_ok (&args, ARGC (argv), argv);
    assert_int_equal (args.n_globals, 3);
    assert_string_equal (args.globals[0].name, "platform");
    assert_string_equal (args.globals[0].value, "ptrace");
    assert_string_equal (args.globals[1].name, "debug-log");
    assert_null (args.globals[2].value);
    cleanup_free char *runsc = joined_globals (&args, &wr_backend_runsc);
    assert_string_equal (runsc, "--platform=ptrace -debug-log=/tmp/d/ --net-raw");
    assert_string_equal (args.command, "run");
    assert_string_equal (args.command_args[0], "-d");
    assert_null (wr_runtime_args_network (&args));
}

static void
test_separate_network_value (void **state)
{
    char *const argv[] = { "warren-runtime", "--network", "sandbox", "--network=none",
                           "create",         "x",         NULL };
    cleanup_runtime_args wr_runtime_args_t args = { 0 };
    parse_ok (&args, ARGC (argv), argv);
    /* The last one wins, as with Go's flag package. */
    assert_string_equal (wr_runtime_args_network (&args), "none");
}

static void
test_runc_flags_translated_for_runsc (void **state)
{
    char *const argv[] = { "warren-runtime",
                           "--criu",
                           "/usr/sbin/criu",
                           "--rootless",
                           "auto",
                           "--debug=false",
                           "-debug",
                           "--rootless=true",
                           "--systemd-cgroup=false",
                           "state",
                           "x",
                           NULL };
    cleanup_runtime_args wr_runtime_args_t args = { 0 };
    parse_ok (&args, ARGC (argv), argv);
    assert_true (args.debug);
    assert_false (args.systemd_cgroup);
    /* runsc has no CRIU and a plain --rootless switch; a switch set to
     * false is dropped. */
    cleanup_free char *runsc = joined_globals (&args, &wr_backend_runsc);
    assert_string_equal (runsc, "--debug --rootless");
    /* runc gets runc's flags back, normalised. */
    cleanup_free char *runc = joined_globals (&args, &wr_backend_runc);
    assert_string_equal (runc, "--criu=/usr/sbin/criu --rootless=auto --debug --rootless=true");
}

static void
test_help_version_and_no_command (void **state)
{
    char *const v[] = { "warren-runtime", "--version", NULL };
    cleanup_runtime_args wr_runtime_args_t a = { 0 };
    parse_ok (&a, ARGC (v), v);
    assert_true (a.version);
    assert_null (a.command);

    char *const h[] = { "warren-runtime", "-h", NULL };
    cleanup_runtime_args wr_runtime_args_t b = { 0 };
    parse_ok (&b, ARGC (h), h);
    assert_true (b.help);

    char *const dd[] = { "warren-runtime", "--root", "/r", "--", "start", "--", "x", NULL };
    cleanup_runtime_args wr_runtime_args_t c = { 0 };
    parse_ok (&c, ARGC (dd), dd);
    assert_string_equal (c.command, "start");
    assert_string_equal (c.command_args[0], "--");
    assert_string_equal (c.command_args[1], "x");
}

static void
test_errors (void **state)
{
    char *const missing[] = { "warren-runtime", "--root", NULL };
    cleanup_runtime_args wr_runtime_args_t a = { 0 };
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_runtime_args_parse (&a, ARGC (missing), missing, &err), -1);
    assert_non_null (strstr (err->message, "--root"));

    char *const badbool[] = { "warren-runtime", "--debug=maybe", "list", NULL };
    cleanup_runtime_args wr_runtime_args_t b = { 0 };
    cleanup_error wr_error_t err2 = NULL;
    assert_int_equal (wr_runtime_args_parse (&b, ARGC (badbool), badbool, &err2), -1);
    assert_non_null (strstr (err2->message, "maybe"));
}

static void
test_docker_name_selects_docker_profile (void **state)
{
    char *const argv[] = { "/usr/local/bin/warren-runtime-docker", "create", "x", NULL };
    cleanup_runtime_args wr_runtime_args_t args = { 0 };
    parse_ok (&args, ARGC (argv), argv);
    assert_string_equal (args.profile, "docker");
    assert_true (args.profile_from_name);

    char *const explicit[] = {
        "warren-runtime-docker", "--profile", "default", "create", "x", NULL
    };
    cleanup_runtime_args wr_runtime_args_t b = { 0 };
    parse_ok (&b, ARGC (explicit), explicit);
    assert_string_equal (b.profile, "default");
    assert_false (b.profile_from_name);

    char *const plain[] = { "warren-runtime", "create", "x", NULL };
    cleanup_runtime_args wr_runtime_args_t c = { 0 };
    parse_ok (&c, ARGC (plain), plain);
    assert_null (c.profile);
}

static void
test_bundle_lookup (void **state)
{
    cleanup_free char *cwd = getcwd (NULL, 0);
    struct {
        char *args[8];
        const char *bundle; /* NULL: the current directory */
        const char *id;
    } cases[] = {
        { { "w", "create", "ctr", NULL }, NULL, "ctr" },
        { { "w", "create", "-b", "/b1", "ctr", NULL }, "/b1", "ctr" },
        { { "w", "create", "--bundle=/b2", "ctr", NULL }, "/b2", "ctr" },
        { { "w", "run", "-bundle", "rel/dir", "ctr", NULL }, "REL", "ctr" },
        { { "w", "run", "--pid-file", "/p", "--detach", "ctr", NULL }, NULL, "ctr" },
        { { "w", "create", "--console-socket", "/s", "--bundle", "/b3", NULL }, "/b3", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cleanup_runtime_args wr_runtime_args_t args = { 0 };
        parse_ok (&args, (int) wr_strv_length (cases[i].args), cases[i].args);
        cleanup_free char *bundle = wr_runtime_args_bundle (&args, NULL);
        cleanup_free char *expected = NULL;
        if (cases[i].bundle == NULL)
            expected = xstrdup (cwd);
        else if (strcmp (cases[i].bundle, "REL") == 0)
            expected = xasprintf ("%s/rel/dir", cwd);
        else
            expected = xstrdup (cases[i].bundle);
        assert_string_equal (bundle, expected);
        const char *id = wr_runtime_args_container_id (&args);
        if (cases[i].id == NULL)
            assert_null (id);
        else
            assert_string_equal (id, cases[i].id);
    }
}

static void
test_container_id_after_command_flags (void **state)
{
    char *const exec[] = { "w",     "exec", "--user", "1000", "-e",      "A=1",
                           "--cwd", "/",    "-t",     "ctr",  "/bin/sh", NULL };
    cleanup_runtime_args wr_runtime_args_t a = { 0 };
    parse_ok (&a, (int) wr_strv_length (exec), exec);
    assert_string_equal (wr_runtime_args_container_id (&a), "ctr");
    assert_false (wr_runtime_args_command_flag (&a, "detach", "d"));

    char *const kill[] = { "w", "kill", "--all", "ctr", "KILL", NULL };
    cleanup_runtime_args wr_runtime_args_t b = { 0 };
    parse_ok (&b, (int) wr_strv_length (kill), kill);
    assert_string_equal (wr_runtime_args_container_id (&b), "ctr");

    char *const run[] = { "w", "run", "-d", "--bundle", "/b", "ctr", "--detach", NULL };
    cleanup_runtime_args wr_runtime_args_t c = { 0 };
    parse_ok (&c, (int) wr_strv_length (run), run);
    assert_true (wr_runtime_args_command_flag (&c, "detach", "d"));
    assert_false (wr_runtime_args_command_flag (&c, "keep", NULL));

    char *const off[] = { "w", "run", "--detach=false", "ctr", NULL };
    cleanup_runtime_args wr_runtime_args_t d = { 0 };
    parse_ok (&d, (int) wr_strv_length (off), off);
    assert_false (wr_runtime_args_command_flag (&d, "detach", "d"));

    char *const list[] = { "w", "list", NULL };
    cleanup_runtime_args wr_runtime_args_t e = { 0 };
    parse_ok (&e, (int) wr_strv_length (list), list);
    assert_null (wr_runtime_args_container_id (&e));
}

static void
test_backend_from_environment (void **state)
{
    char *const argv[] = { "warren-runtime", "list", NULL };
    cleanup_runtime_args wr_runtime_args_t args = { 0 };
    parse_ok (&args, ARGC (argv), argv);
    assert_string_equal (wr_runtime_args_backend_name (&args, NULL), "runsc");
    assert_string_equal (wr_runtime_args_backend_name (&args, ""), "runsc");
    assert_null (wr_runtime_args_backend_binary (&args, &wr_backend_runsc, NULL));
    assert_null (wr_runtime_args_backend_binary (&args, &wr_backend_runsc, ""));
    assert_string_equal (wr_runtime_args_backend_name (&args, "crun"), "crun");
    assert_string_equal (wr_runtime_args_backend_binary (&args, &wr_backend_runsc, "/opt/runsc"),
                         "/opt/runsc");
    /* WARREN_RUNSC is about runsc only. */
    assert_null (wr_runtime_args_backend_binary (&args, &wr_backend_crun, "/opt/runsc"));
}

static void
test_flag_names (void **state)
{
    cleanup_free char *a = wr_flag_name ("--net-raw=false");
    cleanup_free char *b = wr_flag_name ("-network");
    assert_string_equal (a, "net-raw");
    assert_string_equal (b, "network");
    assert_null (wr_flag_name ("value"));
    assert_null (wr_flag_name ("-"));
    assert_null (wr_flag_name ("--"));
    char *const flags[] = { "--root=/x", "-net-raw", NULL };
    assert_true (wr_flags_have (flags, "net-raw"));
    assert_true (wr_flags_have (flags, "root"));
    assert_false (wr_flags_have (flags, "network"));
    assert_false (wr_flags_have (NULL, "network"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_docker_style_command_line),
        cmocka_unit_test (test_warren_flags_are_consumed),
        cmocka_unit_test (test_unknown_flag_value_forms),
        cmocka_unit_test (test_separate_network_value),
        cmocka_unit_test (test_runc_flags_translated_for_runsc),
        cmocka_unit_test (test_help_version_and_no_command),
        cmocka_unit_test (test_errors),
        cmocka_unit_test (test_docker_name_selects_docker_profile),
        cmocka_unit_test (test_bundle_lookup),
        cmocka_unit_test (test_container_id_after_command_flags),
        cmocka_unit_test (test_backend_from_environment),
        cmocka_unit_test (test_flag_names),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
