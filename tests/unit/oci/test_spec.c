/* Unit tests of spec.c: loading, saving and editing config.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "spec.h"
#include "xalloc.h"

/* A document with fields warren knows nothing about, at every level. */
static const char unknown_fields_doc[] =
    "{\n"
    "  \"ociVersion\": \"1.0.2\",\n"
    "  \"x-top\": {\"list\": [1, 2.50, -3, 18446744073709551615, true, null, \"s\"]},\n"
    "  \"process\": {\n"
    "    \"args\": [\"/bin/sh\"],\n"
    "    \"x-process\": \"kept\",\n"
    "    \"capabilities\": {\"bounding\": [\"CAP_KILL\"], \"x-caps\": [\"CAP_BOGUS\"]},\n"
    "    \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024, "
    "\"x-rl\": 1}]\n"
    "  },\n"
    "  \"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\", "
    "\"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}]}],\n"
    "  \"linux\": {\n"
    "    \"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}], "
    "\"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 209715200}]},\n"
    "    \"io.example.vendor/thing\": {\"deep\": {\"deeper\": [[], {}, \"a/b\"]}},\n"
    "    \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": "
    "[\"accept\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n"
    "  },\n"
    "  \"annotations\": {\"org.example/with.dots\": \"v\", \"empty\": \"\"},\n"
    "  \"unicode\": \"caf\\u00e9 \\u2603 \\\"quoted\\\" back\\\\slash\"\n"
    "}\n";

static wr_spec_t *
parse_ok (const char *text)
{
    cleanup_error wr_error_t err = NULL;
    wr_spec_t *spec = wr_spec_parse (text, strlen (text), "test.json", &err);
    if (spec == NULL)
        fail_msg ("parse failed: %s", err->message);
    return spec;
}

/* Parses TEXT expecting an error, and returns the message. */
static char *
parse_error (const char *text, size_t len, const char *name)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_spec wr_spec_t *spec = wr_spec_parse (text, len, name, &err);
    assert_null (spec);
    assert_non_null (err);
    return xstrdup (err->message);
}

static char *
make_temp_dir (void)
{
    char *dir = xstrdup ("/tmp/warren-test-spec-XXXXXX");
    assert_non_null (mkdtemp (dir));
    return dir;
}

static void
remove_temp_dir (const char *dir)
{
    cleanup_closedir DIR *d = opendir (dir);
    struct dirent *e;
    while (d != NULL && (e = readdir (d)) != NULL) {
        if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
            continue;
        cleanup_free char *path = xasprintf ("%s/%s", dir, e->d_name);
        unlink (path);
    }
    rmdir (dir);
}

static int
count_dir_entries (const char *dir)
{
    cleanup_closedir DIR *d = opendir (dir);
    struct dirent *e;
    int n = 0;
    assert_non_null (d);
    while ((e = readdir (d)) != NULL) {
        if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
            n++;
    }
    return n;
}

static void
write_file (const char *path, const char *text)
{
    cleanup_fclose FILE *f = fopen (path, "w");
    assert_non_null (f);
    assert_int_equal (fwrite (text, 1, strlen (text), f), strlen (text));
}

static char *
read_file (const char *path)
{
    cleanup_fclose FILE *f = fopen (path, "r");
    assert_non_null (f);
    char *buf = xzalloc (1 << 20);
    size_t n = fread (buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    return buf;
}

static json_object *
at (wr_spec_t *spec, const char *pointer)
{
    json_object *o = NULL;
    if (json_pointer_get (wr_spec_root (spec), pointer, &o) < 0)
        return NULL;
    return o;
}

static void
assert_string_at (wr_spec_t *spec, const char *pointer, const char *expected)
{
    json_object *o = at (spec, pointer);
    if (o == NULL)
        fail_msg ("%s is missing", pointer);
    assert_true (json_object_is_type (o, json_type_string));
    assert_string_equal (json_object_get_string (o), expected);
}

static size_t
length_at (wr_spec_t *spec, const char *pointer)
{
    json_object *o = at (spec, pointer);
    assert_non_null (o);
    assert_true (json_object_is_type (o, json_type_array));
    return json_object_array_length (o);
}

/* Round trip */

static void
test_round_trip_keeps_unknown_fields (void **state)
{
    cleanup_spec wr_spec_t *spec = parse_ok (unknown_fields_doc);
    cleanup_free char *text = wr_spec_to_string (spec);
    cleanup_spec wr_spec_t *again = parse_ok (text);

    /* json-c's own comparison, plus the fields checked by hand. */
    json_object *original = json_tokener_parse (unknown_fields_doc);
    assert_true (json_object_equal (original, wr_spec_root (again)));
    json_object_put (original);

    assert_string_at (again, "/process/x-process", "kept");
    assert_string_at (again, "/process/capabilities/x-caps/0", "CAP_BOGUS");
    assert_string_at (again, "/linux/io.example.vendor~1thing/deep/deeper/2", "a/b");
    assert_string_at (again, "/annotations/org.example~1with.dots", "v");
    assert_string_at (again, "/unicode", "caf\xc3\xa9 \xe2\x98\x83 \"quoted\" back\\slash");
    assert_int_equal (json_object_get_int (at (again, "/mounts/0/uidMappings/0/hostID")), 1000);
    assert_true (json_object_get_type (at (again, "/x-top/list/5")) == json_type_null);
    /* Numbers keep their exact text: 2.50 stays 2.50, big unsigned stays. */
    assert_non_null (strstr (text, "2.50"));
    assert_non_null (strstr (text, "18446744073709551615"));
    /* No escaped slashes, pretty printed, one final newline. */
    assert_non_null (strstr (text, "\"a/b\""));
    assert_null (strstr (text, "\\/"));
    assert_non_null (strstr (text, "\n  \"ociVersion\": \"1.0.2\""));
    size_t len = strlen (text);
    assert_true (len > 2 && text[len - 1] == '\n' && text[len - 2] != '\n');

    /* Printing is stable. */
    cleanup_free char *text2 = wr_spec_to_string (again);
    assert_string_equal (text, text2);
}

static void
test_edits_keep_unknown_fields (void **state)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_spec wr_spec_t *spec = parse_ok (unknown_fields_doc);
    static const char *const opts[] = { "rbind", "ro", NULL };
    const wr_mount_t mount = { "/proc", "bind", "/host/proc", opts };

    assert_int_equal (wr_spec_add_capability (spec, "CAP_SYS_ADMIN", &err), 0);
    assert_int_equal (wr_spec_clear_device_rules (spec, &err), 0);
    assert_int_equal (wr_spec_set_rlimit (spec, "RLIMIT_NPROC", 10, 20, &err), 0);
    assert_int_equal (wr_spec_add_mount (spec, &mount, &err), 0);

    assert_string_at (spec, "/process/x-process", "kept");
    assert_string_at (spec, "/process/capabilities/x-caps/0", "CAP_BOGUS");
    assert_non_null (at (spec, "/linux/resources/hugepageLimits/0"));
    assert_null (at (spec, "/linux/resources/devices"));
    assert_non_null (at (spec, "/linux/seccomp/syscalls/0/names"));
    assert_string_at (spec, "/linux/io.example.vendor~1thing/deep/deeper/2", "a/b");
    /* A field of an element that is not replaced stays. */
    assert_int_equal (json_object_get_int (at (spec, "/process/rlimits/0/x-rl")), 1);
}

