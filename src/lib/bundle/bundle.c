/* OCI bundles of images: the spec from the image config (bundle_spec.c),
 * the root an overlay of the shared unpacked root (bundle_overlay.c); see
 * bundle.h. */
#include "bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "path_in_root.h"
#include "xalloc.h"
#include "remove_tree.h"

int
wr_bundle_create (wr_store_t *store, const wr_image_record_t *record,
                  const wr_image_config_t *config, const char *dir,
                  const wr_bundle_options_t *options, wr_error_t *err)
{
    if (record->root_id == NULL)
        return wr_error_set (err, 0, "image `%s` has no unpacked root: pull it again",
                             record->name);
    cleanup_free char *lower = wr_store_root_path (store, record->root_id, err);
    if (lower == NULL)
        return wr_error_prefix (err, "image `%s`", record->name);
    cleanup_close int root_fd = open (lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        return wr_error_set (err, errno, "image `%s`: open its root `%s`", record->name, lower);
    cleanup_spec wr_spec_t *spec =
        wr_bundle_spec (root_fd, config, record->name, record, options, err);
    if (spec == NULL)
        return -1;
    if (wr_bundle_mount (dir, lower, err) < 0) {
        wr_bundle_destroy (dir, NULL);
        return wr_error_prefix (err, "bundle of image `%s`", record->name);
    }
    cleanup_free char *config_path = xasprintf ("%s/config.json", dir);
    if (wr_spec_save (spec, config_path, err) < 0) {
        wr_bundle_destroy (dir, NULL);
        return -1;
    }
    return 0;
}

int
wr_bundle_destroy (const char *dir, wr_error_t *err)
{
    struct stat st;
    if (lstat (dir, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        return wr_error_set (err, errno, "bundle `%s`", dir);
    }
    if (wr_bundle_unmount (dir, err) < 0)
        return -1;
    return wr_remove_tree_at (AT_FDCWD, dir, err);
}
