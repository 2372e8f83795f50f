/* Network namespaces of sandboxes, made without `ip`: the file is an nsfs
 * mount, loopback is up inside and it is the only interface, a second
 * create of the same name is refused, removal unmounts and unlinks and may
 * be repeated, and listing finds leftovers by prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "path_in_root.h"
#include "sandbox_netns.h"
#include "strv.h"
#include "xalloc.h"
#include "remove_tree.h"

static int
setup (void **state)
{
    char *dir = xstrdup ("/tmp/test_sandbox_netns.XXXXXX");
    if (mkdtemp (dir) == NULL)
        return -1;
    *state = dir;
    return 0;
}

static int
teardown (void **state)
{
    char *dir = *state;
    cleanup_strv char **names = wr_netns_list (dir, "", NULL);
    for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
        cleanup_free char *path = xasprintf ("%s/%s", dir, names[i]);
        wr_netns_remove (path, NULL);
    }
    wr_remove_tree_at (AT_FDCWD, dir, NULL);
    free (dir);
    return 0;
}

/* In a child that joins PATH: 0 when lo is up and is the only interface. */
static int
check_inside (const char *path)
{
    pid_t pid = fork ();
    if (pid == 0) {
        int fd = open (path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns (fd, CLONE_NEWNET) < 0)
            _exit (10);
        struct if_nameindex *ifs = if_nameindex ();
        if (ifs == NULL)
            _exit (11);
        int count = 0;
        for (struct if_nameindex *i = ifs; i->if_index != 0; i++)
            count++;
        if (count != 1 || strcmp (ifs[0].if_name, "lo") != 0)
            _exit (12);
        int s = socket (AF_INET, SOCK_DGRAM, 0);
        struct ifreq ifr = { 0 };
        strcpy (ifr.ifr_name, "lo");
        if (s < 0 || ioctl (s, SIOCGIFFLAGS, &ifr) < 0)
            _exit (13);
        _exit ((ifr.ifr_flags & IFF_UP) ? 0 : 14);
    }
    int status = 0;
    waitpid (pid, &status, 0);
    return WIFEXITED (status) ? WEXITSTATUS (status) : 99;
}

static void
test_create_remove (void **state)
{
    const char *dir = *state;
    cleanup_free char *sub = xasprintf ("%s/netns", dir); /* made by create */
    cleanup_free char *name = wr_netns_name ("0123456789abcdef0123");
    assert_string_equal (name, "warren-0123456789ab");
    cleanup_free char *path = NULL;
    wr_error_t err = NULL;
    assert_int_equal (wr_netns_create (sub, name, &path, &err), 0);
    assert_null (err);
    assert_true (wr_netns_is_mounted (path));
    assert_int_equal (check_inside (path), 0);

    /* It is not ours: the test process's namespace differs. */
    struct stat a, b;
    assert_int_equal (stat (path, &a), 0);
    assert_int_equal (stat ("/proc/self/ns/net", &b), 0);
    assert_false (a.st_ino == b.st_ino && a.st_dev == b.st_dev);

    assert_int_equal (wr_netns_create (sub, name, NULL, &err), -1);
    assert_int_equal (wr_error_kind (err), WR_ERROR_EXISTS);
    assert_non_null (strstr (err->message, name));
    wr_error_free (&err);
    assert_true (wr_netns_is_mounted (path)); /* the refusal touched nothing */

    cleanup_strv char **names = wr_netns_list (sub, NULL, &err);
    assert_non_null (names);
    assert_int_equal (wr_strv_length (names), 1);
    assert_string_equal (names[0], name);

    assert_int_equal (wr_netns_remove (path, &err), 0);
    assert_false (wr_netns_is_mounted (path));
    assert_int_equal (access (path, F_OK), -1);
    assert_int_equal (wr_netns_remove (path, &err), 0); /* again: nothing to do */
    cleanup_strv char **after = wr_netns_list (sub, NULL, &err);
    assert_int_equal (wr_strv_length (after), 0);
}

static void
test_list_by_prefix (void **state)
{
    const char *dir = *state;
    wr_error_t err = NULL;
    assert_int_equal (wr_netns_create (dir, "warren-b", NULL, &err), 0);
    assert_int_equal (wr_netns_create (dir, "warren-a", NULL, &err), 0);
    assert_int_equal (wr_netns_create (dir, "other", NULL, &err), 0);
    cleanup_strv char **names = wr_netns_list (dir, NULL, &err);
    assert_int_equal (wr_strv_length (names), 2);
    assert_string_equal (names[0], "warren-a");
    assert_string_equal (names[1], "warren-b");
    cleanup_free char *missing = xasprintf ("%s/none", dir);
    cleanup_strv char **none = wr_netns_list (missing, NULL, &err);
    assert_non_null (none);
    assert_int_equal (wr_strv_length (none), 0);
}

static void
test_bad_names (void **state)
{
    const char *dir = *state;
    const char *bad[] = { "", ".", "..", "a/b", NULL };
    for (size_t i = 0; bad[i] != NULL; i++) {
        wr_error_t err = NULL;
        assert_int_equal (wr_netns_create (dir, bad[i], NULL, &err), -1);
        assert_int_equal (wr_error_kind (err), WR_ERROR_INVALID);
        wr_error_free (&err);
    }
    /* A plain file is not a namespace: remove just unlinks it. */
    cleanup_free char *plain = xasprintf ("%s/warren-plain", dir);
    int fd = open (plain, O_WRONLY | O_CREAT, 0644);
    assert_true (fd >= 0);
    close (fd);
    assert_false (wr_netns_is_mounted (plain));
    assert_int_equal (wr_netns_remove (plain, NULL), 0);
    assert_int_equal (access (plain, F_OK), -1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_create_remove, setup, teardown),
        cmocka_unit_test_setup_teardown (test_list_by_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown (test_bad_names, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
