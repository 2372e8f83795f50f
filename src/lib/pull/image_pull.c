#include "image_pull.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "fs.h"
#include "log.h"
#include "progress.h"
#include "pull_unpack.h"
#include "strv.h"
#include "xalloc.h"

static int64_t
now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
format_took (int64_t since, char *out, size_t size)
{
    wr_progress_format_duration (now_ns () - since, out, size);
}

int
wr_chain_id (const char *const *diff_ids, size_t count, char *out, wr_error_t *err)
{
    if (count == 0)
        return wr_error_set (err, 0, "an image with no layers has no root");
    for (size_t i = 0; i < count; i++)
        if (wr_digest_validate (diff_ids[i], err) < 0)
            return wr_error_prefix (err, "diff id %zu", i);
    snprintf (out, WR_DIGEST_MAX_LEN + 1, "%s", diff_ids[0]);
    for (size_t i = 1; i < count; i++) {
        char text[2 * WR_DIGEST_MAX_LEN + 2];
        int n = snprintf (text, sizeof text, "%s %s", out, diff_ids[i]);
        wr_sha256_digest (text, (size_t) n, out);
    }
    return 0;
}

int
wr_platform_parse (const char *text, char **os, char **architecture, char **variant,
                   wr_error_t *err)
{
    *os = *architecture = *variant = NULL;
    cleanup_strv char **parts = NULL;
    size_t n = 0;
    /* Split by hand: wr_strv_split drops empty pieces, and "linux//v8" is
     * an error, not "linux/v8". */
    const char *start = text;
    for (const char *p = text;; p++) {
        if (*p == '/' || *p == '\0') {
            if (p == start || n == 3)
                goto bad;
            wr_strv_add_take (&parts, xstrndup (start, (size_t) (p - start)));
            n++;
            if (*p == '\0')
                break;
            start = p + 1;
        }
    }
    if (n < 2)
        goto bad;
    for (size_t i = 0; i < n; i++)
        for (const char *c = parts[i]; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' ||
                  *c == '.'))
                goto bad;
    *os = xstrdup (parts[0]);
    *architecture = xstrdup (parts[1]);
    *variant = n == 3 ? xstrdup (parts[2]) : NULL;
    return 0;
bad:
    return wr_error_set (err, 0, "platform `%s`: expected os/arch[/variant], e.g. linux/amd64",
                         text);
}

static void
record_copy (wr_image_record_t *dst, const wr_image_record_t *src)
{
    dst->name = src->name != NULL ? xstrdup (src->name) : NULL;
    dst->manifest_digest = src->manifest_digest != NULL ? xstrdup (src->manifest_digest) : NULL;
    dst->config_digest = src->config_digest != NULL ? xstrdup (src->config_digest) : NULL;
    dst->root_id = src->root_id != NULL ? xstrdup (src->root_id) : NULL;
    dst->size = src->size;
    dst->created = src->created;
}

static int
fetch_config (wr_store_t *store, wr_registry_t *registry, const wr_registry_call_t *call,
              const wr_image_ref_t *ref, const wr_descriptor_t *desc, bool *fetched,
              wr_image_config_t *config, const wr_log_t *log, wr_error_t *err)
{
    if (desc->size > WR_CONFIG_MAX_SIZE)
        return wr_error_set (err, 0,
                             "image config %s: %" PRId64 " bytes is more than the limit of %d",
                             desc->digest, desc->size, WR_CONFIG_MAX_SIZE);
    *fetched = false;
    if (!wr_store_has_blob_size (store, desc->digest, desc->size)) {
        wr_log_to (log, WR_LOG_INFO, "fetching config", "digest", desc->digest, NULL);
        const wr_descriptor_t *blobs[] = { desc };
        if (wr_registry_fetch_blobs_call (registry, call, ref, blobs, 1, store, NULL, NULL, NULL,
                                          err) < 0)
            return wr_error_prefix (err, "image config %s", desc->digest);
        *fetched = true;
    }
    cleanup_free char *data = NULL;
    size_t len = 0;
    if (wr_store_read_blob (store, desc->digest, WR_CONFIG_MAX_SIZE, &data, &len, err) < 0)
        return wr_error_prefix (err, "image config %s", desc->digest);
    cleanup_free char *name = xasprintf ("image config %s", desc->digest);
    return wr_image_config_parse (data, len, name, config, err);
}

