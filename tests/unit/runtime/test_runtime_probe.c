/* Unit tests of runtime_probe.c and runtime_probe_cache.c: parsing what
 * runsc and runc print, and probes of fake backends (shell scripts
 * written to a temporary directory) with and without the cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "runtime_backend.h"
#include "runtime_probe.h"
#include "runtime_runsc.h"
#include "spec.h"
#include "strv.h"
#include "test_runtime_util.h"
#include "xalloc.h"

/* Trimmed real output of runsc 20240729 (`runsc flags` writes to stderr). */
static const char runsc_flags_output[] =
    "  -TESTONLY-allow-packet-endpoint-write\n"
    "    \tTEST ONLY; do not ever use! Used for tests to allow writes on packet sockets.\n"
    "  -debug\n"
    "    \tenable debug logging.\n"
    "  -net-raw runsc exec\n"
    "    \tenable raw sockets. When false, raw sockets are disabled by removing CAP_NET_RAW "
    "from containers (runsc exec will still be able to utilize raw sockets).\n"
    "  -network value\n"
    "    \tspecifies which network to use: sandbox (default), host, none.\n"
    "  -root string\n"
    "    \troot directory for storage of container state.\n";

static const char runsc_help_output[] =
    "Usage: runsc <flags> <subcommand> <subcommand args>\n"
    "\n"
    "Subcommands:\n"
    "\tcheckpoint       checkpoint current state of container (experimental)\n"
    "\tcreate           create a secure container\n"
    "\tflags            describe all known top-level flags\n"
    "\tport-forward     port forward to a secure container\n"
    "\n"
    "Subcommands for debug:\n"
    "\tdebug            shows a variety of debug information\n"
    "\n"
    "Additional help topics (Use \"runsc help <topic>\" to see help on the topic):\n"
    "\tplatforms        Print a list of available platforms.\n"
    "\n"
    "Use \"runsc flags\" for a list of top-level flags\n";

/* Trimmed real output of runc 1.1.5's --help. */
static const char runc_help_output[] =
    "NAME:\n"
    "   runc - Open Container Initiative runtime\n"
    "\n"
    "USAGE:\n"
    "   runc [global options] command [command options] [arguments...]\n"
    "\n"
    "COMMANDS:\n"
    "   checkpoint  checkpoint a running container\n"
    "   features    show the enabled features\n"
    "   help, h     Shows a list of commands or help for one command\n"
    "\n"
    "GLOBAL OPTIONS:\n"
    "   --debug             enable debug logging\n"
    "   --log value         set the log file to write runc-internal logs to\n"
    "   --systemd-cgroup    enable systemd cgroup support\n"
    "   --help, -h          show help\n";

static void
test_parse_release (void **state)
{
    assert_int_equal (wr_backend_parse_release ("0.0~20240729.0"), 20240729);
    assert_int_equal (wr_backend_parse_release ("release-20240729.0"), 20240729);
    assert_int_equal (wr_backend_parse_release ("release-20221219.0-93-gabcdef"), 20221219);
    /* A development build's 9-digit number is not a date. */
    assert_int_equal (wr_backend_parse_release ("google-651529720"), 0);
    assert_int_equal (wr_backend_parse_release ("1.1.5+ds1"), 0);
    assert_int_equal (wr_backend_parse_release (NULL), 0);
}

static void
test_parse_version (void **state)
{
    cleanup_free char *debian =
        wr_backend_parse_version ("runsc version 0.0~20240729.0\nspec: 1.0.2-dev\n");
    assert_string_equal (debian, "0.0~20240729.0");
    cleanup_free char *runc = wr_backend_parse_version (
        "runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\n");
    assert_string_equal (runc, "1.1.5+ds1");
    cleanup_free char *spec = wr_backend_parse_spec_version ("runsc version X\nspec: 1.0.2-dev\n");
    assert_string_equal (spec, "1.0.2-dev");
    assert_null (wr_backend_parse_version ("flag provided but not defined: -version\n"));
    assert_null (wr_backend_parse_spec_version ("runsc version X\n"));
}

static void
test_parse_flags (void **state)
{
    cleanup_strv char **runsc = wr_backend_parse_flags (runsc_flags_output);
    assert_int_equal (wr_strv_length (runsc), 5);
    assert_true (wr_strv_contains (runsc, "TESTONLY-allow-packet-endpoint-write"));
    assert_true (wr_strv_contains (runsc, "net-raw"));
    assert_true (wr_strv_contains (runsc, "network"));
    assert_false (wr_strv_contains (runsc, "runsc"));

    cleanup_strv char **runc = wr_backend_parse_flags (runc_help_output);
    assert_int_equal (wr_strv_length (runc), 4);
    assert_true (wr_strv_contains (runc, "systemd-cgroup"));
    assert_true (wr_strv_contains (runc, "help"));
    assert_false (wr_strv_contains (runc, "h"));

    /* The subcommand list has no flags in it. */
    cleanup_strv char **none = wr_backend_parse_flags (runsc_help_output);
    assert_int_equal (wr_strv_length (none), 0);
}

