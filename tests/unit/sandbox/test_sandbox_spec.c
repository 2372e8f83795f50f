/* The sandbox spec: every field, its defaults, each error with the
 * message a user sees (the field's path, both types, the bound), sizes
 * and units, and the JSON written back parsing to the same spec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "cleanup.h"
#include "sandbox_spec.h"
#include "strv.h"
#include "xalloc.h"

#define MIB (INT64_C (1) << 20)
#define GIB (INT64_C (1) << 30)

static void
parse_ok (const char *json, wr_sandbox_spec_t *spec)
{
    wr_error_t err = NULL;
    if (wr_sandbox_spec_parse (json, strlen (json), NULL, spec, &err) < 0)
        fail_msg ("%s: %s", json, err->message);
}

/* JSON is refused with a message containing WANT, of kind KIND. */
static void
refused_kind (const char *json, const wr_sandbox_spec_limits_t *limits, wr_error_kind_t kind,
              const char *want)
{
    wr_sandbox_spec_t spec;
    cleanup_error wr_error_t err = NULL;
    if (wr_sandbox_spec_parse (json, strlen (json), limits, &spec, &err) == 0)
        fail_msg ("accepted: %s", json);
    if (strstr (err->message, want) == NULL)
        fail_msg ("%s:\n  got  %s\n  want %s", json, err->message, want);
    assert_int_equal (wr_error_kind (err), kind);
    /* Cleared on failure: nothing to free, nothing dangling. */
    assert_null (spec.image.ref);
    assert_null (spec.env);
    assert_null (spec.labels);
}

static void
refused (const char *json, const char *want)
{
    refused_kind (json, NULL, WR_ERROR_INVALID, want);
}

static void
test_defaults (void **state)
{
    (void) state;
    wr_sandbox_spec_t spec;
    parse_ok ("{\"image\": \"busybox\"}", &spec);
    assert_string_equal (spec.image.ref, "busybox");
    assert_int_equal (spec.image.n_steps, 0);
    assert_null (spec.image.dockerfile);
    assert_true (spec.cpu == 1.0);
    assert_int_equal (spec.memory, GIB);
    assert_false (spec.docker_enabled);
    assert_null (spec.env);
    assert_null (spec.workdir);
    assert_null (spec.name);
    assert_int_equal (spec.n_labels, 0);
    assert_int_equal (spec.keep_warm_seconds, 600);
    assert_int_equal (spec.pids_limit, 0);
    wr_sandbox_spec_clear (&spec);

    /* Limits given by the daemon change the defaults; null is absence. */
    wr_sandbox_spec_limits_t limits = { .default_cpu = 2, .default_memory = 512 * MIB };
    const char *json = "{\"image\": \"busybox\", \"cpu\": null, \"memory\": null}";
    wr_error_t err = NULL;
    assert_int_equal (wr_sandbox_spec_parse (json, strlen (json), &limits, &spec, &err), 0);
    assert_true (spec.cpu == 2.0);
    assert_int_equal (spec.memory, 512 * MIB);
    wr_sandbox_spec_clear (&spec);
}