/* Layers that are not for us to fetch (foreign, non-distributable) have
 * media types with "nondistributable" or ".foreign." in them; they are refused rather than
 * silently skipped, since the root would be incomplete. */
static int
check_layers (const wr_manifest_t *manifest, wr_error_t *err)
{
    for (size_t i = 0; i < manifest->n_layers; i++) {
        const char *type = manifest->layers[i].media_type;
        if (type != NULL &&
            (strstr (type, "nondistributable") != NULL || strstr (type, ".foreign.") != NULL))
            return wr_error_set (err, 0, "layer %s has media type `%s`, which is not supported",
                                 manifest->layers[i].digest, type);
    }
    return 0;
}

/* The token a pull checks: its caller's, with the pull's deadline added
 * (*OWNED is set when a new token was made; the caller frees it). */
static int
pull_token (const wr_pull_options_t *opts, wr_cancel_t **owned, const wr_cancel_t **token,
            wr_error_t *err)
{
    *owned = NULL;
    *token = opts->cancel;
    if (opts->deadline_ms < 0)
        return wr_error_set (err, 0, "pull deadline %" PRId64 " ms is negative", opts->deadline_ms);
    if (opts->deadline_ms == 0)
        return 0;
    *owned = wr_cancel_new (opts->cancel, opts->deadline_ms, "pull deadline", err);
    if (*owned == NULL)
        return -1;
    *token = *owned;
    return 0;
}

static int pull_manifest (wr_store_t *store, wr_registry_t *registry,
                          const wr_registry_call_t *call, const wr_image_ref_t *ref,
                          const char *name, const wr_manifest_t *manifest,
                          const char *manifest_digest, const char *const *extra_blobs,
                          const wr_pull_options_t *opts, wr_image_record_t *out,
                          wr_pull_result_t *result, wr_error_t *err);

int
wr_image_pull_manifest (wr_store_t *store, wr_registry_t *registry, const wr_image_ref_t *ref,
                        const char *name, const wr_manifest_t *manifest,
                        const char *manifest_digest, const char *const *extra_blobs,
                        const wr_pull_options_t *opts, wr_image_record_t *out,
                        wr_pull_result_t *result, wr_error_t *err)
{
    static const wr_pull_options_t no_options;
    if (opts == NULL)
        opts = &no_options;
    cleanup_cancel wr_cancel_t *owned = NULL;
    const wr_cancel_t *token = NULL;
    if (pull_token (opts, &owned, &token, err) < 0)
        return wr_error_prefix (err, "%s", name);
    wr_registry_call_t call = { .cancel = token, .log = opts->log };
    return pull_manifest (store, registry, &call, ref, name, manifest, manifest_digest, extra_blobs,
                          opts, out, result, err);
}

