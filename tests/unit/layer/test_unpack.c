/* Unpacking layers: hostile layers are refused and write nothing outside
 * the root; normal layers keep everything an image needs.
 *
 * Each test works in its own directory under /tmp:
 *   T/root      the root layers are unpacked into
 *   T/outside   a sentinel next to the root, holding only "canary"
 *   T/layers    the layers, written here with libarchive's write API
 * and every test checks that T/outside and T itself are unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <grp.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cancel.h"
#include "cleanup.h"
#include "digest.h"
#include "error.h"
#include "path_in_root.h"
#include "unpack.h"
#include "xalloc.h"
#include "remove_tree.h"

enum { NONE, GZIP, ZSTD };

typedef struct {
    const char *path;
    mode_t type; /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR, ...; 0: a hard link */
    mode_t mode;
    const char *data; /* file content */
    const char *link; /* symlink or hard link target */
    unsigned uid, gid;
    time_t mtime;
    unsigned major, minor;
    const char *xattr; /* "name=value" */
} member_t;

#define FILE_(p, d)                                                                                \
    {                                                                                              \
        .path = (p), .type = AE_IFREG, .mode = 0644, .data = (d)                                   \
    }
#define DIR_(p)                                                                                    \
    {                                                                                              \
        .path = (p), .type = AE_IFDIR, .mode = 0755                                                \
    }
#define LINK_(p, t)                                                                                \
    {                                                                                              \
        .path = (p), .type = AE_IFLNK, .mode = 0777, .link = (t)                                   \
    }
#define HARD_(p, t)                                                                                \
    {                                                                                              \
        .path = (p), .type = 0, .mode = 0644, .link = (t)                                          \
    }
#define END_                                                                                       \
    {                                                                                              \
        .path = NULL                                                                               \
    }

typedef struct {
    char *dir; /* T */
    char *root;
    char *outside;
    int root_fd;
    int layers;
    nlink_t passwd_links; /* of the host's /etc/passwd, before the test */
} fixture_t;

static int
setup (void **state)
{
    fixture_t *f = xzalloc (sizeof *f);
    f->dir = xstrdup ("/tmp/test-unpack-XXXXXX");
    assert_non_null (mkdtemp (f->dir));
    f->root = xasprintf ("%s/root", f->dir);
    f->outside = xasprintf ("%s/outside", f->dir);
    cleanup_free char *layers = xasprintf ("%s/layers", f->dir);
    cleanup_free char *canary = xasprintf ("%s/canary", f->outside);
    assert_int_equal (mkdir (f->root, 0755), 0);
    assert_int_equal (mkdir (f->outside, 0755), 0);
    assert_int_equal (mkdir (layers, 0755), 0);
    FILE *fp = fopen (canary, "w");
    assert_non_null (fp);
    fputs ("canary\n", fp);
    fclose (fp);
    struct stat pw;
    assert_int_equal (lstat ("/etc/passwd", &pw), 0);
    f->passwd_links = pw.st_nlink;
    f->root_fd = open (f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true (f->root_fd >= 0);
    *state = f;
    return 0;
}

static int
teardown (void **state)
{
    fixture_t *f = *state;
    close (f->root_fd);
    wr_remove_tree_at (AT_FDCWD, f->dir, NULL);
    free (f->dir);
    free (f->root);
    free (f->outside);
    free (f);
    return 0;
}

/* The names in DIR, sorted, joined with spaces. */
static char *
list_dir (const char *dir)
{
    struct dirent **names;
    int n = scandir (dir, &names, NULL, alphasort);
    assert_true (n >= 0);
    char *out = xstrdup ("");
    for (int i = 0; i < n; i++) {
        if (strcmp (names[i]->d_name, ".") != 0 && strcmp (names[i]->d_name, "..") != 0) {
            char *next = xasprintf ("%s%s%s", out, out[0] ? " " : "", names[i]->d_name);
            free (out);
            out = next;
        }
        free (names[i]);
    }
    free (names);
    return out;
}

/* Nothing was written next to the root or into the sentinel. */
static void
assert_outside_untouched (fixture_t *f, const char *expected_siblings)
{
    cleanup_free char *outside = list_dir (f->outside);
    assert_string_equal (outside, "canary");
    cleanup_free char *canary = xasprintf ("%s/canary", f->outside);
    struct stat st;
    assert_int_equal (lstat (canary, &st), 0);
    assert_true (S_ISREG (st.st_mode));
    assert_int_equal (st.st_nlink, 1);
    assert_int_equal (st.st_size, 7);
    cleanup_free char *siblings = list_dir (f->dir);
    assert_string_equal (siblings, expected_siblings ? expected_siblings : "layers outside root");
    /* The host's own files are not linked into the root. */
    assert_int_equal (lstat ("/etc/passwd", &st), 0);
    assert_int_equal (st.st_nlink, f->passwd_links);
}

static void
add_member (struct archive *a, const member_t *m)
{
    struct archive_entry *e = archive_entry_new ();
    archive_entry_set_pathname (e, m->path);
    archive_entry_set_uid (e, m->uid);
    archive_entry_set_gid (e, m->gid);
    archive_entry_set_mtime (e, m->mtime ? m->mtime : 1000000000, 0);
    if (m->type == 0) {
        archive_entry_set_filetype (e, AE_IFREG);
        archive_entry_set_perm (e, m->mode);
        archive_entry_set_hardlink (e, m->link);
        archive_entry_set_size (e, 0);
    } else {
        archive_entry_set_filetype (e, m->type);
        archive_entry_set_perm (e, m->mode);
        if (m->type == AE_IFLNK)
            archive_entry_set_symlink (e, m->link);
        if (m->type == AE_IFCHR || m->type == AE_IFBLK) {
            archive_entry_set_rdevmajor (e, m->major);
            archive_entry_set_rdevminor (e, m->minor);
        }
        archive_entry_set_size (e,
                                m->type == AE_IFREG && m->data ? (la_int64_t) strlen (m->data) : 0);
    }
    if (m->xattr != NULL) {
        const char *eq = strchr (m->xattr, '=');
        cleanup_free char *name = xstrndup (m->xattr, (size_t) (eq - m->xattr));
        archive_entry_xattr_add_entry (e, name, eq + 1, strlen (eq + 1));
    }
    assert_int_equal (archive_write_header (a, e), ARCHIVE_OK);
    if (m->type == AE_IFREG && m->data != NULL)
        assert_int_equal (archive_write_data (a, m->data, strlen (m->data)),
                          (la_ssize_t) strlen (m->data));
    archive_entry_free (e);
}

/* With WARREN_UNPACK_SAVE_LAYERS=DIR, small layers are copied to DIR: that
 * is how tests/fuzz/corpus/unpack was made. */
static void
save_for_corpus (const char *path)
{
    static int saved;
    const char *dir = getenv ("WARREN_UNPACK_SAVE_LAYERS");
    struct stat st;
    if (dir == NULL || stat (path, &st) < 0 || st.st_size > 16384)
        return;
    const char *ext = strchr (strrchr (path, '/'), '.');
    cleanup_free char *command = xasprintf ("cp %s %s/layer-%03d%s", path, dir, saved++, ext);
    assert_int_equal (system (command), 0);
}

/* Writes MEMBERS as a tar layer (FILTER) under T/layers; returns its path.
 * DIFF_ID (when not NULL) gets the digest of the uncompressed tar. */
static char *
write_layer (fixture_t *f, const member_t *members, int filter, char *diff_id)
{
    char *path = xasprintf ("%s/layers/%d.tar%s", f->dir, f->layers++,
                            filter == GZIP   ? ".gz"
                            : filter == ZSTD ? ".zst"
                                             : "");
    for (int pass = 0; pass < 2; pass++) {
        /* Pass 0 writes the uncompressed tar to hash it. */
        if (pass == 0 && diff_id == NULL)
            continue;
        struct archive *a = archive_write_new ();
        assert_int_equal (archive_write_set_format_pax (a), ARCHIVE_OK);
        if (pass == 1 && filter == GZIP)
            assert_int_equal (archive_write_add_filter_gzip (a), ARCHIVE_OK);
        if (pass == 1 && filter == ZSTD)
            assert_int_equal (archive_write_add_filter_zstd (a), ARCHIVE_OK);
        cleanup_free char *plain = xasprintf ("%s.plain", path);
        assert_int_equal (archive_write_open_filename (a, pass == 0 ? plain : path), ARCHIVE_OK);
        for (const member_t *m = members; m->path != NULL; m++)
            add_member (a, m);
        assert_int_equal (archive_write_close (a), ARCHIVE_OK);
        archive_write_free (a);
        if (pass == 1)
            save_for_corpus (path);
        if (pass == 0) {
            FILE *fp = fopen (plain, "r");
            assert_non_null (fp);
            wr_sha256_t *sha = wr_sha256_new ();
            char buf[4096];
            size_t n;
            while ((n = fread (buf, 1, sizeof buf, fp)) > 0)
                wr_sha256_update (sha, buf, n);
            wr_sha256_final (sha, diff_id);
            wr_sha256_free (sha);
            fclose (fp);
            unlink (plain);
        }
    }
    return path;
}

static const wr_unpack_options_t keep = { .keep_owners = true };

static int
unpack (fixture_t *f, const member_t *members, wr_error_t *err)
{
    cleanup_free char *layer = write_layer (f, members, NONE, NULL);
    return wr_unpack_layer (f->root_fd, layer, NULL, &keep, err);
}

/* Unpacking MEMBERS fails with an error containing each of the NEEDLES
 * (NULL-terminated), and writes nothing outside the root. */
static void
expect_refused (fixture_t *f, const member_t *members, ...)
{
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (unpack (f, members, &err), -1);
    assert_non_null (err);
    va_list ap;
    va_start (ap, members);
    const char *needle;
    while ((needle = va_arg (ap, const char *)) != NULL) {
        if (strstr (err->message, needle) == NULL)
            fail_msg ("error `%s` does not contain `%s`", err->message, needle);
    }
    va_end (ap);
    /* The error names the layer file. */
    assert_non_null (strstr (err->message, "/layers/"));
    assert_outside_untouched (f, NULL);
}

static char *
read_file (const char *path)
{
    FILE *fp = fopen (path, "r");
    if (fp == NULL)
        return NULL;
    char buf[4096];
    size_t n = fread (buf, 1, sizeof buf - 1, fp);
    fclose (fp);
    buf[n] = '\0';
    return xstrdup (buf);
}

static char *
root_path (fixture_t *f, const char *path)
{
    return xasprintf ("%s/%s", f->root, path);
}

static void
assert_content (fixture_t *f, const char *path, const char *content)
{
    cleanup_free char *p = root_path (f, path);
    cleanup_free char *got = read_file (p);
    if (got == NULL)
        fail_msg ("%s: %s", p, strerror (errno));
    assert_string_equal (got, content);
}

static void
assert_missing (fixture_t *f, const char *path)
{
    cleanup_free char *p = root_path (f, path);
    struct stat st;
    if (lstat (p, &st) == 0)
        fail_msg ("%s exists, it should not", p);
}

static struct stat
stat_in_root (fixture_t *f, const char *path)
{
    cleanup_free char *p = root_path (f, path);
    struct stat st;
    if (lstat (p, &st) < 0)
        fail_msg ("lstat %s: %s", p, strerror (errno));
    return st;
}

/* ---- names ---- */

static void
expect_normal (const char *name, const char *want)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_free char *got = wr_path_normalize (name, &err);
    if (want == NULL) {
        assert_null (got);
        assert_non_null (err);
    } else {
        assert_non_null (got);
        assert_string_equal (got, want);
    }
}

