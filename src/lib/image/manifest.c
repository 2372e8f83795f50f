/* Manifests and indexes from registries: every field is untrusted.  A
 * document is checked completely here (types, digests, sizes, media types
 * and that it is one kind of document only) so that later code can trust
 * the struct. */
#include "manifest.h"

#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "cleanup.h"
#include "digest.h"
#include "json_reader.h"
#include "quote.h"
#include "xalloc.h"

#define QUOTE_MAX 100
/* Platforms named in a "no match" error before "and N more". */
#define PLATFORMS_LISTED 16

typedef struct {
    const char *media_type;
    wr_manifest_kind_t kind;
} document_type_t;

static const document_type_t document_types[] = {
    { WR_MEDIA_OCI_MANIFEST, WR_MANIFEST_IMAGE },
    { WR_MEDIA_DOCKER_MANIFEST, WR_MANIFEST_IMAGE },
    { WR_MEDIA_OCI_INDEX, WR_MANIFEST_INDEX },
    { WR_MEDIA_DOCKER_LIST, WR_MANIFEST_INDEX },
};

static const char *const layer_types[] = {
    WR_MEDIA_OCI_LAYER_TAR,
    WR_MEDIA_OCI_LAYER_TAR_GZIP,
    WR_MEDIA_OCI_LAYER_TAR_ZSTD,
    WR_MEDIA_DOCKER_LAYER_TAR_GZIP,
};

/* Layers a registry may not serve: their "urls" point elsewhere. */
static const char *const foreign_layer_types[] = {
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};

static const char *const config_types[] = {
    WR_MEDIA_OCI_CONFIG,
    WR_MEDIA_DOCKER_CONFIG,
};

static bool
in_list (const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (s, list[i]) == 0)
            return true;
    return false;
}

#define IN_LIST(s, list) in_list ((s), (list), sizeof (list) / sizeof ((list)[0]))

static const document_type_t *
document_type (const char *media_type, bool ignore_case)
{
    for (size_t i = 0; i < sizeof document_types / sizeof document_types[0]; i++) {
        const char *known = document_types[i].media_type;
        if (ignore_case ? strcasecmp (media_type, known) == 0 : strcmp (media_type, known) == 0)
            return &document_types[i];
    }
    return NULL;
}

static bool
is_schema1 (const char *media_type)
{
    return strncasecmp (media_type, "application/vnd.docker.distribution.manifest.v1+", 48) == 0;
}

static bool
is_restricted_name_char (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr ("!#$&-^_.+", c) != NULL);
}

/* RFC 6838's type "/" subtype, each 1 to 127 restricted-name characters
 * starting with a letter or digit. */
static bool
is_media_type (const char *s)
{
    const char *slash = strchr (s, '/');
    if (slash == NULL)
        return false;
    const char *parts[2] = { s, slash + 1 };
    size_t lens[2] = { (size_t) (slash - s), strlen (slash + 1) };
    for (int p = 0; p < 2; p++) {
        if (lens[p] == 0 || lens[p] > 127 || parts[p][0] == '-' || parts[p][0] == '!' ||
            !is_restricted_name_char (parts[p][0]))
            return false;
        for (size_t i = 0; i < lens[p]; i++)
            if (!is_restricted_name_char (parts[p][i]))
                return false;
    }
    return true;
}

static void
descriptor_clear (wr_descriptor_t *d)
{
    free (d->media_type);
    free (d->digest);
    free (d->os);
    free (d->architecture);
    free (d->variant);
    memset (d, 0, sizeof *d);
}

static int
parse_platform (json_object *obj, const char *name, const char *path, wr_descriptor_t *d,
                wr_error_t *err)
{
    json_object *platform = NULL;
    int found = wr_json_member (obj, "platform", false, name, path, &platform, err);
    if (found <= 0)
        return found;
    cleanup_free char *ppath = wr_json_path_key (path, "platform");
    if (wr_json_expect (platform, json_type_object, name, ppath, err) < 0)
        return -1;
    if (wr_json_member_string (platform, "os", true, name, ppath, &d->os, err) < 0 ||
        wr_json_member_string (platform, "architecture", true, name, ppath, &d->architecture, err) <
            0 ||
        wr_json_member_string (platform, "variant", false, name, ppath, &d->variant, err) < 0)
        return -1;
    if (d->variant != NULL && d->variant[0] == '\0') {
        free (d->variant);
        d->variant = NULL;
    }
    return 0;
}

