/* Pulling: chain ids, --platform parsing, and the second half of a pull
 * (config, layers, root, record) against a real store, with no registry:
 * every blob is in the store already, so a registry would never be asked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <pthread.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <time.h>

#include "cancel.h"
#include "cleanup.h"
#include "digest.h"
#include "fake_registry.h"
#include "error.h"
#include "image_pull.h"
#include "manifest.h"
#include "store.h"
#include "xalloc.h"

/* sha256 of "a", "b" and "c". */
#define DIFF_A "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
#define DIFF_B "sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
#define DIFF_C "sha256:2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6"

static void
test_chain_id (void **state)
{
    char out[WR_DIGEST_MAX_LEN + 1];
    /* One layer: the chain id is its diff id. */
    const char *one[] = { DIFF_A };
    assert_int_equal (wr_chain_id (one, 1, out, NULL), 0);
    assert_string_equal (out, DIFF_A);
    /* Worked out with sha256sum: sha256("<A> <B>"), then sha256("<AB> <C>"). */
    const char *two[] = { DIFF_A, DIFF_B };
    assert_int_equal (wr_chain_id (two, 2, out, NULL), 0);
    assert_string_equal (out,
                         "sha256:51c0c8ace48498d6f5fee6b0592cc06f2da0f3cbe09c5a34a97dce85c3889676");
    const char *three[] = { DIFF_A, DIFF_B, DIFF_C };
    assert_int_equal (wr_chain_id (three, 3, out, NULL), 0);
    assert_string_equal (out,
                         "sha256:2fce7f8ce91bcf0a1428b36e1024639fdbd9469eea762dba98aa749631885106");
    /* Order matters. */
    const char *reversed[] = { DIFF_B, DIFF_A };
    assert_int_equal (wr_chain_id (reversed, 2, out, NULL), 0);
    assert_string_not_equal (
        out, "sha256:51c0c8ace48498d6f5fee6b0592cc06f2da0f3cbe09c5a34a97dce85c3889676");
}

static void
test_chain_id_refuses_bad_input (void **state)
{
    char out[WR_DIGEST_MAX_LEN + 1];
    wr_error_t err = NULL;
    assert_int_equal (wr_chain_id (NULL, 0, out, &err), -1);
    assert_non_null (strstr (err->message, "no layers"));
    wr_error_free (&err);

    /* A diff id that could become a path is never used. */
    const char *hostile[] = { DIFF_A, "sha256:../../etc" };
    assert_int_equal (wr_chain_id (hostile, 2, out, &err), -1);
    assert_non_null (strstr (err->message, "diff id 1"));
    assert_non_null (strstr (err->message, "sha256:../../etc"));
    wr_error_free (&err);
}

static void
expect_platform (const char *text, const char *os, const char *arch, const char *variant)
{
    char *o = NULL, *a = NULL, *v = NULL;
    assert_int_equal (wr_platform_parse (text, &o, &a, &v, NULL), 0);
    assert_string_equal (o, os);
    assert_string_equal (a, arch);
    if (variant == NULL)
        assert_null (v);
    else
        assert_string_equal (v, variant);
    free (o);
    free (a);
    free (v);
}

static void
expect_bad_platform (const char *text)
{
    char *o = NULL, *a = NULL, *v = NULL;
    wr_error_t err = NULL;
    assert_int_equal (wr_platform_parse (text, &o, &a, &v, &err), -1);
    assert_null (o);
    assert_null (a);
    assert_null (v);
    assert_non_null (strstr (err->message, "expected os/arch[/variant]"));
    assert_non_null (strstr (err->message, text));
    wr_error_free (&err);
}

static void
test_platform_parse (void **state)
{
    expect_platform ("linux/amd64", "linux", "amd64", NULL);
    expect_platform ("linux/arm64/v8", "linux", "arm64", "v8");
    expect_platform ("linux/arm/v7", "linux", "arm", "v7");
    expect_bad_platform ("linux");
    expect_bad_platform ("linux/");
    expect_bad_platform ("/amd64");
    expect_bad_platform ("linux//v8");
    expect_bad_platform ("linux/arm64/v8/extra");
    expect_bad_platform ("Linux/AMD64");
    expect_bad_platform ("linux/amd 64");
    expect_bad_platform ("");
}

/* ---- pull_manifest against a store ---- */

typedef struct {
    char dir[64];
    wr_store_t *store;
    char layer_digest[WR_DIGEST_MAX_LEN + 1];
    size_t layer_size;
    char config_digest[WR_DIGEST_MAX_LEN + 1];
    size_t config_size;
    char manifest_digest[WR_DIGEST_MAX_LEN + 1];
    wr_manifest_t manifest;
} fixture_t;

