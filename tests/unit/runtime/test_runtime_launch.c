/* Unit tests of runtime_launch.c and runtime_features.c: what warren-runtime
 * does to a bundle before `create`/`run`, with fake backends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <json-c/json.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "runtime_backend.h"
#include "runtime_probe.h"
#include "runtime_features.h"
#include "runtime_launch.h"
#include "runtime_record.h"
#include "runtime_runsc.h"
#include "spec.h"
#include "strv.h"
#include "test_runtime_util.h"
#include "xalloc.h"

static const char spec_with_netns[] =
    "{\"ociVersion\": \"1.0.0\", \"process\": {\"args\": [\"/bin/true\"], \"env\": "
    "[\"PATH=/bin\"]}, \"root\": {\"path\": \"rootfs\"}, \"linux\": {\"namespaces\": "
    "[{\"type\": \"pid\"}, {\"type\": \"network\"}, {\"type\": \"mount\"}]}, "
    "\"x-unknown\": [1, 2]}\n";
static const char spec_without_netns[] =
    "{\"ociVersion\": \"1.0.0\", \"process\": {\"args\": [\"/bin/true\"]}, \"linux\": "
    "{\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"mount\"}]}}\n";
static const char spec_annotated[] =
    "{\"ociVersion\": \"1.0.0\", \"process\": {\"args\": [\"/bin/sh\"]}, \"annotations\": "
    "{\"dev.warren.profile\": \"docker\"}}\n";

typedef struct {
    char *dir;
    char *bundle;
    char *config;
    char *runsc;
    char *state;
} fixture_t;

static int
setup (void **state)
{
    fixture_t *f = xzalloc (sizeof *f);
    f->dir = wr_test_tmpdir ();
    f->bundle = xasprintf ("%s/bundle", f->dir);
    f->config = xasprintf ("%s/config.json", f->bundle);
    f->state = xasprintf ("%s/state", f->dir);
    mkdir (f->bundle, 0755);
    /* A release after the rmem_default bug, so that prepare does not
     * change this test process's mount namespace. */
    f->runsc = wr_test_fake_runsc (f->dir, "runsc", "0.0~20250101.0", true);
    *state = f;
    return 0;
}

static int
teardown (void **state)
{
    fixture_t *f = *state;
    wr_test_rm_rf (f->dir);
    free (f->dir);
    free (f->bundle);
    free (f->config);
    free (f->runsc);
    free (f->state);
    free (f);
    return 0;
}

static int
prepare (fixture_t *f, const wr_backend_ops_t *ops, const char *binary,
         const wr_launch_request_t *overrides, char ***flags, const char **profile, wr_error_t *err)
{
    cleanup_backend wr_backend_t *backend = wr_backend_new (ops, binary, f->state);
    wr_launch_request_t request = *overrides;
    request.bundle = f->bundle;
    return wr_runtime_launch_prepare (backend, &request, flags, profile, err);
}

static json_object *
load_json (const char *path)
{
    json_object *doc = json_object_from_file (path);
    if (doc == NULL)
        fail_msg ("cannot read %s", path);
    return doc;
}

static void
test_default_profile_host_network (void **state)
{
    fixture_t *f = *state;
    wr_test_write_file (f->config, spec_without_netns);
    cleanup_strv char **flags = NULL;
    const char *profile = NULL;
    cleanup_error wr_error_t err = NULL;
    wr_launch_request_t request = { 0 };
    if (prepare (f, &wr_backend_runsc, f->runsc, &request, &flags, &profile, &err) < 0)
        fail_msg ("prepare: %s", err->message);
    assert_string_equal (profile, "default");
    cleanup_free char *joined = wr_strv_join (flags, " ");
    assert_string_equal (joined, "--network=host");
    /* No warren-init and nothing else to change: the file is untouched. */
    cleanup_free char *text = wr_test_read_file (f->config);
    assert_string_equal (text, spec_without_netns);
}