static void
test_every_field (void **state)
{
    (void) state;
    wr_sandbox_spec_t spec;
    parse_ok ("{\"image\": \"127.0.0.1:5000/debian:12\", \"cpu\": 1.5, \"memory\": \"2Gi\","
              " \"docker_enabled\": true, \"env\": {\"A\": \"1\", \"_B2\": \"x=y\", \"E\": \"\"},"
              " \"workdir\": \"/srv/app\", \"name\": \"web-1.a_b\","
              " \"labels\": {\"team\": \"infra\", \"app.kubernetes.io/name\": \"web\"},"
              " \"keep_warm_seconds\": -1, \"pids_limit\": 512, \"ports\": [8080, 22]}",
              &spec);
    assert_string_equal (spec.image.ref, "127.0.0.1:5000/debian:12");
    assert_true (spec.cpu == 1.5);
    assert_int_equal (spec.memory, 2 * GIB);
    assert_true (spec.docker_enabled);
    assert_int_equal (wr_strv_length (spec.env), 3);
    assert_string_equal (spec.env[0], "A=1");
    assert_string_equal (spec.env[1], "_B2=x=y");
    assert_string_equal (spec.env[2], "E=");
    assert_string_equal (spec.workdir, "/srv/app");
    assert_string_equal (spec.name, "web-1.a_b");
    assert_int_equal (spec.n_labels, 2);
    assert_string_equal (spec.labels[0].key, "team");
    assert_string_equal (spec.labels[0].value, "infra");
    assert_string_equal (spec.labels[1].key, "app.kubernetes.io/name");
    assert_int_equal (spec.keep_warm_seconds, -1);
    assert_int_equal (spec.pids_limit, 512);
    assert_int_equal (spec.n_ports, 2);
    assert_int_equal (spec.ports[0], 8080);
    assert_int_equal (spec.ports[1], 22);
    wr_sandbox_spec_clear (&spec);

    /* cpu as an integer; keep_warm a positive number. */
    parse_ok ("{\"image\": \"busybox\", \"cpu\": 4, \"keep_warm_seconds\": 30}", &spec);
    assert_true (spec.cpu == 4.0);
    assert_int_equal (spec.keep_warm_seconds, 30);
    wr_sandbox_spec_clear (&spec);
}

static void
test_image_with_steps (void **state)
{
    (void) state;
    wr_sandbox_spec_t spec;
    parse_ok ("{\"image\": {\"ref\": \"debian:12\", \"steps\": ["
              "{\"run\": \"apt-get update\"},"
              "{\"run\": [\"echo a\", \"echo b\"]},"
              "{\"env\": {\"LANG\": \"C.UTF-8\"}},"
              "{\"with_docker\": true}]}}",
              &spec);
    assert_string_equal (spec.image.ref, "debian:12");
    assert_int_equal (spec.image.n_steps, 4);
    assert_int_equal (spec.image.steps[0].kind, WR_BUILD_RUN);
    assert_int_equal (wr_strv_length (spec.image.steps[0].commands), 1);
    assert_string_equal (spec.image.steps[0].commands[0], "apt-get update");
    assert_int_equal (wr_strv_length (spec.image.steps[1].commands), 2);
    assert_string_equal (spec.image.steps[1].commands[1], "echo b");
    assert_int_equal (spec.image.steps[2].kind, WR_BUILD_ENV);
    assert_string_equal (spec.image.steps[2].env[0], "LANG=C.UTF-8");
    assert_int_equal (spec.image.steps[3].kind, WR_BUILD_WITH_DOCKER);
    wr_sandbox_spec_clear (&spec);

    parse_ok (
        "{\"image\": {\"ref\": \"debian:12\", \"dockerfile\": \"FROM debian:12\\nRUN true\\n\"}}",
        &spec);
    assert_string_equal (spec.image.dockerfile, "FROM debian:12\nRUN true\n");
    assert_int_equal (spec.image.n_steps, 0);
    wr_sandbox_spec_clear (&spec);

    /* Without ref, the Dockerfile's FROM (its ARGs replaced) is the base;
     * a ref that names the same image in another form is taken. */
    parse_ok ("{\"image\": {\"dockerfile\": \"ARG T=12\\nFROM debian:$T\\n\"}}", &spec);
    assert_string_equal (spec.image.ref, "debian:12");
    wr_sandbox_spec_clear (&spec);
    parse_ok ("{\"image\": {\"ref\": \"docker.io/library/debian:12\", "
              "\"dockerfile\": \"FROM debian:12\\n\"}}",
              &spec);
    assert_string_equal (spec.image.ref, "docker.io/library/debian:12");
    wr_sandbox_spec_clear (&spec);

    /* A COPY with its build context, which the JSON keeps. */
    parse_ok ("{\"image\": {\"dockerfile\": \"FROM debian:12\\nCOPY . /app\\n\", \"context\": "
              "\"sha256:1111111111111111111111111111111111111111111111111111111111111111\"}}",
              &spec);
    assert_string_equal (spec.image.context,
                         "sha256:1111111111111111111111111111111111111111111111111111111111111111");
    cleanup_free char *json = wr_sandbox_spec_to_json (&spec);
    assert_non_null (strstr (json, "\"context\":\"sha256:1111"));
    wr_sandbox_spec_clear (&spec);
}