/* An uncompressed tar with one file, made with libarchive. */
static char *
make_layer (size_t *len)
{
    size_t cap = 64 * 1024;
    char *buf = xzalloc (cap);
    struct archive *a = archive_write_new ();
    archive_write_set_format_pax_restricted (a);
    assert_int_equal (archive_write_open_memory (a, buf, cap, len), ARCHIVE_OK);
    struct archive_entry *e = archive_entry_new ();
    archive_entry_set_pathname (e, "hello");
    archive_entry_set_filetype (e, AE_IFREG);
    archive_entry_set_perm (e, 0644);
    archive_entry_set_size (e, 3);
    assert_int_equal (archive_write_header (a, e), ARCHIVE_OK);
    assert_int_equal (archive_write_data (a, "hi\n", 3), 3);
    archive_entry_free (e);
    assert_int_equal (archive_write_close (a), ARCHIVE_OK);
    archive_write_free (a);
    return buf;
}

static void
put (fixture_t *f, const char *data, size_t len, char *digest)
{
    wr_error_t err = NULL;
    int r = wr_store_put_blob (f->store, data, len, NULL, digest, &err);
    if (r < 0)
        fail_msg ("put_blob: %s", err->message);
}

/* A store holding an image: one layer, its config (with N_DIFF_IDS diff
 * ids, all the layer's), its manifest. */
static fixture_t *
make_fixture (int n_diff_ids)
{
    fixture_t *f = xzalloc (sizeof *f);
    strcpy (f->dir, "/tmp/warren-test-pull-XXXXXX");
    assert_non_null (mkdtemp (f->dir));
    wr_error_t err = NULL;
    f->store = wr_store_open (f->dir, &err);
    if (f->store == NULL)
        fail_msg ("store: %s", err->message);

    cleanup_free char *layer = make_layer (&f->layer_size);
    put (f, layer, f->layer_size, f->layer_digest);
    cleanup_free char *diff_ids = xstrdup ("");
    for (int i = 0; i < n_diff_ids; i++) {
        char *more = xasprintf ("%s%s\"%s\"", diff_ids, i ? "," : "", f->layer_digest);
        free (diff_ids);
        diff_ids = more;
    }
    cleanup_free char *config =
        xasprintf ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"sh\"]},"
                   "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[%s]}}",
                   diff_ids);
    f->config_size = strlen (config);
    put (f, config, f->config_size, f->config_digest);
    cleanup_free char *manifest = xasprintf (
        "{\"schemaVersion\":2,\"mediaType\":\"" WR_MEDIA_OCI_MANIFEST "\","
        "\"config\":{\"mediaType\":\"" WR_MEDIA_OCI_CONFIG "\",\"digest\":\"%s\",\"size\":%zu},"
        "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
        "\"digest\":\"%s\",\"size\":%zu}]}",
        f->config_digest, f->config_size, f->layer_digest, f->layer_size);
    put (f, manifest, strlen (manifest), f->manifest_digest);
    if (wr_manifest_parse (manifest, strlen (manifest), NULL, "test", &f->manifest, &err) < 0)
        fail_msg ("manifest: %s", err->message);
    return f;
}

static void
free_fixture (fixture_t *f)
{
    wr_manifest_clear (&f->manifest);
    wr_store_close (f->store);
    cleanup_free char *cmd = xasprintf ("rm -rf '%s'", f->dir);
    assert_int_equal (system (cmd), 0);
    free (f);
}

static const wr_image_ref_t test_ref = {
    .registry = (char *) "127.0.0.1:5000",
    .repository = (char *) "test/img",
    .tag = (char *) "v1",
};
#define TEST_NAME "127.0.0.1:5000/test/img:v1"

static int
pull_manifest (fixture_t *f, wr_image_record_t *record, wr_pull_result_t *result, wr_error_t *err)
{
    /* No registry: using it would crash the test. */
    return wr_image_pull_manifest (f->store, NULL, &test_ref, TEST_NAME, &f->manifest,
                                   f->manifest_digest, NULL, NULL, record, result, err);
}