static void
test_normalize (void **state)
{
    expect_normal ("./a//b/", "a/b");
    expect_normal ("a/./b", "a/b");
    expect_normal (".", "");
    expect_normal ("./", "");
    expect_normal ("...", "...");
    expect_normal ("..a/b..", "..a/b..");
    expect_normal ("/etc/passwd", NULL);
    expect_normal ("..", NULL);
    expect_normal ("../x", NULL);
    expect_normal ("a/../../x", NULL);
    expect_normal ("a/..", NULL);
    expect_normal ("", NULL);
}

/* ---- hostile layers ---- */

static void
test_refuses_dotdot (void **state)
{
    fixture_t *f = *state;
    member_t m[] = { FILE_ ("../outside/evil", "x"), END_ };
    expect_refused (f, m, "../outside/evil", "\"..\"", NULL);
    member_t m2[] = { DIR_ ("a"), FILE_ ("a/../../outside/evil", "x"), END_ };
    expect_refused (f, m2, "a/../../outside/evil", NULL);
}

/* Refused at the first entry of a layer much larger than what the
 * decompressing thread buffers: it is stopped, not waited for. */
static void
test_refused_early_in_a_big_layer (void **state)
{
    fixture_t *f = *state;
    size_t size = 8 << 20;
    cleanup_free char *big = xmalloc (size + 1);
    uint32_t x = 12345;
    for (size_t i = 0; i < size; i++) {
        x = x * 1103515245 + 12345;
        big[i] = (char) ('a' + (x >> 16) % 26);
    }
    big[size] = '\0';
    member_t m[] = { FILE_ ("../evil", "x"), FILE_ ("big", big), END_ };
    int filters[] = { NONE, GZIP };
    for (int i = 0; i < 2; i++) {
        cleanup_free char *layer = write_layer (f, m, filters[i], NULL);
        cleanup_error wr_error_t err = NULL;
        assert_int_equal (wr_unpack_layer (f->root_fd, layer, NULL, &keep, &err), -1);
        assert_non_null (strstr (err->message, "../evil"));
        assert_missing (f, "big");
        assert_outside_untouched (f, NULL);
    }
}

static void
cancel_on_progress (void *data, unsigned long long bytes_read)
{
    if (bytes_read > 0)
        wr_cancel_request (data);
}

/* Cancelled before it starts, and while it reads a big layer (from its
 * progress callback): a cancelled error, no root, no temporary. */
