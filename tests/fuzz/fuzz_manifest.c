/* libFuzzer target: manifests, indexes and image configs, as a registry
 * (any registry a user names) sends them.  Each input is parsed as every
 * content type a registry could claim, and as an image config; what is
 * accepted must hold what the header promises, and errors must quote
 * hostile text only with escapes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "digest.h"
#include "error.h"
#include "manifest.h"
#include "quote.h"
#include "strv.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check (bool ok)
{
    if (!ok)
        abort ();
}

static void
check_descriptor (const wr_descriptor_t *d)
{
    check (d->media_type != NULL && d->media_type[0] != '\0');
    check (wr_digest_validate (d->digest, NULL) == 0);
    check (d->size >= 0);
}

static const char *const content_types[] = {
    NULL,
    WR_MEDIA_OCI_MANIFEST,
    WR_MEDIA_OCI_INDEX,
    WR_MEDIA_DOCKER_MANIFEST,
    WR_MEDIA_DOCKER_LIST,
    "application/json",
    "text/html; charset=utf-8",
};

static void
check_select (const wr_manifest_t *index, const char *os, const char *arch, const char *variant)
{
    cleanup_error wr_error_t err = NULL;
    const wr_descriptor_t *d = wr_manifest_select_platform (index, os, arch, variant, &err);
    if (d == NULL) {
        check (err != NULL && wr_is_printable_ascii (err->message));
        return;
    }
    check (d >= index->manifests && d < index->manifests + index->n_manifests);
    check (strcmp (d->os, os) == 0 && strcmp (d->architecture, arch) == 0);
}

static void
fuzz_manifest (const char *data, size_t size, const char *content_type)
{
    wr_manifest_t m;
    cleanup_error wr_error_t err = NULL;
    if (wr_manifest_parse (data, size, content_type, "fuzz", &m, &err) < 0) {
        check (err != NULL && wr_is_printable_ascii (err->message));
        check (m.media_type == NULL && m.layers == NULL && m.manifests == NULL);
        return;
    }
    check (m.media_type != NULL);
    if (m.kind == WR_MANIFEST_IMAGE) {
        check (m.manifests == NULL && m.n_manifests == 0);
        check_descriptor (&m.config);
        check (m.config.size <= WR_CONFIG_MAX_SIZE);
        for (size_t i = 0; i < m.n_layers; i++)
            check_descriptor (&m.layers[i]);
        cleanup_error wr_error_t err2 = NULL;
        check (wr_manifest_select_platform (&m, "linux", "amd64", NULL, &err2) == NULL);
    } else {
        check (m.kind == WR_MANIFEST_INDEX && m.layers == NULL && m.n_layers == 0);
        for (size_t i = 0; i < m.n_manifests; i++) {
            check_descriptor (&m.manifests[i]);
            check (m.manifests[i].size <= WR_MANIFEST_MAX_SIZE);
        }
        const char *os, *arch, *variant;
        wr_platform_host (&os, &arch, &variant);
        check_select (&m, os, arch, variant);
        check_select (&m, "linux", "arm", "v7");
        check_select (&m, "linux", "arm64", NULL);
        check_select (&m, "windows", "amd64", NULL);
    }
    wr_manifest_clear (&m);
}

static void
fuzz_config (const char *data, size_t size)
{
    wr_image_config_t c;
    cleanup_error wr_error_t err = NULL;
    if (wr_image_config_parse (data, size, "fuzz", &c, &err) < 0) {
        check (err != NULL && wr_is_printable_ascii (err->message));
        check (c.architecture == NULL && c.env == NULL && c.diff_ids == NULL);
        return;
    }
    check (c.architecture != NULL && c.os != NULL && c.diff_ids != NULL);
    for (char **d = c.diff_ids; *d != NULL; d++)
        check (wr_digest_validate (*d, NULL) == 0);
    for (char **e = c.env; e != NULL && *e != NULL; e++)
        check (strchr (*e, '=') != NULL && (*e)[0] != '=');
    for (char **p = c.exposed_ports; p != NULL && *p != NULL; p++)
        check (strchr (*p, '/') != NULL);
    check (c.working_dir == NULL || c.working_dir[0] != '\0');
    check (c.user == NULL || c.user[0] != '\0');
    check (c.variant == NULL || c.variant[0] != '\0');
    /* Labels come in pairs, and none means NULL. */
    check (c.labels == NULL ||
           (wr_strv_length (c.labels) > 0 && wr_strv_length (c.labels) % 2 == 0));
    wr_image_config_clear (&c);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < sizeof content_types / sizeof content_types[0]; i++)
        fuzz_manifest ((const char *) data, size, content_types[i]);
    fuzz_config ((const char *) data, size);
    return 0;
}
