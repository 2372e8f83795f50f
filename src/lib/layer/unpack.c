/* A layer is read through two libarchive handles: the first one only
 * decompresses (gzip, zstd or nothing, format "raw") in a thread of its own
 * (layer_stream.h), hashing every byte for the DIFF_ID on the way; the
 * second one reads the tar from what the first one gives it.
 *
 * Member names are normalised first: absolute names and ".." components
 * are refused outright (see unpack.h: no real layer has them).  Every other
 * path, and each hard link's target, is resolved inside the root
 * (path_in_root.h), and the last component is created with *at() calls on
 * the directory that holds it, never following a symlink there.
 *
 * Nothing is fsynced: a root is a cache made again from verified blobs, and
 * the atomic rename in wr_unpack_root is what keeps a failed or interrupted
 * unpack from being used. */
#include "unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "hash.h"
#include "layer_stream.h"
#include "log.h"
#include "path_in_root.h"
#include "xalloc.h"
#include "remove_tree.h"

/* ---- a set of paths (the entries this layer made) ---- */

typedef struct {
    char **slots;
    size_t cap; /* power of two */
    size_t count;
} path_set_t;

static char **
path_set_slot (const path_set_t *set, const char *path)
{
    size_t i = (size_t) wr_fnv1a_64 (path) & (set->cap - 1);
    while (set->slots[i] != NULL && strcmp (set->slots[i], path) != 0)
        i = (i + 1) & (set->cap - 1);
    return &set->slots[i];
}

static bool
path_set_has (const path_set_t *set, const char *path)
{
    return set->cap > 0 && *path_set_slot (set, path) != NULL;
}

static void
path_set_add (path_set_t *set, const char *path)
{
    if ((set->count + 1) * 2 > set->cap) {
        path_set_t bigger = { .cap = set->cap ? set->cap * 2 : 64 };
        bigger.slots = xzalloc (bigger.cap * sizeof (char *));
        for (size_t i = 0; i < set->cap; i++)
            if (set->slots[i] != NULL)
                *path_set_slot (&bigger, set->slots[i]) = set->slots[i];
        bigger.count = set->count;
        free (set->slots);
        *set = bigger;
    }
    char **slot = path_set_slot (set, path);
    if (*slot == NULL) {
        *slot = xstrdup (path);
        set->count++;
    }
}

static void
path_set_clear (path_set_t *set)
{
    for (size_t i = 0; i < set->cap; i++)
        free (set->slots[i]);
    free (set->slots);
    *set = (path_set_t){ 0 };
}

/* ---- one layer ---- */

typedef struct {
    char *path;
    mode_t mode;
    struct timespec times[2]; /* atime, mtime */
} dir_fixup_t;

typedef struct {
    int root_fd;
    const char *layer_path; /* or the name of what fd reads */
    int fd; /* the layer from a descriptor (taken), or -1: open layer_path */
    const wr_unpack_options_t *options;
    path_set_t made; /* what this layer made, and the directories above it */
    dir_fixup_t *dirs; /* modes and times set once the layer is applied */
    size_t n_dirs, cap_dirs;
    wr_layer_stream_t *stream; /* the uncompressed tar */
    unsigned long long compressed, reported; /* bytes of the layer file */
    unsigned long long uncompressed, entries;
    wr_unpack_limits_t limits; /* with the defaults filled in */
    wr_error_t limit_error; /* a limit reached while libarchive was reading */
    bool overlay_xattr_logged;
} layer_t;

static const wr_log_t *
layer_log (const layer_t *layer)
{
    return layer->options != NULL ? layer->options->log : NULL;
}

static void
layer_clear (layer_t *layer)
{
    if (layer->fd >= 0)
        close (layer->fd);
    path_set_clear (&layer->made);
    for (size_t i = 0; i < layer->n_dirs; i++)
        free (layer->dirs[i].path);
    free (layer->dirs);
    wr_layer_stream_free (layer->stream);
    wr_error_free (&layer->limit_error);
}

static unsigned long long
or_default (unsigned long long value, unsigned long long fallback)
{
    return value != 0 ? value : fallback;
}

