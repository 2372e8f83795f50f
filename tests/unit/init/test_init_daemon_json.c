/* Unit tests of warren-init's daemon_json.c: reading dockerd's daemon.json
 * with json-c, and the errors for files that are not JSON objects, give a
 * member twice or hold the wrong types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "daemon_json.h"
#include "xalloc.h"

static json_object *
parse_len (const char *text, size_t len)
{
    cleanup_error wr_error_t err = NULL;
    json_object *o = daemon_json_parse (text, len, &err);
    if (o == NULL)
        fail_msg ("`%.200s` was refused: %s", text, err->message);
    return o;
}

static json_object *
parse (const char *text)
{
    return parse_len (text, strlen (text));
}

/* Checks that TEXT (LEN bytes) is refused with an error containing WANT. */
static void
check_refused_len (const char *text, size_t len, const char *want)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_json json_object *o = daemon_json_parse (text, len, &err);
    if (o != NULL)
        fail_msg ("`%s` was accepted", text);
    assert_non_null (err);
    if (strstr (err->message, want) == NULL)
        fail_msg ("`%s`: the error `%s` does not say `%s`", text, err->message, want);
}

static void
check_refused (const char *text, const char *want)
{
    check_refused_len (text, strlen (text), want);
}

static void
test_parse_object (void **state)
{
    /* The document of the scanner's old test: nested objects, arrays and
     * strings with brackets and escapes in them. */
    cleanup_json json_object *o =
        parse ("{ \"a\": {\"iptables\": true, \"s\": \"}{\\\"\"}, \"list\": [1, [2], "
               "{\"x\": 3}], \"iptables\" : false, \"n\": -1.5e3 }");
    json_object *v = NULL;
    assert_true (json_object_object_get_ex (o, "iptables", &v));
    assert_true (json_object_is_type (v, json_type_boolean));
    assert_false (json_object_get_boolean (v));
    assert_true (json_object_object_get_ex (o, "list", &v));
    assert_int_equal (json_object_array_length (v), 3);
    assert_true (json_object_object_get_ex (o, "n", &v));
    assert_true (json_object_get_double (v) == -1500.0);
    assert_true (json_object_object_get_ex (o, "a", &v));
    assert_string_equal (daemon_json_string (v, "s"), "}{\"");
    /* Only top-level members are the file's. */
    assert_false (daemon_json_has (o, "s"));
    assert_false (daemon_json_has (o, "x"));

    cleanup_json json_object *empty = parse ("{}");
    assert_int_equal (json_object_object_length (empty), 0);
    /* Escapes in names and values are decoded. */
    cleanup_json json_object *escaped =
        parse ("{\"data\\u002droot\": \"\\/srv\\/d\\u00e9\", \"h\\u00e9\": 1}");
    assert_string_equal (daemon_json_string (escaped, "data-root"), "/srv/d\xc3\xa9");
    assert_true (daemon_json_has (escaped, "h\xc3\xa9"));
}

static void
test_parse_white_space_is_empty (void **state)
{
    const char *texts[] = { "", " \n", "\t\r\n  \n", "  {}  \n" };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        cleanup_json json_object *o = parse (texts[i]);
        assert_true (json_object_is_type (o, json_type_object));
        assert_int_equal (json_object_object_length (o), 0);
    }
}

static void
test_parse_refuses_bad_syntax (void **state)
{
    /* The inputs the scanner refused, and more json-c knows are wrong. */
    check_refused ("{\"a\" 1}", "not JSON: ");
    check_refused ("{\"a\": 1", "not JSON: unexpected end of data at line 1, column 8 (byte 7)");
    check_refused ("{\"a\": \"x}", "not JSON: ");
    check_refused ("{\"a\": 1,}", "not JSON: unexpected character at line 1, column 9 (byte 8)");
    check_refused ("{a: 1}", "not JSON: ");
    check_refused ("{\"a\": tru}", "not JSON: ");
    check_refused ("{\"a\": [1,]}", "not JSON: ");
    check_refused ("{\"a\": 01}", "not JSON: ");
    check_refused ("{\"a\": \"\\x\"}", "not JSON: ");
    check_refused ("{ /* a comment */ }", "not JSON: ");
    /* Positions count lines and columns, for people who edit the file. */
    check_refused ("{\n  \"a\": 1,\n  \"b\": }\n",
                   "not JSON: unexpected character at line 3, column 8 (byte 19)");
    /* Nothing may follow the object. */
    check_refused ("{\"a\": 1} x", "not JSON: unexpected character at line 1, column 10 (byte 9)");
    check_refused ("{} {}", "not JSON: ");
    /* json-c takes member names in single quotes; dockerd does not. */
    check_refused ("{'a': 1}", "a string in single quotes (JSON takes double quotes) at "
                               "line 1, column 2 (byte 1)");
    check_refused ("{\"a\": [{'b': 1}]}", "single quotes (JSON takes double quotes) at line 1, "
                                          "column 9 (byte 8)");
    check_refused ("{\"a\": ['x']}", "not JSON: ");
    /* Not UTF-8; a NUL byte; nesting deeper than json-c's limit. */
    check_refused ("{\"a\": \"\xff\"}", "not JSON: invalid utf-8 string");
    check_refused_len ("{\"a\": 1}\0{}", 11, "not JSON: a NUL byte at line 1, column 9 (byte 8)");
    char deep[200] = "{\"a\": ";
    for (int i = 0; i < 40; i++)
        strcat (deep, "[");
    check_refused (deep, "not JSON: nesting too deep");
    /* A byte order mark is not JSON (dockerd 20.10 refuses it too). */
    check_refused ("\xef\xbb\xbf{}", "at line 1, column 1 (byte 0)");
}