/* A descriptor at PATH.  MAX_SIZE bounds "size" (0: no bound);
 * WITH_PLATFORM reads "platform" (entries of an index). */
static int
parse_descriptor (json_object *obj, const char *name, const char *path, int64_t max_size,
                  bool with_platform, wr_descriptor_t *d, wr_error_t *err)
{
    if (wr_json_expect (obj, json_type_object, name, path, err) < 0)
        return -1;
    if (wr_json_member_string (obj, "mediaType", true, name, path, &d->media_type, err) < 0)
        return -1;
    if (!is_media_type (d->media_type)) {
        cleanup_free char *mpath = wr_json_path_key (path, "mediaType");
        cleanup_free char *quoted = wr_quote (d->media_type, QUOTE_MAX);
        return wr_json_error (err, name, mpath, "`%s` is not a media type", quoted);
    }

    cleanup_free char *dpath = wr_json_path_key (path, "digest");
    if (wr_json_member_string (obj, "digest", true, name, path, &d->digest, err) < 0)
        return -1;
    if (wr_json_check_digest (d->digest, name, dpath, err) < 0)
        return -1;

    cleanup_free char *spath = wr_json_path_key (path, "size");
    json_object *size = NULL;
    if (wr_json_member (obj, "size", true, name, path, &size, err) < 0 ||
        wr_json_int64 (size, name, spath, &d->size, err) < 0)
        return -1;
    if (d->size < 0)
        return wr_json_error (err, name, spath, "must not be negative (%lld)", (long long) d->size);
    if (max_size > 0 && d->size > max_size)
        return wr_json_error (err, name, spath, "%lld bytes is more than the limit of %lld",
                              (long long) d->size, (long long) max_size);

    if (with_platform && parse_platform (obj, name, path, d, err) < 0)
        return -1;
    return 0;
}

static int
parse_descriptor_array (json_object *root, const char *key, const char *name, int64_t max_size,
                        bool with_platform, wr_descriptor_t **out, size_t *n_out, wr_error_t *err)
{
    json_object *array = NULL;
    if (wr_json_member (root, key, true, name, "", &array, err) < 0 ||
        wr_json_expect (array, json_type_array, name, key, err) < 0)
        return -1;
    size_t n = json_object_array_length (array);
    /* Grown as entries prove valid, so that a long array of junk costs no
     * memory of ours; owned by the caller's manifest from the start, so
     * that a failure half way is cleaned up by wr_manifest_clear. */
    size_t cap = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == cap) {
            cap = cap == 0 ? 8 : 2 * cap;
            *out = xrealloc (*out, cap * sizeof **out);
            memset (*out + i, 0, (cap - i) * sizeof **out);
        }
        *n_out = i + 1;
        cleanup_free char *path = wr_json_path_index (key, i);
        if (parse_descriptor (json_object_array_get_idx (array, i), name, path, max_size,
                              with_platform, &(*out)[i], err) < 0)
            return -1;
    }
    if (*out == NULL)
        *out = xzalloc (sizeof **out);
    return 0;
}

static int
check_layer_types (const wr_manifest_t *manifest, const char *name, wr_error_t *err)
{
    for (size_t i = 0; i < manifest->n_layers; i++) {
        const char *type = manifest->layers[i].media_type;
        if (IN_LIST (type, layer_types))
            continue;
        cleanup_free char *path = xasprintf ("layers[%zu].mediaType", i);
        cleanup_free char *quoted = wr_quote (type, QUOTE_MAX);
        if (IN_LIST (type, foreign_layer_types))
            return wr_json_error (err, name, path,
                                  "`%s` is a non-distributable (foreign) layer, which the registry "
                                  "may not serve: not supported",
                                  quoted);
        return wr_json_error (err, name, path,
                              "`%s` is not a layer type warren can unpack (OCI tar, tar+gzip, "
                              "tar+zstd or Docker tar.gzip)",
                              quoted);
    }
    return 0;
}

