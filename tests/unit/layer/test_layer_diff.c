/* Layers from overlayfs upper directories: whiteouts and opaque
 * directories become OCI markers, metadata is kept, the output is sorted
 * and byte-for-byte reproducible, both digests are right, and the layer
 * unpacks (wr_unpack_layer) to what the upper directory describes.
 *
 * Each test works in a fresh directory under /tmp (the tests run as root:
 * whiteouts are character devices 0/0 and opaque markers trusted.* xattrs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "error.h"
#include "layer_diff.h"
#include "path_in_root.h"
#include "unpack.h"
#include "xalloc.h"
#include "remove_tree.h"

typedef struct {
    char *dir;
    int dir_fd;
} fixture_t;

static int
setup (void **state)
{
    fixture_t *f = xzalloc (sizeof *f);
    f->dir = xstrdup ("/tmp/test_layer_diff.XXXXXX");
    if (mkdtemp (f->dir) == NULL)
        return -1;
    f->dir_fd = open (f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    *state = f;
    return f->dir_fd < 0 ? -1 : 0;
}

static int
teardown (void **state)
{
    fixture_t *f = *state;
    wr_remove_tree_at (AT_FDCWD, f->dir, NULL);
    close (f->dir_fd);
    free (f->dir);
    free (f);
    return 0;
}

static void
write_file (int dir_fd, const char *path, const char *data, mode_t mode)
{
    int fd = openat (dir_fd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, data, strlen (data)), (ssize_t) strlen (data));
    assert_int_equal (fchmod (fd, mode), 0);
    close (fd);
}

static void
set_mtime (int dir_fd, const char *path, time_t t)
{
    struct timespec ts[2] = { { t, 0 }, { t, 0 } };
    assert_int_equal (utimensat (dir_fd, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

/* An upper directory as overlayfs leaves it after a sandbox:
 *   etc/            copied up (mode 0755), with a new file and an xattr
 *   etc/hosts       new content, owner 1000:1001, mode 0640, user.test xattr
 *   etc/gone        whiteout (c 0 0)
 *   opt/            opaque (trusted.overlay.opaque=y), holds new.txt
 *   usr/bin/tool    mode 0755, hard-linked as usr/bin/tool2
 *   link            symlink to /etc/hosts
 *   fifo            a named pipe
 *   zdev            a character device 1/3 */