static void
test_parse_refuses_other_values (void **state)
{
    check_refused ("[1]", "must be a JSON object, not an array");
    check_refused ("\"hosts\"", "must be a JSON object, not a string");
    check_refused ("1", "must be a JSON object, not an integer");
    check_refused ("true", "must be a JSON object, not a boolean");
    check_refused ("null", "must be a JSON object, not null");
}

static void
test_parse_refuses_a_member_twice (void **state)
{
    check_refused ("{\"hosts\": [], \"a\": 1,\n \"hosts\": [\"unix:///x\"]}",
                   "`hosts` is given twice, at line 1, column 2 (byte 1) and at line 2, column "
                   "2 (byte 23)");
    /* The same name, spelt with an escape. */
    check_refused ("{\"iptables\": true, \"ip\\u0074ables\": false}", "`iptables` is given twice");
    /* Names are escaped as in JSON in the message: they are the file's text. */
    check_refused ("{\"a\\n\\u001b[31m\": 1, \"a\\n\\u001b[31m\": 2}",
                   "`a\\n\\u001b[31m` is given twice");
    /* A name inside a value is another object's (dockerd's own business). */
    cleanup_json json_object *o =
        parse ("{\"log-opts\": {\"max-size\": \"1m\", \"max-file\": \"2\"}, \"max-size\": \"x\","
               " \"l\": [{\"k\": 1}, {\"k\": 2}], \"s\": \"max-size\"}");
    assert_int_equal (json_object_object_length (o), 4);
}

static void
test_parse_size_limit (void **state)
{
    size_t len = DAEMON_JSON_MAX_SIZE + 1;
    cleanup_free char *big = xmalloc (len + 1);
    memset (big, ' ', len);
    big[0] = '{';
    big[len - 1] = '}';
    big[len] = '\0';
    cleanup_error wr_error_t err = NULL;
    assert_null (daemon_json_parse (big, len, &err));
    assert_int_equal (err->kind, WR_ERROR_LIMIT);
    assert_non_null (strstr (err->message, "too large for a daemon.json"));
    /* At the limit it is read. */
    big[len - 2] = '}';
    cleanup_json json_object *o = parse_len (big, len - 1);
    assert_int_equal (json_object_object_length (o), 0);
}

static void
test_check_types (void **state)
{
    cleanup_json json_object *o =
        parse ("{\"hosts\": [\"tcp://0.0.0.0:2375\", \"unix:///run/d.sock\"], \"data-root\": "
               "\"/srv\", \"iptables\": false, \"bip\": null, \"ip6tables\": null, \"graph\": "
               "\"\", \"bridge\": 5, \"ip-forward\": \"false\", \"h\": \"unix:///x\", "
               "\"l\": [\"a\", 1], \"e\": [], \"z\": \"a\\u0000b\", \"zl\": [\"\\u0000\"], "
               "\"nl\": [null]}");
    struct {
        const char *key;
        daemon_json_kind_t kind;
        const char *error; /* NULL: accepted */
    } cases[] = {
        { "hosts", DAEMON_JSON_STRING_ARRAY, NULL },
        { "data-root", DAEMON_JSON_STRING, NULL },
        { "iptables", DAEMON_JSON_BOOLEAN, NULL },
        /* null is dockerd's "not set"; an absent key is fine. */
        { "bip", DAEMON_JSON_STRING, NULL },
        { "ip6tables", DAEMON_JSON_BOOLEAN, NULL },
        { "absent", DAEMON_JSON_STRING_ARRAY, NULL },
        { "graph", DAEMON_JSON_STRING, NULL },
        { "e", DAEMON_JSON_STRING_ARRAY, NULL },
        { "bridge", DAEMON_JSON_STRING, "`bridge` must be a string, not an integer" },
        { "ip-forward", DAEMON_JSON_BOOLEAN, "`ip-forward` must be true or false, not a string" },
        { "h", DAEMON_JSON_STRING_ARRAY, "`h` must be an array of strings, not a string" },
        { "iptables", DAEMON_JSON_STRING_ARRAY,
          "`iptables` must be an array of strings, not a boolean" },
        { "l", DAEMON_JSON_STRING_ARRAY, "`l[1]` must be a string, not an integer" },
        { "nl", DAEMON_JSON_STRING_ARRAY, "`nl[0]` must be a string, not null" },
        { "hosts", DAEMON_JSON_STRING, "`hosts` must be a string, not an array" },
        { "z", DAEMON_JSON_STRING, "`z` must not hold a NUL character (\\u0000)" },
        { "zl", DAEMON_JSON_STRING_ARRAY, "`zl[0]` must not hold a NUL character (\\u0000)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cleanup_error wr_error_t err = NULL;
        int r = daemon_json_check (o, cases[i].key, cases[i].kind, &err);
        if (cases[i].error == NULL) {
            if (r != 0)
                fail_msg ("\"%s\" was refused: %s", cases[i].key, err->message);
            continue;
        }
        if (r != -1)
            fail_msg ("\"%s\" was accepted", cases[i].key);
        if (strcmp (err->message, cases[i].error) != 0)
            fail_msg ("\"%s\": `%s`, not `%s`", cases[i].key, err->message, cases[i].error);
        assert_int_equal (err->kind, WR_ERROR_INVALID);
    }

    assert_true (daemon_json_has (o, "bip"));
    assert_false (daemon_json_has (o, "absent"));
    assert_false (daemon_json_has (NULL, "bip"));
    assert_string_equal (daemon_json_string (o, "data-root"), "/srv");
    assert_null (daemon_json_string (o, "bip"));
    assert_null (daemon_json_string (o, "bridge"));
    assert_null (daemon_json_string (o, "absent"));
    assert_null (daemon_json_string (NULL, "absent"));
    assert_int_equal (daemon_json_check (NULL, "hosts", DAEMON_JSON_STRING_ARRAY, NULL), 0);
}

static char *
write_temp (const char *dir, const char *name, const char *data, size_t len)
{
    char *path = xasprintf ("%s/%s", dir, name);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, data, len), (ssize_t) len);
    close (fd);
    return path;
}