static void
test_load_save_round_trip (void **state)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_free char *dir = make_temp_dir ();
    cleanup_free char *path = xasprintf ("%s/config.json", dir);
    write_file (path, unknown_fields_doc);
    assert_int_equal (chmod (path, 0640), 0);

    cleanup_spec wr_spec_t *spec = wr_spec_load (path, &err);
    assert_non_null (spec);
    assert_int_equal (wr_spec_set_env (spec, "A", "b", &err), 0);
    assert_int_equal (wr_spec_save (spec, path, &err), 0);

    /* Atomic save: nothing but config.json is left in the directory, and its
     * mode is the one it had. */
    assert_int_equal (count_dir_entries (dir), 1);
    struct stat st;
    assert_int_equal (stat (path, &st), 0);
    assert_int_equal (st.st_mode & 07777, 0640);

    cleanup_free char *saved = read_file (path);
    cleanup_free char *expected = wr_spec_to_string (spec);
    assert_string_equal (saved, expected);

    cleanup_spec wr_spec_t *reloaded = wr_spec_load (path, &err);
    assert_non_null (reloaded);
    assert_true (json_object_equal (wr_spec_root (spec), wr_spec_root (reloaded)));
    assert_string_equal (wr_spec_get_env (reloaded, "A"), "b");
    remove_temp_dir (dir);
}

static void
test_save_new_file (void **state)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_free char *dir = make_temp_dir ();
    cleanup_free char *path = xasprintf ("%s/new.json", dir);
    cleanup_spec wr_spec_t *spec = parse_ok ("{\"ociVersion\":\"1.0.2\"}");

    assert_int_equal (wr_spec_save (spec, path, &err), 0);
    struct stat st;
    assert_int_equal (stat (path, &st), 0);
    assert_int_equal (st.st_mode & 07777, 0644);
    cleanup_free char *saved = read_file (path);
    assert_string_equal (saved, "{\n  \"ociVersion\": \"1.0.2\"\n}\n");
    assert_int_equal (count_dir_entries (dir), 1);
    remove_temp_dir (dir);
}

static void
test_save_error_names_file (void **state)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_free char *dir = make_temp_dir ();
    cleanup_free char *path = xasprintf ("%s/missing/config.json", dir);
    cleanup_spec wr_spec_t *spec = parse_ok ("{}");

    assert_int_equal (wr_spec_save (spec, path, &err), -1);
    assert_non_null (strstr (err->message, path));
    assert_non_null (strstr (err->message, "No such file or directory"));

    /* Saving over a directory fails at rename and leaves no temporary file. */
    wr_error_free (&err);
    cleanup_free char *subdir = xasprintf ("%s/config.json", dir);
    assert_int_equal (mkdir (subdir, 0755), 0);
    assert_int_equal (wr_spec_save (spec, subdir, &err), -1);
    assert_non_null (strstr (err->message, "rename"));
    assert_int_equal (count_dir_entries (dir), 1);
    rmdir (subdir);
    remove_temp_dir (dir);
}

/* Errors */

