/* runsc for warrend's sandboxes, without starting one (that is
 * tests/integration/sandbox_launch.sh's): `runsc state` output parsed
 * strictly, sandbox ids, the paths of what a sandbox owns, the runner's
 * output, time limit and rmem_default workaround (a tmpfs over
 * /proc/sys/net in a mount namespace of its own), and state, kill and
 * delete of a container the installed runsc does not have. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "path_in_root.h"
#include "sandbox_runsc.h"
#include "strv.h"
#include "xalloc.h"
#include "remove_tree.h"

static void
test_state_parse (void **state)
{
    (void) state;
    static const char running[] = "{\"ociVersion\":\"1.0.2-dev\",\"id\":\"s1\",\"status\":"
                                  "\"running\",\"pid\":1234,\"bundle\":\"/b\"}";
    wr_runsc_state_t s = WR_RUNSC_STATE_GONE;
    pid_t pid = 0;
    wr_error_t err = NULL;
    assert_int_equal (wr_runsc_state_parse (running, strlen (running), "s1", &s, &pid, &err), 0);
    assert_int_equal (s, WR_RUNSC_STATE_RUNNING);
    assert_int_equal (pid, 1234);
    static const char stopped[] = "{\"id\":\"s1\",\"status\":\"stopped\",\"pid\":-1}";
    assert_int_equal (wr_runsc_state_parse (stopped, strlen (stopped), "s1", &s, &pid, &err), 0);
    assert_int_equal (s, WR_RUNSC_STATE_STOPPED);
    assert_int_equal (pid, 0);

    const char *bad[] = {
        "",
        "[]",
        "{\"id\":\"s1\",\"status\":\"running\"}",
        "{\"id\":\"s1\",\"status\":\"running\",\"pid\":\"12\"}",
        "{\"id\":\"s1\",\"status\":\"running\",\"pid\":1.5}",
        "{\"id\":\"s2\",\"status\":\"running\",\"pid\":12}",
        "{\"id\":\"s1\",\"status\":\"dancing\",\"pid\":12}",
        "{\"id\":\"s1\",\"status\":\"running\",\"pid\":12} trailing",
        "{\"id\":\"s1\",\"status\":\"running\",\"pid\":99999999999}",
        "{\"id\":\"s1\",\"status\":\"running\",\"pid\":-7}",
        "{\"id\":1,\"status\":\"running\",\"pid\":12}",
        NULL,
    };
    for (size_t i = 0; bad[i] != NULL; i++) {
        assert_int_equal (wr_runsc_state_parse (bad[i], strlen (bad[i]), "s1", &s, &pid, &err), -1);
        assert_non_null (strstr (err->message, "runsc state"));
        wr_error_free (&err);
    }
    assert_string_equal (wr_runsc_state_name (WR_RUNSC_STATE_GONE), "gone");
    assert_string_equal (wr_runsc_state_name (WR_RUNSC_STATE_PAUSED), "paused");
}

static void
test_ids_and_paths (void **state)
{
    (void) state;
    const char *good[] = { "a", "sb_1.x-2", "0123456789abcdef", NULL };
    for (size_t i = 0; good[i] != NULL; i++)
        assert_int_equal (wr_sandbox_check_id (good[i], NULL), 0);
    const char *bad[] = { "", ".hidden", "-flag", "a/b", "a b", "..", NULL };
    for (size_t i = 0; bad[i] != NULL; i++) {
        wr_error_t err = NULL;
        assert_int_equal (wr_sandbox_check_id (bad[i], &err), -1);
        assert_int_equal (wr_error_kind (err), WR_ERROR_INVALID);
        wr_error_free (&err);
    }
    char long_id[80];
    memset (long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    assert_int_equal (wr_sandbox_check_id (long_id, NULL), -1);

    wr_sandbox_host_t host = { .root = "/var/lib/warren", .netns_dir = "/run/warren/netns" };
    cleanup_free char *dir = wr_sandbox_dir (&host, "abc");
    cleanup_free char *runsc = wr_sandbox_runsc_root (&host);
    cleanup_free char *cgroup = wr_sandbox_cgroup_path (&host, "abc");
    cleanup_free char *netns = wr_sandbox_netns_path (&host, "0123456789abcdefXYZ");
    assert_string_equal (dir, "/var/lib/warren/sandboxes/abc");
    assert_string_equal (runsc, "/var/lib/warren/runsc");
    assert_string_equal (cgroup, "/warren/abc");
    assert_string_equal (netns, "/run/warren/netns/warren-0123456789ab");
    host.cgroup_parent = "/warren-test";
    cleanup_free char *cgroup2 = wr_sandbox_cgroup_path (&host, "abc");
    assert_string_equal (cgroup2, "/warren-test/abc");
}

static void
test_runner (void **state)
{
    (void) state;
    wr_sandbox_host_t host = { .timeout_ms = 5000 };
    char *count[] = { "/bin/sh", "-c", "ls -A /proc/sys/net | wc -l; echo err >&2; exit 3", NULL };
    cleanup_free char *plain = NULL, *worked_around = NULL;
    int status = 0;
    wr_error_t err = NULL;
    assert_int_equal (wr_sandbox_runsc_run (&host, count, false, 0, &plain, &status, &err), 0);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 3);
    assert_true (atoi (plain) > 0);
    assert_non_null (strstr (plain, "err"));
    assert_int_equal (wr_sandbox_runsc_run (&host, count, true, 0, &worked_around, &status, &err),
                      0);
    assert_int_equal (atoi (worked_around), 0); /* an empty tmpfs */
    /* Our own mount namespace is untouched. */
    assert_int_equal (access ("/proc/sys/net/core", F_OK), 0);

    char *slow[] = { "/bin/sleep", "10", NULL };
    struct timespec a, b;
    clock_gettime (CLOCK_MONOTONIC, &a);
    assert_int_equal (wr_sandbox_runsc_run (&host, slow, false, 200, NULL, &status, &err), -1);
    clock_gettime (CLOCK_MONOTONIC, &b);
    assert_int_equal (wr_error_kind (err), WR_ERROR_UNAVAILABLE);
    assert_non_null (strstr (err->message, "200 ms"));
    wr_error_free (&err);
    assert_true (b.tv_sec - a.tv_sec < 5);
}

