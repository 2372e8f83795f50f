/* The images the store holds, as users name and see them (catalog.h). */
#include "catalog.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "cleanup.h"
#include "digest.h"
#include "image_ref.h"
#include "manifest.h"
#include "quote.h"
#include "strv.h"
#include "xalloc.h"

/* What a user asked for, in messages: long enough never to cut a real
 * reference (at most 255 bytes with its tag and digest). */
#define QUOTE_MAX 1024
/* Images an ambiguous prefix error lists before "and N more". */
#define AMBIGUOUS_SHOWN 5

#define SHA256_PREFIX "sha256:"

static void
records_free_fn (wr_image_record_t **records)
{
    free (*records);
}

/* The records of the store (sorted by name) and how many. */
typedef struct {
    wr_image_record_t *records;
    size_t count;
} record_list_t;

static void
record_list_clear (record_list_t *list)
{
    wr_image_records_free (list->records, list->count);
    list->records = NULL;
    list->count = 0;
}
#define cleanup_record_list __attribute__ ((cleanup (record_list_clear)))

static int
record_list_load (wr_store_t *store, record_list_t *list, wr_error_t *err)
{
    list->records = NULL;
    list->count = 0;
    return wr_store_image_list (store, &list->records, &list->count, err);
}

static int
record_copy (const wr_image_record_t *from, wr_image_record_t *to)
{
    to->name = xstrdup (from->name);
    to->manifest_digest = xstrdup (from->manifest_digest);
    to->config_digest = xstrdup (from->config_digest);
    to->root_id = from->root_id != NULL ? xstrdup (from->root_id) : NULL;
    to->size = from->size;
    to->created = from->created;
    return 0;
}

/* TEXT is "sha256:HEX" or "HEX" with WR_CATALOG_MIN_PREFIX to 64 lowercase
 * hex digits: *HEX points at them. */
static bool
id_prefix (const char *text, const char **hex)
{
    const char *h = strncmp (text, SHA256_PREFIX, strlen (SHA256_PREFIX)) == 0
                        ? text + strlen (SHA256_PREFIX)
                        : text;
    size_t len = strspn (h, "0123456789abcdef");
    if (h[len] != '\0' || len < WR_CATALOG_MIN_PREFIX || len > WR_DIGEST_SHA256_HEX_LEN)
        return false;
    *hex = h;
    return true;
}

static int
not_found (wr_store_t *store, const char *name, wr_error_t *err)
{
    cleanup_free char *quoted = wr_quote (name, QUOTE_MAX);
    return wr_error_set_kind (err, WR_ERROR_NOT_FOUND, 0, "no image `%s` in %s", quoted,
                              wr_store_path (store));
}

static int
compare_strings (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The first record (by name) whose id begins with HEX; invalid when the
 * ids of more than one image do. *INDEX is -1 when none does. */
static int
match_prefix (wr_store_t *store, const record_list_t *list, const char *name, const char *hex,
              ssize_t *index, wr_error_t *err)
{
    size_t hex_len = strlen (hex);
    cleanup_strv char **ids = NULL;
    *index = -1;
    for (size_t i = 0; i < list->count; i++) {
        const char *digest = list->records[i].manifest_digest;
        if (strncmp (digest, SHA256_PREFIX, strlen (SHA256_PREFIX)) != 0 ||
            strncmp (digest + strlen (SHA256_PREFIX), hex, hex_len) != 0)
            continue;
        if (*index < 0)
            *index = (ssize_t) i;
        if (!wr_strv_contains (ids, digest))
            wr_strv_add (&ids, digest);
    }
    size_t n = wr_strv_length (ids);
    if (n <= 1)
        return 0;
    /* Sorted, so the message does not depend on the names. */
    qsort (ids, n, sizeof *ids, compare_strings);
    char *cut = NULL;
    if (n > AMBIGUOUS_SHOWN) {
        cut = ids[AMBIGUOUS_SHOWN];
        ids[AMBIGUOUS_SHOWN] = NULL;
    }
    cleanup_free char *shown = wr_strv_join (ids, ", ");
    if (cut != NULL)
        ids[AMBIGUOUS_SHOWN] = cut;
    cleanup_free char *more =
        n > AMBIGUOUS_SHOWN ? xasprintf (" and %zu more", n - AMBIGUOUS_SHOWN) : xstrdup ("");
    cleanup_free char *quoted = wr_quote (name, QUOTE_MAX);
    *index = -1;
    return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                              "image id prefix `%s` is ambiguous in %s: %zu images begin with it "
                              "(%s%s); give more digits",
                              quoted, wr_store_path (store), n, shown, more);
}

