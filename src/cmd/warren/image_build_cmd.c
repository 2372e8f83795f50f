/* warren image build, bundle and unbundle (see docs/images.md). */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "catalog.h"
#include "cleanup.h"
#include "cli_cancel.h"
#include "cli_env.h"
#include "cli_error.h"
#include "cli_store.h"
#include "error.h"
#include "image_build.h"
#include "image_build_cmd.h"
#include "image_pull.h"
#include "image_ref.h"
#include "manifest.h"
#include "registry.h"
#include "store.h"
#include "strv.h"
#include "xalloc.h"

#define EXIT_USAGE 2

static const char build_usage[] =
    "usage: warren image build --from REF [STEP]... -t NAME\n"
    "Steps, run in the order given:\n"
    "  --run CMD           run CMD (sh -c) in a sandbox on the image so far\n"
    "  --env NAME=VALUE    set an environment variable in the image's config\n"
    "  --copy SRC:DST      copy a host file or directory to DST in the image\n"
    "  --with-docker       install Docker from the distribution (Debian, Ubuntu)\n"
    "Options:\n"
    "  -t, --tag NAME      name of the built image\n"
    "  --apt-mirror URL    flat apt repository for --with-docker ($WARREN_APT_MIRROR)\n"
    "  --runsc PATH        runsc to run steps with (default: from PATH)\n"
    "  --mirror URL, --insecure-registry HOST   as for pull, when REF is pulled\n";

static int
usage_error (const char *msg, const char *arg)
{
    fprintf (stderr, "warren: %s%s%s\n(see warren image build --help)\n", msg, arg ? ": " : "",
             arg ? arg : "");
    return EXIT_USAGE;
}

/* The record of REF, pulled when the store does not have it. */
static int
base_image (wr_store_t *store, const char *reference, const wr_registry_options_t *reg,
            wr_image_record_t *record, wr_error_t *err)
{
    cleanup_free char *name = wr_image_ref_normalize_text (reference);
    int found = wr_store_image_get (store, name, record, err);
    if (found < 0)
        return -1;
    if (found > 0 && record->root_id != NULL)
        return 0;
    wr_image_record_clear (record);
    wr_registry_t *registry = wr_registry_new (reg, err);
    if (registry == NULL)
        return -1;
    int r = wr_image_pull (store, registry, reference, NULL, record, err);
    wr_registry_free (registry);
    return r;
}

