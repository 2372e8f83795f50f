/* The catalog: finding an image by each form a user may write, errors and
 * their kinds, listing, removal, and the inspect and list-entry JSON
 * objects against known values.  A real store in a temporary directory,
 * with images whose manifest, config and layer blobs are written into it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "catalog.h"
#include "cleanup.h"
#include "digest.h"
#include "manifest.h"
#include "store.h"
#include "strv.h"
#include "xalloc.h"

#define CREATED 1700000000 /* 2023-11-14T22:13:20Z */
#define ROOT_ID "0b3e0b3e0b3e0b3e0b3e0b3e0b3e0b3e0b3e0b3e0b3e0b3e0b3e0b3e0b3e0b3e"
#define DIFF_ID "sha256:9999999999999999999999999999999999999999999999999999999999999999"
#define BUSYBOX "docker.io/library/busybox:latest"
#define AMBIGUOUS_A "sha256:abcd111111111111111111111111111111111111111111111111111111111111"
#define AMBIGUOUS_B "sha256:abcd222222222222222222222222222222222222222222222222222222222222"
#define CONFIG_OTHER "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static const char config_json[] =
    "{\"architecture\":\"arm64\",\"variant\":\"v8\",\"os\":\"linux\","
    "\"config\":{\"User\":\"101:101\",\"Env\":[\"PATH=/usr/bin:/bin\",\"A=1\"],"
    "\"Entrypoint\":[\"/entry.sh\"],\"Cmd\":[\"serve\",\"--port\",\"80\"],"
    "\"WorkingDir\":\"/srv\",\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{}},"
    "\"Labels\":{\"maintainer\":\"someone\",\"org.opencontainers.image.version\":\"1.2\"}},"
    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DIFF_ID "\"]}}";
static const char layer_data[] = "the bytes of a layer";

typedef struct {
    char *dir;
    char *root; /* DIR/store */
    wr_store_t *store;
    char config_digest[WR_DIGEST_MAX_LEN + 1];
    char layer_digest[WR_DIGEST_MAX_LEN + 1];
    char manifest_digest[WR_DIGEST_MAX_LEN + 1]; /* the image's id */
    int64_t size; /* config + layer */
} fixture_t;

static void
put_blob (fixture_t *f, const char *data, char *digest)
{
    wr_error_t err = NULL;
    if (wr_store_put_blob (f->store, data, strlen (data), NULL, digest, &err) < 0)
        fail_msg ("%s", err->message);
}

static void
put_record (fixture_t *f, const char *name, const char *manifest_digest, const char *config_digest)
{
    wr_image_record_t record = {
        .name = (char *) name,
        .manifest_digest = (char *) manifest_digest,
        .config_digest = (char *) config_digest,
        .root_id = (char *) ROOT_ID,
        .size = f->size,
        .created = CREATED,
    };
    wr_error_t err = NULL;
    if (wr_store_image_put (f->store, &record, NULL, &err) < 0)
        fail_msg ("%s", err->message);
}

static int
setup (void **state)
{
    fixture_t *f = xzalloc (sizeof *f);
    char tmpl[] = "/tmp/warren-test-catalog-XXXXXX";
    assert_non_null (mkdtemp (tmpl));
    f->dir = xstrdup (tmpl);
    f->root = xasprintf ("%s/store", f->dir);
    wr_error_t err = NULL;
    f->store = wr_store_open (f->root, &err);
    assert_null (err);

    put_blob (f, config_json, f->config_digest);
    put_blob (f, layer_data, f->layer_digest);
    cleanup_free char *manifest = xasprintf (
        "{\"schemaVersion\":2,\"mediaType\":\"" WR_MEDIA_OCI_MANIFEST "\","
        "\"config\":{\"mediaType\":\"" WR_MEDIA_OCI_CONFIG "\",\"digest\":\"%s\",\"size\":%zu},"
        "\"layers\":[{\"mediaType\":\"" WR_MEDIA_OCI_LAYER_TAR_GZIP "\",\"digest\":\"%s\","
        "\"size\":%zu}]}",
        f->config_digest, strlen (config_json), f->layer_digest, strlen (layer_data));
    put_blob (f, manifest, f->manifest_digest);
    f->size = (int64_t) (strlen (config_json) + strlen (layer_data));
    put_record (f, BUSYBOX, f->manifest_digest, f->config_digest);
    *state = f;
    return 0;
}

