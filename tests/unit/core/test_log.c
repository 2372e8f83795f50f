/* Unit tests of log.c: text (logfmt) and JSON lines, quoting, levels; logs
 * passed by the caller (sinks, fields, parents). */
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
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "xalloc.h"

static char log_path[] = "/tmp/warren-test-log-XXXXXX";

/* Returns what was logged since the last call, and empties the file. */
static char *
take_log (void)
{
    cleanup_fclose FILE *f = fopen (log_path, "r");
    assert_non_null (f);
    char *buf = xzalloc (65536);
    size_t n = fread (buf, 1, 65535, f);
    buf[n] = '\0';
    assert_int_equal (truncate (log_path, 0), 0);
    return buf;
}

static int
setup (void **state)
{
    cleanup_error wr_error_t err = NULL;
    int fd = mkstemp (log_path);
    if (fd < 0)
        return -1;
    close (fd);
    if (wr_log_set_file (log_path, &err) < 0)
        return -1;
    return 0;
}

static int
teardown (void **state)
{
    unlink (log_path);
    return 0;
}

static int
reset (void **state)
{
    wr_log_set_format (WR_LOG_TEXT);
    wr_log_set_level (WR_LOG_INFO);
    wr_log_set_errors_to_stderr (false);
    free (take_log ());
    return 0;
}

static void
test_text_line (void **state)
{
    wr_log (WR_LOG_INFO, "pulling", "image", "busybox", "tag", "latest", NULL);
    cleanup_free char *out = take_log ();
    assert_string_equal (out, "level=info msg=\"pulling\" image=busybox tag=latest\n");
}

static void
test_text_quoting (void **state)
{
    wr_log (WR_LOG_WARN, "a \"quoted\"\nmessage", "space", "a b", "empty", "", "quote",
            "say \"hi\"", "equals", "a=b", "newline", "x\ny", "backslash", "c:\\d", "null", NULL,
            "plain", "/var/lib/warren", NULL);
    cleanup_free char *out = take_log ();
    assert_string_equal (out, "level=warning msg=\"a \\\"quoted\\\"\\nmessage\" space=\"a b\" "
                              "empty=\"\" quote=\"say \\\"hi\\\"\" equals=\"a=b\" "
                              "newline=\"x\\ny\" backslash=\"c:\\\\d\" null=\"\" "
                              "plain=/var/lib/warren\n");
}

static void
test_levels (void **state)
{
    wr_log (WR_LOG_DEBUG, "hidden", NULL);
    cleanup_free char *out = take_log ();
    assert_string_equal (out, "");

    wr_log_set_level (WR_LOG_DEBUG);
    wr_log (WR_LOG_DEBUG, "shown", NULL);
    wr_log (WR_LOG_ERROR, "bad", NULL);
    cleanup_free char *out2 = take_log ();
    assert_string_equal (out2, "level=debug msg=\"shown\"\nlevel=error msg=\"bad\"\n");

    wr_log_set_level (WR_LOG_ERROR);
    wr_log (WR_LOG_WARN, "hidden", NULL);
    wr_logf (WR_LOG_INFO, "hidden %d", 1);
    cleanup_free char *out3 = take_log ();
    assert_string_equal (out3, "");
}

static void
test_logf (void **state)
{
    wr_logf (WR_LOG_INFO, "docker daemon is ready (took %.1fs)", 1.24);
    cleanup_free char *out = take_log ();
    assert_string_equal (out, "level=info msg=\"docker daemon is ready (took 1.2s)\"\n");
}

static void
test_json_line (void **state)
{
    wr_log_set_format (WR_LOG_JSON);
    wr_log (WR_LOG_ERROR, "runsc \"create\" failed", "bundle", "/b", "ctl", "\x01\t", NULL);
    cleanup_free char *out = take_log ();

    /* One line, in runc's shape: level, msg, fields, time. */
    size_t len = strlen (out);
    assert_true (len > 0 && out[len - 1] == '\n');
    assert_true (strchr (out, '\n') == out + len - 1);
    assert_true (strncmp (out,
                          "{\"level\":\"error\",\"msg\":\"runsc \\\"create\\\" failed\","
                          "\"bundle\":\"/b\",\"ctl\":\"\\u0001\\t\",\"time\":\"",
                          strlen ("{\"level\":\"error\",\"msg\":\"runsc \\\"create\\\" failed\","
                                  "\"bundle\":\"/b\",\"ctl\":\"\\u0001\\t\",\"time\":\"")) == 0);

    json_object *line = json_tokener_parse (out);
    assert_non_null (line);
    json_object *msg = NULL, *time = NULL, *ctl = NULL;
    assert_true (json_object_object_get_ex (line, "msg", &msg));
    assert_string_equal (json_object_get_string (msg), "runsc \"create\" failed");
    assert_true (json_object_object_get_ex (line, "ctl", &ctl));
    assert_string_equal (json_object_get_string (ctl), "\x01\t");
    assert_true (json_object_object_get_ex (line, "time", &time));
    /* RFC 3339 in UTC with nanoseconds: 2026-11-29T09:25:24.600812879Z */
    const char *t = json_object_get_string (time);
    assert_int_equal (strlen (t), 30);
    assert_true (t[4] == '-' && t[10] == 'T' && t[19] == '.' && t[29] == 'Z');
    json_object_put (line);
}

