/* An OCI layer from an overlayfs upper directory (see layer_diff.h).
 *
 * Two libarchive writers in a row: the tar writer's output is hashed (the
 * diff id) and handed as the data of one "raw" member to a second writer
 * that only gzips, whose output is hashed (the digest) and written out. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
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
#include "layer_diff.h"
#include "xalloc.h"

#define COPY_BUFFER_SIZE (128 * 1024)

typedef struct {
    dev_t dev;
    ino_t ino;
    char *name;
} inode_name_t;

typedef struct {
    struct archive *tar; /* writes the tar; its output goes to gz */
    struct archive *gz; /* gzips; its output goes to out_fd */
    int out_fd;
    wr_sha256_t *tar_sha;
    wr_sha256_t *gz_sha;
    int64_t gz_size;
    uint64_t entries;
    inode_name_t *inodes; /* inodes with more than one link, by first name */
    size_t n_inodes;
    char *buffer;
    int write_errno;
    wr_error_t *err;
} diff_t;

static la_ssize_t
gz_write_cb (struct archive *a, void *data, const void *buf, size_t len)
{
    (void) a;
    diff_t *d = data;
    const char *p = buf;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write (d->out_fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            d->write_errno = errno;
            return -1;
        }
        p += n;
        left -= (size_t) n;
    }
    wr_sha256_update (d->gz_sha, buf, len);
    d->gz_size += (int64_t) len;
    return (la_ssize_t) len;
}

static la_ssize_t
tar_write_cb (struct archive *a, void *data, const void *buf, size_t len)
{
    (void) a;
    diff_t *d = data;
    wr_sha256_update (d->tar_sha, buf, len);
    la_ssize_t n = archive_write_data (d->gz, buf, len);
    if (n < 0 || (size_t) n != len)
        return -1;
    return n;
}

static int
archive_fail (diff_t *d, struct archive *a, const char *what)
{
    if (d->write_errno != 0)
        return wr_error_set (d->err, d->write_errno, "%s: write the layer", what);
    const char *msg = archive_error_string (a);
    if (msg == NULL && a == d->tar)
        msg = archive_error_string (d->gz);
    return wr_error_set (d->err, 0, "%s: %s", what, msg != NULL ? msg : "libarchive error");
}

