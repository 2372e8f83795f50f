/* A bundle's root: an overlay of an image's shared unpacked root (see
 * bundle_overlay.h). */
#include "bundle_overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"

/* overlayfs takes its directories in a comma- and colon-separated option
 * string: such characters in a path would change its meaning. */
static int
check_overlay_path (const char *path, wr_error_t *err)
{
    if (strpbrk (path, ",:\\") != NULL)
        return wr_error_set (err, EINVAL, "overlay directory `%s` has a `,`, `:` or `\\`", path);
    return 0;
}

int
wr_bundle_mount (const char *dir, const char *lower, wr_error_t *err)
{
    cleanup_free char *upper = xasprintf ("%s/upper", dir);
    cleanup_free char *work = xasprintf ("%s/work", dir);
    cleanup_free char *rootfs = xasprintf ("%s/rootfs", dir);
    if (check_overlay_path (lower, err) < 0 || check_overlay_path (upper, err) < 0 ||
        check_overlay_path (work, err) < 0)
        return -1;
    struct stat st;
    if (stat (lower, &st) < 0)
        return wr_error_set (err, errno, "image root `%s`", lower);
    if (!S_ISDIR (st.st_mode))
        return wr_error_set (err, ENOTDIR, "image root `%s`", lower);
    if (mkdir (dir, 0700) < 0)
        return wr_error_set (err, errno, "create bundle `%s`", dir);
    if (mkdir (upper, 0755) < 0 || mkdir (work, 0700) < 0 || mkdir (rootfs, 0755) < 0)
        return wr_error_set (err, errno, "create the directories of bundle `%s`", dir);
    /* The upper root takes the lower root's mode and owner, or the
     * sandbox's / would be 0700 root. */
    if (chmod (upper, st.st_mode & 07777) < 0 || chown (upper, st.st_uid, st.st_gid) < 0)
        return wr_error_set (err, errno, "set the mode of `%s`", upper);
    /* No index, metacopy or redirect_dir: every change is a whole file in
     * upper/, which is what an image layer needs. */
    cleanup_free char *data =
        xasprintf ("lowerdir=%s,upperdir=%s,workdir=%s,index=off,metacopy=off,redirect_dir=off",
                   lower, upper, work);
    if (mount ("overlay", rootfs, "overlay", 0, data) < 0)
        return wr_error_set (err, errno, "mount an overlay of `%s` on `%s`", lower, rootfs);
    return 0;
}

/* True when PATH is a mount point (another device than its parent, or a
 * mount of the same device, which statx tells). */
static bool
is_mount_point (const char *path)
{
    struct statx stx;
    if (statx (AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0)
        return false;
    return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) != 0 &&
           (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
}

int
wr_bundle_unmount (const char *dir, wr_error_t *err)
{
    cleanup_free char *rootfs = xasprintf ("%s/rootfs", dir);
    /* Several mounts may be stacked there (a retry); take them all. */
    for (int i = 0; i < 16 && is_mount_point (rootfs); i++) {
        if (umount2 (rootfs, 0) < 0 && errno != EINVAL) {
            if (errno != EBUSY || umount2 (rootfs, MNT_DETACH) < 0)
                return wr_error_set (err, errno, "unmount `%s`", rootfs);
        }
    }
    if (is_mount_point (rootfs))
        return wr_error_set (err, EBUSY, "`%s` is still mounted: not removing bundle `%s`", rootfs,
                             dir);
    return 0;
}
