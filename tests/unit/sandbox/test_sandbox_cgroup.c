/* Host cgroups of sandboxes: the hierarchies from mountinfo, a cgroup's
 * directory per controller, its children, integers read from its files,
 * and removal from every hierarchy, killing a process still in it; paths
 * that are not a sandbox's are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"
#include "sandbox_cgroup.h"
#include "strv.h"
#include "xalloc.h"

static void
test_mounts_and_dirs (void **state)
{
    (void) state;
    wr_error_t err = NULL;
    cleanup_strv char **mounts = wr_cgroup_mounts (&err);
    assert_non_null (mounts);
    assert_true (wr_strv_length (mounts) > 0);
    cleanup_free char *pids = wr_cgroup_dir ("pids", "/x", &err);
    assert_non_null (pids);
    assert_non_null (strstr (pids, "/x"));
    cleanup_free char *none = wr_cgroup_dir ("no-such-controller", "/x", &err);
    assert_null (none);
    assert_int_equal (wr_error_kind (err), WR_ERROR_NOT_FOUND);
    wr_error_free (&err);
}

static void
test_children_read_remove (void **state)
{
    (void) state;
    cleanup_free char *parent = xasprintf ("/warren-unit-cgroup-%d", (int) getpid ());
    cleanup_free char *a = xasprintf ("%s/a", parent);
    cleanup_free char *b = xasprintf ("%s/b", parent);
    const char *controllers[] = { "pids", "memory", NULL };
    for (size_t i = 0; controllers[i] != NULL; i++) {
        cleanup_free char *da = wr_cgroup_dir (controllers[i], a, NULL);
        cleanup_free char *db = wr_cgroup_dir (controllers[i], b, NULL);
        assert_int_equal (wr_mkdir_p (da, 0755, NULL), 0);
        if (i == 0)
            assert_int_equal (wr_mkdir_p (db, 0755, NULL), 0);
    }
    wr_error_t err = NULL;
    cleanup_strv char **children = wr_cgroup_children (parent, &err);
    assert_int_equal (wr_strv_length (children), 2); /* a in two hierarchies: once */
    assert_string_equal (children[0], "a");
    assert_string_equal (children[1], "b");

    int64_t v = 0;
    assert_int_equal (wr_cgroup_read_int ("pids", a, "pids.max", NULL, &v, &err), 0);
    assert_true (v == INT64_MAX);
    assert_int_equal (wr_cgroup_read_int ("pids", a, "pids.events", "max", &v, &err), 0);
    assert_int_equal (v, 0);
    assert_int_equal (wr_cgroup_read_int ("pids", a, "pids.events", "nokey", &v, &err), -1);
    assert_int_equal (wr_error_kind (err), WR_ERROR_NOT_FOUND);
    wr_error_free (&err);

    /* A process still in the cgroup is killed by the removal. */
    pid_t child = fork ();
    if (child == 0) {
        pause ();
        _exit (0);
    }
    cleanup_free char *dir = wr_cgroup_dir ("pids", a, NULL);
    cleanup_free char *procs = xasprintf ("%s/cgroup.procs", dir);
    FILE *f = fopen (procs, "w");
    assert_non_null (f);
    fprintf (f, "%d\n", (int) child);
    assert_int_equal (fclose (f), 0);
    assert_int_equal (wr_cgroup_remove (a, &err), 0);
    int status = 0;
    assert_int_equal (waitpid (child, &status, 0), child);
    assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
    assert_int_equal (wr_cgroup_remove (a, &err), 0); /* again: nothing left */
    assert_int_equal (wr_cgroup_remove (b, &err), 0);
    cleanup_strv char **after = wr_cgroup_children (parent, &err);
    assert_int_equal (wr_strv_length (after), 0);
    assert_int_equal (wr_cgroup_remove (parent, &err), 0);
}

static void
test_refuses_other_paths (void **state)
{
    (void) state;
    const char *bad[] = { "/", "relative", "/warren/../etc", NULL };
    for (size_t i = 0; bad[i] != NULL; i++) {
        wr_error_t err = NULL;
        assert_int_equal (wr_cgroup_remove (bad[i], &err), -1);
        assert_int_equal (wr_error_kind (err), WR_ERROR_INVALID);
        wr_error_free (&err);
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_mounts_and_dirs),
        cmocka_unit_test (test_children_read_remove),
        cmocka_unit_test (test_refuses_other_paths),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