static int
parse_image_manifest (json_object *root, const char *name, wr_manifest_t *manifest, wr_error_t *err)
{
    json_object *config = NULL;
    if (wr_json_member (root, "config", true, name, "", &config, err) < 0 ||
        parse_descriptor (config, name, "config", WR_CONFIG_MAX_SIZE, false, &manifest->config,
                          err) < 0)
        return -1;
    if (!IN_LIST (manifest->config.media_type, config_types)) {
        cleanup_free char *quoted = wr_quote (manifest->config.media_type, QUOTE_MAX);
        return wr_json_error (err, name, "config.mediaType",
                              "`%s` is not an image config (is this an artifact rather than an "
                              "image?)",
                              quoted);
    }
    if (parse_descriptor_array (root, "layers", name, 0, false, &manifest->layers,
                                &manifest->n_layers, err) < 0)
        return -1;
    return check_layer_types (manifest, name, err);
}

/* The media type in a registry's Content-Type, without parameters and
 * white space; NULL when it says nothing ("application/json" is what some
 * registries send for any JSON).  Caller frees. */
static char *
content_media_type (const char *content_type)
{
    if (content_type == NULL)
        return NULL;
    const char *start = content_type + strspn (content_type, " \t");
    size_t len = strcspn (start, ";");
    while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
        len--;
    if (len == 0)
        return NULL;
    char *type = xstrndup (start, len);
    if (strcasecmp (type, "application/json") == 0) {
        free (type);
        return NULL;
    }
    return type;
}

/* Which document this is: from its mediaType, else the Content-Type, else
 * its fields (an OCI document may leave mediaType out). */
static const document_type_t *
identify (const char *doc_type, const char *content_type, bool has_layers, bool has_config,
          bool has_manifests, const char *name, wr_error_t *err)
{
    const document_type_t *from_doc = NULL, *from_header = NULL;
    if (doc_type != NULL) {
        cleanup_free char *quoted = wr_quote (doc_type, QUOTE_MAX);
        if (is_schema1 (doc_type)) {
            wr_json_error (err, name, "mediaType",
                           "`%s`: Docker schema 1 manifests are not supported", quoted);
            return NULL;
        }
        from_doc = document_type (doc_type, false);
        if (from_doc == NULL) {
            wr_json_error (err, name, "mediaType", "`%s` is not a manifest or index media type",
                           quoted);
            return NULL;
        }
    }
    cleanup_free char *header_type = content_media_type (content_type);
    if (header_type != NULL) {
        cleanup_free char *quoted = wr_quote (header_type, QUOTE_MAX);
        if (is_schema1 (header_type)) {
            wr_json_error (err, name, "",
                           "served as `%s`: Docker schema 1 manifests are not supported", quoted);
            return NULL;
        }
        from_header = document_type (header_type, true);
        if (from_header == NULL) {
            wr_json_error (err, name, "", "served as `%s`, which is not a manifest or index",
                           quoted);
            return NULL;
        }
    }
    if (from_doc != NULL && from_header != NULL && from_doc != from_header) {
        wr_json_error (err, name, "mediaType", "`%s` does not match the Content-Type `%s`",
                       from_doc->media_type, from_header->media_type);
        return NULL;
    }
    if (from_doc != NULL)
        return from_doc;
    if (from_header != NULL)
        return from_header;
    if (has_manifests)
        return document_type (WR_MEDIA_OCI_INDEX, false);
    if (has_layers || has_config)
        return document_type (WR_MEDIA_OCI_MANIFEST, false);
    wr_json_error (err, name, "",
                   "neither an image manifest (\"config\" and \"layers\") nor an index "
                   "(\"manifests\")");
    return NULL;
}

