/* Unit tests of runtime_runsc.c: the network mode chosen for a spec, the
 * rmem_default workaround's conditions and probe, and the guard against
 * taking over the host's network namespace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "runtime_backend.h"
#include "runtime_probe.h"
#include "runtime_runsc.h"
#include "spec.h"
#include "strv.h"
#include "test_runtime_util.h"
#include "xalloc.h"

static wr_spec_t *
spec_from (const char *text)
{
    cleanup_error wr_error_t err = NULL;
    wr_spec_t *spec = wr_spec_parse (text, strlen (text), "test.json", &err);
    if (spec == NULL)
        fail_msg ("parse: %s", err->message);
    return spec;
}

static void
test_choose_network (void **state)
{
    cleanup_spec wr_spec_t *none =
        spec_from ("{\"linux\": {\"namespaces\": [{\"type\": \"pid\"}]}}");
    cleanup_spec wr_spec_t *fresh =
        spec_from ("{\"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\"}]}}");
    cleanup_spec wr_spec_t *joined = spec_from ("{\"linux\": {\"namespaces\": [{\"type\": "
                                                "\"network\", \"path\": \"/run/netns/x\"}]}}");
    cleanup_spec wr_spec_t *bare = spec_from ("{}");
    /* Docker's --network=host names the host's namespace. */
    cleanup_spec wr_spec_t *host = spec_from ("{\"linux\": {\"namespaces\": [{\"type\": "
                                              "\"network\", \"path\": \"/proc/self/ns/net\"}]}}");
    assert_string_equal (wr_runsc_choose_network (host), "host");
    assert_string_equal (wr_runsc_choose_network (none), "host");
    assert_string_equal (wr_runsc_choose_network (fresh), "sandbox");
    assert_string_equal (wr_runsc_choose_network (joined), "sandbox");
    assert_string_equal (wr_runsc_choose_network (bare), "host");
    assert_string_equal (wr_backend_runsc.choose_network (NULL, fresh), "sandbox");
    assert_null (wr_backend_runc.choose_network (NULL, fresh));
}

static void
test_rmem_workaround_conditions (void **state)
{
    wr_backend_info_t info = { .release = 20240729, .rmem_default_in_every_netns = 1 };
    assert_true (wr_runsc_needs_rmem_workaround (&info, "sandbox"));
    assert_false (wr_runsc_needs_rmem_workaround (&info, "host"));
    assert_false (wr_runsc_needs_rmem_workaround (&info, "none"));
    assert_false (wr_runsc_needs_rmem_workaround (&info, NULL));
    info.rmem_default_in_every_netns = 0; /* an older kernel */
    assert_false (wr_runsc_needs_rmem_workaround (&info, "sandbox"));
    info.rmem_default_in_every_netns = -1; /* unknown: assume the worst */
    assert_true (wr_runsc_needs_rmem_workaround (&info, "sandbox"));
    info.rmem_default_in_every_netns = 1;
    info.release = WR_RUNSC_RMEM_BUG_LAST_RELEASE + 1;
    assert_false (wr_runsc_needs_rmem_workaround (&info, "sandbox"));
    info.release = 0; /* a development build */
    assert_false (wr_runsc_needs_rmem_workaround (&info, "sandbox"));
}

/* The probe's kernel fact, against util-linux's unshare(1) looking for
 * itself: "yes" or "no" from a shell in a new network namespace, nothing
 * when unshare is not permitted. */
static void
test_rmem_probe_matches_unshare (void **state)
{
    FILE *p = popen ("unshare --net sh -c 'if [ -e /proc/sys/net/core/rmem_default ]; "
                     "then echo yes; else echo no; fi' 2>/dev/null",
                     "r");
    assert_non_null (p);
    char answer[16] = "";
    if (fgets (answer, sizeof answer, p) == NULL)
        answer[0] = '\0';
    pclose (p);
    int expected = strcmp (answer, "yes\n") == 0 ? 1 : strcmp (answer, "no\n") == 0 ? 0 : -1;
    cleanup_error wr_error_t err = NULL;
    int r = wr_runsc_rmem_default_in_new_netns (&err);
    assert_int_equal (r, expected);
    if (r < 0) {
        /* The failure is said, naming what could not be looked at. */
        assert_non_null (err);
        assert_non_null (strstr (err->message, "/proc/sys/net/core/rmem_default"));
    } else {
        assert_null (err);
    }
}

/* Without the right to make a network namespace (an unprivileged user) the
 * probe fails with unshare's errno and says what it was looking for. */
static void
test_rmem_probe_error_names_the_file (void **state)
{
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        if (geteuid () == 0 && (setgid (65534) < 0 || setuid (65534) < 0))
            _exit (10);
        wr_error_t err = NULL;
        if (wr_runsc_rmem_default_in_new_netns (&err) != -1 || err == NULL)
            _exit (11);
        if (err->errno_value != EPERM)
            _exit (12);
        if (strcmp (err->message, "look for `/proc/sys/net/core/rmem_default` in a new network "
                                  "namespace: unshare(CLONE_NEWNET): Operation not permitted") != 0)
            _exit (13);
        _exit (0);
    }
    int status = 0;
    assert_int_equal (waitpid (pid, &status, 0), pid);
    assert_true (WIFEXITED (status));
    assert_int_equal (WEXITSTATUS (status), 0);
}

static void
test_host_netns_guard (void **state)
{
    /* Our own namespace stands in for the host's here. */
    const char *host = "/proc/self/ns/net";
    cleanup_spec wr_spec_t *fresh =
        spec_from ("{\"linux\": {\"namespaces\": [{\"type\": \"network\"}]}}");
    cleanup_spec wr_spec_t *none = spec_from ("{\"linux\": {\"namespaces\": []}}");
    cleanup_spec wr_spec_t *ours = spec_from ("{\"linux\": {\"namespaces\": [{\"type\": "
                                              "\"network\", \"path\": \"/proc/self/ns/net\"}]}}");
    cleanup_spec wr_spec_t *missing = spec_from (
        "{\"linux\": {\"namespaces\": [{\"type\": \"network\", \"path\": \"/nonexistent/ns\"}]}}");
    assert_int_equal (wr_runsc_check_not_host_netns (fresh, host, NULL), 0);
    cleanup_error wr_error_t e1 = NULL;
    assert_int_equal (wr_runsc_check_not_host_netns (none, host, &e1), -1);
    assert_non_null (strstr (e1->message, "host's"));
    cleanup_error wr_error_t e2 = NULL;
    assert_int_equal (wr_runsc_check_not_host_netns (ours, host, &e2), -1);
    cleanup_error wr_error_t e3 = NULL;
    assert_int_equal (wr_runsc_check_not_host_netns (missing, host, &e3), -1);
    assert_non_null (strstr (e3->message, "/nonexistent/ns"));
    /* Another namespace (pid 1's, when that is not ours, or a file that is
     * not ours at all) passes. */
    cleanup_spec wr_spec_t *other = spec_from (
        "{\"linux\": {\"namespaces\": [{\"type\": \"network\", \"path\": \"/proc/self/exe\"}]}}");
    assert_int_equal (wr_runsc_check_not_host_netns (other, host, NULL), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_choose_network),
        cmocka_unit_test (test_rmem_workaround_conditions),
        cmocka_unit_test (test_rmem_probe_matches_unshare),
        cmocka_unit_test (test_rmem_probe_error_names_the_file),
        cmocka_unit_test (test_host_netns_guard),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
