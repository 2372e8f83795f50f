/* An OCI bundle for an image in the store, without copying the image.
 *
 *   DIR/config.json   the runtime spec, from the image config
 *   DIR/rootfs        host overlayfs: lowerdir = the image's shared,
 *                     read-only unpacked root; upperdir and workdir below
 *   DIR/upper         what the sandbox writes (a build step's new layer)
 *   DIR/work          overlayfs's own
 *
 * Host overlayfs rather than runsc's root overlay (--overlay2=root:...):
 * a build step needs the upper directory on the host to turn it into a
 * layer, and any runtime (runsc, runc, crun) can use such a bundle.  Run it
 * with runsc --overlay2=none (or warren-runtime), so that writes reach the
 * upper directory instead of a second overlay inside the sandbox.
 *
 * The root is never written: overlayfs copies a file up before changing it.
 * Mounting needs CAP_SYS_ADMIN (warren runs as root). */
#ifndef WARREN_BUNDLE_H
#define WARREN_BUNDLE_H

#include "bundle_overlay.h"
#include "bundle_spec.h"
#include "bundle_user.h"
#include "error.h"
#include "manifest.h"
#include "store.h"

/* A whole bundle in DIR for the image RECORD (its root must be unpacked)
 * of STORE, with CONFIG its parsed config. */
int wr_bundle_create (wr_store_t *store, const wr_image_record_t *record,
                      const wr_image_config_t *config, const char *dir,
                      const wr_bundle_options_t *options, wr_error_t *err);

/* Unmounts DIR/rootfs (when mounted) and removes DIR.  A missing DIR is
 * not an error.  A rootfs that stays mounted (busy) is an error and
 * nothing is removed. */
int wr_bundle_destroy (const char *dir, wr_error_t *err);

#endif
