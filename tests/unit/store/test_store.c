/* The content store: blobs, the resumable writer (across processes and
 * kill -9), the image database, prune and the store lock.  Real files in a
 * temporary directory, real SQLite. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "digest.h"
#include "store.h"
#include "xalloc.h"

typedef struct {
    char *dir; /* the test's temporary directory */
    char *root; /* DIR/store */
    wr_store_t *store;
} fixture_t;

static void
run_or_fail (const char *cmd)
{
    assert_int_equal (system (cmd), 0);
}

static int
setup (void **state)
{
    fixture_t *f = xzalloc (sizeof *f);
    char tmpl[] = "/tmp/warren-test-store-XXXXXX";
    assert_non_null (mkdtemp (tmpl));
    f->dir = xstrdup (tmpl);
    f->root = xasprintf ("%s/store", f->dir);
    wr_error_t err = NULL;
    f->store = wr_store_open (f->root, &err);
    assert_null (err);
    assert_non_null (f->store);
    *state = f;
    return 0;
}

static int
teardown (void **state)
{
    fixture_t *f = *state;
    wr_store_close (f->store);
    cleanup_free char *cmd = xasprintf ("rm -rf '%s'", f->dir);
    run_or_fail (cmd);
    free (f->root);
    free (f->dir);
    free (f);
    return 0;
}

static char *path_in (fixture_t *f, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static char *
path_in (fixture_t *f, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    cleanup_free char *rel = xvasprintf (fmt, ap);
    va_end (ap);
    return xasprintf ("%s/%s", f->root, rel);
}

static bool
exists (const char *path)
{
    struct stat st;
    return lstat (path, &st) == 0;
}

static size_t
count_entries (const char *path)
{
    DIR *d = opendir (path);
    assert_non_null (d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir (d)) != NULL)
        if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
            n++;
    closedir (d);
    return n;
}

static void
write_file (const char *path, const void *data, size_t len)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, data, len), (ssize_t) len);
    close (fd);
}

/* Deterministic content of LEN bytes. */
static char *
make_content (size_t len, unsigned seed)
{
    char *data = xmalloc (len);
    for (size_t i = 0; i < len; i++)
        data[i] = (char) ((i * 131 + seed * 7 + (i >> 9)) & 0xff);
    return data;
}

static void
assert_error_contains (wr_error_t *err, const char *needle)
{
    assert_non_null (*err);
    if (strstr ((*err)->message, needle) == NULL)
        fail_msg ("error `%s` does not contain `%s`", (*err)->message, needle);
    wr_error_free (err);
}

static int64_t
now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- layout and database ---- */