static void
test_docker_profile_from_annotation (void **state)
{
    fixture_t *f = *state;
    wr_test_write_file (f->config, spec_annotated);
    cleanup_strv char **flags = NULL;
    const char *profile = NULL;
    cleanup_error wr_error_t err = NULL;
    wr_launch_request_t request = { .init_path = f->runsc };
    if (prepare (f, &wr_backend_runsc, f->runsc, &request, &flags, &profile, &err) < 0)
        fail_msg ("prepare: %s", err->message);
    assert_string_equal (profile, "docker");
    /* The fake runsc knows --net-raw and only the old spelling of the
     * packet-socket flag. */
    cleanup_free char *joined = wr_strv_join (flags, " ");
    assert_string_equal (joined, "--network=host --net-raw --TESTONLY-allow-packet-endpoint-write");

    json_object *doc = load_json (f->config);
    json_object *process = json_object_object_get (doc, "process");
    json_object *args = json_object_object_get (process, "args");
    assert_string_equal (json_object_get_string (json_object_array_get_idx (args, 0)),
                         WR_INIT_SANDBOX_PATH);
    const char *bounding = json_object_to_json_string (
        json_object_object_get (json_object_object_get (process, "capabilities"), "bounding"));
    assert_non_null (strstr (bounding, "CAP_SYS_ADMIN"));
    const char *env = json_object_to_json_string (json_object_object_get (process, "env"));
    assert_non_null (strstr (env, "WARREN_NETWORK=host"));
    json_object_put (doc);
}

static void
test_explicit_network_and_user_flags_win (void **state)
{
    fixture_t *f = *state;
    wr_test_write_file (f->config, spec_without_netns);
    char *const user_flags[] = { "--network=none", "--net-raw=false", NULL };
    cleanup_strv char **flags = NULL;
    cleanup_error wr_error_t err = NULL;
    wr_launch_request_t request = {
        .requested_profile = "docker",
        .init_path = f->runsc,
        .explicit_network = "none",
        .user_flags = user_flags,
    };
    if (prepare (f, &wr_backend_runsc, f->runsc, &request, &flags, NULL, &err) < 0)
        fail_msg ("prepare: %s", err->message);
    /* Neither --network nor --net-raw is added over the caller's. */
    cleanup_free char *joined = wr_strv_join (flags, " ");
    assert_string_equal (joined, "--TESTONLY-allow-packet-endpoint-write");
    json_object *doc = load_json (f->config);
    const char *env = json_object_to_json_string (
        json_object_object_get (json_object_object_get (doc, "process"), "env"));
    assert_non_null (strstr (env, "WARREN_NETWORK=none"));
    json_object_put (doc);
}

static void
test_sandbox_network_and_unknown_fields_kept (void **state)
{
    fixture_t *f = *state;
    wr_test_write_file (f->config, spec_with_netns);
    cleanup_strv char **flags = NULL;
    cleanup_error wr_error_t err = NULL;
    wr_launch_request_t request = { .requested_profile = "docker", .init_path = f->runsc };
    if (prepare (f, &wr_backend_runsc, f->runsc, &request, &flags, NULL, &err) < 0)
        fail_msg ("prepare: %s", err->message);
    assert_string_equal (flags[0], "--network=sandbox");
    json_object *doc = load_json (f->config);
    assert_non_null (json_object_object_get (doc, "x-unknown"));
    json_object_put (doc);

    /* Preparing the same bundle again gives the same file. */
    cleanup_free char *once = wr_test_read_file (f->config);
    cleanup_strv char **flags2 = NULL;
    if (prepare (f, &wr_backend_runsc, f->runsc, &request, &flags2, NULL, &err) < 0)
        fail_msg ("prepare: %s", err->message);
    cleanup_free char *twice = wr_test_read_file (f->config);
    assert_string_equal (once, twice);
}

