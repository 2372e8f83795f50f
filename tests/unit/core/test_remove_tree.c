/* Unit tests of remove_tree.c: a tree deeper than the descriptors a
 * process may hold, symlinks removed and never followed, a missing name,
 * a file, and a stop asked for midway. */
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
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "remove_tree.h"
#include "xalloc.h"

static char top[] = "/tmp/warren-test-remove-XXXXXX";

static int
setup (void **state)
{
    assert_non_null (mkdtemp (top));
    return 0;
}

static int
teardown (void **state)
{
    cleanup_free char *cmd = xasprintf ("rm -rf '%s'", top);
    assert_int_equal (system (cmd), 0);
    return 0;
}

/* A chain of DEPTH directories under TOP/NAME, each with a file. */
static void
make_deep (const char *name, int depth)
{
    int dir = open (top, O_RDONLY | O_DIRECTORY);
    assert_true (dir >= 0);
    for (int i = 0; i < depth; i++) {
        const char *n = i == 0 ? name : "d";
        assert_int_equal (mkdirat (dir, n, 0755), 0);
        int next = openat (dir, n, O_RDONLY | O_DIRECTORY);
        assert_true (next >= 0);
        close (dir);
        dir = next;
        int f = openat (dir, "f", O_WRONLY | O_CREAT, 0644);
        assert_true (f >= 0);
        close (f);
    }
    close (dir);
}

static void
test_deeper_than_the_descriptors (void **state)
{
    make_deep ("deep", 3000);
    struct rlimit old;
    assert_int_equal (getrlimit (RLIMIT_NOFILE, &old), 0);
    struct rlimit low = { 64, old.rlim_max };
    assert_int_equal (setrlimit (RLIMIT_NOFILE, &low), 0);
    cleanup_error wr_error_t err = NULL;
    int dir = open (top, O_RDONLY | O_DIRECTORY);
    int r = wr_remove_tree_at (dir, "deep", &err);
    close (dir);
    assert_int_equal (setrlimit (RLIMIT_NOFILE, &old), 0);
    if (r < 0)
        fail_msg ("%s", err->message);
    cleanup_free char *path = xasprintf ("%s/deep", top);
    assert_int_equal (access (path, F_OK), -1);
}

static void
test_symlinks_not_followed (void **state)
{
    cleanup_free char *outside = xasprintf ("%s/outside", top);
    cleanup_free char *keep = xasprintf ("%s/outside/keep", top);
    cleanup_free char *tree = xasprintf ("%s/tree", top);
    cleanup_free char *link = xasprintf ("%s/tree/link", top);
    assert_int_equal (mkdir (outside, 0755), 0);
    FILE *f = fopen (keep, "w");
    assert_non_null (f);
    fclose (f);
    assert_int_equal (mkdir (tree, 0755), 0);
    assert_int_equal (symlink (outside, link), 0);
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_remove_tree_at (AT_FDCWD, tree, &err), 0);
    assert_int_equal (access (tree, F_OK), -1);
    assert_int_equal (access (keep, F_OK), 0);
    /* A symlink given itself is removed, its target kept. */
    cleanup_free char *alink = xasprintf ("%s/alink", top);
    assert_int_equal (symlink (outside, alink), 0);
    assert_int_equal (wr_remove_tree_at (AT_FDCWD, alink, &err), 0);
    assert_int_equal (access (keep, F_OK), 0);
    /* Missing is not an error; a file is just removed. */
    assert_int_equal (wr_remove_tree_at (AT_FDCWD, alink, &err), 0);
    assert_int_equal (wr_remove_tree_at (AT_FDCWD, keep, &err), 0);
    assert_int_equal (access (keep, F_OK), -1);
}

static int calls;

static bool
stop_at_second_call (void *data)
{
    return ++calls >= 2;
}

static void
test_stop (void **state)
{
    make_deep ("stopped", 500);
    cleanup_free char *path = xasprintf ("%s/stopped", top);
    calls = 0;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_remove_tree_at_ex (AT_FDCWD, path, stop_at_second_call, NULL, &err), -1);
    assert_int_equal (wr_error_kind (err), WR_ERROR_CANCELLED);
    assert_int_equal (err->errno_value, ECANCELED);
    assert_non_null (strstr (err->message, path));
    /* Partly removed; the rest goes on a second try. */
    assert_int_equal (access (path, F_OK), 0);
    wr_error_free (&err);
    assert_int_equal (wr_remove_tree_at (AT_FDCWD, path, &err), 0);
    assert_int_equal (access (path, F_OK), -1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_deeper_than_the_descriptors),
        cmocka_unit_test (test_symlinks_not_followed),
        cmocka_unit_test (test_stop),
    };
    return cmocka_run_group_tests (tests, setup, teardown);
}
