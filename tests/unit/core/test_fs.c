/* Unit tests of fs.c: mkdir -p, write_all, is_directory and whole-file
 * reads, and errors that name the path. */
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
#include "fs.h"
#include "xalloc.h"

static int
make_dir (void **state)
{
    char tmpl[] = "/tmp/warren-test-fs-XXXXXX";
    assert_non_null (mkdtemp (tmpl));
    *state = xstrdup (tmpl);
    return 0;
}

static int
remove_dir (void **state)
{
    cleanup_free char *cmd = xasprintf ("rm -rf '%s'", (char *) *state);
    assert_int_equal (system (cmd), 0);
    free (*state);
    return 0;
}

static void
test_mkdir_p_makes_parents (void **state)
{
    const char *dir = *state;
    cleanup_free char *deep = xasprintf ("%s/a/b//c/", dir);
    assert_int_equal (wr_mkdir_p (deep, 0700, NULL), 0);
    cleanup_free char *c = xasprintf ("%s/a/b/c", dir);
    cleanup_free char *a = xasprintf ("%s/a", dir);
    struct stat st;
    assert_int_equal (stat (c, &st), 0);
    assert_true (S_ISDIR (st.st_mode));
    assert_int_equal (st.st_mode & 0777, 0700);
    assert_int_equal (stat (a, &st), 0);
    assert_int_equal (st.st_mode & 0777, 0755 & ~(mode_t) 022);
    /* Again: it is there. */
    assert_int_equal (wr_mkdir_p (deep, 0700, NULL), 0);
    assert_true (wr_is_directory (c));
}

static void
test_mkdir_p_through_a_file (void **state)
{
    const char *dir = *state;
    cleanup_free char *file = xasprintf ("%s/file", dir);
    cleanup_close int fd = open (file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    assert_true (fd >= 0);
    cleanup_free char *below = xasprintf ("%s/file/sub/dir", dir);
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_mkdir_p (below, 0755, &err), -1);
    assert_int_equal (err->errno_value, ENOTDIR);
    assert_non_null (strstr (err->message, file));
    wr_error_free (&err);
    /* The file itself is no directory either. */
    assert_int_equal (wr_mkdir_p (file, 0755, &err), -1);
    assert_int_equal (err->errno_value, ENOTDIR);
    cleanup_free char *want = xasprintf ("create directory `%s`: %s", file, strerror (ENOTDIR));
    assert_string_equal (err->message, want);
    assert_false (wr_is_directory (file));
    assert_false (wr_is_directory (NULL));
    assert_false (wr_is_directory (below));
}

static void
test_write_all_to_a_full_device (void **state)
{
    cleanup_close int fd = open ("/dev/full", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        skip ();
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_write_all (fd, "data", 4, "/dev/full", &err), -1);
    assert_int_equal (err->errno_value, ENOSPC);
    assert_int_equal (wr_error_kind (err), WR_ERROR_LIMIT);
    cleanup_free char *want = xasprintf ("write `/dev/full`: %s", strerror (ENOSPC));
    assert_string_equal (err->message, want);
}

static void
test_write_all_and_read_file (void **state)
{
    const char *dir = *state;
    cleanup_free char *path = xasprintf ("%s/data", dir);
    size_t size = 100000;
    cleanup_free char *data = xmalloc (size);
    for (size_t i = 0; i < size; i++)
        data[i] = (char) ('a' + i % 26);
    {
        cleanup_close int fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true (fd >= 0);
        assert_int_equal (wr_write_all (fd, data, size, path, NULL), 0);
    }
    size_t len = 0;
    cleanup_free char *back = wr_read_file (path, size, &len, NULL);
    assert_non_null (back);
    assert_int_equal (len, size);
    assert_memory_equal (back, data, size);
    assert_int_equal (back[len], '\0');

    cleanup_error wr_error_t err = NULL;
    assert_null (wr_read_file (path, size - 1, &len, &err));
    assert_int_equal (wr_error_kind (err), WR_ERROR_LIMIT);
    cleanup_free char *want = xasprintf ("read `%s`: larger than %zu bytes", path, size - 1);
    assert_string_equal (err->message, want);
}

static void
test_read_file_errors_name_the_path (void **state)
{
    cleanup_error wr_error_t err = NULL;
    assert_null (wr_read_file ("/nonexistent/warren", SIZE_MAX, NULL, &err));
    assert_int_equal (err->errno_value, ENOENT);
    assert_int_equal (wr_error_kind (err), WR_ERROR_NOT_FOUND);
    assert_non_null (strstr (err->message, "`/nonexistent/warren`"));
    wr_error_free (&err);
    /* A directory opens but does not read. */
    assert_null (wr_read_file ("/", SIZE_MAX, NULL, &err));
    assert_int_equal (err->errno_value, EISDIR);
    assert_string_equal (err->message, "read `/`: Is a directory");
    /* /proc files say size 0: read to the end anyway. */
    size_t len = 0;
    cleanup_free char *text = wr_read_file ("/proc/self/mountinfo", SIZE_MAX, &len, NULL);
    assert_non_null (text);
    assert_true (len > 0);
    assert_int_equal (strlen (text), len);
    /* An empty file is an empty string. */
    cleanup_free char *empty = wr_read_file ("/dev/null", 0, &len, NULL);
    assert_non_null (empty);
    assert_int_equal (len, 0);
}

int
main (void)
{
    umask (022);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_mkdir_p_makes_parents, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown (test_mkdir_p_through_a_file, make_dir, remove_dir),
        cmocka_unit_test (test_write_all_to_a_full_device),
        cmocka_unit_test_setup_teardown (test_write_all_and_read_file, make_dir, remove_dir),
        cmocka_unit_test (test_read_file_errors_name_the_path),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
