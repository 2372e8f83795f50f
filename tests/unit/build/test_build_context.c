/* Build contexts (build_context.h): an archive kept unpacked under its
 * digest, the same archive twice unpacked once, a context found by its
 * digest (not a digest, never uploaded: refused), a hostile archive
 * refused with nothing left, and unused contexts swept. */
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

#include "build_context.h"
#include "cleanup.h"
#include "remove_tree.h"
#include "xalloc.h"

typedef struct {
    char *dir; /* the test's directory */
    char *contexts; /* DIR/contexts */
} fixture_t;

static int
setup (void **state)
{
    fixture_t *f = xzalloc (sizeof *f);
    f->dir = xstrdup ("/tmp/test_build_context.XXXXXX");
    if (mkdtemp (f->dir) == NULL)
        return -1;
    f->contexts = xasprintf ("%s/contexts", f->dir);
    *state = f;
    return 0;
}

static int
teardown (void **state)
{
    fixture_t *f = *state;
    wr_remove_tree_at (AT_FDCWD, f->dir, NULL);
    free (f->contexts);
    free (f->dir);
    free (f);
    return 0;
}

/* The number of entries of DIR. */
static int
count_entries (const char *dir)
{
    cleanup_free char *cmd = xasprintf ("ls -A %s 2>/dev/null | wc -l", dir);
    FILE *p = popen (cmd, "r");
    assert_non_null (p);
    int n = -1;
    assert_int_equal (fscanf (p, "%d", &n), 1);
    pclose (p);
    return n;
}

/* Reads the file R->fd from its start, as a client's
 * upload would come. */
typedef struct {
    int fd;
    off_t at;
} file_reader_t;

static ssize_t
read_file (void *data, void *buf, size_t max, wr_error_t *err)
{
    file_reader_t *r = data;
    ssize_t n = pread (r->fd, buf, max, r->at);
    if (n < 0)
        return wr_error_set (err, errno, "read the archive");
    r->at += n;
    return n;
}

static int
add (fixture_t *f, int fd, wr_build_context_info_t *info, wr_error_t *err)
{
    file_reader_t r = { .fd = fd };
    return wr_build_context_add (f->contexts, read_file, &r, NULL, info, NULL, err);
}

/* An archive made by the shell command SCRIPT (run in F's directory,
 * writing to stdout), opened. */
static int
archive (fixture_t *f, const char *script)
{
    cleanup_free char *path = xasprintf ("%s/archive.tar", f->dir);
    cleanup_free char *cmd = xasprintf ("cd %s && (%s) > %s", f->dir, script, path);
    assert_int_equal (system (cmd), 0);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    assert_true (fd >= 0);
    return fd;
}

static void
test_add_and_find (void **state)
{
    fixture_t *f = *state;
    cleanup_close int fd = archive (f, "mkdir -p src/app && echo hi > src/app/a.txt && "
                                       "ln -s /etc src/link && tar -C src -cf - .");
    wr_build_context_info_t info, again;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (add (f, fd, &info, &err), 0);
    assert_false (info.existed);
    assert_true (info.bytes > 0);
    assert_int_equal (strncmp (info.digest, "sha256:", 7), 0);
    assert_int_equal (add (f, fd, &again, &err), 0);
    assert_true (again.existed);
    assert_string_equal (again.digest, info.digest);
    assert_int_equal (count_entries (f->contexts), 1);

    cleanup_free char *dir = wr_build_context_find (f->contexts, info.digest, &err);
    assert_non_null (dir);
    cleanup_free char *a = xasprintf ("%s/app/a.txt", dir);
    assert_int_equal (access (a, R_OK), 0);
    cleanup_free char *link = xasprintf ("%s/link", dir);
    char target[16] = { 0 };
    assert_int_equal (readlink (link, target, sizeof target - 1), 4);
    assert_string_equal (target, "/etc");

    cleanup_error wr_error_t missing = NULL;
    char zero[80];
    snprintf (zero, sizeof zero, "sha256:%064d", 0);
    assert_null (wr_build_context_find (f->contexts, zero, &missing));
    assert_int_equal (wr_error_kind (missing), WR_ERROR_NOT_FOUND);
    assert_non_null (strstr (missing->message, "POST /v1/contexts"));
    cleanup_error wr_error_t bad = NULL;
    assert_null (wr_build_context_find (f->contexts, "sha256:../../etc", &bad));
    assert_int_equal (wr_error_kind (bad), WR_ERROR_INVALID);

    /* Unused for 0 seconds: swept. */
    assert_int_equal (wr_build_context_sweep (f->contexts, 0, NULL), 1);
    assert_int_equal (count_entries (f->contexts), 0);
}

static void
test_hostile_archive (void **state)
{
    fixture_t *f = *state;
    cleanup_close int fd = archive (f, "python3 -c 'import io, sys, tarfile\n"
                                       "t = tarfile.open(fileobj=sys.stdout.buffer, mode=\"w|\")\n"
                                       "i = tarfile.TarInfo(\"../escape.txt\"); i.size = 3\n"
                                       "t.addfile(i, io.BytesIO(b\"bad\")); t.close()'");
    wr_build_context_info_t info;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (add (f, fd, &info, &err), -1);
    assert_non_null (strstr (err->message, "../escape.txt"));
    assert_non_null (strstr (err->message, "build context sha256:"));
    assert_int_equal (count_entries (f->contexts), 0);
    cleanup_free char *escaped = xasprintf ("%s/escape.txt", f->dir);
    assert_int_equal (access (escaped, F_OK), -1);
    /* Not a tar at all. */
    cleanup_close int junk = archive (f, "echo this is not a tar archive");
    cleanup_error wr_error_t err2 = NULL;
    assert_int_equal (add (f, junk, &info, &err2), -1);
    assert_int_equal (count_entries (f->contexts), 0);
    /* A client that goes away mid-upload: its error, nothing kept. */
    file_reader_t broken = { .fd = -1 };
    cleanup_error wr_error_t err3 = NULL;
    assert_int_equal (
        wr_build_context_add (f->contexts, read_file, &broken, NULL, &info, NULL, &err3), -1);
    assert_non_null (strstr (err3->message, "read the archive"));
    assert_int_equal (count_entries (f->contexts), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_add_and_find, setup, teardown),
        cmocka_unit_test_setup_teardown (test_hostile_archive, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