int
wr_manifest_parse (const char *data, size_t len, const char *content_type, const char *name,
                   wr_manifest_t *manifest, wr_error_t *err)
{
    memset (manifest, 0, sizeof *manifest);
    if (name == NULL)
        name = "manifest";
    cleanup_json_reader json_object *root =
        wr_json_parse_object (data, len, WR_MANIFEST_MAX_SIZE, "a manifest", name, err);
    if (root == NULL)
        return -1;

    json_object *version = NULL;
    int64_t schema_version = 0;
    if (wr_json_member (root, "schemaVersion", true, name, "", &version, err) < 0 ||
        wr_json_int64 (version, name, "schemaVersion", &schema_version, err) < 0)
        return -1;
    if (schema_version == 1)
        return wr_json_error (err, name, "schemaVersion",
                              "1: Docker schema 1 manifests are not supported");
    if (schema_version != 2)
        return wr_json_error (err, name, "schemaVersion", "must be 2, not %lld",
                              (long long) schema_version);

    cleanup_free char *doc_type = NULL;
    if (wr_json_member_string (root, "mediaType", false, name, "", &doc_type, err) < 0)
        return -1;
    bool has_layers = json_object_object_get_ex (root, "layers", NULL);
    bool has_config = json_object_object_get_ex (root, "config", NULL);
    bool has_manifests = json_object_object_get_ex (root, "manifests", NULL);
    if (has_layers && has_manifests)
        return wr_json_error (err, name, "",
                              "both a manifest and an index (it has \"layers\" and \"manifests\")");

    const document_type_t *type =
        identify (doc_type, content_type, has_layers, has_config, has_manifests, name, err);
    if (type == NULL)
        return -1;
    if (type->kind == WR_MANIFEST_IMAGE && has_manifests)
        return wr_json_error (err, name, "manifests",
                              "an image manifest (%s) must not have an index's \"manifests\"",
                              type->media_type);
    if (type->kind == WR_MANIFEST_INDEX && (has_layers || has_config))
        return wr_json_error (err, name, has_layers ? "layers" : "config",
                              "an index (%s) must not have an image manifest's \"%s\"",
                              type->media_type, has_layers ? "layers" : "config");

    manifest->kind = type->kind;
    manifest->media_type = xstrdup (type->media_type);
    int ret;
    if (type->kind == WR_MANIFEST_IMAGE)
        ret = parse_image_manifest (root, name, manifest, err);
    else
        ret = parse_descriptor_array (root, "manifests", name, WR_MANIFEST_MAX_SIZE, true,
                                      &manifest->manifests, &manifest->n_manifests, err);
    if (ret < 0) {
        wr_manifest_clear (manifest);
        return -1;
    }
    return 0;
}

void
wr_manifest_clear (wr_manifest_t *manifest)
{
    if (manifest == NULL)
        return;
    free (manifest->media_type);
    descriptor_clear (&manifest->config);
    for (size_t i = 0; i < manifest->n_layers; i++)
        descriptor_clear (&manifest->layers[i]);
    free (manifest->layers);
    for (size_t i = 0; i < manifest->n_manifests; i++)
        descriptor_clear (&manifest->manifests[i]);
    free (manifest->manifests);
    memset (manifest, 0, sizeof *manifest);
}

static bool
str_eq (const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp (a, b) == 0;
}

/* arm64 images leave the variant out or say "v8": the same thing. */
static bool
variant_matches (const char *architecture, const char *wanted, const char *offered)
{
    if (strcmp (architecture, "arm64") == 0) {
        wanted = wanted != NULL ? wanted : "v8";
        offered = offered != NULL ? offered : "v8";
    }
    if (wanted == NULL || offered == NULL)
        return wanted == offered;
    return strcmp (wanted, offered) == 0;
}

static bool
selectable (const wr_descriptor_t *d)
{
    return document_type (d->media_type, false) != NULL;
}

static const wr_descriptor_t *
find_platform (const wr_manifest_t *index, const char *os, const char *architecture,
               const char *variant)
{
    for (size_t i = 0; i < index->n_manifests; i++) {
        const wr_descriptor_t *d = &index->manifests[i];
        if (selectable (d) && str_eq (d->os, os) && str_eq (d->architecture, architecture) &&
            variant_matches (architecture, variant, d->variant))
            return d;
    }
    return NULL;
}

static char *
offered_platforms (const wr_manifest_t *index)
{
    if (index->n_manifests == 0)
        return xstrdup ("the index is empty");
    size_t cap = 256, len = 0;
    char *list = xmalloc (cap);
    list[0] = '\0';
    size_t listed = 0;
    for (size_t i = 0; i < index->n_manifests && listed < PLATFORMS_LISTED; i++, listed++) {
        const wr_descriptor_t *d = &index->manifests[i];
        cleanup_free char *os = wr_quote (d->os != NULL ? d->os : "?", 32);
        cleanup_free char *arch = wr_quote (d->architecture != NULL ? d->architecture : "?", 32);
        cleanup_free char *variant = d->variant != NULL ? wr_quote (d->variant, 32) : NULL;
        cleanup_free char *item =
            xasprintf ("%s%s/%s%s%s", listed > 0 ? ", " : "", os, arch, variant != NULL ? "/" : "",
                       variant != NULL ? variant : "");
        size_t item_len = strlen (item);
        if (len + item_len + 1 > cap) {
            cap = 2 * (len + item_len + 1);
            list = xrealloc (list, cap);
        }
        memcpy (list + len, item, item_len + 1);
        len += item_len;
    }
    if (listed < index->n_manifests) {
        char *more = xasprintf ("%s and %zu more", list, index->n_manifests - listed);
        free (list);
        list = more;
    }
    char *phrase = xasprintf ("the index offers %s", list);
    free (list);
    return phrase;
}

