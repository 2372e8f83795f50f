/* agent_output: bytes kept in a small memory ring and a spill file, read
 * back from any offset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_output.h"
#include "agent_spawn.h"
#include "cleanup.h"

static void
fill (uint8_t *buf, size_t n, uint64_t start)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t) ((start + i) * 7 + ((start + i) >> 8));
}

static void
check_read (agent_output_t *out, uint64_t offset, size_t n)
{
    uint8_t *got = malloc (n), *want = malloc (n);
    fill (want, n, offset);
    size_t done = 0;
    while (done < n) {
        cleanup_error wr_error_t err = NULL;
        ssize_t r = agent_output_read (out, offset + done, got + done, n - done, &err);
        if (r <= 0)
            fail_msg ("read at %llu: %s", (unsigned long long) (offset + done),
                      err ? err->message : "end");
        done += (size_t) r;
    }
    assert_memory_equal (got, want, n);
    free (got);
    free (want);
}

static void
test_spill_and_memory (void **state)
{
    (void) state;
    char path[] = "/tmp/test-agent-output-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    close (fd);
    agent_output_t out;
    agent_output_init (&out, path, 1000);
    uint8_t chunk[777];
    for (uint64_t off = 0; off < 100000; off += sizeof chunk) {
        fill (chunk, sizeof chunk, off);
        assert_int_equal (agent_output_append (&out, chunk, sizeof chunk, NULL), 0);
    }
    uint64_t total = out.total;
    assert_int_equal (total % 777, 0);
    check_read (&out, 0, 5000); /* from the file */
    check_read (&out, total - 900, 900); /* from memory */
    check_read (&out, total - 1500, 1500); /* across both */
    uint8_t b;
    assert_int_equal (agent_output_read (&out, total, &b, 1, NULL), 0);
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (agent_output_read (&out, total + 1, &b, 1, &err), -1);
    agent_output_clear (&out);
    assert_int_equal (access (path, F_OK), -1); /* the spill file is gone */
}

static void
expect_text (agent_output_t *out, const char *text)
{
    char buf[64];
    ssize_t r = agent_output_read (out, 0, buf, sizeof buf, NULL);
    assert_int_equal (r, strlen (text));
    assert_memory_equal (buf, text, strlen (text));
}

/* Nothing exists before the first byte; then the file, and its directory,
 * are created, replacing one left over. */
static void
test_spill_created_with_first_byte (void **state)
{
    (void) state;
    char dir[] = "/tmp/test-agent-output-XXXXXX";
    assert_non_null (mkdtemp (dir));
    char path[128];
    snprintf (path, sizeof path, "%s/spill/p1.stdout", dir);
    agent_output_t out;
    agent_output_init (&out, path, 100);
    assert_null (out.ring);
    assert_int_equal (agent_output_append (&out, "", 0, NULL), 0);
    assert_int_equal (access (path, F_OK), -1);
    assert_null (out.ring);
    assert_int_equal (agent_output_append (&out, "hello", 5, NULL), 0);
    struct stat st;
    assert_int_equal (stat (path, &st), 0);
    assert_int_equal (st.st_size, 5);
    assert_int_equal (st.st_mode & 0777, 0600);
    expect_text (&out, "hello");
    agent_output_clear (&out);
    assert_int_equal (access (path, F_OK), -1);
    /* A file left over is replaced, and removed even with no output. */
    FILE *f = fopen (path, "w");
    assert_non_null (f);
    fputs ("old bytes", f);
    fclose (f);
    agent_output_init (&out, path, 100);
    assert_int_equal (agent_output_append (&out, "ab", 2, NULL), 0);
    assert_int_equal (stat (path, &st), 0);
    assert_int_equal (st.st_size, 2);
    agent_output_clear (&out);
    f = fopen (path, "w");
    assert_non_null (f);
    fclose (f);
    agent_output_init (&out, path, 100);
    agent_output_clear (&out);
    assert_int_equal (access (path, F_OK), -1);
    /* A spill file that cannot be made (a file where its directory would
     * be): an error, the bytes in memory. */
    char bad[160];
    snprintf (bad, sizeof bad, "%s/spill/p1.stdout/x", dir);
    f = fopen (path, "w");
    assert_non_null (f);
    fclose (f);
    agent_output_init (&out, bad, 100);
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (agent_output_append (&out, "hello", 5, &err), -1);
    assert_non_null (strstr (err->message, "memory only"));
    expect_text (&out, "hello");
    assert_int_equal (out.total, 5);
    agent_output_clear (&out);
    char cmd[200];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal (system (cmd), 0);
}

static void
test_memory_only (void **state)
{
    (void) state;
    agent_output_t out;
    agent_output_init (&out, NULL, 100);
    uint8_t data[250];
    fill (data, sizeof data, 0);
    assert_int_equal (agent_output_append (&out, data, sizeof data, NULL), 0);
    check_read (&out, 150, 100);
    uint8_t b;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (agent_output_read (&out, 10, &b, 1, &err), -1);
    assert_int_equal (err->kind, WR_ERROR_LIMIT);
    agent_output_clear (&out);
}

static void
test_user_lookup (void **state)
{
    (void) state;
    char path[] = "/tmp/test-agent-passwd-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    const char *text =
        "root:x:0:0:root:/root:/bin/sh\nbroken line\napp:x:1000:1001::/home/app:/bin/sh\n";
    assert_int_equal (write (fd, text, strlen (text)), (ssize_t) strlen (text));
    close (fd);
    uid_t uid;
    gid_t gid;
    assert_int_equal (agent_user_lookup (path, "app", &uid, &gid, NULL), 0);
    assert_int_equal (uid, 1000);
    assert_int_equal (gid, 1001);
    assert_int_equal (agent_user_lookup (path, "1000", &uid, &gid, NULL), 0);
    assert_int_equal (gid, 1001);
    assert_int_equal (agent_user_lookup (path, "4242", &uid, &gid, NULL), 0);
    assert_int_equal (uid, 4242);
    assert_int_equal (gid, 4242);
    assert_int_equal (agent_user_lookup (path, "5:6", &uid, &gid, NULL), 0);
    assert_int_equal (uid, 5);
    assert_int_equal (gid, 6);
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (agent_user_lookup (path, "nobody-here", &uid, &gid, &err), -1);
    assert_int_equal (err->kind, WR_ERROR_NOT_FOUND);
    wr_error_free (&err);
    assert_int_equal (agent_user_lookup (path, "5:x", &uid, &gid, &err), -1);
    assert_int_equal (err->kind, WR_ERROR_INVALID);
    unlink (path);
}

static void
test_env_merge (void **state)
{
    (void) state;
    char *base[] = { "PATH=/bin", "HOME=/root", NULL };
    char *extra[] = { "HOME=/home/app", "CI=1", NULL };
    cleanup_strv char **env = agent_env_merge (base, extra);
    assert_string_equal (env[0], "PATH=/bin");
    assert_string_equal (env[1], "HOME=/home/app");
    assert_string_equal (env[2], "CI=1");
    assert_null (env[3]);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_spill_and_memory),
        cmocka_unit_test (test_spill_created_with_first_byte),
        cmocka_unit_test (test_memory_only),
        cmocka_unit_test (test_user_lookup),
        cmocka_unit_test (test_env_merge),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