static void
test_pull_unpacks_once_then_is_up_to_date (void **state)
{
    fixture_t *f = make_fixture (1);
    wr_image_record_t record = { 0 };
    wr_pull_result_t result;
    wr_error_t err = NULL;
    if (pull_manifest (f, &record, &result, &err) < 0)
        fail_msg ("first pull: %s", err->message);
    assert_true (result.unpacked);
    assert_false (result.up_to_date);
    assert_int_equal (result.layers_fetched, 0);
    assert_int_equal (result.layers_total, 1);
    assert_string_equal (record.name, TEST_NAME);
    assert_string_equal (record.manifest_digest, f->manifest_digest);
    assert_string_equal (record.config_digest, f->config_digest);
    /* One layer: the chain id is its diff id (an uncompressed layer's
     * digest). */
    assert_string_equal (record.root_id, wr_digest_hex (f->layer_digest));
    assert_int_equal (record.size, (int64_t) (f->layer_size + f->config_size));

    cleanup_free char *root = wr_store_root_path (f->store, record.root_id, NULL);
    cleanup_free char *hello = xasprintf ("%s/hello", root);
    struct stat before, after;
    assert_int_equal (stat (hello, &before), 0);
    assert_int_equal (before.st_size, 3);

    /* The store knows the image. */
    wr_image_record_t stored = { 0 };
    assert_int_equal (wr_store_image_get (f->store, TEST_NAME, &stored, NULL), 1);
    assert_string_equal (stored.root_id, record.root_id);
    wr_image_record_clear (&stored);
    wr_image_record_clear (&record);

    /* Again: nothing to do, the root is the same one. */
    if (pull_manifest (f, &record, &result, &err) < 0)
        fail_msg ("second pull: %s", err->message);
    assert_true (result.up_to_date);
    assert_false (result.unpacked);
    assert_int_equal (result.layers_fetched, 0);
    assert_int_equal (stat (hello, &after), 0);
    assert_int_equal (after.st_ino, before.st_ino);
    wr_image_record_clear (&record);
    free_fixture (f);
}

/* Every line of a pull goes to the log in its options, with the caller's
 * fields (warrend's request id, say), and none to the standard log. */
typedef struct {
    int lines, with_request;
    bool saw_unpacking;
} pull_sink_t;

static void
pull_sink_write (void *data, wr_log_level_t level, const char *msg, const char *const *fields)
{
    pull_sink_t *sink = data;
    sink->lines++;
    if (fields[0] != NULL && strcmp (fields[0], "request") == 0 && strcmp (fields[1], "r7") == 0)
        sink->with_request++;
    if (strcmp (msg, "unpacking") == 0)
        sink->saw_unpacking = true;
}

static void
test_pull_logs_to_the_callers_log (void **state)
{
    fixture_t *f = make_fixture (1);
    pull_sink_t sink = { 0 };
    wr_log_t log = { .write = pull_sink_write,
                     .data = &sink,
                     .fields = (const char *[]){ "request", "r7", NULL } };
    wr_pull_options_t opts = { .log = &log };
    wr_image_record_t record = { 0 };
    wr_error_t err = NULL;
    if (wr_image_pull_manifest (f->store, NULL, &test_ref, TEST_NAME, &f->manifest,
                                f->manifest_digest, NULL, &opts, &record, NULL, &err) < 0)
        fail_msg ("pull: %s", err->message);
    assert_true (sink.lines >= 2);
    assert_int_equal (sink.with_request, sink.lines);
    assert_true (sink.saw_unpacking);
    wr_image_record_clear (&record);
    free_fixture (f);
}

static void
test_pull_refuses_diff_ids_that_do_not_match_layers (void **state)
{
    fixture_t *f = make_fixture (2);
    wr_error_t err = NULL;
    assert_int_equal (pull_manifest (f, NULL, NULL, &err), -1);
    assert_string_equal (err->message, TEST_NAME ": the config lists 2 diff ids but the "
                                                 "manifest has 1 layers");
    wr_error_free (&err);
    /* Nothing recorded. */
    wr_image_record_t stored = { 0 };
    assert_int_equal (wr_store_image_get (f->store, TEST_NAME, &stored, NULL), 0);
    free_fixture (f);
}

static void
test_pull_refuses_a_config_over_the_limit (void **state)
{
    fixture_t *f = make_fixture (1);
    f->manifest.config.size = WR_CONFIG_MAX_SIZE + 1;
    wr_error_t err = NULL;
    assert_int_equal (pull_manifest (f, NULL, NULL, &err), -1);
    assert_non_null (strstr (err->message, "is more than the limit"));
    assert_non_null (strstr (err->message, f->config_digest));
    wr_error_free (&err);
    free_fixture (f);
}

/* ---- a whole pull from a registry on loopback ---- */

/* Fixed documents and blobs, served by the in-process registry of
 * fake_registry.h; anything else is 404. */
typedef struct {
    const char *path;
    const char *content_type;
    const char *body;
    size_t len;
} served_t;

typedef struct {
    served_t served[64];
    size_t n_served;
} served_table_t;