static void
test_errors (void **state)
{
    (void) state;
    /* The document. */
    refused ("", "sandbox spec: not JSON");
    refused ("[]", "must be a JSON object, not an array");
    refused ("{\"image\": \"busybox\",}", "not JSON");
    refused ("{\"image\": \"busybox\"} x", "sandbox spec: not JSON");
    refused ("{}", "sandbox spec: image: missing");
    refused ("{\"image\": null}", "sandbox spec: image: must not be null");
    refused ("{\"image\": \"busybox\", \"cpus\": 1}", "sandbox spec: unknown field `cpus`");
    refused ("{\"image\": \"busybox\", \"\\u001b[31m\": 1}", "unknown field `\\x1b[31m`");
    /* image */
    refused ("{\"image\": 5}", "image: must be a string or an object, not an integer");
    refused ("{\"image\": \"Busy Box\"}", "sandbox spec: image: ");
    refused ("{\"image\": {}}", "image.ref: missing");
    refused ("{\"image\": {\"ref\": \"busybox\", \"tag\": 1}}", "image: unknown field `tag`");
    refused ("{\"image\": {\"ref\": \"busybox\", \"steps\": {}}}",
             "image.steps: must be an array, not an object");
    refused ("{\"image\": {\"ref\": \"busybox\", \"steps\": [1]}}",
             "image.steps[0]: must be an object, not an integer");
    refused ("{\"image\": {\"ref\": \"busybox\", \"steps\": [{}]}}",
             "image.steps[0]: a step is an object with one of run, env, with_docker");
    refused ("{\"image\": {\"ref\": \"busybox\", \"steps\": [{\"run\": \"a\", \"env\": {}}]}}",
             "a step is an object with one of");
    refused ("{\"image\": {\"ref\": \"busybox\", \"steps\": [{\"frobnicate\": 1}]}}",
             "image.steps[0]: unknown step `frobnicate`");
    refused (
        "{\"image\": {\"ref\": \"busybox\", \"steps\": [{\"run\": \"true\"}, {\"run\": \"\"}]}}",
        "image.steps[1].run[0]: empty command");
    refused ("{\"image\": {\"ref\": \"busybox\", \"steps\": [{\"run\": []}]}}",
             "image.steps[0].run: no command");
    refused ("{\"image\": {\"ref\": \"busybox\", \"steps\": [{\"run\": 3}]}}",
             "image.steps[0].run: must be a string or an array of strings, not an integer");
    refused ("{\"image\": {\"ref\": \"busybox\", \"steps\": [{\"run\": [\"a\", 1]}]}}",
             "image.steps[0].run[1]: must be a string, not an integer");
    refused ("{\"image\": {\"ref\": \"busybox\", \"steps\": [{\"env\": {\"1A\": \"x\"}}]}}",
             "image.steps[0].env: `1A` is not a valid variable name");
    refused ("{\"image\": {\"ref\": \"busybox\", \"steps\": [{\"env\": {}}]}}",
             "image.steps[0].env: no variable");
    refused ("{\"image\": {\"ref\": \"busybox\", \"steps\": [{\"with_docker\": false}]}}",
             "image.steps[0].with_docker: must be true");
    refused ("{\"image\": {\"ref\": \"busybox\", \"steps\": [{\"copy\": {\"src\": \"/etc\"}}]}}",
             "image.steps[0].copy: not offered through the API");
    refused (
        "{\"image\": {\"ref\": \"b\", \"steps\": [{\"run\": \"x\"}], \"dockerfile\": \"FROM b\"}}",
        "image: give steps or a dockerfile, not both");
    refused ("{\"image\": {\"ref\": \"busybox\", \"dockerfile\": \"\"}}",
             "image.dockerfile: empty");
    refused ("{\"image\": {\"dockerfile\": \"FROM debian:12\\nRUN true\\nVOLUME /x\\n\"}}",
             "sandbox spec: image.dockerfile: line 3: VOLUME is not supported (supported: FROM, "
             "RUN,");
    refused ("{\"image\": {\"dockerfile\": \"FROM debian:12\\nCOPY . /app\\n\"}}",
             "image.dockerfile: line 2: COPY: its files come from a build context: upload them "
             "as a tar (POST /v1/contexts) and give its digest as image.context");
    refused ("{\"image\": {\"dockerfile\": \"FROM debian:12\\nCOPY . /app\\n\", \"context\": "
             "\"sha256:../x\"}}",
             "image.context: ");
    refused ("{\"image\": {\"ref\": \"busybox\", \"context\": \"sha256:"
             "0000000000000000000000000000000000000000000000000000000000000000\"}}",
             "image.context: a build context is for a dockerfile's COPY: give one");
    refused ("{\"image\": {\"ref\": \"busybox\", \"dockerfile\": \"FROM debian:12\\n\"}}",
             "image.ref: `busybox` is not the Dockerfile's FROM `debian:12` (line 1): leave ref "
             "out or give the same image");
    refused ("{\"image\": {\"steps\": []}}", "image.ref: missing");
    /* cpu */
    refused ("{\"image\": \"busybox\", \"cpu\": \"1\"}",
             "sandbox spec: cpu: must be a number, not a string");
    refused ("{\"image\": \"busybox\", \"cpu\": 0}", "cpu: 0 is out of range (0.01 to 64 CPUs)");
    refused ("{\"image\": \"busybox\", \"cpu\": -1}", "cpu: -1 is out of range");
    refused ("{\"image\": \"busybox\", \"cpu\": 65}", "cpu: 65 is out of range");
    refused ("{\"image\": \"busybox\", \"cpu\": NaN}", "cpu: ");
    wr_sandbox_spec_limits_t small = {
        .max_cpu = 2, .max_memory = 4 * GIB, .max_pids = 100, .max_keep_warm_seconds = 3600
    };
    refused_kind ("{\"image\": \"busybox\", \"cpu\": 2.5}", &small, WR_ERROR_INVALID,
                  "cpu: 2.5 is out of range (0.01 to 2 CPUs)");
    /* memory */
    refused ("{\"image\": \"busybox\", \"memory\": true}",
             "memory: must be an integer (bytes) or a string (\"512Mi\"), not a boolean");
    refused ("{\"image\": \"busybox\", \"memory\": 1.5}", "not a fractional number");
    refused ("{\"image\": \"busybox\", \"memory\": \"lots\"}",
             "memory: size `lots`: not a number of bytes");
    refused ("{\"image\": \"busybox\", \"memory\": \"512Q\"}", "memory: size `512Q`: unknown unit");
    refused ("{\"image\": \"busybox\", \"memory\": \"512Mix\"}", "unknown unit");
    refused ("{\"image\": \"busybox\", \"memory\": \"99999999999999999999\"}", "is too large");
    refused ("{\"image\": \"busybox\", \"memory\": \"9999999999T\"}", "is too large");
    refused ("{\"image\": \"busybox\", \"memory\": 1024}", "memory: 1024 bytes is out of range");
    refused ("{\"image\": \"busybox\", \"memory\": -5}", "memory: -5 bytes is out of range");
    refused_kind ("{\"image\": \"busybox\", \"memory\": \"5g\"}", &small, WR_ERROR_INVALID,
                  "to 4294967296 bytes: 64 MiB to 4096 MiB");
    /* docker_enabled */
    refused ("{\"image\": \"busybox\", \"docker_enabled\": 1}",
             "docker_enabled: must be a boolean, not an integer");
    /* env */
    refused ("{\"image\": \"busybox\", \"env\": [\"A=1\"]}",
             "env: must be an object, not an array");
    refused ("{\"image\": \"busybox\", \"env\": {\"A\": 1}}",
             "env.A: must be a string, not an integer");
    refused ("{\"image\": \"busybox\", \"env\": {\"A\": null}}",
             "env.A: must be a string, not null");
    refused ("{\"image\": \"busybox\", \"env\": {\"A-B\": \"1\"}}",
             "env: `A-B` is not a valid variable name");
    refused ("{\"image\": \"busybox\", \"env\": {\"\": \"1\"}}",
             "env: `` is not a valid variable name");
    refused ("{\"image\": \"busybox\", \"env\": {\"A\": \"a\\u0000b\"}}",
             "env.A: must not contain a NUL");
    /* workdir */
    refused ("{\"image\": \"busybox\", \"workdir\": \"srv\"}",
             "workdir: `srv` is not an absolute path");
    refused ("{\"image\": \"busybox\", \"workdir\": \"/a/../b\"}",
             "workdir: `/a/../b` has a `..` component");
    refused ("{\"image\": \"busybox\", \"workdir\": \"/a/..\"}", "has a `..` component");
    refused ("{\"image\": \"busybox\", \"workdir\": \"/a\\nb\"}", "has control characters");
    refused ("{\"image\": \"busybox\", \"workdir\": 7}",
             "workdir: must be a string, not an integer");
    /* name */
    refused ("{\"image\": \"busybox\", \"name\": \"\"}",
             "sandbox spec: name ``: must be 1 to 63 characters");
    refused ("{\"image\": \"busybox\", \"name\": \"Web\"}", "name `Web`: only a-z, 0-9");
    refused ("{\"image\": \"busybox\", \"name\": \"a b\"}", "only a-z, 0-9");
    refused ("{\"image\": \"busybox\", \"name\": \"-x\"}",
             "name `-x`: must start with a letter or a digit");
    refused ("{\"image\": \"busybox\", \"name\": \"sb-0123456789abcdef\"}",
             "has the form of a sandbox id");
    refused ("{\"image\": \"busybox\", \"name\": "
             "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
             "must be 1 to 63 characters");
    /* labels */
    refused ("{\"image\": \"busybox\", \"labels\": {\"a=b\": \"c\"}}",
             "labels: `a=b` is not a valid label key");
    refused ("{\"image\": \"busybox\", \"labels\": {\"a\": 1}}",
             "labels.a: must be a string, not an integer");
    refused ("{\"image\": \"busybox\", \"labels\": {\"a\": \"x\\ty\"}}",
             "labels: the value of `a` has control characters");
    /* keep_warm_seconds */
    refused ("{\"image\": \"busybox\", \"keep_warm_seconds\": 0}",
             "keep_warm_seconds: 0 is out of range (-1 for never, or 1 to 2592000 seconds)");
    refused ("{\"image\": \"busybox\", \"keep_warm_seconds\": -2}",
             "keep_warm_seconds: -2 is out of range");
    refused ("{\"image\": \"busybox\", \"keep_warm_seconds\": 1.5}",
             "keep_warm_seconds: must be an integer, not a fractional number");
    refused ("{\"image\": \"busybox\", \"keep_warm_seconds\": 99999999999999999999}",
             "integer too large");
    refused_kind ("{\"image\": \"busybox\", \"keep_warm_seconds\": 3601}", &small, WR_ERROR_INVALID,
                  "1 to 3600 seconds");
    /* pids_limit */
    refused ("{\"image\": \"busybox\", \"pids_limit\": 0}",
             "pids_limit: 0 is out of range (1 to 1048576)");
    refused ("{\"image\": \"busybox\", \"pids_limit\": \"9\"}",
             "pids_limit: must be an integer, not a string");
    refused_kind ("{\"image\": \"busybox\", \"pids_limit\": 101}", &small, WR_ERROR_INVALID,
                  "(1 to 100)");
    /* ports */
    refused ("{\"image\": \"busybox\", \"ports\": 80}", "ports: must be an array, not an integer");
    refused ("{\"image\": \"busybox\", \"ports\": [80, 0]}",
             "ports[1]: 0 is not a port (1 to 65535)");
    refused ("{\"image\": \"busybox\", \"ports\": [65536]}",
             "ports[0]: 65536 is not a port (1 to 65535)");
    refused ("{\"image\": \"busybox\", \"ports\": [\"80\"]}",
             "ports[0]: must be an integer, not a string");
    refused ("{\"image\": \"busybox\", \"ports\": [80, 81, 80]}",
             "ports[2]: port 80 is given twice");
}

