/* Image builds: steps parsed from the command line's forms, cache keys
 * that change exactly when the parent or the step does (a copy's source
 * content included), and builds of env and copy steps (no sandbox needed)
 * on a small image made in a fresh store: new config, new layer, new root,
 * and a second identical build that is all cache hits.  with_docker on a
 * distribution it does not know fails naming it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "image_build.h"
#include "image_pull.h"
#include "layer_diff.h"
#include "manifest.h"
#include "path_in_root.h"
#include "store.h"
#include "strv.h"
#include "xalloc.h"
#include "remove_tree.h"

typedef struct {
    char *dir;
    int dir_fd;
    wr_store_t *store;
    wr_image_record_t base;
} fixture_t;

static void
write_at (int dir_fd, const char *path, const char *data)
{
    int fd = openat (dir_fd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, data, strlen (data)), (ssize_t) strlen (data));
    close (fd);
}

static char *
read_path (const char *path, size_t *len)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    assert_true (fd >= 0);
    struct stat st;
    assert_int_equal (fstat (fd, &st), 0);
    char *data = xmalloc ((size_t) st.st_size + 1);
    assert_int_equal (read (fd, data, (size_t) st.st_size), st.st_size);
    data[st.st_size] = '\0';
    close (fd);
    *len = (size_t) st.st_size;
    return data;
}

/* A one-layer image "test/base:1" in a fresh store: /etc/os-release says
 * alpine, /etc/motd says base. */
static int
setup (void **state)
{
    fixture_t *f = xzalloc (sizeof *f);
    f->dir = xstrdup ("/tmp/test_image_build.XXXXXX");
    if (mkdtemp (f->dir) == NULL)
        return -1;
    f->dir_fd = open (f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    mkdirat (f->dir_fd, "src", 0755);
    mkdirat (f->dir_fd, "src/etc", 0755);
    write_at (f->dir_fd, "src/etc/os-release", "NAME=\"Alpine Linux\"\nID=alpine\n");
    write_at (f->dir_fd, "src/etc/motd", "base\n");
    mkdirat (f->dir_fd, "host", 0755);
    mkdirat (f->dir_fd, "host/tree", 0755);
    write_at (f->dir_fd, "host/tree/a.txt", "a\n");
    write_at (f->dir_fd, "host/file.txt", "file\n");

    cleanup_error wr_error_t err = NULL;
    cleanup_free char *store_dir = xasprintf ("%s/store", f->dir);
    f->store = wr_store_open (store_dir, &err);
    assert_non_null (f->store);

    int src = openat (f->dir_fd, "src", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int out = openat (f->dir_fd, "layer.tar.gz", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    wr_layer_diff_result_t layer;
    assert_int_equal (wr_layer_diff_write (src, out, &layer, &err), 0);
    close (src);
    close (out);
    cleanup_free char *layer_path = xasprintf ("%s/layer.tar.gz", f->dir);
    size_t len = 0;
    cleanup_free char *data = read_path (layer_path, &len);
    assert_int_equal (wr_store_put_blob (f->store, data, len, layer.digest, NULL, &err), 0);

    cleanup_free char *config = xasprintf (
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/bin\","
        "\"KEEP=1\"],\"Cmd\":[\"sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
        layer.diff_id);
    char config_digest[WR_DIGEST_MAX_LEN + 1];
    assert_int_equal (
        wr_store_put_blob (f->store, config, strlen (config), NULL, config_digest, &err), 0);
    cleanup_free char *manifest = xasprintf (
        "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
        "\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\","
        "\"size\":%lld}]}",
        WR_MEDIA_OCI_MANIFEST, WR_MEDIA_OCI_CONFIG, config_digest, strlen (config),
        WR_MEDIA_DOCKER_LAYER_TAR_GZIP, layer.digest, (long long) layer.size);
    char manifest_digest[WR_DIGEST_MAX_LEN + 1];
    assert_int_equal (
        wr_store_put_blob (f->store, manifest, strlen (manifest), NULL, manifest_digest, &err), 0);
    f->base.name = xstrdup ("test/base:1");
    f->base.manifest_digest = xstrdup (manifest_digest);
    f->base.config_digest = xstrdup (config_digest);
    const char *blobs[] = { layer.digest, NULL };
    assert_int_equal (wr_store_image_put (f->store, &f->base, blobs, &err), 0);
    *state = f;
    return 0;
}

static int
teardown (void **state)
{
    fixture_t *f = *state;
    wr_image_record_clear (&f->base);
    wr_store_close (f->store);
    wr_remove_tree_at (AT_FDCWD, f->dir, NULL);
    close (f->dir_fd);
    free (f->dir);
    free (f);
    return 0;
}

static void
test_parse_steps (void **state)
{
    (void) state;
    wr_build_step_t step;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_build_step_parse ("run", "echo hi", &step, &err), 0);
    assert_int_equal (step.kind, WR_BUILD_RUN);
    assert_string_equal (step.commands[0], "echo hi");
    wr_build_step_clear (&step);
    assert_int_equal (wr_build_step_parse ("copy", "./a:b:/opt/x", &step, &err), 0);
    assert_string_equal (step.src, "./a:b");
    assert_string_equal (step.dst, "/opt/x");
    wr_build_step_clear (&step);
    assert_int_equal (wr_build_step_parse ("with-docker", NULL, &step, &err), 0);
    assert_int_equal (step.kind, WR_BUILD_WITH_DOCKER);
    wr_build_step_clear (&step);

    const char *bad[][2] = { { "env", "NOEQUALS" }, { "env", "=v" }, { "copy", "src" },
                             { "copy", "src:rel" }, { "run", "" },   { "frobnicate", "x" } };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cleanup_error wr_error_t e = NULL;
        assert_int_equal (wr_build_step_parse (bad[i][0], bad[i][1], &step, &e), -1);
        assert_non_null (e);
    }
}

static char *
key_of (const char *parent, const char *kind, const char *arg, const wr_build_options_t *options)
{
    wr_build_step_t step;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_build_step_parse (kind, arg, &step, &err), 0);
    cleanup_free char *description = wr_build_step_describe (&step, options, &err);
    if (description == NULL)
        fail_msg ("%s", err->message);
    wr_build_step_clear (&step);
    char key[WR_DIGEST_MAX_LEN + 1];
    wr_build_cache_key (parent, description, key);
    assert_int_equal (wr_digest_validate (key, NULL), 0);
    return xstrdup (key);
}

