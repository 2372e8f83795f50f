/* What the files of image builds share (image_build.c runs the steps;
 * image_build_step.c parses and describes them; image_build_cache.c keeps
 * the cache table; image_build_image.c loads, changes and stores the image
 * being built; image_build_sandbox.c runs a step's sandbox).  Not
 * installed. */
#ifndef WARREN_IMAGE_BUILD_PRIVATE_H
#define WARREN_IMAGE_BUILD_PRIVATE_H

#include <json-c/json.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "image_build.h"
#include "manifest.h"
#include "layer_diff.h"
#include "store.h"

#define WR_BUILD_COPY_BUFFER (128 * 1024)

/* ---- with_docker (image_build_step.c) ---- */
/* The apt mirror of OPTIONS, or NULL for the image's own sources. */
const char *wr_build_apt_mirror (const wr_build_options_t *options);
/* The shell script of with_docker() on Debian and Ubuntu (MIRROR may be
 * NULL).  Caller frees. */
char *wr_build_with_docker_script (const char *mirror);

/* ---- copy sources (image_build_step.c) ----
 * Where a copy step's source is read from: *DIR_FD (-1 for AT_FDCWD; the
 * caller closes it) and *NAME, the source's name in it.  With a context
 * (OPTIONS->context_dir) the source is resolved inside it and *DIR_FD is
 * an O_PATH descriptor of the directory holding it. */
int wr_build_copy_source (const wr_build_step_t *step, const wr_build_options_t *options,
                          int *dir_fd, const char **name, wr_error_t *err);

/* ---- a step's sandbox (image_build_sandbox.c) ---- */
typedef struct {
    const char *runsc;
    const char *state; /* runsc's --root */
    const char *dir; /* the bundle */
    const char *id;
    int output_fd; /* the sandbox's stdout and stderr; stdin is /dev/null */
    /* --network=sandbox with NETWORK's child_setup; without it,
     * --network=none when NO_NETWORK, else --network=host. */
    const wr_build_network_t *network;
    bool no_network;
    int timeout; /* seconds */
    const wr_cancel_t *cancel;
} wr_build_sandbox_t;

/* Runs the sandbox S once; *STATUS gets runsc's wait status.  Past its
 * deadline or once cancelled it is killed and deleted, and that is the
 * error. */
int wr_build_sandbox_run (const wr_build_sandbox_t *s, int *status, wr_error_t *err);
/* NETWORK's part of a step's SPEC: its resolv.conf's bind, then its
 * prepare. */
int wr_build_sandbox_network (wr_spec_t *spec, const wr_build_network_t *network, wr_error_t *err);
/* Removes from a step's upper directory UPPER_FD the mount point runsc
 * made for NETWORK's resolv.conf in an image (LOWER_FD) that had none. */
void wr_build_sandbox_drop_mountpoints (const wr_build_network_t *network, int lower_fd,
                                        int upper_fd);

/* ---- the cache (image_build_cache.c) ----
 * A table of its own in the store's database, made when missing; a row
 * names the manifest a (parent, step) key built. */
int wr_build_cache_open (wr_store_t *store, sqlite3 **db, wr_error_t *err);
/* 1 and *MANIFEST_DIGEST when KEY is cached, 0 when not, -1 on error. */
int wr_build_cache_get (sqlite3 *db, const char *key, char **manifest_digest, wr_error_t *err);
int wr_build_cache_put (sqlite3 *db, const char *key, const char *manifest_digest, wr_error_t *err);

/* ---- the image being built (image_build_image.c) ---- */
typedef struct {
    char manifest_digest[WR_DIGEST_MAX_LEN + 1];
    char config_digest[WR_DIGEST_MAX_LEN + 1];
    json_object *config; /* the whole config document */
    json_object *layers; /* the manifest's layer descriptors (OCI media types) */
    wr_image_config_t parsed;
    char root_id[WR_DIGEST_SHA256_HEX_LEN + 1];
    int64_t size;
} wr_build_image_t;

void wr_build_image_clear (wr_build_image_t *image);
/* Loads the image of MANIFEST_DIGEST from STORE. */
int wr_build_image_load (wr_store_t *store, const char *manifest_digest, wr_build_image_t *image,
                         wr_error_t *err);
/* The image's root, unpacked when missing.  Returns its path (caller
 * frees), NULL on error. */
char *wr_build_image_root (wr_store_t *store, wr_build_image_t *image, const wr_log_t *log,
                           wr_error_t *err);
/* Copies the file at FD (from its start) into STORE as blob DIGEST. */
int wr_build_store_blob_from_fd (wr_store_t *store, int fd, const char *digest, int64_t size,
                                 wr_error_t *err);
/* Writes IMAGE's config and a new OCI manifest for it into STORE, after
 * adding LAYER (may be NULL: a config-only step) and a history entry
 * CREATED_BY. */
int wr_build_image_commit (wr_store_t *store, wr_build_image_t *image,
                           const wr_layer_diff_result_t *layer, const char *created_by,
                           wr_error_t *err);
/* Sets ENV (NAME=VALUE entries) in IMAGE's config, replacing the same
 * names. */
void wr_build_image_set_env (wr_build_image_t *image, char *const *env);
/* Makes the changes of the config step STEP in IMAGE's config, its
 * WorkingDir WORKDIR (absolute, resolved by the caller) when it sets one. */
void wr_build_image_set_config (wr_build_image_t *image, const wr_build_step_t *step,
                                const char *workdir);
/* The absolute, lexically normalised WorkingDir that DIR means in IMAGE
 * (a relative DIR is joined to its current one).  Caller frees. */
char *wr_build_image_workdir (const wr_build_image_t *image, const char *dir);

#endif