static void
test_bounds (void **state)
{
    (void) state;
    /* A body over the limit is a LIMIT error, before parsing. */
    wr_sandbox_spec_limits_t tiny = { .max_bytes = 32 };
    refused_kind ("{\"image\": \"busybox\", \"name\": \"abcdefghij\"}", &tiny, WR_ERROR_LIMIT,
                  "is too large for a sandbox spec (the limit is 32)");

    /* 65 labels, 1025 variables, 65 steps, a label value of 257 bytes. */
    cleanup_free char *labels = xstrdup ("{\"image\": \"b\", \"labels\": {");
    for (int i = 0; i < 65; i++) {
        char *more = xasprintf ("%s%s\"k%d\": \"v\"", labels, i > 0 ? "," : "", i);
        free (labels);
        labels = more;
    }
    char *closed = xasprintf ("%s}}", labels);
    refused (closed, "labels: more than 64 entries");
    free (closed);

    cleanup_free char *env = xstrdup ("{\"image\": \"b\", \"env\": {");
    for (int i = 0; i < 1025; i++) {
        char *more = xasprintf ("%s%s\"V%d\": \"\"", env, i > 0 ? "," : "", i);
        free (env);
        env = more;
    }
    closed = xasprintf ("%s}}", env);
    refused (closed, "env: more than 1024 entries");
    free (closed);

    cleanup_free char *steps = xstrdup ("{\"image\": {\"ref\": \"b\", \"steps\": [");
    for (int i = 0; i < 65; i++) {
        char *more = xasprintf ("%s%s{\"run\": \"true\"}", steps, i > 0 ? "," : "");
        free (steps);
        steps = more;
    }
    closed = xasprintf ("%s]}}", steps);
    refused (closed, "image.steps: more than 64 steps");
    free (closed);

    char value[258];
    memset (value, 'v', 257);
    value[257] = '\0';
    closed = xasprintf ("{\"image\": \"b\", \"labels\": {\"k\": \"%s\"}}", value);
    refused (closed, "labels.k: longer than 256 bytes");
    free (closed);
}