static void
test_unpack_root_cancelled (void **state)
{
    fixture_t *f = *state;
    size_t size = 8 << 20;
    cleanup_free char *big = xmalloc (size + 1);
    memset (big, 'a', size);
    big[size] = '\0';
    member_t m[] = { FILE_ ("small", "x"), FILE_ ("big", big), FILE_ ("after", "y"), END_ };
    cleanup_free char *layer = write_layer (f, m, NONE, NULL);
    const char *layers[] = { layer, NULL };
    cleanup_free char *dest = xasprintf ("%s/made", f->dir);
    for (int during = 0; during < 2; during++) {
        cleanup_cancel wr_cancel_t *cancel = wr_cancel_new (NULL, 0, NULL, NULL);
        if (!during)
            wr_cancel_request (cancel);
        wr_unpack_options_t options = {
            .keep_owners = true,
            .cancel = cancel,
            .progress = during ? cancel_on_progress : NULL,
            .progress_data = cancel,
        };
        cleanup_error wr_error_t err = NULL;
        assert_int_equal (wr_unpack_root (layers, NULL, dest, &options, &err), -1);
        assert_int_equal (wr_error_kind (err), WR_ERROR_CANCELLED);
        assert_non_null (strstr (err->message, "cancelled"));
        struct stat st;
        assert_int_equal (stat (dest, &st), -1);
        assert_outside_untouched (f, NULL);
    }
}

/* Unpacks LAYERS into T/made with LIMITS through wr_unpack_root: refused
 * as a limit, the error names the layer and contains NEEDLE, and nothing
 * is left (no root, no temporary). */
static void
expect_limit (fixture_t *f, const char *const *layers, wr_unpack_limits_t limits,
              const char *needle)
{
    cleanup_free char *dest = xasprintf ("%s/made", f->dir);
    wr_unpack_options_t options = { .keep_owners = true, .limits = limits };
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_unpack_root (layers, NULL, dest, &options, &err), -1);
    assert_non_null (err);
    if (strstr (err->message, needle) == NULL)
        fail_msg ("error `%s` does not contain `%s`", err->message, needle);
    assert_non_null (strstr (err->message, "/layers/"));
    assert_int_equal (wr_error_kind (err), WR_ERROR_LIMIT);
    assert_outside_untouched (f, NULL);
}

static void
test_limit_bombs (void **state)
{
    fixture_t *f = *state;
    size_t size = 64 << 20;
    cleanup_free char *zeros = xmalloc (size + 1);
    memset (zeros, '0', size);
    zeros[size] = '\0';
    member_t m[] = { DIR_ ("d"), FILE_ ("d/bomb", zeros), END_ };
    int filters[] = { GZIP, ZSTD };
    for (int i = 0; i < 2; i++) {
        cleanup_free char *layer = write_layer (f, m, filters[i], NULL);
        struct stat st;
        assert_int_equal (stat (layer, &st), 0);
        assert_true (st.st_size < (1 << 20)); /* small on the wire */
        const char *layers[] = { layer, NULL };
        expect_limit (f, layers, (wr_unpack_limits_t){ .layer_bytes = 16 << 20 },
                      "limit of 16777216 bytes per layer");
        /* The image's limit counts all of its layers. */
        expect_limit (f, layers, (wr_unpack_limits_t){ .image_bytes = 16 << 20 },
                      "the image expands past the limit of 16777216 bytes");
        /* Under the default limits the same layer unpacks. */
        cleanup_free char *dest = xasprintf ("%s/made", f->dir);
        assert_int_equal (wr_unpack_root (layers, NULL, dest, &keep, NULL), 0);
        cleanup_error wr_error_t err = NULL;
        assert_int_equal (wr_remove_tree_at (AT_FDCWD, dest, &err), 0);
    }
}

static void
test_limit_entries_and_paths (void **state)
{
    fixture_t *f = *state;
    member_t many[21];
    char names[20][8];
    for (int i = 0; i < 20; i++) {
        snprintf (names[i], sizeof names[i], "f%02d", i);
        many[i] = (member_t) FILE_ (names[i], "x");
    }
    many[20] = (member_t) END_;
    cleanup_free char *big = write_layer (f, many, NONE, NULL);
    const char *one[] = { big, NULL };
    expect_limit (f, one, (wr_unpack_limits_t){ .layer_entries = 10 },
                  "more than 10 entries, the limit per layer");
    /* Two layers of 20 each: within 30 a layer, past 30 for the image. */
    const char *two[] = { big, big, NULL };
    expect_limit (f, two, (wr_unpack_limits_t){ .layer_entries = 30, .image_entries = 30 },
                  "the image has more than 30 entries");

    member_t deep[] = { FILE_ ("a/b/c/d/e/f", "x"), END_ };
    cleanup_free char *deep_layer = write_layer (f, deep, NONE, NULL);
    const char *d[] = { deep_layer, NULL };
    expect_limit (f, d, (wr_unpack_limits_t){ .path_depth = 4 },
                  "6 levels deep, over the limit of 4");

    member_t longname[] = { FILE_ ("a-rather-long-file-name-of-forty-bytes-x", "x"), END_ };
    cleanup_free char *long_layer = write_layer (f, longname, NONE, NULL);
    const char *l[] = { long_layer, NULL };
    expect_limit (f, l, (wr_unpack_limits_t){ .path_length = 16 },
                  "a path of 40 bytes, over the limit of 16");
}

static void
test_refuses_absolute (void **state)
{
    fixture_t *f = *state;
    cleanup_free char *evil = xasprintf ("%s/evil", f->outside);
    member_t m[] = { FILE_ (evil, "x"), END_ };
    expect_refused (f, m, "absolute path", evil, NULL);
}

static void
test_symlink_then_write_through_it (void **state)
{
    fixture_t *f = *state;
    /* An absolute symlink to the sentinel, then a file under it. */
    member_t m[] = { LINK_ ("link", f->outside), FILE_ ("link/evil", "x"), END_ };
    expect_refused (f, m, "entry `link/evil`", NULL);
    /* The same with a relative chain of "..". */
    member_t m2[] = { LINK_ ("up", "../../../../../../../.."), FILE_ ("up/tmp/evil", "x"), END_ };
    cleanup_error wr_error_t err = NULL;
    /* "up" resolves to the root itself: "up/tmp/evil" lands in ROOT/tmp. */
    assert_int_equal (unpack (f, m2, &err), 0);
    assert_content (f, "tmp/evil", "x");
    assert_outside_untouched (f, NULL);
    /* A regular file replaces a symlink instead of writing through it. */
    cleanup_free char *canary = xasprintf ("%s/canary", f->outside);
    member_t m3[] = { LINK_ ("c", canary), FILE_ ("c", "replaced"), END_ };
    assert_int_equal (unpack (f, m3, &err), 0);
    assert_content (f, "c", "replaced");
    assert_true (S_ISREG (stat_in_root (f, "c").st_mode));
    assert_outside_untouched (f, NULL);
    /* A directory entry through a symlink is not made outside either. */
    member_t m4[] = { LINK_ ("d", f->outside), DIR_ ("d/newdir"), END_ };
    assert_int_equal (unpack (f, m4, &err), -1);
    assert_outside_untouched (f, NULL);
}

