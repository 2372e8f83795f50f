/* The image being built: loaded from the store by manifest digest, its
 * root unpacked when a step needs it, a new layer or config change
 * committed as a new config and OCI manifest in the store. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "fs.h"
#include "image_build_private.h"
#include "image_pull.h"
#include "log.h"
#include "manifest.h"
#include "strv.h"
#include "unpack.h"
#include "xalloc.h"

void
wr_build_image_clear (wr_build_image_t *image)
{
    if (image->config != NULL)
        json_object_put (image->config);
    if (image->layers != NULL)
        json_object_put (image->layers);
    wr_image_config_clear (&image->parsed);
    memset (image, 0, sizeof *image);
}

static const char *
oci_layer_type (const char *type)
{
    if (type == NULL || strcmp (type, WR_MEDIA_DOCKER_LAYER_TAR_GZIP) == 0)
        return WR_MEDIA_OCI_LAYER_TAR_GZIP;
    return type;
}

/* Loads the image of MANIFEST_DIGEST from STORE. */
int
wr_build_image_load (wr_store_t *store, const char *manifest_digest, wr_build_image_t *image,
                     wr_error_t *err)
{
    memset (image, 0, sizeof *image);
    cleanup_free char *mdata = NULL, *cdata = NULL;
    size_t mlen = 0, clen = 0;
    if (wr_store_read_blob (store, manifest_digest, WR_MANIFEST_MAX_SIZE, &mdata, &mlen, err) < 0)
        return wr_error_prefix (err, "manifest %s", manifest_digest);
    wr_manifest_t manifest = { 0 };
    if (wr_manifest_parse (mdata, mlen, NULL, manifest_digest, &manifest, err) < 0)
        return -1;
    if (manifest.kind != WR_MANIFEST_IMAGE) {
        wr_manifest_clear (&manifest);
        return wr_error_set (err, 0, "manifest %s is an index", manifest_digest);
    }
    int r = -1;
    snprintf (image->manifest_digest, sizeof image->manifest_digest, "%s", manifest_digest);
    snprintf (image->config_digest, sizeof image->config_digest, "%s", manifest.config.digest);
    image->size = manifest.config.size;
    image->layers = json_object_new_array ();
    for (size_t i = 0; i < manifest.n_layers; i++) {
        json_object *d = json_object_new_object ();
        json_object_object_add (
            d, "mediaType",
            json_object_new_string (oci_layer_type (manifest.layers[i].media_type)));
        json_object_object_add (d, "digest", json_object_new_string (manifest.layers[i].digest));
        json_object_object_add (d, "size", json_object_new_int64 (manifest.layers[i].size));
        json_object_array_add (image->layers, d);
        image->size += manifest.layers[i].size;
    }
    if (wr_store_read_blob (store, manifest.config.digest, WR_CONFIG_MAX_SIZE, &cdata, &clen, err) <
        0) {
        wr_error_prefix (err, "config %s", manifest.config.digest);
        goto out;
    }
    if (wr_image_config_parse (cdata, clen, manifest.config.digest, &image->parsed, err) < 0)
        goto out;
    image->config = json_tokener_parse (cdata);
    if (image->config == NULL || !json_object_is_type (image->config, json_type_object)) {
        wr_error_set (err, 0, "config %s: not a JSON object", manifest.config.digest);
        goto out;
    }
    size_t n = wr_strv_length (image->parsed.diff_ids);
    if (n != manifest.n_layers) {
        wr_error_set (err, 0, "manifest %s: %zu layers but %zu diff ids", manifest_digest,
                      manifest.n_layers, n);
        goto out;
    }
    if (n > 0) {
        char chain[WR_DIGEST_MAX_LEN + 1];
        if (wr_chain_id ((const char *const *) image->parsed.diff_ids, n, chain, err) < 0)
            goto out;
        snprintf (image->root_id, sizeof image->root_id, "%s", wr_digest_hex (chain));
    }
    r = 0;
out:
    wr_manifest_clear (&manifest);
    if (r < 0)
        wr_build_image_clear (image);
    return r;
}