static int
teardown (void **state)
{
    fixture_t *f = *state;
    wr_store_close (f->store);
    cleanup_free char *cmd = xasprintf ("rm -rf '%s'", f->dir);
    assert_int_equal (system (cmd), 0);
    free (f->root);
    free (f->dir);
    free (f);
    return 0;
}

/* NAME finds the record named EXPECTED. */
static void
expect_found (fixture_t *f, const char *name, const char *expected)
{
    wr_image_record_t record = { 0 };
    wr_error_t err = NULL;
    if (wr_catalog_find (f->store, name, &record, &err) < 0)
        fail_msg ("`%s`: %s", name, err->message);
    assert_string_equal (record.name, expected);
    wr_image_record_clear (&record);
}

/* NAME fails with KIND and MESSAGE, and leaves the record cleared. */
static void
expect_error (fixture_t *f, const char *name, wr_error_kind_t kind, const char *message)
{
    wr_image_record_t record = { 0 };
    wr_error_t err = NULL;
    if (wr_catalog_find (f->store, name, &record, &err) == 0)
        fail_msg ("`%s` found %s", name, record.name);
    assert_null (record.name);
    assert_string_equal (wr_error_kind_name (wr_error_kind (err)), wr_error_kind_name (kind));
    assert_string_equal (err->message, message);
    wr_error_free (&err);
}

static void
test_find_by_each_form (void **state)
{
    fixture_t *f = *state;
    const char *hex = wr_digest_hex (f->manifest_digest);
    /* A reference: as stored, in Docker's short forms. */
    expect_found (f, BUSYBOX, BUSYBOX);
    expect_found (f, "busybox", BUSYBOX);
    expect_found (f, "busybox:latest", BUSYBOX);
    expect_found (f, "library/busybox", BUSYBOX);
    expect_found (f, "docker.io/busybox", BUSYBOX);
    /* The id, whole or a prefix, with or without "sha256:". */
    expect_found (f, f->manifest_digest, BUSYBOX);
    expect_found (f, hex, BUSYBOX);
    cleanup_free char *prefix12 = xasprintf ("%.12s", hex);
    expect_found (f, prefix12, BUSYBOX);
    cleanup_free char *prefix4 = xasprintf ("sha256:%.4s", hex);
    expect_found (f, prefix4, BUSYBOX);
    /* A digest reference of the repository, whatever its tag. */
    cleanup_free char *by_digest = xasprintf ("busybox@%s", f->manifest_digest);
    expect_found (f, by_digest, BUSYBOX);
    cleanup_free char *tag_and_digest = xasprintf ("busybox:1.36@%s", f->manifest_digest);
    expect_found (f, tag_and_digest, BUSYBOX);
    /* A name the store keeps that is no reference is found as typed. */
    put_record (f, "Not A Reference", f->manifest_digest, f->config_digest);
    expect_found (f, "Not A Reference", "Not A Reference");
    /* With two names, the id finds the first by name. */
    expect_found (f, hex, "Not A Reference");
    /* A stored name wins over an id prefix it looks like. */
    cleanup_free char *hex_name = xasprintf ("docker.io/library/%.8s:latest", hex);
    put_record (f, hex_name, AMBIGUOUS_A, f->config_digest);
    cleanup_free char *prefix8 = xasprintf ("%.8s", hex);
    expect_found (f, prefix8, hex_name);
}