static void
test_memory_units (void **state)
{
    (void) state;
    static const struct {
        const char *text;
        int64_t bytes;
    } cases[] = {
        { "1048576", 1048576 },
        { "512Mi", 512 * MIB },
        { "512m", 512 * MIB },
        { "512M", 512 * MIB },
        { "512MiB", 512 * MIB },
        { "1Gi", GIB },
        { "1g", GIB },
        { "2GB", 2 * GIB },
        { "64k", 65536 },
        { "1Ti", GIB * 1024 },
        { "0", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t v = -1;
        wr_error_t err = NULL;
        if (wr_sandbox_memory_parse (cases[i].text, &v, &err) < 0)
            fail_msg ("%s: %s", cases[i].text, err->message);
        assert_int_equal (v, cases[i].bytes);
    }
    static const char *const bad[] = { "", "Mi", "-1", "1.5Gi", "1 Gi", "1Gix", "1Pi", NULL };
    for (size_t i = 0; bad[i] != NULL; i++) {
        int64_t v = 0;
        cleanup_error wr_error_t err = NULL;
        assert_int_equal (wr_sandbox_memory_parse (bad[i], &v, &err), -1);
        assert_non_null (strstr (err->message, "size `"));
    }
}

/* What to_json writes parses back to a spec that writes the same text. */
static void
round_trip (const char *json)
{
    wr_sandbox_spec_t a, b;
    parse_ok (json, &a);
    cleanup_free char *text = wr_sandbox_spec_to_json (&a);
    parse_ok (text, &b);
    cleanup_free char *again = wr_sandbox_spec_to_json (&b);
    assert_string_equal (text, again);
    assert_true (a.cpu == b.cpu);
    assert_int_equal (a.memory, b.memory);
    assert_int_equal (a.n_labels, b.n_labels);
    assert_int_equal (a.image.n_steps, b.image.n_steps);
    wr_sandbox_spec_clear (&a);
    wr_sandbox_spec_clear (&b);
}

static void
test_to_json (void **state)
{
    (void) state;
    wr_sandbox_spec_t spec;
    parse_ok ("{\"image\": \"busybox\"}", &spec);
    cleanup_free char *text = wr_sandbox_spec_to_json (&spec);
    /* Every default written out. */
    assert_string_equal (text, "{\"image\":\"busybox\",\"cpu\":1.0,\"memory\":1073741824,"
                               "\"docker_enabled\":false,\"env\":{},\"labels\":{},"
                               "\"keep_warm_seconds\":600,\"ports\":[]}");
    wr_sandbox_spec_clear (&spec);

    parse_ok ("{\"image\": {\"ref\": \"debian:12\", \"steps\": [{\"run\": \"a\"},"
              " {\"env\": {\"X\": \"1\"}}, {\"with_docker\": true}]}, \"memory\": \"512m\","
              " \"name\": \"n\", \"env\": {\"P\": \"/a/b\"}, \"workdir\": \"/w\"}",
              &spec);
    cleanup_free char *steps = wr_sandbox_spec_to_json (&spec);
    assert_string_equal (steps,
                         "{\"image\":{\"ref\":\"debian:12\",\"steps\":[{\"run\":[\"a\"]},"
                         "{\"env\":{\"X\":\"1\"}},{\"with_docker\":true}]},\"cpu\":1.0,"
                         "\"memory\":536870912,\"docker_enabled\":false,\"env\":{\"P\":\"/a/b\"},"
                         "\"workdir\":\"/w\",\"name\":\"n\",\"labels\":{},"
                         "\"keep_warm_seconds\":600,\"ports\":[]}");
    wr_sandbox_spec_clear (&spec);

    round_trip ("{\"image\": \"busybox\", \"cpu\": 0.3333333333333333, \"memory\": 123456789,"
                " \"docker_enabled\": true, \"env\": {\"A\": \"\\\"q\\\" \\u00e9\"},"
                " \"labels\": {\"x/y\": \"z\"}, \"keep_warm_seconds\": -1, \"pids_limit\": 7,"
                " \"ports\": [1, 65535]}");
    round_trip ("{\"image\": {\"ref\": \"b\", \"dockerfile\": \"FROM b\\n\"}}");
    round_trip ("{\"image\": {\"ref\": \"b\", \"steps\": [{\"run\": [\"x\", \"y\"]}]}}");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_defaults),         cmocka_unit_test (test_every_field),
        cmocka_unit_test (test_image_with_steps), cmocka_unit_test (test_errors),
        cmocka_unit_test (test_bounds),           cmocka_unit_test (test_memory_units),
        cmocka_unit_test (test_to_json),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
