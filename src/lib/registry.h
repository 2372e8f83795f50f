/* A client of the OCI distribution API (registries), on libcurl.
 *
 * Anonymous access, bearer tokens from the WWW-Authenticate challenge,
 * basic auth and tokens from a Docker-style config.json ("auths"), blob
 * redirects, retries with backoff, resumable blob downloads, parallel
 * layers.  HTTPS with the system's CAs; plain HTTP only for loopback and
 * registries marked insecure.  Blobs go through the store's writer, so every
 * byte is checked against its digest before it becomes visible. */
#ifndef WARREN_REGISTRY_H
#define WARREN_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "image_ref.h"
#include "manifest.h"
#include "store.h"

typedef struct wr_registry_s wr_registry_t;

typedef struct {
    const char *docker_io_mirror; /* "http://127.0.0.1:5000"; NULL: Docker Hub */
    const char *auth_config; /* Docker-style config.json; NULL: $DOCKER_CONFIG or ~/.docker */
    const char *const *insecure_registries; /* host[:port] allowed over plain HTTP */
    int max_parallel; /* layers at once (default 4) */
    int retries; /* per request (default 3) */
    int64_t max_bytes_per_second; /* per blob download; 0: no limit */
} wr_registry_options_t;

/* Progress of one blob: called from the pulling thread, now and then. */
typedef void (*wr_registry_progress_fn) (void *data, const char *digest, int64_t done,
                                         int64_t total);

wr_registry_t *wr_registry_new (const wr_registry_options_t *options, wr_error_t *err);
void wr_registry_free (wr_registry_t *registry);

/* Fetches the manifest or index REFERENCE (tag or digest) of REF.REPOSITORY.
 * Checks it against REF's digest when it has one; *DIGEST gets the
 * document's digest.  Size-limited to WR_MANIFEST_MAX_SIZE. */
int wr_registry_get_manifest (wr_registry_t *registry, const wr_image_ref_t *ref,
                              const char *reference, char **body, size_t *len, char **content_type,
                              char **digest, wr_error_t *err);

/* Downloads the blobs (those not in STORE yet) into STORE, up to
 * max_parallel at once, resuming partial downloads where the registry
 * allows ranges. */
int wr_registry_fetch_blobs (wr_registry_t *registry, const wr_image_ref_t *ref,
                             const wr_descriptor_t *const *blobs, size_t count, wr_store_t *store,
                             wr_registry_progress_fn progress, void *progress_data,
                             wr_error_t *err);

#endif
