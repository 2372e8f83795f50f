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

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "manifest.h"
#include "spec.h"
#include "store.h"

#define WR_DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

typedef struct {
    /* The command: NULL uses the image's entrypoint + cmd. */
    const char *const *args;
    /* NAME=VALUE entries set after the image's env (replacing the same NAME). */
    const char *const *env;
    const char *user; /* NULL: the image's User */
    const char *cwd; /* NULL: the image's WorkingDir, else "/" */
    const char *hostname; /* NULL: "warren" */
    /* No network namespace in the spec: the sandbox uses the host's network
     * (runsc --network=host).  Otherwise the spec asks for a new one. */
    bool host_network;
    /* "key=value" annotations added to the image's (NULL-terminated). */
    const char *const *annotations;
} wr_bundle_options_t;

/* A process user resolved in an image's root. */
typedef struct {
    uid_t uid;
    gid_t gid;
    gid_t *additional_gids; /* groups of /etc/group that list the user */
    size_t n_additional_gids;
    char *home; /* from /etc/passwd; NULL when the user has no entry */
} wr_bundle_user_t;

/* Resolves USER ("", "name", "uid", "name:group", "uid:gid", ...) as
 * Docker does, reading ROOT_FD's /etc/passwd and /etc/group resolved
 * inside ROOT_FD (openat2 RESOLVE_IN_ROOT: a symlink there never reads a
 * file of the host).  A name not found is an error; a numeric uid not
 * found is used as it is, with gid 0. */
int wr_bundle_resolve_user (int root_fd, const char *user, wr_bundle_user_t *out, wr_error_t *err);
void wr_bundle_user_clear (wr_bundle_user_t *user);

/* The runtime spec of a sandbox of an image: CONFIG (entrypoint, cmd, env,
 * working dir, user resolved in ROOT_FD), IMAGE_NAME and the record's
 * digests (may be NULL) as annotations, and OPTIONS. */
wr_spec_t *wr_bundle_spec (int root_fd, const wr_image_config_t *config, const char *image_name,
                           const wr_image_record_t *record, const wr_bundle_options_t *options,
                           wr_error_t *err);

/* Makes DIR (which must not exist, its parent must) with upper/, work/ and
 * rootfs/ and mounts the overlay of LOWER (a root directory) on rootfs/. */
int wr_bundle_mount (const char *dir, const char *lower, wr_error_t *err);

/* A whole bundle in DIR for the image RECORD (its root must be unpacked)
 * of STORE, with CONFIG its parsed config. */
int wr_bundle_create (wr_store_t *store, const wr_image_record_t *record,
                      const wr_image_config_t *config, const char *dir,
                      const wr_bundle_options_t *options, wr_error_t *err);

/* Unmounts DIR/rootfs (when mounted); DIR stays (upper/ holds the changes). */
int wr_bundle_unmount (const char *dir, wr_error_t *err);

/* Unmounts DIR/rootfs (when mounted) and removes DIR.  A missing DIR is
 * not an error.  A rootfs that stays mounted (busy) is an error and
 * nothing is removed. */
int wr_bundle_destroy (const char *dir, wr_error_t *err);

#endif
