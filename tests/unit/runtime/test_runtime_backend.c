/* Unit tests of runtime_backend.c: the table of backends, the default
 * state directory and choosing a supported spelling of a flag. */
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

static wr_backend_t *
backend_with_flags (const char *const *flags)
{
    wr_backend_t *backend = wr_backend_new (&wr_backend_runsc, NULL, NULL);
    backend->info.flags = xzalloc (sizeof (char *));
    for (size_t i = 0; flags[i] != NULL; i++)
        wr_strv_add (&backend->info.flags, flags[i]);
    backend->probed = true;
    return backend;
}

static void
test_supported_flag_spelling (void **state)
{
    static const char *const old_runsc[] = { "net-raw", "TESTONLY-allow-packet-endpoint-write",
                                             "overlay2", NULL };
    static const char *const new_runsc[] = { "net-raw", "allow-packet-socket-write",
                                             "TESTONLY-allow-packet-endpoint-write", NULL };
    const wr_runsc_flag_t packet = {
        { "allow-packet-socket-write", "TESTONLY-allow-packet-endpoint-write", NULL }, "docker 28"
    };
    const wr_runsc_flag_t missing = { { "no-such-flag", NULL }, "test" };
    const wr_runsc_flag_t with_value = { { "overlay2=root:memory", NULL }, "test" };

    cleanup_backend wr_backend_t *old = backend_with_flags (old_runsc);
    cleanup_backend wr_backend_t *new = backend_with_flags (new_runsc);
    cleanup_strv char **argv = NULL;
    assert_true (wr_backend_add_supported_flag (old, &packet, &argv));
    assert_true (wr_backend_add_supported_flag (new, &packet, &argv));
    assert_false (wr_backend_add_supported_flag (new, &missing, &argv));
    assert_true (wr_backend_add_supported_flag (old, &with_value, &argv));
    assert_false (wr_backend_add_supported_flag (new, &with_value, &argv));
    cleanup_free char *joined = wr_strv_join (argv, " ");
    assert_string_equal (joined, "--TESTONLY-allow-packet-endpoint-write "
                                 "--allow-packet-socket-write --overlay2=root:memory");
}

static void
test_ops_find (void **state)
{
    assert_ptr_equal (wr_backend_ops_find ("runsc", NULL), &wr_backend_runsc);
    assert_ptr_equal (wr_backend_ops_find ("runc", NULL), &wr_backend_runc);
    assert_ptr_equal (wr_backend_ops_find ("crun", NULL), &wr_backend_crun);
    cleanup_error wr_error_t err = NULL;
    assert_null (wr_backend_ops_find ("kata", &err));
    assert_non_null (strstr (err->message, "kata"));
}

static void
test_default_state_dir (void **state)
{
    cleanup_free char *a = wr_backend_default_state_dir ("/srv/w");
    assert_string_equal (a, "/srv/w/run");
    cleanup_free char *b = wr_backend_default_state_dir (NULL);
    assert_string_equal (b, "/run/warren");
    cleanup_free char *c = wr_backend_default_state_dir ("");
    assert_string_equal (c, "/run/warren");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_supported_flag_spelling),
        cmocka_unit_test (test_ops_find),
        cmocka_unit_test (test_default_state_dir),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