static void
test_symlink_dotdot_chains (void **state)
{
    fixture_t *f = *state;
    member_t m[] = {
        LINK_ ("a", ".."),        LINK_ ("b", "a/a/a/a"), FILE_ ("b/evil", "in the root"),
        LINK_ ("c", "/../../.."), DIR_ ("c/made"),        END_,
    };
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (unpack (f, m, &err), 0);
    assert_content (f, "evil", "in the root");
    assert_true (S_ISDIR (stat_in_root (f, "made").st_mode));
    assert_outside_untouched (f, NULL);
}

static void
test_hard_links_outside (void **state)
{
    fixture_t *f = *state;
    member_t m[] = { HARD_ ("passwd", "/etc/passwd"), END_ };
    expect_refused (f, m, "entry `passwd`", "absolute path", NULL);
    member_t m2[] = { HARD_ ("canary", "../outside/canary"), END_ };
    expect_refused (f, m2, "entry `canary`", "\"..\"", NULL);
    /* Through a symlink that points outside: resolved inside the root. */
    member_t m3[] = { LINK_ ("out", f->outside), HARD_ ("x", "out/canary"), END_ };
    expect_refused (f, m3, "entry `x`", "hard link target `out/canary`", NULL);
    member_t m4[] = { LINK_ ("etc", "/etc"), HARD_ ("y", "etc/passwd"), END_ };
    expect_refused (f, m4, "entry `y`", NULL);
    assert_missing (f, "y");
}

static void
test_hard_link_through_symlink_inside (void **state)
{
    fixture_t *f = *state;
    member_t m[] = {
        DIR_ ("etc"),
        FILE_ ("etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
        LINK_ ("lnk", "/etc"),
        HARD_ ("copy", "lnk/passwd"),
        END_,
    };
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (unpack (f, m, &err), 0);
    struct stat a = stat_in_root (f, "etc/passwd"), b = stat_in_root (f, "copy");
    assert_int_equal (a.st_ino, b.st_ino);
    assert_int_equal (a.st_nlink, 2);
    assert_outside_untouched (f, NULL);
}

static void
test_hostile_whiteouts (void **state)
{
    fixture_t *f = *state;
    member_t m[] = { FILE_ (".wh...", ""), END_ };
    expect_refused (f, m, "whiteout `.wh...` refused", NULL);
    member_t m2[] = { DIR_ ("a"), FILE_ ("a/.wh...", ""), END_ };
    expect_refused (f, m2, "whiteout `a/.wh...` refused", NULL);
    member_t m3[] = { FILE_ (".wh..", ""), END_ };
    expect_refused (f, m3, "whiteout `.wh..` refused", NULL);
    member_t m4[] = { FILE_ (".wh.", ""), END_ };
    expect_refused (f, m4, "whiteout `.wh.` refused", NULL);
    member_t m5[] = { FILE_ ("../.wh.outside", ""), END_ };
    expect_refused (f, m5, "\"..\"", NULL);
    /* A whiteout through a symlink to the sentinel is refused, as a write
     * through it is, and removes nothing there. */
    member_t m6[] = { LINK_ ("s", f->outside), FILE_ ("s/.wh.canary", ""), END_ };
    expect_refused (f, m6, "entry `s/.wh.canary`", "symlink", NULL);
    member_t m7[] = { LINK_ ("s2", f->outside), FILE_ ("s2/.wh..wh..opq", ""), END_ };
    expect_refused (f, m7, "entry `s2/.wh..wh..opq`", "symlink", NULL);
    cleanup_error wr_error_t err = NULL;
    /* A whiteout in a directory that is plainly missing still does nothing. */
    member_t m8[] = { FILE_ ("nodir/.wh.x", ""), END_ };
    assert_int_equal (unpack (f, m8, &err), 0);
    assert_outside_untouched (f, NULL);
    /* Whiting out, or making opaque the directory of, a symlink to the
     * sentinel removes the symlink, never what it points to. */
    member_t lower[] = { LINK_ ("t", f->outside), DIR_ ("o"), LINK_ ("o/t", f->outside), END_ };
    member_t upper[] = { FILE_ (".wh.t", ""), FILE_ ("o/.wh..wh..opq", ""), END_ };
    assert_int_equal (unpack (f, lower, &err), 0);
    assert_int_equal (unpack (f, upper, &err), 0);
    assert_missing (f, "t");
    assert_missing (f, "o/t");
    assert_outside_untouched (f, NULL);
    /* The root was left as it was after the refusals. */
    assert_missing (f, "a/.wh...");
}

/* ---- normal layers ---- */

static void
test_metadata_kept (void **state)
{
    fixture_t *f = *state;
    if (geteuid () != 0)
        skip ();
    member_t m[] = {
        { .path = "./", .type = AE_IFDIR, .mode = 0751, .mtime = 1500000000 },
        { .path = "bin", .type = AE_IFDIR, .mode = 0755, .mtime = 1200000000 },
        { .path = "bin/suid",
          .type = AE_IFREG,
          .mode = 04755,
          .data = "#!/bin/sh\n",
          .uid = 0,
          .gid = 0,
          .mtime = 1234567890 },
        { .path = "bin/owned",
          .type = AE_IFREG,
          .mode = 02750,
          .data = "x",
          .uid = 1234,
          .gid = 5678,
          .mtime = 1111111111 },
        { .path = "tmp", .type = AE_IFDIR, .mode = 01777, .mtime = 1300000000 },
        { .path = "shared", .type = AE_IFDIR, .mode = 02775, .uid = 1000, .gid = 1000 },
        { .path = "ro", .type = AE_IFDIR, .mode = 0555 },
        { .path = "ro/file", .type = AE_IFREG, .mode = 0444, .data = "read only" },
        { .path = "dev", .type = AE_IFDIR, .mode = 0755 },
        { .path = "dev/null", .type = AE_IFCHR, .mode = 0666, .major = 1, .minor = 3 },
        { .path = "dev/loop9", .type = AE_IFBLK, .mode = 0660, .major = 7, .minor = 9, .gid = 6 },
        { .path = "dev/fifo", .type = AE_IFIFO, .mode = 0600 },
        { .path = "sh",
          .type = AE_IFLNK,
          .mode = 0777,
          .link = "/bin/suid",
          .uid = 7,
          .gid = 8,
          .mtime = 1400000000 },
        { .path = "attr",
          .type = AE_IFREG,
          .mode = 0644,
          .data = "a",
          .xattr = "user.warren=hello" },
        { .path = "attrdir", .type = AE_IFDIR, .mode = 0755, .xattr = "user.dir=yes" },
        { .path = "ovl",
          .type = AE_IFREG,
          .mode = 0644,
          .data = "o",
          .xattr = "user.overlay.opaque=y" },
        { .path = "ovldir", .type = AE_IFDIR, .mode = 0755, .xattr = "trusted.overlay.opaque=y" },
        HARD_ ("bin/suid-again", "bin/suid"),
        END_,
    };
    cleanup_error wr_error_t err = NULL;
    if (unpack (f, m, &err) < 0)
        fail_msg ("%s", err->message);

    struct stat st = stat_in_root (f, "bin/suid");
    assert_int_equal (st.st_mode, S_IFREG | 04755);
    assert_int_equal (st.st_mtim.tv_sec, 1234567890);
    assert_int_equal (st.st_nlink, 2);
    assert_content (f, "bin/suid", "#!/bin/sh\n");
    st = stat_in_root (f, "bin/owned");
    assert_int_equal (st.st_mode, S_IFREG | 02750);
    assert_int_equal (st.st_uid, 1234);
    assert_int_equal (st.st_gid, 5678);
    /* A directory's time is set after its contents were made. */
    st = stat_in_root (f, "bin");
    assert_int_equal (st.st_mtim.tv_sec, 1200000000);
    st = stat_in_root (f, "tmp");
    assert_int_equal (st.st_mode, S_IFDIR | 01777);
    assert_int_equal (st.st_mtim.tv_sec, 1300000000);
    st = stat_in_root (f, "shared");
    assert_int_equal (st.st_mode, S_IFDIR | 02775);
    assert_int_equal (st.st_uid, 1000);
    st = stat_in_root (f, "ro");
    assert_int_equal (st.st_mode, S_IFDIR | 0555);
    assert_content (f, "ro/file", "read only");
    st = stat_in_root (f, "dev/null");
    assert_true (S_ISCHR (st.st_mode));
    assert_int_equal (st.st_mode & 07777, 0666);
    assert_int_equal (major (st.st_rdev), 1);
    assert_int_equal (minor (st.st_rdev), 3);
    st = stat_in_root (f, "dev/loop9");
    assert_true (S_ISBLK (st.st_mode));
    assert_int_equal (st.st_mode & 07777, 0660);
    assert_int_equal (st.st_gid, 6);
    assert_int_equal (minor (st.st_rdev), 9);
    st = stat_in_root (f, "dev/fifo");
    assert_true (S_ISFIFO (st.st_mode));
    assert_int_equal (st.st_mode & 07777, 0600);
    st = stat_in_root (f, "sh");
    assert_true (S_ISLNK (st.st_mode));
    assert_int_equal (st.st_uid, 7);
    assert_int_equal (st.st_gid, 8);
    assert_int_equal (st.st_mtim.tv_sec, 1400000000);
    cleanup_free char *sh = root_path (f, "sh");
    char target[64] = { 0 };
    assert_int_equal (readlink (sh, target, sizeof target - 1), 9);
    assert_string_equal (target, "/bin/suid");
    /* The root's own entry ("./"). */
    struct stat root;
    assert_int_equal (fstat (f->root_fd, &root), 0);
    assert_int_equal (root.st_mode & 07777, 0751);
    assert_int_equal (root.st_mtim.tv_sec, 1500000000);

    cleanup_free char *attr = root_path (f, "attr");
    char value[32] = { 0 };
    assert_int_equal (getxattr (attr, "user.warren", value, sizeof value), 5);
    assert_string_equal (value, "hello");
    cleanup_free char *attrdir = root_path (f, "attrdir");
    memset (value, 0, sizeof value);
    assert_int_equal (getxattr (attrdir, "user.dir", value, sizeof value), 3);
    /* overlayfs's own attributes are never written into a root */
    cleanup_free char *ovl = root_path (f, "ovl");
    assert_int_equal (getxattr (ovl, "user.overlay.opaque", value, sizeof value), -1);
    assert_int_equal (errno, ENODATA);
    cleanup_free char *ovldir = root_path (f, "ovldir");
    assert_int_equal (getxattr (ovldir, "trusted.overlay.opaque", value, sizeof value), -1);
    assert_int_equal (errno, ENODATA);
    assert_outside_untouched (f, NULL);
}

static void
test_owners_not_kept (void **state)
{
    fixture_t *f = *state;
    member_t m[] = {
        { .path = "f", .type = AE_IFREG, .mode = 0640, .data = "x", .uid = 4321, .gid = 4321 }, END_
    };
    cleanup_free char *layer = write_layer (f, m, NONE, NULL);
    wr_unpack_options_t options = { .keep_owners = false };
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_unpack_layer (f->root_fd, layer, NULL, &options, &err), 0);
    struct stat st = stat_in_root (f, "f");
    assert_int_equal (st.st_uid, geteuid ());
    assert_int_equal (st.st_mode & 07777, 0640);
}