/* The image's root, unpacked when missing.  Returns its path. */
char *
wr_build_image_root (wr_store_t *store, wr_build_image_t *image, const wr_log_t *log,
                     wr_error_t *err)
{
    if (image->root_id[0] == '\0') {
        wr_error_set (err, 0, "image %s has no layers", image->manifest_digest);
        return NULL;
    }
    cleanup_free char *path = wr_store_root_path (store, image->root_id, err);
    if (path == NULL)
        return NULL;
    if (wr_is_directory (path))
        return steal_pointer (&path);
    cleanup_strv char **layers = NULL;
    size_t n = json_object_array_length (image->layers);
    for (size_t i = 0; i < n; i++) {
        json_object *d = json_object_array_get_idx (image->layers, i), *digest = NULL;
        json_object_object_get_ex (d, "digest", &digest);
        char *layer = wr_store_blob_path (store, json_object_get_string (digest), err);
        if (layer == NULL)
            return NULL;
        wr_strv_add_take (&layers, layer);
    }
    wr_unpack_options_t options = { .keep_owners = geteuid () == 0, .log = log };
    wr_error_t unpack_err = NULL;
    wr_log_to (log, WR_LOG_INFO, "unpacking root", "root", image->root_id, NULL);
    if (wr_unpack_root ((const char *const *) layers, (const char *const *) image->parsed.diff_ids,
                        path, &options, &unpack_err) < 0) {
        if (wr_is_directory (path)) { /* another build or pull made it meanwhile */
            wr_error_free (&unpack_err);
            return steal_pointer (&path);
        }
        wr_error_propagate (err, &unpack_err);
        return NULL;
    }
    return steal_pointer (&path);
}

/* Copies the file at FD (from its start) into the store as blob DIGEST. */
int
wr_build_store_blob_from_fd (wr_store_t *store, int fd, const char *digest, int64_t size,
                             wr_error_t *err)
{
    int64_t offset = 0;
    wr_blob_writer_t *w = wr_store_blob_writer (store, digest, size, &offset, NULL, err);
    if (w == NULL)
        return -1;
    int r = 0;
    if (!wr_blob_writer_complete (w)) {
        if (offset != 0)
            r = wr_blob_writer_restart (w, err);
        cleanup_free char *buf = xmalloc (WR_BUILD_COPY_BUFFER);
        ssize_t n = 0;
        off_t at = 0;
        while (r == 0 && (n = pread (fd, buf, WR_BUILD_COPY_BUFFER, at)) > 0) {
            r = wr_blob_writer_write (w, buf, (size_t) n, err);
            at += n;
        }
        if (r == 0 && n < 0)
            r = wr_error_set (err, errno, "read the new layer");
        if (r == 0)
            r = wr_blob_writer_commit (w, err);
    }
    wr_blob_writer_free (w);
    return r;
}

