/* The runtime spec of a sandbox of an image, made from the image config
 * (bundle_spec.c). */
#ifndef WARREN_BUNDLE_SPEC_H
#define WARREN_BUNDLE_SPEC_H

#include <stdbool.h>

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

/* The runtime spec of a sandbox of an image: CONFIG (entrypoint, cmd, env,
 * working dir, user resolved in ROOT_FD), IMAGE_NAME and the record's
 * digests (may be NULL) as annotations, and OPTIONS. */
wr_spec_t *wr_bundle_spec (int root_fd, const wr_image_config_t *config, const char *image_name,
                           const wr_image_record_t *record, const wr_bundle_options_t *options,
                           wr_error_t *err);

#endif
