/* Manifests, indexes and image configs: real documents from the local
 * registry fixture (tests/unit/image/data, with the digests the registry
 * gave them), handwritten indexes for platform selection, and hostile
 * documents refused with errors that name the document and the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <cmocka.h>

#include "digest.h"
#include "manifest.h"
#include "xalloc.h"

#define D0 "sha256:0000000000000000000000000000000000000000000000000000000000000000"
#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

#define NAME "test manifest"

typedef struct {
    char *data;
    size_t len;
} file_t;

static file_t
read_data (const char *file)
{
    const char *golden = getenv ("WARREN_GOLDEN_DIR");
    if (golden == NULL)
        fail_msg ("WARREN_GOLDEN_DIR is not set (run with meson test)");
    char *path = xasprintf ("%s/../image/data/%s", golden, file);
    FILE *f = fopen (path, "rb");
    if (f == NULL)
        fail_msg ("cannot open %s", path);
    file_t out = { xmalloc (1 << 20), 0 };
    out.len = fread (out.data, 1, 1 << 20, f);
    fclose (f);
    free (path);
    return out;
}

static void
assert_digest_of (const file_t *file, const char *digest)
{
    char actual[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest (file->data, file->len, actual);
    assert_string_equal (actual, digest);
}

static void
expect_manifest_error (const char *json, const char *content_type, const char *message)
{
    wr_manifest_t m;
    wr_error_t err = NULL;
    if (wr_manifest_parse (json, strlen (json), content_type, NAME, &m, &err) == 0)
        fail_msg ("accepted: %s", json);
    assert_non_null (err);
    assert_string_equal (err->message, message);
    /* A refused document leaves nothing behind. */
    assert_null (m.media_type);
    assert_null (m.layers);
    assert_null (m.manifests);
    assert_null (m.config.digest);
    assert_int_equal (m.n_layers, 0);
    assert_int_equal (m.n_manifests, 0);
    wr_error_free (&err);
}

static void
test_docker_manifests_from_registry (void **state)
{
    file_t file = read_data ("docker-manifest-busybox.json");
    /* The registry's Docker-Content-Digest for it. */
    assert_digest_of (&file,
                      "sha256:3562869e9fbbe7cc3f5af458d51628346e2b8fb3c848937a56b3f27602da3376");
    const char *types[] = { WR_MEDIA_DOCKER_MANIFEST, NULL,
                            "application/vnd.docker.distribution.manifest.v2+json; charset=utf-8",
                            " Application/Vnd.Docker.Distribution.Manifest.V2+JSON ",
                            "application/json" };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        wr_manifest_t m;
        wr_error_t err = NULL;
        if (wr_manifest_parse (file.data, file.len, types[i], NAME, &m, &err) < 0)
            fail_msg ("%s", err->message);
        assert_int_equal (m.kind, WR_MANIFEST_IMAGE);
        assert_string_equal (m.media_type, WR_MEDIA_DOCKER_MANIFEST);
        assert_string_equal (m.config.media_type, WR_MEDIA_DOCKER_CONFIG);
        assert_string_equal (m.config.digest, "sha256:13078353a452311883d4bc44f21b31207d7c793f01"
                                              "782d4beb4d6dffc8a07268");
        assert_int_equal (m.config.size, 496);
        assert_int_equal (m.n_layers, 1);
        assert_string_equal (m.layers[0].media_type, WR_MEDIA_DOCKER_LAYER_TAR_GZIP);
        assert_string_equal (m.layers[0].digest, "sha256:372b50a2f7ec32475719826e0ada7f457bdbaae6"
                                                 "66d7e7961c1fb2a5a7d697ed");
        assert_int_equal (m.layers[0].size, 1101927);
        assert_null (m.layers[0].os);
        assert_null (m.manifests);
        wr_manifest_clear (&m);
        assert_null (m.media_type);
    }
    free (file.data);

    file = read_data ("docker-manifest-debian.json");
    assert_digest_of (&file,
                      "sha256:e02dfc3e66ede5c6e3ed0d71042a37cb393ed4cb229b62884d781b695ef453f9");
    wr_manifest_t m;
    assert_int_equal (
        wr_manifest_parse (file.data, file.len, WR_MEDIA_DOCKER_MANIFEST, NAME, &m, NULL), 0);
    assert_int_equal (m.n_layers, 1);
    assert_int_equal (m.layers[0].size, 146897088);
    wr_manifest_clear (&m);
    /* Served as an OCI manifest, it is refused: the document says Docker. */
    wr_error_t err = NULL;
    assert_int_equal (
        wr_manifest_parse (file.data, file.len, WR_MEDIA_OCI_MANIFEST, NAME, &m, &err), -1);
    assert_string_equal (err->message,
                         NAME ": mediaType: `application/vnd.docker.distribution.manifest.v2+json`"
                              " does not match the Content-Type "
                              "`application/vnd.oci.image.manifest.v1+json`");
    wr_error_free (&err);
    free (file.data);
}

static void
test_oci_manifest_and_layout_index (void **state)
{
    file_t file = read_data ("oci-manifest-busybox.json");
    assert_digest_of (&file,
                      "sha256:12a1130009a6da9b976be1e25b0457093344957494f872dde98fb2e8fd52f3a4");
    wr_manifest_t m;
    wr_error_t err = NULL;
    assert_int_equal (
        wr_manifest_parse (file.data, file.len, WR_MEDIA_OCI_MANIFEST, NAME, &m, &err), 0);
    assert_int_equal (m.kind, WR_MANIFEST_IMAGE);
    assert_string_equal (m.media_type, WR_MEDIA_OCI_MANIFEST);
    assert_string_equal (m.config.media_type, WR_MEDIA_OCI_CONFIG);
    assert_int_equal (m.config.size, 375);
    assert_string_equal (m.layers[0].media_type, WR_MEDIA_OCI_LAYER_TAR_GZIP);
    wr_manifest_clear (&m);
    free (file.data);

    /* skopeo's index.json has no mediaType: its fields say it is an index. */
    file = read_data ("oci-layout-index.json");
    const char *types[] = { NULL, WR_MEDIA_OCI_INDEX };
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal (wr_manifest_parse (file.data, file.len, types[i], NAME, &m, &err), 0);
        assert_int_equal (m.kind, WR_MANIFEST_INDEX);
        assert_string_equal (m.media_type, WR_MEDIA_OCI_INDEX);
        assert_int_equal (m.n_manifests, 1);
        assert_string_equal (m.manifests[0].digest, "sha256:12a1130009a6da9b976be1e25b04570933449"
                                                    "57494f872dde98fb2e8fd52f3a4");
        assert_int_equal (m.manifests[0].size, 405);
        assert_null (m.manifests[0].os);
        assert_null (m.manifests[0].architecture);
        assert_null (m.layers);
        /* No platform: nothing to select. */
        assert_null (wr_manifest_select_platform (&m, "linux", "amd64", NULL, &err));
        assert_string_equal (err->message,
                             "no image for platform linux/amd64: the index offers ?/?");
        wr_error_free (&err);
        wr_manifest_clear (&m);
    }
    /* Served as a Docker manifest, it is refused. */
    assert_int_equal (
        wr_manifest_parse (file.data, file.len, WR_MEDIA_DOCKER_MANIFEST, NAME, &m, &err), -1);
    assert_string_equal (err->message,
                         NAME ": manifests: an image manifest "
                              "(application/vnd.docker.distribution.manifest.v2+json) must not "
                              "have an index's \"manifests\"");
    wr_error_free (&err);
    free (file.data);
}