static void
test_commands_on_a_missing_container (void **state)
{
    (void) state;
    char dir[] = "/tmp/test_sandbox_runsc.XXXXXX";
    assert_non_null (mkdtemp (dir));
    cleanup_free char *probe = xasprintf ("%s/run", dir);
    cleanup_backend wr_backend_t *backend = wr_backend_new (&wr_backend_runsc, "runsc", probe);
    wr_sandbox_host_t host = { .runsc = backend, .root = dir, .netns_dir = dir };
    wr_error_t err = NULL;
    cleanup_strv char **argv = wr_sandbox_runsc_argv (&host, &err);
    assert_non_null (argv);
    cleanup_free char *root_flag = xasprintf ("--root=%s/runsc", dir);
    assert_string_equal (argv[1], root_flag);

    wr_runsc_state_t s = WR_RUNSC_STATE_RUNNING;
    pid_t pid = 7;
    assert_int_equal (wr_sandbox_runsc_state (&host, "nope", &s, &pid, &err), 0);
    assert_int_equal (s, WR_RUNSC_STATE_GONE);
    assert_int_equal (pid, 0);
    assert_int_equal (wr_sandbox_delete (&host, "nope", &err), 0);
    assert_int_equal (wr_sandbox_kill (&host, "nope", 9, false, &err), -1);
    assert_int_equal (wr_error_kind (err), WR_ERROR_NOT_FOUND);
    assert_non_null (strstr (err->message, "nope"));
    wr_error_free (&err);
    assert_int_equal (wr_sandbox_runsc_state (&host, "../x", &s, &pid, &err), -1);
    wr_error_free (&err);
    wr_remove_tree_at (AT_FDCWD, dir, NULL);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_state_parse),
        cmocka_unit_test (test_ids_and_paths),
        cmocka_unit_test (test_runner),
        cmocka_unit_test (test_commands_on_a_missing_container),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