static void
test_open_creates_layout (void **state)
{
    fixture_t *f = *state;
    const char *dirs[] = { "", "blobs", "blobs/sha256", "ingest", "roots" };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        cleanup_free char *p = path_in (f, "%s", dirs[i]);
        struct stat st;
        assert_int_equal (stat (p, &st), 0);
        assert_true (S_ISDIR (st.st_mode));
        assert_int_equal (st.st_mode & 0777, 0700);
    }
    assert_string_equal (wr_store_path (f->store), f->root);

    cleanup_free char *db_path = path_in (f, "images.db");
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal (sqlite3_prepare_v2 (db, "PRAGMA journal_mode", -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    assert_string_equal ((const char *) sqlite3_column_text (stmt, 0), "wal");
    sqlite3_finalize (stmt);
    assert_int_equal (sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    assert_int_equal (sqlite3_column_int (stmt, 0), 1);
    sqlite3_finalize (stmt);
    sqlite3_close (db);

    /* Reopening an existing store works; a second handle at the same time too. */
    wr_error_t err = NULL;
    wr_store_t *again = wr_store_open (f->root, &err);
    assert_null (err);
    assert_non_null (again);
    wr_store_close (again);
    wr_store_close (f->store);
    f->store = wr_store_open (f->root, &err);
    assert_null (err);
    assert_non_null (f->store);
}

static void
test_newer_schema_refused (void **state)
{
    fixture_t *f = *state;
    cleanup_free char *db_path = path_in (f, "images.db");
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open (db_path, &db), SQLITE_OK);
    assert_int_equal (sqlite3_exec (db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close (db);
    wr_error_t err = NULL;
    assert_null (wr_store_open (f->root, &err));
    assert_error_contains (&err, "schema version 99");
}

static void
test_open_refuses_symlinked_directory (void **state)
{
    fixture_t *f = *state;
    cleanup_free char *root = xasprintf ("%s/other", f->dir);
    cleanup_free char *outside = xasprintf ("%s/outside", f->dir);
    assert_int_equal (mkdir (root, 0700), 0);
    assert_int_equal (mkdir (outside, 0700), 0);
    cleanup_free char *link = xasprintf ("%s/blobs", root);
    assert_int_equal (symlink (outside, link), 0);
    wr_error_t err = NULL;
    assert_null (wr_store_open (root, &err));
    assert_error_contains (&err, "blobs");
    assert_int_equal (count_entries (outside), 0);
}

/* ---- blobs ---- */

static void
test_put_and_read_blob (void **state)
{
    fixture_t *f = *state;
    wr_error_t err = NULL;
    const char data[] = "hello, store";
    char digest[WR_DIGEST_MAX_LEN + 1];
    char expected[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest (data, strlen (data), expected);
    assert_false (wr_store_has_blob (f->store, expected));
    assert_int_equal (wr_store_put_blob (f->store, data, strlen (data), expected, digest, &err), 0);
    assert_null (err);
    assert_string_equal (digest, expected);
    assert_true (wr_store_has_blob (f->store, digest));
    assert_true (wr_store_has_blob_size (f->store, digest, (int64_t) strlen (data)));
    assert_false (wr_store_has_blob_size (f->store, digest, 3));

    cleanup_free char *path = wr_store_blob_path (f->store, digest, NULL);
    cleanup_free char *want = path_in (f, "blobs/sha256/%s", wr_digest_hex (digest));
    assert_string_equal (path, want);
    struct stat st;
    assert_int_equal (stat (path, &st), 0);
    assert_int_equal (st.st_mode & 0777, 0444);
    ino_t ino = st.st_ino;

    cleanup_free char *read_back = NULL;
    size_t len = 0;
    assert_int_equal (wr_store_read_blob (f->store, digest, 1024, &read_back, &len, &err), 0);
    assert_int_equal (len, strlen (data));
    assert_memory_equal (read_back, data, len);
    assert_int_equal (read_back[len], '\0');

    /* Too large for the caller's limit. */
    char *unused = NULL;
    assert_int_equal (wr_store_read_blob (f->store, digest, 4, &unused, &len, &err), -1);
    assert_error_contains (&err, "more than the limit of 4");

    /* Stored once: a second put leaves the file alone. */
    assert_int_equal (wr_store_put_blob (f->store, data, strlen (data), NULL, NULL, &err), 0);
    assert_int_equal (stat (path, &st), 0);
    assert_int_equal (st.st_ino, ino);

    /* A wrong expected digest is refused and names both digests. */
    char other[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest ("x", 1, other);
    assert_int_equal (wr_store_put_blob (f->store, data, strlen (data), other, NULL, &err), -1);
    assert_non_null (err);
    assert_non_null (strstr (err->message, other));
    assert_error_contains (&err, expected);
    assert_false (wr_store_has_blob (f->store, other));

    /* No temporary file stays behind in ingest/. */
    cleanup_free char *ingest = path_in (f, "ingest");
    assert_int_equal (count_entries (ingest), 0);

    /* A missing blob is named in the error. */
    assert_int_equal (wr_store_read_blob (f->store, other, 1024, &unused, &len, &err), -1);
    assert_error_contains (&err, "is not in the store");
}

static void
test_corrupt_blob_detected_on_read (void **state)
{
    fixture_t *f = *state;
    wr_error_t err = NULL;
    char digest[WR_DIGEST_MAX_LEN + 1];
    assert_int_equal (wr_store_put_blob (f->store, "abcdef", 6, NULL, digest, &err), 0);
    cleanup_free char *path = wr_store_blob_path (f->store, digest, NULL);
    assert_int_equal (chmod (path, 0644), 0);
    write_file (path, "abcdeX", 6);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal (wr_store_read_blob (f->store, digest, 100, &data, &len, &err), -1);
    assert_error_contains (&err, "is corrupt");
    assert_null (data);
}

static void
test_invalid_digests_refused (void **state)
{
    fixture_t *f = *state;
    wr_error_t err = NULL;
    const char *bad[] = {
        "sha256:../x", "sha256:../../../../etc/passwd",
        "../x",        "",
        "sha256:",     "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false (wr_store_has_blob (f->store, bad[i]));
        assert_null (wr_store_blob_path (f->store, bad[i], &err));
        assert_int_equal (wr_error_kind (err), WR_ERROR_INVALID);
        assert_error_contains (&err, "the path of a blob: ");
        int64_t offset = -1;
        assert_null (wr_store_blob_writer (f->store, bad[i], 10, &offset, NULL, &err));
        assert_error_contains (&err, "digest");
        assert_int_equal (wr_store_put_blob (f->store, "x", 1, bad[i], NULL, &err), -1);
        assert_error_contains (&err, "digest");
        char *data = NULL;
        size_t len = 0;
        assert_int_equal (wr_store_read_blob (f->store, bad[i], 100, &data, &len, &err), -1);
        assert_error_contains (&err, "digest");
        assert_null (wr_store_root_path (f->store, bad[i], &err));
        assert_int_equal (wr_error_kind (err), WR_ERROR_INVALID);
        assert_error_contains (&err, "is not 64 lowercase hex digits");
    }
    assert_null (wr_store_root_path (f->store, "..", &err));
    assert_string_equal (err->message,
                         "the path of a root: root id `..` is not 64 lowercase hex digits");
    wr_error_free (&err);
    assert_null (wr_store_root_path (f->store, NULL, &err));
    assert_int_equal (wr_error_kind (err), WR_ERROR_INVALID);
    wr_error_free (&err);
    /* Untrusted text is quoted in the message. */
    assert_null (wr_store_blob_path (f->store, "sha256:\x1b[2Jab", &err));
    assert_int_equal (wr_error_kind (err), WR_ERROR_INVALID);
    wr_error_free (&err);
    assert_null (wr_store_root_path (f->store, "\x1b[2J", &err));
    assert_non_null (strstr (err->message, "`\\x1b[2J`"));
    wr_error_free (&err);
    /* Nothing appeared anywhere: not `x`, not a partial. */
    cleanup_free char *ingest = path_in (f, "ingest");
    cleanup_free char *blobs = path_in (f, "blobs/sha256");
    cleanup_free char *x = path_in (f, "blobs/x");
    assert_int_equal (count_entries (ingest), 0);
    assert_int_equal (count_entries (blobs), 0);
    assert_false (exists (x));
    assert_int_equal (count_entries (f->dir), 1);
}

static void
test_writer_stream_and_limits (void **state)
{
    fixture_t *f = *state;
    wr_error_t err = NULL;
    const size_t size = 3 * 1024 * 1024 + 17;
    cleanup_free char *data = make_content (size, 1);
    char digest[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest (data, size, digest);

    int64_t offset = -1;
    wr_blob_writer_t *w =
        wr_store_blob_writer (f->store, digest, (int64_t) size, &offset, NULL, &err);
    assert_non_null (w);
    assert_int_equal (offset, 0);
    assert_false (wr_blob_writer_complete (w));
    for (size_t done = 0; done < size; done += 100000) {
        size_t n = size - done < 100000 ? size - done : 100000;
        assert_int_equal (wr_blob_writer_write (w, data + done, n, &err), 0);
    }
    /* Not visible before commit. */
    assert_false (wr_store_has_blob (f->store, digest));
    cleanup_free char *partial = path_in (f, "ingest/%s.partial", wr_digest_hex (digest));
    assert_true (exists (partial));
    /* One byte more than the size is refused. */
    assert_int_equal (wr_blob_writer_write (w, "x", 1, &err), -1);
    assert_error_contains (&err, "more than its size");
    assert_int_equal (wr_blob_writer_commit (w, &err), 0);
    assert_null (err);
    wr_blob_writer_free (w);
    assert_true (wr_store_has_blob_size (f->store, digest, (int64_t) size));
    assert_false (exists (partial));

    /* A writer for a blob already there is complete and writes nothing. */
    w = wr_store_blob_writer (f->store, digest, (int64_t) size, &offset, NULL, &err);
    assert_non_null (w);
    assert_true (wr_blob_writer_complete (w));
    assert_int_equal (offset, (int64_t) size);
    assert_int_equal (wr_blob_writer_commit (w, &err), 0);
    wr_blob_writer_free (w);
    assert_false (exists (partial));

    /* Unknown size works too. */
    char small_digest[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest ("tiny", 4, small_digest);
    w = wr_store_blob_writer (f->store, small_digest, -1, &offset, NULL, &err);
    assert_non_null (w);
    assert_int_equal (wr_blob_writer_write (w, "ti", 2, &err), 0);
    assert_int_equal (wr_blob_writer_write (w, "ny", 2, &err), 0);
    assert_int_equal (wr_blob_writer_commit (w, &err), 0);
    wr_blob_writer_free (w);
    assert_true (wr_store_has_blob_size (f->store, small_digest, 4));
}

static void
test_writer_short_blob_kept_for_resume (void **state)
{
    fixture_t *f = *state;
    wr_error_t err = NULL;
    char digest[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest ("0123456789", 10, digest);
    int64_t offset = -1;
    wr_blob_writer_t *w = wr_store_blob_writer (f->store, digest, 10, &offset, NULL, &err);
    assert_non_null (w);
    assert_int_equal (wr_blob_writer_write (w, "01234", 5, &err), 0);
    assert_int_equal (wr_blob_writer_commit (w, &err), -1);
    assert_error_contains (&err, "truncated: 5 of 10 bytes");
    wr_blob_writer_free (w);
    assert_false (wr_store_has_blob (f->store, digest));

    /* Resume in a new handle of the store (as another process would). */
    wr_store_close (f->store);
    f->store = wr_store_open (f->root, &err);
    assert_non_null (f->store);
    w = wr_store_blob_writer (f->store, digest, 10, &offset, NULL, &err);
    assert_non_null (w);
    assert_int_equal (offset, 5);
    assert_int_equal (wr_blob_writer_write (w, "56789", 5, &err), 0);
    assert_int_equal (wr_blob_writer_commit (w, &err), 0);
    wr_blob_writer_free (w);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal (wr_store_read_blob (f->store, digest, 100, &data, &len, &err), 0);
    assert_memory_equal (data, "0123456789", 10);
    free (data);
}

static void
test_writer_restart_and_long_partial (void **state)
{
    fixture_t *f = *state;
    wr_error_t err = NULL;
    char digest[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest ("abcdef", 6, digest);
    cleanup_free char *partial = path_in (f, "ingest/%s.partial", wr_digest_hex (digest));

    /* Left by an earlier attempt: longer than the blob, so not kept. */
    write_file (partial, "0123456789", 10);
    int64_t offset = -1;
    wr_blob_writer_t *w = wr_store_blob_writer (f->store, digest, 6, &offset, NULL, &err);
    assert_non_null (w);
    assert_int_equal (offset, 0);
    assert_int_equal (wr_blob_writer_write (w, "abc", 3, &err), 0);
    wr_blob_writer_free (w);

    w = wr_store_blob_writer (f->store, digest, 6, &offset, NULL, &err);
    assert_non_null (w);
    assert_int_equal (offset, 3);
    /* The server ignored the range: start again from byte 0. */
    assert_int_equal (wr_blob_writer_restart (w, &err), 0);
    assert_int_equal (wr_blob_writer_write (w, "abcdef", 6, &err), 0);
    assert_int_equal (wr_blob_writer_commit (w, &err), 0);
    wr_blob_writer_free (w);
    assert_true (wr_store_has_blob_size (f->store, digest, 6));
}

static void
test_has_blob_not_fooled (void **state)
{
    fixture_t *f = *state;
    wr_error_t err = NULL;
    char digest[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest ("payload", 7, digest);
    /* A leftover partial or temporary is not the blob. */
    cleanup_free char *partial = path_in (f, "ingest/%s.partial", wr_digest_hex (digest));
    write_file (partial, "payload", 7);
    assert_false (wr_store_has_blob (f->store, digest));
    /* A directory or symlink in its place is not the blob. */
    cleanup_free char *blob = wr_store_blob_path (f->store, digest, NULL);
    assert_int_equal (symlink (partial, blob), 0);
    assert_false (wr_store_has_blob (f->store, digest));
    assert_int_equal (unlink (blob), 0);
    /* A file of the wrong size is not the blob of the right size, and a
     * writer replaces it. */
    write_file (blob, "pay", 3);
    assert_true (wr_store_has_blob (f->store, digest));
    assert_false (wr_store_has_blob_size (f->store, digest, 7));
    int64_t offset = -1;
    wr_blob_writer_t *w = wr_store_blob_writer (f->store, digest, 7, &offset, NULL, &err);
    assert_non_null (w);
    assert_false (wr_blob_writer_complete (w));
    assert_int_equal (offset, 7);
    assert_int_equal (wr_blob_writer_commit (w, &err), 0);
    wr_blob_writer_free (w);
    assert_true (wr_store_has_blob_size (f->store, digest, 7));
    /* put_blob replaces a wrong-size file too. */
    char digest2[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest ("second", 6, digest2);
    cleanup_free char *blob2 = wr_store_blob_path (f->store, digest2, NULL);
    write_file (blob2, "sec", 3);
    assert_int_equal (wr_store_put_blob (f->store, "second", 6, digest2, NULL, &err), 0);
    assert_true (wr_store_has_blob_size (f->store, digest2, 6));
}

/* kill -9 in the middle of a download, then the same download again. */
static void
test_writer_survives_kill (void **state)
{
    fixture_t *f = *state;
    wr_error_t err = NULL;
    const size_t size = 2 * 1024 * 1024 + 5;
    cleanup_free char *data = make_content (size, 2);
    char digest[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest (data, size, digest);

    /* Once killed half-way, once killed with every byte written but before
     * the commit. */
    const size_t stops[] = { size / 2, size };
    for (size_t round = 0; round < 2; round++) {
        if (round == 1) {
            wr_store_close (f->store);
            cleanup_free char *cmd = xasprintf ("rm -rf '%s'", f->root);
            run_or_fail (cmd);
            f->store = wr_store_open (f->root, &err);
            assert_non_null (f->store);
        }
        pid_t pid = fork ();
        assert_true (pid >= 0);
        if (pid == 0) {
            wr_error_t child_err = NULL;
            wr_store_t *s = wr_store_open (f->root, &child_err);
            int64_t off = -1;
            wr_blob_writer_t *w =
                s ? wr_store_blob_writer (s, digest, (int64_t) size, &off, NULL, &child_err) : NULL;
            if (w == NULL || off != 0)
                _exit (2);
            for (size_t done = 0; done < stops[round]; done += 4096) {
                size_t n = stops[round] - done < 4096 ? stops[round] - done : 4096;
                if (wr_blob_writer_write (w, data + done, n, &child_err) < 0)
                    _exit (3);
            }
            raise (SIGKILL);
            _exit (4);
        }
        int status = 0;
        assert_int_equal (waitpid (pid, &status, 0), pid);
        assert_true (WIFSIGNALED (status));
        assert_int_equal (WTERMSIG (status), SIGKILL);

        /* No blob, a partial of what was written. */
        assert_false (wr_store_has_blob (f->store, digest));
        cleanup_free char *blobs = path_in (f, "blobs/sha256");
        assert_int_equal (count_entries (blobs), 0);
        cleanup_free char *partial = path_in (f, "ingest/%s.partial", wr_digest_hex (digest));
        struct stat st;
        assert_int_equal (stat (partial, &st), 0);
        assert_int_equal (st.st_size, (off_t) stops[round]);

        int64_t offset = -1;
        wr_blob_writer_t *w =
            wr_store_blob_writer (f->store, digest, (int64_t) size, &offset, NULL, &err);
        assert_non_null (w);
        assert_int_equal (offset, (int64_t) stops[round]);
        assert_int_equal (wr_blob_writer_write (w, data + offset, size - (size_t) offset, &err), 0);
        assert_int_equal (wr_blob_writer_commit (w, &err), 0);
        assert_null (err);
        wr_blob_writer_free (w);
        cleanup_free char *read_back = NULL;
        size_t len = 0;
        assert_int_equal (wr_store_read_blob (f->store, digest, size, &read_back, &len, &err), 0);
        assert_int_equal (len, size);
        assert_memory_equal (read_back, data, size);
        assert_false (exists (partial));
    }
}

static void
test_corrupt_partial_detected_at_commit (void **state)
{
    fixture_t *f = *state;
    wr_error_t err = NULL;
    const size_t size = 100000;
    cleanup_free char *data = make_content (size, 3);
    char digest[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest (data, size, digest);
    /* Half the right length, with one wrong byte in it. */
    cleanup_free char *partial = path_in (f, "ingest/%s.partial", wr_digest_hex (digest));
    cleanup_free char *bad = xmalloc (size / 2);
    memcpy (bad, data, size / 2);
    bad[1234] ^= 0x55;
    write_file (partial, bad, size / 2);
    char actual[WR_DIGEST_MAX_LEN + 1];
    {
        wr_sha256_t *sha = wr_sha256_new ();
        wr_sha256_update (sha, bad, size / 2);
        wr_sha256_update (sha, data + size / 2, size - size / 2);
        wr_sha256_final (sha, actual);
        wr_sha256_free (sha);
    }

    int64_t offset = -1;
    wr_blob_writer_t *w =
        wr_store_blob_writer (f->store, digest, (int64_t) size, &offset, NULL, &err);
    assert_non_null (w);
    assert_int_equal (offset, (int64_t) size / 2);
    assert_int_equal (wr_blob_writer_write (w, data + offset, size - (size_t) offset, &err), 0);
    assert_int_equal (wr_blob_writer_commit (w, &err), -1);
    assert_non_null (err);
    assert_non_null (strstr (err->message, digest));
    assert_non_null (strstr (err->message, actual));
    assert_error_contains (&err, "digest mismatch");
    wr_blob_writer_free (w);
    assert_false (exists (partial));
    assert_false (wr_store_has_blob (f->store, digest));
    cleanup_free char *blobs = path_in (f, "blobs/sha256");
    assert_int_equal (count_entries (blobs), 0);

    /* The same download again, from the start, succeeds. */
    w = wr_store_blob_writer (f->store, digest, (int64_t) size, &offset, NULL, &err);
    assert_non_null (w);
    assert_int_equal (offset, 0);
    assert_int_equal (wr_blob_writer_write (w, data, size, &err), 0);
    assert_int_equal (wr_blob_writer_commit (w, &err), 0);
    wr_blob_writer_free (w);
    assert_true (wr_store_has_blob_size (f->store, digest, (int64_t) size));
}

/* Two processes writing the same blob: the second waits for the first and
 * then finds the blob committed.  (The child is the first writer: a child
 * forked while the parent holds a writer would inherit its locked file.) */
static void
test_concurrent_writers_wait (void **state)
{
    fixture_t *f = *state;
    wr_error_t err = NULL;
    const size_t size = 500000;
    cleanup_free char *data = make_content (size, 4);
    char digest[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest (data, size, digest);

    int pipe_fds[2];
    assert_int_equal (pipe (pipe_fds), 0);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        close (pipe_fds[0]);
        wr_error_t child_err = NULL;
        wr_store_t *s = wr_store_open (f->root, &child_err);
        int64_t off = -1;
        wr_blob_writer_t *w =
            s ? wr_store_blob_writer (s, digest, (int64_t) size, &off, NULL, &child_err) : NULL;
        if (w == NULL || wr_blob_writer_write (w, data, size / 2, &child_err) < 0)
            _exit (2);
        if (write (pipe_fds[1], "x", 1) != 1)
            _exit (3);
        usleep (400000);
        if (wr_blob_writer_write (w, data + size / 2, size - size / 2, &child_err) < 0 ||
            wr_blob_writer_commit (w, &child_err) < 0)
            _exit (4);
        _exit (0);
    }
    close (pipe_fds[1]);
    char c;
    assert_int_equal (read (pipe_fds[0], &c, 1), 1);
    close (pipe_fds[0]);
    int64_t start = now_ms ();
    int64_t offset = -1;
    /* Waits for the child's writer, then finds its blob. */
    wr_blob_writer_t *w =
        wr_store_blob_writer (f->store, digest, (int64_t) size, &offset, NULL, &err);
    assert_non_null (w);
    assert_true (now_ms () - start >= 250);
    assert_true (wr_blob_writer_complete (w));
    assert_int_equal (offset, (int64_t) size);
    assert_int_equal (wr_blob_writer_commit (w, &err), 0);
    wr_blob_writer_free (w);
    int status = 0;
    assert_int_equal (waitpid (pid, &status, 0), pid);
    assert_true (WIFEXITED (status));
    assert_int_equal (WEXITSTATUS (status), 0);
    char *read_back = NULL;
    size_t len = 0;
    assert_int_equal (wr_store_read_blob (f->store, digest, size, &read_back, &len, &err), 0);
    assert_memory_equal (read_back, data, size);
    free (read_back);
    cleanup_free char *partial = path_in (f, "ingest/%s.partial", wr_digest_hex (digest));
    assert_false (exists (partial));
}

/* Several processes opening one new store at once all succeed (making the
 * database and switching it to WAL must not fail with "database is
 * locked"), and the store works after. */
static void
test_concurrent_first_opens (void **state)
{
    fixture_t *f = *state;
    for (int round = 0; round < 10; round++) {
        cleanup_free char *root = xasprintf ("%s/fresh-%d", f->root, round);
        pid_t pids[8];
        for (int i = 0; i < 8; i++) {
            pids[i] = fork ();
            assert_true (pids[i] >= 0);
            if (pids[i] == 0) {
                wr_error_t child_err = NULL;
                wr_store_t *s = wr_store_open (root, &child_err);
                if (s == NULL) {
                    fprintf (stderr, "open: %s\n", child_err->message);
                    _exit (1);
                }
                wr_store_close (s);
                _exit (0);
            }
        }
        for (int i = 0; i < 8; i++) {
            int status = 0;
            assert_int_equal (waitpid (pids[i], &status, 0), pids[i]);
            assert_true (WIFEXITED (status));
            assert_int_equal (WEXITSTATUS (status), 0);
        }
        wr_error_t err = NULL;
        wr_store_t *s = wr_store_open (root, &err);
        assert_non_null (s);
        wr_store_close (s);
    }
}

/* The wait for another process's writer of the same blob stops when the
 * waiter's token does: a deadline that passes gives an error saying so
 * (kind unavailable, ETIMEDOUT), and a cancellation requested from another
 * thread gives a cancelled error; neither takes the blob from its writer. */
typedef struct {
    wr_cancel_t *cancel;
} canceller_t;

static void *
cancel_soon (void *data)
{
    canceller_t *c = data;
    usleep (200000);
    wr_cancel_request (c->cancel);
    return NULL;
}

static void
test_waiting_writer_stops_when_cancelled (void **state)
{
    fixture_t *f = *state;
    const size_t size = 100000;
    cleanup_free char *data = make_content (size, 5);
    char digest[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest (data, size, digest);

    int pipe_fds[2];
    assert_int_equal (pipe (pipe_fds), 0);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        close (pipe_fds[0]);
        wr_error_t child_err = NULL;
        wr_store_t *s = wr_store_open (f->root, &child_err);
        int64_t off = -1;
        wr_blob_writer_t *w =
            s ? wr_store_blob_writer (s, digest, (int64_t) size, &off, NULL, &child_err) : NULL;
        if (w == NULL || wr_blob_writer_write (w, data, size / 2, &child_err) < 0)
            _exit (2);
        if (write (pipe_fds[1], "x", 1) != 1)
            _exit (3);
        sleep (10); /* holds the writer; killed by the parent */
        _exit (0);
    }
    close (pipe_fds[1]);
    char c;
    assert_int_equal (read (pipe_fds[0], &c, 1), 1);
    close (pipe_fds[0]);

    wr_error_t err = NULL;
    wr_cancel_t *deadline = wr_cancel_new (NULL, 300, "pull deadline", &err);
    assert_non_null (deadline);
    int64_t offset = -1, start = now_ms ();
    assert_null (wr_store_blob_writer (f->store, digest, (int64_t) size, &offset, deadline, &err));
    assert_true (now_ms () - start < 2000);
    assert_non_null (err);
    assert_int_equal (wr_error_kind (err), WR_ERROR_UNAVAILABLE);
    assert_int_equal (err->errno_value, ETIMEDOUT);
    assert_non_null (strstr (err->message, "the pull deadline of"));
    assert_non_null (strstr (err->message, digest));
    wr_error_free (&err);
    wr_cancel_free (deadline);

    canceller_t canceller = { wr_cancel_new (NULL, 0, NULL, &err) };
    assert_non_null (canceller.cancel);
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, cancel_soon, &canceller), 0);
    start = now_ms ();
    assert_null (
        wr_store_blob_writer (f->store, digest, (int64_t) size, &offset, canceller.cancel, &err));
    assert_true (now_ms () - start < 2000);
    assert_int_equal (wr_error_kind (err), WR_ERROR_CANCELLED);
    wr_error_free (&err);
    pthread_join (thread, NULL);
    wr_cancel_free (canceller.cancel);

    /* The writer's partial is still there, still its own. */
    cleanup_free char *partial = path_in (f, "ingest/%s.partial", wr_digest_hex (digest));
    assert_true (exists (partial));
    kill (pid, SIGKILL);
    int status = 0;
    assert_int_equal (waitpid (pid, &status, 0), pid);
}

/* ---- images ---- */

static void
put_blob_str (fixture_t *f, const char *content, char *digest)
{
    wr_error_t err = NULL;
    assert_int_equal (wr_store_put_blob (f->store, content, strlen (content), NULL, digest, &err),
                      0);
}

static const char root_a[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char root_b[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

static void
test_image_records (void **state)
{
    fixture_t *f = *state;
    wr_error_t err = NULL;
    char manifest[WR_DIGEST_MAX_LEN + 1], config[WR_DIGEST_MAX_LEN + 1],
        layer[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest ("m", 1, manifest);
    wr_sha256_digest ("c", 1, config);
    wr_sha256_digest ("l", 1, layer);
    wr_image_record_t rec = { .name = "docker.io/library/busybox:latest",
                              .manifest_digest = manifest,
                              .config_digest = config,
                              .root_id = (char *) root_a,
                              .size = 1234,
                              .created = 1700000000 };
    const char *blobs[] = { layer, NULL };
    assert_int_equal (wr_store_image_put (f->store, &rec, blobs, &err), 0);
    assert_null (err);

    wr_image_record_t got;
    assert_int_equal (wr_store_image_get (f->store, rec.name, &got, &err), 1);
    assert_string_equal (got.name, rec.name);
    assert_string_equal (got.manifest_digest, manifest);
    assert_string_equal (got.config_digest, config);
    assert_string_equal (got.root_id, root_a);
    assert_int_equal (got.size, 1234);
    assert_int_equal (got.created, 1700000000);
    wr_image_record_clear (&got);
    assert_int_equal (wr_store_image_get (f->store, "docker.io/library/nope:1", &got, &err), 0);
    assert_null (got.name);

    /* A second image without a root, created "now". */
    wr_image_record_t rec2 = {
        .name = "127.0.0.1:5000/x/y:z", .manifest_digest = layer, .config_digest = config, .size = 1
    };
    time_t before = time (NULL);
    assert_int_equal (wr_store_image_put (f->store, &rec2, NULL, &err), 0);

    /* Persisted: visible through a new handle. */
    wr_store_close (f->store);
    f->store = wr_store_open (f->root, &err);
    assert_non_null (f->store);
    wr_image_record_t *list = NULL;
    size_t n = 0;
    assert_int_equal (wr_store_image_list (f->store, &list, &n, &err), 0);
    assert_int_equal (n, 2);
    assert_string_equal (list[0].name, "127.0.0.1:5000/x/y:z");
    assert_null (list[0].root_id);
    assert_true (list[0].created >= before && list[0].created <= time (NULL));
    assert_string_equal (list[1].name, rec.name);
    wr_image_records_free (list, n);

    /* Re-pointing a name replaces it. */
    rec.root_id = (char *) root_b;
    rec.size = 99;
    assert_int_equal (wr_store_image_put (f->store, &rec, NULL, &err), 0);
    assert_int_equal (wr_store_image_get (f->store, rec.name, &got, &err), 1);
    assert_string_equal (got.root_id, root_b);
    assert_int_equal (got.size, 99);
    wr_image_record_clear (&got);

    /* Remove, and removing again names the image. */
    assert_int_equal (wr_store_image_remove (f->store, rec.name, &err), 0);
    assert_int_equal (wr_store_image_get (f->store, rec.name, &got, &err), 0);
    assert_int_equal (wr_store_image_remove (f->store, rec.name, &err), -1);
    assert_non_null (err);
    assert_int_equal (err->errno_value, ENOENT);
    assert_error_contains (&err, "docker.io/library/busybox:latest");

    /* Invalid records are refused and name what is wrong. */
    wr_image_record_t bad = rec;
    bad.manifest_digest = "sha256:../x";
    assert_int_equal (wr_store_image_put (f->store, &bad, NULL, &err), -1);
    assert_error_contains (&err, "sha256:../x");
    bad = rec;
    bad.root_id = "../../etc";
    assert_int_equal (wr_store_image_put (f->store, &bad, NULL, &err), -1);
    assert_error_contains (&err, "root id");
    const char *bad_blobs[] = { layer, "sha256:../x", NULL };
    assert_int_equal (wr_store_image_put (f->store, &rec, bad_blobs, &err), -1);
    assert_error_contains (&err, "blob 1");
    assert_int_equal (wr_store_image_get (f->store, rec.name, &got, &err), 0);
}

/* ---- prune ---- */

static void
make_root (fixture_t *f, const char *id, const char *outside)
{
    cleanup_free char *root = path_in (f, "roots/%s", id);
    cleanup_free char *cmd = xasprintf (
        "set -e; mkdir -p '%s/usr/bin' '%s/etc/ro'; echo hi > '%s/etc/hostname';"
        " printf 1234567890 > '%s/usr/bin/tool'; ln -s '%s' '%s/escape';"
        " ln -s '%s/victim' '%s/etc/victim'; ln '%s/usr/bin/tool' '%s/usr/bin/link';"
        " mkfifo '%s/fifo'; echo x > '%s/etc/ro/f'; chmod 0555 '%s/etc/ro' '%s/usr'",
        root, root, root, root, outside, root, outside, root, root, root, root, root, root, root);
    run_or_fail (cmd);
}

static void
test_prune (void **state)
{
    fixture_t *f = *state;
    wr_error_t err = NULL;
    /* Files outside the store that symlinks in a root point at. */
    cleanup_free char *outside = xasprintf ("%s/outside", f->dir);
    assert_int_equal (mkdir (outside, 0755), 0);
    cleanup_free char *victim = xasprintf ("%s/victim", outside);
    write_file (victim, "keep me", 7);

    char shared_layer[WR_DIGEST_MAX_LEN + 1], only_a[WR_DIGEST_MAX_LEN + 1],
        only_b[WR_DIGEST_MAX_LEN + 1], man_a[WR_DIGEST_MAX_LEN + 1], man_b[WR_DIGEST_MAX_LEN + 1],
        cfg[WR_DIGEST_MAX_LEN + 1], orphan[WR_DIGEST_MAX_LEN + 1];
    put_blob_str (f, "shared layer", shared_layer);
    put_blob_str (f, "layer of a only", only_a); /* 15 bytes */
    put_blob_str (f, "layer of b", only_b);
    put_blob_str (f, "manifest a", man_a); /* 10 bytes */
    put_blob_str (f, "manifest b", man_b);
    put_blob_str (f, "shared config", cfg);
    put_blob_str (f, "nobody", orphan); /* 6 bytes */
    make_root (f, root_a, outside);
    make_root (f, root_b, outside);
    const char *orphan_root = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
    make_root (f, orphan_root, outside);

    wr_image_record_t a = {
        .name = "a:1", .manifest_digest = man_a, .config_digest = cfg, .root_id = (char *) root_a
    };
    wr_image_record_t b = {
        .name = "b:1", .manifest_digest = man_b, .config_digest = cfg, .root_id = (char *) root_b
    };
    const char *blobs_a[] = { shared_layer, only_a, NULL };
    const char *blobs_b[] = { shared_layer, only_b, NULL };
    assert_int_equal (wr_store_image_put (f->store, &a, blobs_a, &err), 0);
    assert_int_equal (wr_store_image_put (f->store, &b, blobs_b, &err), 0);

    /* Abandoned downloads: one old, one fresh, one old but being written. */
    cleanup_free char *old_partial = path_in (f, "ingest/%064d.partial", 1);
    cleanup_free char *fresh_partial = path_in (f, "ingest/%064d.partial", 2);
    write_file (old_partial, "12345", 5);
    write_file (fresh_partial, "123", 3);
    struct timespec old[2] = { { .tv_sec = time (NULL) - WR_STORE_PARTIAL_MAX_AGE - 60 },
                               { .tv_sec = time (NULL) - WR_STORE_PARTIAL_MAX_AGE - 60 } };
    assert_int_equal (utimensat (AT_FDCWD, old_partial, old, 0), 0);
    char busy_digest[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest ("busy", 4, busy_digest);
    int64_t offset = -1;
    wr_blob_writer_t *busy = wr_store_blob_writer (f->store, busy_digest, 4, &offset, NULL, &err);
    assert_non_null (busy);
    assert_int_equal (wr_blob_writer_write (busy, "bu", 2, &err), 0);
    cleanup_free char *busy_partial = path_in (f, "ingest/%s.partial", wr_digest_hex (busy_digest));
    assert_int_equal (utimensat (AT_FDCWD, busy_partial, old, 0), 0);

    /* Everything referenced: only the orphans go. */
    wr_prune_stats_t stats;
    assert_int_equal (wr_store_prune (f->store, &stats, &err), 0);
    assert_null (err);
    assert_int_equal (stats.blobs_removed, 1);
    assert_int_equal (stats.roots_removed, 1);
    assert_int_equal (stats.partials_removed, 1);
    /* orphan blob 6 + root: hostname 3 + tool 10 (hard-linked, not counted
     * until its last link) ... + ro/f 2 + old partial 5 */
    assert_true (stats.bytes_freed >= 6 + 3 + 2 + 5);
    assert_false (wr_store_has_blob (f->store, orphan));
    cleanup_free char *orphan_root_path = wr_store_root_path (f->store, orphan_root, NULL);
    assert_false (exists (orphan_root_path));
    assert_false (exists (old_partial));
    assert_true (exists (fresh_partial));
    assert_true (exists (busy_partial));
    const char *kept[] = { shared_layer, only_a, only_b, man_a, man_b, cfg };
    for (size_t i = 0; i < 6; i++)
        assert_true (wr_store_has_blob (f->store, kept[i]));
    cleanup_free char *root_a_path = wr_store_root_path (f->store, root_a, NULL);
    assert_true (exists (root_a_path));
    /* The symlinks were removed, not followed. */
    struct stat st;
    assert_int_equal (stat (victim, &st), 0);
    assert_int_equal (st.st_size, 7);
    assert_int_equal (count_entries (outside), 1);

    /* Remove a: its own blobs and root go, the shared ones stay. */
    assert_int_equal (wr_store_image_remove (f->store, "a:1", &err), 0);
    assert_int_equal (wr_store_prune (f->store, &stats, &err), 0);
    assert_null (err);
    assert_int_equal (stats.blobs_removed, 2); /* only_a, man_a */
    assert_int_equal (stats.roots_removed, 1);
    assert_int_equal (stats.partials_removed, 0);
    assert_true (stats.bytes_freed >= 15 + 10 + 3 + 10 + 2);
    assert_false (wr_store_has_blob (f->store, only_a));
    assert_false (wr_store_has_blob (f->store, man_a));
    assert_false (exists (root_a_path));
    const char *still[] = { shared_layer, only_b, man_b, cfg };
    for (size_t i = 0; i < 4; i++)
        assert_true (wr_store_has_blob (f->store, still[i]));
    cleanup_free char *root_b_path = wr_store_root_path (f->store, root_b, NULL);
    assert_true (exists (root_b_path));
    assert_int_equal (count_entries (outside), 1);

    /* Nothing left to do: a second prune removes nothing. */
    assert_int_equal (wr_store_prune (f->store, &stats, &err), 0);
    assert_int_equal (stats.blobs_removed + stats.roots_removed + stats.partials_removed, 0);
    assert_int_equal (stats.bytes_freed, 0);

    /* Once the writer is gone, its old partial is abandoned. */
    wr_blob_writer_free (busy);
    assert_int_equal (wr_store_prune (f->store, &stats, &err), 0);
    assert_int_equal (stats.partials_removed, 1);
    assert_false (exists (busy_partial));

    /* Without images, everything goes. */
    assert_int_equal (wr_store_image_remove (f->store, "b:1", &err), 0);
    assert_int_equal (wr_store_prune (f->store, &stats, &err), 0);
    assert_int_equal (stats.blobs_removed, 4);
    assert_int_equal (stats.roots_removed, 1);
    cleanup_free char *blobs_dir = path_in (f, "blobs/sha256");
    cleanup_free char *roots_dir = path_in (f, "roots");
    assert_int_equal (count_entries (blobs_dir), 0);
    assert_int_equal (count_entries (roots_dir), 0);
    assert_int_equal (stat (victim, &st), 0);
}

/* A root deeper than the descriptor limit is still removed (the limit is
 * lowered: deep trees are slow to make on some file systems). */
static void
test_prune_deep_root (void **state)
{
    fixture_t *f = *state;
    wr_error_t err = NULL;
    cleanup_free char *root = path_in (f, "roots/%s", root_a);
    assert_int_equal (mkdir (root, 0755), 0);
    int fd = open (root, O_RDONLY | O_DIRECTORY);
    assert_true (fd >= 0);
    for (int i = 0; i < 300; i++) {
        assert_int_equal (mkdirat (fd, "d", 0755), 0);
        int next = openat (fd, "d", O_RDONLY | O_DIRECTORY);
        assert_true (next >= 0);
        close (fd);
        fd = next;
    }
    int leaf = openat (fd, "leaf", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    assert_true (leaf >= 0);
    close (leaf);
    close (fd);
    struct rlimit saved, low;
    assert_int_equal (getrlimit (RLIMIT_NOFILE, &saved), 0);
    low = saved;
    low.rlim_cur = 100;
    assert_int_equal (setrlimit (RLIMIT_NOFILE, &low), 0);
    wr_prune_stats_t stats;
    int r = wr_store_prune (f->store, &stats, &err);
    assert_int_equal (setrlimit (RLIMIT_NOFILE, &saved), 0);
    if (r < 0)
        fail_msg ("%s", err->message);
    assert_null (err);
    assert_int_equal (stats.roots_removed, 1);
    assert_false (exists (root));
}

/* Prune waits for a pull that holds the store lock shared. */
static void
test_prune_waits_for_shared_lock (void **state)
{
    fixture_t *f = *state;
    wr_error_t err = NULL;
    int pipe_fds[2];
    assert_int_equal (pipe (pipe_fds), 0);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        close (pipe_fds[0]);
        wr_error_t child_err = NULL;
        wr_store_t *s = wr_store_open (f->root, &child_err);
        if (s == NULL)
            _exit (2);
        int lock = wr_store_lock_shared (s, &child_err);
        if (lock < 0)
            _exit (3);
        /* A pulled blob, not referenced by any image yet. */
        char digest[WR_DIGEST_MAX_LEN + 1];
        if (wr_store_put_blob (s, "pulled", 6, NULL, digest, &child_err) < 0)
            _exit (4);
        if (write (pipe_fds[1], "x", 1) != 1)
            _exit (5);
        usleep (400000);
        char config[WR_DIGEST_MAX_LEN + 1];
        wr_sha256_digest ("cfg", 3, config);
        wr_image_record_t rec = { .name = "pulled:1",
                                  .manifest_digest = digest,
                                  .config_digest = config };
        if (wr_store_image_put (s, &rec, NULL, &child_err) < 0)
            _exit (6);
        wr_store_unlock (lock);
        wr_store_close (s);
        _exit (0);
    }
    close (pipe_fds[1]);
    char c;
    assert_int_equal (read (pipe_fds[0], &c, 1), 1);
    close (pipe_fds[0]);
    int64_t start = now_ms ();
    wr_prune_stats_t stats;
    assert_int_equal (wr_store_prune (f->store, &stats, &err), 0);
    assert_true (now_ms () - start >= 250);
    int status = 0;
    assert_int_equal (waitpid (pid, &status, 0), pid);
    assert_true (WIFEXITED (status));
    assert_int_equal (WEXITSTATUS (status), 0);
    /* The pulled blob survived: the image was recorded before prune ran. */
    assert_int_equal (stats.blobs_removed, 0);
    char digest[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest ("pulled", 6, digest);
    assert_true (wr_store_has_blob (f->store, digest));

    /* Shared locks do not exclude each other. */
    int l1 = wr_store_lock_shared (f->store, &err);
    int l2 = wr_store_lock_shared (f->store, &err);
    assert_true (l1 >= 0 && l2 >= 0);
    assert_int_equal (flock (l1, LOCK_EX | LOCK_NB), -1); /* l2 holds it shared */
    wr_store_unlock (l1);
    wr_store_unlock (l2);
    int ex = wr_store_lock_exclusive (f->store, &err);
    assert_true (ex >= 0);
    wr_store_unlock (ex);
}

/* Two processes recording images at the same time both succeed. */
static void
test_concurrent_database_writers (void **state)
{
    fixture_t *f = *state;
    char manifest[WR_DIGEST_MAX_LEN + 1], config[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest ("m", 1, manifest);
    wr_sha256_digest ("c", 1, config);
    const int per_process = 40;
    pid_t pid = fork ();
    assert_true (pid >= 0);
    int who = pid == 0 ? 1 : 0;
    wr_error_t err = NULL;
    wr_store_t *s = pid == 0 ? wr_store_open (f->root, &err) : f->store;
    if (s == NULL)
        _exit (2);
    for (int i = 0; i < per_process; i++) {
        cleanup_free char *name = xasprintf ("img%d:%d", who, i);
        wr_image_record_t rec = { .name = name,
                                  .manifest_digest = manifest,
                                  .config_digest = config };
        if (wr_store_image_put (s, &rec, NULL, &err) < 0) {
            if (pid == 0)
                _exit (3);
            fail_msg ("%s", err->message);
        }
    }
    if (pid == 0)
        _exit (0);
    int status = 0;
    assert_int_equal (waitpid (pid, &status, 0), pid);
    assert_true (WIFEXITED (status));
    assert_int_equal (WEXITSTATUS (status), 0);
    wr_image_record_t *list = NULL;
    size_t n = 0;
    assert_int_equal (wr_store_image_list (f->store, &list, &n, &err), 0);
    assert_int_equal (n, 2 * per_process);
    wr_image_records_free (list, n);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_open_creates_layout, setup, teardown),
        cmocka_unit_test_setup_teardown (test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown (test_open_refuses_symlinked_directory, setup, teardown),
        cmocka_unit_test_setup_teardown (test_put_and_read_blob, setup, teardown),
        cmocka_unit_test_setup_teardown (test_corrupt_blob_detected_on_read, setup, teardown),
        cmocka_unit_test_setup_teardown (test_invalid_digests_refused, setup, teardown),
        cmocka_unit_test_setup_teardown (test_writer_stream_and_limits, setup, teardown),
        cmocka_unit_test_setup_teardown (test_writer_short_blob_kept_for_resume, setup, teardown),
        cmocka_unit_test_setup_teardown (test_writer_restart_and_long_partial, setup, teardown),
        cmocka_unit_test_setup_teardown (test_has_blob_not_fooled, setup, teardown),
        cmocka_unit_test_setup_teardown (test_writer_survives_kill, setup, teardown),
        cmocka_unit_test_setup_teardown (test_corrupt_partial_detected_at_commit, setup, teardown),
        cmocka_unit_test_setup_teardown (test_concurrent_writers_wait, setup, teardown),
        cmocka_unit_test_setup_teardown (test_concurrent_first_opens, setup, teardown),
        cmocka_unit_test_setup_teardown (test_waiting_writer_stops_when_cancelled, setup, teardown),
        cmocka_unit_test_setup_teardown (test_image_records, setup, teardown),
        cmocka_unit_test_setup_teardown (test_prune, setup, teardown),
        cmocka_unit_test_setup_teardown (test_prune_deep_root, setup, teardown),
        cmocka_unit_test_setup_teardown (test_prune_waits_for_shared_lock, setup, teardown),
        cmocka_unit_test_setup_teardown (test_concurrent_database_writers, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