static void
test_docker_profile_needs_init (void **state)
{
    fixture_t *f = *state;
    wr_test_write_file (f->config, spec_annotated);
    cleanup_strv char **flags = NULL;
    cleanup_error wr_error_t err = NULL;
    wr_launch_request_t request = { .init_searched = "/a/warren-init, /b/warren-init" };
    assert_int_equal (prepare (f, &wr_backend_runsc, f->runsc, &request, &flags, NULL, &err), -1);
    assert_non_null (strstr (err->message, "profile `docker` needs warren-init"));
    assert_non_null (strstr (err->message, "/a/warren-init, /b/warren-init"));
    /* Nothing was written. */
    cleanup_free char *text = wr_test_read_file (f->config);
    assert_string_equal (text, spec_annotated);
}

static void
test_malformed_config (void **state)
{
    fixture_t *f = *state;
    wr_test_write_file (f->config, "{\n  \"process\": {\n    \"args\": [\"/bin/sh\",]\n");
    cleanup_strv char **flags = NULL;
    cleanup_error wr_error_t err = NULL;
    wr_launch_request_t request = { 0 };
    assert_int_equal (prepare (f, &wr_backend_runsc, f->runsc, &request, &flags, NULL, &err), -1);
    assert_non_null (strstr (err->message, f->config));
    assert_non_null (strstr (err->message, "line 3"));
}

static void
test_unknown_profile (void **state)
{
    fixture_t *f = *state;
    wr_test_write_file (f->config, spec_without_netns);
    cleanup_strv char **flags = NULL;
    cleanup_error wr_error_t err = NULL;
    wr_launch_request_t request = { .requested_profile = "nope" };
    assert_int_equal (prepare (f, &wr_backend_runsc, f->runsc, &request, &flags, NULL, &err), -1);
    assert_non_null (strstr (err->message, "nope"));
}

static void
test_missing_runsc (void **state)
{
    fixture_t *f = *state;
    wr_test_write_file (f->config, spec_without_netns);
    cleanup_free char *gone = xasprintf ("%s/gone/runsc", f->dir);
    cleanup_strv char **flags = NULL;
    cleanup_error wr_error_t err = NULL;
    wr_launch_request_t request = { 0 };
    assert_int_equal (prepare (f, &wr_backend_runsc, gone, &request, &flags, NULL, &err), -1);
    assert_non_null (strstr (err->message, "install runsc 20240729 or newer"));
}

static void
test_runc_backend_gets_no_runsc_flags (void **state)
{
    fixture_t *f = *state;
    wr_test_write_file (f->config, spec_with_netns);
    cleanup_free char *runc = wr_test_fake_runc (f->dir);
    cleanup_strv char **flags = NULL;
    cleanup_error wr_error_t err = NULL;
    wr_launch_request_t request = { .requested_profile = "default", .init_path = f->runsc };
    if (prepare (f, &wr_backend_runc, runc, &request, &flags, NULL, &err) < 0)
        fail_msg ("prepare: %s", err->message);
    assert_int_equal (wr_strv_length (flags), 0);
}

/* The docker profile's powers are the host kernel's under runc and crun:
 * refused, asked by --profile or by the annotation, before anything is
 * changed or run; an annotation outside the operator's list is refused. */
static void
test_docker_profile_refused_off_sandbox (void **state)
{
    fixture_t *f = *state;
    cleanup_free char *runc = wr_test_fake_runc (f->dir);
    const wr_backend_ops_t *backends[] = { &wr_backend_runc, &wr_backend_crun };
    for (int b = 0; b < 2; b++) {
        for (int annotated = 0; annotated < 2; annotated++) {
            const char *text = annotated ? spec_annotated : spec_with_netns;
            wr_test_write_file (f->config, text);
            cleanup_strv char **flags = NULL;
            cleanup_error wr_error_t err = NULL;
            wr_launch_request_t request = { .requested_profile = annotated ? NULL : "docker",
                                            .init_path = f->runsc };
            assert_int_equal (prepare (f, backends[b], runc, &request, &flags, NULL, &err), -1);
            assert_non_null (strstr (err->message, "profile `docker` needs a sandbox"));
            cleanup_free char *backend = xasprintf ("backend `%s`", backends[b]->name);
            assert_non_null (strstr (err->message, backend));
            cleanup_free char *after = wr_test_read_file (f->config);
            assert_string_equal (after, text);
        }
    }
    /* Under runsc the annotation works, unless the operator's list says no. */
    wr_test_write_file (f->config, spec_annotated);
    const char *const only_default[] = { "default", NULL };
    cleanup_strv char **flags = NULL;
    cleanup_error wr_error_t err = NULL;
    wr_launch_request_t request = { .init_path = f->runsc, .annotation_profiles = only_default };
    assert_int_equal (prepare (f, &wr_backend_runsc, f->runsc, &request, &flags, NULL, &err), -1);
    assert_non_null (strstr (err->message, "does not let annotations select"));
    cleanup_free char *after = wr_test_read_file (f->config);
    assert_string_equal (after, spec_annotated);
}

