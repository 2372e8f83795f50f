/* Image builds in steps, each cached (see image_build.h). */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "cleanup.h"
#include "digest.h"
#include "image_build.h"
#include "image_pull.h"
#include "layer_diff.h"
#include "log.h"
#include "manifest.h"
#include "path_in_root.h"
#include "strv.h"
#include "unpack.h"
#include "xalloc.h"

#define COPY_BUFFER (128 * 1024)

/* ---- steps ---- */

int
wr_build_step_parse (const char *kind, const char *arg, wr_build_step_t *step, wr_error_t *err)
{
    memset (step, 0, sizeof *step);
    if (strcmp (kind, "run") == 0) {
        if (arg == NULL || arg[0] == '\0')
            return wr_error_set (err, 0, "run: empty command");
        step->kind = WR_BUILD_RUN;
        wr_strv_add (&step->commands, arg);
    } else if (strcmp (kind, "env") == 0) {
        const char *eq = arg != NULL ? strchr (arg, '=') : NULL;
        if (eq == NULL || eq == arg)
            return wr_error_set (err, 0, "env `%s`: expected NAME=VALUE", arg ? arg : "");
        step->kind = WR_BUILD_ENV;
        wr_strv_add (&step->env, arg);
    } else if (strcmp (kind, "copy") == 0) {
        const char *colon = arg != NULL ? strrchr (arg, ':') : NULL;
        if (colon == NULL || colon == arg || colon[1] != '/')
            return wr_error_set (err, 0, "copy `%s`: expected SRC:/ABSOLUTE/DST", arg ? arg : "");
        step->kind = WR_BUILD_COPY;
        step->src = xstrndup (arg, (size_t) (colon - arg));
        step->dst = xstrdup (colon + 1);
    } else if (strcmp (kind, "with-docker") == 0 || strcmp (kind, "with_docker") == 0) {
        step->kind = WR_BUILD_WITH_DOCKER;
    } else {
        return wr_error_set (err, 0, "unknown build step `%s`", kind);
    }
    return 0;
}

void
wr_build_step_clear (wr_build_step_t *step)
{
    wr_strv_free (step->commands);
    wr_strv_free (step->env);
    free (step->src);
    free (step->dst);
    memset (step, 0, sizeof *step);
}

static const char *
apt_mirror (const wr_build_options_t *options)
{
    if (options != NULL && options->apt_mirror != NULL && options->apt_mirror[0] != '\0')
        return options->apt_mirror;
    const char *env = getenv ("WARREN_APT_MIRROR");
    return env != NULL && env[0] != '\0' ? env : NULL;
}

/* The shell script of with_docker() on Debian and Ubuntu.  Services are
 * not started while installing (policy-rc.d); package lists and the
 * mirror's source list do not stay in the image. */
static char *
with_docker_script (const char *mirror)
{
    cleanup_free char *apt_opts =
        mirror != NULL ? xstrdup ("-o Dir::Etc::SourceList=/tmp/warren-apt/sources.list "
                                  "-o Dir::Etc::SourceParts=/tmp/warren-apt/parts.d")
                       : xstrdup ("");
    cleanup_free char *setup = mirror != NULL ? xasprintf ("mkdir -p /tmp/warren-apt/parts.d\n"
                                                           "echo 'deb [trusted=yes] %s ./' > "
                                                           "/tmp/warren-apt/sources.list\n",
                                                           mirror)
                                              : xstrdup ("");
    return xasprintf ("set -e\n"
                      "export DEBIAN_FRONTEND=noninteractive\n"
                      "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d\n"
                      "chmod 755 /usr/sbin/policy-rc.d\n"
                      "%s"
                      "apt-get %s update\n"
                      "apt-get %s install -y --no-install-recommends "
                      "docker.io iptables ca-certificates\n"
                      "update-alternatives --set iptables /usr/sbin/iptables-legacy\n"
                      "update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy\n"
                      "rm -rf /usr/sbin/policy-rc.d /tmp/warren-apt /var/lib/apt/lists/* "
                      "/var/cache/apt/*.bin /var/cache/apt/archives/*.deb\n",
                      setup, apt_opts, apt_opts);
}