/* Without root, device nodes are skipped with a warning and the rest is
 * unpacked; with root (keep_owners) a refused mknod would be an error. */
static void
test_rootless_skips_devices (void **state)
{
    fixture_t *f = *state;
    if (geteuid () != 0)
        skip (); /* needs root to become nobody */
    member_t m[] = {
        { .path = "null", .type = AE_IFCHR, .mode = 0666, .major = 1, .minor = 3 },
        { .path = "fifo", .type = AE_IFIFO, .mode = 0644 },
        FILE_ ("file", "kept"),
        END_,
    };
    cleanup_free char *layer = write_layer (f, m, GZIP, NULL);
    assert_int_equal (chmod (f->dir, 0755), 0);
    assert_int_equal (chown (f->root, 65534, 65534), 0);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        if (setgroups (0, NULL) < 0 || setresgid (65534, 65534, 65534) < 0 ||
            setresuid (65534, 65534, 65534) < 0)
            _exit (2);
        wr_unpack_options_t options = { .keep_owners = false };
        wr_error_t err = NULL;
        if (wr_unpack_layer (f->root_fd, layer, NULL, &options, &err) < 0) {
            fprintf (stderr, "%s\n", err->message);
            _exit (1);
        }
        _exit (0);
    }
    int status;
    assert_int_equal (waitpid (pid, &status, 0), pid);
    assert_true (WIFEXITED (status));
    assert_int_equal (WEXITSTATUS (status), 0);
    assert_missing (f, "null");
    assert_true (S_ISFIFO (stat_in_root (f, "fifo").st_mode));
    assert_content (f, "file", "kept");
    assert_int_equal (stat_in_root (f, "file").st_uid, 65534);
}