static void
test_parse_commands (void **state)
{
    cleanup_strv char **runsc = wr_backend_parse_commands (runsc_help_output);
    cleanup_free char *runsc_joined = wr_strv_join (runsc, " ");
    assert_string_equal (runsc_joined, "checkpoint create flags port-forward debug");
    cleanup_strv char **runc = wr_backend_parse_commands (runc_help_output);
    cleanup_free char *runc_joined = wr_strv_join (runc, " ");
    assert_string_equal (runc_joined, "checkpoint features help");
}

/* ---- probes of fake backends ---- */

static void
test_probe_and_cache (void **state)
{
    cleanup_free char *dir = wr_test_tmpdir ();
    cleanup_free char *runsc = wr_test_fake_runsc (dir, "runsc", "0.0~20240729.0", true);
    cleanup_free char *cache = xasprintf ("%s/state", dir);

    cleanup_error wr_error_t err = NULL;
    cleanup_backend wr_backend_t *first = wr_backend_new (&wr_backend_runsc, runsc, cache);
    if (wr_backend_probe (first, &err) < 0)
        fail_msg ("probe: %s", err->message);
    assert_false (first->probe_cached);
    assert_string_equal (first->info.path, runsc);
    assert_string_equal (first->info.version, "0.0~20240729.0");
    assert_int_equal (first->info.release, 20240729);
    assert_string_equal (first->info.spec_version, "1.0.2-dev");
    assert_true (wr_backend_supports_flag (first, "net-raw"));
    assert_true (wr_backend_supports_flag (first, "TESTONLY-allow-packet-endpoint-write"));
    assert_false (wr_backend_supports_flag (first, "allow-packet-socket-write"));
    assert_true (wr_backend_supports_command (first, "create"));
    assert_false (wr_backend_supports_command (first, "features"));
    int calls = wr_test_count_calls (dir);
    assert_true (calls >= 2);
    /* The cache directory is private. */
    struct stat st;
    assert_int_equal (stat (cache, &st), 0);
    assert_int_equal (st.st_mode & 0777, 0700);

    /* A second invocation reads the cache and runs nothing. */
    cleanup_backend wr_backend_t *second = wr_backend_new (&wr_backend_runsc, runsc, cache);
    if (wr_backend_probe (second, &err) < 0)
        fail_msg ("probe: %s", err->message);
    assert_true (second->probe_cached);
    assert_int_equal (wr_test_count_calls (dir), calls);
    assert_string_equal (second->info.version, "0.0~20240729.0");
    assert_int_equal (second->info.release, 20240729);
    assert_int_equal (second->info.rmem_default_in_every_netns,
                      first->info.rmem_default_in_every_netns);
    assert_int_equal (wr_strv_length (second->info.flags), wr_strv_length (first->info.flags));
    assert_true (wr_backend_supports_flag (second, "net-raw"));
    assert_true (wr_backend_supports_command (second, "create"));

    /* Replacing the binary (new inode, size and mtime) invalidates it. */
    cleanup_free char *again = wr_test_fake_runsc (dir, "runsc", "0.0~20250101.0-new", false);
    assert_non_null (again);
    cleanup_backend wr_backend_t *third = wr_backend_new (&wr_backend_runsc, runsc, cache);
    if (wr_backend_probe (third, &err) < 0)
        fail_msg ("probe: %s", err->message);
    assert_false (third->probe_cached);
    assert_int_equal (third->info.release, 20250101);
    /* This fake has no `flags` command: the flags come from --help. */
    assert_true (wr_backend_supports_flag (third, "net-raw"));
    assert_true (wr_test_count_calls (dir) > calls);

    /* Touching it (same size and inode, new mtime) invalidates it too. */
    calls = wr_test_count_calls (dir);
    struct timespec times[2] = { { 0, UTIME_OMIT }, { 1000000000, 0 } };
    assert_int_equal (utimensat (AT_FDCWD, runsc, times, 0), 0);
    cleanup_backend wr_backend_t *fourth = wr_backend_new (&wr_backend_runsc, runsc, cache);
    assert_int_equal (wr_backend_probe (fourth, NULL), 0);
    assert_false (fourth->probe_cached);
    assert_true (wr_test_count_calls (dir) > calls);

    /* A damaged cache file is probed again, not trusted. */
    cleanup_strv char **files = wr_test_list_dir (cache);
    assert_int_equal (wr_strv_length (files), 1);
    cleanup_free char *cache_file = xasprintf ("%s/%s", cache, files[0]);
    assert_int_equal (truncate (cache_file, 60), 0);
    calls = wr_test_count_calls (dir);
    cleanup_backend wr_backend_t *fifth = wr_backend_new (&wr_backend_runsc, runsc, cache);
    assert_int_equal (wr_backend_probe (fifth, NULL), 0);
    assert_false (fifth->probe_cached);
    assert_true (wr_test_count_calls (dir) > calls);

    /* One without the key line is not trusted either. */
    cleanup_free char *whole = wr_test_read_file (cache_file);
    char *key = strstr (whole, "\nkey ");
    assert_non_null (key);
    char *key_end = strchr (key + 1, '\n');
    memmove (key, key_end, strlen (key_end) + 1);
    wr_test_write_file (cache_file, whole);
    calls = wr_test_count_calls (dir);
    cleanup_backend wr_backend_t *sixth = wr_backend_new (&wr_backend_runsc, runsc, cache);
    assert_int_equal (wr_backend_probe (sixth, NULL), 0);
    assert_false (sixth->probe_cached);
    assert_true (wr_test_count_calls (dir) > calls);
    wr_test_rm_rf (dir);
}