static void
now_iso (char *out, size_t size)
{
    time_t t = time (NULL);
    struct tm tm;
    gmtime_r (&t, &tm);
    strftime (out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_object *
object_child (json_object *o, const char *key)
{
    json_object *child = NULL;
    if (!json_object_object_get_ex (o, key, &child) ||
        !json_object_is_type (child, json_type_object)) {
        child = json_object_new_object ();
        json_object_object_add (o, key, child);
    }
    return child;
}

/* Writes IMAGE's config and a new OCI manifest for it into STORE, after
 * adding LAYER (may be NULL: a config-only step) and a history entry. */
int
wr_build_image_commit (wr_store_t *store, wr_build_image_t *image,
                       const wr_layer_diff_result_t *layer, const char *created_by, wr_error_t *err)
{
    char created[32];
    now_iso (created, sizeof created);
    json_object *rootfs = object_child (image->config, "rootfs");
    json_object_object_add (rootfs, "type", json_object_new_string ("layers"));
    json_object *diff_ids = NULL;
    if (!json_object_object_get_ex (rootfs, "diff_ids", &diff_ids) ||
        !json_object_is_type (diff_ids, json_type_array)) {
        diff_ids = json_object_new_array ();
        json_object_object_add (rootfs, "diff_ids", diff_ids);
    }
    if (layer != NULL) {
        json_object_array_add (diff_ids, json_object_new_string (layer->diff_id));
        json_object *d = json_object_new_object ();
        json_object_object_add (d, "mediaType",
                                json_object_new_string (WR_MEDIA_OCI_LAYER_TAR_GZIP));
        json_object_object_add (d, "digest", json_object_new_string (layer->digest));
        json_object_object_add (d, "size", json_object_new_int64 (layer->size));
        json_object_array_add (image->layers, d);
    }
    json_object *history = NULL;
    if (!json_object_object_get_ex (image->config, "history", &history) ||
        !json_object_is_type (history, json_type_array)) {
        history = json_object_new_array ();
        json_object_object_add (image->config, "history", history);
    }
    json_object *h = json_object_new_object ();
    json_object_object_add (h, "created", json_object_new_string (created));
    json_object_object_add (h, "created_by", json_object_new_string (created_by));
    if (layer == NULL)
        json_object_object_add (h, "empty_layer", json_object_new_boolean (1));
    json_object_array_add (history, h);
    json_object_object_add (image->config, "created", json_object_new_string (created));

    const char *config_text = json_object_to_json_string_ext (
        image->config, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t config_len = strlen (config_text);
    if (wr_store_put_blob (store, config_text, config_len, NULL, image->config_digest, err) < 0)
        return wr_error_prefix (err, "store the new config");

    json_object *m = json_object_new_object ();
    json_object_object_add (m, "schemaVersion", json_object_new_int (2));
    json_object_object_add (m, "mediaType", json_object_new_string (WR_MEDIA_OCI_MANIFEST));
    json_object *c = json_object_new_object ();
    json_object_object_add (c, "mediaType", json_object_new_string (WR_MEDIA_OCI_CONFIG));
    json_object_object_add (c, "digest", json_object_new_string (image->config_digest));
    json_object_object_add (c, "size", json_object_new_int64 ((int64_t) config_len));
    json_object_object_add (m, "config", c);
    json_object_object_add (m, "layers", json_object_get (image->layers));
    const char *manifest_text =
        json_object_to_json_string_ext (m, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    int r = wr_store_put_blob (store, manifest_text, strlen (manifest_text), NULL,
                               image->manifest_digest, err);
    json_object_put (m);
    if (r < 0)
        return wr_error_prefix (err, "store the new manifest");
    return 0;
}

void
wr_build_image_set_env (wr_build_image_t *image, char *const *env)
{
    json_object *config = object_child (image->config, "config");
    json_object *old = NULL, *list = json_object_new_array ();
    json_object_object_get_ex (config, "Env", &old);
    cleanup_strv char **merged = NULL;
    for (size_t i = 0; old != NULL && json_object_is_type (old, json_type_array) &&
                       i < json_object_array_length (old);
         i++)
        wr_strv_add (&merged, json_object_get_string (json_object_array_get_idx (old, i)));
    for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
        size_t name_len = (size_t) (strchr (env[i], '=') - env[i]);
        bool replaced = false;
        for (size_t j = 0; merged != NULL && merged[j] != NULL; j++) {
            if (strncmp (merged[j], env[i], name_len) == 0 && merged[j][name_len] == '=') {
                free (merged[j]);
                merged[j] = xstrdup (env[i]);
                replaced = true;
            }
        }
        if (!replaced)
            wr_strv_add (&merged, env[i]);
    }
    for (size_t i = 0; merged != NULL && merged[i] != NULL; i++)
        json_object_array_add (list, json_object_new_string (merged[i]));
    json_object_object_add (config, "Env", list);
}

static json_object *
string_array (char *const *strv)
{
    json_object *a = json_object_new_array ();
    for (size_t i = 0; strv != NULL && strv[i] != NULL; i++)
        json_object_array_add (a, json_object_new_string (strv[i]));
    return a;
}

void
wr_build_image_set_config (wr_build_image_t *image, const wr_build_step_t *step,
                           const char *workdir)
{
    json_object *config = object_child (image->config, "config");
    if (workdir != NULL)
        json_object_object_add (config, "WorkingDir", json_object_new_string (workdir));
    if (step->user != NULL)
        json_object_object_add (config, "User", json_object_new_string (step->user));
    if (step->set_entrypoint)
        json_object_object_add (config, "Entrypoint",
                                step->entrypoint != NULL ? string_array (step->entrypoint) : NULL);
    if (step->set_cmd)
        json_object_object_add (config, "Cmd", step->cmd != NULL ? string_array (step->cmd) : NULL);
    if (step->labels != NULL) {
        json_object *labels = object_child (config, "Labels");
        for (size_t i = 0; step->labels[i] != NULL; i++) {
            const char *eq = strchr (step->labels[i], '=');
            if (eq == NULL)
                continue;
            cleanup_free char *key = xstrndup (step->labels[i], (size_t) (eq - step->labels[i]));
            json_object_object_add (labels, key, json_object_new_string (eq + 1));
        }
    }
    if (step->expose != NULL) {
        json_object *ports = object_child (config, "ExposedPorts");
        for (size_t i = 0; step->expose[i] != NULL; i++)
            json_object_object_add (ports, step->expose[i], json_object_new_object ());
    }
}

char *
wr_build_image_workdir (const wr_build_image_t *image, const char *dir)
{
    const char *current = image->parsed.working_dir != NULL ? image->parsed.working_dir : "/";
    cleanup_free char *joined = dir[0] == '/' ? xstrdup (dir) : xasprintf ("%s/%s", current, dir);
    /* Lexically, as Docker does: `..` stops at the root. */
    cleanup_strv char **parts = wr_strv_split (joined, "/");
    cleanup_strv char **kept = NULL;
    for (size_t i = 0; parts != NULL && parts[i] != NULL; i++) {
        if (parts[i][0] == '\0' || strcmp (parts[i], ".") == 0)
            continue;
        if (strcmp (parts[i], "..") == 0) {
            size_t n = wr_strv_length (kept);
            if (n > 0) {
                free (kept[n - 1]);
                kept[n - 1] = NULL;
            }
            continue;
        }
        wr_strv_add (&kept, parts[i]);
    }
    if (kept == NULL || kept[0] == NULL)
        return xstrdup ("/");
    cleanup_free char *rest = wr_strv_join (kept, "/");
    return xasprintf ("/%s", rest);
}