static void
test_whiteouts_across_layers (void **state)
{
    fixture_t *f = *state;
    member_t lower[] = {
        DIR_ ("a"),
        FILE_ ("a/f1", "1"),
        FILE_ ("a/f2", "2"),
        DIR_ ("d"),
        FILE_ ("d/x", "x"),
        DIR_ ("d/sub"),
        FILE_ ("d/sub/y", "y"),
        DIR_ ("o"),
        FILE_ ("o/old", "old"),
        DIR_ ("o/keep"),
        FILE_ ("o/keep/z", "z"),
        LINK_ ("o/oldlink", "/a"),
        DIR_ ("p"),
        FILE_ ("p/lower", "lower"),
        FILE_ ("f", "old f"),
        DIR_ ("q"),
        FILE_ ("q/lower", "lower"),
        DIR_ ("r"),
        DIR_ ("r/s"),
        FILE_ ("r/s/lower", "lower"),
        END_,
    };
    member_t upper[] = {
        FILE_ ("a/.wh.f1", ""),
        FILE_ (".wh.d", ""),
        /* opaque first, then this layer's entries */
        FILE_ ("o/.wh..wh..opq", ""),
        FILE_ ("o/new", "new"),
        DIR_ ("o/keep"),
        FILE_ ("o/keep/n", "n"),
        /* this layer's entries first, then opaque */
        FILE_ ("p/new1", "new1"),
        FILE_ ("p/.wh..wh..opq", ""),
        /* whiteout then a new entry of the same name */
        FILE_ (".wh.f", ""),
        FILE_ ("f", "new f"),
        /* a new entry, then a whiteout of it: the whiteout is for lower layers */
        FILE_ ("q/upper", "upper"),
        FILE_ ("q/.wh.upper", ""),
        FILE_ ("q/.wh.lower", ""),
        /* a file deep in a directory this layer does not list, then opaque */
        FILE_ ("r/s/new", "new"),
        FILE_ ("r/.wh..wh..opq", ""),
        /* whiteout of something that never existed */
        FILE_ ("a/.wh.nothing", ""),
        FILE_ ("nowhere/.wh.x", ""),
        /* aufs bookkeeping is ignored */
        FILE_ (".wh..wh.plnk", ""),
        END_,
    };
    cleanup_free char *l1 = write_layer (f, lower, GZIP, NULL);
    cleanup_free char *l2 = write_layer (f, upper, ZSTD, NULL);
    cleanup_error wr_error_t err = NULL;
    if (wr_unpack_layer (f->root_fd, l1, NULL, &keep, &err) < 0 ||
        wr_unpack_layer (f->root_fd, l2, NULL, &keep, &err) < 0)
        fail_msg ("%s", err->message);

    assert_missing (f, "a/f1");
    assert_missing (f, "a/.wh.f1");
    assert_content (f, "a/f2", "2");
    assert_missing (f, "d");
    assert_missing (f, ".wh.d");
    cleanup_free char *o = list_dir (f->root);
    cleanup_free char *o_list = root_path (f, "o");
    cleanup_free char *o_names = list_dir (o_list);
    assert_string_equal (o_names, "keep new");
    cleanup_free char *keep_dir = root_path (f, "o/keep");
    cleanup_free char *keep_names = list_dir (keep_dir);
    assert_string_equal (keep_names, "n");
    cleanup_free char *p_dir = root_path (f, "p");
    cleanup_free char *p_names = list_dir (p_dir);
    assert_string_equal (p_names, "new1");
    assert_content (f, "f", "new f");
    cleanup_free char *q_dir = root_path (f, "q");
    cleanup_free char *q_names = list_dir (q_dir);
    assert_string_equal (q_names, "upper");
    cleanup_free char *rs_dir = root_path (f, "r/s");
    cleanup_free char *rs_names = list_dir (rs_dir);
    assert_string_equal (rs_names, "new");
    assert_missing (f, "nowhere");
    assert_missing (f, ".wh..wh.plnk");
    assert_string_equal (o, "a f o p q r");
    assert_outside_untouched (f, NULL);
}

static void
test_replacing_entries (void **state)
{
    fixture_t *f = *state;
    member_t lower[] = {
        DIR_ ("x"),
        FILE_ ("x/inside", "i"),
        FILE_ ("y", "file"),
        LINK_ ("z", "/x"),
        DIR_ ("w"),
        FILE_ ("w/kept", "k"),
        END_,
    };
    member_t upper[] = {
        FILE_ ("x", "now a file"), /* a directory replaced by a file */
        DIR_ ("y"),
        FILE_ ("y/in", "in"), /* a file replaced by a directory */
        FILE_ ("z", "not a link"), /* a symlink replaced, not followed */
        { .path = "w", .type = AE_IFDIR, .mode = 0700 }, /* a directory kept, new mode */
        END_,
    };
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (unpack (f, lower, &err), 0);
    assert_int_equal (unpack (f, upper, &err), 0);
    assert_content (f, "x", "now a file");
    assert_content (f, "y/in", "in");
    assert_content (f, "z", "not a link");
    assert_content (f, "w/kept", "k");
    assert_int_equal (stat_in_root (f, "w").st_mode, S_IFDIR | 0700);
}

static void
test_compressions_and_diff_id (void **state)
{
    fixture_t *f = *state;
    int filters[] = { NONE, GZIP, ZSTD };
    for (int i = 0; i < 3; i++) {
        cleanup_free char *name = xasprintf ("file%d", i);
        member_t m[] = { FILE_ (name, "compressed or not"), END_ };
        char diff_id[WR_DIGEST_MAX_LEN + 1];
        cleanup_free char *layer = write_layer (f, m, filters[i], diff_id);
        cleanup_error wr_error_t err = NULL;
        if (wr_unpack_layer (f->root_fd, layer, diff_id, &keep, &err) < 0)
            fail_msg ("%s", err->message);
        assert_content (f, name, "compressed or not");
        /* The wrong diff_id is an error naming both digests. */
        const char *wrong =
            "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        assert_int_equal (wr_unpack_layer (f->root_fd, layer, wrong, &keep, &err), -1);
        assert_non_null (strstr (err->message, wrong));
        assert_non_null (strstr (err->message, diff_id));
        assert_non_null (strstr (err->message, layer));
        wr_error_free (&err);
        /* An invalid diff_id is refused before anything is read. */
        assert_int_equal (wr_unpack_layer (f->root_fd, layer, "sha256:../x", &keep, &err), -1);
        assert_non_null (strstr (err->message, "diff_id"));
    }
}

static void
count_progress (void *data, unsigned long long bytes)
{
    *(unsigned long long *) data = bytes;
}

static void
test_progress (void **state)
{
    fixture_t *f = *state;
    member_t m[] = { FILE_ ("f", "some bytes"), END_ };
    cleanup_free char *layer = write_layer (f, m, GZIP, NULL);
    unsigned long long bytes = 0;
    wr_unpack_options_t options = { .progress = count_progress, .progress_data = &bytes };
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_unpack_layer (f->root_fd, layer, NULL, &options, &err), 0);
    struct stat st;
    assert_int_equal (stat (layer, &st), 0);
    assert_int_equal (bytes, (unsigned long long) st.st_size);
}

/* The temporary siblings wr_unpack_root may leave: none. */
static void
assert_no_tmp_siblings (fixture_t *f, const char *expected)
{
    cleanup_free char *names = list_dir (f->dir);
    assert_string_equal (names, expected);
}