static int
pull_manifest (wr_store_t *store, wr_registry_t *registry, const wr_registry_call_t *call,
               const wr_image_ref_t *ref, const char *name, const wr_manifest_t *manifest,
               const char *manifest_digest, const char *const *extra_blobs,
               const wr_pull_options_t *opts, wr_image_record_t *out, wr_pull_result_t *result,
               wr_error_t *err)
{
    wr_pull_result_t local_result;
    if (result == NULL)
        result = &local_result;
    memset (result, 0, sizeof *result);

    if (manifest->kind != WR_MANIFEST_IMAGE)
        return wr_error_set (err, 0, "%s: manifest %s is an index, not an image manifest", name,
                             manifest_digest);
    if (check_layers (manifest, err) < 0)
        return wr_error_prefix (err, "%s", name);

    wr_image_config_t config = { 0 };
    bool config_fetched = false;
    if (fetch_config (store, registry, call, ref, &manifest->config, &config_fetched, &config,
                      opts->log, err) < 0) {
        wr_image_config_clear (&config);
        return wr_error_prefix (err, "%s", name);
    }
    size_t n_diff_ids = wr_strv_length (config.diff_ids);
    if (n_diff_ids != manifest->n_layers) {
        wr_image_config_clear (&config);
        return wr_error_set (err, 0,
                             "%s: the config lists %zu diff ids but the manifest has %zu layers",
                             name, n_diff_ids, manifest->n_layers);
    }
    char chain[WR_DIGEST_MAX_LEN + 1];
    if (wr_chain_id ((const char *const *) config.diff_ids, n_diff_ids, chain, err) < 0) {
        wr_image_config_clear (&config);
        return wr_error_prefix (err, "%s", name);
    }
    const char *root_id = wr_digest_hex (chain);
    cleanup_free char *root_path = wr_store_root_path (store, root_id, err);
    if (root_path == NULL) {
        wr_image_config_clear (&config);
        return wr_error_prefix (err, "%s", name);
    }
    bool root_exists = wr_is_directory (root_path);

    /* Which layers are missing, and how big they are. */
    const wr_descriptor_t **missing = xmalloc ((manifest->n_layers + 1) * sizeof *missing);
    size_t n_missing = 0;
    uint64_t missing_bytes = 0;
    int64_t size = manifest->config.size;
    for (size_t i = 0; i < manifest->n_layers; i++) {
        const wr_descriptor_t *layer = &manifest->layers[i];
        size += layer->size;
        if (wr_store_has_blob_size (store, layer->digest, layer->size))
            continue;
        bool seen = false; /* the same layer twice in one image */
        for (size_t j = 0; j < n_missing; j++)
            seen = seen || strcmp (missing[j]->digest, layer->digest) == 0;
        if (seen)
            continue;
        missing[n_missing++] = layer;
        missing_bytes += (uint64_t) layer->size;
    }
    result->layers_total = manifest->n_layers;
    result->up_to_date = n_missing == 0 && root_exists && !config_fetched;
    if (result->up_to_date)
        wr_log_to (opts->log, WR_LOG_INFO, "image is up to date", "image", name, "root", root_id,
                   NULL);

    int ret = 0;
    /* A root to make: the unpack starts now, each layer as soon as it is
     * in the store (pull_unpack.h), while the missing ones download. */
    wr_pull_unpack_t *pipelined = NULL;
    int64_t unpack_started = now_ns ();
    if (!root_exists) {
        char count[24];
        snprintf (count, sizeof count, "%zu", manifest->n_layers);
        wr_log_to (opts->log, WR_LOG_INFO, "unpacking", "image", name, "layers", count, "root",
                   root_path, NULL);
        /* The lowest layer is read as it downloads when it has to be
         * downloaded. */
        bool stream_lowest =
            !wr_store_has_blob_size (store, manifest->layers[0].digest, manifest->layers[0].size);
        pipelined = wr_pull_unpack_start (store, manifest, config.diff_ids, root_path,
                                          stream_lowest, opts != NULL ? &opts->limits : NULL,
                                          opts != NULL ? opts->log : NULL, call->cancel, err);
        if (pipelined == NULL)
            ret = wr_error_prefix (err, "%s: unpack", name);
    }
    if (ret == 0 && n_missing > 0) {
        char count[24], bytes[24], total[24], took[32];
        snprintf (count, sizeof count, "%zu", n_missing);
        snprintf (total, sizeof total, "%zu", manifest->n_layers);
        snprintf (bytes, sizeof bytes, "%" PRIu64, missing_bytes);
        wr_log_to (opts->log, WR_LOG_INFO, "fetching layers", "image", name, "layers", count, "of",
                   total, "bytes", bytes, NULL);
        if (opts->announce != NULL)
            for (size_t i = 0; i < n_missing; i++)
                opts->announce (opts->progress_data, missing[i]->digest, missing[i]->size);
        int64_t started = now_ns ();
        ret = wr_registry_fetch_blobs_call (
            registry, call, ref, missing, n_missing, store, opts->progress, opts->progress_data,
            pipelined != NULL ? wr_pull_unpack_tee (pipelined) : NULL, err);
        if (ret == 0) {
            format_took (started, took, sizeof took);
            wr_log_to (opts->log, WR_LOG_INFO, "layers fetched", "image", name, "layers", count,
                       "bytes", bytes, "took", took, NULL);
            result->layers_fetched = n_missing;
            result->bytes_fetched = missing_bytes;
        } else {
            wr_error_prefix (err, "%s", name);
        }
    }
    free (missing);

    if (pipelined != NULL) {
        wr_error_t unpack_err = NULL;
        int unpacked = wr_pull_unpack_finish (pipelined, ret == 0, &unpack_err);
        if (ret == 0 && unpacked < 0) {
            ret = -1;
            if (err != NULL)
                *err = steal_pointer (&unpack_err);
            wr_error_prefix (err, "%s: unpack", name);
        } else if (ret == 0) {
            char took[32];
            format_took (unpack_started, took, sizeof took);
            wr_log_to (opts->log, WR_LOG_INFO, "unpacked", "image", name, "root", root_id, "took",
                       took, NULL);
            result->unpacked = true;
        }
        wr_error_free (&unpack_err);
    }
    wr_image_config_clear (&config);
    if (ret < 0)
        return ret;
    /* Nothing is recorded for a pull stopped after its root was made. */
    if (wr_cancel_check (call->cancel, name, err) < 0)
        return -1;

    /* Every blob the image needs, so that prune keeps them. */
    cleanup_strv char **blobs = NULL;
    for (const char *const *b = extra_blobs; b != NULL && *b != NULL; b++)
        wr_strv_add (&blobs, *b);
    wr_strv_add (&blobs, manifest_digest);
    wr_strv_add (&blobs, manifest->config.digest);
    for (size_t i = 0; i < manifest->n_layers; i++)
        if (!wr_strv_contains (blobs, manifest->layers[i].digest))
            wr_strv_add (&blobs, manifest->layers[i].digest);

    wr_image_record_t record = {
        .name = (char *) name,
        .manifest_digest = (char *) manifest_digest,
        .config_digest = manifest->config.digest,
        .root_id = (char *) root_id,
        .size = size,
        .created = (int64_t) time (NULL),
    };
    if (wr_store_image_put (store, &record, (const char *const *) blobs, err) < 0)
        return wr_error_prefix (err, "%s: record the image", name);
    if (out != NULL)
        record_copy (out, &record);
    return 0;
}