static void
serve_add (served_table_t *table, const char *path, const char *content_type, const char *body,
           size_t len)
{
    assert_true (table->n_served < sizeof table->served / sizeof table->served[0]);
    table->served[table->n_served++] = (served_t){ path, content_type, body, len };
}

static void
serve_from (const served_table_t *table, const fake_request_t *req, fake_answer_t *ans)
{
    for (size_t i = 0; i < table->n_served; i++) {
        const served_t *s = &table->served[i];
        if (strcmp (s->path, req->path) != 0)
            continue;
        char digest[WR_DIGEST_MAX_LEN + 1];
        wr_sha256_digest (s->body, s->len, digest);
        ans->status = 200;
        ans->body = s->body;
        ans->body_len = s->len;
        add_header (ans, "Content-Type: %s", s->content_type);
        add_header (ans, "Docker-Content-Digest: %s", digest);
        return;
    }
}

static void
serve_table (fake_server_t *srv, const fake_request_t *req, fake_answer_t *ans)
{
    serve_from (srv->data, req, ans);
}

static void
test_pull_through_an_index_then_warm (void **state)
{
    /* Blobs and documents as in make_fixture, served rather than stored. */
    size_t layer_len = 0;
    cleanup_free char *layer = make_layer (&layer_len);
    char layer_digest[WR_DIGEST_MAX_LEN + 1], config_digest[WR_DIGEST_MAX_LEN + 1];
    char manifest_digest[WR_DIGEST_MAX_LEN + 1], index_digest[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest (layer, layer_len, layer_digest);
    cleanup_free char *config =
        xasprintf ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"A=1\"]},"
                   "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
                   layer_digest);
    wr_sha256_digest (config, strlen (config), config_digest);
    cleanup_free char *manifest = xasprintf (
        "{\"schemaVersion\":2,\"mediaType\":\"" WR_MEDIA_OCI_MANIFEST "\","
        "\"config\":{\"mediaType\":\"" WR_MEDIA_OCI_CONFIG "\",\"digest\":\"%s\",\"size\":%zu},"
        "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
        "\"digest\":\"%s\",\"size\":%zu}]}",
        config_digest, strlen (config), layer_digest, layer_len);
    wr_sha256_digest (manifest, strlen (manifest), manifest_digest);
    /* The host's platform, and another whose manifest the registry lacks. */
    const char *os, *arch, *variant;
    wr_platform_host (&os, &arch, &variant);
    const char *other = strcmp (arch, "s390x") == 0 ? "ppc64le" : "s390x";
    cleanup_free char *index = xasprintf (
        "{\"schemaVersion\":2,\"mediaType\":\"" WR_MEDIA_OCI_INDEX "\",\"manifests\":["
        "{\"mediaType\":\"" WR_MEDIA_OCI_MANIFEST "\",\"digest\":\"sha256:%064d\",\"size\":10,"
        "\"platform\":{\"os\":\"linux\",\"architecture\":\"%s\"}},"
        "{\"mediaType\":\"" WR_MEDIA_OCI_MANIFEST "\",\"digest\":\"%s\",\"size\":%zu,"
        "\"platform\":{\"os\":\"%s\",\"architecture\":\"%s\"%s%s%s}}]}",
        0, other, manifest_digest, strlen (manifest), os, arch, variant ? ",\"variant\":\"" : "",
        variant ? variant : "", variant ? "\"" : "");
    wr_sha256_digest (index, strlen (index), index_digest);

    served_table_t table = { 0 };
    serve_add (&table, "/v2/", "application/json", "{}", 2);
    cleanup_free char *p_tag = xstrdup ("/v2/test/img/manifests/v1");
    cleanup_free char *p_manifest = xasprintf ("/v2/test/img/manifests/%s", manifest_digest);
    cleanup_free char *p_config = xasprintf ("/v2/test/img/blobs/%s", config_digest);
    cleanup_free char *p_layer = xasprintf ("/v2/test/img/blobs/%s", layer_digest);
    serve_add (&table, p_tag, WR_MEDIA_OCI_INDEX, index, strlen (index));
    serve_add (&table, p_manifest, WR_MEDIA_OCI_MANIFEST, manifest, strlen (manifest));
    serve_add (&table, p_config, "application/octet-stream", config, strlen (config));
    serve_add (&table, p_layer, "application/octet-stream", layer, layer_len);
    fake_server_t *srv = fake_start (serve_table, &table);

    char dir[] = "/tmp/warren-test-pull-XXXXXX";
    assert_non_null (mkdtemp (dir));
    wr_error_t err = NULL;
    wr_store_t *store = wr_store_open (dir, &err);
    assert_non_null (store);
    wr_registry_options_t ropts = { .auth_config = "/nonexistent/warren-test/config.json" };
    wr_registry_t *registry = wr_registry_new (&ropts, &err);
    if (registry == NULL)
        fail_msg ("registry: %s", err->message);
    cleanup_free char *reference = xasprintf ("127.0.0.1:%d/test/img:v1", srv->port);

    wr_image_record_t record = { 0 };
    wr_pull_result_t result;
    if (wr_image_pull_ex (store, registry, reference, NULL, &record, &result, &err) < 0)
        fail_msg ("first pull: %s", err->message);
    assert_string_equal (record.name, reference);
    /* The platform's manifest, not the index, is the image's. */
    assert_string_equal (record.manifest_digest, manifest_digest);
    assert_string_equal (record.config_digest, config_digest);
    assert_true (wr_store_has_blob (store, index_digest));
    assert_true (wr_store_has_blob (store, manifest_digest));
    assert_true (wr_store_has_blob (store, layer_digest));
    assert_true (result.unpacked);
    assert_int_equal (result.layers_fetched, 1);
    assert_int_equal (result.bytes_fetched, layer_len);
    assert_int_equal (fake_count (srv, "/blobs/"), 2); /* config and layer */
    cleanup_free char *root = wr_store_root_path (store, record.root_id, NULL);
    cleanup_free char *hello = xasprintf ("%s/hello", root);
    struct stat st;
    assert_int_equal (stat (hello, &st), 0);
    wr_image_record_clear (&record);

    /* Warm: the index and manifest are asked for again, no blob is. */
    size_t manifests_before = fake_count (srv, "/manifests/");
    if (wr_image_pull_ex (store, registry, reference, NULL, &record, &result, &err) < 0)
        fail_msg ("second pull: %s", err->message);
    assert_true (result.up_to_date);
    assert_false (result.unpacked);
    assert_int_equal (result.layers_fetched, 0);
    assert_int_equal (fake_count (srv, "/blobs/"), 2);
    assert_int_equal (fake_count (srv, "/manifests/"), manifests_before + 2);
    wr_image_record_clear (&record);

    /* A platform the index has, whose manifest the registry lacks: the
     * error names the image and the digest. */
    cleanup_free char *platform = xasprintf ("linux/%s", other);
    wr_pull_options_t opts = { .platform = platform };
    assert_int_equal (wr_image_pull (store, registry, reference, &opts, NULL, &err), -1);
    assert_non_null (strstr (err->message, reference));
    assert_non_null (strstr (err->message, "sha256:0000000000"));
    wr_error_free (&err);
    /* And one it does not have. */
    opts.platform = "plan9/mips";
    assert_int_equal (wr_image_pull (store, registry, reference, &opts, NULL, &err), -1);
    assert_non_null (strstr (err->message, reference));
    wr_error_free (&err);

    wr_registry_free (registry);
    wr_store_close (store);
    fake_stop (srv);
    cleanup_free char *cmd = xasprintf ("rm -rf '%s'", dir);
    assert_int_equal (system (cmd), 0);
}

