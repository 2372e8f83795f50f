/* A build step's sandbox (image_build_sandbox.c), with a shell script in
 * runsc's place that records its command lines: the network flag each
 * kind of build gives runsc, the exit status passed on, a network's child
 * setup run before runsc (and its failure reported, runsc never run), a
 * missing runsc, a step past its deadline or cancelled killed and
 * deleted; a network's part of the spec (the resolver's bind, its
 * prepare, whose error is named); and the resolver's mount point dropped
 * from a layer only when it is runsc's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cancel.h"
#include "cleanup.h"
#include "fs.h"
#include "image_build_private.h"
#include "remove_tree.h"
#include "spec.h"
#include "xalloc.h"

typedef struct {
    char *dir;
    char *runsc; /* DIR/runsc: appends its argv to DIR/calls */
    char *calls;
    int out_fd;
} fixture_t;

static const char script[] = "#!/bin/sh\n"
                             "d=$(dirname \"$0\")\n"
                             "echo \"$*\" >> \"$d/calls\"\n"
                             "case \"$*\" in *delete*) exit 0 ;; esac\n"
                             "[ -f \"$d/hang\" ] && exec sleep 30\n"
                             "exit 3\n";

static int
setup (void **state)
{
    fixture_t *f = xzalloc (sizeof *f);
    char tmpl[] = "/tmp/warren-test-build-sandbox-XXXXXX";
    assert_non_null (mkdtemp (tmpl));
    f->dir = xstrdup (tmpl);
    f->runsc = xasprintf ("%s/runsc", f->dir);
    f->calls = xasprintf ("%s/calls", f->dir);
    int fd = open (f->runsc, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, script, strlen (script)), (ssize_t) strlen (script));
    close (fd);
    f->out_fd = open ("/dev/null", O_WRONLY | O_CLOEXEC);
    *state = f;
    return 0;
}

static int
teardown (void **state)
{
    fixture_t *f = *state;
    wr_remove_tree_at (AT_FDCWD, f->dir, NULL);
    close (f->out_fd);
    free (f->dir);
    free (f->runsc);
    free (f->calls);
    free (f);
    return 0;
}

static char *
calls (fixture_t *f)
{
    char *text = wr_read_file (f->calls, 1 << 16, NULL, NULL);
    return text != NULL ? text : xstrdup ("");
}

static wr_build_sandbox_t
sandbox_of (fixture_t *f)
{
    return (wr_build_sandbox_t){
        .runsc = f->runsc,
        .state = "/state",
        .dir = "/bundle",
        .id = "step-1",
        .output_fd = f->out_fd,
        .timeout = 60,
    };
}

static int
setup_ok (void *data)
{
    (*(int *) data)++;
    return 0;
}

static int
setup_fails (void *data)
{
    (void) data;
    return EPERM;
}

static void
test_network_flags (void **state)
{
    fixture_t *f = *state;
    int status = 0, setups = 0;
    wr_build_sandbox_t s = sandbox_of (f);
    assert_int_equal (wr_build_sandbox_run (&s, &status, NULL), 0);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 3);
    s.no_network = true;
    assert_int_equal (wr_build_sandbox_run (&s, &status, NULL), 0);
    wr_build_network_t net = { .child_setup = setup_ok, .data = &setups };
    s.network = &net;
    assert_int_equal (wr_build_sandbox_run (&s, &status, NULL), 0);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 3);
    cleanup_free char *text = calls (f);
    assert_string_equal (
        text, "--root /state --network=host --overlay2=none run --bundle /bundle step-1\n"
              "--root /state --network=none --overlay2=none run --bundle /bundle step-1\n"
              "--root /state --network=sandbox --overlay2=none run --bundle /bundle "
              "step-1\n");
    /* The setup ran in the child: the parent's counter is untouched. */
    assert_int_equal (setups, 0);
}

static void
test_child_setup_fails (void **state)
{
    fixture_t *f = *state;
    int status = 0;
    wr_build_sandbox_t s = sandbox_of (f);
    wr_build_network_t net = { .child_setup = setup_fails, .child_setup_what = "the workaround" };
    s.network = &net;
    wr_error_t err = NULL;
    assert_int_equal (wr_build_sandbox_run (&s, &status, &err), -1);
    assert_non_null (err);
    assert_int_equal (err->errno_value, EPERM);
    cleanup_free char *expected =
        xasprintf ("sandbox `step-1`: run `%s`: the workaround", f->runsc);
    assert_non_null (strstr (err->message, expected));
    wr_error_free (&err);
    cleanup_free char *text = calls (f);
    assert_string_equal (text, ""); /* runsc never ran */
}

static void
test_runsc_missing (void **state)
{
    fixture_t *f = *state;
    int status = 0;
    wr_build_sandbox_t s = sandbox_of (f);
    cleanup_free char *missing = xasprintf ("%s/no-runsc", f->dir);
    s.runsc = missing;
    wr_error_t err = NULL;
    assert_int_equal (wr_build_sandbox_run (&s, &status, &err), -1);
    assert_int_equal (err->errno_value, ENOENT);
    assert_non_null (strstr (err->message, missing));
    wr_error_free (&err);
}