static void
test_malformed_json_names_file_and_position (void **state)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_free char *dir = make_temp_dir ();
    cleanup_free char *path = xasprintf ("%s/config.json", dir);
    write_file (path, "{\n  \"a\": 1,\n  \"b\" 2\n}\n");

    cleanup_spec wr_spec_t *spec = wr_spec_load (path, &err);
    assert_null (spec);
    cleanup_free char *expected = xasprintf (
        "parse `%s`: line 3, column 7: object property name separator ':' expected", path);
    assert_string_equal (err->message, expected);
    remove_temp_dir (dir);
}

static void
test_malformed_json_cases (void **state)
{
    static const struct {
        const char *text;
        const char *message;
    } cases[] = {
        { "", "parse `c.json`: line 1, column 1: unexpected end of data" },
        { "{\"a\": [1, 2", "parse `c.json`: line 1, column 12: unexpected end of data" },
        { "{\"a\": 1} x", "parse `c.json`: line 1, column 10: unexpected character" },
        { "{\"a\": 1}\n\n  }", "parse `c.json`: line 3, column 3: unexpected character" },
        { "{\"a\": 1,}", "parse `c.json`: line 1, column 9: unexpected character" },
        { "{\n\t\"a\": tru}", "parse `c.json`: line 2, column 10: boolean expected" },
        { "{\"a\": 1} // comment", "parse `c.json`: line 1, column 10: unexpected character" },
        { "[]", "parse `c.json`: the top level must be an object, not an array" },
        { "\"text\"", "parse `c.json`: the top level must be an object, not a string" },
        { "null", "parse `c.json`: the top level must be an object, not null" },
        { "  42  ", "parse `c.json`: the top level must be an object, not an integer" },
        { "42", "parse `c.json`: the top level must be an object, not an integer" },
        { "{\"a\": 1", "parse `c.json`: line 1, column 8: unexpected end of data" },
        { "{\"a\": nul", "parse `c.json`: line 1, column 10: unexpected end of data" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cleanup_free char *message = parse_error (cases[i].text, strlen (cases[i].text), "c.json");
        if (strcmp (message, cases[i].message) != 0)
            fail_msg ("input %zu `%s`:\n got      %s\n expected %s", i, cases[i].text, message,
                      cases[i].message);
    }
}

static void
test_malformed_binary_input (void **state)
{
    /* A NUL inside a string, a NUL after the document, invalid UTF-8, and
     * nesting deeper than json-c's limit: errors, never crashes. */
    static const char nul_in_string[] = "{\"a\": \"b\0c\"}";
    static const char nul_after[] = "{\"a\": 1}\0";
    static const char bad_utf8[] = "{\"a\": \"\xff\xfe\"}";
    char deep[200];
    memset (deep, '[', sizeof deep);
    deep[0] = '{';
    memcpy (deep + 1, "\"a\":", 4);

    cleanup_free char *m1 = parse_error (nul_in_string, sizeof nul_in_string - 1, "n");
    assert_non_null (strstr (m1, "parse `n`: line 1, column "));
    cleanup_free char *m2 = parse_error (nul_after, sizeof nul_after - 1, "n");
    assert_string_equal (m2, "parse `n`: line 1, column 9: unexpected data after the document");
    cleanup_free char *m3 = parse_error (bad_utf8, sizeof bad_utf8 - 1, "n");
    assert_non_null (strstr (m3, "invalid utf-8"));
    cleanup_free char *m4 = parse_error (deep, sizeof deep, "n");
    assert_non_null (strstr (m4, "nesting too deep"));
    /* Text without a terminating NUL: only LEN bytes are read. */
    cleanup_free char *m5 = parse_error ("{\"a\": 1}", 5, "n");
    assert_string_equal (m5, "parse `n`: line 1, column 6: unexpected end of data");
}

static void
test_load_missing_file (void **state)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_spec wr_spec_t *spec = wr_spec_load ("/nonexistent/warren/config.json", &err);
    assert_null (spec);
    assert_string_equal (err->message,
                         "open `/nonexistent/warren/config.json`: No such file or directory");
}