static const char *select_digest (const wr_manifest_t *index, const char *os, const char *arch,
                                  const char *variant);

static void
test_fixture_index_and_zstd_manifest (void **state)
{
    /* The fixture registry's multi-platform index, its arm64 manifest (by
     * the digest the index names) and its zstd image. */
    file_t file = read_data ("oci-index-fixture-multi.json");
    assert_digest_of (&file,
                      "sha256:d3e5128186b7499e7ae5c4d150a446099d0d0de244ce69e368fa20ac8da20c8e");
    wr_manifest_t index, m;
    assert_int_equal (
        wr_manifest_parse (file.data, file.len, WR_MEDIA_OCI_INDEX, NAME, &index, NULL), 0);
    assert_int_equal (index.n_manifests, 2);
    assert_string_equal (select_digest (&index, "linux", "amd64", NULL),
                         "sha256:8931b87f113c83449811f7cc05f97d65a5cdf5f2a02f83e52ad6c997096fed7f");
    const char *arm64 = select_digest (&index, "linux", "arm64", NULL);
    assert_string_equal (arm64,
                         "sha256:08fbeccc2cb671dd815b3398db21a41de3c3d5f1d36ea0960c4f6ec42d78f75e");
    file_t child = read_data ("oci-manifest-fixture-multi-arm64.json");
    assert_digest_of (&child, arm64);
    assert_int_equal (child.len, 477);
    assert_int_equal (
        wr_manifest_parse (child.data, child.len, WR_MEDIA_OCI_MANIFEST, NAME, &m, NULL), 0);
    assert_int_equal (m.kind, WR_MANIFEST_IMAGE);
    assert_int_equal (m.config.size, 304);
    wr_manifest_clear (&m);
    wr_manifest_clear (&index);
    free (child.data);
    free (file.data);

    file = read_data ("oci-manifest-fixture-zstd.json");
    assert_digest_of (&file,
                      "sha256:f3514c99d85200378429233770e9294c751f09451faf4503b54e845c079a9916");
    assert_int_equal (
        wr_manifest_parse (file.data, file.len, WR_MEDIA_OCI_MANIFEST, NAME, &m, NULL), 0);
    assert_int_equal (m.n_layers, 1);
    assert_string_equal (m.layers[0].media_type, WR_MEDIA_OCI_LAYER_TAR_ZSTD);
    assert_int_equal (m.layers[0].size, 927436);
    wr_manifest_clear (&m);
    free (file.data);
}

static const char *
select_digest (const wr_manifest_t *index, const char *os, const char *arch, const char *variant)
{
    wr_error_t err = NULL;
    const wr_descriptor_t *d = wr_manifest_select_platform (index, os, arch, variant, &err);
    if (d == NULL)
        fail_msg ("%s/%s/%s: %s", os, arch, variant ? variant : "", err->message);
    return d->digest;
}