static void
test_deadline_kills_and_deletes (void **state)
{
    fixture_t *f = *state;
    cleanup_free char *hang = xasprintf ("%s/hang", f->dir);
    close (open (hang, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    int status = 0;
    wr_build_sandbox_t s = sandbox_of (f);
    s.timeout = 1;
    wr_error_t err = NULL;
    assert_int_equal (wr_build_sandbox_run (&s, &status, &err), -1);
    assert_int_equal (err->errno_value, ETIMEDOUT);
    assert_non_null (strstr (err->message, "ran longer than 1 s"));
    wr_error_free (&err);
    assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
    cleanup_free char *text = calls (f);
    assert_non_null (strstr (text, "--root /state delete -force step-1\n"));
}

static void *
cancel_soon (void *data)
{
    usleep (200 * 1000);
    wr_cancel_request (data);
    return NULL;
}

static void
test_cancel_kills_and_deletes (void **state)
{
    fixture_t *f = *state;
    cleanup_free char *hang = xasprintf ("%s/hang", f->dir);
    close (open (hang, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    wr_cancel_t *cancel = wr_cancel_new (NULL, 0, NULL, NULL);
    pthread_t t;
    assert_int_equal (pthread_create (&t, NULL, cancel_soon, cancel), 0);
    int status = 0;
    wr_build_sandbox_t s = sandbox_of (f);
    s.cancel = cancel;
    wr_error_t err = NULL;
    assert_int_equal (wr_build_sandbox_run (&s, &status, &err), -1);
    pthread_join (t, NULL);
    assert_int_equal (err->kind, WR_ERROR_CANCELLED);
    assert_non_null (strstr (err->message, "sandbox `step-1`"));
    wr_error_free (&err);
    wr_cancel_free (cancel);
    cleanup_free char *text = calls (f);
    assert_non_null (strstr (text, "delete -force step-1\n"));
}

typedef struct {
    int calls;
    bool fail;
} prepared_t;

static int
prepare (void *data, wr_spec_t *spec, wr_error_t *err)
{
    prepared_t *p = data;
    p->calls++;
    if (p->fail)
        return wr_error_set (err, ENODEV, "no eth0");
    return wr_spec_add_namespace (spec, "network", "/run/netns/x", err);
}

static void
test_spec_network (void **state)
{
    (void) state;
    static const char text[] = "{\"ociVersion\": \"1.0.2\", \"process\": {\"args\": [\"true\"]}, "
                               "\"root\": {\"path\": \"rootfs\"}, \"mounts\": [], \"linux\": {}}";
    wr_spec_t *spec = wr_spec_parse (text, strlen (text), "config.json", NULL);
    assert_non_null (spec);
    prepared_t p = { 0 };
    wr_build_network_t net = { .prepare = prepare, .data = &p, .resolv_conf = "/x/resolv.conf" };
    assert_int_equal (wr_build_sandbox_network (spec, &net, NULL), 0);
    assert_int_equal (p.calls, 1);
    const char *json = json_object_to_json_string_ext (
        wr_spec_root (spec), JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    assert_non_null (strstr (json, "\"destination\":\"/etc/resolv.conf\""));
    assert_non_null (strstr (json, "\"source\":\"/x/resolv.conf\""));
    assert_non_null (strstr (json, "\"path\":\"/run/netns/x\""));
    p.fail = true;
    wr_error_t err = NULL;
    assert_int_equal (wr_build_sandbox_network (spec, &net, &err), -1);
    assert_string_equal (err->message, "the step's network: no eth0: No such device");
    wr_error_free (&err);
    wr_spec_free (spec);
}

static int
make_dir (const char *base, const char *name)
{
    cleanup_free char *path = xasprintf ("%s/%s", base, name);
    assert_int_equal (wr_mkdir_p (path, 0755, NULL), 0);
    int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true (fd >= 0);
    return fd;
}

static void
touch_at (int dir_fd, const char *path, const char *data)
{
    int fd = openat (dir_fd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, data, strlen (data)), (ssize_t) strlen (data));
    close (fd);
}

static bool
exists_at (int dir_fd, const char *path)
{
    struct stat st;
    return fstatat (dir_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void
test_drop_mountpoints (void **state)
{
    fixture_t *f = *state;
    cleanup_close int lower = make_dir (f->dir, "lower");
    cleanup_close int upper = make_dir (f->dir, "upper");
    assert_int_equal (mkdirat (lower, "etc", 0755), 0);
    assert_int_equal (mkdirat (upper, "etc", 0755), 0);
    wr_build_network_t net = { .resolv_conf = "/x/resolv.conf" };
    /* No resolver of the network's: nothing is touched. */
    touch_at (upper, "etc/resolv.conf", "");
    wr_build_sandbox_drop_mountpoints (NULL, lower, upper);
    assert_true (exists_at (upper, "etc/resolv.conf"));
    /* The image had none, the upper one is empty: runsc's mount point. */
    wr_build_sandbox_drop_mountpoints (&net, lower, upper);
    assert_false (exists_at (upper, "etc/resolv.conf"));
    /* Not empty: not a mount point, kept. */
    touch_at (upper, "etc/resolv.conf", "nameserver 1.2.3.4\n");
    wr_build_sandbox_drop_mountpoints (&net, lower, upper);
    assert_true (exists_at (upper, "etc/resolv.conf"));
    /* The image has one: the upper one is kept whatever it is. */
    touch_at (upper, "etc/resolv.conf", "");
    touch_at (lower, "etc/resolv.conf", "nameserver 9.9.9.9\n");
    wr_build_sandbox_drop_mountpoints (&net, lower, upper);
    assert_true (exists_at (upper, "etc/resolv.conf"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_network_flags, setup, teardown),
        cmocka_unit_test_setup_teardown (test_child_setup_fails, setup, teardown),
        cmocka_unit_test_setup_teardown (test_runsc_missing, setup, teardown),
        cmocka_unit_test_setup_teardown (test_deadline_kills_and_deletes, setup, teardown),
        cmocka_unit_test_setup_teardown (test_cancel_kills_and_deletes, setup, teardown),
        cmocka_unit_test (test_spec_network),
        cmocka_unit_test_setup_teardown (test_drop_mountpoints, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
