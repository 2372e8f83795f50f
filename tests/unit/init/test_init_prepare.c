/* Unit tests of warren-init's docker_prepare.c: mountinfo parsing, the
 * choice of what to mount for cgroups, and the switch to legacy iptables
 * (on a directory tree that mimics Debian's and Alpine's). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "docker_prepare.h"
#include "xalloc.h"

/* What runsc 20240729 shows in a fresh sandbox (measured). */
static const char gvisor_filesystems[] = "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\n\toverlay\n"
                                         "nodev\tcgroup\nnodev\tdevpts\nnodev\tmqueue\n";
static const char gvisor_cgroups[] = "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
                                     "cpu\t1\t1\t1\ncpuacct\t2\t1\t1\ncpuset\t3\t1\t1\n"
                                     "devices\t4\t1\t1\njob\t5\t1\t1\nmemory\t6\t1\t1\n"
                                     "pids\t7\t1\t1\n";
static const char gvisor_mountinfo[] =
    "18 17 0:19 / / rw - overlay none rw\n"
    "20 18 0:20 / /dev rw - tmpfs none rw,mode=0755\n"
    "21 18 0:21 / /sys ro,noexec - sysfs none ro,dentry_cache_limit=1000\n"
    "22 18 0:22 / /proc rw - proc none rw,dentry_cache_limit=1000\n"
    "23 20 0:23 / /dev/pts rw - devpts none rw\n";

/* A Linux host on cgroup v2 where the container got a read-only cgroup2. */
static const char linux_filesystems[] = "nodev\tsysfs\nnodev\tcgroup\nnodev\tcgroup2\n\text4\n";
static const char linux_cgroups[] = "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
                                    "cpuset\t0\t80\t1\ncpu\t0\t80\t1\ncpuacct\t0\t80\t1\n"
                                    "devices\t0\t80\t1\nmemory\t0\t80\t1\npids\t0\t80\t1\n";

static void
parse_mounts (const char *text, mount_table_t *table)
{
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (mount_table_parse (text, table, &err), 0);
}

static void
test_mountinfo_parse (void **state)
{
    mount_table_t table;
    parse_mounts ("36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 - ext3 /dev/root "
                  "rw,errors=continue\n"
                  "40 18 0:30 / /sys/fs/cgroup/devices rw,nosuid - cgroup devices rw,devices\n"
                  "41 18 0:31 / /x rw - tmpfs none\n",
                  &table);
    assert_int_equal (table.n, 3);
    assert_string_equal (table.entries[0].mount_point, "/mnt/with space");
    assert_string_equal (table.entries[0].mount_options, "rw,noatime");
    assert_string_equal (table.entries[0].fs_type, "ext3");
    assert_string_equal (table.entries[0].super_options, "rw,errors=continue");
    assert_string_equal (table.entries[1].super_options, "rw,devices");
    /* A line without super options still parses. */
    assert_string_equal (table.entries[2].super_options, "");
    assert_non_null (mount_table_find (&table, "/x"));
    assert_null (mount_table_find (&table, "/sys/fs/cgroup"));
    mount_table_free (&table);
}

static void
test_mountinfo_find_takes_the_top_mount (void **state)
{
    mount_table_t table;
    parse_mounts ("1 0 0:1 / /a rw - ext4 /dev/x rw\n2 1 0:2 / /a rw - tmpfs none rw\n", &table);
    assert_string_equal (mount_table_find (&table, "/a")->fs_type, "tmpfs");
    mount_table_free (&table);
}

static void
test_mountinfo_malformed (void **state)
{
    mount_table_t table;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (mount_table_parse ("1 0 0:1 / /a rw\n", &table, &err), -1);
    assert_non_null (strstr (err->message, "line 1"));
    wr_error_free (&err);
    assert_int_equal (
        mount_table_parse ("1 0 0:1 / /a rw - ext4 x rw\n2 0 / /b rw -\n", &table, &err), -1);
    assert_non_null (strstr (err->message, "line 2"));
}

