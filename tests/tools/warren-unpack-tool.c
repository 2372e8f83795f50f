/* warren-unpack-tool LAYOUT TAG DEST [--no-owners]
 *
 * Unpacks the image tagged TAG in the OCI image layout LAYOUT (what
 * `skopeo copy ... oci:LAYOUT:TAG` makes) into the new directory DEST with
 * wr_unpack_root, checking every layer's diff_id.  A test tool: it reads
 * the layout with json-c directly, so it does not depend on the store. */
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "digest.h"
#include "error.h"
#include "unpack.h"
#include "xalloc.h"

static void
json_put (json_object **obj)
{
    if (*obj != NULL)
        json_object_put (*obj);
}
#define cleanup_json __attribute__ ((cleanup (json_put)))

static json_object *
read_json (const char *path, wr_error_t *err)
{
    json_object *obj = json_object_from_file (path);
    if (obj == NULL)
        wr_error_set (err, 0, "read `%s`: %s", path, json_util_get_last_err ());
    return obj;
}

/* "LAYOUT/blobs/sha256/<hex>" for the digest in OBJ's "digest". */
static char *
blob_path (const char *layout, json_object *descriptor, wr_error_t *err)
{
    json_object *digest;
    if (!json_object_object_get_ex (descriptor, "digest", &digest)) {
        wr_error_set (err, 0, "a descriptor has no digest");
        return NULL;
    }
    const char *d = json_object_get_string (digest);
    if (wr_digest_validate (d, err) < 0)
        return NULL;
    return xasprintf ("%s/blobs/sha256/%s", layout, wr_digest_hex (d));
}

static json_object *
get_path (json_object *obj, const char *a, const char *b)
{
    json_object *x = NULL, *y = NULL;
    if (!json_object_object_get_ex (obj, a, &x))
        return NULL;
    if (b == NULL)
        return x;
    return json_object_object_get_ex (x, b, &y) ? y : NULL;
}

static int
unpack_layout (const char *layout, const char *tag, const char *dest, bool keep_owners,
               wr_error_t *err)
{
    cleanup_free char *index_path = xasprintf ("%s/index.json", layout);
    cleanup_json json_object *index = read_json (index_path, err);
    if (index == NULL)
        return -1;
    json_object *manifests = get_path (index, "manifests", NULL);
    json_object *chosen = NULL;
    for (size_t i = 0; manifests != NULL && i < json_object_array_length (manifests); i++) {
        json_object *m = json_object_array_get_idx (manifests, i);
        json_object *name = get_path (m, "annotations", "org.opencontainers.image.ref.name");
        if (name != NULL && strcmp (json_object_get_string (name), tag) == 0)
            chosen = m;
    }
    if (chosen == NULL)
        return wr_error_set (err, 0, "`%s` has no image tagged `%s`", index_path, tag);
    cleanup_free char *manifest_path = blob_path (layout, chosen, err);
    if (manifest_path == NULL)
        return -1;
    cleanup_json json_object *manifest = read_json (manifest_path, err);
    if (manifest == NULL)
        return -1;
    json_object *config_desc = get_path (manifest, "config", NULL);
    json_object *layers = get_path (manifest, "layers", NULL);
    if (config_desc == NULL || layers == NULL)
        return wr_error_set (err, 0, "`%s` is not an image manifest", manifest_path);
    cleanup_free char *config_path = blob_path (layout, config_desc, err);
    if (config_path == NULL)
        return -1;
    cleanup_json json_object *config = read_json (config_path, err);
    if (config == NULL)
        return -1;
    json_object *diff_ids = get_path (config, "rootfs", "diff_ids");
    size_t n = json_object_array_length (layers);
    if (diff_ids == NULL || json_object_array_length (diff_ids) != n)
        return wr_error_set (err, 0, "`%s`: %zu layers but not as many diff_ids", config_path, n);

    cleanup_strv char **layer_paths = xzalloc ((n + 1) * sizeof (char *));
    const char **ids = xzalloc ((n + 1) * sizeof (char *));
    for (size_t i = 0; i < n; i++) {
        layer_paths[i] = blob_path (layout, json_object_array_get_idx (layers, i), err);
        if (layer_paths[i] == NULL) {
            free (ids);
            return -1;
        }
        ids[i] = json_object_get_string (json_object_array_get_idx (diff_ids, i));
    }
    wr_unpack_options_t options = { .keep_owners = keep_owners };
    int r = wr_unpack_root ((const char *const *) layer_paths, ids, dest, &options, err);
    free (ids);
    return r;
}

int
main (int argc, char **argv)
{
    if (argc < 4 || argc > 5 || (argc == 5 && strcmp (argv[4], "--no-owners") != 0)) {
        fprintf (stderr, "usage: %s LAYOUT TAG DEST [--no-owners]\n", argv[0]);
        return 2;
    }
    struct timespec start, end;
    clock_gettime (CLOCK_MONOTONIC, &start);
    cleanup_error wr_error_t err = NULL;
    if (unpack_layout (argv[1], argv[2], argv[3], argc == 4, &err) < 0) {
        fprintf (stderr, "warren-unpack-tool: %s\n", err->message);
        return 1;
    }
    clock_gettime (CLOCK_MONOTONIC, &end);
    fprintf (stderr, "warren-unpack-tool: unpacked %s:%s into %s in %.3fs\n", argv[1], argv[2],
             argv[3],
             (double) (end.tv_sec - start.tv_sec) + (double) (end.tv_nsec - start.tv_nsec) / 1e9);
    return 0;
}
