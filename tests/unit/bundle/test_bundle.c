/* Bundles of images: the spec made from an image config, users resolved
 * in the image's own /etc/passwd and /etc/group (never the host's, even
 * through a symlink), and the overlay root: writes land in upper/, the
 * image root is untouched, and destroy unmounts and removes.
 *
 * Each test works in a fresh directory under /tmp:
 *   T/root      an image root (etc/passwd, etc/group)
 *   T/outside   files a hostile root points at */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "cleanup.h"
#include "path_in_root.h"
#include "spec.h"
#include "xalloc.h"
#include "remove_tree.h"

typedef struct {
    char *dir;
    int dir_fd;
    int root_fd;
} fixture_t;

static void
write_at (int dir_fd, const char *path, const char *data)
{
    int fd = openat (dir_fd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, data, strlen (data)), (ssize_t) strlen (data));
    close (fd);
}

static int
setup (void **state)
{
    fixture_t *f = xzalloc (sizeof *f);
    f->dir = xstrdup ("/tmp/test_bundle.XXXXXX");
    if (mkdtemp (f->dir) == NULL)
        return -1;
    f->dir_fd = open (f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    mkdirat (f->dir_fd, "root", 0755);
    mkdirat (f->dir_fd, "root/etc", 0755);
    mkdirat (f->dir_fd, "outside", 0755);
    f->root_fd = openat (f->dir_fd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    write_at (f->dir_fd, "root/etc/passwd",
              "root:x:0:0:root:/root:/bin/bash\n"
              "# a comment\n"
              "app:x:1000:1000:App:/home/app:/bin/sh\n"
              "short:x:7\n"
              "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
    write_at (f->dir_fd, "root/etc/group",
              "root:x:0:\n"
              "app:x:1000:\n"
              "docker:x:998:app,other\n"
              "audio::29:app\n"
              "staff:x:50:\n");
    write_at (f->dir_fd, "outside/passwd", "evil:x:4242:4242::/:/bin/sh\n");
    *state = f;
    return f->root_fd < 0 ? -1 : 0;
}

static int
teardown (void **state)
{
    fixture_t *f = *state;
    cleanup_free char *bundle = xasprintf ("%s/bundle", f->dir);
    wr_bundle_destroy (bundle, NULL);
    wr_remove_tree_at (AT_FDCWD, f->dir, NULL);
    close (f->root_fd);
    close (f->dir_fd);
    free (f->dir);
    free (f);
    return 0;
}

static json_object *
spec_json (wr_spec_t *spec, const char *path)
{
    json_object *o = wr_spec_root (spec);
    cleanup_free char *copy = xstrdup (path);
    for (char *save = NULL, *part = strtok_r (copy, ".", &save); part != NULL;
         part = strtok_r (NULL, ".", &save)) {
        if (json_object_is_type (o, json_type_array))
            o = json_object_array_get_idx (o, (size_t) atoi (part));
        else if (!json_object_object_get_ex (o, part, &o))
            return NULL;
    }
    return o;
}

static const char *
spec_str (wr_spec_t *spec, const char *path)
{
    json_object *o = spec_json (spec, path);
    return o != NULL ? json_object_get_string (o) : NULL;
}

static void
test_spec_from_config (void **state)
{
    fixture_t *f = *state;
    char *entrypoint[] = { "/docker-entrypoint.sh", NULL };
    char *cmd[] = { "nginx", "-g", "daemon off;", NULL };
    char *env[] = { "PATH=/opt/bin:/bin", "LANG=C.UTF-8", NULL };
    char *ports[] = { "80/tcp", NULL };
    wr_image_config_t config = {
        .entrypoint = entrypoint,
        .cmd = cmd,
        .env = env,
        .working_dir = "/srv",
        .user = "app",
        .exposed_ports = ports,
    };
    wr_image_record_t record = { .name = "docker.io/library/nginx:latest",
                                 .manifest_digest = "sha256:aa",
                                 .config_digest = "sha256:bb" };
    const char *extra_env[] = { "LANG=en_US.UTF-8", "EXTRA=1", NULL };
    const char *annotations[] = { "dev.warren.profile=docker", NULL };
    wr_bundle_options_t options = { .env = extra_env, .annotations = annotations };
    cleanup_error wr_error_t err = NULL;
    cleanup_spec wr_spec_t *spec =
        wr_bundle_spec (f->root_fd, &config, record.name, &record, &options, &err);
    if (spec == NULL)
        fail_msg ("%s", err->message);

    assert_int_equal (wr_spec_args_count (spec), 4);
    assert_string_equal (wr_spec_arg (spec, 0), "/docker-entrypoint.sh");
    assert_string_equal (wr_spec_arg (spec, 3), "daemon off;");
    assert_string_equal (wr_spec_get_env (spec, "PATH"), "/opt/bin:/bin");
    assert_string_equal (wr_spec_get_env (spec, "LANG"), "en_US.UTF-8");
    assert_string_equal (wr_spec_get_env (spec, "EXTRA"), "1");
    assert_string_equal (wr_spec_get_env (spec, "HOME"), "/home/app");
    assert_string_equal (spec_str (spec, "process.cwd"), "/srv");
    assert_int_equal (json_object_get_int (spec_json (spec, "process.user.uid")), 1000);
    assert_int_equal (json_object_get_int (spec_json (spec, "process.user.gid")), 1000);
    json_object *gids = spec_json (spec, "process.user.additionalGids");
    assert_non_null (gids);
    assert_int_equal (json_object_array_length (gids), 2);
    assert_int_equal (json_object_get_int (json_object_array_get_idx (gids, 0)), 998);
    assert_int_equal (json_object_get_int (json_object_array_get_idx (gids, 1)), 29);
    assert_string_equal (spec_str (spec, "root.path"), "rootfs");
    assert_false (json_object_get_boolean (spec_json (spec, "root.readonly")));
    assert_string_equal (wr_spec_get_annotation (spec, "org.opencontainers.image.ref.name"),
                         "docker.io/library/nginx:latest");
    assert_string_equal (wr_spec_get_annotation (spec, "dev.warren.image.manifest-digest"),
                         "sha256:aa");
    assert_string_equal (wr_spec_get_annotation (spec, "dev.warren.profile"), "docker");
    assert_string_equal (wr_spec_get_annotation (spec, "dev.warren.image.exposed-ports"), "80/tcp");
    assert_true (wr_spec_has_capability (spec, "bounding", "CAP_CHOWN"));
    assert_false (wr_spec_has_capability (spec, "bounding", "CAP_SYS_ADMIN"));
    assert_true (wr_spec_has_namespace (spec, "network", NULL));
    assert_true (wr_spec_has_mount (spec, "/proc"));
}

static void
test_spec_defaults_and_override (void **state)
{
    fixture_t *f = *state;
    char *cmd[] = { "bash", NULL };
    wr_image_config_t config = { .cmd = cmd };
    const char *args[] = { "echo", "hi", NULL };
    wr_bundle_options_t options = { .args = args, .host_network = true, .cwd = "work" };
    cleanup_error wr_error_t err = NULL;
    cleanup_spec wr_spec_t *spec = wr_bundle_spec (f->root_fd, &config, "x", NULL, &options, &err);
    if (spec == NULL)
        fail_msg ("%s", err->message);
    assert_int_equal (wr_spec_args_count (spec), 2);
    assert_string_equal (wr_spec_arg (spec, 0), "echo");
    assert_string_equal (wr_spec_get_env (spec, "PATH"),
                         strchr (WR_DEFAULT_PATH, '=') + 1); /* no PATH in the image */
    assert_string_equal (wr_spec_get_env (spec, "HOME"), "/root");
    assert_string_equal (spec_str (spec, "process.cwd"), "/work");
    assert_int_equal (json_object_get_int (spec_json (spec, "process.user.uid")), 0);
    assert_false (wr_spec_has_namespace (spec, "network", NULL));

    /* No command at all is an error naming the image. */
    wr_image_config_t empty = { 0 };
    cleanup_error wr_error_t err2 = NULL;
    assert_null (wr_bundle_spec (f->root_fd, &empty, "img:1", NULL, NULL, &err2));
    assert_non_null (strstr (err2->message, "img:1"));
}

static void
check_user (fixture_t *f, const char *user, unsigned uid, unsigned gid)
{
    wr_bundle_user_t u;
    cleanup_error wr_error_t err = NULL;
    if (wr_bundle_resolve_user (f->root_fd, user, &u, &err) < 0)
        fail_msg ("user `%s`: %s", user, err->message);
    assert_int_equal (u.uid, uid);
    assert_int_equal (u.gid, gid);
    wr_bundle_user_clear (&u);
}

static void
check_user_fails (fixture_t *f, const char *user, const char *needle)
{
    wr_bundle_user_t u;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_bundle_resolve_user (f->root_fd, user, &u, &err), -1);
    if (strstr (err->message, needle) == NULL)
        fail_msg ("user `%s`: expected `%s` in: %s", user, needle, err->message);
}

static void
test_users (void **state)
{
    fixture_t *f = *state;
    check_user (f, NULL, 0, 0);
    check_user (f, "", 0, 0);
    check_user (f, "root", 0, 0);
    check_user (f, "app", 1000, 1000);
    check_user (f, "1000", 1000, 1000); /* a uid in passwd takes its gid */
    check_user (f, "1234", 1234, 0); /* a uid not in passwd: gid 0 */
    check_user (f, "1234:5678", 1234, 5678);
    check_user (f, "app:staff", 1000, 50);
    check_user (f, "app:0", 1000, 0);
    check_user (f, "nobody", 65534, 65534);
    check_user_fails (f, "ghost", "`ghost` is not in the image's /etc/passwd");
    check_user_fails (f, "app:ghosts", "`ghosts` is not in the image's /etc/group");
    check_user_fails (f, "short", "not in the image's /etc/passwd"); /* a broken line */
    check_user_fails (f, "app:", "expected USER[:GROUP]");
    check_user_fails (f, ":1", "expected USER[:GROUP]");
    check_user_fails (f, "4294967296", "not in the image's /etc/passwd"); /* too big: a name */
}

/* /etc/passwd a symlink out of the root (relative or absolute) or a fifo:
 * the host's file is never read. */
static void
test_users_refuse_escapes (void **state)
{
    fixture_t *f = *state;
    assert_int_equal (unlinkat (f->root_fd, "etc/passwd", 0), 0);
    assert_int_equal (symlinkat ("../../outside/passwd", f->root_fd, "etc/passwd"), 0);
    check_user_fails (f, "evil", "`evil` is not in the image's /etc/passwd");
    check_user (f, "4242", 4242, 0); /* the outside entry does not give its gid */

    assert_int_equal (unlinkat (f->root_fd, "etc/passwd", 0), 0);
    cleanup_free char *abs = xasprintf ("%s/outside/passwd", f->dir);
    assert_int_equal (symlinkat (abs, f->root_fd, "etc/passwd"), 0);
    check_user_fails (f, "evil", "`evil` is not in the image's /etc/passwd");

    assert_int_equal (unlinkat (f->root_fd, "etc/passwd", 0), 0);
    assert_int_equal (mkfifoat (f->root_fd, "etc/passwd", 0644), 0);
    check_user_fails (f, "evil", "not a regular file");
}

/* A missing account file is no error (numeric users still resolve); one
 * that is not a regular file is, with kind invalid and naming it; an /etc
 * that is not a directory holds no account files. */
static void
test_users_account_file_errors (void **state)
{
    fixture_t *f = *state;
    assert_int_equal (unlinkat (f->root_fd, "etc/passwd", 0), 0);
    check_user (f, "1000", 1000, 0);
    check_user_fails (f, "app", "`app` is not in the image's /etc/passwd");

    assert_int_equal (mkdirat (f->root_fd, "etc/passwd", 0755), 0);
    wr_bundle_user_t u;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_bundle_resolve_user (f->root_fd, "app", &u, &err), -1);
    assert_int_equal (wr_error_kind (err), WR_ERROR_INVALID);
    assert_string_equal (err->message, "`/etc/passwd` in the image is not a regular file of at "
                                       "most 4194304 bytes");
    wr_error_free (&err);

    assert_int_equal (wr_remove_tree_at (f->root_fd, "etc", NULL), 0);
    write_at (f->root_fd, "etc", "not a directory\n");
    check_user (f, "0", 0, 0);
    check_user_fails (f, "app", "`app` is not in the image's /etc/passwd");
}

static bool
exists_at (int dir_fd, const char *path)
{
    struct stat st;
    return fstatat (dir_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The lower root must be a directory: the error names it. */
static void
test_mount_needs_a_root_directory (void **state)
{
    fixture_t *f = *state;
    cleanup_free char *bundle = xasprintf ("%s/bundle", f->dir);
    cleanup_free char *missing = xasprintf ("%s/missing", f->dir);
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_bundle_mount (bundle, missing, &err), -1);
    assert_int_equal (err->errno_value, ENOENT);
    cleanup_free char *want = xasprintf ("image root `%s`: %s", missing, strerror (ENOENT));
    assert_string_equal (err->message, want);
    wr_error_free (&err);

    cleanup_free char *file = xasprintf ("%s/root/etc/passwd", f->dir);
    assert_int_equal (wr_bundle_mount (bundle, file, &err), -1);
    assert_int_equal (err->errno_value, ENOTDIR);
    assert_non_null (strstr (err->message, file));
    assert_false (exists_at (f->dir_fd, "bundle"));
}

static void
test_mount_and_destroy (void **state)
{
    fixture_t *f = *state;
    cleanup_free char *bundle = xasprintf ("%s/bundle", f->dir);
    cleanup_free char *lower = xasprintf ("%s/root", f->dir);
    cleanup_error wr_error_t err = NULL;
    if (wr_bundle_mount (bundle, lower, &err) < 0)
        fail_msg ("%s", err->message);
    /* The image's files are there; a write goes to upper/ only. */
    assert_true (exists_at (f->dir_fd, "bundle/rootfs/etc/passwd"));
    write_at (f->dir_fd, "bundle/rootfs/etc/new", "new\n");
    assert_int_equal (unlinkat (f->dir_fd, "bundle/rootfs/etc/group", 0), 0);
    assert_true (exists_at (f->dir_fd, "bundle/upper/etc/new"));
    assert_true (exists_at (f->dir_fd, "bundle/upper/etc/group")); /* the whiteout */
    assert_false (exists_at (f->dir_fd, "root/etc/new"));
    assert_true (exists_at (f->dir_fd, "root/etc/group"));

    /* A second bundle in the same place is refused. */
    cleanup_error wr_error_t err2 = NULL;
    assert_int_equal (wr_bundle_mount (bundle, lower, &err2), -1);

    if (wr_bundle_destroy (bundle, &err) < 0)
        fail_msg ("%s", err->message);
    assert_false (exists_at (f->dir_fd, "bundle"));
    assert_true (exists_at (f->dir_fd, "root/etc/group"));
    /* Destroying what is gone is fine. */
    assert_int_equal (wr_bundle_destroy (bundle, &err), 0);

    /* A path overlayfs would misread is refused before mounting. */
    cleanup_free char *comma = xasprintf ("%s/a,b", f->dir);
    cleanup_error wr_error_t err3 = NULL;
    assert_int_equal (wr_bundle_mount (comma, lower, &err3), -1);
    assert_non_null (strstr (err3->message, "`,`"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_spec_from_config, setup, teardown),
        cmocka_unit_test_setup_teardown (test_spec_defaults_and_override, setup, teardown),
        cmocka_unit_test_setup_teardown (test_users, setup, teardown),
        cmocka_unit_test_setup_teardown (test_users_refuse_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown (test_users_account_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown (test_mount_needs_a_root_directory, setup, teardown),
        cmocka_unit_test_setup_teardown (test_mount_and_destroy, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