static void
test_wrong_types_name_the_path (void **state)
{
    static const struct {
        const char *doc;
        const char *message;
    } cases[] = {
        { "{\"process\": {\"capabilities\": {\"bounding\": \"CAP_KILL\"}}}",
          "`w.json`: `process.capabilities.bounding` must be an array, not a string" },
        { "{\"process\": \"sh\"}", "`w.json`: `process` must be an object, not a string" },
        { "{\"process\": {\"capabilities\": [1]}}",
          "`w.json`: `process.capabilities` must be an object, not an array" },
        { "{\"process\": {\"capabilities\": {\"effective\": [\"CAP_KILL\", 7]}}}",
          "`w.json`: `process.capabilities.effective[1]` must be a string, not an integer" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cleanup_error wr_error_t err = NULL;
        cleanup_spec wr_spec_t *spec =
            wr_spec_parse (cases[i].doc, strlen (cases[i].doc), "w.json", &err);
        assert_non_null (spec);
        assert_int_equal (wr_spec_add_capability (spec, "CAP_SYS_ADMIN", &err), -1);
        if (strcmp (err->message, cases[i].message) != 0)
            fail_msg ("case %zu:\n got      %s\n expected %s", i, err->message, cases[i].message);
        /* Getters treat a wrongly typed field as absent. */
        assert_false (wr_spec_has_capability (spec, "bounding", "CAP_KILL"));
    }
}

static void
test_wrong_types_other_helpers (void **state)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_spec wr_spec_t *spec = parse_ok (
        "{\"mounts\": [{\"destination\": \"/a\"}, \"/b\"], \"process\": {\"env\": [\"A=1\", 2], "
        "\"args\": \"sh\", \"rlimits\": [{\"hard\": 1}]}, \"linux\": {\"resources\": 5, "
        "\"namespaces\": {\"type\": \"pid\"}}, \"annotations\": []}");
    const wr_mount_t mount = { "/c", "tmpfs", "tmpfs", NULL };

#define EXPECT_ERROR(call, text)                                                                   \
    do {                                                                                           \
        wr_error_free (&err);                                                                      \
        assert_int_equal ((call), -1);                                                             \
        if (strstr (err->message, (text)) == NULL)                                                 \
            fail_msg ("`%s` not in `%s`", (text), err->message);                                   \
    } while (0)

    EXPECT_ERROR (wr_spec_add_mount (spec, &mount, &err),
                  "`mounts[1]` must be an object, not a string");
    EXPECT_ERROR (wr_spec_remove_mount (spec, "/c", &err), "`mounts[1]`");
    EXPECT_ERROR (wr_spec_remove_mount_option (spec, "/c", "ro", &err), "`mounts[1]`");
    EXPECT_ERROR (wr_spec_set_env (spec, "B", "2", &err),
                  "`process.env[1]` must be a string, not an integer");
    EXPECT_ERROR (wr_spec_prepend_args (spec, NULL, 0, &err),
                  "`process.args` must be an array, not a string");
    EXPECT_ERROR (wr_spec_set_rlimit (spec, "RLIMIT_NOFILE", 1, 1, &err),
                  "`process.rlimits[0].type` must be a string, not null");
    EXPECT_ERROR (wr_spec_set_memory_limit (spec, 1, &err),
                  "`linux.resources` must be an object, not an integer");
    EXPECT_ERROR (wr_spec_clear_device_rules (spec, &err), "`linux.resources` must be an object");
    EXPECT_ERROR (wr_spec_add_namespace (spec, "pid", NULL, &err),
                  "`linux.namespaces` must be an array, not an object");
    EXPECT_ERROR (wr_spec_set_annotation (spec, "a", "b", &err),
                  "`annotations` must be an object, not an array");
    EXPECT_ERROR (wr_spec_add_capability (spec, "KILL", &err), "invalid capability `KILL`");
    EXPECT_ERROR (wr_spec_set_env (spec, "A=B", "1", &err), "invalid environment variable name");
    EXPECT_ERROR (wr_spec_set_rlimit (spec, "NOFILE", 1, 1, &err), "invalid rlimit `NOFILE`");
    EXPECT_ERROR (wr_spec_add_mount (spec, &(wr_mount_t){ "relative", NULL, NULL, NULL }, &err),
                  "not an absolute path");
    wr_error_free (&err);

    /* Getters skip what they cannot read. */
    assert_true (wr_spec_has_mount (spec, "/a"));
    assert_false (wr_spec_has_mount (spec, "/z"));
    assert_string_equal (wr_spec_get_env (spec, "A"), "1");
    assert_int_equal (wr_spec_args_count (spec), 0);
    assert_null (wr_spec_arg (spec, 0));
    assert_false (wr_spec_has_namespace (spec, "pid", NULL));
    assert_null (wr_spec_get_annotation (spec, "a"));
}

/* Helpers, each also applied twice */

typedef int (*edit_fn) (wr_spec_t *spec, wr_error_t *err);

/* Applies EDIT to a copy of DOC once and twice, checks both give the same
 * text, and returns the spec after one application. */
static wr_spec_t *
apply_twice (const char *doc, edit_fn edit)
{
    cleanup_error wr_error_t err = NULL;
    wr_spec_t *once = parse_ok (doc);
    if (edit (once, &err) < 0)
        fail_msg ("edit failed: %s", err->message);
    cleanup_spec wr_spec_t *twice = parse_ok (doc);
    assert_int_equal (edit (twice, &err), 0);
    assert_int_equal (edit (twice, &err), 0);
    cleanup_free char *a = wr_spec_to_string (once);
    cleanup_free char *b = wr_spec_to_string (twice);
    assert_string_equal (a, b);
    return once;
}

static int
edit_capabilities (wr_spec_t *spec, wr_error_t *err)
{
    if (wr_spec_add_capability (spec, "CAP_SYS_ADMIN", err) < 0)
        return -1;
    return wr_spec_add_capability (spec, "CAP_KILL", err);
}