static void
test_select_platform (void **state)
{
    file_t file = read_data ("oci-index-multiplatform.json");
    wr_manifest_t index;
    wr_error_t err = NULL;
    if (wr_manifest_parse (file.data, file.len, WR_MEDIA_OCI_INDEX, NAME, &index, &err) < 0)
        fail_msg ("%s", err->message);
    assert_int_equal (index.kind, WR_MANIFEST_INDEX);
    assert_int_equal (index.n_manifests, 9);
    /* An entry of an unknown type is kept but never chosen. */
    assert_string_equal (index.manifests[0].media_type,
                         "application/vnd.example.not-an-image+json");
    assert_string_equal (index.manifests[1].variant, "v3");
    assert_null (index.manifests[2].variant);

    /* No variant asked: the entry without one, not the first (v3) match. */
    assert_string_equal (select_digest (&index, "linux", "amd64", NULL),
                         "sha256:2222222222222222222222222222222222222222222222222222222222222222");
    assert_string_equal (select_digest (&index, "linux", "amd64", "v3"),
                         "sha256:1111111111111111111111111111111111111111111111111111111111111111");
    /* arm64: no variant and "v8" are the same. */
    assert_string_equal (select_digest (&index, "linux", "arm64", NULL),
                         "sha256:3333333333333333333333333333333333333333333333333333333333333333");
    assert_string_equal (select_digest (&index, "linux", "arm64", "v8"),
                         "sha256:3333333333333333333333333333333333333333333333333333333333333333");
    /* arm v7 runs v6 images; v6 prefers its own over v5. */
    assert_string_equal (select_digest (&index, "linux", "arm", "v7"),
                         "sha256:4444444444444444444444444444444444444444444444444444444444444444");
    assert_string_equal (select_digest (&index, "linux", "arm", "v6"),
                         "sha256:4444444444444444444444444444444444444444444444444444444444444444");
    assert_string_equal (select_digest (&index, "linux", "arm", "v5"),
                         "sha256:5555555555555555555555555555555555555555555555555555555555555555");
    assert_string_equal (select_digest (&index, "linux", "arm", NULL),
                         "sha256:4444444444444444444444444444444444444444444444444444444444444444");
    assert_string_equal (select_digest (&index, "windows", "amd64", NULL),
                         "sha256:6666666666666666666666666666666666666666666666666666666666666666");
    /* A nested index is a valid choice (the caller follows it). */
    assert_string_equal (select_digest (&index, "linux", "s390x", NULL),
                         "sha256:8888888888888888888888888888888888888888888888888888888888888888");

    assert_null (wr_manifest_select_platform (&index, "linux", "riscv64", NULL, &err));
    assert_string_equal (err->message,
                         "no image for platform linux/riscv64: the index offers linux/amd64, "
                         "linux/amd64/v3, linux/amd64, linux/arm64/v8, linux/arm/v6, linux/arm/v5, "
                         "windows/amd64, unknown/unknown, linux/s390x");
    wr_error_free (&err);
    assert_null (wr_manifest_select_platform (&index, "linux", "arm64", "v9", &err));
    assert_non_null (strstr (err->message, "no image for platform linux/arm64/v9: "));
    wr_error_free (&err);
    wr_manifest_clear (&index);
    free (file.data);

    file = read_data ("docker-manifest-list.json");
    assert_int_equal (wr_manifest_parse (file.data, file.len, NULL, NAME, &index, NULL), 0);
    assert_string_equal (index.media_type, WR_MEDIA_DOCKER_LIST);
    assert_string_equal (select_digest (&index, "linux", "amd64", NULL),
                         "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_string_equal (select_digest (&index, "linux", "arm", "v7"),
                         "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    /* 32-bit arm on an armv8 CPU. */
    assert_string_equal (select_digest (&index, "linux", "arm", "v8"),
                         "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    assert_string_equal (select_digest (&index, "linux", "arm64", "v8"),
                         "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc");
    assert_null (wr_manifest_select_platform (&index, "linux", "arm", "v6", &err));
    wr_error_free (&err);
    wr_manifest_clear (&index);
    free (file.data);

    /* An image manifest has no platforms to choose from. */
    file = read_data ("oci-manifest-busybox.json");
    wr_manifest_t image;
    assert_int_equal (wr_manifest_parse (file.data, file.len, NULL, NAME, &image, NULL), 0);
    assert_null (wr_manifest_select_platform (&image, "linux", "amd64", NULL, &err));
    assert_string_equal (err->message, "select a platform: not an index but an image manifest");
    wr_error_free (&err);
    /* A platform without an architecture matches nothing. */
    file_t list = read_data ("docker-manifest-list.json");
    assert_int_equal (wr_manifest_parse (list.data, list.len, NULL, NAME, &index, NULL), 0);
    assert_null (wr_manifest_select_platform (&index, "linux", NULL, NULL, &err));
    assert_string_equal (err->message,
                         "select a platform: no operating system or architecture given");
    wr_error_free (&err);
    wr_manifest_clear (&index);
    free (list.data);
    wr_manifest_clear (&image);
    free (file.data);
}

static void
test_many_platforms_are_listed_in_part (void **state)
{
    size_t cap = 64 * 1024, len = 0;
    char *json = xmalloc (cap);
    len += (size_t) snprintf (json + len, cap - len, "{\"schemaVersion\":2,\"manifests\":[");
    for (int i = 0; i < 40; i++)
        len += (size_t) snprintf (json + len, cap - len,
                                  "%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":1,"
                                  "\"platform\":{\"os\":\"linux\",\"architecture\":\"arch%d\"}}",
                                  i > 0 ? "," : "", WR_MEDIA_OCI_MANIFEST, D1, i);
    len += (size_t) snprintf (json + len, cap - len, "]}");
    wr_manifest_t index;
    assert_int_equal (wr_manifest_parse (json, len, NULL, NAME, &index, NULL), 0);
    wr_error_t err = NULL;
    assert_null (wr_manifest_select_platform (&index, "linux", "amd64", NULL, &err));
    assert_non_null (strstr (err->message, "linux/arch15 and 24 more"));
    assert_null (strstr (err->message, "arch16"));
    wr_error_free (&err);
    assert_string_equal (select_digest (&index, "linux", "arch39", NULL), D1);
    wr_manifest_clear (&index);
    free (json);
}

static void
test_host_platform (void **state)
{
    const char *os = NULL, *arch = NULL, *variant = NULL;
    wr_platform_host (&os, &arch, &variant);
    assert_string_equal (os, "linux");
    struct utsname u;
    assert_int_equal (uname (&u), 0);
    if (strcmp (u.machine, "x86_64") == 0) {
        assert_string_equal (arch, "amd64");
        assert_null (variant);
    } else if (strcmp (u.machine, "aarch64") == 0) {
        assert_string_equal (arch, "arm64");
        assert_string_equal (variant, "v8");
    } else {
        assert_non_null (arch);
    }
    /* The same answer twice (computed once). */
    const char *os2, *arch2, *variant2;
    wr_platform_host (&os2, &arch2, &variant2);
    assert_ptr_equal (arch, arch2);
    assert_ptr_equal (variant, variant2);
}

#define CONFIG_OK                                                                                  \
    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D0      \
    "\",\"size\":100}"
#define LAYER(type, digest, size)                                                                  \
    "{\"mediaType\":\"" type "\",\"digest\":\"" digest "\",\"size\":" size "}"
#define GZ WR_MEDIA_OCI_LAYER_TAR_GZIP
#define ENTRY "{\"mediaType\":\"" WR_MEDIA_OCI_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":10}"

static void
test_refuses_ambiguous_documents (void **state)
{
    expect_manifest_error ("{\"schemaVersion\":2," CONFIG_OK ",\"layers\":[],\"manifests\":[]}",
                           NULL,
                           NAME ": both a manifest and an index (it has \"layers\" and "
                                "\"manifests\")");
    expect_manifest_error ("{\"schemaVersion\":2,\"mediaType\":\"" WR_MEDIA_OCI_INDEX
                           "\",\"layers\":[" LAYER (GZ, D1, "1") "],\"manifests\":[" ENTRY "]}",
                           WR_MEDIA_OCI_INDEX,
                           NAME ": both a manifest and an index (it has \"layers\" and "
                                "\"manifests\")");
    expect_manifest_error ("{\"schemaVersion\":2,\"mediaType\":\"" WR_MEDIA_OCI_MANIFEST
                           "\",\"manifests\":[" ENTRY "]}",
                           NULL,
                           NAME ": manifests: an image manifest "
                                "(application/vnd.oci.image.manifest.v1+json) must not have an "
                                "index's \"manifests\"");
    expect_manifest_error (
        "{\"schemaVersion\":2,\"mediaType\":\"" WR_MEDIA_OCI_INDEX "\"," CONFIG_OK "}", NULL,
        NAME ": config: an index (application/vnd.oci.image.index.v1+json) "
             "must not have an image manifest's \"config\"");
    expect_manifest_error ("{\"schemaVersion\":2}", NULL,
                           NAME ": neither an image manifest (\"config\" and \"layers\") nor an "
                                "index (\"manifests\")");
    expect_manifest_error ("{\"schemaVersion\":2," CONFIG_OK "}", NULL, NAME ": layers: missing");
    expect_manifest_error ("{\"schemaVersion\":2,\"layers\":[]}", NULL, NAME ": config: missing");
}

static void
test_refuses_bad_versions_and_media_types (void **state)
{
    expect_manifest_error ("{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}", NULL,
                           NAME ": schemaVersion: 1: Docker schema 1 manifests are not supported");
    expect_manifest_error ("{\"schemaVersion\":3," CONFIG_OK ",\"layers\":[]}", NULL,
                           NAME ": schemaVersion: must be 2, not 3");
    expect_manifest_error ("{\"schemaVersion\":\"2\"," CONFIG_OK ",\"layers\":[]}", NULL,
                           NAME ": schemaVersion: must be an integer, not a string");
    expect_manifest_error ("{\"schemaVersion\":2.0," CONFIG_OK ",\"layers\":[]}", NULL,
                           NAME ": schemaVersion: must be an integer, not a fractional number");
    expect_manifest_error ("{" CONFIG_OK ",\"layers\":[]}", NULL, NAME ": schemaVersion: missing");
    expect_manifest_error (
        "{\"schemaVersion\":2,\"mediaType\":\"text/html\"," CONFIG_OK ",\"layers\":[]}", NULL,
        NAME ": mediaType: `text/html` is not a manifest or index media "
             "type");
    expect_manifest_error ("{\"schemaVersion\":2,\"mediaType\":7," CONFIG_OK ",\"layers\":[]}",
                           NULL, NAME ": mediaType: must be a string, not an integer");
    expect_manifest_error (
        "{\"schemaVersion\":2,\"mediaType\":"
        "\"application/vnd.docker.distribution.manifest.v1+prettyjws\"," CONFIG_OK
        ",\"layers\":[]}",
        NULL,
        NAME ": mediaType: `application/vnd.docker.distribution.manifest.v1+prettyjws`: Docker "
             "schema 1 manifests are not supported");
    expect_manifest_error ("{\"schemaVersion\":2," CONFIG_OK ",\"layers\":[]}",
                           "text/html; charset=utf-8",
                           NAME ": served as `text/html`, which is not a manifest or index");
    expect_manifest_error ("{\"schemaVersion\":2," CONFIG_OK ",\"layers\":[]}",
                           "application/vnd.docker.distribution.manifest.v1+json",
                           NAME ": served as `application/vnd.docker.distribution.manifest.v1+json`"
                                ": Docker schema 1 manifests are not supported");
    /* The header says index, the fields say manifest. */
    expect_manifest_error ("{\"schemaVersion\":2," CONFIG_OK ",\"layers\":[]}",
                           WR_MEDIA_DOCKER_LIST,
                           NAME ": layers: an index "
                                "(application/vnd.docker.distribution.manifest.list.v2+json) must "
                                "not have an image manifest's \"layers\"");
    expect_manifest_error ("{\"schemaVersion\":2,\"mediaType\":\"" WR_MEDIA_OCI_INDEX
                           "\",\"manifests\":[]}",
                           WR_MEDIA_DOCKER_LIST,
                           NAME ": mediaType: `application/vnd.oci.image.index.v1+json` does not "
                                "match the Content-Type "
                                "`application/vnd.docker.distribution.manifest.list.v2+json`");
    /* Control characters in a media type are escaped in the message. */
    expect_manifest_error (
        "{\"schemaVersion\":2,\"mediaType\":\"\\u001b[2J\"," CONFIG_OK ",\"layers\":[]}", NULL,
        NAME ": mediaType: `\\x1b[2J` is not a manifest or index media "
             "type");
}

static void
test_refuses_bad_descriptors (void **state)
{
    expect_manifest_error ("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" WR_MEDIA_OCI_CONFIG
                           "\",\"digest\":\"sha256:../x\",\"size\":1},\"layers\":[]}",
                           NULL,
                           NAME ": config.digest: digest `sha256:../x`: a sha256 digest has 64 hex "
                                "digits, not 4");
    expect_manifest_error ("{\"schemaVersion\":2," CONFIG_OK
                           ",\"layers\":[" LAYER (GZ, D1, "1") "," LAYER (
                               GZ, "sha256:../../../../etc/passwd", "1") "]}",
                           NULL,
                           NAME ": layers[1].digest: digest `sha256:../../../../etc/passwd`: a "
                                "sha256 digest has 64 hex digits, not 22");
    expect_manifest_error (
        "{\"schemaVersion\":2," CONFIG_OK
        ",\"layers\":[" LAYER (GZ,
                               "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                               "AAAAA",
                               "1") "]}",
        NULL,
        NAME ": layers[0].digest: digest "
             "`sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`"
             ": character 8 is not a lowercase hex digit");
    expect_manifest_error (
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" WR_MEDIA_OCI_MANIFEST
        "\",\"digest\":\"sha512:abc\",\"size\":1}]}",
        NULL,
        NAME ": manifests[0].digest: digest `sha512:abc`: only sha256 digests "
             "are supported");
    expect_manifest_error ("{\"schemaVersion\":2," CONFIG_OK
                           ",\"layers\":[" LAYER (GZ, "sha256:\\u001b[2J\\n", "1") "]}",
                           NULL,
                           NAME ": layers[0].digest: digest `sha256:\\x1b[2J\\x0a` has characters "
                                "that are not printable");
    /* A NUL character would cut the digest short of what was signed. */
    expect_manifest_error ("{\"schemaVersion\":2," CONFIG_OK
                           ",\"layers\":[" LAYER (GZ, D1 "\\u0000/../x", "1") "]}",
                           NULL, NAME ": layers[0].digest: must not contain a NUL character");
    expect_manifest_error ("{\"schemaVersion\":2," CONFIG_OK ",\"layers\":[{\"mediaType\":\"" GZ
                           "\",\"size\":1}]}",
                           NULL, NAME ": layers[0].digest: missing");
    expect_manifest_error ("{\"schemaVersion\":2," CONFIG_OK ",\"layers\":[{\"mediaType\":\"" GZ
                           "\",\"digest\":null,\"size\":1}]}",
                           NULL, NAME ": layers[0].digest: must not be null");
    expect_manifest_error ("{\"schemaVersion\":2," CONFIG_OK ",\"layers\":[{\"mediaType\":\"" GZ
                           "\",\"digest\":[\"" D1 "\"],\"size\":1}]}",
                           NULL, NAME ": layers[0].digest: must be a string, not an array");
    expect_manifest_error ("{\"schemaVersion\":2," CONFIG_OK
                           ",\"layers\":[" LAYER (GZ, D1, "-1") "]}",
                           NULL, NAME ": layers[0].size: must not be negative (-1)");
    expect_manifest_error ("{\"schemaVersion\":2," CONFIG_OK
                           ",\"layers\":[" LAYER (GZ, D1, "\"12\"") "]}",
                           NULL, NAME ": layers[0].size: must be an integer, not a string");
    expect_manifest_error (
        "{\"schemaVersion\":2," CONFIG_OK ",\"layers\":[" LAYER (GZ, D1, "1.5") "]}", NULL,
        NAME ": layers[0].size: must be an integer, not a fractional "
             "number");
    expect_manifest_error (
        "{\"schemaVersion\":2," CONFIG_OK ",\"layers\":[" LAYER (GZ, D1, "1e30") "]}", NULL,
        NAME ": layers[0].size: must be an integer, not a fractional "
             "number");
    expect_manifest_error ("{\"schemaVersion\":2," CONFIG_OK
                           ",\"layers\":[" LAYER (GZ, D1, "18446744073709551615") "]}",
                           NULL, NAME ": layers[0].size: integer too large");
    expect_manifest_error ("{\"schemaVersion\":2," CONFIG_OK ",\"layers\":[{\"mediaType\":\"" GZ
                           "\",\"digest\":\"" D1 "\"}]}",
                           NULL, NAME ": layers[0].size: missing");
    expect_manifest_error ("{\"schemaVersion\":2," CONFIG_OK ",\"layers\":{}}", NULL,
                           NAME ": layers: must be an array, not an object");
    expect_manifest_error ("{\"schemaVersion\":2," CONFIG_OK ",\"layers\":[\"" D1 "\"]}", NULL,
                           NAME ": layers[0]: must be an object, not a string");
    expect_manifest_error ("{\"schemaVersion\":2,\"config\":\"" D0 "\",\"layers\":[]}", NULL,
                           NAME ": config: must be an object, not a string");
    /* A config or a manifest larger than what would be fetched. */
    expect_manifest_error ("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" WR_MEDIA_OCI_CONFIG
                           "\",\"digest\":\"" D0 "\",\"size\":8388609},\"layers\":[]}",
                           NULL,
                           NAME ": config.size: 8388609 bytes is more than the limit of "
                                "8388608");
    expect_manifest_error (
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" WR_MEDIA_OCI_MANIFEST
        "\",\"digest\":\"" D0 "\",\"size\":4194305}]}",
        NULL,
        NAME ": manifests[0].size: 4194305 bytes is more than the limit "
             "of 4194304");
}

static void
test_refuses_bad_media_types_and_platforms (void **state)
{
    expect_manifest_error (
        "{\"schemaVersion\":2," CONFIG_OK ",\"layers\":[" LAYER (
            "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", D1, "1") "]}",
        NULL,
        NAME ": layers[0].mediaType: "
             "`application/vnd.docker.image.rootfs.foreign.diff.tar.gzip` is a "
             "non-distributable (foreign) layer, which the registry may not "
             "serve: not supported");
    expect_manifest_error ("{\"schemaVersion\":2," CONFIG_OK
                           ",\"layers\":[" LAYER (GZ, D1, "1") "," LAYER (
                               "application/vnd.oci.image.layer.nondistributable.v1.tar+"
                               "gzip",
                               D2, "1") "]}",
                           NULL,
                           NAME ": layers[1].mediaType: "
                                "`application/vnd.oci.image.layer.nondistributable.v1.tar+gzip` is "
                                "a non-distributable (foreign) layer, which the registry may not "
                                "serve: not supported");
    expect_manifest_error ("{\"schemaVersion\":2," CONFIG_OK
                           ",\"layers\":[" LAYER ("application/x-tar", D1, "1") "]}",
                           NULL,
                           NAME ": layers[0].mediaType: `application/x-tar` is not a layer type "
                                "warren can unpack (OCI tar, tar+gzip, tar+zstd or Docker "
                                "tar.gzip)");
    expect_manifest_error ("{\"schemaVersion\":2," CONFIG_OK
                           ",\"layers\":[" LAYER ("tar gz", D1, "1") "]}",
                           NULL, NAME ": layers[0].mediaType: `tar gz` is not a media type");
    expect_manifest_error ("{\"schemaVersion\":2," CONFIG_OK
                           ",\"layers\":[" LAYER ("a/b/c", D1, "1") "]}",
                           NULL, NAME ": layers[0].mediaType: `a/b/c` is not a media type");
    expect_manifest_error ("{\"schemaVersion\":2,\"config\":{\"mediaType\":"
                           "\"application/vnd.oci.empty.v1+json\",\"digest\":\"" D0
                           "\",\"size\":2},\"layers\":[]}",
                           NULL,
                           NAME ": config.mediaType: `application/vnd.oci.empty.v1+json` is not an "
                                "image config (is this an artifact rather than an image?)");
    expect_manifest_error (
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" WR_MEDIA_OCI_MANIFEST
        "\",\"digest\":\"" D1 "\",\"size\":1,\"platform\":\"linux/amd64\"}]}",
        NULL, NAME ": manifests[0].platform: must be an object, not a string");
    expect_manifest_error ("{\"schemaVersion\":2,\"manifests\":[" ENTRY
                           ",{\"mediaType\":\"" WR_MEDIA_OCI_MANIFEST "\",\"digest\":\"" D1
                           "\",\"size\":1,\"platform\":{\"architecture\":\"amd64\"}}]}",
                           NULL, NAME ": manifests[1].platform.os: missing");
    expect_manifest_error (
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" WR_MEDIA_OCI_MANIFEST
        "\",\"digest\":\"" D1
        "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":64}}]}",
        NULL,
        NAME ": manifests[0].platform.architecture: must be a string, not an "
             "integer");
    expect_manifest_error ("{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" D1
                           "\",\"size\":1}]}",
                           NULL, NAME ": manifests[0].mediaType: missing");
    expect_manifest_error ("{\"schemaVersion\":2,\"manifests\":null}", NULL,
                           NAME ": manifests: must not be null");
}