static void
test_cache_keys (void **state)
{
    fixture_t *f = *state;
    const char *p1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const char *p2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    cleanup_free char *a = key_of (p1, "run", "echo a", NULL);
    cleanup_free char *a2 = key_of (p1, "run", "echo a", NULL);
    cleanup_free char *b = key_of (p1, "run", "echo b", NULL);
    cleanup_free char *c = key_of (p2, "run", "echo a", NULL);
    cleanup_free char *e = key_of (p1, "env", "echo a=1", NULL);
    assert_string_equal (a, a2);
    assert_string_not_equal (a, b);
    assert_string_not_equal (a, c);
    assert_string_not_equal (a, e);

    /* with_docker depends on the apt mirror it installs from. */
    wr_build_options_t m1 = { .apt_mirror = "http://127.0.0.1:1/" };
    wr_build_options_t m2 = { .apt_mirror = "http://127.0.0.1:2/" };
    cleanup_free char *d1 = key_of (p1, "with-docker", NULL, &m1);
    cleanup_free char *d1b = key_of (p1, "with-docker", NULL, &m1);
    cleanup_free char *d2 = key_of (p1, "with-docker", NULL, &m2);
    assert_string_equal (d1, d1b);
    assert_string_not_equal (d1, d2);

    /* A copy's key follows the content of its source. */
    cleanup_free char *arg = xasprintf ("%s/host/tree:/opt/tree", f->dir);
    cleanup_free char *k1 = key_of (p1, "copy", arg, NULL);
    cleanup_free char *k1b = key_of (p1, "copy", arg, NULL);
    assert_string_equal (k1, k1b);
    write_at (f->dir_fd, "host/tree/a.txt", "A\n");
    cleanup_free char *k2 = key_of (p1, "copy", arg, NULL);
    assert_string_not_equal (k1, k2);
    write_at (f->dir_fd, "host/tree/new", "");
    cleanup_free char *k3 = key_of (p1, "copy", arg, NULL);
    assert_string_not_equal (k2, k3);

    /* A missing source is an error naming it. */
    wr_build_step_t step;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_build_step_parse ("copy", "/nonexistent/x:/x", &step, &err), 0);
    assert_null (wr_build_step_describe (&step, NULL, &err));
    assert_non_null (strstr (err->message, "/nonexistent/x"));
    wr_build_step_clear (&step);
}