/* ---- many pulls at once, deadlines and cancellation ---- */

/* A one-file layer whose file holds CONTENT. */
static char *
make_named_layer (const char *content, size_t *len)
{
    size_t cap = 64 * 1024;
    char *buf = xzalloc (cap);
    struct archive *a = archive_write_new ();
    archive_write_set_format_pax_restricted (a);
    assert_int_equal (archive_write_open_memory (a, buf, cap, len), ARCHIVE_OK);
    struct archive_entry *e = archive_entry_new ();
    archive_entry_set_pathname (e, content);
    archive_entry_set_filetype (e, AE_IFREG);
    archive_entry_set_perm (e, 0644);
    archive_entry_set_size (e, (la_int64_t) strlen (content));
    assert_int_equal (archive_write_header (a, e), ARCHIVE_OK);
    assert_int_equal (archive_write_data (a, content, strlen (content)),
                      (la_ssize_t) strlen (content));
    archive_entry_free (e);
    assert_int_equal (archive_write_close (a), ARCHIVE_OK);
    archive_write_free (a);
    return buf;
}

/* An image of REPOSITORY:v1 with N_LAYERS layers, each with one file
 * named "<repository's last part>-<i>", served from TABLE. */
typedef struct {
    char *layers[2];
    size_t layer_len[2];
    char layer_digest[2][WR_DIGEST_MAX_LEN + 1];
    char *config, *manifest;
    char *paths[4];
    char *file[2];
} test_image_t;

