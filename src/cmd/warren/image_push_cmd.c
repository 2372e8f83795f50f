/* warren image push NAME [DEST] (see docs/images.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "cleanup.h"
#include "cli_env.h"
#include "cli_error.h"
#include "cli_store.h"
#include "error.h"
#include "image_build_cmd.h"
#include "image_ref.h"
#include "registry.h"
#include "store.h"
#include "strv.h"
#include "xalloc.h"

#define EXIT_USAGE 2

static int
usage_error (const char *msg)
{
    fprintf (stderr, "warren: %s\n(see warren --help)\n", msg);
    return EXIT_USAGE;
}

int
warren_cmd_image_push (const char *root, const char *store_dir, int argc, char **argv)
{
    static const struct option options[] = {
        { "insecure-registry", required_argument, NULL, 'i' },
        { "auth-config", required_argument, NULL, 'a' },
        { NULL, 0, NULL, 0 },
    };
    cleanup_strv char **insecure = NULL;
    wr_registry_options_t reg = { 0 };
    cleanup_free char *auth_path = NULL;
    cli_env_registry_defaults (&reg, &auth_path);
    reg.docker_io_mirror = NULL; /* a push goes where its name says */
    int c;
    optind = 0;
    while ((c = getopt_long (argc, argv, "+", options, NULL)) != -1) {
        if (c == 'i')
            wr_strv_add (&insecure, optarg);
        else if (c == 'a')
            reg.auth_config = optarg;
        else
            return usage_error ("image push: bad option");
    }
    if (argc - optind < 1 || argc - optind > 2)
        return usage_error ("usage: warren image push NAME [DEST]");
    reg.insecure_registries = (const char *const *) insecure;
    const char *name_text = argv[optind];
    const char *dest_text = argc - optind == 2 ? argv[optind + 1] : name_text;

    cleanup_error wr_error_t err = NULL;
    wr_image_ref_t dest = { 0 };
    if (wr_image_ref_parse (dest_text, &dest, &err) < 0) {
        fprintf (stderr, "warren: image push: %s\n", err->message);
        return EXIT_USAGE;
    }
    wr_store_t *store = cli_open_store (root, store_dir, &err);
    wr_image_record_t record = { 0 };
    wr_push_result_t result;
    int found = store != NULL ? wr_catalog_find (store, name_text, &record, &err) : -1;
    wr_registry_t *registry = NULL;
    int r = -1;
    if (found == 0 && (registry = wr_registry_new (&reg, &err)) != NULL)
        r = wr_registry_push_image (registry, store, record.manifest_digest, &dest, &result, &err);
    wr_registry_free (registry);
    if (r == 0) {
        cleanup_free char *where = wr_image_ref_string (&dest);
        printf ("%s@%s (%zu blobs pushed, %zu already there)\n", where, record.manifest_digest,
                result.blobs_pushed, result.blobs_skipped);
    }
    wr_image_record_clear (&record);
    wr_image_ref_clear (&dest);
    if (store != NULL)
        wr_store_close (store);
    if (r < 0)
        return warren_fail (&err, root);
    return 0;
}