static void
test_capabilities (void **state)
{
    static const char *const sets[] = { "bounding", "effective", "inheritable", "permitted" };
    cleanup_error wr_error_t err = NULL;

    /* From nothing: every set but ambient is created. */
    cleanup_spec wr_spec_t *spec = apply_twice ("{}", edit_capabilities);
    for (size_t i = 0; i < 4; i++) {
        assert_true (wr_spec_has_capability (spec, sets[i], "CAP_SYS_ADMIN"));
        assert_true (wr_spec_has_capability (spec, sets[i], "CAP_KILL"));
        cleanup_free char *pointer = xasprintf ("/process/capabilities/%s", sets[i]);
        assert_int_equal (length_at (spec, pointer), 2);
    }
    assert_null (at (spec, "/process/capabilities/ambient"));
    assert_false (wr_spec_has_capability (spec, "ambient", "CAP_KILL"));

    /* No duplicates with what is there; order of existing entries kept. */
    cleanup_spec wr_spec_t *existing = apply_twice (
        "{\"process\": {\"capabilities\": {\"bounding\": [\"CAP_KILL\", \"CAP_CHOWN\"], "
        "\"ambient\": [\"CAP_KILL\"]}}}",
        edit_capabilities);
    assert_int_equal (length_at (existing, "/process/capabilities/bounding"), 3);
    assert_string_at (existing, "/process/capabilities/bounding/0", "CAP_KILL");
    assert_string_at (existing, "/process/capabilities/bounding/1", "CAP_CHOWN");
    assert_string_at (existing, "/process/capabilities/bounding/2", "CAP_SYS_ADMIN");
    assert_int_equal (length_at (existing, "/process/capabilities/ambient"), 1);

    /* Removing takes it out of all five sets, and is idempotent. */
    assert_int_equal (wr_spec_remove_capability (existing, "CAP_KILL", &err), 0);
    assert_int_equal (wr_spec_remove_capability (existing, "CAP_KILL", &err), 0);
    assert_false (wr_spec_has_capability (existing, "bounding", "CAP_KILL"));
    assert_false (wr_spec_has_capability (existing, "ambient", "CAP_KILL"));
    assert_true (wr_spec_has_capability (existing, "bounding", "CAP_CHOWN"));
    assert_int_equal (length_at (existing, "/process/capabilities/ambient"), 0);

    /* Removing from a spec without capabilities creates nothing. */
    cleanup_spec wr_spec_t *empty = parse_ok ("{}");
    assert_int_equal (wr_spec_remove_capability (empty, "CAP_KILL", &err), 0);
    assert_null (at (empty, "/process"));
}

static const char *const ro_options[] = { "rbind", "ro", NULL };

static int
edit_mounts (wr_spec_t *spec, wr_error_t *err)
{
    const wr_mount_t m = { "/data/", "bind", "/srv/data", ro_options };
    if (wr_spec_add_mount (spec, &m, err) < 0)
        return -1;
    if (wr_spec_remove_mount_option (spec, "/sys", "ro", err) < 0)
        return -1;
    return wr_spec_remove_mount (spec, "/gone", err);
}

static void
test_mounts (void **state)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_spec wr_spec_t *spec = apply_twice (
        "{\"mounts\": ["
        "{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
        "{\"destination\": \"/data\", \"type\": \"tmpfs\", \"x\": 1},"
        "{\"destination\": \"/sys\", \"type\": \"sysfs\", \"options\": [\"ro\", \"nosuid\", "
        "\"ro\"]},"
        "{\"destination\": \"/gone\"},"
        "{\"destination\": \"//data\", \"type\": \"tmpfs\"},"
        "{\"destination\": \"/gone/\"}]}",
        edit_mounts);

    /* /data replaced in place (the duplicate "//data" dropped), /gone gone. */
    assert_int_equal (length_at (spec, "/mounts"), 3);
    assert_string_at (spec, "/mounts/0/destination", "/proc");
    assert_string_at (spec, "/mounts/1/destination", "/data/");
    assert_string_at (spec, "/mounts/1/type", "bind");
    assert_string_at (spec, "/mounts/1/source", "/srv/data");
    assert_string_at (spec, "/mounts/1/options/1", "ro");
    assert_null (at (spec, "/mounts/1/x"));
    assert_string_at (spec, "/mounts/2/destination", "/sys");
    assert_int_equal (length_at (spec, "/mounts/2/options"), 1);
    assert_string_at (spec, "/mounts/2/options/0", "nosuid");
    assert_true (wr_spec_has_mount (spec, "/data"));
    assert_true (wr_spec_has_mount (spec, "/sys/"));
    assert_false (wr_spec_has_mount (spec, "/gone"));

    /* A mount without options gets none; no options key for NULL. */
    const wr_mount_t tmp = { "/tmp", "tmpfs", "tmpfs", NULL };
    assert_int_equal (wr_spec_add_mount (spec, &tmp, &err), 0);
    assert_null (at (spec, "/mounts/3/options"));

    /* From nothing. */
    cleanup_spec wr_spec_t *empty = apply_twice ("{}", edit_mounts);
    assert_int_equal (length_at (empty, "/mounts"), 1);
    assert_string_at (empty, "/mounts/0/destination", "/data/");

    /* Removing an option or a mount that is not there changes nothing. */
    cleanup_spec wr_spec_t *none = parse_ok ("{\"mounts\": [{\"destination\": \"/sys\"}]}");
    cleanup_free char *before = wr_spec_to_string (none);
    assert_int_equal (wr_spec_remove_mount_option (none, "/sys", "ro", &err), 0);
    assert_int_equal (wr_spec_remove_mount_option (none, "/other", "ro", &err), 0);
    assert_int_equal (wr_spec_remove_mount (none, "/other", &err), 0);
    cleanup_free char *after = wr_spec_to_string (none);
    assert_string_equal (before, after);
}

static int
edit_env (wr_spec_t *spec, wr_error_t *err)
{
    if (wr_spec_set_env (spec, "WARREN_NETWORK", "sandbox", err) < 0)
        return -1;
    return wr_spec_set_env (spec, "EMPTY", "", err);
}