static void
test_errors_copied_to_stderr (void **state)
{
    char err_path[] = "/tmp/warren-test-log-stderr-XXXXXX";
    int fd = mkstemp (err_path);
    assert_true (fd >= 0);
    int saved = dup (STDERR_FILENO);
    assert_int_equal (dup2 (fd, STDERR_FILENO), STDERR_FILENO);

    wr_log_set_format (WR_LOG_JSON);
    wr_log_set_errors_to_stderr (true);
    wr_log (WR_LOG_INFO, "not copied", NULL);
    wr_log (WR_LOG_ERROR, "copied", "k", "v", NULL);

    dup2 (saved, STDERR_FILENO);
    close (saved);
    char buf[256] = { 0 };
    assert_true (pread (fd, buf, sizeof buf - 1, 0) > 0);
    close (fd);
    unlink (err_path);
    /* Plain text on stderr, JSON in the log file. */
    assert_string_equal (buf, "level=error msg=\"copied\" k=v\n");
    cleanup_free char *out = take_log ();
    assert_int_equal (strncmp (out, "{\"level\":\"info\"", 15), 0);
    assert_non_null (strstr (out, "\n{\"level\":\"error\",\"msg\":\"copied\",\"k\":\"v\""));
}

static void
test_parse_format (void **state)
{
    cleanup_error wr_error_t err = NULL;
    wr_log_format_t format = WR_LOG_TEXT;
    assert_int_equal (wr_log_parse_format ("json", &format, &err), 0);
    assert_int_equal (format, WR_LOG_JSON);
    assert_int_equal (wr_log_parse_format ("text", &format, &err), 0);
    assert_int_equal (format, WR_LOG_TEXT);
    assert_int_equal (wr_log_parse_format ("xml", &format, &err), -1);
    assert_string_equal (err->message, "unknown log format `xml` (use `text` or `json`)");
}

static void
test_set_file_error (void **state)
{
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (wr_log_set_file ("/nonexistent/dir/log", &err), -1);
    assert_string_equal (err->message,
                         "open log file `/nonexistent/dir/log`: No such file or directory");
    /* Logging still goes to the old file. */
    wr_log (WR_LOG_INFO, "still here", NULL);
    cleanup_free char *out = take_log ();
    assert_string_equal (out, "level=info msg=\"still here\"\n");
}

static void
test_append_json_string (void **state)
{
    char *buf = NULL;
    size_t cap = 0;
    size_t len = wr_log_append_json_string (&buf, 0, &cap, "a\"b\\c\n\r\x1f");
    len = wr_log_append_json_string (&buf, len, &cap, "");
    assert_int_equal (len, strlen (buf));
    assert_string_equal (buf, "\"a\\\"b\\\\c\\n\\r\\u001f\"\"\"");
    free (buf);
}

/* A sink that keeps each line as "LEVEL MSG k=v k=v". */
typedef struct {
    char lines[8][256];
    int n;
} sink_t;

static void
sink_write (void *data, wr_log_level_t level, const char *msg, const char *const *fields)
{
    sink_t *sink = data;
    assert_true (sink->n < 8);
    char *line = sink->lines[sink->n++];
    int len = snprintf (line, 256, "%d %s", (int) level, msg);
    for (size_t i = 0; fields[i] != NULL; i += 2) {
        assert_non_null (fields[i + 1]);
        len += snprintf (line + len, 256 - (size_t) len, " %s=%s", fields[i], fields[i + 1]);
    }
}

static void
test_sink_gets_lines_not_the_standard_log (void **state)
{
    sink_t sink = { 0 };
    const char *fields[] = { "request", "r1", NULL };
    wr_log_t log = { .write = sink_write, .data = &sink, .fields = fields };
    wr_log_to (&log, WR_LOG_INFO, "pulling", "image", "busybox", NULL);
    wr_logf_to (&log, WR_LOG_WARN, "took %ds", 3);
    assert_int_equal (sink.n, 2);
    assert_string_equal (sink.lines[0], "1 pulling request=r1 image=busybox");
    assert_string_equal (sink.lines[1], "2 took 3s request=r1");
    cleanup_free char *standard = take_log ();
    assert_string_equal (standard, "");
}

