/* A sandbox's limits on the host: the pids headroom for the Sentry, the
 * limits and counters read from a real cgroup, and the reason a limit
 * gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"
#include "sandbox_cgroup.h"
#include "sandbox_limits.h"
#include "xalloc.h"

static void
test_host_pids_limit (void **state)
{
    (void) state;
    assert_int_equal (wr_sandbox_host_pids_limit (0), 0);
    assert_int_equal (wr_sandbox_host_pids_limit (-5), 0);
    assert_int_equal (wr_sandbox_host_pids_limit (40), 40 + WR_SANDBOX_PIDS_OVERHEAD);
    assert_true (wr_sandbox_host_pids_limit (INT64_MAX - 1) == INT64_MAX);
}

static void
test_reason (void **state)
{
    (void) state;
    wr_sandbox_limits_t l = { .pids_limit_hits = 0, .oom_kills = 0 };
    assert_null (wr_sandbox_limits_reason (&l));
    l.oom_kills = 1;
    assert_string_equal (wr_sandbox_limits_reason (&l), "out of memory");
    l.pids_limit_hits = 3;
    assert_string_equal (wr_sandbox_limits_reason (&l), "pids limit reached");
}

static void
write_limit (const char *controller, const char *path, const char *file, const char *value)
{
    cleanup_free char *dir = wr_cgroup_dir (controller, path, NULL);
    assert_non_null (dir);
    cleanup_free char *name = xasprintf ("%s/%s", dir, file);
    FILE *f = fopen (name, "w");
    assert_non_null (f);
    fputs (value, f);
    assert_int_equal (fclose (f), 0);
}

static void
test_read_from_a_cgroup (void **state)
{
    (void) state;
    cleanup_free char *path = xasprintf ("/warren-unit-limits-%d", (int) getpid ());
    const char *controllers[] = { "memory", "pids", "cpu", NULL };
    for (size_t i = 0; controllers[i] != NULL; i++) {
        cleanup_free char *dir = wr_cgroup_dir (controllers[i], path, NULL);
        assert_non_null (dir);
        assert_int_equal (wr_mkdir_p (dir, 0755, NULL), 0);
    }
    wr_sandbox_limits_t l;
    wr_error_t err = NULL;
    assert_int_equal (wr_sandbox_limits_read (path, &l, &err), 0);
    assert_true (l.pids_max == INT64_MAX); /* "max" */
    assert_int_equal (l.pids_current, 0);
    assert_int_equal (l.pids_limit_hits, 0);
    assert_int_equal (l.cpu_quota, -1);
    write_limit ("memory", path, "memory.limit_in_bytes", "134217728");
    write_limit ("pids", path, "pids.max", "77");
    write_limit ("cpu", path, "cpu.cfs_quota_us", "50000");
    assert_int_equal (wr_sandbox_limits_read (path, &l, &err), 0);
    assert_int_equal (l.memory_limit, 134217728);
    assert_int_equal (l.pids_max, 77);
    assert_int_equal (l.cpu_quota, 50000);
    assert_int_equal (l.cpu_period, 100000);
    assert_int_equal (l.oom_kills, 0);
    assert_null (wr_sandbox_limits_reason (&l));
    assert_int_equal (wr_cgroup_remove (path, &err), 0);

    /* Gone: an error naming the file. */
    assert_int_equal (wr_sandbox_limits_read (path, &l, &err), -1);
    assert_non_null (strstr (err->message, path));
    wr_error_free (&err);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_host_pids_limit),
        cmocka_unit_test (test_reason),
        cmocka_unit_test (test_read_from_a_cgroup),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