static wr_build_step_t *
make_steps (fixture_t *f, size_t *n)
{
    wr_build_step_t *steps = xzalloc (3 * sizeof *steps);
    cleanup_error wr_error_t err = NULL;
    cleanup_free char *tree = xasprintf ("%s/host/tree:/opt/tree", f->dir);
    cleanup_free char *file = xasprintf ("%s/host/file.txt:/etc/motd", f->dir);
    assert_int_equal (wr_build_step_parse ("env", "FOO=bar", &steps[0], &err), 0);
    assert_int_equal (wr_build_step_parse ("copy", tree, &steps[1], &err), 0);
    assert_int_equal (wr_build_step_parse ("copy", file, &steps[2], &err), 0);
    *n = 3;
    return steps;
}

static void
free_steps (wr_build_step_t *steps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        wr_build_step_clear (&steps[i]);
    free (steps);
}

static void
test_build_and_cache (void **state)
{
    fixture_t *f = *state;
    size_t n = 0;
    wr_build_step_t *steps = make_steps (f, &n);
    wr_image_record_t out = { 0 };
    wr_build_result_t result;
    cleanup_error wr_error_t err = NULL;
    if (wr_image_build (f->store, &f->base, steps, n, "test/built:1", NULL, &out, &result, &err) <
        0)
        fail_msg ("%s", err->message);
    assert_int_equal (result.steps_run, 3);
    assert_int_equal (result.steps_cached, 0);
    assert_int_equal (result.layers_added, 2);
    assert_string_equal (out.name, "test/built:1");
    assert_non_null (out.root_id);

    /* The new root: the base's files, the copies over them. */
    cleanup_free char *root = wr_store_root_path (f->store, out.root_id, NULL);
    cleanup_free char *motd_path = xasprintf ("%s/etc/motd", root);
    cleanup_free char *tree_path = xasprintf ("%s/opt/tree/a.txt", root);
    cleanup_free char *os_path = xasprintf ("%s/etc/os-release", root);
    size_t len = 0;
    cleanup_free char *motd = read_path (motd_path, &len);
    assert_string_equal (motd, "file\n");
    cleanup_free char *a = read_path (tree_path, &len);
    assert_string_equal (a, "a\n");
    assert_int_equal (access (os_path, F_OK), 0);

    /* The new config: env added, three layers, history. */
    cleanup_free char *config_text = NULL;
    assert_int_equal (wr_store_read_blob (f->store, out.config_digest, WR_CONFIG_MAX_SIZE,
                                          &config_text, &len, &err),
                      0);
    wr_image_config_t config = { 0 };
    assert_int_equal (wr_image_config_parse (config_text, len, "built", &config, &err), 0);
    assert_int_equal (wr_strv_length (config.diff_ids), 3);
    assert_true (wr_strv_contains (config.env, "FOO=bar"));
    assert_true (wr_strv_contains (config.env, "KEEP=1"));
    assert_string_equal (config.cmd[0], "sh");
    wr_image_config_clear (&config);
    cleanup_free char *manifest_text = NULL;
    assert_int_equal (wr_store_read_blob (f->store, out.manifest_digest, WR_MANIFEST_MAX_SIZE,
                                          &manifest_text, &len, &err),
                      0);
    wr_manifest_t manifest = { 0 };
    assert_int_equal (wr_manifest_parse (manifest_text, len, NULL, "built", &manifest, &err), 0);
    assert_int_equal (manifest.n_layers, 3);
    assert_string_equal (manifest.media_type, WR_MEDIA_OCI_MANIFEST);
    for (size_t i = 0; i < manifest.n_layers; i++) {
        assert_string_equal (manifest.layers[i].media_type, WR_MEDIA_OCI_LAYER_TAR_GZIP);
        assert_true (
            wr_store_has_blob_size (f->store, manifest.layers[i].digest, manifest.layers[i].size));
    }
    wr_manifest_clear (&manifest);

    /* Again: every step from the cache, the same image. */
    wr_image_record_t again = { 0 };
    if (wr_image_build (f->store, &f->base, steps, n, "test/built:2", NULL, &again, &result, &err) <
        0)
        fail_msg ("%s", err->message);
    assert_int_equal (result.steps_run, 0);
    assert_int_equal (result.steps_cached, 3);
    assert_int_equal (result.layers_added, 0);
    assert_string_equal (again.manifest_digest, out.manifest_digest);

    /* A prune keeps every step's manifest and config with the built image:
     * the next build is still all cache hits. */
    wr_prune_stats_t stats;
    assert_int_equal (wr_store_prune (f->store, &stats, &err), 0);
    wr_image_record_t after_prune = { 0 };
    if (wr_image_build (f->store, &f->base, steps, n, "test/built:2", NULL, &after_prune, &result,
                        &err) < 0)
        fail_msg ("%s", err->message);
    assert_int_equal (result.steps_run, 0);
    assert_int_equal (result.steps_cached, 3);
    assert_string_equal (after_prune.manifest_digest, out.manifest_digest);
    wr_image_record_clear (&after_prune);

    /* A changed source: the steps before it are cached, it runs again. */
    write_at (f->dir_fd, "host/file.txt", "changed\n");
    wr_image_record_t changed = { 0 };
    if (wr_image_build (f->store, &f->base, steps, n, "test/built:3", NULL, &changed, &result,
                        &err) < 0)
        fail_msg ("%s", err->message);
    assert_int_equal (result.steps_cached, 2);
    assert_int_equal (result.steps_run, 1);
    assert_string_not_equal (changed.manifest_digest, out.manifest_digest);

    wr_image_record_clear (&out);
    wr_image_record_clear (&again);
    wr_image_record_clear (&changed);
    free_steps (steps, n);
}