static void
expect_not_json (const char *json, size_t offset)
{
    wr_manifest_t m;
    wr_error_t err = NULL;
    if (wr_manifest_parse (json, strlen (json), NULL, NAME, &m, &err) == 0)
        fail_msg ("accepted: %s", json);
    char *where = xasprintf (" at offset %zu", offset);
    if (strncmp (err->message, NAME ": not JSON: ", strlen (NAME ": not JSON: ")) != 0 ||
        strlen (err->message) < strlen (where) ||
        strcmp (err->message + strlen (err->message) - strlen (where), where) != 0)
        fail_msg ("%s: unexpected error: %s", json, err->message);
    assert_null (m.media_type);
    free (where);
    wr_error_free (&err);
}

static void
test_refuses_bad_json (void **state)
{
    expect_manifest_error ("", NULL, NAME ": not JSON: the document ends early (at offset 0)");
    expect_manifest_error ("[]", NULL, NAME ": the document must be a JSON object, not an array");
    expect_manifest_error ("{\"schemaVersion\":2,", NULL,
                           NAME ": not JSON: the document ends early (at offset 19)");
    /* json-c words its reasons its own way: check where, not how. */
    expect_not_json ("{\"schemaVersion\":2} {}", 20);
    expect_not_json ("{\"schemaVersion\":2, /* comment */ \"manifests\":[]}", 20);
    expect_not_json ("{\"schemaVersion\":'2'}", 17);
    expect_not_json ("{\"schemaVersion\":2,\"manifests\":[],}", 34);
    expect_not_json ("{\"schemaVersion\":2,\"mediaType\":\"\xff\xfe\",\"manifests\":[]}", 32);
    expect_not_json ("{\"schemaVersion\":2,\"manifests\":[]}x", 34);

    /* A NUL byte ends a C string, so spell the document out with its length. */
    static const char with_nul[] = "{\"schemaVersion\":2,\"manifests\":[]}\0garbage";
    wr_manifest_t m;
    wr_error_t err = NULL;
    assert_int_equal (wr_manifest_parse (with_nul, sizeof with_nul - 1, NULL, NAME, &m, &err), -1);
    assert_string_equal (err->message, NAME ": not JSON: a NUL byte at offset 34");
    wr_error_free (&err);

    /* Nesting deeper than json-c's limit. */
    char deep[1000];
    size_t n = 0;
    n += (size_t) snprintf (deep, sizeof deep, "{\"schemaVersion\":2,\"x\":");
    for (int i = 0; i < 100; i++)
        deep[n++] = '[';
    deep[n] = '\0';
    assert_int_equal (wr_manifest_parse (deep, n, NULL, NAME, &m, &err), -1);
    assert_non_null (strstr (err->message, NAME ": not JSON: nesting too deep at offset"));
    wr_error_free (&err);
}