static void
test_probe_without_state_dir (void **state)
{
    cleanup_free char *dir = wr_test_tmpdir ();
    cleanup_free char *runsc = wr_test_fake_runsc (dir, "runsc", "release-20250505.0", true);
    cleanup_backend wr_backend_t *backend = wr_backend_new (&wr_backend_runsc, runsc, NULL);
    assert_int_equal (wr_backend_probe (backend, NULL), 0);
    assert_int_equal (backend->info.release, 20250505);
    /* Probing again in the same process does nothing. */
    int calls = wr_test_count_calls (dir);
    assert_int_equal (wr_backend_probe (backend, NULL), 0);
    assert_int_equal (wr_test_count_calls (dir), calls);
    wr_test_rm_rf (dir);
}

static void
test_probe_too_old (void **state)
{
    cleanup_free char *dir = wr_test_tmpdir ();
    cleanup_free char *runsc = wr_test_fake_runsc (dir, "runsc", "0.0~20221219.0", true);
    cleanup_free char *cache = xasprintf ("%s/state", dir);
    for (int round = 0; round < 2; round++) { /* fresh, then cached */
        cleanup_backend wr_backend_t *backend = wr_backend_new (&wr_backend_runsc, runsc, cache);
        cleanup_error wr_error_t err = NULL;
        assert_int_equal (wr_backend_probe (backend, &err), -1);
        assert_int_equal (backend->probe_cached, round == 1);
        assert_non_null (strstr (err->message, "20221219"));
        assert_non_null (strstr (err->message, "20240729 or newer"));
        assert_non_null (strstr (err->message, runsc));
    }
    wr_test_rm_rf (dir);
}

static void
test_probe_missing (void **state)
{
    cleanup_free char *dir = wr_test_tmpdir ();
    cleanup_backend wr_backend_t *backend = wr_backend_new (&wr_backend_runsc, NULL, NULL);
    wr_backend_set_search_path (backend, dir);
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_backend_probe (backend, &err), -1);
    assert_string_equal (err->message,
                         "runsc not found in PATH: install runsc 20240729 or newer (scripts/setup "
                         "installs it from bookworm-backports)");

    /* Found in PATH once it is there. */
    cleanup_free char *runsc = wr_test_fake_runsc (dir, "runsc", "0.0~20240729.0", true);
    cleanup_backend wr_backend_t *found = wr_backend_new (&wr_backend_runsc, NULL, NULL);
    wr_backend_set_search_path (found, dir);
    assert_int_equal (wr_backend_probe (found, NULL), 0);
    assert_string_equal (found->info.path, runsc);

    cleanup_free char *nowhere = xasprintf ("%s/no/runsc", dir);
    cleanup_backend wr_backend_t *explicit = wr_backend_new (&wr_backend_runsc, nowhere, NULL);
    cleanup_error wr_error_t err2 = NULL;
    assert_int_equal (wr_backend_probe (explicit, &err2), -1);
    assert_non_null (strstr (err2->message, nowhere));
    assert_non_null (strstr (err2->message, "20240729 or newer"));
    wr_test_rm_rf (dir);
}

static void
test_probe_runc (void **state)
{
    cleanup_free char *dir = wr_test_tmpdir ();
    cleanup_free char *runc = wr_test_fake_runc (dir);
    cleanup_backend wr_backend_t *backend = wr_backend_new (&wr_backend_runc, runc, NULL);
    cleanup_error wr_error_t err = NULL;
    if (wr_backend_probe (backend, &err) < 0)
        fail_msg ("probe: %s", err->message);
    assert_string_equal (backend->info.version, "1.1.5+ds1");
    assert_int_equal (backend->info.release, 0);
    assert_true (wr_backend_supports_command (backend, "features"));
    assert_true (wr_backend_supports_flag (backend, "systemd-cgroup"));
    wr_test_rm_rf (dir);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_parse_release),   cmocka_unit_test (test_parse_version),
        cmocka_unit_test (test_parse_flags),     cmocka_unit_test (test_parse_commands),
        cmocka_unit_test (test_probe_and_cache), cmocka_unit_test (test_probe_without_state_dir),
        cmocka_unit_test (test_probe_too_old),   cmocka_unit_test (test_probe_missing),
        cmocka_unit_test (test_probe_runc),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