/* Runs the rmem_default workaround's path in a child (so that the test
 * process's own mount namespace is left alone) for COMMAND: "run" prepares
 * like run; "create" prepares like create; "start" follows a create up.
 * KERNEL is the kernel fact the backend works from (whether a new network
 * namespace shows rmem_default: 1, 0, or -1 for unknown), set by the test
 * after the probe, so that what is expected does not depend on what the
 * library finds out about this machine's kernel.  Returns what the child
 * saw: 1 when rmem_default was hidden, 0 when not, -1 when the workaround
 * failed for want of privileges. */
static int
workaround_in_child (fixture_t *f, const char *runsc, const char *command, int kernel)
{
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        cleanup_strv char **flags = NULL;
        cleanup_error wr_error_t err = NULL;
        cleanup_free char *record = xasprintf ("%s/record", f->dir);
        cleanup_backend wr_backend_t *backend = wr_backend_new (&wr_backend_runsc, runsc, f->state);
        if (wr_backend_probe (backend, &err) < 0) {
            fprintf (stderr, "probe: %s\n", err->message);
            _exit (2);
        }
        backend->info.rmem_default_in_every_netns = kernel;
        int r;
        if (strcmp (command, "start") == 0) {
            r = wr_runtime_launch_follow_up (backend, "start", record, NULL, NULL, &flags, &err);
        } else {
            wr_launch_request_t request = { .command = command,
                                            .record_path = record,
                                            .bundle = f->bundle };
            r = wr_runtime_launch_prepare (backend, &request, &flags, NULL, &err);
        }
        if (r < 0) {
            fprintf (stderr, "%s: %s\n", command, err->message);
            _exit (strstr (err->message, "rmem_default workaround") ? 3 : 2);
        }
        _exit (access ("/proc/sys/net/core/rmem_default", F_OK) < 0 && errno == ENOENT ? 1 : 0);
    }
    int status;
    assert_int_equal (waitpid (pid, &status, 0), pid);
    assert_true (WIFEXITED (status));
    switch (WEXITSTATUS (status)) {
    case 0:
        return 0;
    case 1:
        return 1;
    case 3:
        return -1;
    default:
        fail_msg ("%s failed in the child", command);
        return -2;
    }
}

/* Whether this process may make a mount namespace (what the workaround
 * needs), found out by the test itself in a child. */
static bool
can_unshare_mount_namespace (void)
{
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0)
        _exit (unshare (CLONE_NEWNS) == 0 ? 0 : 1);
    int status;
    assert_int_equal (waitpid (pid, &status, 0), pid);
    return WIFEXITED (status) && WEXITSTATUS (status) == 0;
}

