/* Destroying what a sandbox owns after a crash left part of it: a
 * network namespace, a cgroup, a bundle with its overlay still mounted, a
 * sandbox directory, and no runsc container.  The leftovers list shows each
 * of them before and nothing after; a second destroy and a destroy of a
 * sandbox that never existed succeed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle_overlay.h"
#include "cleanup.h"
#include "fs.h"
#include "path_in_root.h"
#include "sandbox_cgroup.h"
#include "sandbox_destroy.h"
#include "sandbox_netns.h"
#include "strv.h"
#include "xalloc.h"
#include "remove_tree.h"

static void
test_destroy_partial (void **state)
{
    (void) state;
    char dir[] = "/tmp/test_sandbox_destroy.XXXXXX";
    assert_non_null (mkdtemp (dir));
    cleanup_free char *root = xasprintf ("%s/root", dir);
    cleanup_free char *netns_dir = xasprintf ("%s/netns", dir);
    cleanup_free char *lower = xasprintf ("%s/lower", dir);
    cleanup_free char *probe = xasprintf ("%s/run", dir);
    cleanup_free char *parent = xasprintf ("/warren-unit-destroy-%d", (int) getpid ());
    cleanup_backend wr_backend_t *backend = wr_backend_new (&wr_backend_runsc, "runsc", probe);
    wr_sandbox_host_t host = {
        .runsc = backend, .root = root, .netns_dir = netns_dir, .cgroup_parent = parent
    };
    wr_error_t err = NULL;

    /* What a launch that crashed half-way leaves. */
    cleanup_free char *sandbox_dir = wr_sandbox_dir (&host, "crashed");
    cleanup_free char *agent = xasprintf ("%s/agent", sandbox_dir);
    cleanup_free char *bundle = xasprintf ("%s/bundle", sandbox_dir);
    assert_int_equal (wr_mkdir_p (agent, 0700, &err), 0);
    assert_int_equal (wr_mkdir_p (lower, 0755, &err), 0);
    assert_int_equal (wr_bundle_mount (bundle, lower, &err), 0);
    cleanup_free char *netns_name = wr_netns_name ("crashed");
    assert_int_equal (wr_netns_create (netns_dir, netns_name, NULL, &err), 0);
    cleanup_free char *cgroup = wr_sandbox_cgroup_path (&host, "crashed");
    cleanup_free char *pids_dir = wr_cgroup_dir ("pids", cgroup, &err);
    assert_int_equal (wr_mkdir_p (pids_dir, 0755, &err), 0);

    wr_sandbox_leftovers_t l;
    assert_int_equal (wr_sandbox_leftovers (&host, &l, &err), 0);
    assert_int_equal (wr_strv_length (l.containers), 0);
    assert_int_equal (wr_strv_length (l.netns), 1);
    assert_string_equal (l.netns[0], "warren-crashed");
    assert_int_equal (wr_strv_length (l.cgroups), 1);
    assert_string_equal (l.cgroups[0], "crashed");
    assert_int_equal (wr_strv_length (l.mounts), 2); /* the namespace and the rootfs */
    assert_int_equal (wr_strv_length (l.dirs), 1);
    assert_int_equal (wr_sandbox_leftovers_count (&l), 5);
    wr_sandbox_leftovers_clear (&l);

    assert_int_equal (wr_sandbox_destroy (&host, "crashed", &err), 0);
    assert_null (err);
    assert_int_equal (wr_sandbox_leftovers (&host, &l, &err), 0);
    assert_int_equal (wr_sandbox_leftovers_count (&l), 0);
    wr_sandbox_leftovers_clear (&l);
    assert_int_equal (access (sandbox_dir, F_OK), -1);
    assert_int_equal (access (lower, F_OK), 0); /* the image's root stays */

    assert_int_equal (wr_sandbox_destroy (&host, "crashed", &err), 0);
    assert_int_equal (wr_sandbox_destroy (&host, "never-made", &err), 0);
    assert_int_equal (wr_sandbox_destroy (&host, "../../etc", &err), -1);
    assert_int_equal (wr_error_kind (err), WR_ERROR_INVALID);
    wr_error_free (&err);

    wr_cgroup_remove (parent, NULL);
    wr_remove_tree_at (AT_FDCWD, dir, NULL);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_destroy_partial),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