static void
test_size_limit (void **state)
{
    /* A valid index padded with white space to exactly the limit. */
    const char *doc = "{\"schemaVersion\":2,\"manifests\":[" ENTRY "]}";
    size_t limit = WR_MANIFEST_MAX_SIZE;
    char *big = xmalloc (limit + 2);
    memset (big, ' ', limit + 1);
    memcpy (big, doc, strlen (doc));
    big[limit + 1] = '\0';
    wr_manifest_t m;
    wr_error_t err = NULL;
    assert_int_equal (wr_manifest_parse (big, limit, NULL, NAME, &m, &err), 0);
    assert_int_equal (m.n_manifests, 1);
    wr_manifest_clear (&m);
    /* One byte more is refused before it is parsed. */
    assert_int_equal (wr_manifest_parse (big, limit + 1, NULL, NAME, &m, &err), -1);
    assert_string_equal (err->message,
                         NAME ": 4194305 bytes is too large for a manifest (the limit is 4194304)");
    wr_error_free (&err);
    /* The same for image configs. */
    char *huge = xmalloc (WR_CONFIG_MAX_SIZE + 1);
    memset (huge, ' ', WR_CONFIG_MAX_SIZE + 1);
    wr_image_config_t config;
    assert_int_equal (wr_image_config_parse (huge, WR_CONFIG_MAX_SIZE + 1, "cfg", &config, &err),
                      -1);
    assert_string_equal (err->message,
                         "cfg: 8388609 bytes is too large for an image config (the limit is "
                         "8388608)");
    wr_error_free (&err);
    free (huge);
    free (big);
}

