/* The bundle of a warrend sandbox from a stored image: warren-init's agent
 * command as root with the image's user for what it starts (or the args
 * given, as the image's user), the image's env with the
 * request's, warren-init read-only at /.warren/init and the agent
 * directory at /.warren/agent, cpu/memory/pids limits, the network
 * namespace by path, the cgroup path, the annotations, and the docker
 * profile only when Docker is enabled; bad options are refused and leave
 * no directory. */
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

#include "bundle.h"
#include "cleanup.h"
#include "path_in_root.h"
#include "sandbox_bundle.h"
#include "spec.h"
#include "strv.h"
#include "xalloc.h"
#include "remove_tree.h"

#define ROOT_ID "909610c81c9a4433baf5ab114fa68417e297292b3877d3bf8dd7e8b8d5ca91c2"

typedef struct {
    char *dir;
    wr_store_t *store;
} fixture_t;

static void
write_file (const char *path, const char *text)
{
    FILE *f = fopen (path, "w");
    assert_non_null (f);
    fputs (text, f);
    assert_int_equal (fclose (f), 0);
}

static int
setup (void **state)
{
    fixture_t *f = xzalloc (sizeof *f);
    f->dir = xstrdup ("/tmp/test_sandbox_bundle.XXXXXX");
    if (mkdtemp (f->dir) == NULL)
        return -1;
    cleanup_free char *store = xasprintf ("%s/store", f->dir);
    f->store = wr_store_open (store, NULL);
    if (f->store == NULL)
        return -1;
    cleanup_free char *root = xasprintf ("%s/roots/" ROOT_ID, store);
    cleanup_free char *etc = xasprintf ("%s/etc", root);
    mkdir (root, 0755);
    mkdir (etc, 0755);
    cleanup_free char *passwd = xasprintf ("%s/passwd", etc);
    write_file (passwd, "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
    cleanup_free char *group = xasprintf ("%s/group", etc);
    write_file (group, "root:x:0:\napp:x:1000:\n");
    *state = f;
    return 0;
}

static int
teardown (void **state)
{
    fixture_t *f = *state;
    cleanup_free char *bundle = xasprintf ("%s/bundle", f->dir);
    wr_bundle_destroy (bundle, NULL);
    wr_store_close (f->store);
    wr_remove_tree_at (AT_FDCWD, f->dir, NULL);
    free (f->dir);
    free (f);
    return 0;
}

static json_object *
get (json_object *o, const char *path)
{
    cleanup_free char *copy = xstrdup (path);
    for (char *save = NULL, *part = strtok_r (copy, ".", &save); part != NULL && o != NULL;
         part = strtok_r (NULL, ".", &save)) {
        if (json_object_is_type (o, json_type_array))
            o = json_object_array_get_idx (o, (size_t) atoi (part));
        else if (!json_object_object_get_ex (o, part, &o))
            return NULL;
    }
    return o;
}

static const char *
get_str (json_object *o, const char *path)
{
    json_object *v = get (o, path);
    return v ? json_object_get_string (v) : NULL;
}

/* The mount at DESTINATION in SPEC, or NULL. */
static json_object *
mount_at (json_object *spec, const char *destination)
{
    json_object *mounts = get (spec, "mounts");
    for (size_t i = 0; mounts != NULL && i < json_object_array_length (mounts); i++) {
        json_object *m = json_object_array_get_idx (mounts, i);
        const char *d = get_str (m, "destination");
        if (d != NULL && strcmp (d, destination) == 0)
            return m;
    }
    return NULL;
}

static bool
has_option (json_object *mount, const char *option)
{
    json_object *options = get (mount, "options");
    for (size_t i = 0; options != NULL && i < json_object_array_length (options); i++)
        if (strcmp (json_object_get_string (json_object_array_get_idx (options, i)), option) == 0)
            return true;
    return false;
}

static wr_spec_t *
make (fixture_t *f, const wr_sandbox_bundle_options_t *o, wr_error_t *err)
{
    char *env[] = { "PATH=/bin", "FROM_IMAGE=1", NULL };
    wr_image_config_t config = { .env = env, .user = "app", .working_dir = "/home/app" };
    wr_image_record_t record = { .name = "docker.io/library/busybox:latest", .root_id = ROOT_ID };
    cleanup_free char *bundle = xasprintf ("%s/bundle", f->dir);
    if (wr_sandbox_bundle_create (f->store, &record, &config, bundle, o, err) < 0)
        return NULL;
    cleanup_free char *path = xasprintf ("%s/config.json", bundle);
    return wr_spec_load (path, err);
}

static void
test_plain_sandbox (void **state)
{
    fixture_t *f = *state;
    const char *env[] = { "FROM_REQUEST=2", "FROM_IMAGE=3", NULL };
    wr_sandbox_bundle_options_t o = {
        .id = "sb1",
        .name = "my-sandbox",
        .env = env,
        .cwd = "/work",
        .cpu = 0.5,
        .memory_bytes = 256 << 20,
        .pids_limit = 100,
        .init_host_path = "/usr/libexec/warren/warren-init",
        .agent_dir = "/var/lib/warren/sandboxes/sb1/agent",
        .netns_path = "/run/warren/netns/warren-sb1",
        .cgroups_path = "/warren/sb1",
    };
    wr_error_t err = NULL;
    cleanup_spec wr_spec_t *spec = make (f, &o, &err);
    assert_null (err);
    assert_non_null (spec);
    json_object *s = wr_spec_root (spec);
    assert_string_equal (get_str (s, "process.args.0"), "/.warren/init");
    assert_string_equal (get_str (s, "process.args.1"), "--agent-socket");
    assert_string_equal (get_str (s, "process.args.2"), "/.warren/agent/agent.sock");
    /* The agent runs as root; what it starts runs as the image's User. */
    assert_string_equal (get_str (s, "process.args.3"), "--agent-user");
    assert_string_equal (get_str (s, "process.args.4"), "1000:1000");
    assert_null (get (s, "process.args.5"));
    assert_string_equal (get_str (s, "process.cwd"), "/work");
    assert_int_equal (json_object_get_int (get (s, "process.user.uid")), 0);
    assert_int_equal (json_object_get_int (get (s, "process.user.gid")), 0);
    assert_null (get (s, "process.user.additionalGids"));
    assert_string_equal (wr_spec_get_env (spec, "HOME"), "/home/app");
    assert_string_equal (wr_spec_get_env (spec, "FROM_REQUEST"), "2");
    assert_string_equal (wr_spec_get_env (spec, "FROM_IMAGE"), "3");
    assert_string_equal (wr_spec_get_env (spec, "PATH"), "/bin");

    json_object *init = mount_at (s, "/.warren/init");
    assert_non_null (init);
    assert_string_equal (get_str (init, "source"), "/usr/libexec/warren/warren-init");
    assert_true (has_option (init, "ro"));
    json_object *agent = mount_at (s, "/.warren/agent");
    assert_non_null (agent);
    assert_string_equal (get_str (agent, "source"), "/var/lib/warren/sandboxes/sb1/agent");
    assert_false (has_option (agent, "ro"));

    assert_int_equal (json_object_get_int64 (get (s, "linux.resources.cpu.quota")), 50000);
    assert_int_equal (json_object_get_int64 (get (s, "linux.resources.cpu.period")), 100000);
    assert_int_equal (json_object_get_int64 (get (s, "linux.resources.memory.limit")), 256 << 20);
    assert_int_equal (json_object_get_int64 (get (s, "linux.resources.pids.limit")), 100);
    const char *path = NULL;
    assert_true (wr_spec_has_namespace (spec, "network", &path));
    assert_string_equal (path, "/run/warren/netns/warren-sb1");
    assert_string_equal (get_str (s, "linux.cgroupsPath"), "/warren/sb1");
    assert_string_equal (wr_spec_get_annotation (spec, "dev.warren.sandbox.id"), "sb1");
    assert_string_equal (wr_spec_get_annotation (spec, "dev.warren.sandbox.name"), "my-sandbox");
    assert_string_equal (wr_spec_get_annotation (spec, "dev.warren.profile"), "default");
    assert_false (wr_spec_has_capability (spec, "bounding", "CAP_SYS_ADMIN"));
}

static void
test_docker_sandbox_and_args (void **state)
{
    fixture_t *f = *state;
    const char *args[] = { "/.warren/init", "--", "sleep", "3600", NULL };
    wr_sandbox_bundle_options_t o = {
        .id = "sb2",
        .args = args,
        .docker_enabled = true,
        .init_host_path = "/opt/warren-init",
        .agent_dir = "/tmp/agent",
        .netns_path = "/tmp/netns",
    };
    wr_error_t err = NULL;
    cleanup_spec wr_spec_t *spec = make (f, &o, &err);
    assert_null (err);
    json_object *s = wr_spec_root (spec);
    assert_int_equal (wr_spec_args_count (spec), 4);
    assert_string_equal (get_str (s, "process.args.2"), "sleep");
    /* Args given: the image's User runs them, as it would any command. */
    assert_int_equal (json_object_get_int (get (s, "process.user.uid")), 1000);
    assert_true (wr_spec_has_capability (spec, "bounding", "CAP_SYS_ADMIN"));
    assert_string_equal (wr_spec_get_annotation (spec, "dev.warren.profile"), "docker");
    assert_string_equal (wr_spec_get_env (spec, "WARREN_NETWORK"), "sandbox");
    assert_null (get (s, "linux.cgroupsPath"));
    assert_null (get (s, "linux.resources.cpu"));
    assert_null (get (s, "linux.resources.pids"));

    cleanup_strv char **agent = wr_sandbox_agent_args (true, 0);
    assert_int_equal (wr_strv_length (agent), 4);
    assert_string_equal (agent[3], "--docker");
    cleanup_strv char **limited = wr_sandbox_agent_args (false, 256);
    assert_int_equal (wr_strv_length (limited), 5);
    assert_string_equal (limited[3], "--agent-max-processes");
    assert_string_equal (limited[4], "256");
}

static void
test_bad_options (void **state)
{
    fixture_t *f = *state;
    wr_sandbox_bundle_options_t good = {
        .id = "sb3",
        .init_host_path = "/opt/warren-init",
        .agent_dir = "/tmp/agent",
        .netns_path = "/tmp/netns",
    };
    wr_sandbox_bundle_options_t bad[5];
    for (size_t i = 0; i < 5; i++)
        bad[i] = good;
    bad[0].init_host_path = "warren-init";
    bad[1].agent_dir = NULL;
    bad[2].cpu = -1;
    bad[3].memory_bytes = -1;
    bad[4].cgroups_path = "warren/sb3";
    for (size_t i = 0; i < 5; i++) {
        wr_error_t err = NULL;
        assert_null (make (f, &bad[i], &err));
        assert_int_equal (wr_error_kind (err), WR_ERROR_INVALID);
        assert_non_null (strstr (err->message, "sb3"));
        wr_error_free (&err);
        cleanup_free char *bundle = xasprintf ("%s/bundle", f->dir);
        assert_int_equal (access (bundle, F_OK), -1);
    }
    assert_int_equal (wr_sandbox_cpu_quota (0.001), 1000);
    assert_int_equal (wr_sandbox_cpu_quota (2), 200000);
    assert_int_equal (wr_sandbox_cpu_quota (0.333333), 33334);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_plain_sandbox, setup, teardown),
        cmocka_unit_test_setup_teardown (test_docker_sandbox_and_args, setup, teardown),
        cmocka_unit_test_setup_teardown (test_bad_options, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