static void
image_make (test_image_t *img, served_table_t *table, const char *repository, size_t n_layers)
{
    memset (img, 0, sizeof *img);
    const char *base = strrchr (repository, '/') ? strrchr (repository, '/') + 1 : repository;
    cleanup_free char *diff_ids = xstrdup ("");
    cleanup_free char *descs = xstrdup ("");
    for (size_t i = 0; i < n_layers; i++) {
        img->file[i] = xasprintf ("%s-%zu", base, i);
        img->layers[i] = make_named_layer (img->file[i], &img->layer_len[i]);
        wr_sha256_digest (img->layers[i], img->layer_len[i], img->layer_digest[i]);
        char *d = xasprintf ("%s%s\"%s\"", diff_ids, i ? "," : "", img->layer_digest[i]);
        free (diff_ids);
        diff_ids = d;
        d = xasprintf ("%s%s{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
                       "\"digest\":\"%s\",\"size\":%zu}",
                       descs, i ? "," : "", img->layer_digest[i], img->layer_len[i]);
        free (descs);
        descs = d;
    }
    img->config = xasprintf ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},"
                             "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[%s]}}",
                             diff_ids);
    char config_digest[WR_DIGEST_MAX_LEN + 1];
    wr_sha256_digest (img->config, strlen (img->config), config_digest);
    img->manifest = xasprintf ("{\"schemaVersion\":2,\"mediaType\":\"" WR_MEDIA_OCI_MANIFEST "\","
                               "\"config\":{\"mediaType\":\"" WR_MEDIA_OCI_CONFIG
                               "\",\"digest\":\"%s\",\"size\":%zu},"
                               "\"layers\":[%s]}",
                               config_digest, strlen (img->config), descs);
    img->paths[0] = xasprintf ("/v2/%s/manifests/v1", repository);
    img->paths[1] = xasprintf ("/v2/%s/blobs/%s", repository, config_digest);
    serve_add (table, img->paths[0], WR_MEDIA_OCI_MANIFEST, img->manifest, strlen (img->manifest));
    serve_add (table, img->paths[1], "application/octet-stream", img->config, strlen (img->config));
    for (size_t i = 0; i < n_layers; i++) {
        img->paths[2 + i] = xasprintf ("/v2/%s/blobs/%s", repository, img->layer_digest[i]);
        serve_add (table, img->paths[2 + i], "application/octet-stream", img->layers[i],
                   img->layer_len[i]);
    }
}

static void
image_clear (test_image_t *img)
{
    for (size_t i = 0; i < 2; i++) {
        free (img->layers[i]);
        free (img->file[i]);
    }
    for (size_t i = 0; i < 4; i++)
        free (img->paths[i]);
    free (img->config);
    free (img->manifest);
}

/* Entries of DIR (not . and ..) with NEEDLE in their name; all when NULL. */
static size_t
count_entries (const char *dir, const char *needle)
{
    DIR *d = opendir (dir);
    assert_non_null (d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir (d)) != NULL)
        if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0 &&
            (needle == NULL || strstr (e->d_name, needle) != NULL))
            n++;
    closedir (d);
    return n;
}

/* What a stopped pull may leave in STORE_DIR: no root and no temporary
 * directory in roots/ beyond EXPECTED_ROOTS, and in ingest/ nothing but
 * the partial of the blob that was downloading (kept for a resume). */
static void
assert_nothing_half_made (const char *store_dir, size_t expected_roots, const char *partial_hex)
{
    cleanup_free char *roots = xasprintf ("%s/roots", store_dir);
    cleanup_free char *ingest = xasprintf ("%s/ingest", store_dir);
    assert_int_equal (count_entries (roots, ".tmp-"), 0);
    assert_int_equal (count_entries (roots, NULL), expected_roots);
    size_t partials = count_entries (ingest, partial_hex);
    assert_true (partials <= 1);
    assert_int_equal (count_entries (ingest, NULL), partials);
}

typedef struct {
    wr_store_t *store;
    wr_registry_t *registry;
    char *reference;
    wr_pull_options_t opts;
    int rc;
    wr_error_t err;
    wr_image_record_t record;
    int64_t took_ms;
} pull_job_t;

static void *
pull_thread (void *data)
{
    pull_job_t *job = data;
    int64_t started = wr_monotonic_ms ();
    job->rc = wr_image_pull (job->store, job->registry, job->reference, &job->opts, &job->record,
                             &job->err);
    job->took_ms = wr_monotonic_ms () - started;
    return NULL;
}

#define N_PULLS 10
#define DEADLINE_MS 3000