static void
test_not_found (void **state)
{
    fixture_t *f = *state;
    cleanup_free char *message = xasprintf ("no image `nosuch` in %s", f->root);
    expect_error (f, "nosuch", WR_ERROR_NOT_FOUND, message);
    free (message);
    message = xasprintf ("no image `busybox:1.36` in %s", f->root);
    expect_error (f, "busybox:1.36", WR_ERROR_NOT_FOUND, message);
    /* An id no image has. */
    free (message);
    message = xasprintf ("no image `sha256:ffff` in %s", f->root);
    expect_error (f, "sha256:ffff", WR_ERROR_NOT_FOUND, message);
    /* Three hex digits are too few for a prefix: only a name. */
    free (message);
    cleanup_free char *prefix3 = xasprintf ("%.3s", wr_digest_hex (f->manifest_digest));
    message = xasprintf ("no image `%s` in %s", prefix3, f->root);
    expect_error (f, prefix3, WR_ERROR_NOT_FOUND, message);
    /* The image's digest in another repository. */
    free (message);
    cleanup_free char *other = xasprintf ("alpine@%s", f->manifest_digest);
    message = xasprintf ("no image `%s` in %s", other, f->root);
    expect_error (f, other, WR_ERROR_NOT_FOUND, message);
}

static void
test_malformed_reference (void **state)
{
    fixture_t *f = *state;
    /* Neither a name in the store, nor a reference, nor an id: invalid,
     * and why it does not parse. */
    cleanup_free char *message =
        xasprintf ("no image `Busybox` in %s: image reference `Busybox`: repository name "
                   "`Busybox` must be lowercase",
                   f->root);
    expect_error (f, "Busybox", WR_ERROR_INVALID, message);
    free (message);
    message = xasprintf ("no image `` in %s: empty image reference", f->root);
    expect_error (f, "", WR_ERROR_INVALID, message);
    /* Untrusted text is quoted: no escape sequence reaches a terminal. */
    free (message);
    message = xasprintf ("no image `x\\x1b[31m` in %s: image reference `x\\x1b[31m`: repository "
                         "name `x\\x1b[31m`: component `x\\x1b[31m`: `\\x1b` is not allowed in a "
                         "repository name (only lowercase letters, digits and the separators "
                         "`.`, `_`, `__` and `-`)",
                         f->root);
    expect_error (f, "x\x1b[31m", WR_ERROR_INVALID, message);
    wr_image_record_t record = { 0 };
    wr_error_t err = NULL;
    assert_int_equal (wr_catalog_find (f->store, NULL, &record, &err), -1);
    assert_int_equal (wr_error_kind (err), WR_ERROR_INVALID);
    assert_string_equal (err->message, "no image name given");
    wr_error_free (&err);
}

static void
test_ambiguous_prefix (void **state)
{
    fixture_t *f = *state;
    put_record (f, "docker.io/library/a:latest", AMBIGUOUS_A, CONFIG_OTHER);
    put_record (f, "docker.io/library/b:latest", AMBIGUOUS_B, CONFIG_OTHER);
    put_record (f, "docker.io/library/b:2", AMBIGUOUS_B, CONFIG_OTHER);
    cleanup_free char *message =
        xasprintf ("image id prefix `abcd` is ambiguous in %s: 2 images begin with it (" AMBIGUOUS_A
                   ", " AMBIGUOUS_B "); give more digits",
                   f->root);
    expect_error (f, "abcd", WR_ERROR_INVALID, message);
    free (message);
    message = xasprintf ("image id prefix `sha256:abcd` is ambiguous in %s: 2 images begin with "
                         "it (" AMBIGUOUS_A ", " AMBIGUOUS_B "); give more digits",
                         f->root);
    expect_error (f, "sha256:abcd", WR_ERROR_INVALID, message);
    /* One digit more tells them apart; two names of one image are not
     * ambiguous (the first by name). */
    expect_found (f, "abcd1", "docker.io/library/a:latest");
    expect_found (f, "abcd2", "docker.io/library/b:2");
}