static void
test_load (void **state)
{
    char dir[] = "/tmp/warren-init-daemon-json-XXXXXX";
    assert_non_null (mkdtemp (dir));

    cleanup_free char *missing = xasprintf ("%s/none.json", dir);
    char *text = (char *) "unset";
    assert_int_equal (daemon_json_load (missing, &text, NULL), 0);
    assert_null (text);

    cleanup_free char *good = write_temp (dir, "good.json", "{\"a\": 1}\n", 9);
    cleanup_free char *good_text = NULL;
    assert_int_equal (daemon_json_load (good, &good_text, NULL), 0);
    assert_string_equal (good_text, "{\"a\": 1}\n");

    cleanup_free char *nul = write_temp (dir, "nul.json", "{}\0{\"hosts\": 1}", 15);
    cleanup_free char *nul_text = NULL;
    cleanup_error wr_error_t err = NULL;
    assert_int_equal (daemon_json_load (nul, &nul_text, &err), -1);
    assert_null (nul_text);
    cleanup_free char *want = xasprintf ("read dockerd's configuration `%s`: not JSON: a NUL byte "
                                         "at byte 2",
                                         nul);
    assert_string_equal (err->message, want);

    cleanup_free char *data = xmalloc (DAEMON_JSON_MAX_SIZE + 2);
    memset (data, ' ', DAEMON_JSON_MAX_SIZE + 1);
    data[0] = '{';
    data[DAEMON_JSON_MAX_SIZE - 1] = '}';
    cleanup_free char *at_limit = write_temp (dir, "limit.json", data, DAEMON_JSON_MAX_SIZE);
    cleanup_free char *limit_text = NULL;
    assert_int_equal (daemon_json_load (at_limit, &limit_text, NULL), 0);
    assert_int_equal (strlen (limit_text), DAEMON_JSON_MAX_SIZE);
    cleanup_free char *too_big = write_temp (dir, "big.json", data, DAEMON_JSON_MAX_SIZE + 1);
    cleanup_free char *big_text = NULL;
    cleanup_error wr_error_t big_err = NULL;
    assert_int_equal (daemon_json_load (too_big, &big_text, &big_err), -1);
    assert_int_equal (big_err->kind, WR_ERROR_LIMIT);
    assert_non_null (strstr (big_err->message, too_big));
    assert_non_null (strstr (big_err->message, "too large for a daemon.json"));

    /* A directory cannot be read: the errno is kept. */
    cleanup_error wr_error_t dir_err = NULL;
    cleanup_free char *dir_text = NULL;
    assert_int_equal (daemon_json_load (dir, &dir_text, &dir_err), -1);
    assert_non_null (strstr (dir_err->message, dir));
    assert_true (dir_err->errno_value != 0);

    unlink (missing);
    unlink (good);
    unlink (nul);
    unlink (at_limit);
    unlink (too_big);
    rmdir (dir);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_parse_object),
        cmocka_unit_test (test_parse_white_space_is_empty),
        cmocka_unit_test (test_parse_refuses_bad_syntax),
        cmocka_unit_test (test_parse_refuses_other_values),
        cmocka_unit_test (test_parse_refuses_a_member_twice),
        cmocka_unit_test (test_parse_size_limit),
        cmocka_unit_test (test_check_types),
        cmocka_unit_test (test_load),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