static void
test_mount_options_have (void **state)
{
    assert_true (mount_options_have ("rw,devices", "devices"));
    assert_true (mount_options_have ("ro", "ro"));
    assert_false (mount_options_have ("rw,cpuacct", "cpu"));
    assert_false (mount_options_have ("rw,nosuid", "ro"));
    assert_false (mount_options_have ("", "ro"));
}

static void
assert_controllers (const cgroup_plan_t *plan, const char *expected)
{
    char joined[256] = "";
    for (size_t i = 0; plan->controllers[i]; i++) {
        if (i)
            strcat (joined, ",");
        strcat (joined, plan->controllers[i]);
    }
    assert_string_equal (joined, expected);
}

static void
plan_for (cgroups_mode_t mode, const char *filesystems, const char *cgroups, const char *mountinfo,
          cgroup_plan_t *plan)
{
    mount_table_t table;
    parse_mounts (mountinfo, &table);
    cleanup_error wr_error_t err = NULL;
    int r = cgroup_plan_make (mode, filesystems, cgroups, &table, plan, &err);
    if (r < 0)
        fail_msg ("cgroup_plan_make: %s", err->message);
    mount_table_free (&table);
}

static void
test_cgroups_fresh_gvisor_sandbox (void **state)
{
    cgroup_plan_t plan;
    plan_for (CGROUPS_AUTO, gvisor_filesystems, gvisor_cgroups, gvisor_mountinfo, &plan);
    assert_int_equal (plan.version, CGROUPS_V1);
    assert_true (plan.mount_tmpfs);
    /* gVisor's own "job" controller is not one dockerd uses. */
    assert_controllers (&plan, "devices,memory,cpu,cpuacct,cpuset,pids");
}

static void
test_cgroups_already_mounted (void **state)
{
    char mounts[4096];
    snprintf (mounts, sizeof mounts,
              "%s30 21 0:30 / /sys/fs/cgroup rw - tmpfs none rw\n"
              "31 30 0:31 / /sys/fs/cgroup/devices rw - cgroup devices rw,devices\n"
              "32 30 0:32 / /sys/fs/cgroup/memory rw - cgroup memory rw,memory\n"
              "33 30 0:33 / /sys/fs/cgroup/cpu rw - cgroup cpu rw,cpu\n"
              "34 30 0:34 / /sys/fs/cgroup/cpuacct rw - cgroup cpuacct rw,cpuacct\n"
              "35 30 0:35 / /sys/fs/cgroup/cpuset rw - cgroup cpuset rw,cpuset\n"
              "36 30 0:36 / /sys/fs/cgroup/pids rw - cgroup pids rw,pids\n",
              gvisor_mountinfo);
    cgroup_plan_t plan;
    plan_for (CGROUPS_AUTO, gvisor_filesystems, gvisor_cgroups, mounts, &plan);
    assert_int_equal (plan.version, CGROUPS_NONE);
    assert_non_null (strstr (plan.reason, "already mounted"));
}

static void
test_cgroups_partly_mounted (void **state)
{
    /* A second run after the first stopped half way: only what is missing. */
    char mounts[4096];
    snprintf (mounts, sizeof mounts,
              "%s30 21 0:30 / /sys/fs/cgroup rw - tmpfs none rw\n"
              "31 30 0:31 / /sys/fs/cgroup/devices rw - cgroup devices rw,devices\n"
              "32 30 0:32 / /sys/fs/cgroup/memory rw - cgroup memory rw,memory\n",
              gvisor_mountinfo);
    cgroup_plan_t plan;
    plan_for (CGROUPS_AUTO, gvisor_filesystems, gvisor_cgroups, mounts, &plan);
    assert_int_equal (plan.version, CGROUPS_V1);
    assert_false (plan.mount_tmpfs);
    assert_controllers (&plan, "cpu,cpuacct,cpuset,pids");
}