static void
make_upper (int dir_fd, const char *upper)
{
    assert_int_equal (mkdirat (dir_fd, upper, 0755), 0);
    int u = openat (dir_fd, upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true (u >= 0);
    assert_int_equal (mkdirat (u, "etc", 0755), 0);
    write_file (u, "etc/hosts", "127.0.0.1 localhost\n", 0640);
    assert_int_equal (fchownat (u, "etc/hosts", 1000, 1001, 0), 0);
    cleanup_free char *hosts = xasprintf ("/proc/self/fd/%d/etc/hosts", u);
    assert_int_equal (setxattr (hosts, "user.test", "v1", 2, 0), 0);
    cleanup_free char *etc = xasprintf ("/proc/self/fd/%d/etc", u);
    assert_int_equal (setxattr (etc, "trusted.overlay.origin", "xyz", 3, 0), 0);
    assert_int_equal (mknodat (u, "etc/gone", S_IFCHR | 0, makedev (0, 0)), 0);
    assert_int_equal (mkdirat (u, "opt", 0750), 0);
    cleanup_free char *opt = xasprintf ("/proc/self/fd/%d/opt", u);
    assert_int_equal (setxattr (opt, "trusted.overlay.opaque", "y", 1, 0), 0);
    write_file (u, "opt/new.txt", "new\n", 0644);
    assert_int_equal (mkdirat (u, "usr", 0755), 0);
    assert_int_equal (mkdirat (u, "usr/bin", 0755), 0);
    write_file (u, "usr/bin/tool", "#!/bin/sh\necho tool\n", 0755);
    assert_int_equal (linkat (u, "usr/bin/tool", u, "usr/bin/tool2", 0), 0);
    assert_int_equal (symlinkat ("/etc/hosts", u, "link"), 0);
    assert_int_equal (mkfifoat (u, "fifo", 0600), 0);
    assert_int_equal (mknodat (u, "zdev", S_IFCHR | 0666, makedev (1, 3)), 0);
    const char *paths[] = { "etc/hosts",    "etc/gone", "opt/new.txt", "opt",
                            "usr/bin/tool", "usr/bin",  "usr",         "link",
                            "fifo",         "zdev",     "etc" };
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        set_mtime (u, paths[i], 1700000000 + (time_t) i);
    close (u);
}

static wr_layer_diff_result_t
diff_to (fixture_t *f, const char *upper, const char *out)
{
    int u = openat (f->dir_fd, upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true (u >= 0);
    int o = openat (f->dir_fd, out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true (o >= 0);
    wr_layer_diff_result_t result;
    cleanup_error wr_error_t err = NULL;
    int r = wr_layer_diff_write (u, o, &result, &err);
    if (r < 0)
        fail_msg ("wr_layer_diff_write: %s", err->message);
    close (u);
    close (o);
    return result;
}

static char *
read_all (int dir_fd, const char *path, size_t *len)
{
    int fd = openat (dir_fd, path, O_RDONLY | O_CLOEXEC);
    assert_true (fd >= 0);
    struct stat st;
    assert_int_equal (fstat (fd, &st), 0);
    char *data = xmalloc ((size_t) st.st_size + 1);
    assert_int_equal (read (fd, data, (size_t) st.st_size), st.st_size);
    data[st.st_size] = '\0';
    close (fd);
    *len = (size_t) st.st_size;
    return data;
}

typedef struct {
    char name[256];
    mode_t type;
    mode_t perm;
    unsigned uid, gid;
    char link[256];
    char hardlink[256];
    char data[256];
    char xattr[256];
    time_t mtime;
} member_t;

/* The members of the layer at PATH, in order; *DIFF_ID gets the digest
 * of the uncompressed tar. */
static size_t
read_layer (fixture_t *f, const char *path, member_t *members, size_t max, char *diff_id)
{
    size_t len = 0;
    cleanup_free char *gz = read_all (f->dir_fd, path, &len);
    /* The uncompressed stream, for its digest. */
    struct archive *raw = archive_read_new ();
    archive_read_support_filter_all (raw);
    archive_read_support_format_raw (raw);
    assert_int_equal (archive_read_open_memory (raw, gz, len), ARCHIVE_OK);
    struct archive_entry *entry;
    assert_int_equal (archive_read_next_header (raw, &entry), ARCHIVE_OK);
    assert_int_equal (archive_filter_code (raw, 0), ARCHIVE_FILTER_GZIP);
    wr_sha256_t *sha = wr_sha256_new ();
    char buf[4096];
    la_ssize_t n;
    while ((n = archive_read_data (raw, buf, sizeof buf)) > 0)
        wr_sha256_update (sha, buf, (size_t) n);
    assert_int_equal (n, 0);
    wr_sha256_final (sha, diff_id);
    wr_sha256_free (sha);
    archive_read_free (raw);

    struct archive *a = archive_read_new ();
    archive_read_support_filter_gzip (a);
    archive_read_support_format_tar (a);
    assert_int_equal (archive_read_open_memory (a, gz, len), ARCHIVE_OK);
    size_t count = 0;
    int r;
    while ((r = archive_read_next_header (a, &entry)) == ARCHIVE_OK) {
        assert_true (count < max);
        member_t *m = &members[count++];
        memset (m, 0, sizeof *m);
        snprintf (m->name, sizeof m->name, "%s", archive_entry_pathname (entry));
        m->type = archive_entry_filetype (entry);
        m->perm = archive_entry_perm (entry);
        m->uid = (unsigned) archive_entry_uid (entry);
        m->gid = (unsigned) archive_entry_gid (entry);
        m->mtime = archive_entry_mtime (entry);
        if (archive_entry_symlink (entry) != NULL)
            snprintf (m->link, sizeof m->link, "%s", archive_entry_symlink (entry));
        if (archive_entry_hardlink (entry) != NULL)
            snprintf (m->hardlink, sizeof m->hardlink, "%s", archive_entry_hardlink (entry));
        la_ssize_t got = archive_read_data (a, m->data, sizeof m->data - 1);
        assert_true (got >= 0);
        const char *xname;
        const void *xvalue;
        size_t xsize;
        archive_entry_xattr_reset (entry);
        while (archive_entry_xattr_next (entry, &xname, &xvalue, &xsize) == ARCHIVE_OK) {
            size_t used = strlen (m->xattr);
            snprintf (m->xattr + used, sizeof m->xattr - used, "%s%s=%.*s", used ? "," : "", xname,
                      (int) xsize, (const char *) xvalue);
        }
    }
    assert_int_equal (r, ARCHIVE_EOF);
    archive_read_free (a);
    return count;
}

static const member_t *
find (const member_t *members, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp (members[i].name, name) == 0)
            return &members[i];
    fail_msg ("no member `%s` in the layer", name);
    return NULL;
}

static void
test_members (void **state)
{
    fixture_t *f = *state;
    make_upper (f->dir_fd, "upper");
    wr_layer_diff_result_t result = diff_to (f, "upper", "layer.tar.gz");
    member_t members[32];
    char diff_id[WR_DIGEST_MAX_LEN + 1];
    size_t count = read_layer (f, "layer.tar.gz", members, 32, diff_id);

    const char *order[] = { "etc/",         "etc/.wh.gone",     "etc/hosts",   "fifo", "link",
                            "opt/",         "opt/.wh..wh..opq", "opt/new.txt", "usr/", "usr/bin/",
                            "usr/bin/tool", "usr/bin/tool2",    "zdev" };
    assert_int_equal (count, sizeof order / sizeof *order);
    assert_int_equal (result.entries, count);
    for (size_t i = 0; i < count; i++)
        assert_string_equal (members[i].name, order[i]);

    const member_t *m = find (members, count, "etc/hosts");
    assert_int_equal (m->type, AE_IFREG);
    assert_int_equal (m->perm, 0640);
    assert_int_equal (m->uid, 1000);
    assert_int_equal (m->gid, 1001);
    assert_int_equal (m->mtime, 1700000000);
    assert_string_equal (m->data, "127.0.0.1 localhost\n");
    assert_string_equal (m->xattr, "user.test=v1");
    m = find (members, count, "etc/");
    assert_int_equal (m->type, AE_IFDIR);
    assert_string_equal (m->xattr, ""); /* trusted.overlay.origin is overlayfs's own */
    m = find (members, count, "etc/.wh.gone");
    assert_int_equal (m->type, AE_IFREG);
    assert_string_equal (m->data, "");
    m = find (members, count, "opt/");
    assert_int_equal (m->perm, 0750);
    assert_string_equal (m->xattr, "");
    m = find (members, count, "usr/bin/tool2");
    assert_string_equal (m->hardlink, "usr/bin/tool");
    m = find (members, count, "usr/bin/tool");
    assert_int_equal (m->perm, 0755);
    assert_string_equal (m->data, "#!/bin/sh\necho tool\n");
    m = find (members, count, "link");
    assert_int_equal (m->type, AE_IFLNK);
    assert_string_equal (m->link, "/etc/hosts");
    assert_int_equal (find (members, count, "fifo")->type, AE_IFIFO);
    assert_int_equal (find (members, count, "zdev")->type, AE_IFCHR);

    /* The digests are those of the bytes written and of the tar inside. */
    size_t len = 0;
    cleanup_free char *gz = read_all (f->dir_fd, "layer.tar.gz", &len);
    char digest[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest (gz, len, digest);
    assert_string_equal (result.digest, digest);
    assert_int_equal (result.size, (int64_t) len);
    assert_string_equal (result.diff_id, diff_id);
}

/* The same upper directory twice gives the same bytes; a change of one
 * byte gives another digest. */
static void
test_deterministic (void **state)
{
    fixture_t *f = *state;
    make_upper (f->dir_fd, "upper");
    wr_layer_diff_result_t a = diff_to (f, "upper", "a.tar.gz");
    sleep (1); /* a gzip or tar timestamp of "now" would differ */
    wr_layer_diff_result_t b = diff_to (f, "upper", "b.tar.gz");
    assert_string_equal (a.digest, b.digest);
    assert_string_equal (a.diff_id, b.diff_id);
    assert_int_equal (a.size, b.size);

    make_upper (f->dir_fd, "upper2");
    wr_layer_diff_result_t c = diff_to (f, "upper2", "c.tar.gz");
    assert_string_equal (a.digest, c.digest); /* same content elsewhere: same layer */

    write_file (f->dir_fd, "upper2/opt/new.txt", "nex\n", 0644);
    set_mtime (f->dir_fd, "upper2/opt/new.txt", 1700000000 + 2);
    wr_layer_diff_result_t d = diff_to (f, "upper2", "d.tar.gz");
    assert_string_not_equal (a.digest, d.digest);
    assert_string_not_equal (a.diff_id, d.diff_id);
}

static bool
exists_at (int dir_fd, const char *path)
{
    struct stat st;
    return fstatat (dir_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The layer applied on a lower root gives the merged view: the whiteout
 * removes etc/gone, the opaque opt/ drops what the lower root had there. */
static void
test_unpacks_as_merged (void **state)
{
    fixture_t *f = *state;
    make_upper (f->dir_fd, "upper");
    wr_layer_diff_result_t result = diff_to (f, "upper", "layer.tar.gz");

    assert_int_equal (mkdirat (f->dir_fd, "root", 0755), 0);
    int root = openat (f->dir_fd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true (root >= 0);
    assert_int_equal (mkdirat (root, "etc", 0755), 0);
    write_file (root, "etc/gone", "old\n", 0644);
    write_file (root, "etc/kept", "kept\n", 0644);
    assert_int_equal (mkdirat (root, "opt", 0755), 0);
    write_file (root, "opt/old.txt", "old\n", 0644);

    cleanup_free char *layer = xasprintf ("%s/layer.tar.gz", f->dir);
    wr_unpack_options_t options = { .keep_owners = true };
    cleanup_error wr_error_t err = NULL;
    if (wr_unpack_layer (root, layer, result.diff_id, &options, &err) < 0)
        fail_msg ("wr_unpack_layer: %s", err->message);

    assert_false (exists_at (root, "etc/gone"));
    assert_true (exists_at (root, "etc/kept"));
    assert_true (exists_at (root, "etc/hosts"));
    assert_false (exists_at (root, "opt/old.txt"));
    assert_true (exists_at (root, "opt/new.txt"));
    struct stat a, b;
    assert_int_equal (fstatat (root, "usr/bin/tool", &a, 0), 0);
    assert_int_equal (fstatat (root, "usr/bin/tool2", &b, 0), 0);
    assert_int_equal (a.st_ino, b.st_ino);
    assert_int_equal (a.st_mode & 07777, 0755);
    assert_int_equal (fstatat (root, "etc/hosts", &a, 0), 0);
    assert_int_equal (a.st_uid, 1000);
    assert_int_equal (a.st_mode & 07777, 0640);
    close (root);
}

/* Names and link targets are bytes: UTF-8 and not (the C locale the tests
 * run in cannot convert either), kept as they are. */
static void
test_non_ascii_names (void **state)
{
    fixture_t *f = *state;
    const char *utf8 = "NetLock_Arany_=Class_Gold=_F\xc5\x91tan\xc3\xbas\xc3\xadtv\xc3\xa1ny.pem";
    const char *latin1 = "caf\xe9";
    assert_int_equal (mkdirat (f->dir_fd, "upper", 0755), 0);
    int u = openat (f->dir_fd, "upper", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true (u >= 0);
    write_file (u, utf8, "cert\n", 0644);
    write_file (u, latin1, "x\n", 0644);
    assert_int_equal (symlinkat (utf8, u, "988a38cb.0"), 0);
    close (u);
    wr_layer_diff_result_t result = diff_to (f, "upper", "layer.tar.gz");
    assert_int_equal (result.entries, 3);
    member_t members[4];
    char diff_id[WR_DIGEST_MAX_LEN + 1];
    assert_int_equal (read_layer (f, "layer.tar.gz", members, 4, diff_id), 3);
    assert_string_equal (find (members, 3, "988a38cb.0")->link, utf8);
    assert_string_equal (find (members, 3, utf8)->data, "cert\n");
    assert_string_equal (find (members, 3, latin1)->data, "x\n");
}

/* An empty upper directory is a valid, empty layer. */
static void
test_empty (void **state)
{
    fixture_t *f = *state;
    assert_int_equal (mkdirat (f->dir_fd, "upper", 0755), 0);
    wr_layer_diff_result_t result = diff_to (f, "upper", "layer.tar.gz");
    member_t members[2];
    char diff_id[WR_DIGEST_MAX_LEN + 1];
    assert_int_equal (read_layer (f, "layer.tar.gz", members, 2, diff_id), 0);
    assert_int_equal (result.entries, 0);
    assert_string_equal (result.diff_id, diff_id);
}

/* A write failure (a read-only descriptor) is an error, not a short layer. */
static void
test_write_error (void **state)
{
    fixture_t *f = *state;
    make_upper (f->dir_fd, "upper");
    int u = openat (f->dir_fd, "upper", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int o = openat (f->dir_fd, "ro", O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
    wr_layer_diff_result_t result;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_layer_diff_write (u, o, &result, &err), -1);
    assert_non_null (err);
    assert_non_null (strstr (err->message, "write"));
    close (u);
    close (o);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_members, setup, teardown),
        cmocka_unit_test_setup_teardown (test_deterministic, setup, teardown),
        cmocka_unit_test_setup_teardown (test_unpacks_as_merged, setup, teardown),
        cmocka_unit_test_setup_teardown (test_non_ascii_names, setup, teardown),
        cmocka_unit_test_setup_teardown (test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown (test_write_error, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