int
warren_cmd_image_build (const char *root, const char *store_dir, int argc, char **argv)
{
    static const struct option options[] = {
        { "from", required_argument, NULL, 'f' },
        { "tag", required_argument, NULL, 't' },
        { "run", required_argument, NULL, 'r' },
        { "env", required_argument, NULL, 'e' },
        { "copy", required_argument, NULL, 'c' },
        { "with-docker", no_argument, NULL, 'D' },
        { "apt-mirror", required_argument, NULL, 'a' },
        { "runsc", required_argument, NULL, 'R' },
        { "mirror", required_argument, NULL, 'm' },
        { "insecure-registry", required_argument, NULL, 'i' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *from = NULL, *tag = NULL;
    wr_build_options_t bopts = { 0 };
    cleanup_cancel wr_cancel_t *cancel = NULL;
    cleanup_free char *runsc_path = NULL;
    cli_env_build_defaults (&bopts, &runsc_path);
    wr_registry_options_t reg = { 0 };
    cleanup_free char *auth_path = NULL;
    cli_env_registry_defaults (&reg, &auth_path);
    cleanup_strv char **insecure = NULL;
    wr_build_step_t *steps = NULL;
    size_t n_steps = 0;
    int status = EXIT_USAGE, c;
    cleanup_free char *name = NULL;
    cleanup_error wr_error_t err = NULL;
    optind = 0;
    while ((c = getopt_long (argc, argv, "+t:", options, NULL)) != -1) {
        const char *kind = NULL;
        switch (c) {
        case 'f':
            from = optarg;
            continue;
        case 't':
            tag = optarg;
            continue;
        case 'a':
            bopts.apt_mirror = optarg;
            continue;
        case 'R':
            bopts.runsc = optarg;
            continue;
        case 'm':
            reg.docker_io_mirror = optarg;
            continue;
        case 'i':
            wr_strv_add (&insecure, optarg);
            continue;
        case 'h':
            fputs (build_usage, stdout);
            status = 0;
            goto out;
        case 'r':
            kind = "run";
            break;
        case 'e':
            kind = "env";
            break;
        case 'c':
            kind = "copy";
            break;
        case 'D':
            kind = "with-docker";
            break;
        default:
            usage_error ("image build: bad option", NULL);
            goto out;
        }
        steps = xrealloc (steps, (n_steps + 1) * sizeof *steps);
        if (wr_build_step_parse (kind, c == 'D' ? NULL : optarg, &steps[n_steps], &err) < 0) {
            usage_error (err->message, NULL);
            goto out;
        }
        n_steps++;
    }
    if (optind != argc) {
        usage_error ("image build: unexpected argument", argv[optind]);
        goto out;
    }
    if (from == NULL || tag == NULL) {
        usage_error ("image build needs --from REF and -t NAME", NULL);
        goto out;
    }
    reg.insecure_registries = (const char *const *) insecure;
    name = wr_image_ref_normalize_text (tag);
    status = 1;
    wr_store_t *store = cli_open_store (root, store_dir, &err);
    if (store == NULL) {
        warren_fail (&err, root);
        goto out;
    }
    wr_image_record_t base = { 0 }, built = { 0 };
    wr_build_result_t result;
    /* ^C or a TERM stops the build: the running step's sandbox is killed
     * and removed, its bundle unmounted; no image is recorded. */
    cancel = wr_cancel_new (NULL, 0, NULL, &err);
    if (cancel == NULL) {
        warren_fail (&err, root);
        wr_store_close (store);
        goto out;
    }
    bopts.cancel = cancel;
    cli_cancel_signals_t signals;
    cli_cancel_on_signals (cancel, &signals);
    int built_ok =
        base_image (store, from, &reg, &base, &err) == 0 &&
        wr_image_build (store, &base, steps, n_steps, name, &bopts, &built, &result, &err) == 0;
    cli_cancel_signals_restore (&signals);
    if (!built_ok) {
        warren_fail (&err, root);
    } else {
        printf ("%s %s (%zu steps run, %zu cached, %zu layers added)\n", built.name,
                built.manifest_digest, result.steps_run, result.steps_cached, result.layers_added);
        status = 0;
    }
    wr_image_record_clear (&base);
    wr_image_record_clear (&built);
    wr_store_close (store);
out:
    for (size_t i = 0; i < n_steps; i++)
        wr_build_step_clear (&steps[i]);
    free (steps);
    return status;
}

/* warren image bundle NAME DIR [--annotation K=V]... [--host-network] [-- CMD...] */
int
warren_cmd_image_bundle (const char *root, const char *store_dir, int argc, char **argv)
{
    static const struct option options[] = {
        { "annotation", required_argument, NULL, 'a' },
        { "host-network", no_argument, NULL, 'n' },
        { "user", required_argument, NULL, 'u' },
        { NULL, 0, NULL, 0 },
    };
    cleanup_strv char **annotations = NULL;
    wr_bundle_options_t bopts = { 0 };
    int c;
    optind = 0;
    while ((c = getopt_long (argc, argv, "+", options, NULL)) != -1) {
        if (c == 'a')
            wr_strv_add (&annotations, optarg);
        else if (c == 'n')
            bopts.host_network = true;
        else if (c == 'u')
            bopts.user = optarg;
        else
            return usage_error ("image bundle: bad option", NULL);
    }
    if (argc - optind < 2)
        return usage_error ("usage: warren image bundle NAME DIR [-- CMD...]", NULL);
    const char *image = argv[optind], *dir = argv[optind + 1];
    int first_arg = optind + 2;
    if (first_arg < argc && strcmp (argv[first_arg], "--") == 0)
        first_arg++;
    if (first_arg < argc)
        bopts.args = (const char *const *) argv + first_arg;
    bopts.annotations = (const char *const *) annotations;
    cleanup_error wr_error_t err = NULL;
    wr_store_t *store = cli_open_store (root, store_dir, &err);
    if (store == NULL)
        return warren_fail (&err, root);
    wr_image_record_t record = { 0 };
    wr_image_config_t config = { 0 };
    cleanup_free char *data = NULL;
    size_t len = 0;
    int r = -1;
    if (wr_catalog_find (store, image, &record, &err) == 0 &&
        wr_store_read_blob (store, record.config_digest, WR_CONFIG_MAX_SIZE, &data, &len, &err) ==
            0 &&
        wr_image_config_parse (data, len, record.name, &config, &err) == 0)
        r = wr_bundle_create (store, &record, &config, dir, &bopts, &err);
    wr_image_config_clear (&config);
    wr_image_record_clear (&record);
    wr_store_close (store);
    if (r < 0)
        return warren_fail (&err, root);
    printf ("%s\n", dir);
    return 0;
}

int
warren_cmd_image_unbundle (int argc, char **argv)
{
    if (argc != 2)
        return usage_error ("usage: warren image unbundle DIR", NULL);
    cleanup_error wr_error_t err = NULL;
    if (wr_bundle_destroy (argv[1], &err) < 0)
        return warren_fail (&err, NULL);
    return 0;
}