static void
test_rmem_workaround_applied (void **state)
{
    fixture_t *f = *state;
    cleanup_free char *old = wr_test_fake_runsc (f->dir, "runsc-old", "0.0~20240729.0", true);
    wr_test_write_file (f->config, spec_with_netns);
    /* The child looks for rmem_default in this process's network namespace:
     * only where it is there to begin with does "hidden" mean anything. */
    if (access ("/proc/sys/net/core/rmem_default", F_OK) < 0)
        skip ();
    /* Hidden by run and start, or refused for want of privileges. */
    int hidden = can_unshare_mount_namespace () ? 1 : -1;

    /* A kernel that shows rmem_default in every namespace (Linux 6.8+):
     * run and start hide it; create does not need to, since runsc sets the
     * network up in start. */
    assert_int_equal (workaround_in_child (f, old, "run", 1), hidden);
    assert_int_equal (workaround_in_child (f, old, "create", 1), 0);
    assert_int_equal (workaround_in_child (f, old, "start", 1), hidden);
    /* Where that could not be checked, the worst is assumed. */
    assert_int_equal (workaround_in_child (f, old, "run", -1), hidden);
    assert_int_equal (workaround_in_child (f, old, "start", -1), hidden);
    /* An older kernel shows it only in the initial namespace, as runsc
     * expects: nothing to do. */
    assert_int_equal (workaround_in_child (f, old, "run", 0), 0);
    assert_int_equal (workaround_in_child (f, old, "start", 0), 0);
    /* A fixed runsc needs nothing, whatever the kernel. */
    assert_int_equal (workaround_in_child (f, f->runsc, "run", 1), 0);
    assert_int_equal (workaround_in_child (f, f->runsc, "start", 1), 0);
    /* Ours is unchanged. */
    assert_int_equal (access ("/proc/sys/net/core/rmem_default", F_OK), 0);
}

static void
test_record_follows_create (void **state)
{
    fixture_t *f = *state;
    wr_test_write_file (f->config, spec_annotated);
    cleanup_free char *record = wr_runtime_record_path (f->state, "/run/x", "ctr1");
    cleanup_strv char **flags = NULL;
    cleanup_error wr_error_t err = NULL;
    char *const user_flags[] = { "--root=/run/x", NULL };
    wr_launch_request_t request = {
        .command = "create",
        .init_path = f->runsc,
        .user_flags = user_flags,
        .record_path = record,
    };
    /* Flags already in the list (the caller's) are not recorded. */
    wr_strv_add (&flags, "runsc");
    wr_strv_add (&flags, "--root=/run/x");
    if (prepare (f, &wr_backend_runsc, f->runsc, &request, &flags, NULL, &err) < 0)
        fail_msg ("prepare: %s", err->message);

    wr_runtime_record_t saved;
    assert_int_equal (wr_runtime_record_load (record, &saved, NULL), 1);
    assert_string_equal (saved.network_mode, "host");
    cleanup_free char *saved_flags = wr_strv_join (saved.flags, " ");
    assert_string_equal (saved_flags,
                         "--network=host --net-raw --TESTONLY-allow-packet-endpoint-write");
    wr_runtime_record_clear (&saved);

    /* start gets them back, except what the caller gives again. */
    char *const again[] = { "--root=/run/x", "--net-raw=false", NULL };
    cleanup_backend wr_backend_t *backend = wr_backend_new (&wr_backend_runsc, f->runsc, f->state);
    cleanup_strv char **start = NULL;
    if (wr_runtime_launch_follow_up (backend, "start", record, NULL, again, &start, &err) < 0)
        fail_msg ("follow up: %s", err->message);
    cleanup_free char *start_flags = wr_strv_join (start, " ");
    assert_string_equal (start_flags, "--network=host --TESTONLY-allow-packet-endpoint-write");

    /* Another root is another container. */
    cleanup_free char *other = wr_runtime_record_path (f->state, "/run/y", "ctr1");
    cleanup_strv char **none = NULL;
    assert_int_equal (wr_runtime_launch_follow_up (backend, "kill", other, NULL, NULL, &none, &err),
                      0);
    assert_null (none);

    /* delete keeps it (a refused delete leaves the container), and the
     * caller forgets it once the container is gone. */
    cleanup_strv char **del = NULL;
    assert_int_equal (
        wr_runtime_launch_follow_up (backend, "delete", record, NULL, NULL, &del, &err), 0);
    assert_int_equal (access (record, F_OK), 0);
    assert_int_equal (wr_runtime_record_remove (record, &err), 0);
    assert_int_equal (access (record, F_OK), -1);
    /* nothing there: nothing to do */
    assert_int_equal (wr_runtime_record_remove (record, &err), 0);
    cleanup_strv char **after = NULL;
    assert_int_equal (
        wr_runtime_launch_follow_up (backend, "state", record, NULL, NULL, &after, &err), 0);
    assert_null (after);
}