static void
test_child_adds_fields_in_order (void **state)
{
    sink_t sink = { 0 };
    wr_log_t root = { .write = sink_write,
                      .data = &sink,
                      .fields = (const char *[]){ "request", "r1", NULL } };
    wr_log_t sandbox = { .parent = &root, .fields = (const char *[]){ "sandbox", "s1", NULL } };
    wr_log_t pull = { .parent = &sandbox, .fields = (const char *[]){ "image", "debian", NULL } };
    wr_log_to (&pull, WR_LOG_INFO, "resolved", "manifest", "sha256:0", NULL);
    wr_log_to (&sandbox, WR_LOG_ERROR, "failed", NULL);
    assert_int_equal (sink.n, 2);
    assert_string_equal (sink.lines[0],
                         "1 resolved request=r1 sandbox=s1 image=debian manifest=sha256:0");
    assert_string_equal (sink.lines[1], "3 failed request=r1 sandbox=s1");

    /* However deep the chain, every log's fields are there, root first. */
    static const char *const first[] = { "d", "first", NULL };
    static const char *const middle[] = { "d", "x", NULL };
    static const char *const last[] = { "d", "last", NULL };
    wr_log_t deep[20];
    for (int i = 0; i < 20; i++)
        deep[i] = (wr_log_t){ .parent = i ? &deep[i - 1] : &root, .fields = middle };
    deep[0].fields = first;
    deep[19].fields = last;
    wr_log_to (&deep[19], WR_LOG_INFO, "deep", NULL);
    assert_int_equal (sink.n, 3);
    assert_non_null (strstr (sink.lines[2], "1 deep request=r1 d=first d=x"));
    assert_non_null (strstr (sink.lines[2], " d=x d=last"));
    int ds = 0;
    for (const char *p = sink.lines[2]; (p = strstr (p, " d=")) != NULL; p++)
        ds++;
    assert_int_equal (ds, 20);
}

static void
test_levels_of_each_log_in_the_chain (void **state)
{
    sink_t sink = { 0 };
    wr_log_t root = { .write = sink_write, .data = &sink, .level = WR_LOG_INFO };
    wr_log_t quiet = { .parent = &root, .level = WR_LOG_WARN };
    wr_log_to (&quiet, WR_LOG_INFO, "dropped by the child", NULL);
    wr_log_to (&root, WR_LOG_DEBUG, "dropped by the root", NULL);
    wr_log_to (&quiet, WR_LOG_WARN, "kept", NULL);
    assert_false (wr_log_enabled (&quiet, WR_LOG_INFO));
    assert_true (wr_log_enabled (&quiet, WR_LOG_ERROR));
    assert_false (wr_log_enabled (&root, WR_LOG_DEBUG));
    assert_int_equal (sink.n, 1);
    assert_string_equal (sink.lines[0], "2 kept");
}

static void
test_null_and_unsinked_logs_go_to_the_standard_log (void **state)
{
    wr_log_t fields_only = { .fields = (const char *[]){ "request", "r2", NULL } };
    wr_log_to (&fields_only, WR_LOG_INFO, "to the standard log", "k", "v", NULL);
    wr_log_to (NULL, WR_LOG_INFO, "null log", NULL);
    wr_log_to (&fields_only, WR_LOG_DEBUG, "below the standard level", NULL);
    cleanup_free char *out = take_log ();
    assert_string_equal (out, "level=info msg=\"to the standard log\" request=r2 k=v\n"
                              "level=info msg=\"null log\"\n");
    /* wr_log_write_standard as a sink writes there too, with the fields. */
    wr_log_t standard = { .write = wr_log_write_standard,
                          .fields = (const char *[]){ "sandbox", "s9", NULL } };
    wr_log_to (&standard, WR_LOG_WARN, "via the standard sink", NULL);
    cleanup_free char *out2 = take_log ();
    assert_string_equal (out2, "level=warning msg=\"via the standard sink\" sandbox=s9\n");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup (test_text_line, reset),
        cmocka_unit_test_setup (test_text_quoting, reset),
        cmocka_unit_test_setup (test_levels, reset),
        cmocka_unit_test_setup (test_logf, reset),
        cmocka_unit_test_setup (test_json_line, reset),
        cmocka_unit_test_setup (test_errors_copied_to_stderr, reset),
        cmocka_unit_test_setup (test_parse_format, reset),
        cmocka_unit_test_setup (test_set_file_error, reset),
        cmocka_unit_test_setup (test_append_json_string, reset),
        cmocka_unit_test_setup (test_sink_gets_lines_not_the_standard_log, reset),
        cmocka_unit_test_setup (test_child_adds_fields_in_order, reset),
        cmocka_unit_test_setup (test_levels_of_each_log_in_the_chain, reset),
        cmocka_unit_test_setup (test_null_and_unsinked_logs_go_to_the_standard_log, reset),
    };
    return cmocka_run_group_tests (tests, setup, teardown);
}