static void
test_unpack_root (void **state)
{
    fixture_t *f = *state;
    member_t l1[] = { DIR_ ("etc"), FILE_ ("etc/hostname", "one"), FILE_ ("etc/gone", "x"), END_ };
    member_t l2[] = { FILE_ ("etc/hostname", "two"), FILE_ ("etc/.wh.gone", ""), END_ };
    char d1[WR_DIGEST_MAX_LEN + 1], d2[WR_DIGEST_MAX_LEN + 1];
    cleanup_free char *p1 = write_layer (f, l1, GZIP, d1);
    cleanup_free char *p2 = write_layer (f, l2, ZSTD, d2);
    cleanup_free char *dest = xasprintf ("%s/dest", f->dir);
    const char *layers[] = { p1, p2, NULL };
    const char *diff_ids[] = { d1, d2, NULL };
    cleanup_error wr_error_t err = NULL;
    if (wr_unpack_root (layers, diff_ids, dest, &keep, &err) < 0)
        fail_msg ("%s", err->message);
    cleanup_free char *hostname = xasprintf ("%s/etc/hostname", dest);
    cleanup_free char *content = read_file (hostname);
    assert_string_equal (content, "two");
    cleanup_free char *etc = xasprintf ("%s/etc", dest);
    cleanup_free char *names = list_dir (etc);
    assert_string_equal (names, "hostname");
    struct stat st;
    assert_int_equal (stat (dest, &st), 0);
    assert_int_equal (st.st_mode & 07777, 0755);
    assert_no_tmp_siblings (f, "dest layers outside root");

    /* DEST exists: refused, and nothing is left behind. */
    assert_int_equal (wr_unpack_root (layers, NULL, dest, &keep, &err), -1);
    assert_int_equal (err->errno_value, EEXIST);
    assert_no_tmp_siblings (f, "dest layers outside root");
    wr_error_free (&err);

    /* A wrong diff_id on the second layer: nothing is made. */
    cleanup_free char *dest2 = xasprintf ("%s/dest2", f->dir);
    const char *wrong[] = { d1, d1, NULL };
    assert_int_equal (wr_unpack_root (layers, wrong, dest2, &keep, &err), -1);
    assert_non_null (strstr (err->message, p2));
    assert_no_tmp_siblings (f, "dest layers outside root");
    wr_error_free (&err);
    /* Fewer diff_ids than layers. */
    const char *short_ids[] = { d1, NULL };
    assert_int_equal (wr_unpack_root (layers, short_ids, dest2, &keep, &err), -1);
    assert_no_tmp_siblings (f, "dest layers outside root");
    assert_outside_untouched (f, "dest layers outside root");

    /* A temporary of dest2 left by a killed unpack (nobody holds its lock)
     * is removed by the next unpack of dest2. */
    cleanup_free char *abandoned = xasprintf ("%s/dest2.tmp-abandn", f->dir);
    cleanup_free char *inside = xasprintf ("%s/half-made", abandoned);
    assert_int_equal (mkdir (abandoned, 0700), 0);
    assert_int_equal (mkdir (inside, 0700), 0);
    if (wr_unpack_root (layers, diff_ids, dest2, &keep, &err) < 0)
        fail_msg ("%s", err->message);
    assert_no_tmp_siblings (f, "dest dest2 layers outside root");
}

/* ---- another unpack of the same root in progress ---- */

typedef struct {
    const char *const *layers;
    const char *const *diff_ids;
    const char *dest;
    int result;
    int errno_value;
    bool done;
} unpack_job_t;

static void *
unpack_job (void *data)
{
    unpack_job_t *job = data;
    wr_error_t err = NULL;
    job->result = wr_unpack_root (job->layers, job->diff_ids, job->dest, &keep, &err);
    job->errno_value = err != NULL ? err->errno_value : 0;
    wr_error_free (&err);
    __atomic_store_n (&job->done, true, __ATOMIC_SEQ_CST);
    return NULL;
}

/* DEST.tmp-other, locked as an unpack in progress holds it. */
static int
other_unpack (const char *dest, char **path)
{
    *path = xasprintf ("%s.tmp-other0", dest);
    assert_int_equal (mkdir (*path, 0700), 0);
    int fd = open (*path, O_RDONLY | O_DIRECTORY);
    assert_true (fd >= 0);
    assert_int_equal (flock (fd, LOCK_EX), 0);
    return fd;
}

static void
test_unpack_root_waits_for_another (void **state)
{
    fixture_t *f = *state;
    member_t l1[] = { FILE_ ("mine", "from this unpack"), END_ };
    char d1[WR_DIGEST_MAX_LEN + 1];
    cleanup_free char *p1 = write_layer (f, l1, GZIP, d1);
    const char *layers[] = { p1, NULL };
    const char *diff_ids[] = { d1, NULL };

    /* The other unpack makes DEST: this one waits for it, then has nothing
     * to do (EEXIST) and leaves DEST as the other made it. */
    cleanup_free char *dest = xasprintf ("%s/shared", f->dir);
    cleanup_free char *other = NULL;
    int lock = other_unpack (dest, &other);
    cleanup_free char *theirs = xasprintf ("%s/theirs", other);
    assert_int_equal (mkdir (theirs, 0755), 0);
    unpack_job_t job = { .layers = layers, .diff_ids = diff_ids, .dest = dest };
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, unpack_job, &job), 0);
    usleep (200 * 1000);
    assert_false (__atomic_load_n (&job.done, __ATOMIC_SEQ_CST));
    assert_int_equal (rename (other, dest), 0);
    close (lock);
    pthread_join (thread, NULL);
    assert_int_equal (job.result, -1);
    assert_int_equal (job.errno_value, EEXIST);
    cleanup_free char *kept = xasprintf ("%s/theirs", dest);
    cleanup_free char *mine = xasprintf ("%s/mine", dest);
    assert_int_equal (access (kept, F_OK), 0);
    assert_int_equal (access (mine, F_OK), -1);

    /* The other unpack fails (its lock goes, no DEST): this one removes
     * what it left and makes DEST itself. */
    cleanup_free char *dest2 = xasprintf ("%s/shared2", f->dir);
    cleanup_free char *other2 = NULL;
    lock = other_unpack (dest2, &other2);
    unpack_job_t job2 = { .layers = layers, .diff_ids = diff_ids, .dest = dest2 };
    assert_int_equal (pthread_create (&thread, NULL, unpack_job, &job2), 0);
    usleep (200 * 1000);
    assert_false (__atomic_load_n (&job2.done, __ATOMIC_SEQ_CST));
    close (lock);
    pthread_join (thread, NULL);
    assert_int_equal (job2.result, 0);
    cleanup_free char *mine2 = xasprintf ("%s/mine", dest2);
    assert_int_equal (access (mine2, F_OK), 0);
    assert_int_equal (access (other2, F_OK), -1);
}

static void
test_truncated_layer (void **state)
{
    fixture_t *f = *state;
    /* Enough content that the cut falls inside the data. */
    cleanup_free char *big = xmalloc (200001);
    for (int i = 0; i < 200000; i++)
        big[i] = (char) ('a' + (i * 7919) % 26);
    big[200000] = '\0';
    member_t m[] = { DIR_ ("d"), FILE_ ("d/first", "first"), FILE_ ("d/big", big),
                     FILE_ ("d/last", "last"), END_ };
    int filters[] = { NONE, GZIP, ZSTD };
    for (int i = 0; i < 3; i++) {
        cleanup_free char *layer = write_layer (f, m, filters[i], NULL);
        struct stat st;
        assert_int_equal (stat (layer, &st), 0);
        assert_int_equal (truncate (layer, st.st_size / 2), 0);
        cleanup_free char *dest = xasprintf ("%s/dest", f->dir);
        const char *layers[] = { layer, NULL };
        cleanup_error wr_error_t err = NULL;
        assert_int_equal (wr_unpack_root (layers, NULL, dest, &keep, &err), -1);
        assert_non_null (err);
        assert_non_null (strstr (err->message, layer));
        assert_no_tmp_siblings (f, "layers outside root");
        assert_outside_untouched (f, NULL);
    }
    /* Not a layer at all, and a missing file. */
    cleanup_free char *junk = xasprintf ("%s/layers/junk", f->dir);
    FILE *fp = fopen (junk, "w");
    fputs ("this is not a tar archive, not even close to one; it is just text", fp);
    fclose (fp);
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_unpack_layer (f->root_fd, junk, NULL, &keep, &err), -1);
    assert_non_null (strstr (err->message, junk));
    wr_error_free (&err);
    assert_int_equal (wr_unpack_layer (f->root_fd, "/nonexistent/layer", NULL, &keep, &err), -1);
    assert_non_null (strstr (err->message, "/nonexistent/layer"));
}

