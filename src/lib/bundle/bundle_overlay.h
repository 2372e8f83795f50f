/* A bundle's root: host overlayfs over an image's shared, read-only
 * unpacked root (bundle_overlay.c; see bundle.h for the layout). */
#ifndef WARREN_BUNDLE_OVERLAY_H
#define WARREN_BUNDLE_OVERLAY_H

#include "error.h"

/* Makes DIR (which must not exist, its parent must) with upper/, work/ and
 * rootfs/ and mounts the overlay of LOWER (a root directory) on rootfs/. */
int wr_bundle_mount (const char *dir, const char *lower, wr_error_t *err);

/* Unmounts DIR/rootfs (when mounted); DIR stays (upper/ holds the changes). */
int wr_bundle_unmount (const char *dir, wr_error_t *err);

#endif
