/* Unit tests of path_in_root.c: lookups that stay inside a root, and
 * failures that name the path looked up with a kind callers can test. */
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
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "path_in_root.h"
#include "xalloc.h"

typedef struct {
    char *dir;
    int root_fd;
} fixture_t;

static int
setup (void **state)
{
    fixture_t *f = xzalloc (sizeof *f);
    char tmpl[] = "/tmp/warren-test-path-XXXXXX";
    assert_non_null (mkdtemp (tmpl));
    f->dir = xstrdup (tmpl);
    cleanup_free char *root = xasprintf ("%s/root", f->dir);
    assert_int_equal (mkdir (root, 0755), 0);
    f->root_fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true (f->root_fd >= 0);
    assert_int_equal (mkdirat (f->root_fd, "etc", 0755), 0);
    int fd = openat (f->root_fd, "etc/passwd", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    assert_true (fd >= 0);
    close (fd);
    /* A symlink that points out of the root: resolved inside it. */
    assert_int_equal (symlinkat ("/../../..", f->root_fd, "escape"), 0);
    *state = f;
    return 0;
}

static int
teardown (void **state)
{
    fixture_t *f = *state;
    close (f->root_fd);
    cleanup_free char *cmd = xasprintf ("rm -rf '%s'", f->dir);
    assert_int_equal (system (cmd), 0);
    free (f->dir);
    free (f);
    return 0;
}

static void
test_open_in_root_resolves_inside (void **state)
{
    fixture_t *f = *state;
    cleanup_close int fd = wr_open_in_root (f->root_fd, "etc/passwd", O_RDONLY, 0, NULL);
    assert_true (fd >= 0);
    /* "escape/etc/passwd" is the root's own etc/passwd, not the host's. */
    cleanup_close int through =
        wr_open_in_root (f->root_fd, "escape/etc/passwd", O_RDONLY, 0, NULL);
    assert_true (through >= 0);
    struct stat a, b;
    assert_int_equal (fstat (fd, &a), 0);
    assert_int_equal (fstat (through, &b), 0);
    assert_int_equal (a.st_ino, b.st_ino);
    cleanup_close int root = wr_open_in_root (f->root_fd, "", O_RDONLY | O_DIRECTORY, 0, NULL);
    assert_true (root >= 0);
}

static void
test_open_in_root_failures_name_the_path (void **state)
{
    fixture_t *f = *state;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_open_in_root (f->root_fd, "etc/shadow", O_RDONLY, 0, &err), -1);
    assert_int_equal (err->errno_value, ENOENT);
    assert_int_equal (wr_error_kind (err), WR_ERROR_NOT_FOUND);
    assert_string_equal (err->message,
                         "open `/etc/shadow` inside the root: No such file or directory");
    wr_error_free (&err);

    /* Through a file: no such path either. */
    assert_int_equal (wr_open_in_root (f->root_fd, "etc/passwd/x", O_RDONLY, 0, &err), -1);
    assert_int_equal (err->errno_value, ENOTDIR);
    assert_int_equal (wr_error_kind (err), WR_ERROR_NOT_FOUND);
    assert_non_null (strstr (err->message, "`/etc/passwd/x`"));
    wr_error_free (&err);

    /* Exists: kind exists. */
    assert_int_equal (
        wr_open_in_root (f->root_fd, "etc/passwd", O_WRONLY | O_CREAT | O_EXCL, 0600, &err), -1);
    assert_int_equal (wr_error_kind (err), WR_ERROR_EXISTS);
    assert_non_null (strstr (err->message, "`/etc/passwd`"));
    wr_error_free (&err);

    /* The root itself is named "/". */
    assert_int_equal (wr_open_in_root (f->root_fd, "", O_WRONLY, 0, &err), -1);
    assert_int_equal (err->errno_value, EISDIR);
    assert_string_equal (err->message, "open `/` inside the root: Is a directory");
}

static void
test_open_parent_in_root (void **state)
{
    fixture_t *f = *state;
    const char *base = NULL;
    cleanup_close int fd = wr_open_parent_in_root (f->root_fd, "a/b/c", true, &base, NULL);
    assert_true (fd >= 0);
    assert_string_equal (base, "c");
    struct stat st;
    assert_int_equal (fstatat (f->root_fd, "a/b", &st, 0), 0);
    assert_true (S_ISDIR (st.st_mode));

    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_open_parent_in_root (f->root_fd, "x/y/z", false, &base, &err), -1);
    assert_int_equal (wr_error_kind (err), WR_ERROR_NOT_FOUND);
    assert_string_equal (err->message, "open `/x/y` inside the root: No such file or directory");
    wr_error_free (&err);

    /* Making a directory through a file fails, naming the path. */
    assert_int_equal (wr_open_parent_in_root (f->root_fd, "etc/passwd/sub/f", true, &base, &err),
                      -1);
    assert_int_equal (err->errno_value, ENOTDIR);
    assert_non_null (strstr (err->message, "`/etc/passwd/sub`"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_open_in_root_resolves_inside, setup, teardown),
        cmocka_unit_test_setup_teardown (test_open_in_root_failures_name_the_path, setup, teardown),
        cmocka_unit_test_setup_teardown (test_open_parent_in_root, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