static void
test_ten_pulls_at_once_one_trickling (void **state)
{
    served_table_t table = { 0 };
    serve_add (&table, "/v2/", "application/json", "{}", 2);
    test_image_t images[N_PULLS];
    char repos[N_PULLS][32];
    for (size_t i = 0; i < N_PULLS; i++) {
        /* The last one's blobs come one byte a second after the first KiB:
         * its config arrives, its layer trickles. */
        snprintf (repos[i], sizeof repos[i], i == N_PULLS - 1 ? "test/slow" : "test/img%zu", i);
        image_make (&images[i], &table, repos[i], 1);
    }
    fake_server_t *srv = fake_start_threaded (serve_table, &table);
    fake_trickle (srv, "test/slow", 1024);

    char dir[] = "/tmp/warren-test-pull-XXXXXX";
    assert_non_null (mkdtemp (dir));
    wr_error_t err = NULL;
    wr_store_t *store = wr_store_open (dir, &err);
    assert_non_null (store);
    wr_registry_options_t ropts = { .auth_config = "/nonexistent/warren-test/config.json" };
    wr_registry_t *registry = wr_registry_new (&ropts, &err);
    assert_non_null (registry);

    pull_job_t jobs[N_PULLS];
    pthread_t threads[N_PULLS];
    int64_t started = wr_monotonic_ms ();
    for (size_t i = 0; i < N_PULLS; i++) {
        jobs[i] = (pull_job_t){
            .store = store,
            .registry = registry,
            .reference = xasprintf ("127.0.0.1:%d/%s:v1", srv->port, repos[i]),
            .opts = { .deadline_ms = DEADLINE_MS },
        };
        assert_int_equal (pthread_create (&threads[i], NULL, pull_thread, &jobs[i]), 0);
    }
    for (size_t i = 0; i < N_PULLS; i++)
        pthread_join (threads[i], NULL);
    int64_t took = wr_monotonic_ms () - started;

    for (size_t i = 0; i < N_PULLS - 1; i++) {
        if (jobs[i].rc < 0)
            fail_msg ("pull %zu: %s", i, jobs[i].err->message);
        /* Not held up by the slow one: done before its deadline. */
        assert_true (jobs[i].took_ms < DEADLINE_MS);
        cleanup_free char *root = wr_store_root_path (store, jobs[i].record.root_id, NULL);
        cleanup_free char *file = xasprintf ("%s/%s", root, images[i].file[0]);
        char buf[64] = { 0 };
        FILE *fp = fopen (file, "r");
        assert_non_null (fp);
        assert_non_null (fgets (buf, sizeof buf, fp));
        fclose (fp);
        assert_string_equal (buf, images[i].file[0]);
        wr_image_record_clear (&jobs[i].record);
    }
    /* The slow one failed at its deadline (its layer would take about
     * ten thousand seconds), saying so and naming the image and the blob. */
    pull_job_t *slow = &jobs[N_PULLS - 1];
    assert_int_equal (slow->rc, -1);
    assert_non_null (slow->err);
    assert_int_equal (wr_error_kind (slow->err), WR_ERROR_UNAVAILABLE);
    assert_int_equal (slow->err->errno_value, ETIMEDOUT);
    assert_non_null (strstr (slow->err->message, "the pull deadline of 3 s passed"));
    assert_non_null (strstr (slow->err->message, "test/slow"));
    assert_non_null (strstr (slow->err->message, images[N_PULLS - 1].layer_digest[0]));
    assert_true (slow->took_ms >= DEADLINE_MS - 100);
    assert_true (slow->took_ms < DEADLINE_MS + 2500);
    assert_true (took < DEADLINE_MS + 3000);
    assert_false (wr_store_has_blob (store, images[N_PULLS - 1].layer_digest[0]));
    assert_nothing_half_made (dir, N_PULLS - 1,
                              wr_digest_hex (images[N_PULLS - 1].layer_digest[0]));
    wr_error_free (&slow->err);

    /* The server first: it waits for its connections (the slow one's is
     * still sending), and they read the images' bytes. */
    fake_stop (srv);
    for (size_t i = 0; i < N_PULLS; i++) {
        free (jobs[i].reference);
        image_clear (&images[i]);
    }
    wr_registry_free (registry);
    wr_store_close (store);
    cleanup_free char *cmd = xasprintf ("rm -rf '%s'", dir);
    assert_int_equal (system (cmd), 0);
}

/* A handler that holds the answer of one path (one byte a second after
 * the first 512), and serves the table otherwise. */
typedef struct {
    served_table_t table;
    const char *held_path;
} holding_t;

static void
serve_holding (fake_server_t *srv, const fake_request_t *req, fake_answer_t *ans)
{
    holding_t *h = srv->data;
    serve_from (&h->table, req, ans);
    if (h->held_path != NULL && strcmp (req->path, h->held_path) == 0) {
        ans->trickle = true;
        ans->trickle_after = 512;
    }
}