/* Stores a manifest or index document under DIGEST unless it is there. */
static int
keep_document (wr_store_t *store, const char *body, size_t len, const char *digest, wr_error_t *err)
{
    if (wr_store_has_blob (store, digest))
        return 0;
    return wr_store_put_blob (store, body, len, digest, NULL, err);
}

typedef struct {
    char *body;
    size_t len;
    char *content_type;
    char *digest;
} document_t;

static void
document_clear (document_t *d)
{
    free (d->body);
    free (d->content_type);
    free (d->digest);
    memset (d, 0, sizeof *d);
}

/* Picks the platform's manifest from INDEX and fetches it by digest. */
static int
resolve_index (wr_registry_t *registry, const wr_registry_call_t *call, const wr_image_ref_t *ref,
               const char *name, const wr_manifest_t *index, const wr_pull_options_t *opts,
               document_t *doc, wr_error_t *err)
{
    cleanup_free char *want_os = NULL, *want_arch = NULL, *want_variant = NULL;
    const char *os, *arch, *variant;
    if (opts->platform != NULL) {
        if (wr_platform_parse (opts->platform, &want_os, &want_arch, &want_variant, err) < 0)
            return -1;
        os = want_os, arch = want_arch, variant = want_variant;
    } else {
        wr_platform_host (&os, &arch, &variant);
    }
    const wr_descriptor_t *desc = wr_manifest_select_platform (index, os, arch, variant, err);
    if (desc == NULL)
        return wr_error_prefix (err, "%s", name);
    cleanup_free char *platform =
        xasprintf ("%s/%s%s%s", os, arch, variant != NULL ? "/" : "", variant ? variant : "");
    wr_log_to (opts->log, WR_LOG_INFO, "platform selected", "image", name, "platform", platform,
               "manifest", desc->digest, NULL);
    if (desc->size > WR_MANIFEST_MAX_SIZE)
        return wr_error_set (err, 0, "%s: manifest %s: %" PRId64 " bytes is more than the limit",
                             name, desc->digest, desc->size);
    if (wr_registry_get_manifest_call (registry, call, ref, desc->digest, &doc->body, &doc->len,
                                       &doc->content_type, &doc->digest, err) < 0)
        return wr_error_prefix (err, "%s: manifest %s", name, desc->digest);
    /* Asked for by digest: the bytes must be those the index names. */
    char actual[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest (doc->body, doc->len, actual);
    if (strcmp (actual, desc->digest) != 0 || (int64_t) doc->len != desc->size)
        return wr_error_set (err, 0,
                             "%s: manifest %s: the registry sent %zu bytes with digest %s, "
                             "the index names %" PRId64 " bytes",
                             name, desc->digest, doc->len, actual, desc->size);
    free (doc->digest);
    doc->digest = xstrdup (desc->digest);
    return 0;
}

int
wr_image_pull_ex (wr_store_t *store, wr_registry_t *registry, const char *reference,
                  const wr_pull_options_t *opts, wr_image_record_t *out, wr_pull_result_t *result,
                  wr_error_t *err)
{
    static const wr_pull_options_t no_options;
    if (opts == NULL)
        opts = &no_options;
    int64_t started = now_ns ();
    wr_image_ref_t ref = { 0 };
    if (wr_image_ref_parse (reference, &ref, err) < 0)
        return -1;
    cleanup_free char *name = wr_image_ref_string (&ref);
    cleanup_cancel wr_cancel_t *owned = NULL;
    const wr_cancel_t *token = NULL;
    if (pull_token (opts, &owned, &token, err) < 0) {
        wr_image_ref_clear (&ref);
        return wr_error_prefix (err, "pull `%s`", name);
    }
    wr_registry_call_t call = { .cancel = token, .log = opts->log };
    wr_log_to (opts->log, WR_LOG_INFO, "resolving", "image", name, NULL);

    document_t top = { 0 }, image = { 0 };
    wr_manifest_t top_manifest = { 0 }, image_manifest = { 0 };
    cleanup_strv char **extra = NULL;
    int lock_fd = -1;
    int ret = -1;
    if (wr_registry_get_manifest_call (registry, &call, &ref, wr_image_ref_reference (&ref),
                                       &top.body, &top.len, &top.content_type, &top.digest,
                                       err) < 0) {
        wr_error_prefix (err, "pull `%s`", name);
        goto out;
    }
    if (wr_manifest_parse (top.body, top.len, top.content_type, name, &top_manifest, err) < 0)
        goto out;
    /* Held until the image is recorded, so that a prune cannot remove the
     * blobs and root this pull is about to reference. */
    lock_fd = wr_store_lock_shared (store, err);
    if (lock_fd < 0) {
        wr_error_prefix (err, "pull `%s`", name);
        goto out;
    }
    if (keep_document (store, top.body, top.len, top.digest, err) < 0) {
        wr_error_prefix (err, "%s: store manifest %s", name, top.digest);
        goto out;
    }
    const wr_manifest_t *manifest = &top_manifest;
    const char *manifest_digest = top.digest;
    if (top_manifest.kind == WR_MANIFEST_INDEX) {
        wr_strv_add (&extra, top.digest);
        if (resolve_index (registry, &call, &ref, name, &top_manifest, opts, &image, err) < 0)
            goto out;
        cleanup_free char *what = xasprintf ("%s (manifest %s)", name, image.digest);
        if (wr_manifest_parse (image.body, image.len, image.content_type, what, &image_manifest,
                               err) < 0)
            goto out;
        if (image_manifest.kind != WR_MANIFEST_IMAGE) {
            wr_error_set (err, 0, "%s: the index entry %s is an index too, not an image manifest",
                          name, image.digest);
            goto out;
        }
        if (keep_document (store, image.body, image.len, image.digest, err) < 0) {
            wr_error_prefix (err, "%s: store manifest %s", name, image.digest);
            goto out;
        }
        manifest = &image_manifest;
        manifest_digest = image.digest;
    }
    wr_log_to (opts->log, WR_LOG_INFO, "resolved", "image", name, "manifest", manifest_digest,
               NULL);

    wr_pull_result_t local_result;
    if (result == NULL)
        result = &local_result;
    ret = pull_manifest (store, registry, &call, &ref, name, manifest, manifest_digest,
                         (const char *const *) extra, opts, out, result, err);
    if (ret == 0) {
        char took[32];
        format_took (started, took, sizeof took);
        wr_log_to (opts->log, WR_LOG_INFO, "pulled", "image", name, "manifest", manifest_digest,
                   "took", took, NULL);
    }
out:
    if (lock_fd >= 0)
        wr_store_unlock (lock_fd);
    wr_manifest_clear (&top_manifest);
    wr_manifest_clear (&image_manifest);
    document_clear (&top);
    document_clear (&image);
    wr_image_ref_clear (&ref);
    return ret;
}

int
wr_image_pull (wr_store_t *store, wr_registry_t *registry, const char *reference,
               const wr_pull_options_t *opts, wr_image_record_t *out, wr_error_t *err)
{
    return wr_image_pull_ex (store, registry, reference, opts, out, NULL, err);
}