/* The first record (by name) of REF's repository whose id is REF's digest. */
static ssize_t
match_digest (const record_list_t *list, const wr_image_ref_t *ref)
{
    for (size_t i = 0; i < list->count; i++) {
        const wr_image_record_t *r = &list->records[i];
        if (strcmp (r->manifest_digest, ref->digest) != 0)
            continue;
        wr_image_ref_t stored = { 0 };
        if (wr_image_ref_parse (r->name, &stored, NULL) < 0)
            continue;
        bool same = strcmp (stored.registry, ref->registry) == 0 &&
                    strcmp (stored.repository, ref->repository) == 0;
        wr_image_ref_clear (&stored);
        if (same)
            return (ssize_t) i;
    }
    return -1;
}

/* wr_catalog_find; *BY_NAME says whether NAME named the record itself
 * rather than its image's id or digest. */
static int
find (wr_store_t *store, const char *name, wr_image_record_t *record, bool *by_name,
      wr_error_t *err)
{
    memset (record, 0, sizeof *record);
    *by_name = false;
    if (name == NULL)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "no image name given");

    cleanup_free char *normal = wr_image_ref_normalize_text (name);
    int found = wr_store_image_get (store, normal, record, err);
    if (found == 0 && strcmp (normal, name) != 0)
        found = wr_store_image_get (store, name, record, err);
    if (found < 0)
        return -1;
    if (found > 0) {
        *by_name = true;
        return 0;
    }

    cleanup_error wr_error_t parse_err = NULL;
    wr_image_ref_t ref = { 0 };
    bool parsed = wr_image_ref_parse (name, &ref, &parse_err) == 0;
    const char *hex = NULL;
    bool is_id = id_prefix (name, &hex);
    if (!is_id && !(parsed && ref.digest != NULL)) {
        wr_image_ref_clear (&ref);
        if (parsed)
            return not_found (store, name, err);
        /* Neither a reference nor an id: say why, naming what was asked. */
        cleanup_free char *quoted = wr_quote (name, QUOTE_MAX);
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "no image `%s` in %s: %s", quoted,
                                  wr_store_path (store), parse_err->message);
    }

    cleanup_record_list record_list_t list = { 0 };
    if (record_list_load (store, &list, err) < 0) {
        wr_image_ref_clear (&ref);
        return -1;
    }
    ssize_t index = -1;
    int r = 0;
    if (is_id)
        r = match_prefix (store, &list, name, hex, &index, err);
    else
        index = match_digest (&list, &ref);
    wr_image_ref_clear (&ref);
    if (r < 0)
        return -1;
    if (index < 0)
        return not_found (store, name, err);
    return record_copy (&list.records[index], record);
}

int
wr_catalog_find (wr_store_t *store, const char *name, wr_image_record_t *record, wr_error_t *err)
{
    bool by_name;
    return find (store, name, record, &by_name, err);
}

int
wr_catalog_references (wr_store_t *store, const char *manifest_digest, char ***names,
                       wr_error_t *err)
{
    *names = NULL;
    cleanup_record_list record_list_t list = { 0 };
    if (record_list_load (store, &list, err) < 0)
        return -1;
    char **out = xzalloc (sizeof *out);
    for (size_t i = 0; i < list.count; i++)
        if (strcmp (list.records[i].manifest_digest, manifest_digest) == 0)
            wr_strv_add (&out, list.records[i].name);
    *names = out;
    return 0;
}

int
wr_catalog_remove (wr_store_t *store, const char *name, char **removed, wr_error_t *err)
{
    if (removed != NULL)
        *removed = NULL;
    wr_image_record_t record = { 0 };
    bool by_name = false;
    if (find (store, name, &record, &by_name, err) < 0)
        return -1;
    int r = 0;
    if (!by_name) {
        cleanup_strv char **names = NULL;
        r = wr_catalog_references (store, record.manifest_digest, &names, err);
        size_t n = wr_strv_length (names);
        if (r == 0 && n > 1) {
            cleanup_free char *list = wr_strv_join (names, ", ");
            cleanup_free char *quoted = wr_quote (name, QUOTE_MAX);
            r = wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                   "image `%s` (%s) has %zu names (%s): remove them by name",
                                   quoted, record.manifest_digest, n, list);
        }
    }
    if (r == 0)
        r = wr_store_image_remove (store, record.name, err);
    if (r == 0 && removed != NULL)
        *removed = steal_pointer (&record.name);
    wr_image_record_clear (&record);
    return r;
}