static wr_unpack_limits_t
limits_with_defaults (const wr_unpack_options_t *options)
{
    wr_unpack_limits_t l = options != NULL ? options->limits : (wr_unpack_limits_t){ 0 };
    l.layer_bytes = or_default (l.layer_bytes, WR_UNPACK_DEFAULT_LAYER_BYTES);
    l.image_bytes = or_default (l.image_bytes, WR_UNPACK_DEFAULT_IMAGE_BYTES);
    l.layer_entries = or_default (l.layer_entries, WR_UNPACK_DEFAULT_LAYER_ENTRIES);
    l.image_entries = or_default (l.image_entries, WR_UNPACK_DEFAULT_IMAGE_ENTRIES);
    l.path_length = (size_t) or_default (l.path_length, WR_UNPACK_DEFAULT_PATH_LENGTH);
    l.path_depth = (size_t) or_default (l.path_depth, WR_UNPACK_DEFAULT_PATH_DEPTH);
    return l;
}

static unsigned long long
image_so_far (const layer_t *layer, bool bytes)
{
    const wr_unpack_usage_t *u = layer->options != NULL ? layer->options->usage : NULL;
    if (u == NULL)
        return 0;
    return bytes ? u->bytes : u->entries;
}

/* Adds N uncompressed bytes; -1 with *ERR once a limit is passed. */
static int
count_bytes (layer_t *layer, size_t n, wr_error_t *err)
{
    layer->uncompressed += n;
    /* Checked for every block read: a large file stops as soon as a small one. */
    if (layer->options != NULL && wr_cancel_check (layer->options->cancel, NULL, err) < 0)
        return -1;
    if (layer->uncompressed > layer->limits.layer_bytes)
        return wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                                  "expands past the limit of %llu bytes per layer "
                                  "(a decompression bomb, or raise the layer size limit)",
                                  layer->limits.layer_bytes);
    if (image_so_far (layer, true) + layer->uncompressed > layer->limits.image_bytes)
        return wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                                  "the image expands past the limit of %llu bytes "
                                  "(raise the image size limit)",
                                  layer->limits.image_bytes);
    return 0;
}

static int
count_entry (layer_t *layer, const char *path, wr_error_t *err)
{
    layer->entries++;
    if (layer->entries > layer->limits.layer_entries)
        return wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                                  "more than %llu entries, the limit per layer",
                                  layer->limits.layer_entries);
    if (image_so_far (layer, false) + layer->entries > layer->limits.image_entries)
        return wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                                  "the image has more than %llu entries, the limit per image",
                                  layer->limits.image_entries);
    /* Components that name something: "./a//b/" is 2 deep. */
    size_t length = strlen (path), depth = 0;
    for (const char *p = path; *p;) {
        size_t n = strcspn (p, "/");
        depth += n > 0 && !(n == 1 && p[0] == '.');
        p += n + (p[n] == '/');
    }
    const char *more = length > 64 ? "..." : "";
    if (length > layer->limits.path_length)
        return wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                                  "entry `%.64s%s`: a path of %zu bytes, over the limit of %zu",
                                  path, more, length, layer->limits.path_length);
    if (depth > layer->limits.path_depth)
        return wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                                  "entry `%.64s%s`: %zu levels deep, over the limit of %zu", path,
                                  more, depth, layer->limits.path_depth);
    return 0;
}

/* Marks PATH and every directory above it as made by this layer, so an
 * opaque directory or a whiteout in the same layer keeps them. */
static void
mark_made (layer_t *layer, const char *path)
{
    path_set_add (&layer->made, path);
    cleanup_free char *copy = xstrdup (path);
    char *slash;
    while ((slash = strrchr (copy, '/')) != NULL) {
        *slash = '\0';
        if (path_set_has (&layer->made, copy))
            break;
        path_set_add (&layer->made, copy);
    }
}

static void
report_progress (layer_t *layer, bool force)
{
    if (layer->options == NULL || layer->options->progress == NULL)
        return;
    unsigned long long bytes = layer->compressed;
    if (force || bytes >= layer->reported + (1 << 20)) {
        layer->reported = bytes;
        layer->options->progress (layer->options->progress_data, bytes);
    }
}