/* A copy through a symlink the image holds is resolved inside the root:
 * /escape -> /etc writes the root's /etc, never the host's; a symlink to a
 * directory the root does not have is refused, and nothing is written
 * outside. */
static void
test_copy_stays_inside (void **state)
{
    fixture_t *f = *state;
    wr_build_step_t steps[2];
    cleanup_error wr_error_t err = NULL;
    cleanup_free char *link_src = xasprintf ("%s/host/link", f->dir);
    assert_int_equal (symlink ("/etc", link_src), 0);
    cleanup_free char *name = xasprintf ("warren-test-pwned-%d", (int) getpid ());
    cleanup_free char *a1 = xasprintf ("%s:/escape", link_src);
    cleanup_free char *a2 = xasprintf ("%s/host/file.txt:/escape/%s", f->dir, name);
    assert_int_equal (wr_build_step_parse ("copy", a1, &steps[0], &err), 0);
    assert_int_equal (wr_build_step_parse ("copy", a2, &steps[1], &err), 0);
    wr_image_record_t out = { 0 };
    wr_build_result_t result;
    if (wr_image_build (f->store, &f->base, steps, 2, "test/escape:1", NULL, &out, &result, &err) <
        0)
        fail_msg ("%s", err->message);
    cleanup_free char *host = xasprintf ("/etc/%s", name);
    assert_int_equal (access (host, F_OK), -1);
    cleanup_free char *root = wr_store_root_path (f->store, out.root_id, NULL);
    cleanup_free char *inside = xasprintf ("%s/etc/%s", root, name);
    assert_int_equal (access (inside, F_OK), 0);
    wr_image_record_clear (&out);
    wr_build_step_clear (&steps[0]);
    wr_build_step_clear (&steps[1]);

    cleanup_free char *outside = xasprintf ("%s/outside", f->dir);
    assert_int_equal (mkdir (outside, 0755), 0);
    assert_int_equal (unlink (link_src), 0);
    assert_int_equal (symlink (outside, link_src), 0);
    cleanup_free char *a3 = xasprintf ("%s/host/file.txt:/escape/pwned", f->dir);
    assert_int_equal (wr_build_step_parse ("copy", a1, &steps[0], &err), 0);
    assert_int_equal (wr_build_step_parse ("copy", a3, &steps[1], &err), 0);
    cleanup_error wr_error_t err2 = NULL;
    assert_int_equal (
        wr_image_build (f->store, &f->base, steps, 2, "test/escape:2", NULL, NULL, NULL, &err2),
        -1);
    assert_non_null (strstr (err2->message, "/escape/pwned"));
    cleanup_free char *pwned = xasprintf ("%s/pwned", outside);
    assert_int_equal (access (pwned, F_OK), -1);
    wr_build_step_clear (&steps[0]);
    wr_build_step_clear (&steps[1]);
}

static void
write_text (const char *path, const char *text)
{
    FILE *fp = fopen (path, "w");
    assert_non_null (fp);
    fputs (text, fp);
    assert_int_equal (fclose (fp), 0);
}