static void
test_large_hostile_documents_stay_cheap (void **state)
{
    /* Every port twice ("N" and "N/tcp") and once more as udp: the copies
     * are dropped without a search through the list for each key. */
    size_t cap = 4 * 1024 * 1024, len = 0;
    char *json = xmalloc (cap);
    len += (size_t) snprintf (json, cap,
                              "{\"architecture\":\"amd64\",\"os\":\"linux\","
                              "\"config\":{\"ExposedPorts\":{");
    for (int port = 1; port <= 65535; port++)
        len += (size_t) snprintf (json + len, cap - len, "%s\"%d\":{},\"%d/tcp\":{},\"%d/udp\":{}",
                                  port > 1 ? "," : "", port, port, port);
    len += (size_t) snprintf (json + len, cap - len,
                              "}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
    assert_true (len < WR_CONFIG_MAX_SIZE);
    wr_image_config_t c;
    wr_error_t err = NULL;
    if (wr_image_config_parse (json, len, "cfg", &c, &err) < 0)
        fail_msg ("%s", err->message);
    size_t n = 0;
    while (c.exposed_ports[n] != NULL)
        n++;
    assert_int_equal (n, 2 * 65535);
    assert_string_equal (c.exposed_ports[0], "1/tcp");
    assert_string_equal (c.exposed_ports[1], "1/udp");
    assert_string_equal (c.exposed_ports[n - 1], "65535/udp");
    wr_image_config_clear (&c);

    /* Two million bad layers: refused at the first. */
    len = (size_t) snprintf (json, cap, "{\"schemaVersion\":2," CONFIG_OK ",\"layers\":[");
    while (len + 4 < WR_MANIFEST_MAX_SIZE) {
        memcpy (json + len, "1,", 2);
        len += 2;
    }
    memcpy (json + len, "1]}", 3);
    len += 3;
    wr_manifest_t m;
    assert_int_equal (wr_manifest_parse (json, len, NULL, NAME, &m, &err), -1);
    assert_string_equal (err->message, NAME ": layers[0]: must be an object, not an integer");
    wr_error_free (&err);
    free (json);
}

static void
test_image_configs (void **state)
{
    /* The busybox config, with the digest its manifest gives it. */
    file_t file = read_data ("docker-config-busybox.json");
    assert_digest_of (&file,
                      "sha256:13078353a452311883d4bc44f21b31207d7c793f01782d4beb4d6dffc8a07268");
    wr_image_config_t c;
    wr_error_t err = NULL;
    if (wr_image_config_parse (file.data, file.len, "busybox config", &c, &err) < 0)
        fail_msg ("%s", err->message);
    assert_string_equal (c.architecture, "amd64");
    assert_string_equal (c.os, "linux");
    assert_non_null (c.env);
    assert_string_equal (c.env[0],
                         "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    assert_null (c.env[1]);
    assert_null (c.entrypoint);
    assert_string_equal (c.cmd[0], "sh");
    assert_null (c.cmd[1]);
    assert_null (c.working_dir);
    assert_null (c.user);
    assert_null (c.exposed_ports);
    assert_null (c.variant);
    assert_null (c.labels);
    assert_string_equal (c.diff_ids[0],
                         "sha256:909610c81c9a4433baf5ab114fa68417e297292b3877d3bf8dd7e8b8d5ca91c2");
    assert_null (c.diff_ids[1]);
    wr_image_config_clear (&c);
    assert_null (c.architecture);
    free (file.data);

    file = read_data ("oci-config-busybox.json");
    assert_digest_of (&file,
                      "sha256:6d9683bae52a3c6664ac02449bf63b66f9ad888cac1694859610ad8326d40872");
    assert_int_equal (wr_image_config_parse (file.data, file.len, "oci config", &c, &err), 0);
    assert_string_equal (c.cmd[0], "sh");
    wr_image_config_clear (&c);
    free (file.data);

    file = read_data ("oci-config-full.json");
    if (wr_image_config_parse (file.data, file.len, "full config", &c, &err) < 0)
        fail_msg ("%s", err->message);
    assert_string_equal (c.architecture, "arm64");
    assert_string_equal (c.variant, "v8");
    assert_string_equal (c.labels[0], "maintainer");
    assert_string_equal (c.labels[1], "someone");
    assert_null (c.labels[2]);
    assert_string_equal (c.user, "101:101");
    assert_string_equal (c.working_dir, "/srv/www");
    assert_string_equal (c.entrypoint[0], "/docker-entrypoint.sh");
    assert_null (c.entrypoint[1]);
    assert_string_equal (c.cmd[0], "nginx");
    assert_string_equal (c.cmd[1], "-g");
    assert_string_equal (c.cmd[2], "daemon off;");
    assert_null (c.cmd[3]);
    assert_string_equal (c.env[2], "EMPTY=");
    assert_null (c.env[3]);
    /* In document order, "443" read as "443/tcp" and its repeat dropped. */
    assert_string_equal (c.exposed_ports[0], "80/tcp");
    assert_string_equal (c.exposed_ports[1], "443/tcp");
    assert_string_equal (c.exposed_ports[2], "53/udp");
    assert_null (c.exposed_ports[3]);
    assert_string_equal (c.diff_ids[1],
                         "sha256:abababababababababababababababababababababababababababababababab");
    assert_null (c.diff_ids[2]);
    wr_image_config_clear (&c);
    free (file.data);
}

#define ROOTFS_OK "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\"]}"
#define PLATFORM_OK "\"architecture\":\"amd64\",\"os\":\"linux\""

static void
expect_config (const char *json, const char *message)
{
    wr_image_config_t c;
    wr_error_t err = NULL;
    int ret = wr_image_config_parse (json, strlen (json), "cfg", &c, &err);
    if (message == NULL) {
        if (ret < 0)
            fail_msg ("refused: %s", err->message);
        wr_image_config_clear (&c);
        return;
    }
    if (ret == 0)
        fail_msg ("accepted: %s", json);
    assert_string_equal (err->message, message);
    assert_null (c.architecture);
    assert_null (c.env);
    assert_null (c.diff_ids);
    wr_error_free (&err);
}

static void
test_image_config_edge_cases (void **state)
{
    /* Docker writes null for what is not set, and a string for a shell
     * form Cmd is accepted as Docker accepts it. */
    expect_config ("{" PLATFORM_OK ",\"config\":null," ROOTFS_OK "}", NULL);
    expect_config ("{" PLATFORM_OK ",\"config\":{\"Env\":null,\"Cmd\":null,\"Entrypoint\":null,"
                   "\"WorkingDir\":\"\",\"User\":\"\",\"ExposedPorts\":null}," ROOTFS_OK "}",
                   NULL);
    expect_config ("{" PLATFORM_OK ",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", NULL);

    wr_image_config_t c;
    const char *shell =
        "{" PLATFORM_OK ",\"config\":{\"Cmd\":\"echo hi\",\"WorkingDir\":\"\"}," ROOTFS_OK "}";
    assert_int_equal (wr_image_config_parse (shell, strlen (shell), "cfg", &c, NULL), 0);
    assert_string_equal (c.cmd[0], "echo hi");
    assert_null (c.cmd[1]);
    assert_null (c.working_dir);
    assert_null (c.env);
    wr_image_config_clear (&c);

    expect_config ("{\"os\":\"linux\"," ROOTFS_OK "}", "cfg: architecture: missing");
    expect_config ("{\"architecture\":\"amd64\",\"os\":[]," ROOTFS_OK "}",
                   "cfg: os: must be a string, not an array");
    expect_config ("{" PLATFORM_OK "}", "cfg: rootfs: missing");
    expect_config ("{" PLATFORM_OK ",\"rootfs\":{\"type\":\"tarball\",\"diff_ids\":[]}}",
                   "cfg: rootfs.type: must be \"layers\", not `tarball`");
    expect_config ("{" PLATFORM_OK ",\"rootfs\":{\"type\":\"layers\"}}",
                   "cfg: rootfs.diff_ids: missing");
    expect_config ("{" PLATFORM_OK ",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1
                   "\",\"sha256:../x\"]}}",
                   "cfg: rootfs.diff_ids[1]: digest `sha256:../x`: a sha256 digest has 64 hex "
                   "digits, not 4");
    expect_config ("{" PLATFORM_OK ",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[1]}}",
                   "cfg: rootfs.diff_ids[0]: must be a string, not an integer");
    expect_config ("{" PLATFORM_OK ",\"config\":[]," ROOTFS_OK "}",
                   "cfg: config: must be an object, not an array");
    expect_config ("{" PLATFORM_OK ",\"config\":{\"Env\":[\"A=1\",5]}," ROOTFS_OK "}",
                   "cfg: config.Env[1]: must be a string, not an integer");
    expect_config ("{" PLATFORM_OK ",\"config\":{\"Env\":[\"A=1\",\"NOVALUE\"]}," ROOTFS_OK "}",
                   "cfg: config.Env[1]: `NOVALUE` is not NAME=VALUE");
    expect_config ("{" PLATFORM_OK ",\"config\":{\"Env\":[\"=x\"]}," ROOTFS_OK "}",
                   "cfg: config.Env[0]: `=x` is not NAME=VALUE");
    expect_config ("{" PLATFORM_OK ",\"config\":{\"Entrypoint\":{\"a\":1}}," ROOTFS_OK "}",
                   "cfg: config.Entrypoint: must be an array, not an object");
    expect_config ("{" PLATFORM_OK ",\"config\":{\"Cmd\":[\"a\",null]}," ROOTFS_OK "}",
                   "cfg: config.Cmd[1]: must be a string, not null");
    expect_config ("{" PLATFORM_OK ",\"config\":{\"User\":0}," ROOTFS_OK "}",
                   "cfg: config.User: must be a string, not an integer");
    expect_config ("{" PLATFORM_OK ",\"config\":{\"ExposedPorts\":[\"80/tcp\"]}," ROOTFS_OK "}",
                   "cfg: config.ExposedPorts: must be an object, not an array");
    const char *bad_ports[] = { "abc", "0/tcp", "70000", "80/icmp", "80/", "080", "-1", "80/tcp " };
    for (size_t i = 0; i < sizeof bad_ports / sizeof bad_ports[0]; i++) {
        char *json =
            xasprintf ("{" PLATFORM_OK ",\"config\":{\"ExposedPorts\":{\"%s\":{}}}," ROOTFS_OK "}",
                       bad_ports[i]);
        char *message = xasprintf ("cfg: config.ExposedPorts: `%s` is not PORT or PORT/PROTOCOL "
                                   "(a port from 1 to 65535; tcp, udp or sctp)",
                                   bad_ports[i]);
        expect_config (json, message);
        free (json);
        free (message);
    }
    expect_config (
        "{" PLATFORM_OK ",\"config\":{\"ExposedPorts\":{\"65535/sctp\":{}}}," ROOTFS_OK "}", NULL);
    /* Labels: an object of strings, in document order; none is NULL. */
    const char *labels = "{" PLATFORM_OK ",\"variant\":\"\",\"config\":{\"Labels\":{\"b\":\"2\","
                         "\"a\":\"\"}}," ROOTFS_OK "}";
    assert_int_equal (wr_image_config_parse (labels, strlen (labels), "cfg", &c, NULL), 0);
    assert_string_equal (c.labels[0], "b");
    assert_string_equal (c.labels[1], "2");
    assert_string_equal (c.labels[2], "a");
    assert_string_equal (c.labels[3], "");
    assert_null (c.labels[4]);
    assert_null (c.variant);
    wr_image_config_clear (&c);
    const char *no_labels = "{" PLATFORM_OK ",\"config\":{\"Labels\":{}}," ROOTFS_OK "}";
    assert_int_equal (wr_image_config_parse (no_labels, strlen (no_labels), "cfg", &c, NULL), 0);
    assert_null (c.labels);
    wr_image_config_clear (&c);
    expect_config ("{" PLATFORM_OK ",\"config\":{\"Labels\":null}," ROOTFS_OK "}", NULL);
    expect_config ("{" PLATFORM_OK ",\"config\":{\"Labels\":[\"a=b\"]}," ROOTFS_OK "}",
                   "cfg: config.Labels: must be an object, not an array");
    expect_config ("{" PLATFORM_OK ",\"config\":{\"Labels\":{\"a\":\"x\",\"n\":1}}," ROOTFS_OK "}",
                   "cfg: config.Labels.n: must be a string, not an integer");
    /* The key of a bad label is untrusted: quoted in the message. */
    expect_config ("{" PLATFORM_OK ",\"config\":{\"Labels\":{\"\\u001b[2J\":null}}," ROOTFS_OK "}",
                   "cfg: config.Labels.\\x1b[2J: must be a string, not null");
    expect_config ("{" PLATFORM_OK ",\"variant\":7," ROOTFS_OK "}",
                   "cfg: variant: must be a string, not an integer");
    wr_error_t err = NULL;
    assert_int_equal (wr_image_config_parse ("not json", 8, "cfg", &c, &err), -1);
    assert_non_null (strstr (err->message, "cfg: not JSON: "));
    wr_error_free (&err);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_docker_manifests_from_registry),
        cmocka_unit_test (test_oci_manifest_and_layout_index),
        cmocka_unit_test (test_fixture_index_and_zstd_manifest),
        cmocka_unit_test (test_select_platform),
        cmocka_unit_test (test_many_platforms_are_listed_in_part),
        cmocka_unit_test (test_host_platform),
        cmocka_unit_test (test_refuses_ambiguous_documents),
        cmocka_unit_test (test_refuses_bad_versions_and_media_types),
        cmocka_unit_test (test_refuses_bad_descriptors),
        cmocka_unit_test (test_refuses_bad_media_types_and_platforms),
        cmocka_unit_test (test_refuses_bad_json),
        cmocka_unit_test (test_size_limit),
        cmocka_unit_test (test_large_hostile_documents_stay_cheap),
        cmocka_unit_test (test_image_configs),
        cmocka_unit_test (test_image_config_edge_cases),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