/* The tar handle's read callback: the next block of uncompressed tar. */
static la_ssize_t
read_uncompressed (struct archive *tar, void *data, const void **buffer)
{
    layer_t *layer = data;
    cleanup_error wr_error_t err = NULL;
    ssize_t n = wr_layer_stream_next (layer->stream, buffer, &layer->compressed, &err);
    if (n < 0) {
        archive_set_error (tar, err->errno_value > 0 ? err->errno_value : EIO, "%s", err->message);
        return -1;
    }
    if (count_bytes (layer, (size_t) n, &layer->limit_error) < 0) {
        archive_set_error (tar, EFBIG, "%s", layer->limit_error->message);
        return -1;
    }
    report_progress (layer, false);
    return (la_ssize_t) n;
}

/* trusted.overlay.* and user.overlay.* steer the host's overlayfs when a
 * root becomes a lower layer (opaque, redirect, metacopy): a layer must not
 * be able to set them. */
static bool
is_overlay_xattr (const char *name)
{
    return strncmp (name, "trusted.overlay.", 16) == 0 || strncmp (name, "user.overlay.", 13) == 0;
}

static bool
is_xattr_kept (const char *name)
{
    return strncmp (name, "user.", 5) == 0 || strncmp (name, "trusted.", 8) == 0 ||
           strncmp (name, "security.", 9) == 0;
}

/* Sets ENTRY's xattrs on FD, or (FD < 0) on BASE in PARENT_FD without
 * following it.  What the filesystem refuses is skipped with a warning. */
static void
apply_xattrs (layer_t *layer, struct archive_entry *entry, const char *path, int fd, int parent_fd,
              const char *base)
{
    if (archive_entry_xattr_reset (entry) == 0)
        return;
    const char *name;
    const void *value;
    size_t size;
    cleanup_free char *proc_path = NULL;
    while (archive_entry_xattr_next (entry, &name, &value, &size) == ARCHIVE_OK) {
        if (name == NULL || !is_xattr_kept (name))
            continue;
        if (is_overlay_xattr (name)) {
            if (!layer->overlay_xattr_logged)
                wr_log_to (layer_log (layer), WR_LOG_INFO,
                           "overlayfs extended attribute skipped (logged once per layer)", "layer",
                           layer->layer_path, "path", path, "xattr", name, NULL);
            layer->overlay_xattr_logged = true;
            continue;
        }
        int r;
        if (fd >= 0) {
            r = fsetxattr (fd, name, value, size, 0);
        } else {
            /* PARENT_FD was resolved inside the root; BASE is one
             * component that lsetxattr does not follow. */
            if (proc_path == NULL)
                proc_path = xasprintf ("/proc/self/fd/%d/%s", parent_fd, base);
            r = lsetxattr (proc_path, name, value, size, 0);
        }
        if (r < 0) {
            cleanup_free char *why = xstrdup (strerror (errno));
            wr_log_to (layer_log (layer), WR_LOG_WARN, "extended attribute skipped", "layer",
                       layer->layer_path, "path", path, "xattr", name, "error", why, NULL);
        }
    }
}

static void
entry_times (struct archive_entry *entry, struct timespec times[2])
{
    if (archive_entry_mtime_is_set (entry)) {
        times[1].tv_sec = archive_entry_mtime (entry);
        times[1].tv_nsec = archive_entry_mtime_nsec (entry);
    } else {
        times[1].tv_sec = 0;
        times[1].tv_nsec = UTIME_OMIT;
    }
    if (archive_entry_atime_is_set (entry)) {
        times[0].tv_sec = archive_entry_atime (entry);
        times[0].tv_nsec = archive_entry_atime_nsec (entry);
    } else {
        times[0] = times[1];
    }
}

/* Removes from directory FD (PATH in the root) everything lower layers put
 * there: an opaque directory. */