static void
test_env (void **state)
{
    cleanup_spec wr_spec_t *spec = apply_twice (
        "{\"process\": {\"env\": [\"PATH=/bin\", \"WARREN_NETWORK=host\", \"WARREN_NETWORKX=1\", "
        "\"WARREN_NETWORK=none\", \"WARREN_NETWORK\"]}}",
        edit_env);
    /* Replaced in place; later duplicates dropped; similar names untouched. */
    assert_int_equal (length_at (spec, "/process/env"), 4);
    assert_string_at (spec, "/process/env/0", "PATH=/bin");
    assert_string_at (spec, "/process/env/1", "WARREN_NETWORK=sandbox");
    assert_string_at (spec, "/process/env/2", "WARREN_NETWORKX=1");
    assert_string_at (spec, "/process/env/3", "EMPTY=");
    assert_string_equal (wr_spec_get_env (spec, "WARREN_NETWORK"), "sandbox");
    assert_string_equal (wr_spec_get_env (spec, "EMPTY"), "");
    assert_string_equal (wr_spec_get_env (spec, "PATH"), "/bin");
    assert_null (wr_spec_get_env (spec, "WARREN"));
    assert_null (wr_spec_get_env (spec, "MISSING"));

    cleanup_spec wr_spec_t *empty = apply_twice ("{}", edit_env);
    assert_int_equal (length_at (empty, "/process/env"), 2);
    assert_string_equal (wr_spec_get_env (empty, "WARREN_NETWORK"), "sandbox");

    /* Get: the last of duplicates wins, as for execve. */
    cleanup_spec wr_spec_t *dups = parse_ok ("{\"process\": {\"env\": [\"A=1\", \"A=2\"]}}");
    assert_string_equal (wr_spec_get_env (dups, "A"), "2");
}

static void
test_args (void **state)
{
    cleanup_error wr_error_t err = NULL;
    static const char *const prefix[] = { "/init", "--" };
    cleanup_spec wr_spec_t *spec = parse_ok ("{\"process\": {\"args\": [\"sh\", \"-c\", \"x\"]}}");

    assert_int_equal (wr_spec_args_count (spec), 3);
    assert_string_equal (wr_spec_arg (spec, 0), "sh");
    assert_string_equal (wr_spec_arg (spec, 2), "x");
    assert_null (wr_spec_arg (spec, 3));

    assert_int_equal (wr_spec_prepend_args (spec, prefix, 2, &err), 0);
    assert_int_equal (wr_spec_args_count (spec), 5);
    assert_string_equal (wr_spec_arg (spec, 0), "/init");
    assert_string_equal (wr_spec_arg (spec, 1), "--");
    assert_string_equal (wr_spec_arg (spec, 2), "sh");
    assert_string_equal (wr_spec_arg (spec, 4), "x");

    assert_int_equal (wr_spec_set_args (spec, prefix, 1, &err), 0);
    assert_int_equal (wr_spec_args_count (spec), 1);
    assert_string_equal (wr_spec_arg (spec, 0), "/init");

    cleanup_spec wr_spec_t *empty = parse_ok ("{}");
    assert_int_equal (wr_spec_args_count (empty), 0);
    assert_int_equal (wr_spec_prepend_args (empty, prefix, 2, &err), 0);
    assert_int_equal (wr_spec_args_count (empty), 2);
    assert_string_equal (wr_spec_arg (empty, 1), "--");
}

static int
edit_annotations (wr_spec_t *spec, wr_error_t *err)
{
    return wr_spec_set_annotation (spec, "dev.warren.profile", "docker", err);
}

static void
test_annotations (void **state)
{
    cleanup_spec wr_spec_t *spec =
        apply_twice ("{\"annotations\": {\"dev.warren.profile\": \"default\", \"other\": \"x\"}}",
                     edit_annotations);
    assert_string_equal (wr_spec_get_annotation (spec, "dev.warren.profile"), "docker");
    assert_string_equal (wr_spec_get_annotation (spec, "other"), "x");
    assert_null (wr_spec_get_annotation (spec, "missing"));
    /* Replaced in place: the key order stays. */
    cleanup_free char *text = wr_spec_to_string (spec);
    assert_true (strstr (text, "dev.warren.profile") < strstr (text, "other"));

    cleanup_spec wr_spec_t *empty = apply_twice ("{}", edit_annotations);
    assert_string_equal (wr_spec_get_annotation (empty, "dev.warren.profile"), "docker");
    cleanup_spec wr_spec_t *typed = parse_ok ("{\"annotations\": {\"n\": 1}}");
    assert_null (wr_spec_get_annotation (typed, "n"));
}

static int
edit_namespaces (wr_spec_t *spec, wr_error_t *err)
{
    if (wr_spec_add_namespace (spec, "network", "/run/netns/x", err) < 0)
        return -1;
    if (wr_spec_add_namespace (spec, "cgroup", NULL, err) < 0)
        return -1;
    return wr_spec_remove_namespace (spec, "user", err);
}