static void
test_cgroups_mount_from_the_spec (void **state)
{
    /* What runsc 20240729 makes of Docker's read-only cgroup mount in the
     * spec (measured): a read-only tmpfs with a writable mount of each
     * controller, rooted at the container's cgroup.  dockerd works with
     * it, so nothing is mounted. */
    char mounts[4096];
    snprintf (mounts, sizeof mounts,
              "%s25 21 0:26 / /sys/fs/cgroup ro,noexec - tmpfs none ro\n"
              "26 25 0:9 /c1 /sys/fs/cgroup/cpu rw - cgroup none rw,cpu\n"
              "27 25 0:10 /c1 /sys/fs/cgroup/cpuacct rw - cgroup none rw,cpuacct\n"
              "28 25 0:11 /c1 /sys/fs/cgroup/cpuset rw - cgroup none rw,cpuset\n"
              "29 25 0:12 /c1 /sys/fs/cgroup/devices rw - cgroup none rw,devices\n"
              "30 25 0:13 /c1 /sys/fs/cgroup/job rw - cgroup none rw,job\n"
              "31 25 0:14 /c1 /sys/fs/cgroup/memory rw - cgroup none rw,memory\n"
              "32 25 0:15 /c1 /sys/fs/cgroup/pids rw - cgroup none rw,pids\n",
              gvisor_mountinfo);
    cgroup_plan_t plan;
    plan_for (CGROUPS_AUTO, gvisor_filesystems, gvisor_cgroups, mounts, &plan);
    assert_int_equal (plan.version, CGROUPS_NONE);
    assert_non_null (strstr (plan.reason, "already mounted"));
}

static void
test_cgroups_read_only_combined_mount (void **state)
{
    /* A read-only hierarchy on /sys/fs/cgroup (as a runtime other than
     * runsc may mount it): dockerd cannot use it, so a tmpfs goes over it. */
    char mounts[4096];
    snprintf (mounts, sizeof mounts,
              "%s30 21 0:30 / /sys/fs/cgroup ro,nosuid - cgroup cgroup "
              "ro,cpu,cpuacct,cpuset,devices,job,memory,pids\n",
              gvisor_mountinfo);
    cgroup_plan_t plan;
    plan_for (CGROUPS_AUTO, gvisor_filesystems, gvisor_cgroups, mounts, &plan);
    assert_int_equal (plan.version, CGROUPS_V1);
    assert_true (plan.mount_tmpfs);
    assert_controllers (&plan, "devices,memory,cpu,cpuacct,cpuset,pids");
}

static void
test_cgroups_linux_v2 (void **state)
{
    cgroup_plan_t plan;
    /* A writable cgroup2 is used as it is. */
    plan_for (CGROUPS_AUTO, linux_filesystems, linux_cgroups,
              "1 0 0:1 / / rw - ext4 /dev/x rw\n"
              "2 1 0:2 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n",
              &plan);
    assert_int_equal (plan.version, CGROUPS_NONE);
    assert_non_null (strstr (plan.reason, "cgroup2"));
    /* A read-only one: controllers sit at hierarchy 0 (cgroup2), so v2. */
    plan_for (CGROUPS_AUTO, linux_filesystems, linux_cgroups,
              "1 0 0:1 / / rw - ext4 /dev/x rw\n"
              "2 1 0:2 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw\n",
              &plan);
    assert_int_equal (plan.version, CGROUPS_V2);
}

static void
test_cgroups_requested_versions (void **state)
{
    cgroup_plan_t plan;
    plan_for (CGROUPS_NONE, gvisor_filesystems, gvisor_cgroups, gvisor_mountinfo, &plan);
    assert_int_equal (plan.version, CGROUPS_NONE);
    plan_for (CGROUPS_V1, linux_filesystems, linux_cgroups, "1 0 0:1 / / rw - ext4 x rw\n", &plan);
    assert_int_equal (plan.version, CGROUPS_V1);

    mount_table_t table;
    parse_mounts (gvisor_mountinfo, &table);
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (
        cgroup_plan_make (CGROUPS_V2, gvisor_filesystems, gvisor_cgroups, &table, &plan, &err), -1);
    assert_non_null (strstr (err->message, "no `cgroup2`"));
    wr_error_free (&err);
    assert_int_equal (cgroup_plan_make (CGROUPS_V1, "nodev\ttmpfs\n", NULL, &table, &plan, &err),
                      -1);
    assert_non_null (strstr (err->message, "no `cgroup`"));
    wr_error_free (&err);
    /* Nothing at all: not an error in auto mode, dockerd will say more. */
    assert_int_equal (cgroup_plan_make (CGROUPS_AUTO, "nodev\ttmpfs\n", NULL, &table, &plan, &err),
                      0);
    assert_int_equal (plan.version, CGROUPS_NONE);
    assert_non_null (strstr (plan.reason, "no cgroup filesystem"));
    mount_table_free (&table);
}

