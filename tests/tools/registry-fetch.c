/* Drives the registry client for tests/integration/registry.sh: fetches the
 * manifest of REF (choosing a platform from an index) and its config and
 * layers into the store at STORE, and prints what it got:
 *
 *   index sha256:...            when REF is an index
 *   manifest sha256:... MEDIA   the image manifest
 *   blob sha256:... SIZE        each blob, once it is in the store
 *
 *   registry-fetch [--auth-config FILE] [--insecure HOST]... [--mirror URL]
 *                  [--platform OS/ARCH[/VARIANT]] [--limit-rate BYTES]
 *                  [--max-parallel N] [--retries N] [--progress] STORE REF
 *
 * --progress prints "progress DIGEST DONE TOTAL" lines on stdout as bytes
 * arrive.  Errors go to stderr; the exit status is 1 on failure. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"
#include "image_ref.h"
#include "manifest.h"
#include "registry.h"
#include "store.h"
#include "xalloc.h"

static void
print_progress (void *data, const char *digest, int64_t done, int64_t total)
{
    printf ("progress %s %" PRId64 " %" PRId64 "\n", digest, done, total);
    fflush (stdout);
}

static int
fetch (wr_registry_t *registry, wr_store_t *store, const char *text, const char *platform,
       bool progress, wr_error_t *err)
{
    wr_image_ref_t ref = { 0 };
    wr_manifest_t manifest = { 0 };
    cleanup_free char *body = NULL;
    cleanup_free char *type = NULL;
    cleanup_free char *digest = NULL;
    cleanup_free const wr_descriptor_t **blobs = NULL;
    size_t len = 0;
    int ret = -1;

    if (wr_image_ref_parse (text, &ref, err) < 0)
        return -1;
    if (wr_registry_get_manifest (registry, &ref, wr_image_ref_reference (&ref), &body, &len, &type,
                                  &digest, err) < 0)
        goto out;
    if (wr_manifest_parse (body, len, type, text, &manifest, err) < 0)
        goto out;
    if (manifest.kind == WR_MANIFEST_INDEX) {
        printf ("index %s\n", digest);
        const char *os = NULL, *arch = NULL, *variant = NULL;
        char *copy = platform ? xstrdup (platform) : NULL;
        if (copy != NULL) {
            os = strtok (copy, "/");
            arch = strtok (NULL, "/");
            variant = strtok (NULL, "/");
        } else {
            wr_platform_host (&os, &arch, &variant);
        }
        const wr_descriptor_t *entry =
            wr_manifest_select_platform (&manifest, os, arch, variant, err);
        free (copy);
        if (entry == NULL)
            goto out;
        cleanup_free char *child = xstrdup (entry->digest);
        wr_manifest_clear (&manifest);
        free (body), body = NULL;
        free (type), type = NULL;
        free (digest), digest = NULL;
        if (wr_registry_get_manifest (registry, &ref, child, &body, &len, &type, &digest, err) < 0)
            goto out;
        if (wr_manifest_parse (body, len, type, child, &manifest, err) < 0)
            goto out;
        if (manifest.kind != WR_MANIFEST_IMAGE) {
            wr_error_set (err, 0, "%s: an index inside an index", child);
            goto out;
        }
    }
    printf ("manifest %s %s\n", digest, manifest.media_type ? manifest.media_type : "-");
    fflush (stdout);

    size_t n = manifest.n_layers + 1;
    blobs = xmalloc (n * sizeof *blobs);
    blobs[0] = &manifest.config;
    for (size_t i = 0; i < manifest.n_layers; i++)
        blobs[i + 1] = &manifest.layers[i];
    if (wr_registry_fetch_blobs (registry, &ref, blobs, n, store, progress ? print_progress : NULL,
                                 NULL, err) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (!wr_store_has_blob_size (store, blobs[i]->digest, blobs[i]->size)) {
            wr_error_set (err, 0, "%s is not in the store after the fetch", blobs[i]->digest);
            goto out;
        }
        printf ("blob %s %" PRId64 "\n", blobs[i]->digest, blobs[i]->size);
    }
    ret = 0;
out:
    wr_manifest_clear (&manifest);
    wr_image_ref_clear (&ref);
    return ret;
}

int
main (int argc, char **argv)
{
    wr_registry_options_t options = { 0 };
    const char *platform = NULL;
    bool progress = false;
    const char *insecure[17] = { NULL };
    size_t n_insecure = 0;
    static const struct option longopts[] = {
        { "auth-config", required_argument, NULL, 'a' },
        { "insecure", required_argument, NULL, 'i' },
        { "mirror", required_argument, NULL, 'm' },
        { "platform", required_argument, NULL, 'p' },
        { "limit-rate", required_argument, NULL, 'l' },
        { "max-parallel", required_argument, NULL, 'j' },
        { "retries", required_argument, NULL, 'r' },
        { "progress", no_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    int opt;
    while ((opt = getopt_long (argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'a':
            options.auth_config = optarg;
            break;
        case 'i':
            if (n_insecure < 16)
                insecure[n_insecure++] = optarg;
            break;
        case 'm':
            options.docker_io_mirror = optarg;
            break;
        case 'p':
            platform = optarg;
            break;
        case 'l':
            options.max_bytes_per_second = strtoll (optarg, NULL, 10);
            break;
        case 'j':
            options.max_parallel = atoi (optarg);
            break;
        case 'r':
            options.retries = atoi (optarg);
            break;
        case 'P':
            progress = true;
            break;
        default:
            return 2;
        }
    }
    if (argc - optind != 2) {
        fprintf (stderr, "usage: registry-fetch [options] STORE REF\n");
        return 2;
    }
    options.insecure_registries = insecure;

    wr_error_t err = NULL;
    wr_store_t *store = wr_store_open (argv[optind], &err);
    if (store == NULL) {
        fprintf (stderr, "registry-fetch: %s\n", err->message);
        wr_error_free (&err);
        return 1;
    }
    wr_registry_t *registry = wr_registry_new (&options, &err);
    int ret =
        registry != NULL ? fetch (registry, store, argv[optind + 1], platform, progress, &err) : -1;
    if (ret < 0) {
        fprintf (stderr, "registry-fetch: %s\n", err->message);
        wr_error_free (&err);
    } else {
        printf ("done\n");
    }
    wr_registry_free (registry);
    wr_store_close (store);
    return ret < 0 ? 1 : 0;
}