static int
cmp_str (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Adds the names, types, modes and contents under PATH to SHA. */
static int
hash_tree (wr_sha256_t *sha, int dir_fd, const char *path, const char *name, wr_error_t *err)
{
    struct stat st;
    if (fstatat (dir_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return wr_error_set (err, errno, "copy: `%s`", name);
    char head[64];
    int n = snprintf (head, sizeof head, "%o %lld ", (unsigned) st.st_mode,
                      (long long) (S_ISREG (st.st_mode) ? st.st_size : 0));
    wr_sha256_update (sha, name, strlen (name) + 1);
    wr_sha256_update (sha, head, (size_t) n);
    if (S_ISLNK (st.st_mode)) {
        char target[4096];
        ssize_t len = readlinkat (dir_fd, path, target, sizeof target);
        if (len < 0)
            return wr_error_set (err, errno, "copy: read symlink `%s`", name);
        wr_sha256_update (sha, target, (size_t) len);
    } else if (S_ISREG (st.st_mode)) {
        cleanup_close int fd = openat (dir_fd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return wr_error_set (err, errno, "copy: open `%s`", name);
        cleanup_free char *buf = xmalloc (COPY_BUFFER);
        ssize_t got;
        while ((got = read (fd, buf, COPY_BUFFER)) > 0)
            wr_sha256_update (sha, buf, (size_t) got);
        if (got < 0)
            return wr_error_set (err, errno, "copy: read `%s`", name);
    } else if (S_ISDIR (st.st_mode)) {
        cleanup_close int fd =
            openat (dir_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return wr_error_set (err, errno, "copy: open `%s`", name);
        cleanup_closedir DIR *dir = fdopendir (fd);
        if (dir == NULL)
            return wr_error_set (err, errno, "copy: open `%s`", name);
        fd = -1;
        cleanup_strv char **names = NULL;
        struct dirent *de;
        while ((de = readdir (dir)) != NULL)
            if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
                wr_strv_add (&names, de->d_name);
        size_t count = wr_strv_length (names);
        if (count > 1)
            qsort (names, count, sizeof *names, cmp_str);
        for (size_t i = 0; i < count; i++) {
            cleanup_free char *child = xasprintf ("%s/%s", name, names[i]);
            if (hash_tree (sha, dirfd (dir), names[i], child, err) < 0)
                return -1;
        }
    }
    return 0;
}

char *
wr_build_step_describe (const wr_build_step_t *step, const wr_build_options_t *options,
                        wr_error_t *err)
{
    json_object *o = json_object_new_object ();
    switch (step->kind) {
    case WR_BUILD_RUN: {
        json_object *a = json_object_new_array ();
        for (size_t i = 0; step->commands != NULL && step->commands[i] != NULL; i++)
            json_object_array_add (a, json_object_new_string (step->commands[i]));
        json_object_object_add (o, "run", a);
        break;
    }
    case WR_BUILD_ENV: {
        json_object *a = json_object_new_array ();
        for (size_t i = 0; step->env != NULL && step->env[i] != NULL; i++)
            json_object_array_add (a, json_object_new_string (step->env[i]));
        json_object_object_add (o, "env", a);
        break;
    }
    case WR_BUILD_COPY: {
        wr_sha256_t *sha = wr_sha256_new ();
        int r = hash_tree (sha, AT_FDCWD, step->src, step->src, err);
        char digest[WR_DIGEST_MAX_LEN + 1];
        wr_sha256_final (sha, digest);
        wr_sha256_free (sha);
        if (r < 0) {
            json_object_put (o);
            return NULL;
        }
        json_object *c = json_object_new_object ();
        json_object_object_add (c, "dst", json_object_new_string (step->dst));
        json_object_object_add (c, "content", json_object_new_string (digest));
        json_object_object_add (o, "copy", c);
        break;
    }
    case WR_BUILD_WITH_DOCKER: {
        json_object *c = json_object_new_object ();
        const char *mirror = apt_mirror (options);
        json_object_object_add (c, "apt_mirror",
                                mirror != NULL ? json_object_new_string (mirror) : NULL);
        cleanup_free char *script = with_docker_script (mirror);
        json_object_object_add (c, "script", json_object_new_string (script));
        json_object_object_add (o, "with_docker", c);
        break;
    }
    }
    char *text = xstrdup (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put (o);
    return text;
}

void
wr_build_cache_key (const char *parent_manifest_digest, const char *description,
                    char out[WR_DIGEST_MAX_LEN + 1])
{
    wr_sha256_t *sha = wr_sha256_new ();
    wr_sha256_update (sha, parent_manifest_digest, strlen (parent_manifest_digest));
    wr_sha256_update (sha, "\n", 1);
    wr_sha256_update (sha, description, strlen (description));
    wr_sha256_final (sha, out);
    wr_sha256_free (sha);
}

/* ---- the cache: a table of its own in the store's database ----
 * build_cache is not part of the store's schema (store_db.c): it is made
 * here when missing, on a connection of its own.  A row only names a
 * manifest; a hit counts only when that manifest and its config are still
 * in the store (prune may have removed them). */

static int
cache_open (wr_store_t *store, sqlite3 **db, wr_error_t *err)
{
    cleanup_free char *path = xasprintf ("%s/images.db", wr_store_path (store));
    if (sqlite3_open_v2 (path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) !=
        SQLITE_OK) {
        wr_error_set (err, 0, "open `%s`: %s", path, *db ? sqlite3_errmsg (*db) : "no memory");
        sqlite3_close_v2 (*db);
        *db = NULL;
        return -1;
    }
    sqlite3_busy_timeout (*db, 60000);
    char *message = NULL;
    if (sqlite3_exec (*db,
                      "CREATE TABLE IF NOT EXISTS build_cache ("
                      "  key TEXT PRIMARY KEY,"
                      "  manifest_digest TEXT NOT NULL,"
                      "  created INTEGER NOT NULL)",
                      NULL, NULL, &message) != SQLITE_OK) {
        wr_error_set (err, 0, "`%s`: create table build_cache: %s", path,
                      message ? message : sqlite3_errmsg (*db));
        sqlite3_free (message);
        sqlite3_close_v2 (*db);
        *db = NULL;
        return -1;
    }
    return 0;
}

/* 1 and *MANIFEST_DIGEST when KEY is cached, 0 when not. */
static int
cache_get (sqlite3 *db, const char *key, char **manifest_digest, wr_error_t *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2 (db, "SELECT manifest_digest FROM build_cache WHERE key = ?", -1, &stmt,
                            NULL) != SQLITE_OK)
        return wr_error_set (err, 0, "build cache: %s", sqlite3_errmsg (db));
    sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
    int r = 0;
    int step = sqlite3_step (stmt);
    if (step == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text (stmt, 0);
        if (text != NULL && wr_digest_validate ((const char *) text, NULL) == 0) {
            *manifest_digest = xstrdup ((const char *) text);
            r = 1;
        }
    } else if (step != SQLITE_DONE) {
        r = wr_error_set (err, 0, "build cache: %s", sqlite3_errmsg (db));
    }
    sqlite3_finalize (stmt);
    return r;
}

static int
cache_put (sqlite3 *db, const char *key, const char *manifest_digest, wr_error_t *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2 (db,
                            "INSERT OR REPLACE INTO build_cache (key, manifest_digest, created) "
                            "VALUES (?, ?, ?)",
                            -1, &stmt, NULL) != SQLITE_OK)
        return wr_error_set (err, 0, "build cache: %s", sqlite3_errmsg (db));
    sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, manifest_digest, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) time (NULL));
    int r = sqlite3_step (stmt) == SQLITE_DONE
                ? 0
                : wr_error_set (err, 0, "build cache: %s", sqlite3_errmsg (db));
    sqlite3_finalize (stmt);
    return r;
}

/* ---- the image being built ---- */

typedef struct {
    char manifest_digest[WR_DIGEST_MAX_LEN + 1];
    char config_digest[WR_DIGEST_MAX_LEN + 1];
    json_object *config; /* the whole config document */
    json_object *layers; /* the manifest's layer descriptors (OCI media types) */
    wr_image_config_t parsed;
    char root_id[WR_DIGEST_SHA256_HEX_LEN + 1];
    int64_t size;
} image_t;

static void
image_clear (image_t *image)
{
    if (image->config != NULL)
        json_object_put (image->config);
    if (image->layers != NULL)
        json_object_put (image->layers);
    wr_image_config_clear (&image->parsed);
    memset (image, 0, sizeof *image);
}

static const char *
oci_layer_type (const char *type)
{
    if (type == NULL || strcmp (type, WR_MEDIA_DOCKER_LAYER_TAR_GZIP) == 0)
        return WR_MEDIA_OCI_LAYER_TAR_GZIP;
    return type;
}

/* Loads the image of MANIFEST_DIGEST from STORE. */
static int
image_load (wr_store_t *store, const char *manifest_digest, image_t *image, wr_error_t *err)
{
    memset (image, 0, sizeof *image);
    cleanup_free char *mdata = NULL, *cdata = NULL;
    size_t mlen = 0, clen = 0;
    if (wr_store_read_blob (store, manifest_digest, WR_MANIFEST_MAX_SIZE, &mdata, &mlen, err) < 0)
        return wr_error_prefix (err, "manifest %s", manifest_digest);
    wr_manifest_t manifest = { 0 };
    if (wr_manifest_parse (mdata, mlen, NULL, manifest_digest, &manifest, err) < 0)
        return -1;
    if (manifest.kind != WR_MANIFEST_IMAGE) {
        wr_manifest_clear (&manifest);
        return wr_error_set (err, 0, "manifest %s is an index", manifest_digest);
    }
    int r = -1;
    snprintf (image->manifest_digest, sizeof image->manifest_digest, "%s", manifest_digest);
    snprintf (image->config_digest, sizeof image->config_digest, "%s", manifest.config.digest);
    image->size = manifest.config.size;
    image->layers = json_object_new_array ();
    for (size_t i = 0; i < manifest.n_layers; i++) {
        json_object *d = json_object_new_object ();
        json_object_object_add (
            d, "mediaType",
            json_object_new_string (oci_layer_type (manifest.layers[i].media_type)));
        json_object_object_add (d, "digest", json_object_new_string (manifest.layers[i].digest));
        json_object_object_add (d, "size", json_object_new_int64 (manifest.layers[i].size));
        json_object_array_add (image->layers, d);
        image->size += manifest.layers[i].size;
    }
    if (wr_store_read_blob (store, manifest.config.digest, WR_CONFIG_MAX_SIZE, &cdata, &clen, err) <
        0) {
        wr_error_prefix (err, "config %s", manifest.config.digest);
        goto out;
    }
    if (wr_image_config_parse (cdata, clen, manifest.config.digest, &image->parsed, err) < 0)
        goto out;
    image->config = json_tokener_parse (cdata);
    if (image->config == NULL || !json_object_is_type (image->config, json_type_object)) {
        wr_error_set (err, 0, "config %s: not a JSON object", manifest.config.digest);
        goto out;
    }
    size_t n = wr_strv_length (image->parsed.diff_ids);
    if (n != manifest.n_layers) {
        wr_error_set (err, 0, "manifest %s: %zu layers but %zu diff ids", manifest_digest,
                      manifest.n_layers, n);
        goto out;
    }
    if (n > 0) {
        char chain[WR_DIGEST_MAX_LEN + 1];
        if (wr_chain_id ((const char *const *) image->parsed.diff_ids, n, chain, err) < 0)
            goto out;
        snprintf (image->root_id, sizeof image->root_id, "%s", wr_digest_hex (chain));
    }
    r = 0;
out:
    wr_manifest_clear (&manifest);
    if (r < 0)
        image_clear (image);
    return r;
}

static bool
is_directory (const char *path)
{
    struct stat st;
    return path != NULL && stat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

/* The image's root, unpacked when missing.  Returns its path. */
static char *
image_root (wr_store_t *store, image_t *image, wr_error_t *err)
{
    if (image->root_id[0] == '\0') {
        wr_error_set (err, 0, "image %s has no layers", image->manifest_digest);
        return NULL;
    }
    char *path = wr_store_root_path (store, image->root_id);
    if (is_directory (path))
        return path;
    cleanup_strv char **layers = NULL;
    size_t n = json_object_array_length (image->layers);
    for (size_t i = 0; i < n; i++) {
        json_object *d = json_object_array_get_idx (image->layers, i), *digest = NULL;
        json_object_object_get_ex (d, "digest", &digest);
        wr_strv_add_take (&layers, wr_store_blob_path (store, json_object_get_string (digest)));
    }
    wr_unpack_options_t options = { .keep_owners = geteuid () == 0 };
    wr_error_t unpack_err = NULL;
    wr_log (WR_LOG_INFO, "unpacking root", "root", image->root_id, NULL);
    if (wr_unpack_root ((const char *const *) layers, (const char *const *) image->parsed.diff_ids,
                        path, &options, &unpack_err) < 0) {
        if (is_directory (path)) { /* another build or pull made it meanwhile */
            wr_error_free (&unpack_err);
            return path;
        }
        free (path);
        if (err != NULL)
            *err = unpack_err;
        else
            wr_error_free (&unpack_err);
        return NULL;
    }
    return path;
}

/* Copies the file at FD (from its start) into the store as blob DIGEST. */
static int
store_blob_from_fd (wr_store_t *store, int fd, const char *digest, int64_t size, wr_error_t *err)
{
    int64_t offset = 0;
    wr_blob_writer_t *w = wr_store_blob_writer (store, digest, size, &offset, err);
    if (w == NULL)
        return -1;
    int r = 0;
    if (!wr_blob_writer_complete (w)) {
        if (offset != 0)
            r = wr_blob_writer_restart (w, err);
        cleanup_free char *buf = xmalloc (COPY_BUFFER);
        ssize_t n = 0;
        off_t at = 0;
        while (r == 0 && (n = pread (fd, buf, COPY_BUFFER, at)) > 0) {
            r = wr_blob_writer_write (w, buf, (size_t) n, err);
            at += n;
        }
        if (r == 0 && n < 0)
            r = wr_error_set (err, errno, "read the new layer");
        if (r == 0)
            r = wr_blob_writer_commit (w, err);
    }
    wr_blob_writer_free (w);
    return r;
}

static void
now_iso (char *out, size_t size)
{
    time_t t = time (NULL);
    struct tm tm;
    gmtime_r (&t, &tm);
    strftime (out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_object *
object_child (json_object *o, const char *key)
{
    json_object *child = NULL;
    if (!json_object_object_get_ex (o, key, &child) ||
        !json_object_is_type (child, json_type_object)) {
        child = json_object_new_object ();
        json_object_object_add (o, key, child);
    }
    return child;
}

/* Writes IMAGE's config and a new OCI manifest for it into STORE, after
 * adding LAYER (may be NULL: a config-only step) and a history entry. */
static int
image_commit (wr_store_t *store, image_t *image, const wr_layer_diff_result_t *layer,
              const char *created_by, wr_error_t *err)
{
    char created[32];
    now_iso (created, sizeof created);
    json_object *rootfs = object_child (image->config, "rootfs");
    json_object_object_add (rootfs, "type", json_object_new_string ("layers"));
    json_object *diff_ids = NULL;
    if (!json_object_object_get_ex (rootfs, "diff_ids", &diff_ids) ||
        !json_object_is_type (diff_ids, json_type_array)) {
        diff_ids = json_object_new_array ();
        json_object_object_add (rootfs, "diff_ids", diff_ids);
    }
    if (layer != NULL) {
        json_object_array_add (diff_ids, json_object_new_string (layer->diff_id));
        json_object *d = json_object_new_object ();
        json_object_object_add (d, "mediaType",
                                json_object_new_string (WR_MEDIA_OCI_LAYER_TAR_GZIP));
        json_object_object_add (d, "digest", json_object_new_string (layer->digest));
        json_object_object_add (d, "size", json_object_new_int64 (layer->size));
        json_object_array_add (image->layers, d);
    }
    json_object *history = NULL;
    if (!json_object_object_get_ex (image->config, "history", &history) ||
        !json_object_is_type (history, json_type_array)) {
        history = json_object_new_array ();
        json_object_object_add (image->config, "history", history);
    }
    json_object *h = json_object_new_object ();
    json_object_object_add (h, "created", json_object_new_string (created));
    json_object_object_add (h, "created_by", json_object_new_string (created_by));
    if (layer == NULL)
        json_object_object_add (h, "empty_layer", json_object_new_boolean (1));
    json_object_array_add (history, h);
    json_object_object_add (image->config, "created", json_object_new_string (created));

    const char *config_text = json_object_to_json_string_ext (
        image->config, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t config_len = strlen (config_text);
    if (wr_store_put_blob (store, config_text, config_len, NULL, image->config_digest, err) < 0)
        return wr_error_prefix (err, "store the new config");

    json_object *m = json_object_new_object ();
    json_object_object_add (m, "schemaVersion", json_object_new_int (2));
    json_object_object_add (m, "mediaType", json_object_new_string (WR_MEDIA_OCI_MANIFEST));
    json_object *c = json_object_new_object ();
    json_object_object_add (c, "mediaType", json_object_new_string (WR_MEDIA_OCI_CONFIG));
    json_object_object_add (c, "digest", json_object_new_string (image->config_digest));
    json_object_object_add (c, "size", json_object_new_int64 ((int64_t) config_len));
    json_object_object_add (m, "config", c);
    json_object_object_add (m, "layers", json_object_get (image->layers));
    const char *manifest_text =
        json_object_to_json_string_ext (m, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    int r = wr_store_put_blob (store, manifest_text, strlen (manifest_text), NULL,
                               image->manifest_digest, err);
    json_object_put (m);
    if (r < 0)
        return wr_error_prefix (err, "store the new manifest");
    return 0;
}

/* ---- running a step ---- */

static char *
find_runsc (const wr_build_options_t *options)
{
    if (options != NULL && options->runsc != NULL)
        return xstrdup (options->runsc);
    const char *path = getenv ("PATH");
    cleanup_strv char **dirs = wr_strv_split (path != NULL ? path : "/usr/bin:/bin", ":");
    for (size_t i = 0; dirs != NULL && dirs[i] != NULL; i++) {
        char *candidate = xasprintf ("%s/runsc", dirs[i]);
        if (access (candidate, X_OK) == 0)
            return candidate;
        free (candidate);
    }
    return xstrdup ("/usr/bin/runsc");
}

/* Runs the bundle DIR once with runsc; the sandbox's output goes to
 * OUTPUT_FD.  *STATUS gets the wait status. */
static int
run_sandbox (const char *runsc, const char *state, const char *dir, const char *id, int output_fd,
             int timeout, int *status, wr_error_t *err)
{
    char *argv[] = { (char *) runsc,    "--root", (char *) state, "--network=host",
                     "--overlay2=none", "run",    "--bundle",     (char *) dir,
                     (char *) id,       NULL };
    pid_t pid = fork ();
    if (pid < 0)
        return wr_error_set (err, errno, "run `%s`: fork", runsc);
    if (pid == 0) {
        int null_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd >= 0)
            dup2 (null_fd, 0);
        dup2 (output_fd, 1);
        dup2 (output_fd, 2);
        execv (runsc, argv);
        _exit (127);
    }
    time_t deadline = time (NULL) + timeout;
    for (;;) {
        pid_t got = waitpid (pid, status, WNOHANG);
        if (got == pid)
            return 0;
        if (got < 0 && errno != EINTR)
            return wr_error_set (err, errno, "wait for `%s`", runsc);
        if (time (NULL) > deadline) {
            kill (pid, SIGKILL);
            waitpid (pid, status, 0);
            char *del[] = { (char *) runsc, "--root", (char *) state, "delete", "-force",
                            (char *) id,    NULL };
            pid_t d = fork ();
            if (d == 0) {
                execv (runsc, del);
                _exit (127);
            }
            if (d > 0)
                waitpid (d, NULL, 0);
            return wr_error_set (err, ETIMEDOUT, "sandbox `%s` ran longer than %d s", id, timeout);
        }
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        nanosleep (&ts, NULL);
    }
}

static char *
describe_status (int status)
{
    if (WIFEXITED (status))
        return xasprintf ("exited with status %d", WEXITSTATUS (status));
    if (WIFSIGNALED (status))
        return xasprintf ("was killed by signal %d", WTERMSIG (status));
    return xasprintf ("ended with wait status %d", status);
}

/* /etc/os-release's ID of the root ROOT_FD (resolved inside it). */
static char *
os_release_id (int root_fd, wr_error_t *err)
{
    const char *paths[] = { "etc/os-release", "usr/lib/os-release", NULL };
    for (size_t i = 0; paths[i] != NULL; i++) {
        cleanup_close int fd = wr_open_in_root (root_fd, paths[i], O_RDONLY | O_NONBLOCK, 0);
        if (fd < 0)
            continue;
        struct stat st;
        if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_size > 65536)
            continue;
        char buf[65537];
        ssize_t n = read (fd, buf, sizeof buf - 1);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        for (char *save = NULL, *line = strtok_r (buf, "\n", &save); line != NULL;
             line = strtok_r (NULL, "\n", &save)) {
            if (strncmp (line, "ID=", 3) != 0)
                continue;
            char *v = line + 3;
            size_t len = strlen (v);
            if (len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0]) {
                v[len - 1] = '\0';
                v++;
            }
            return xstrdup (v);
        }
    }
    wr_error_set (err, 0,
                  "with_docker: the image has no /etc/os-release with an ID: "
                  "supported distributions are debian and ubuntu");
    return NULL;
}

/* Copies host SRC (file, directory or symlink) to NAME in DIR_FD, which is
 * inside the image's merged root: nothing there is followed. */
static int
copy_in (int src_dir, const char *src, int dir_fd, const char *name, const char *shown,
         wr_error_t *err)
{
    struct stat st;
    if (fstatat (src_dir, src, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return wr_error_set (err, errno, "copy: `%s`", shown);
    struct stat old;
    bool exists = fstatat (dir_fd, name, &old, AT_SYMLINK_NOFOLLOW) == 0;
    if (S_ISDIR (st.st_mode)) {
        if (exists && !S_ISDIR (old.st_mode)) {
            if (unlinkat (dir_fd, name, 0) < 0)
                return wr_error_set (err, errno, "copy: replace `%s`", shown);
            exists = false;
        }
        if (!exists && mkdirat (dir_fd, name, st.st_mode & 07777) < 0)
            return wr_error_set (err, errno, "copy: make `%s`", shown);
        cleanup_close int to =
            openat (dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        cleanup_close int from =
            openat (src_dir, src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (to < 0 || from < 0)
            return wr_error_set (err, errno, "copy: open `%s`", shown);
        if (fchown (to, 0, 0) < 0 || fchmod (to, st.st_mode & 07777) < 0)
            return wr_error_set (err, errno, "copy: set the owner of `%s`", shown);
        int dup_fd = dup (from);
        cleanup_closedir DIR *dir = dup_fd >= 0 ? fdopendir (dup_fd) : NULL;
        if (dir == NULL)
            return wr_error_set (err, errno, "copy: read `%s`", shown);
        cleanup_strv char **names = NULL;
        struct dirent *de;
        while ((de = readdir (dir)) != NULL)
            if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
                wr_strv_add (&names, de->d_name);
        for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
            cleanup_free char *child = xasprintf ("%s/%s", shown, names[i]);
            if (copy_in (from, names[i], to, names[i], child, err) < 0)
                return -1;
        }
        return 0;
    }
    if (exists && wr_remove_tree_at (dir_fd, name, err) < 0)
        return -1;
    if (S_ISLNK (st.st_mode)) {
        char target[4096];
        ssize_t len = readlinkat (src_dir, src, target, sizeof target - 1);
        if (len < 0)
            return wr_error_set (err, errno, "copy: read symlink `%s`", shown);
        target[len] = '\0';
        if (symlinkat (target, dir_fd, name) < 0 ||
            fchownat (dir_fd, name, 0, 0, AT_SYMLINK_NOFOLLOW) < 0)
            return wr_error_set (err, errno, "copy: make symlink `%s`", shown);
        return 0;
    }
    if (!S_ISREG (st.st_mode))
        return wr_error_set (err, 0, "copy: `%s` is not a file, directory or symlink", shown);
    cleanup_close int in = openat (src_dir, src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return wr_error_set (err, errno, "copy: open `%s`", shown);
    cleanup_close int out =
        openat (dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return wr_error_set (err, errno, "copy: create `%s` in the image", shown);
    cleanup_free char *buf = xmalloc (COPY_BUFFER);
    ssize_t n;
    while ((n = read (in, buf, COPY_BUFFER)) > 0)
        if (write (out, buf, (size_t) n) != n)
            return wr_error_set (err, errno, "copy: write `%s`", shown);
    if (n < 0)
        return wr_error_set (err, errno, "copy: read `%s`", shown);
    struct timespec times[2] = { st.st_atim, st.st_mtim };
    if (fchown (out, 0, 0) < 0 || fchmod (out, st.st_mode & 07777) < 0 || futimens (out, times) < 0)
        return wr_error_set (err, errno, "copy: set the metadata of `%s`", shown);
    return 0;
}

static int
copy_step (const wr_build_step_t *step, const char *rootfs, wr_error_t *err)
{
    cleanup_free char *path =
        wr_path_normalize (step->dst[0] == '/' ? step->dst + 1 : step->dst, err);
    if (path == NULL)
        return wr_error_prefix (err, "copy: destination `%s`", step->dst);
    if (path[0] == '\0')
        return wr_error_set (err, 0, "copy: the destination cannot be the root");
    cleanup_close int root_fd = open (rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        return wr_error_set (err, errno, "open `%s`", rootfs);
    const char *base = NULL;
    cleanup_close int parent_path_fd = wr_open_parent_in_root (root_fd, path, true, &base);
    if (parent_path_fd < 0)
        return wr_error_set (err, errno, "copy: the directory of `%s` in the image", step->dst);
    /* The O_PATH descriptor cannot be written through: reopen it. */
    cleanup_close int parent = openat (parent_path_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (parent < 0)
        return wr_error_set (err, errno, "copy: open the directory of `%s`", step->dst);
    return copy_in (AT_FDCWD, step->src, parent, base, step->src, err);
}

typedef struct {
    wr_store_t *store;
    const wr_build_options_t *options;
    char *work; /* STORE/build */
    char *runsc;
    int output_fd;
    int timeout;
    unsigned counter;
} builder_t;

/* Runs a layer step on IMAGE: a bundle on its root, the step in it, the
 * upper directory as a new layer.  *LAYER gets the layer's digests. */
static int
layer_step (builder_t *b, image_t *image, const wr_build_step_t *step, size_t index,
            wr_layer_diff_result_t *layer, wr_error_t *err)
{
    cleanup_free char *lower = image_root (b->store, image, err);
    if (lower == NULL)
        return -1;
    cleanup_free char *dir = xasprintf ("%s/%d-%u", b->work, (int) getpid (), b->counter++);
    cleanup_free char *id = xasprintf ("warren-build-%d-%u", (int) getpid (), b->counter);
    cleanup_free char *state = xasprintf ("%s/runsc", b->work);
    cleanup_free char *layer_path = xasprintf ("%s.layer", dir);
    mkdir (state, 0700);
    wr_bundle_destroy (dir, NULL);
    if (wr_bundle_mount (dir, lower, err) < 0)
        return -1;
    int r = 0;
    cleanup_strv char **commands = NULL;
    if (step->kind == WR_BUILD_RUN) {
        commands = wr_strv_copy (step->commands);
    } else if (step->kind == WR_BUILD_WITH_DOCKER) {
        cleanup_close int root_fd = open (lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cleanup_free char *os = root_fd >= 0 ? os_release_id (root_fd, err) : NULL;
        if (root_fd < 0)
            r = wr_error_set (err, errno, "open `%s`", lower);
        else if (os == NULL)
            r = -1;
        else if (strcmp (os, "debian") != 0 && strcmp (os, "ubuntu") != 0)
            r = wr_error_set (err, 0,
                              "with_docker: the image's distribution is `%s` (ID in "
                              "/etc/os-release); supported distributions are debian and ubuntu",
                              os);
        else
            wr_strv_add_take (&commands, with_docker_script (apt_mirror (b->options)));
    } else if (step->kind == WR_BUILD_COPY) {
        cleanup_free char *rootfs = xasprintf ("%s/rootfs", dir);
        r = copy_step (step, rootfs, err);
    }
    for (size_t i = 0; r == 0 && commands != NULL && commands[i] != NULL; i++) {
        const char *args[] = { "/bin/sh", "-c", commands[i], NULL };
        /* Package installs need root, whatever user the image runs as. */
        wr_bundle_options_t bopts = {
            .args = args,
            .host_network = true,
            .user = step->kind == WR_BUILD_WITH_DOCKER ? "0:0" : NULL,
        };
        cleanup_close int root_fd = open (lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cleanup_spec wr_spec_t *spec =
            wr_bundle_spec (root_fd, &image->parsed, NULL, NULL, &bopts, err);
        cleanup_free char *config_path = xasprintf ("%s/config.json", dir);
        if (spec == NULL || wr_spec_save (spec, config_path, err) < 0) {
            r = -1;
            break;
        }
        char step_no[24];
        snprintf (step_no, sizeof step_no, "%zu", index + 1);
        wr_log (WR_LOG_INFO, "running", "step", step_no, "command", commands[i], NULL);
        int status = 0;
        r = run_sandbox (b->runsc, state, dir, id, b->output_fd, b->timeout, &status, err);
        if (r == 0 && !(WIFEXITED (status) && WEXITSTATUS (status) == 0)) {
            cleanup_free char *how = describe_status (status);
            r = wr_error_set (err, 0, "step %zu: `%s` %s", index + 1,
                              step->kind == WR_BUILD_WITH_DOCKER ? "with_docker" : commands[i],
                              how);
        }
    }
    if (wr_bundle_unmount (dir, r == 0 ? err : NULL) < 0)
        r = -1;
    if (r == 0) {
        cleanup_free char *upper = xasprintf ("%s/upper", dir);
        cleanup_close int upper_fd = open (upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cleanup_close int out = open (layer_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (upper_fd < 0 || out < 0)
            r = wr_error_set (err, errno, "open `%s`", upper_fd < 0 ? upper : layer_path);
        if (r == 0)
            r = wr_layer_diff_write (upper_fd, out, layer, err);
        if (r == 0)
            r = store_blob_from_fd (b->store, out, layer->digest, layer->size, err);
    }
    unlink (layer_path);
    wr_bundle_destroy (dir, NULL);
    return r;
}

static void
config_set_env (image_t *image, char *const *env)
{
    json_object *config = object_child (image->config, "config");
    json_object *old = NULL, *list = json_object_new_array ();
    json_object_object_get_ex (config, "Env", &old);
    cleanup_strv char **merged = NULL;
    for (size_t i = 0; old != NULL && json_object_is_type (old, json_type_array) &&
                       i < json_object_array_length (old);
         i++)
        wr_strv_add (&merged, json_object_get_string (json_object_array_get_idx (old, i)));
    for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
        size_t name_len = (size_t) (strchr (env[i], '=') - env[i]);
        bool replaced = false;
        for (size_t j = 0; merged != NULL && merged[j] != NULL; j++) {
            if (strncmp (merged[j], env[i], name_len) == 0 && merged[j][name_len] == '=') {
                free (merged[j]);
                merged[j] = xstrdup (env[i]);
                replaced = true;
            }
        }
        if (!replaced)
            wr_strv_add (&merged, env[i]);
    }
    for (size_t i = 0; merged != NULL && merged[i] != NULL; i++)
        json_object_array_add (list, json_object_new_string (merged[i]));
    json_object_object_add (config, "Env", list);
}

static int
run_step (builder_t *b, image_t *image, const wr_build_step_t *step, size_t index,
          const char *description, wr_build_result_t *result, wr_error_t *err)
{
    cleanup_free char *created_by = xasprintf ("warren build: %s", description);
    if (step->kind == WR_BUILD_ENV) {
        config_set_env (image, step->env);
        return image_commit (b->store, image, NULL, created_by, err);
    }
    wr_layer_diff_result_t layer;
    if (layer_step (b, image, step, index, &layer, err) < 0)
        return -1;
    result->layers_added++;
    if (image_commit (b->store, image, &layer, created_by, err) < 0)
        return -1;
    /* Parse the new config again: diff ids and the root id follow. */
    cleanup_free char *manifest_digest = xstrdup (image->manifest_digest);
    image_clear (image);
    if (image_load (b->store, manifest_digest, image, err) < 0)
        return -1;
    cleanup_free char *root = image_root (b->store, image, err);
    return root != NULL ? 0 : -1;
}

int
wr_image_build (wr_store_t *store, const wr_image_record_t *base, const wr_build_step_t *steps,
                size_t n_steps, const char *name, const wr_build_options_t *options,
                wr_image_record_t *out, wr_build_result_t *result, wr_error_t *err)
{
    static const wr_build_options_t no_options;
    if (options == NULL)
        options = &no_options;
    wr_build_result_t local_result;
    if (result == NULL)
        result = &local_result;
    memset (result, 0, sizeof *result);
    if (name == NULL || name[0] == '\0')
        return wr_error_set (err, 0, "a build needs a name for its image");

    builder_t b = {
        .store = store,
        .options = options,
        .work = xasprintf ("%s/build", wr_store_path (store)),
        .runsc = find_runsc (options),
        .output_fd = options->output_fd > 0 ? options->output_fd : STDERR_FILENO,
        .timeout = options->step_timeout > 0 ? options->step_timeout : 3600,
    };
    sqlite3 *db = NULL;
    image_t image = { 0 };
    int lock_fd = -1, r = -1;
    /* Each step's manifest and config, recorded with the built image so
     * that prune keeps them (a few KB; the layers are the image's own) and
     * the next build of the same steps is all cache hits. */
    cleanup_strv char **step_blobs = NULL;
    if (mkdir (b.work, 0700) < 0 && errno != EEXIST) {
        wr_error_set (err, errno, "create `%s`", b.work);
        goto out;
    }
    /* Held shared until the image is recorded: prune waits, and removes
     * nothing this build is about to reference. */
    lock_fd = wr_store_lock_shared (store, err);
    if (lock_fd < 0 || cache_open (store, &db, err) < 0)
        goto out;
    if (image_load (store, base->manifest_digest, &image, err) < 0) {
        wr_error_prefix (err, "base image `%s`", base->name);
        goto out;
    }
    for (size_t i = 0; i < n_steps; i++) {
        cleanup_free char *description = wr_build_step_describe (&steps[i], options, err);
        if (description == NULL)
            goto out;
        char key[WR_DIGEST_MAX_LEN + 1];
        wr_build_cache_key (image.manifest_digest, description, key);
        char step_no[48];
        snprintf (step_no, sizeof step_no, "%zu/%zu", i + 1, n_steps);
        cleanup_free char *cached = NULL;
        int hit = cache_get (db, key, &cached, err);
        if (hit < 0)
            goto out;
        if (hit > 0) {
            image_t next = { 0 };
            if (image_load (store, cached, &next, NULL) == 0) {
                image_clear (&image);
                image = next;
                wr_log (WR_LOG_INFO, "cache hit", "step", step_no, "key", key, "manifest", cached,
                        NULL);
                result->steps_cached++;
                wr_strv_add (&step_blobs, image.manifest_digest);
                wr_strv_add (&step_blobs, image.config_digest);
                continue;
            }
        }
        wr_log (WR_LOG_INFO, "build step", "step", step_no, "does", description, NULL);
        if (run_step (&b, &image, &steps[i], i, description, result, err) < 0) {
            wr_error_prefix (err, "build step %s", step_no);
            goto out;
        }
        if (cache_put (db, key, image.manifest_digest, err) < 0)
            goto out;
        result->steps_run++;
        wr_strv_add (&step_blobs, image.manifest_digest);
        wr_strv_add (&step_blobs, image.config_digest);
    }
    {
        cleanup_free char *root = image_root (store, &image, err);
        if (root == NULL)
            goto out;
        size_t n = json_object_array_length (image.layers);
        cleanup_strv char **blobs = NULL;
        for (size_t i = 0; i < n; i++) {
            json_object *digest = NULL;
            json_object_object_get_ex (json_object_array_get_idx (image.layers, i), "digest",
                                       &digest);
            wr_strv_add (&blobs, json_object_get_string (digest));
        }
        for (char **d = step_blobs; d != NULL && *d != NULL; d++)
            if (!wr_strv_contains (blobs, *d))
                wr_strv_add (&blobs, *d);
        wr_image_record_t record = {
            .name = (char *) name,
            .manifest_digest = image.manifest_digest,
            .config_digest = image.config_digest,
            .root_id = image.root_id,
            .size = image.size,
        };
        if (wr_store_image_put (store, &record, (const char *const *) blobs, err) < 0)
            goto out;
        if (out != NULL && wr_store_image_get (store, name, out, err) < 0)
            goto out;
    }
    char counts[64];
    snprintf (counts, sizeof counts, "%zu run, %zu cached", result->steps_run,
              result->steps_cached);
    wr_log (WR_LOG_INFO, "image built", "image", name, "manifest", image.manifest_digest, "steps",
            counts, NULL);
    r = 0;
out:
    image_clear (&image);
    if (db != NULL)
        sqlite3_close_v2 (db);
    if (lock_fd >= 0)
        wr_store_unlock (lock_fd);
    free (b.work);
    free (b.runsc);
    return r;
}
