/* Unit tests of docker_message.c: dockerd's pull, push and build messages
 * as the docker CLI prints them when its output is not a terminal, build
 * steps, and members of the wrong type. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "docker_message.h"
#include "json_reader.h"

/* The CLI's text for the message TEXT ("" for none). */
static char *
text_of (const char *text)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_json_reader json_object *o = json_tokener_parse (text);
    assert_non_null (o);
    wr_docker_message_t m;
    assert_int_equal (wr_docker_message_read (o, &m, &err), 0);
    char *out = wr_docker_message_text (&m);
    return out != NULL ? out : strdup ("");
}

static void
test_pull_text (void **state)
{
    static const char *cases[][2] = {
        { "{\"status\":\"Pulling from library/busybox\",\"id\":\"latest\"}",
          "latest: Pulling from library/busybox\n" },
        { "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"3f4d90098f5b\"}",
          "3f4d90098f5b: Pulling fs layer\n" },
        { "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":32768,\"total\":1101927},"
          "\"progress\":\"[>   ]\",\"id\":\"3f4d90098f5b\"}",
          "" },
        { "{\"status\":\"Digest: sha256:abc\"}", "Digest: sha256:abc\n" },
        { "{\"stream\":\"Step 1/2 : FROM busybox\"}", "Step 1/2 : FROM busybox" },
        { "{\"stream\":\"\\n\"}", "\n" },
        { "{\"aux\":{\"ID\":\"sha256:abc\"}}", "" },
        { "{\"errorDetail\":{\"message\":\"boom\"},\"error\":\"boom\"}", "" },
        { "{}", "" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cleanup_free char *out = text_of (cases[i][0]);
        assert_string_equal (out, cases[i][1]);
    }
}

static void
test_fields (void **state)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_json_reader json_object *o = json_tokener_parse (
        "{\"errorDetail\":{\"code\":1,\"message\":\"The command returned a non-zero code: 7\"}}");
    wr_docker_message_t m;
    assert_int_equal (wr_docker_message_read (o, &m, &err), 0);
    assert_string_equal (m.error, "The command returned a non-zero code: 7");
    assert_int_equal (m.current, -1);
    assert_int_equal (m.total, -1);
}

static void
test_wrong_types (void **state)
{
    static const char *bad[] = {
        "{\"status\":1}",
        "{\"id\":[]}",
        "{\"progressDetail\":[]}",
        "{\"progressDetail\":{\"current\":\"1\"}}",
        "{\"progressDetail\":{\"total\":1.5}}",
        "{\"errorDetail\":{\"message\":2}}",
        "{\"aux\":\"x\"}",
        "{\"error\":{}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cleanup_error wr_error_t err = NULL;
        cleanup_json_reader json_object *o = json_tokener_parse (bad[i]);
        assert_non_null (o);
        wr_docker_message_t m;
        assert_int_equal (wr_docker_message_read (o, &m, &err), -1);
        assert_int_equal (err->kind, WR_ERROR_INVALID);
        assert_non_null (strstr (err->message, "dockerd's message"));
    }
}

static void
test_steps (void **state)
{
    static const char *yes[][2] = {
        { "{\"stream\":\"Step 2/5 : RUN make\\n\"}", "RUN make" },
        { "{\"stream\":\"Step 10/12 : COPY . /src\"}", "COPY . /src" },
    };
    for (size_t i = 0; i < 2; i++) {
        cleanup_error wr_error_t err = NULL;
        cleanup_json_reader json_object *o = json_tokener_parse (yes[i][0]);
        wr_docker_message_t m;
        assert_int_equal (wr_docker_message_read (o, &m, &err), 0);
        int64_t step, steps;
        cleanup_free char *text = NULL;
        assert_true (wr_docker_message_step (&m, &step, &steps, &text));
        assert_string_equal (text, yes[i][1]);
        assert_int_equal (step, i == 0 ? 2 : 10);
        assert_int_equal (steps, i == 0 ? 5 : 12);
    }
    static const char *no[] = {
        "{\"stream\":\"Step /5 : RUN\"}",       "{\"stream\":\"Step 1 : RUN\"}",
        "{\"stream\":\" ---> Running in ab\"}", "{\"stream\":\"Step 1/2: RUN\"}",
        "{\"status\":\"Step 1/2 : RUN\"}",      "{\"stream\":\"Step 1234567890/2 : RUN\"}",
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        cleanup_error wr_error_t err = NULL;
        cleanup_json_reader json_object *o = json_tokener_parse (no[i]);
        wr_docker_message_t m;
        assert_int_equal (wr_docker_message_read (o, &m, &err), 0);
        int64_t step, steps;
        char *text = NULL;
        assert_false (wr_docker_message_step (&m, &step, &steps, &text));
        assert_null (text);
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_pull_text),
        cmocka_unit_test (test_fields),
        cmocka_unit_test (test_wrong_types),
        cmocka_unit_test (test_steps),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