static void
test_meminfo (void **state)
{
    assert_true (meminfo_total_bytes ("MemTotal:        2048 kB\nMemFree: 1 kB\n") == 2048 * 1024);
    assert_true (meminfo_total_bytes ("MemFree: 1 kB\n") == 0);
    assert_true (meminfo_total_bytes (NULL) == 0);
}

/* --- iptables, on a fake root --- */

static char root[64];

static void
make_link (const char *target, const char *path)
{
    cleanup_free char *full = xasprintf ("%s%s", root, path);
    if (symlink (target, full) < 0)
        fail_msg ("symlink %s -> %s: %s", full, target, strerror (errno));
}

static void
make_file (const char *path)
{
    cleanup_free char *full = xasprintf ("%s%s", root, path);
    FILE *f = fopen (full, "w");
    assert_non_null (f);
    fclose (f);
    chmod (full, 0755);
}

static char *
link_of (const char *path)
{
    cleanup_free char *full = xasprintf ("%s%s", root, path);
    char target[PATH_MAX];
    ssize_t n = readlink (full, target, sizeof target - 1);
    if (n < 0)
        return NULL;
    target[n] = '\0';
    return xstrdup (target);
}

static int
make_root (void **state)
{
    snprintf (root, sizeof root, "/tmp/warren-init-root-XXXXXX");
    assert_non_null (mkdtemp (root));
    const char *dirs[] = { "/usr", "/usr/sbin", "/etc", "/etc/alternatives", "/sbin" };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        cleanup_free char *d = xasprintf ("%s%s", root, dirs[i]);
        mkdir (d, 0755);
    }
    return 0;
}

static int
remove_root (void **state)
{
    cleanup_free char *cmd = xasprintf ("rm -rf '%s'", root);
    return system (cmd) == 0 ? 0 : -1;
}

static void
test_iptables_debian (void **state)
{
    /* Debian 12: /usr/sbin/iptables -> /etc/alternatives/iptables ->
     * /usr/sbin/iptables-nft -> xtables-nft-multi. */
    make_file ("/usr/sbin/xtables-nft-multi");
    make_file ("/usr/sbin/xtables-legacy-multi");
    const char *names[] = { "iptables", "iptables-save", "ip6tables" };
    const char *legacy[] = { "iptables-legacy", "iptables-legacy-save", "ip6tables-legacy" };
    const char *nft[] = { "iptables-nft", "iptables-nft-save", "ip6tables-nft" };
    for (size_t i = 0; i < 3; i++) {
        cleanup_free char *alt = xasprintf ("/etc/alternatives/%s", names[i]);
        cleanup_free char *sbin = xasprintf ("/usr/sbin/%s", names[i]);
        cleanup_free char *nft_path = xasprintf ("/usr/sbin/%s", nft[i]);
        cleanup_free char *legacy_path = xasprintf ("/usr/sbin/%s", legacy[i]);
        make_link (alt, sbin);
        make_link (nft_path, alt);
        make_link ("xtables-nft-multi", nft_path);
        make_link ("xtables-legacy-multi", legacy_path);
    }
    /* dpkg's record of the iptables alternative (ip6tables has none). */
    cleanup_free char *dpkg_dir = xasprintf ("%s/var/lib/dpkg/alternatives", root);
    cleanup_free char *mk = xasprintf ("mkdir -p '%s'", dpkg_dir);
    assert_int_equal (system (mk), 0);
    const char *record_rest = "/usr/sbin/iptables\n\n/usr/sbin/iptables-legacy\n10\n"
                              "/usr/sbin/iptables-nft\n20\n\n";
    cleanup_free char *record = xasprintf ("%s/iptables", dpkg_dir);
    FILE *rf = fopen (record, "w");
    assert_non_null (rf);
    fprintf (rf, "auto\n%s", record_rest);
    fclose (rf);
    int switched = -1;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (iptables_select_legacy (root, &switched, &err), 0);
    assert_int_equal (switched, 3);
    /* Marked manual, the rest kept, as update-alternatives --set does. */
    char got[512] = "";
    rf = fopen (record, "r");
    assert_non_null (rf);
    size_t got_len = fread (got, 1, sizeof got - 1, rf);
    fclose (rf);
    got[got_len] = '\0';
    cleanup_free char *want = xasprintf ("manual\n%s", record_rest);
    assert_string_equal (got, want);
    cleanup_free char *a = link_of ("/etc/alternatives/iptables");
    cleanup_free char *b = link_of ("/etc/alternatives/iptables-save");
    cleanup_free char *c = link_of ("/etc/alternatives/ip6tables");
    assert_string_equal (a, "/usr/sbin/iptables-legacy");
    assert_string_equal (b, "/usr/sbin/iptables-legacy-save");
    assert_string_equal (c, "/usr/sbin/ip6tables-legacy");
    /* The nft variant itself is left alone. */
    cleanup_free char *d = link_of ("/usr/sbin/iptables-nft");
    assert_string_equal (d, "xtables-nft-multi");
    /* A second run changes nothing. */
    assert_int_equal (iptables_select_legacy (root, &switched, &err), 0);
    assert_int_equal (switched, 0);
}