static int
cmp_names (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

static bool
is_overlay_xattr (const char *name)
{
    return strncmp (name, "trusted.overlay.", 16) == 0 || strncmp (name, "user.overlay.", 13) == 0;
}

/* Copies the extended attributes of PATH (not followed), sorted by name. */
static int
add_xattrs (diff_t *d, struct archive_entry *entry, const char *path, const char *name)
{
    ssize_t size = llistxattr (path, NULL, 0);
    if (size < 0) {
        if (errno == ENOTSUP || errno == ENODATA)
            return 0;
        return wr_error_set (d->err, errno, "list the extended attributes of `%s`", name);
    }
    if (size == 0)
        return 0;
    cleanup_free char *list = xmalloc ((size_t) size + 1);
    size = llistxattr (path, list, (size_t) size);
    if (size < 0)
        return wr_error_set (d->err, errno, "list the extended attributes of `%s`", name);
    list[size] = '\0';
    size_t count = 0;
    for (ssize_t i = 0; i < size; i += (ssize_t) strlen (list + i) + 1)
        count++;
    cleanup_free char **names = xmalloc ((count + 1) * sizeof *names);
    size_t n = 0;
    for (ssize_t i = 0; i < size; i += (ssize_t) strlen (list + i) + 1)
        if (list[i] != '\0' && !is_overlay_xattr (list + i))
            names[n++] = list + i;
    qsort (names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        ssize_t vsize = lgetxattr (path, names[i], NULL, 0);
        if (vsize < 0)
            return wr_error_set (d->err, errno, "read extended attribute `%s` of `%s`", names[i],
                                 name);
        cleanup_free char *value = xmalloc ((size_t) vsize + 1);
        vsize = lgetxattr (path, names[i], value, (size_t) vsize);
        if (vsize < 0)
            return wr_error_set (d->err, errno, "read extended attribute `%s` of `%s`", names[i],
                                 name);
        archive_entry_xattr_add_entry (entry, names[i], value, (size_t) vsize);
    }
    return 0;
}

static bool
is_opaque (const char *path)
{
    char value[8];
    ssize_t n = lgetxattr (path, "trusted.overlay.opaque", value, sizeof value);
    if (n < 0)
        n = lgetxattr (path, "user.overlay.opaque", value, sizeof value);
    return n == 1 && value[0] == 'y';
}

static struct archive_entry *
new_entry (const char *name, const struct stat *st)
{
    struct archive_entry *entry = archive_entry_new ();
    archive_entry_set_pathname (entry, name);
    archive_entry_set_uid (entry, st->st_uid);
    archive_entry_set_gid (entry, st->st_gid);
    archive_entry_set_perm (entry, st->st_mode & 07777);
    archive_entry_set_mtime (entry, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
    return entry;
}

static int
write_header (diff_t *d, struct archive_entry *entry, const char *name)
{
    if (archive_write_header (d->tar, entry) != ARCHIVE_OK)
        return archive_fail (d, d->tar, name);
    d->entries++;
    return 0;
}

/* A whiteout or opaque marker: an empty regular file. */
static int
write_marker (diff_t *d, const char *name, const struct stat *st)
{
    struct archive_entry *entry = new_entry (name, st);
    archive_entry_set_filetype (entry, AE_IFREG);
    archive_entry_set_perm (entry, 0600);
    archive_entry_set_uid (entry, 0);
    archive_entry_set_gid (entry, 0);
    archive_entry_set_size (entry, 0);
    int r = write_header (d, entry, name);
    archive_entry_free (entry);
    return r;
}

static int
write_file_data (diff_t *d, int dir_fd, const char *base, const char *name, off_t size)
{
    cleanup_close int fd = openat (dir_fd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return wr_error_set (d->err, errno, "open `%s`", name);
    off_t left = size;
    while (left > 0) {
        ssize_t n = read (fd, d->buffer, COPY_BUFFER_SIZE);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return wr_error_set (d->err, errno, "read `%s`", name);
        if (n == 0)
            return wr_error_set (d->err, 0, "`%s` shrank while being read", name);
        if (n > left)
            n = (ssize_t) left; /* it grew: the header already has the size */
        if (archive_write_data (d->tar, d->buffer, (size_t) n) < 0)
            return archive_fail (d, d->tar, name);
        left -= n;
    }
    return 0;
}

static const char *
first_name_of (diff_t *d, const struct stat *st, const char *name)
{
    for (size_t i = 0; i < d->n_inodes; i++)
        if (d->inodes[i].dev == st->st_dev && d->inodes[i].ino == st->st_ino)
            return d->inodes[i].name;
    d->inodes = xrealloc (d->inodes, (d->n_inodes + 1) * sizeof *d->inodes);
    d->inodes[d->n_inodes++] = (inode_name_t){ st->st_dev, st->st_ino, xstrdup (name) };
    return NULL;
}

static int walk_dir (diff_t *d, int dir_fd, const char *prefix);

static int
write_one (diff_t *d, int dir_fd, const char *base, const char *prefix)
{
    cleanup_free char *name = xasprintf ("%s%s", prefix, base);
    struct stat st;
    if (fstatat (dir_fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return wr_error_set (d->err, errno, "stat `%s`", name);
    cleanup_free char *proc_path = xasprintf ("/proc/self/fd/%d/%s", dir_fd, base);

    if (S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0)) {
        const char *slash = strrchr (name, '/');
        cleanup_free char *wh =
            slash != NULL ? xasprintf ("%.*s/.wh.%s", (int) (slash - name), name, slash + 1)
                          : xasprintf (".wh.%s", name);
        return write_marker (d, wh, &st);
    }
    if (S_ISSOCK (st.st_mode))
        return 0; /* a socket is not content */

    struct archive_entry *entry = new_entry (name, &st);
    int r = 0;
    const char *first = NULL;
    if (S_ISDIR (st.st_mode)) {
        archive_entry_set_filetype (entry, AE_IFDIR);
    } else if (S_ISREG (st.st_mode)) {
        if (st.st_nlink > 1)
            first = first_name_of (d, &st, name);
        if (first != NULL) {
            archive_entry_set_filetype (entry, AE_IFREG);
            archive_entry_set_hardlink (entry, first);
            archive_entry_set_size (entry, 0);
        } else {
            archive_entry_set_filetype (entry, AE_IFREG);
            archive_entry_set_size (entry, st.st_size);
        }
    } else if (S_ISLNK (st.st_mode)) {
        cleanup_free char *target = xmalloc ((size_t) st.st_size + 2);
        ssize_t n = readlinkat (dir_fd, base, target, (size_t) st.st_size + 1);
        if (n < 0 || n > st.st_size) {
            archive_entry_free (entry);
            return wr_error_set (d->err, n < 0 ? errno : 0, "read symlink `%s`%s", name,
                                 n < 0 ? "" : ": it changed while being read");
        }
        target[n] = '\0';
        archive_entry_set_filetype (entry, AE_IFLNK);
        archive_entry_set_symlink (entry, target);
    } else if (S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode)) {
        archive_entry_set_filetype (entry, S_ISCHR (st.st_mode) ? AE_IFCHR : AE_IFBLK);
        archive_entry_set_rdevmajor (entry, major (st.st_rdev));
        archive_entry_set_rdevminor (entry, minor (st.st_rdev));
    } else if (S_ISFIFO (st.st_mode)) {
        archive_entry_set_filetype (entry, AE_IFIFO);
    } else {
        archive_entry_free (entry);
        return 0;
    }
    if (first == NULL)
        r = add_xattrs (d, entry, proc_path, name);
    if (r == 0 && S_ISDIR (st.st_mode)) {
        /* Directory names end in '/', as tar writes them. */
        cleanup_free char *dir_name = xasprintf ("%s/", name);
        archive_entry_set_pathname (entry, dir_name);
    }
    if (r == 0)
        r = write_header (d, entry, name);
    archive_entry_free (entry);
    if (r < 0)
        return -1;

    if (S_ISREG (st.st_mode) && first == NULL && st.st_size > 0)
        return write_file_data (d, dir_fd, base, name, st.st_size);
    if (S_ISDIR (st.st_mode)) {
        cleanup_free char *sub_prefix = xasprintf ("%s/", name);
        if (is_opaque (proc_path)) {
            cleanup_free char *opq = xasprintf ("%s.wh..wh..opq", sub_prefix);
            if (write_marker (d, opq, &st) < 0)
                return -1;
        }
        cleanup_close int sub_fd =
            openat (dir_fd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub_fd < 0)
            return wr_error_set (d->err, errno, "open directory `%s`", name);
        return walk_dir (d, sub_fd, sub_prefix);
    }
    return 0;
}

static int
walk_dir (diff_t *d, int dir_fd, const char *prefix)
{
    int fd = dup (dir_fd);
    if (fd < 0)
        return wr_error_set (d->err, errno, "open directory `%s`", prefix[0] ? prefix : ".");
    cleanup_closedir DIR *dir = fdopendir (fd);
    if (dir == NULL) {
        close (fd);
        return wr_error_set (d->err, errno, "open directory `%s`", prefix[0] ? prefix : ".");
    }
    cleanup_strv char **names = xzalloc (sizeof *names);
    size_t n = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir (dir)) != NULL) {
        if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
            continue;
        names = xrealloc (names, (n + 2) * sizeof *names);
        names[n++] = xstrdup (de->d_name);
        names[n] = NULL;
        errno = 0;
    }
    if (errno != 0)
        return wr_error_set (d->err, errno, "read directory `%s`", prefix[0] ? prefix : ".");
    qsort (names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++)
        if (write_one (d, dir_fd, names[i], prefix) < 0)
            return -1;
    return 0;
}

int
wr_layer_diff_write (int upper_fd, int out_fd, wr_layer_diff_result_t *result, wr_error_t *err)
{
    memset (result, 0, sizeof *result);
    diff_t d = {
        .out_fd = out_fd,
        .tar_sha = wr_sha256_new (),
        .gz_sha = wr_sha256_new (),
        .buffer = xmalloc (COPY_BUFFER_SIZE),
        .err = err,
    };
    int r = -1;
    struct archive_entry *raw = NULL;
    d.gz = archive_write_new ();
    d.tar = archive_write_new ();
    if (d.gz == NULL || d.tar == NULL) {
        wr_error_set (err, ENOMEM, "make a layer writer");
        goto out;
    }
    /* No timestamp in the gzip header: the same tar gives the same blob. */
    if (archive_write_add_filter_gzip (d.gz) != ARCHIVE_OK ||
        archive_write_set_filter_option (d.gz, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
        archive_write_set_format_raw (d.gz) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block (d.gz, 0) != ARCHIVE_OK ||
        archive_write_open2 (d.gz, &d, NULL, gz_write_cb, NULL, NULL) != ARCHIVE_OK) {
        archive_fail (&d, d.gz, "start the gzip stream");
        goto out;
    }
    raw = archive_entry_new ();
    archive_entry_set_pathname (raw, "layer.tar");
    archive_entry_set_filetype (raw, AE_IFREG);
    archive_entry_set_perm (raw, 0644);
    if (archive_write_header (d.gz, raw) != ARCHIVE_OK) {
        archive_fail (&d, d.gz, "start the gzip stream");
        goto out;
    }
    /* SCHILY.xattr only (what Docker and containerd write), not a second copy. */
    if (archive_write_set_format_pax_restricted (d.tar) != ARCHIVE_OK ||
        archive_write_set_format_option (d.tar, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK ||
        /* Names are bytes: no conversion from the locale (in the C locale,
         * any non-ASCII name would fail), whatever encoding they have. */
        archive_write_set_format_option (d.tar, "pax", "hdrcharset", "BINARY") != ARCHIVE_OK ||
        archive_write_add_filter_none (d.tar) != ARCHIVE_OK ||
        archive_write_open2 (d.tar, &d, NULL, tar_write_cb, NULL, NULL) != ARCHIVE_OK) {
        archive_fail (&d, d.tar, "start the tar stream");
        goto out;
    }
    if (walk_dir (&d, upper_fd, "") < 0)
        goto out;
    if (archive_write_close (d.tar) != ARCHIVE_OK) {
        archive_fail (&d, d.tar, "finish the tar stream");
        goto out;
    }
    if (archive_write_close (d.gz) != ARCHIVE_OK) {
        archive_fail (&d, d.gz, "finish the gzip stream");
        goto out;
    }
    wr_sha256_final (d.tar_sha, result->diff_id);
    wr_sha256_final (d.gz_sha, result->digest);
    result->size = d.gz_size;
    result->entries = d.entries;
    r = 0;
out:
    if (r < 0)
        wr_error_prefix (err, "write a layer from an upper directory");
    archive_entry_free (raw);
    if (d.tar != NULL)
        archive_write_free (d.tar);
    if (d.gz != NULL)
        archive_write_free (d.gz);
    wr_sha256_free (d.tar_sha);
    wr_sha256_free (d.gz_sha);
    for (size_t i = 0; i < d.n_inodes; i++)
        free (d.inodes[i].name);
    free (d.inodes);
    free (d.buffer);
    return r;
}