const wr_descriptor_t *
wr_manifest_select_platform (const wr_manifest_t *index, const char *os, const char *architecture,
                             const char *variant, wr_error_t *err)
{
    if (index->kind != WR_MANIFEST_INDEX) {
        wr_error_set (err, 0, "select a platform: not an index but an image manifest");
        return NULL;
    }
    if (os == NULL || architecture == NULL) {
        wr_error_set (err, 0, "select a platform: no operating system or architecture given");
        return NULL;
    }
    const wr_descriptor_t *found = NULL;
    if (variant != NULL) {
        found = find_platform (index, os, architecture, variant);
        /* 32-bit arm runs older variants too: v7 runs v6 and v5 images. */
        if (found == NULL && strcmp (architecture, "arm") == 0 && variant[0] == 'v' &&
            variant[1] >= '6' && variant[1] <= '8' && variant[2] == '\0') {
            char older[3] = { 'v', variant[1], '\0' };
            for (older[1] = (char) (variant[1] - 1); found == NULL && older[1] >= '5'; older[1]--)
                found = find_platform (index, os, architecture, older);
        }
    } else {
        found = find_platform (index, os, architecture, NULL);
        for (size_t i = 0; found == NULL && i < index->n_manifests; i++) {
            const wr_descriptor_t *d = &index->manifests[i];
            if (selectable (d) && str_eq (d->os, os) && str_eq (d->architecture, architecture))
                found = d;
        }
    }
    if (found == NULL) {
        cleanup_free char *offered = offered_platforms (index);
        wr_error_set (err, 0, "no image for platform %s/%s%s%s: %s", os, architecture,
                      variant != NULL ? "/" : "", variant != NULL ? variant : "", offered);
    }
    return found;
}

static struct {
    pthread_once_t once;
    const char *architecture;
    const char *variant;
    char machine[sizeof ((struct utsname *) NULL)->machine];
} host_platform = { .once = PTHREAD_ONCE_INIT };

static void
host_platform_init (void)
{
    static const struct {
        const char *machine, *architecture, *variant;
    } table[] = {
        { "x86_64", "amd64", NULL },
        { "amd64", "amd64", NULL },
        { "aarch64", "arm64", "v8" },
        { "arm64", "arm64", "v8" },
        { "armv8l", "arm", "v7" },
        { "armv7l", "arm", "v7" },
        { "armv7", "arm", "v7" },
        { "armv6l", "arm", "v6" },
        { "armv5tel", "arm", "v5" },
        { "armv5tejl", "arm", "v5" },
        { "i386", "386", NULL },
        { "i486", "386", NULL },
        { "i586", "386", NULL },
        { "i686", "386", NULL },
        { "ppc64le", "ppc64le", NULL },
        { "ppc64", "ppc64", NULL },
        { "s390x", "s390x", NULL },
        { "riscv64", "riscv64", NULL },
        { "mips64", "mips64", NULL },
        { "mips64el", "mips64le", NULL },
        { "loongarch64", "loong64", NULL },
    };
    struct utsname u;
    if (uname (&u) < 0)
        u.machine[0] = '\0';
    memcpy (host_platform.machine, u.machine, sizeof host_platform.machine);
    host_platform.architecture = host_platform.machine;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp (u.machine, table[i].machine) == 0) {
            host_platform.architecture = table[i].architecture;
            host_platform.variant = table[i].variant;
            break;
        }
    }
}

void
wr_platform_host (const char **os, const char **architecture, const char **variant)
{
    pthread_once (&host_platform.once, host_platform_init);
    *os = "linux";
    *architecture = host_platform.architecture;
    *variant = host_platform.variant;
}