static void
test_iptables_alpine (void **state)
{
    /* Alpine: /sbin/iptables -> xtables-nft-multi directly. */
    make_file ("/sbin/xtables-nft-multi");
    make_file ("/sbin/xtables-legacy-multi");
    make_link ("xtables-nft-multi", "/sbin/iptables");
    make_link ("xtables-legacy-multi", "/sbin/iptables-legacy");
    int switched = -1;
    assert_int_equal (iptables_select_legacy (root, &switched, NULL), 0);
    assert_int_equal (switched, 1);
    cleanup_free char *a = link_of ("/sbin/iptables");
    assert_string_equal (a, "/sbin/iptables-legacy");
}

static void
test_iptables_without_legacy_or_already_legacy (void **state)
{
    /* No legacy variant installed: nothing to switch to. */
    make_file ("/usr/sbin/xtables-nft-multi");
    make_link ("xtables-nft-multi", "/usr/sbin/iptables");
    /* Already legacy. */
    make_file ("/usr/sbin/xtables-legacy-multi");
    make_link ("/etc/alternatives/ip6tables", "/usr/sbin/ip6tables");
    make_link ("/usr/sbin/ip6tables-legacy", "/etc/alternatives/ip6tables");
    make_link ("xtables-legacy-multi", "/usr/sbin/ip6tables-legacy");
    int switched = -1;
    assert_int_equal (iptables_select_legacy (root, &switched, NULL), 0);
    assert_int_equal (switched, 0);
    cleanup_free char *a = link_of ("/usr/sbin/iptables");
    assert_string_equal (a, "xtables-nft-multi");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_mountinfo_parse),
        cmocka_unit_test (test_mountinfo_find_takes_the_top_mount),
        cmocka_unit_test (test_mountinfo_malformed),
        cmocka_unit_test (test_mount_options_have),
        cmocka_unit_test (test_cgroups_fresh_gvisor_sandbox),
        cmocka_unit_test (test_cgroups_already_mounted),
        cmocka_unit_test (test_cgroups_partly_mounted),
        cmocka_unit_test (test_cgroups_mount_from_the_spec),
        cmocka_unit_test (test_cgroups_read_only_combined_mount),
        cmocka_unit_test (test_cgroups_linux_v2),
        cmocka_unit_test (test_cgroups_requested_versions),
        cmocka_unit_test (test_meminfo),
        cmocka_unit_test_setup_teardown (test_iptables_debian, make_root, remove_root),
        cmocka_unit_test_setup_teardown (test_iptables_alpine, make_root, remove_root),
        cmocka_unit_test_setup_teardown (test_iptables_without_legacy_or_already_legacy, make_root,
                                         remove_root),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