static void
test_namespaces (void **state)
{
    const char *path = "unset";
    cleanup_spec wr_spec_t *spec =
        apply_twice ("{\"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\"}, "
                     "{\"type\": \"user\"}, {\"type\": \"network\", \"path\": \"/old\"}]}}",
                     edit_namespaces);
    assert_int_equal (length_at (spec, "/linux/namespaces"), 3);
    assert_string_at (spec, "/linux/namespaces/0/type", "pid");
    assert_string_at (spec, "/linux/namespaces/1/type", "network");
    assert_string_at (spec, "/linux/namespaces/1/path", "/run/netns/x");
    assert_string_at (spec, "/linux/namespaces/2/type", "cgroup");
    assert_true (wr_spec_has_namespace (spec, "network", &path));
    assert_string_equal (path, "/run/netns/x");
    assert_true (wr_spec_has_namespace (spec, "pid", &path));
    assert_null (path);
    assert_false (wr_spec_has_namespace (spec, "user", &path));

    cleanup_spec wr_spec_t *empty = apply_twice ("{}", edit_namespaces);
    assert_int_equal (length_at (empty, "/linux/namespaces"), 2);
}

static int
edit_resources (wr_spec_t *spec, wr_error_t *err)
{
    if (wr_spec_clear_device_rules (spec, err) < 0)
        return -1;
    if (wr_spec_set_memory_limit (spec, 536870912, err) < 0)
        return -1;
    if (wr_spec_set_cpu_quota (spec, 50000, 100000, err) < 0)
        return -1;
    return wr_spec_set_pids_limit (spec, 100, err);
}

static void
test_resources (void **state)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_spec wr_spec_t *spec = apply_twice (
        "{\"linux\": {\"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}], "
        "\"memory\": {\"limit\": 1, \"swap\": 7}, \"cpu\": {\"shares\": 2}}, "
        "\"devices\": [{\"path\": \"/dev/fuse\"}]}}",
        edit_resources);
    assert_null (at (spec, "/linux/resources/devices"));
    /* Device nodes are not device rules. */
    assert_non_null (at (spec, "/linux/devices/0"));
    assert_int_equal (json_object_get_int64 (at (spec, "/linux/resources/memory/limit")),
                      536870912);
    assert_int_equal (json_object_get_int64 (at (spec, "/linux/resources/memory/swap")), 7);
    assert_int_equal (json_object_get_int64 (at (spec, "/linux/resources/cpu/quota")), 50000);
    assert_int_equal (json_object_get_uint64 (at (spec, "/linux/resources/cpu/period")), 100000);
    assert_int_equal (json_object_get_int64 (at (spec, "/linux/resources/cpu/shares")), 2);
    assert_int_equal (json_object_get_int64 (at (spec, "/linux/resources/pids/limit")), 100);

    cleanup_spec wr_spec_t *empty = apply_twice ("{}", edit_resources);
    assert_int_equal (json_object_get_int64 (at (empty, "/linux/resources/pids/limit")), 100);

    /* Clearing device rules of a spec without linux invents nothing. */
    cleanup_spec wr_spec_t *bare = parse_ok ("{\"ociVersion\": \"1.0.2\"}");
    assert_int_equal (wr_spec_clear_device_rules (bare, &err), 0);
    assert_int_equal (wr_spec_clear_masked_paths (bare, &err), 0);
    assert_int_equal (wr_spec_clear_readonly_paths (bare, &err), 0);
    cleanup_free char *text = wr_spec_to_string (bare);
    assert_string_equal (text, "{\n  \"ociVersion\": \"1.0.2\"\n}\n");
}

static int
edit_rlimits (wr_spec_t *spec, wr_error_t *err)
{
    if (wr_spec_set_rlimit (spec, "RLIMIT_NOFILE", 1048576, 1048576, err) < 0)
        return -1;
    return wr_spec_set_rlimit (spec, "RLIMIT_CORE", UINT64_MAX, UINT64_MAX, err);
}

static void
test_rlimits (void **state)
{
    cleanup_spec wr_spec_t *spec = apply_twice (
        "{\"process\": {\"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": "
        "1024}, {\"type\": \"RLIMIT_NPROC\", \"hard\": 5, \"soft\": 5}, {\"type\": "
        "\"RLIMIT_NOFILE\", \"hard\": 1, \"soft\": 1}]}}",
        edit_rlimits);
    assert_int_equal (length_at (spec, "/process/rlimits"), 3);
    assert_string_at (spec, "/process/rlimits/0/type", "RLIMIT_NOFILE");
    assert_int_equal (json_object_get_uint64 (at (spec, "/process/rlimits/0/soft")), 1048576);
    assert_int_equal (json_object_get_uint64 (at (spec, "/process/rlimits/0/hard")), 1048576);
    assert_string_at (spec, "/process/rlimits/1/type", "RLIMIT_NPROC");
    assert_string_at (spec, "/process/rlimits/2/type", "RLIMIT_CORE");
    assert_true (json_object_get_uint64 (at (spec, "/process/rlimits/2/hard")) == UINT64_MAX);
    cleanup_free char *text = wr_spec_to_string (spec);
    assert_non_null (strstr (text, "18446744073709551615"));
}

static int
edit_paths (wr_spec_t *spec, wr_error_t *err)
{
    if (wr_spec_clear_masked_paths (spec, err) < 0)
        return -1;
    return wr_spec_clear_readonly_paths (spec, err);
}