static int
remove_lower_children (layer_t *layer, int fd, const char *path, wr_error_t *err)
{
    cleanup_close int dup_fd = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dup_fd < 0)
        return wr_error_set (err, errno, "open directory `%s`", path[0] ? path : "/");
    cleanup_closedir DIR *dir = fdopendir (dup_fd);
    if (dir == NULL)
        return wr_error_set (err, errno, "read directory `%s`", path[0] ? path : "/");
    steal_fd (&dup_fd);
    /* Names first: removing while reading may make readdir skip some. */
    cleanup_strv char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir (dir)) != NULL) {
        if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
            continue;
        if (n + 2 > cap) {
            cap = cap ? cap * 2 : 16;
            names = xrealloc (names, cap * sizeof (char *));
        }
        names[n++] = xstrdup (de->d_name);
        names[n] = NULL;
        errno = 0;
    }
    if (errno != 0)
        return wr_error_set (err, errno, "read directory `%s`", path[0] ? path : "/");
    for (size_t i = 0; i < n; i++) {
        cleanup_free char *child =
            path[0] ? xasprintf ("%s/%s", path, names[i]) : xstrdup (names[i]);
        if (!path_set_has (&layer->made, child)) {
            if (wr_remove_tree_at (dirfd (dir), names[i], err) < 0)
                return wr_error_prefix (err, "in `%s`", path[0] ? path : "/");
            continue;
        }
        struct stat st;
        if (fstatat (dirfd (dir), names[i], &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR (st.st_mode))
            continue;
        cleanup_close int child_fd =
            openat (dirfd (dir), names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (child_fd < 0)
            return wr_error_set (err, errno, "open directory `%s`", child);
        if (remove_lower_children (layer, child_fd, child, err) < 0)
            return -1;
    }
    return 0;
}

/* ".wh.NAME" (PATH is the whiteout's own normalised path, BASE its last
 * component) or ".wh..wh..opq". */
static int
apply_whiteout (layer_t *layer, const char *path, const char *base, wr_error_t *err)
{
    cleanup_free char *dir =
        base == path ? xstrdup ("") : xstrndup (path, (size_t) (base - path - 1));
    if (strcmp (base, ".wh..wh..opq") == 0) {
        wr_error_t open_err = NULL;
        cleanup_close int fd =
            wr_open_in_root (layer->root_fd, dir, O_RDONLY | O_DIRECTORY, 0, &open_err);
        if (fd < 0) {
            if (wr_error_kind (open_err) != WR_ERROR_NOT_FOUND) {
                wr_error_propagate (err, &open_err);
                return wr_error_prefix (err, "opaque whiteout");
            }
            wr_error_free (&open_err);
            if (wr_dir_missing_through_symlink (layer->root_fd, dir))
                return wr_error_set (err, ENOENT,
                                     "opaque whiteout refused: its directory `%s` goes through a "
                                     "symlink that does not resolve inside the root",
                                     dir);
            return 0;
        }
        return remove_lower_children (layer, fd, dir, err);
    }
    if (strncmp (base, ".wh..wh.", 8) == 0)
        return 0; /* aufs bookkeeping of old Docker layers: nothing to do */
    const char *name = base + 4;
    if (name[0] == '\0' || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
        return wr_error_set (err, EINVAL, "whiteout `%s` refused: it names no entry", path);
    cleanup_free char *target = dir[0] ? xasprintf ("%s/%s", dir, name) : xstrdup (name);
    const char *target_base;
    wr_error_t open_err = NULL;
    cleanup_close int parent_fd =
        wr_open_parent_in_root (layer->root_fd, target, false, &target_base, &open_err);
    if (parent_fd < 0) {
        if (wr_error_kind (open_err) != WR_ERROR_NOT_FOUND) {
            wr_error_propagate (err, &open_err);
            return wr_error_prefix (err, "whiteout of `%s`", target);
        }
        wr_error_free (&open_err);
        if (wr_dir_missing_through_symlink (layer->root_fd, dir))
            return wr_error_set (err, ENOENT,
                                 "whiteout refused: its directory `%s` goes through a symlink "
                                 "that does not resolve inside the root",
                                 dir);
        return 0;
    }
    if (!path_set_has (&layer->made, target))
        return wr_remove_tree_at (parent_fd, target_base, err);
    /* This layer made TARGET: keep what it made, drop what lies below. */
    struct stat st;
    if (fstatat (parent_fd, target_base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR (st.st_mode))
        return 0;
    cleanup_close int fd =
        openat (parent_fd, target_base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return wr_error_set (err, errno, "open directory `%s`", target);
    return remove_lower_children (layer, fd, target, err);
}

/* Makes room for a new entry of type TYPE at BASE in PARENT_FD: an
 * existing directory stays for a directory entry, anything else goes.
 * Returns 1 when an existing directory is kept. */
static int
make_room (int parent_fd, const char *base, mode_t type, wr_error_t *err)
{
    struct stat st;
    if (fstatat (parent_fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return 0;
        return wr_error_set (err, errno, "stat");
    }
    if (S_ISDIR (st.st_mode) && type == S_IFDIR)
        return 1;
    if (wr_remove_tree_at (parent_fd, base, err) < 0)
        return wr_error_prefix (err, "replace the existing entry");
    return 0;
}

static int
write_file_data (layer_t *layer, struct archive *tar, struct archive_entry *entry, int fd,
                 wr_error_t *err)
{
    int64_t end = 0;
    for (;;) {
        const void *buffer;
        size_t size;
        la_int64_t offset;
        int r = archive_read_data_block (tar, &buffer, &size, &offset);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
            return wr_error_set (err, archive_errno (tar) > 0 ? archive_errno (tar) : EIO,
                                 "read data: %s", archive_error_string (tar));
        const char *p = buffer;
        while (size > 0) {
            ssize_t w = pwrite (fd, p, size, offset);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return wr_error_set (err, errno, "write");
            }
            p += w;
            size -= (size_t) w;
            offset += w;
        }
        if (offset > end)
            end = offset;
    }
    /* A sparse file may end in a hole. */
    if (archive_entry_size_is_set (entry) && archive_entry_size (entry) > end &&
        ftruncate (fd, archive_entry_size (entry)) < 0)
        return wr_error_set (err, errno, "truncate");
    return 0;
}

static bool
keeps_owners (const layer_t *layer)
{
    return layer->options != NULL && layer->options->keep_owners;
}

static int
chown_fd_or_at (layer_t *layer, struct archive_entry *entry, int fd, int parent_fd,
                const char *base, wr_error_t *err)
{
    if (!keeps_owners (layer))
        return 0;
    uid_t uid = (uid_t) archive_entry_uid (entry);
    gid_t gid = (gid_t) archive_entry_gid (entry);
    int r =
        fd >= 0 ? fchown (fd, uid, gid) : fchownat (parent_fd, base, uid, gid, AT_SYMLINK_NOFOLLOW);
    if (r < 0)
        return wr_error_set (err, errno, "chown to %u:%u", (unsigned) uid, (unsigned) gid);
    return 0;
}

static void
add_dir_fixup (layer_t *layer, const char *path, struct archive_entry *entry)
{
    if (layer->n_dirs == layer->cap_dirs) {
        layer->cap_dirs = layer->cap_dirs ? layer->cap_dirs * 2 : 64;
        layer->dirs = xrealloc (layer->dirs, layer->cap_dirs * sizeof (dir_fixup_t));
    }
    dir_fixup_t *d = &layer->dirs[layer->n_dirs++];
    d->path = xstrdup (path);
    d->mode = archive_entry_perm (entry) & 07777;
    entry_times (entry, d->times);
}

/* Directories get their modes and times once everything in them is made. */
static int
apply_dir_fixups (layer_t *layer, wr_error_t *err)
{
    for (size_t i = 0; i < layer->n_dirs; i++) {
        dir_fixup_t *d = &layer->dirs[i];
        wr_error_t open_err = NULL;
        cleanup_close int fd = wr_open_in_root (layer->root_fd, d->path,
                                                O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, &open_err);
        if (fd < 0) {
            /* Replaced or whited out later in the same layer (ELOOP: by a
             * symlink, which O_NOFOLLOW does not open). */
            if (wr_error_kind (open_err) == WR_ERROR_NOT_FOUND || open_err->errno_value == ELOOP) {
                wr_error_free (&open_err);
                continue;
            }
            wr_error_propagate (err, &open_err);
            return wr_error_prefix (err, "entry `%s`", d->path[0] ? d->path : "/");
        }
        if (fchmod (fd, d->mode) < 0)
            return wr_error_set (err, errno, "entry `%s`: chmod %04o", d->path[0] ? d->path : "/",
                                 (unsigned) d->mode);
        if (futimens (fd, d->times) < 0)
            return wr_error_set (err, errno, "entry `%s`: set times", d->path[0] ? d->path : "/");
    }
    return 0;
}

static int
apply_hardlink (layer_t *layer, const char *path, const char *link, int parent_fd, const char *base,
                wr_error_t *err)
{
    cleanup_free char *target = wr_path_normalize (link, err);
    if (target == NULL)
        return wr_error_prefix (err, "hard link target");
    if (target[0] == '\0')
        return wr_error_set (err, EINVAL, "hard link to the root refused");
    const char *target_base;
    cleanup_close int target_parent =
        wr_open_parent_in_root (layer->root_fd, target, false, &target_base, err);
    if (target_parent < 0)
        return wr_error_prefix (err, "hard link target `%s`", target);
    struct stat st;
    if (fstatat (target_parent, target_base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return wr_error_set (err, errno, "hard link target `%s`", target);
    if (S_ISDIR (st.st_mode))
        return wr_error_set (err, EPERM, "hard link target `%s` is a directory", target);
    struct stat existing;
    if (fstatat (parent_fd, base, &existing, AT_SYMLINK_NOFOLLOW) == 0 &&
        existing.st_dev == st.st_dev && existing.st_ino == st.st_ino)
        return 0; /* already that file */
    if (make_room (parent_fd, base, S_IFREG, err) < 0)
        return -1;
    /* No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself. */
    if (linkat (target_parent, target_base, parent_fd, base, 0) < 0)
        return wr_error_set (err, errno, "hard link to `%s`", target);
    return 0;
}

static int
apply_entry (layer_t *layer, struct archive *tar, struct archive_entry *entry, const char *path,
             wr_error_t *err)
{
    const char *hardlink = archive_entry_hardlink (entry);
    mode_t type = archive_entry_filetype (entry);
    if (path[0] == '\0') {
        /* "./": the root directory's own metadata. */
        if (hardlink != NULL || type != AE_IFDIR)
            return wr_error_set (err, EINVAL, "the root can only be a directory");
        cleanup_close int fd = wr_open_in_root (layer->root_fd, "", O_RDONLY | O_DIRECTORY, 0, err);
        if (fd < 0)
            return -1;
        if (chown_fd_or_at (layer, entry, fd, -1, NULL, err) < 0)
            return -1;
        apply_xattrs (layer, entry, "/", fd, -1, NULL);
        add_dir_fixup (layer, path, entry);
        return 0;
    }

    const char *base;
    cleanup_close int parent_fd = wr_open_parent_in_root (layer->root_fd, path, true, &base, err);
    if (parent_fd < 0)
        return -1;

    if (hardlink != NULL)
        return apply_hardlink (layer, path, hardlink, parent_fd, base, err);

    mode_t perm = archive_entry_perm (entry) & 07777;
    struct timespec times[2];
    entry_times (entry, times);
    int kept;
    switch (type) {
    case AE_IFREG: {
        if (make_room (parent_fd, base, S_IFREG, err) < 0)
            return -1;
        cleanup_close int fd =
            openat (parent_fd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            return wr_error_set (err, errno, "create");
        if (write_file_data (layer, tar, entry, fd, err) < 0)
            return -1;
        /* chown clears setuid bits and file capabilities: chmod and
         * xattrs after it. */
        if (chown_fd_or_at (layer, entry, fd, -1, NULL, err) < 0)
            return -1;
        if (fchmod (fd, perm) < 0)
            return wr_error_set (err, errno, "chmod %04o", (unsigned) perm);
        apply_xattrs (layer, entry, path, fd, -1, NULL);
        if (futimens (fd, times) < 0)
            return wr_error_set (err, errno, "set times");
        return 0;
    }
    case AE_IFDIR: {
        if ((kept = make_room (parent_fd, base, S_IFDIR, err)) < 0)
            return -1;
        if (!kept && mkdirat (parent_fd, base, 0700) < 0)
            return wr_error_set (err, errno, "mkdir");
        cleanup_close int fd =
            openat (parent_fd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return wr_error_set (err, errno, "open directory");
        if (chown_fd_or_at (layer, entry, fd, -1, NULL, err) < 0)
            return -1;
        apply_xattrs (layer, entry, path, fd, -1, NULL);
        add_dir_fixup (layer, path, entry);
        return 0;
    }
    case AE_IFLNK: {
        const char *target = archive_entry_symlink (entry);
        if (target == NULL || target[0] == '\0')
            return wr_error_set (err, EINVAL, "symlink with no target");
        if (make_room (parent_fd, base, S_IFLNK, err) < 0)
            return -1;
        /* The target is stored as is: it is only ever resolved inside the
         * root (here, or by the sandbox that uses the root). */
        if (symlinkat (target, parent_fd, base) < 0)
            return wr_error_set (err, errno, "symlink to `%s`", target);
        if (chown_fd_or_at (layer, entry, -1, parent_fd, base, err) < 0)
            return -1;
        apply_xattrs (layer, entry, path, -1, parent_fd, base);
        if (utimensat (parent_fd, base, times, AT_SYMLINK_NOFOLLOW) < 0)
            return wr_error_set (err, errno, "set times");
        return 0;
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: {
        if (make_room (parent_fd, base, type, err) < 0)
            return -1;
        dev_t dev = type == AE_IFIFO ? 0
                                     : makedev (archive_entry_rdevmajor (entry),
                                                archive_entry_rdevminor (entry));
        if (mknodat (parent_fd, base, type | perm, dev) < 0) {
            /* Without root (owners not kept) device nodes cannot be made:
             * a rootless unpack goes on without them, as umoci's does. */
            if (errno == EPERM && type != AE_IFIFO && !keeps_owners (layer)) {
                wr_log_to (layer_log (layer), WR_LOG_WARN, "device node skipped: not permitted",
                           "layer", layer->layer_path, "path", path, NULL);
                return 0;
            }
            return wr_error_set (err, errno, "mknod");
        }
        if (chown_fd_or_at (layer, entry, -1, parent_fd, base, err) < 0)
            return -1;
        if (fchmodat (parent_fd, base, perm, AT_SYMLINK_NOFOLLOW) < 0)
            return wr_error_set (err, errno, "chmod %04o", (unsigned) perm);
        apply_xattrs (layer, entry, path, -1, parent_fd, base);
        if (utimensat (parent_fd, base, times, AT_SYMLINK_NOFOLLOW) < 0)
            return wr_error_set (err, errno, "set times");
        return 0;
    }
    default:
        return wr_error_set (err, EINVAL, "unsupported entry type %#o", (unsigned) type);
    }
}

static int
apply_member (layer_t *layer, struct archive *tar, struct archive_entry *entry, wr_error_t *err)
{
    const char *name = archive_entry_pathname (entry);
    cleanup_free char *path = wr_path_normalize (name, err);
    if (path == NULL)
        return -1;
    const char *slash = strrchr (path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    if (strncmp (base, ".wh.", 4) == 0) {
        if (apply_whiteout (layer, path, base, err) < 0)
            return wr_error_prefix (err, "entry `%s`", path);
        return 0;
    }
    if (apply_entry (layer, tar, entry, path, err) < 0)
        return wr_error_prefix (err, "entry `%s`", path[0] ? path : "/");
    mark_made (layer, path);
    return 0;
}

static int
open_layer (layer_t *layer, struct archive **tar_out, wr_error_t *err)
{
    if (layer->fd >= 0) {
        int fd = layer->fd;
        layer->fd = -1; /* the stream has it now, even when it fails */
        layer->stream = wr_layer_stream_open_fd (fd, err);
    } else {
        layer->stream = wr_layer_stream_open (layer->layer_path, err);
    }
    if (layer->stream == NULL)
        return -1;

    struct archive *tar = archive_read_new ();
    *tar_out = tar;
    if (archive_read_support_format_tar (tar) != ARCHIVE_OK)
        return wr_error_set (err, 0, "%s", archive_error_string (tar));
    if (archive_read_open (tar, layer, NULL, read_uncompressed, NULL) != ARCHIVE_OK)
        return wr_error_set (err, 0, "%s", archive_error_string (tar));
    return 0;
}

static void
archive_free_ptr (struct archive **a)
{
    if (*a != NULL)
        archive_read_free (*a);
}

static int
unpack_layer (int root_fd, int fd, const char *layer_path, const char *diff_id,
              const wr_unpack_options_t *options, wr_error_t *err)
{
    __attribute__ ((cleanup (layer_clear))) layer_t layer = {
        .root_fd = root_fd,
        .layer_path = layer_path,
        .fd = fd,
        .options = options,
        .limits = limits_with_defaults (options),
    };
    if (diff_id != NULL && wr_digest_validate (diff_id, err) < 0)
        return wr_error_prefix (err, "layer `%s`: diff_id", layer_path);
    __attribute__ ((cleanup (archive_free_ptr))) struct archive *tar = NULL;
    if (open_layer (&layer, &tar, err) < 0)
        return wr_error_prefix (err, "layer `%s`", layer_path);

    cleanup_free char *last = NULL;
    for (;;) {
        struct archive_entry *entry;
        int r = archive_read_next_header (tar, &entry);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN && layer.limit_error != NULL) {
            *err = steal_pointer (&layer.limit_error);
            return wr_error_prefix (err, "layer `%s`", layer_path);
        }
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            int e = archive_errno (tar);
            if (last != NULL)
                return wr_error_set (err, e > 0 ? e : EIO, "layer `%s`: after entry `%s`: %s",
                                     layer_path, last, archive_error_string (tar));
            return wr_error_set (err, e > 0 ? e : EIO, "layer `%s`: %s", layer_path,
                                 archive_error_string (tar));
        }
        if (options != NULL && wr_cancel_check (options->cancel, NULL, err) < 0)
            return wr_error_prefix (err, "layer `%s`", layer_path);
        free (last);
        last = xstrdup (archive_entry_pathname (entry) ? archive_entry_pathname (entry) : "?");
        if (count_entry (&layer, last, err) < 0)
            return wr_error_prefix (err, "layer `%s`", layer_path);
        if (apply_member (&layer, tar, entry, err) < 0) {
            if (layer.limit_error != NULL) /* reached while reading the entry's data */
                wr_error_free (err), *err = steal_pointer (&layer.limit_error);
            return wr_error_prefix (err, "layer `%s`", layer_path);
        }
    }
    if (apply_dir_fixups (&layer, err) < 0)
        return wr_error_prefix (err, "layer `%s`", layer_path);

    /* The tar ends before the stream does (padding to a record): the
     * DIFF_ID covers all of it. */
    const void *rest;
    ssize_t n;
    while ((n = wr_layer_stream_next (layer.stream, &rest, &layer.compressed, err)) > 0)
        if (count_bytes (&layer, (size_t) n, err) < 0)
            return wr_error_prefix (err, "layer `%s`", layer_path);
    if (n < 0)
        return wr_error_prefix (err, "layer `%s`", layer_path);
    report_progress (&layer, true);
    char actual[WR_DIGEST_MAX_LEN + 1];
    wr_layer_stream_digest (layer.stream, actual);
    if (diff_id != NULL && strcmp (actual, diff_id) != 0)
        return wr_error_set (err, 0, "layer `%s`: uncompressed digest is %s, expected %s",
                             layer_path, actual, diff_id);
    if (options != NULL && options->usage != NULL) {
        options->usage->bytes += layer.uncompressed;
        options->usage->entries += layer.entries;
    }
    return 0;
}

int
wr_unpack_layer (int root_fd, const char *layer_path, const char *diff_id,
                 const wr_unpack_options_t *options, wr_error_t *err)
{
    return unpack_layer (root_fd, -1, layer_path, diff_id, options, err);
}

int
wr_unpack_layer_fd (int root_fd, int fd, const char *name, const char *diff_id,
                    const wr_unpack_options_t *options, wr_error_t *err)
{
    return unpack_layer (root_fd, fd, name, diff_id, options, err);
}