char *
wr_catalog_familiar_name (const char *name)
{
    wr_image_ref_t ref = { 0 };
    if (wr_image_ref_parse (name, &ref, NULL) < 0)
        return xstrdup (name);
    char *familiar = wr_image_ref_familiar (&ref);
    wr_image_ref_clear (&ref);
    return familiar;
}

char *
wr_catalog_format_time (int64_t unix_time)
{
    char out[32] = "";
    time_t t = (time_t) unix_time;
    struct tm tm;
    if (gmtime_r (&t, &tm) == NULL)
        memset (&tm, 0, sizeof tm);
    strftime (out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return xstrdup (out);
}

int
wr_catalog_list (wr_store_t *store, wr_catalog_entry_t **entries, size_t *count, wr_error_t *err)
{
    *entries = NULL;
    *count = 0;
    wr_image_record_t *records __attribute__ ((cleanup (records_free_fn))) = NULL;
    size_t n = 0;
    if (wr_store_image_list (store, &records, &n, err) < 0)
        return -1;
    wr_catalog_entry_t *out = xzalloc ((n + 1) * sizeof *out);
    for (size_t i = 0; i < n; i++) {
        /* The record's strings move into the entry. */
        out[i].record = records[i];
        out[i].familiar_name = wr_catalog_familiar_name (records[i].name);
    }
    *entries = out;
    *count = n;
    return 0;
}

void
wr_catalog_entries_free (wr_catalog_entry_t *entries, size_t count)
{
    if (entries == NULL)
        return;
    for (size_t i = 0; i < count; i++) {
        wr_image_record_clear (&entries[i].record);
        free (entries[i].familiar_name);
    }
    free (entries);
}

/* ---- JSON ---- */

static json_object *
json_strv (char *const *strv)
{
    if (strv == NULL)
        return NULL;
    json_object *array = json_object_new_array ();
    for (char *const *s = strv; *s != NULL; s++)
        json_object_array_add (array, json_object_new_string (*s));
    return array;
}

static json_object *
json_string_or_null (const char *s)
{
    return s != NULL ? json_object_new_string (s) : NULL;
}

/* Labels (key, value pairs) as an object; null when there are none. */
static json_object *
json_labels (char *const *pairs)
{
    if (pairs == NULL)
        return NULL;
    json_object *o = json_object_new_object ();
    for (size_t i = 0; pairs[i] != NULL && pairs[i + 1] != NULL; i += 2)
        json_object_object_add (o, pairs[i], json_object_new_string (pairs[i + 1]));
    return o;
}

/* The record's fields, in the order of docs/images-json.md (the fields
 * added later come last: ADDED). */
static void
add_record_fields (json_object *o, wr_store_t *store, const wr_image_record_t *record)
{
    json_object_object_add (o, "Name", json_object_new_string (record->name));
    json_object_object_add (o, "ManifestDigest", json_object_new_string (record->manifest_digest));
    json_object_object_add (o, "ConfigDigest", json_object_new_string (record->config_digest));
    json_object_object_add (o, "Size", json_object_new_int64 (record->size));
    cleanup_free char *created = wr_catalog_format_time (record->created);
    json_object_object_add (o, "Created", json_object_new_string (created));
    json_object_object_add (o, "RootId", json_string_or_null (record->root_id));
    cleanup_free char *root_path =
        record->root_id != NULL ? wr_store_root_path (store, record->root_id, NULL) : NULL;
    json_object_object_add (o, "RootPath", json_string_or_null (root_path));
}

static void
add_record_fields_added (json_object *o, const wr_image_record_t *record)
{
    json_object_object_add (o, "Id", json_object_new_string (record->manifest_digest));
    cleanup_free char *familiar = wr_catalog_familiar_name (record->name);
    json_object_object_add (o, "FamiliarName", json_object_new_string (familiar));
}

json_object *
wr_catalog_entry_json (wr_store_t *store, const wr_image_record_t *record)
{
    json_object *o = json_object_new_object ();
    add_record_fields (o, store, record);
    add_record_fields_added (o, record);
    return o;
}

static json_object *
config_json (const wr_image_config_t *config)
{
    json_object *c = json_object_new_object ();
    json_object_object_add (c, "Os", json_string_or_null (config->os));
    json_object_object_add (c, "Architecture", json_string_or_null (config->architecture));
    json_object_object_add (c, "Env", json_strv (config->env));
    json_object_object_add (c, "Entrypoint", json_strv (config->entrypoint));
    json_object_object_add (c, "Cmd", json_strv (config->cmd));
    json_object_object_add (c, "WorkingDir", json_string_or_null (config->working_dir));
    json_object_object_add (c, "User", json_string_or_null (config->user));
    json_object_object_add (c, "ExposedPorts", json_strv (config->exposed_ports));
    json_object_object_add (c, "Variant", json_string_or_null (config->variant));
    json_object_object_add (c, "Labels", json_labels (config->labels));
    return c;
}

static json_object *
layers_json (const wr_manifest_t *manifest, const wr_image_config_t *config)
{
    json_object *layers = json_object_new_array ();
    size_t n_diff_ids = wr_strv_length (config->diff_ids);
    for (size_t i = 0; i < manifest->n_layers; i++) {
        const wr_descriptor_t *d = &manifest->layers[i];
        json_object *l = json_object_new_object ();
        json_object_object_add (l, "MediaType", json_string_or_null (d->media_type));
        json_object_object_add (l, "Digest", json_object_new_string (d->digest));
        json_object_object_add (l, "Size", json_object_new_int64 (d->size));
        json_object_object_add (
            l, "DiffId", i < n_diff_ids ? json_object_new_string (config->diff_ids[i]) : NULL);
        json_object_array_add (layers, l);
    }
    return layers;
}

static char *
platform_text (const wr_image_config_t *config)
{
    if (config->variant != NULL)
        return xasprintf ("%s/%s/%s", config->os, config->architecture, config->variant);
    return xasprintf ("%s/%s", config->os, config->architecture);
}

static void
manifest_free_fn (wr_manifest_t *manifest)
{
    wr_manifest_clear (manifest);
}

static void
config_free_fn (wr_image_config_t *config)
{
    wr_image_config_clear (config);
}

int
wr_catalog_inspect_json (wr_store_t *store, const wr_image_record_t *record, json_object **json,
                         wr_error_t *err)
{
    *json = NULL;
    cleanup_free char *manifest_data = NULL, *config_data = NULL;
    size_t manifest_len = 0, config_len = 0;
    if (wr_store_read_blob (store, record->manifest_digest, WR_MANIFEST_MAX_SIZE, &manifest_data,
                            &manifest_len, err) < 0)
        return wr_error_prefix (err, "%s: manifest", record->name);
    if (wr_store_read_blob (store, record->config_digest, WR_CONFIG_MAX_SIZE, &config_data,
                            &config_len, err) < 0)
        return wr_error_prefix (err, "%s: config", record->name);
    wr_manifest_t manifest __attribute__ ((cleanup (manifest_free_fn))) = { 0 };
    if (wr_manifest_parse (manifest_data, manifest_len, NULL, record->name, &manifest, err) < 0)
        return -1;
    if (manifest.kind != WR_MANIFEST_IMAGE)
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0,
                                  "%s: manifest %s is an index, not an image manifest",
                                  record->name, record->manifest_digest);
    wr_image_config_t config __attribute__ ((cleanup (config_free_fn))) = { 0 };
    if (wr_image_config_parse (config_data, config_len, record->name, &config, err) < 0)
        return -1;
    cleanup_strv char **names = NULL;
    if (wr_catalog_references (store, record->manifest_digest, &names, err) < 0)
        return -1;

    json_object *o = json_object_new_object ();
    add_record_fields (o, store, record);
    json_object_object_add (o, "Config", config_json (&config));
    json_object_object_add (o, "Layers", layers_json (&manifest, &config));
    add_record_fields_added (o, record);
    json_object_object_add (o, "References", json_strv (names));
    cleanup_free char *platform = platform_text (&config);
    json_object_object_add (o, "Platform", json_object_new_string (platform));
    *json = o;
    return 0;
}