static void
test_list_and_references (void **state)
{
    fixture_t *f = *state;
    put_record (f, "127.0.0.1:5000/library/busybox:latest", f->manifest_digest, f->config_digest);
    put_record (f, "docker.io/library/a:latest", AMBIGUOUS_A, CONFIG_OTHER);
    wr_catalog_entry_t *entries = NULL;
    size_t count = 0;
    wr_error_t err = NULL;
    assert_int_equal (wr_catalog_list (f->store, &entries, &count, &err), 0);
    assert_int_equal (count, 3);
    assert_string_equal (entries[0].record.name, "127.0.0.1:5000/library/busybox:latest");
    assert_string_equal (entries[0].familiar_name, "127.0.0.1:5000/library/busybox:latest");
    assert_string_equal (entries[1].record.name, "docker.io/library/a:latest");
    assert_string_equal (entries[1].familiar_name, "a:latest");
    assert_string_equal (entries[2].record.name, BUSYBOX);
    assert_string_equal (entries[2].familiar_name, "busybox:latest");
    assert_int_equal (entries[2].record.created, CREATED);
    assert_string_equal (entries[2].record.manifest_digest, f->manifest_digest);
    wr_catalog_entries_free (entries, count);

    cleanup_strv char **names = NULL;
    assert_int_equal (wr_catalog_references (f->store, f->manifest_digest, &names, &err), 0);
    assert_int_equal (wr_strv_length (names), 2);
    assert_string_equal (names[0], "127.0.0.1:5000/library/busybox:latest");
    assert_string_equal (names[1], BUSYBOX);
    cleanup_strv char **none = NULL;
    assert_int_equal (wr_catalog_references (f->store, CONFIG_OTHER, &none, &err), 0);
    assert_non_null (none);
    assert_null (none[0]);
}

static void
test_remove (void **state)
{
    fixture_t *f = *state;
    put_record (f, "127.0.0.1:5000/library/busybox:latest", f->manifest_digest, f->config_digest);
    wr_error_t err = NULL;
    char *removed = NULL;
    /* By id, an image with two names: refused, nothing removed. */
    cleanup_free char *prefix = xasprintf ("%.12s", wr_digest_hex (f->manifest_digest));
    assert_int_equal (wr_catalog_remove (f->store, prefix, &removed, &err), -1);
    assert_null (removed);
    assert_int_equal (wr_error_kind (err), WR_ERROR_INVALID);
    cleanup_free char *message =
        xasprintf ("image `%s` (%s) has 2 names (127.0.0.1:5000/library/busybox:latest, " BUSYBOX
                   "): remove them by name",
                   prefix, f->manifest_digest);
    assert_string_equal (err->message, message);
    wr_error_free (&err);
    expect_found (f, prefix, "127.0.0.1:5000/library/busybox:latest");
    /* By name, one of them. */
    assert_int_equal (wr_catalog_remove (f->store, "busybox", &removed, &err), 0);
    assert_string_equal (removed, BUSYBOX);
    free (removed);
    /* Now one name: by id removes it. */
    assert_int_equal (wr_catalog_remove (f->store, prefix, &removed, &err), 0);
    assert_string_equal (removed, "127.0.0.1:5000/library/busybox:latest");
    free (removed);
    assert_int_equal (wr_catalog_remove (f->store, "busybox", NULL, &err), -1);
    assert_int_equal (wr_error_kind (err), WR_ERROR_NOT_FOUND);
    wr_error_free (&err);
}

/* The keys of O in order, joined with commas. */
static char *
keys_of (json_object *o)
{
    cleanup_strv char **keys = NULL;
    json_object_object_foreach (o, key, value)
    {
        (void) value;
        wr_strv_add (&keys, key);
    }
    return wr_strv_join (keys, ",");
}

static const char *
string_at (json_object *o, const char *key)
{
    json_object *value = NULL;
    if (!json_object_object_get_ex (o, key, &value))
        fail_msg ("no member %s", key);
    if (value == NULL)
        return NULL;
    assert_true (json_object_is_type (value, json_type_string));
    return json_object_get_string (value);
}