static wr_build_step_t
copy_of (const char *src, const char *dst)
{
    return (wr_build_step_t){ .kind = WR_BUILD_COPY, .src = xstrdup (src), .dst = xstrdup (dst) };
}

/* With a build context, sources are paths inside it: a directory's
 * contents go to the destination, a file into a destination ending in `/`
 * or naming a directory of the image, the whole context with "."; a
 * symlink of the context is never followed out of it. */
static void
test_copy_from_context (void **state)
{
    fixture_t *f = *state;
    cleanup_free char *ctx = xasprintf ("%s/ctx", f->dir);
    cleanup_free char *app = xasprintf ("%s/app", ctx);
    cleanup_free char *x = xasprintf ("%s/app/x.txt", ctx);
    cleanup_free char *file = xasprintf ("%s/file.txt", ctx);
    cleanup_free char *link = xasprintf ("%s/link", ctx);
    assert_int_equal (mkdir (ctx, 0755), 0);
    assert_int_equal (mkdir (app, 0755), 0);
    write_text (x, "x\n");
    write_text (file, "file\n");
    assert_int_equal (symlink ("/etc", link), 0);
    wr_build_step_t steps[] = { copy_of ("app", "/srv/app"), copy_of ("file.txt", "/srv/"),
                                copy_of ("file.txt", "/etc"), copy_of (".", "/all") };
    wr_build_options_t options = { .context_dir = ctx };
    wr_image_record_t out = { 0 };
    cleanup_error wr_error_t err = NULL;
    if (wr_image_build (f->store, &f->base, steps, 4, "test/context:1", &options, &out, NULL,
                        &err) < 0)
        fail_msg ("%s", err->message);
    cleanup_free char *root = wr_store_root_path (f->store, out.root_id, NULL);
    const char *expect[][2] = { { "srv/app/x.txt", "x\n" },
                                { "srv/file.txt", "file\n" },
                                { "etc/file.txt", "file\n" },
                                { "all/app/x.txt", "x\n" },
                                { "etc/os-release", NULL } };
    for (size_t i = 0; i < 5; i++) {
        cleanup_free char *path = xasprintf ("%s/%s", root, expect[i][0]);
        size_t len = 0;
        cleanup_free char *text = read_path (path, &len);
        if (expect[i][1] != NULL)
            assert_string_equal (text, expect[i][1]);
    }
    cleanup_free char *kept_link = xasprintf ("%s/all/link", root);
    char target[64] = { 0 };
    assert_true (readlink (kept_link, target, sizeof target - 1) > 0);
    assert_string_equal (target, "/etc");
    wr_image_record_clear (&out);
    for (size_t i = 0; i < 4; i++)
        wr_build_step_clear (&steps[i]);

    /* link/passwd is the context's /etc/passwd, which it has not. */
    wr_build_step_t stolen = copy_of ("link/passwd", "/stolen");
    cleanup_error wr_error_t err2 = NULL;
    assert_int_equal (wr_image_build (f->store, &f->base, &stolen, 1, "test/context:2", &options,
                                      NULL, NULL, &err2),
                      -1);
    assert_non_null (strstr (err2->message, "`link/passwd` in the build context"));
    assert_int_equal (wr_error_kind (err2), WR_ERROR_NOT_FOUND);
    wr_build_step_clear (&stolen);
}

static void
test_with_docker_unknown_distribution (void **state)
{
    fixture_t *f = *state;
    wr_build_step_t step;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_build_step_parse ("with-docker", NULL, &step, &err), 0);
    wr_build_options_t options = { .runsc = "/nonexistent/runsc" };
    assert_int_equal (
        wr_image_build (f->store, &f->base, &step, 1, "test/docker:1", &options, NULL, NULL, &err),
        -1);
    assert_non_null (strstr (err->message, "`alpine`"));
    assert_non_null (strstr (err->message, "debian and ubuntu"));
    wr_image_record_t record;
    assert_int_equal (wr_store_image_get (f->store, "test/docker:1", &record, NULL), 0);
    wr_build_step_clear (&step);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_parse_steps),
        cmocka_unit_test_setup_teardown (test_cache_keys, setup, teardown),
        cmocka_unit_test_setup_teardown (test_build_and_cache, setup, teardown),
        cmocka_unit_test_setup_teardown (test_copy_stays_inside, setup, teardown),
        cmocka_unit_test_setup_teardown (test_copy_from_context, setup, teardown),
        cmocka_unit_test_setup_teardown (test_with_docker_unknown_distribution, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
