/* OCI and Docker schema-2 manifests, image indexes / manifest lists, and
 * image configs: parsing (untrusted input, size-limited) and platform
 * selection. */
#ifndef WARREN_MANIFEST_H
#define WARREN_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define WR_MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define WR_MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define WR_MEDIA_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define WR_MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define WR_MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define WR_MEDIA_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
/* Layer media types warren unpacks (others are refused by wr_manifest_parse). */
#define WR_MEDIA_OCI_LAYER_TAR "application/vnd.oci.image.layer.v1.tar"
#define WR_MEDIA_OCI_LAYER_TAR_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define WR_MEDIA_OCI_LAYER_TAR_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define WR_MEDIA_DOCKER_LAYER_TAR_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* Largest manifest or index accepted (the distribution spec's 4 MiB), and
 * largest image config. */
#define WR_MANIFEST_MAX_SIZE (4 * 1024 * 1024)
#define WR_CONFIG_MAX_SIZE (8 * 1024 * 1024)

typedef struct {
    char *media_type;
    char *digest; /* validated with wr_digest_validate */
    int64_t size; /* >= 0 */
    /* platform, for the entries of an index (NULL when absent) */
    char *os;
    char *architecture;
    char *variant;
} wr_descriptor_t;

typedef enum {
    WR_MANIFEST_IMAGE, /* config + layers */
    WR_MANIFEST_INDEX, /* manifests[] */
} wr_manifest_kind_t;

typedef struct {
    wr_manifest_kind_t kind;
    char *media_type;
    wr_descriptor_t config; /* WR_MANIFEST_IMAGE */
    wr_descriptor_t *layers; /* WR_MANIFEST_IMAGE */
    size_t n_layers;
    wr_descriptor_t *manifests; /* WR_MANIFEST_INDEX */
    size_t n_manifests;
} wr_manifest_t;

/* Parses a manifest or index.  CONTENT_TYPE (from the registry; may be
 * NULL) must agree with the document's mediaType when both are set.  A
 * document that is both a manifest and an index (has both "layers" and
 * "manifests") is refused, as are unknown media types, bad digests,
 * negative sizes and documents over WR_MANIFEST_MAX_SIZE.  NAME is used in
 * errors, with the JSON path of the field at fault.  On failure *MANIFEST
 * is left cleared.  An index keeps entries of media types it does not
 * know (the OCI spec says to ignore them); wr_manifest_select_platform
 * never picks them. */
int wr_manifest_parse (const char *data, size_t len, const char *content_type, const char *name,
                       wr_manifest_t *manifest, wr_error_t *err);
void wr_manifest_clear (wr_manifest_t *manifest);

/* The entry of INDEX for OS/ARCHITECTURE/VARIANT (VARIANT may be NULL:
 * then the first match on os and architecture, preferring no variant or
 * "v8" for arm64).  No match: an error listing the platforms offered. */
const wr_descriptor_t *wr_manifest_select_platform (const wr_manifest_t *index, const char *os,
                                                    const char *architecture, const char *variant,
                                                    wr_error_t *err);
/* The host's platform in OCI terms ("linux", "amd64"/"arm64"/..., variant). */
void wr_platform_host (const char **os, const char **architecture, const char **variant);

/* The parts of an image config a sandbox needs. */
typedef struct {
    char *architecture;
    char *os;
    char **env; /* NULL-terminated, may be NULL */
    char **entrypoint; /* NULL-terminated, may be NULL */
    char **cmd; /* NULL-terminated, may be NULL */
    char *working_dir; /* NULL when absent or empty */
    char *user; /* NULL when absent or empty */
    char **exposed_ports; /* "80/tcp", ... ("80" becomes "80/tcp"); may be NULL */
    char **diff_ids; /* rootfs.diff_ids: digests of the uncompressed layers (never NULL) */
    char *variant; /* the platform's variant ("v8"); NULL when absent or empty */
    /* config.Labels in document order as pairs: key, value, key, value, ...,
     * NULL-terminated; NULL when there are none */
    char **labels;
} wr_image_config_t;

/* Parses an image config (at most WR_CONFIG_MAX_SIZE).  Env entries must be
 * NAME=VALUE, ExposedPorts keys PORT[/tcp|udp|sctp], Labels an object of
 * strings, rootfs.type "layers" and every diff_id a valid digest.  On failure *CONFIG is left cleared. */
int wr_image_config_parse (const char *data, size_t len, const char *name,
                           wr_image_config_t *config, wr_error_t *err);
void wr_image_config_clear (wr_image_config_t *config);

#endif