static const char *
compact (json_object *o, const char *key)
{
    json_object *value = NULL;
    if (!json_object_object_get_ex (o, key, &value))
        fail_msg ("no member %s", key);
    return json_object_to_json_string_ext (value,
                                           JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

#define RECORD_KEYS "Name,ManifestDigest,ConfigDigest,Size,Created,RootId,RootPath"

static void
check_record_fields (fixture_t *f, json_object *o)
{
    assert_string_equal (string_at (o, "Name"), BUSYBOX);
    assert_string_equal (string_at (o, "ManifestDigest"), f->manifest_digest);
    assert_string_equal (string_at (o, "ConfigDigest"), f->config_digest);
    json_object *size = NULL;
    assert_true (json_object_object_get_ex (o, "Size", &size));
    assert_true (json_object_is_type (size, json_type_int));
    assert_int_equal (json_object_get_int64 (size), f->size);
    assert_string_equal (string_at (o, "Created"), "2023-11-14T22:13:20Z");
    assert_string_equal (string_at (o, "RootId"), ROOT_ID);
    cleanup_free char *root_path = xasprintf ("%s/roots/" ROOT_ID, f->root);
    assert_string_equal (string_at (o, "RootPath"), root_path);
    assert_string_equal (string_at (o, "Id"), f->manifest_digest);
    assert_string_equal (string_at (o, "FamiliarName"), "busybox:latest");
}

static void
test_inspect_json (void **state)
{
    fixture_t *f = *state;
    put_record (f, "127.0.0.1:5000/x/y:1", f->manifest_digest, f->config_digest);
    wr_image_record_t record = { 0 };
    wr_error_t err = NULL;
    assert_int_equal (wr_catalog_find (f->store, "busybox", &record, &err), 0);
    json_object *o = NULL;
    if (wr_catalog_inspect_json (f->store, &record, &o, &err) < 0)
        fail_msg ("%s", err->message);

    /* The shape of docs/images-json.md, in its order. */
    cleanup_free char *keys = keys_of (o);
    assert_string_equal (keys, RECORD_KEYS ",Config,Layers,Id,FamiliarName,References,Platform");
    check_record_fields (f, o);
    assert_string_equal (compact (o, "References"), "[\"127.0.0.1:5000/x/y:1\",\"" BUSYBOX "\"]");
    assert_string_equal (string_at (o, "Platform"), "linux/arm64/v8");

    json_object *config = NULL;
    assert_true (json_object_object_get_ex (o, "Config", &config));
    cleanup_free char *config_keys = keys_of (config);
    assert_string_equal (config_keys, "Os,Architecture,Env,Entrypoint,Cmd,WorkingDir,User,"
                                      "ExposedPorts,Variant,Labels");
    assert_string_equal (string_at (config, "Os"), "linux");
    assert_string_equal (string_at (config, "Architecture"), "arm64");
    assert_string_equal (string_at (config, "Variant"), "v8");
    assert_string_equal (compact (config, "Env"), "[\"PATH=/usr/bin:/bin\",\"A=1\"]");
    assert_string_equal (compact (config, "Entrypoint"), "[\"/entry.sh\"]");
    assert_string_equal (compact (config, "Cmd"), "[\"serve\",\"--port\",\"80\"]");
    assert_string_equal (string_at (config, "WorkingDir"), "/srv");
    assert_string_equal (string_at (config, "User"), "101:101");
    assert_string_equal (compact (config, "ExposedPorts"), "[\"80/tcp\",\"53/udp\"]");
    assert_string_equal (
        compact (config, "Labels"),
        "{\"maintainer\":\"someone\",\"org.opencontainers.image.version\":\"1.2\"}");

    json_object *layers = NULL;
    assert_true (json_object_object_get_ex (o, "Layers", &layers));
    assert_int_equal (json_object_array_length (layers), 1);
    json_object *layer = json_object_array_get_idx (layers, 0);
    cleanup_free char *layer_keys = keys_of (layer);
    assert_string_equal (layer_keys, "MediaType,Digest,Size,DiffId");
    assert_string_equal (string_at (layer, "MediaType"), WR_MEDIA_OCI_LAYER_TAR_GZIP);
    assert_string_equal (string_at (layer, "Digest"), f->layer_digest);
    assert_string_equal (compact (layer, "Size"), "20");
    assert_string_equal (string_at (layer, "DiffId"), DIFF_ID);
    json_object_put (o);

    /* The list entry: the record's fields, with the same values. */
    o = wr_catalog_entry_json (f->store, &record);
    free (keys);
    keys = keys_of (o);
    assert_string_equal (keys, RECORD_KEYS ",Id,FamiliarName");
    check_record_fields (f, o);
    json_object_put (o);
    wr_image_record_clear (&record);
}

static void
test_inspect_json_minimal_config (void **state)
{
    fixture_t *f = *state;
    /* Nothing but what a config must have: the optional fields are null. */
    static const char minimal[] = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":"
                                  "{\"type\":\"layers\",\"diff_ids\":[]}}";
    char config_digest[WR_DIGEST_MAX_LEN + 1], manifest_digest[WR_DIGEST_MAX_LEN + 1];
    put_blob (f, minimal, config_digest);
    cleanup_free char *manifest = xasprintf (
        "{\"schemaVersion\":2,\"mediaType\":\"" WR_MEDIA_OCI_MANIFEST "\","
        "\"config\":{\"mediaType\":\"" WR_MEDIA_OCI_CONFIG "\",\"digest\":\"%s\",\"size\":%zu},"
        "\"layers\":[]}",
        config_digest, strlen (minimal));
    put_blob (f, manifest, manifest_digest);
    wr_image_record_t record = {
        .name = "docker.io/library/scratchy:1",
        .manifest_digest = manifest_digest,
        .config_digest = config_digest,
        .size = 10,
        .created = CREATED,
    };
    wr_error_t err = NULL;
    assert_int_equal (wr_store_image_put (f->store, &record, NULL, &err), 0);
    json_object *o = NULL;
    if (wr_catalog_inspect_json (f->store, &record, &o, &err) < 0)
        fail_msg ("%s", err->message);
    assert_null (string_at (o, "RootId"));
    assert_null (string_at (o, "RootPath"));
    assert_string_equal (string_at (o, "Platform"), "linux/amd64");
    assert_string_equal (compact (o, "Layers"), "[]");
    assert_string_equal (compact (o, "Config"),
                         "{\"Os\":\"linux\",\"Architecture\":\"amd64\",\"Env\":null,"
                         "\"Entrypoint\":null,\"Cmd\":null,\"WorkingDir\":null,\"User\":null,"
                         "\"ExposedPorts\":null,\"Variant\":null,\"Labels\":null}");
    json_object_put (o);
}

static void
test_inspect_json_missing_blob (void **state)
{
    fixture_t *f = *state;
    /* A record whose config is not in the store: the error names the
     * image and what is missing. */
    wr_image_record_t record = {
        .name = BUSYBOX,
        .manifest_digest = f->manifest_digest,
        .config_digest = CONFIG_OTHER,
    };
    json_object *o = NULL;
    wr_error_t err = NULL;
    assert_int_equal (wr_catalog_inspect_json (f->store, &record, &o, &err), -1);
    assert_null (o);
    assert_memory_equal (err->message, BUSYBOX ": config: ", strlen (BUSYBOX ": config: "));
    assert_int_equal (wr_error_kind (err), WR_ERROR_NOT_FOUND);
    wr_error_free (&err);
}

static void
test_format_time_and_familiar_name (void **state)
{
    (void) state;
    cleanup_free char *t = wr_catalog_format_time (CREATED);
    assert_string_equal (t, "2023-11-14T22:13:20Z");
    cleanup_free char *a = wr_catalog_familiar_name (BUSYBOX);
    assert_string_equal (a, "busybox:latest");
    cleanup_free char *b = wr_catalog_familiar_name ("docker.io/someone/tool:2");
    assert_string_equal (b, "someone/tool:2");
    cleanup_free char *c = wr_catalog_familiar_name ("Not A Reference");
    assert_string_equal (c, "Not A Reference");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_find_by_each_form, setup, teardown),
        cmocka_unit_test_setup_teardown (test_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown (test_malformed_reference, setup, teardown),
        cmocka_unit_test_setup_teardown (test_ambiguous_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown (test_list_and_references, setup, teardown),
        cmocka_unit_test_setup_teardown (test_remove, setup, teardown),
        cmocka_unit_test_setup_teardown (test_inspect_json, setup, teardown),
        cmocka_unit_test_setup_teardown (test_inspect_json_minimal_config, setup, teardown),
        cmocka_unit_test_setup_teardown (test_inspect_json_missing_blob, setup, teardown),
        cmocka_unit_test (test_format_time_and_familiar_name),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