static bool
tmp_root_exists (const char *store_dir)
{
    cleanup_free char *roots = xasprintf ("%s/roots", store_dir);
    return count_entries (roots, ".tmp-") > 0;
}

/* Pulls an image of N_LAYERS layers whose layer HELD (0 the lowest) is
 * held, and cancels the pull from this thread once it is downloading (and,
 * with WAIT_FOR_UNPACK, once its unpack has made its temporary root). */
static void
cancel_a_pull (size_t n_layers, size_t held, bool wait_for_unpack)
{
    holding_t h = { 0 };
    serve_add (&h.table, "/v2/", "application/json", "{}", 2);
    test_image_t img;
    image_make (&img, &h.table, "test/held", n_layers);
    h.held_path = img.paths[2 + held];
    fake_server_t *srv = fake_start_threaded (serve_holding, &h);

    char dir[] = "/tmp/warren-test-pull-XXXXXX";
    assert_non_null (mkdtemp (dir));
    wr_error_t err = NULL;
    wr_store_t *store = wr_store_open (dir, &err);
    assert_non_null (store);
    wr_registry_options_t ropts = { .auth_config = "/nonexistent/warren-test/config.json" };
    wr_registry_t *registry = wr_registry_new (&ropts, &err);
    assert_non_null (registry);
    wr_cancel_t *cancel = wr_cancel_new (NULL, 0, NULL, &err);
    assert_non_null (cancel);

    pull_job_t job = {
        .store = store,
        .registry = registry,
        .reference = xasprintf ("127.0.0.1:%d/test/held:v1", srv->port),
        .opts = { .cancel = cancel },
    };
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, pull_thread, &job), 0);
    /* Until the held blob is asked for (and the unpack is under way). */
    for (int i = 0; i < 500; i++) {
        if (fake_count (srv, h.held_path) > 0 && (!wait_for_unpack || tmp_root_exists (dir)))
            break;
        struct timespec ts = { 0, 10 * 1000000L };
        nanosleep (&ts, NULL);
    }
    assert_true (fake_count (srv, h.held_path) > 0);
    if (wait_for_unpack)
        assert_true (tmp_root_exists (dir));
    struct timespec settle = { 0, 200 * 1000000L };
    nanosleep (&settle, NULL);
    int64_t cancelled_at = wr_monotonic_ms ();
    wr_cancel_request (cancel);
    pthread_join (thread, NULL);
    int64_t stopped_after = wr_monotonic_ms () - cancelled_at;

    assert_int_equal (job.rc, -1);
    assert_non_null (job.err);
    assert_int_equal (wr_error_kind (job.err), WR_ERROR_CANCELLED);
    assert_non_null (strstr (job.err->message, "cancelled"));
    assert_non_null (strstr (job.err->message, "test/held"));
    /* Within about a second. */
    assert_true (stopped_after < 1500);
    wr_error_free (&job.err);
    assert_false (wr_store_has_blob (store, img.layer_digest[held]));
    assert_nothing_half_made (dir, 0, wr_digest_hex (img.layer_digest[held]));

    free (job.reference);
    wr_cancel_free (cancel);
    wr_registry_free (registry);
    wr_store_close (store);
    fake_stop (srv);
    image_clear (&img);
    cleanup_free char *cmd = xasprintf ("rm -rf '%s'", dir);
    assert_int_equal (system (cmd), 0);
}

static void
test_pull_cancelled_while_a_blob_downloads (void **state)
{
    /* The only layer, streamed into the unpack as it arrives. */
    cancel_a_pull (1, 0, false);
}

static void
test_pull_cancelled_while_unpacking (void **state)
{
    /* The lower layer is unpacked into the temporary root; the unpack
     * waits for the upper one, which is held. */
    cancel_a_pull (2, 1, true);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_chain_id),
        cmocka_unit_test (test_chain_id_refuses_bad_input),
        cmocka_unit_test (test_platform_parse),
        cmocka_unit_test (test_pull_logs_to_the_callers_log),
        cmocka_unit_test (test_pull_unpacks_once_then_is_up_to_date),
        cmocka_unit_test (test_pull_refuses_diff_ids_that_do_not_match_layers),
        cmocka_unit_test (test_pull_refuses_a_config_over_the_limit),
        cmocka_unit_test (test_pull_through_an_index_then_warm),
        cmocka_unit_test (test_ten_pulls_at_once_one_trickling),
        cmocka_unit_test (test_pull_cancelled_while_a_blob_downloads),
        cmocka_unit_test (test_pull_cancelled_while_unpacking),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