static void
test_record_files (void **state)
{
    fixture_t *f = *state;
    assert_null (wr_runtime_record_path (f->state, NULL, "../x"));
    assert_null (wr_runtime_record_path (f->state, NULL, "a/b"));
    assert_null (wr_runtime_record_path (f->state, NULL, ""));
    assert_null (wr_runtime_record_path (f->state, NULL, NULL));
    cleanup_free char *a = wr_runtime_record_path (f->state, NULL, "x");
    cleanup_free char *b = wr_runtime_record_path (f->state, "/other", "x");
    assert_string_not_equal (a, b);
    assert_true (strncmp (a, f->state, strlen (f->state)) == 0);

    char *flags[] = { "--network=none", "--platform=ptrace", NULL };
    wr_runtime_record_t record = { .network_mode = "none", .flags = flags };
    assert_int_equal (wr_runtime_record_save (a, &record, NULL), 0);
    struct stat st;
    cleanup_free char *dir = xasprintf ("%s/containers", f->state);
    assert_int_equal (stat (dir, &st), 0);
    assert_int_equal (st.st_mode & 0777, 0700);
    wr_runtime_record_t loaded;
    assert_int_equal (wr_runtime_record_load (a, &loaded, NULL), 1);
    assert_string_equal (loaded.network_mode, "none");
    assert_int_equal (wr_strv_length (loaded.flags), 2);
    assert_string_equal (loaded.flags[1], "--platform=ptrace");
    wr_runtime_record_clear (&loaded);
    assert_int_equal (wr_runtime_record_load (b, &loaded, NULL), 0);

    /* A torn file is an error that says what to do, not a silent guess. */
    assert_int_equal (truncate (a, 20), 0);
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_runtime_record_load (a, &loaded, &err), -1);
    assert_non_null (strstr (err->message, a));
}

static void
test_find_init (void **state)
{
    fixture_t *f = *state;
    cleanup_free char *bin = xasprintf ("%s/bin", f->dir);
    cleanup_free char *exe = xasprintf ("%s/bin/warren-runtime", f->dir);
    cleanup_free char *libexec = xasprintf ("%s/libexec", f->dir);
    mkdir (bin, 0755);
    mkdir (libexec, 0755);

    char *path = NULL, *searched = NULL;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (
        wr_runtime_find_init ("/nonexistent/warren-init", exe, libexec, &path, &searched, &err),
        -1);
    assert_non_null (strstr (err->message, "/nonexistent/warren-init"));

    assert_int_equal (wr_runtime_find_init (NULL, exe, libexec, &path, &searched, NULL), 0);
    assert_null (path);
    assert_non_null (strstr (searched, "/bin/warren-init"));
    assert_non_null (strstr (searched, "/bin/../warren-init/warren-init"));
    assert_non_null (strstr (searched, "/libexec/warren-init"));
    free (searched);

    /* libexec, then the build tree's sibling directory, then next to us. */
    cleanup_free char *in_libexec = xasprintf ("%s/warren-init", libexec);
    wr_test_write_file (in_libexec, "#!/bin/sh\n");
    chmod (in_libexec, 0755);
    assert_int_equal (wr_runtime_find_init (NULL, exe, libexec, &path, NULL, NULL), 0);
    assert_string_equal (path, in_libexec);
    free (path);

    cleanup_free char *tree = xasprintf ("%s/warren-init", f->dir);
    cleanup_free char *in_tree = xasprintf ("%s/warren-init/warren-init", f->dir);
    mkdir (tree, 0755);
    wr_test_write_file (in_tree, "#!/bin/sh\n");
    chmod (in_tree, 0755);
    assert_int_equal (wr_runtime_find_init (NULL, exe, libexec, &path, NULL, NULL), 0);
    assert_string_equal (path, in_tree);
    free (path);

    cleanup_free char *sibling = xasprintf ("%s/warren-init", bin);
    wr_test_write_file (sibling, "#!/bin/sh\n");
    chmod (sibling, 0755);
    assert_int_equal (wr_runtime_find_init (NULL, exe, libexec, &path, NULL, NULL), 0);
    assert_string_equal (path, sibling);
    free (path);

    assert_int_equal (wr_runtime_find_init (in_tree, exe, libexec, &path, NULL, NULL), 0);
    assert_string_equal (path, in_tree);
    free (path);
}