static void
test_masked_and_readonly_paths (void **state)
{
    cleanup_spec wr_spec_t *spec = apply_twice (
        "{\"linux\": {\"maskedPaths\": [\"/proc/kcore\"], \"readonlyPaths\": [\"/proc/sys\"], "
        "\"sysctl\": {}}}",
        edit_paths);
    assert_null (at (spec, "/linux/maskedPaths"));
    assert_null (at (spec, "/linux/readonlyPaths"));
    assert_non_null (at (spec, "/linux/sysctl"));
}

static void
test_null_fields_are_absent (void **state)
{
    /* Some generators write null for an empty list; helpers treat it as
     * absent and replace it. */
    cleanup_error wr_error_t err = NULL;
    cleanup_spec wr_spec_t *spec =
        parse_ok ("{\"process\": {\"env\": null, \"capabilities\": null}, \"mounts\": null, "
                  "\"annotations\": null, \"linux\": null}");
    assert_null (wr_spec_get_env (spec, "A"));
    assert_int_equal (wr_spec_set_env (spec, "A", "1", &err), 0);
    assert_int_equal (wr_spec_add_capability (spec, "CAP_KILL", &err), 0);
    assert_int_equal (wr_spec_set_annotation (spec, "k", "v", &err), 0);
    assert_int_equal (wr_spec_clear_device_rules (spec, &err), 0);
    assert_int_equal (wr_spec_add_namespace (spec, "pid", NULL, &err), 0);
    const wr_mount_t m = { "/x", "tmpfs", "tmpfs", NULL };
    assert_int_equal (wr_spec_add_mount (spec, &m, &err), 0);
    assert_string_equal (wr_spec_get_env (spec, "A"), "1");
    assert_true (wr_spec_has_capability (spec, "permitted", "CAP_KILL"));
    assert_true (wr_spec_has_mount (spec, "/x"));
    assert_true (wr_spec_has_namespace (spec, "pid", NULL));
}

/* Mutated and truncated documents either parse or give a positioned error;
 * what parses survives every helper.  (A bounded, seeded stand-in for the
 * fuzz target; under ASan it catches memory errors.) */
static void
test_mutated_input_is_safe (void **state)
{
    size_t len = strlen (unknown_fields_doc);
    char *buf = xmalloc (len);
    unsigned seed = 12345;
    int parsed = 0, failed = 0;

    for (int round = 0; round < 3000; round++) {
        memcpy (buf, unknown_fields_doc, len);
        int mutations = 1 + rand_r (&seed) % 4;
        for (int m = 0; m < mutations; m++)
            buf[rand_r (&seed) % len] = (char) (rand_r (&seed) % 256);
        size_t n = round % 3 == 0 ? (size_t) rand_r (&seed) % (len + 1) : len;

        cleanup_error wr_error_t err = NULL;
        cleanup_spec wr_spec_t *spec = wr_spec_parse (buf, n, "m", &err);
        if (spec == NULL) {
            assert_non_null (err);
            assert_int_equal (strncmp (err->message, "parse `m`: ", 11), 0);
            failed++;
            continue;
        }
        parsed++;
        const wr_mount_t mount = { "/x", "tmpfs", "tmpfs", ro_options };
        wr_spec_add_capability (spec, "CAP_SYS_ADMIN", NULL);
        wr_spec_add_mount (spec, &mount, NULL);
        wr_spec_remove_mount_option (spec, "/proc", "ro", NULL);
        wr_spec_set_env (spec, "A", "b", NULL);
        wr_spec_prepend_args (spec, NULL, 0, NULL);
        wr_spec_clear_device_rules (spec, NULL);
        wr_spec_set_rlimit (spec, "RLIMIT_NOFILE", 1, 2, NULL);
        wr_spec_add_namespace (spec, "pid", NULL, NULL);
        wr_spec_set_annotation (spec, "k", "v", NULL);
        (void) wr_spec_get_env (spec, "PATH");
        (void) wr_spec_arg (spec, 0);
        cleanup_free char *text = wr_spec_to_string (spec);
        cleanup_spec wr_spec_t *again = wr_spec_parse (text, strlen (text), "again", &err);
        assert_non_null (again);
    }
    free (buf);
    /* Both paths were taken. */
    assert_true (parsed > 0);
    assert_true (failed > 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_round_trip_keeps_unknown_fields),
        cmocka_unit_test (test_edits_keep_unknown_fields),
        cmocka_unit_test (test_load_save_round_trip),
        cmocka_unit_test (test_save_new_file),
        cmocka_unit_test (test_save_error_names_file),
        cmocka_unit_test (test_malformed_json_names_file_and_position),
        cmocka_unit_test (test_malformed_json_cases),
        cmocka_unit_test (test_malformed_binary_input),
        cmocka_unit_test (test_load_missing_file),
        cmocka_unit_test (test_wrong_types_name_the_path),
        cmocka_unit_test (test_wrong_types_other_helpers),
        cmocka_unit_test (test_capabilities),
        cmocka_unit_test (test_mounts),
        cmocka_unit_test (test_env),
        cmocka_unit_test (test_args),
        cmocka_unit_test (test_annotations),
        cmocka_unit_test (test_namespaces),
        cmocka_unit_test (test_resources),
        cmocka_unit_test (test_rlimits),
        cmocka_unit_test (test_masked_and_readonly_paths),
        cmocka_unit_test (test_null_fields_are_absent),
        cmocka_unit_test (test_mutated_input_is_safe),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