/* A tree deeper than RLIMIT_NOFILE is removed: one descriptor at a time. */
static void
test_remove_deep_tree_low_nofile (void **state)
{
    fixture_t *f = *state;
    assert_int_equal (mkdirat (f->root_fd, "deep", 0755), 0);
    int fd = openat (f->root_fd, "deep", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true (fd >= 0);
    for (int i = 0; i < 2500; i++) {
        assert_int_equal (mkdirat (fd, "d", 0755), 0);
        if (i % 100 == 0) {
            int file = openat (fd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
            assert_true (file >= 0);
            close (file);
            assert_int_equal (mkdirat (fd, "side", 0755), 0);
        }
        int child = openat (fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true (child >= 0);
        close (fd);
        fd = child;
    }
    close (fd);
    struct rlimit saved, low;
    assert_int_equal (getrlimit (RLIMIT_NOFILE, &saved), 0);
    low = saved;
    low.rlim_cur = 64;
    assert_int_equal (setrlimit (RLIMIT_NOFILE, &low), 0);
    cleanup_error wr_error_t err = NULL;
    int r = wr_remove_tree_at (f->root_fd, "deep", &err);
    assert_int_equal (setrlimit (RLIMIT_NOFILE, &saved), 0);
    if (r < 0)
        fail_msg ("%s", err->message);
    assert_int_equal (faccessat (f->root_fd, "deep", F_OK, AT_SYMLINK_NOFOLLOW), -1);
    assert_int_equal (errno, ENOENT);
    assert_outside_untouched (f, NULL);
}

/* The first layer given as a stream (a pipe, as a pull's download feeds
 * it): while it waits for another unpack, the stream is given up (its
 * writer sees EPIPE, so a download is never stalled by it), and when the
 * other fails this one says so (EAGAIN, unavailable) for the pull to
 * unpack again from the store. */
static int
stream_source (void *data, size_t index, int *fd, wr_error_t *err)
{
    *fd = index == 0 ? *(int *) data : -1;
    return 0;
}

typedef struct {
    const char *const *layers;
    const char *dest;
    int stream;
    int result, errno_value;
    wr_error_kind_t kind;
} stream_job_t;

static void *
stream_job (void *data)
{
    stream_job_t *job = data;
    wr_unpack_options_t options = { .keep_owners = true,
                                    .layer_source = stream_source,
                                    .layer_data = &job->stream };
    wr_error_t err = NULL;
    job->result = wr_unpack_root (job->layers, NULL, job->dest, &options, &err);
    job->errno_value = err != NULL ? err->errno_value : 0;
    job->kind = wr_error_kind (err);
    wr_error_free (&err);
    return NULL;
}

static void
test_unpack_root_gives_up_stream_to_wait (void **state)
{
    fixture_t *f = *state;
    member_t l1[] = { FILE_ ("mine", "from this unpack"), END_ };
    cleanup_free char *p1 = write_layer (f, l1, NONE, NULL);
    const char *layers[] = { p1, NULL };
    cleanup_free char *dest = xasprintf ("%s/streamed", f->dir);
    cleanup_free char *other = NULL;
    int lock = other_unpack (dest, &other);
    int pipe_fds[2];
    assert_int_equal (pipe2 (pipe_fds, O_CLOEXEC), 0);
    stream_job_t job = { .layers = layers, .dest = dest, .stream = pipe_fds[0] };
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, stream_job, &job), 0);
    /* While the other unpack still holds its lock, the stream is closed. */
    bool closed = false;
    for (int i = 0; i < 100 && !closed; i++) {
        signal (SIGPIPE, SIG_IGN);
        closed = write (pipe_fds[1], "x", 1) < 0 && errno == EPIPE;
        if (!closed)
            usleep (20 * 1000);
    }
    assert_true (closed);
    close (pipe_fds[1]);
    close (lock); /* the other fails: no DEST */
    pthread_join (thread, NULL);
    assert_int_equal (job.result, -1);
    assert_int_equal (job.errno_value, EAGAIN);
    assert_int_equal (job.kind, WR_ERROR_UNAVAILABLE);
    assert_int_equal (access (dest, F_OK), -1);
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_remove_tree_at (AT_FDCWD, other, &err), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_normalize),
        cmocka_unit_test_setup_teardown (test_refuses_dotdot, setup, teardown),
        cmocka_unit_test_setup_teardown (test_refused_early_in_a_big_layer, setup, teardown),
        cmocka_unit_test_setup_teardown (test_refuses_absolute, setup, teardown),
        cmocka_unit_test_setup_teardown (test_symlink_then_write_through_it, setup, teardown),
        cmocka_unit_test_setup_teardown (test_symlink_dotdot_chains, setup, teardown),
        cmocka_unit_test_setup_teardown (test_hard_links_outside, setup, teardown),
        cmocka_unit_test_setup_teardown (test_hard_link_through_symlink_inside, setup, teardown),
        cmocka_unit_test_setup_teardown (test_hostile_whiteouts, setup, teardown),
        cmocka_unit_test_setup_teardown (test_metadata_kept, setup, teardown),
        cmocka_unit_test_setup_teardown (test_owners_not_kept, setup, teardown),
        cmocka_unit_test_setup_teardown (test_rootless_skips_devices, setup, teardown),
        cmocka_unit_test_setup_teardown (test_whiteouts_across_layers, setup, teardown),
        cmocka_unit_test_setup_teardown (test_replacing_entries, setup, teardown),
        cmocka_unit_test_setup_teardown (test_compressions_and_diff_id, setup, teardown),
        cmocka_unit_test_setup_teardown (test_progress, setup, teardown),
        cmocka_unit_test_setup_teardown (test_unpack_root, setup, teardown),
        cmocka_unit_test_setup_teardown (test_unpack_root_cancelled, setup, teardown),
        cmocka_unit_test_setup_teardown (test_unpack_root_waits_for_another, setup, teardown),
        cmocka_unit_test_setup_teardown (test_unpack_root_gives_up_stream_to_wait, setup, teardown),
        cmocka_unit_test_setup_teardown (test_truncated_layer, setup, teardown),
        cmocka_unit_test_setup_teardown (test_remove_deep_tree_low_nofile, setup, teardown),
        cmocka_unit_test_setup_teardown (test_limit_bombs, setup, teardown),
        cmocka_unit_test_setup_teardown (test_limit_entries_and_paths, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