static bool
array_has (json_object *array, const char *value)
{
    for (size_t i = 0; i < json_object_array_length (array); i++)
        if (strcmp (json_object_get_string (json_object_array_get_idx (array, i)), value) == 0)
            return true;
    return false;
}

static void
test_features_json (void **state)
{
    fixture_t *f = *state;
    cleanup_backend wr_backend_t *backend = wr_backend_new (&wr_backend_runsc, f->runsc, NULL);
    assert_int_equal (wr_backend_probe (backend, NULL), 0);
    cleanup_free char *text = wr_runtime_features_json (backend, "9.9.9");
    json_object *doc = json_tokener_parse (text);
    assert_non_null (doc);
    assert_string_equal (json_object_get_string (json_object_object_get (doc, "ociVersionMin")),
                         "1.0.0");
    assert_string_equal (json_object_get_string (json_object_object_get (doc, "ociVersionMax")),
                         "1.0.2-dev");
    json_object *hooks = json_object_object_get (doc, "hooks");
    assert_true (array_has (hooks, "prestart"));
    assert_true (array_has (hooks, "poststop"));
    assert_false (array_has (hooks, "createContainer"));
    json_object *mount_options = json_object_object_get (doc, "mountOptions");
    assert_true (array_has (mount_options, "rbind"));
    assert_false (array_has (mount_options, "rshared"));
    json_object *linux_obj = json_object_object_get (doc, "linux");
    assert_true (array_has (json_object_object_get (linux_obj, "namespaces"), "network"));
    json_object *caps = json_object_object_get (linux_obj, "capabilities");
    assert_int_equal (json_object_array_length (caps), 41);
    assert_true (array_has (caps, "CAP_SYS_ADMIN"));
    json_object *cgroup = json_object_object_get (linux_obj, "cgroup");
    assert_true (json_object_get_boolean (json_object_object_get (cgroup, "systemd")));
    json_object *annotations = json_object_object_get (doc, "annotations");
    assert_string_equal (
        json_object_get_string (json_object_object_get (annotations, "dev.warren.runtime.version")),
        "9.9.9");
    assert_string_equal (
        json_object_get_string (json_object_object_get (annotations, "dev.warren.backend")),
        "runsc");
    json_object_put (doc);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_default_profile_host_network, setup, teardown),
        cmocka_unit_test_setup_teardown (test_docker_profile_from_annotation, setup, teardown),
        cmocka_unit_test_setup_teardown (test_explicit_network_and_user_flags_win, setup, teardown),
        cmocka_unit_test_setup_teardown (test_sandbox_network_and_unknown_fields_kept, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_docker_profile_needs_init, setup, teardown),
        cmocka_unit_test_setup_teardown (test_malformed_config, setup, teardown),
        cmocka_unit_test_setup_teardown (test_unknown_profile, setup, teardown),
        cmocka_unit_test_setup_teardown (test_missing_runsc, setup, teardown),
        cmocka_unit_test_setup_teardown (test_runc_backend_gets_no_runsc_flags, setup, teardown),
        cmocka_unit_test_setup_teardown (test_docker_profile_refused_off_sandbox, setup, teardown),
        cmocka_unit_test_setup_teardown (test_rmem_workaround_applied, setup, teardown),
        cmocka_unit_test_setup_teardown (test_record_follows_create, setup, teardown),
        cmocka_unit_test_setup_teardown (test_record_files, setup, teardown),
        cmocka_unit_test_setup_teardown (test_find_init, setup, teardown),
        cmocka_unit_test_setup_teardown (test_features_json, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
