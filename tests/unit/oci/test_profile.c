/* Unit tests of the profiles: golden files and the properties behind them.
 *
 * Each input in tests/unit/golden (runsc-spec.json from `runsc spec`,
 * docker-20.10.json as Docker 20.10 writes it, device-rules.json,
 * minimal.json) is run through each profile and compared byte for byte with
 * INPUT.PROFILE.expected.json.  WARREN_UPDATE_GOLDEN=1 rewrites the expected
 * files instead; review the diff before committing them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"
#include "profile.h"
#include "spec.h"
#include "xalloc.h"

#define INIT_HOST_PATH "/usr/libexec/warren/warren-init"

static const wr_profile_options_t golden_options = {
    .init_host_path = INIT_HOST_PATH,
    .network_mode = "sandbox",
};

static const char *const golden_inputs[] = { "runsc-spec", "docker-20.10", "device-rules",
                                             "minimal", NULL };

static const char *const docker_capabilities[] = {
    "CAP_AUDIT_WRITE", "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FOWNER",
    "CAP_FSETID",      "CAP_KILL",    "CAP_MKNOD",        "CAP_NET_BIND_SERVICE",
    "CAP_NET_ADMIN",   "CAP_NET_RAW", "CAP_SETFCAP",      "CAP_SETGID",
    "CAP_SETPCAP",     "CAP_SETUID",  "CAP_SYS_ADMIN",    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",  NULL,
};

static const char *
golden_dir (void)
{
    const char *dir = getenv ("WARREN_GOLDEN_DIR");
    if (dir == NULL)
        fail_msg ("WARREN_GOLDEN_DIR is not set (run the tests with `meson test`)");
    return dir;
}

static char *
read_text (const char *path)
{
    cleanup_fclose FILE *f = fopen (path, "r");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 20;
    char *buf = xzalloc (cap);
    size_t n = fread (buf, 1, cap - 1, f);
    assert_true (n < cap - 1);
    buf[n] = '\0';
    return buf;
}

static void
write_text (const char *path, const char *text)
{
    cleanup_fclose FILE *f = fopen (path, "w");
    if (f == NULL)
        fail_msg ("cannot write `%s`", path);
    assert_int_equal (fwrite (text, 1, strlen (text), f), strlen (text));
}

static wr_spec_t *
load_input (const char *input)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_free char *path = xasprintf ("%s/%s.json", golden_dir (), input);
    wr_spec_t *spec = wr_spec_load (path, &err);
    if (spec == NULL)
        fail_msg ("%s", err->message);
    return spec;
}

static wr_spec_t *
parse_text (const char *text)
{
    cleanup_error wr_error_t err = NULL;
    wr_spec_t *spec = wr_spec_parse (text, strlen (text), "test", &err);
    if (spec == NULL)
        fail_msg ("%s", err->message);
    return spec;
}

static void
apply_ok (const wr_profile_t *profile, wr_spec_t *spec, const wr_profile_options_t *options)
{
    cleanup_error wr_error_t err = NULL;
    if (wr_profile_apply (profile, spec, options, &err) < 0)
        fail_msg ("%s", err->message);
}

/* Compares ACTUAL with the golden file NAME, or rewrites it on request. */
static void
check_golden (const char *name, const char *actual)
{
    cleanup_free char *path = xasprintf ("%s/%s", golden_dir (), name);
    const char *update = getenv ("WARREN_UPDATE_GOLDEN");
    if (update != NULL && strcmp (update, "1") == 0) {
        write_text (path, actual);
        print_message ("updated %s\n", path);
        return;
    }
    cleanup_free char *expected = read_text (path);
    if (expected == NULL)
        fail_msg ("missing golden file `%s` (make it with WARREN_UPDATE_GOLDEN=1)", path);
    if (strcmp (expected, actual) != 0) {
        cleanup_free char *actual_path = xasprintf ("/tmp/warren-golden-%s", name);
        write_text (actual_path, actual);
        fail_msg ("`%s` differs from the output; see: diff -u %s %s", path, path, actual_path);
    }
}

static void
golden_for_profile (const wr_profile_t *profile)
{
    for (const char *const *input = golden_inputs; *input != NULL; input++) {
        cleanup_spec wr_spec_t *spec = load_input (*input);
        apply_ok (profile, spec, &golden_options);
        cleanup_free char *actual = wr_spec_to_string (spec);
        cleanup_free char *name = xasprintf ("%s.%s.expected.json", *input, profile->name);
        check_golden (name, actual);

        /* Idempotence: applying again, to the same tree or to the saved
         * text, changes nothing. */
        apply_ok (profile, spec, &golden_options);
        cleanup_free char *twice = wr_spec_to_string (spec);
        assert_string_equal (actual, twice);
        cleanup_spec wr_spec_t *reparsed = parse_text (actual);
        apply_ok (profile, reparsed, &golden_options);
        cleanup_free char *again = wr_spec_to_string (reparsed);
        assert_string_equal (actual, again);
    }
}

static void
test_docker_golden (void **state)
{
    golden_for_profile (&wr_profile_docker);
}

static void
test_default_golden (void **state)
{
    golden_for_profile (&wr_profile_default);
}

static bool
has_option (wr_spec_t *spec, const char *destination, const char *option)
{
    json_object *mounts = json_object_object_get (wr_spec_root (spec), "mounts");
    for (size_t i = 0; i < json_object_array_length (mounts); i++) {
        json_object *m = json_object_array_get_idx (mounts, i);
        const char *dest = json_object_get_string (json_object_object_get (m, "destination"));
        if (strcmp (dest, destination) != 0)
            continue;
        json_object *options = json_object_object_get (m, "options");
        for (size_t j = 0; j < json_object_array_length (options); j++) {
            if (strcmp (json_object_get_string (json_object_array_get_idx (options, j)), option) ==
                0)
                return true;
        }
    }
    return false;
}

static json_object *
at (wr_spec_t *spec, const char *pointer)
{
    json_object *o = NULL;
    if (json_pointer_get (wr_spec_root (spec), pointer, &o) < 0)
        return NULL;
    return o;
}

/* What the docker profile does, checked field by field on Docker's config
 * (the golden file shows the same; this says which parts matter). */
static void
test_docker_profile_on_docker_config (void **state)
{
    static const char *const sets[] = { "bounding", "effective", "inheritable", "permitted" };
    cleanup_spec wr_spec_t *spec = load_input ("docker-20.10");
    assert_true (has_option (spec, "/sys", "ro"));
    assert_true (has_option (spec, "/sys/fs/cgroup", "ro"));
    apply_ok (&wr_profile_docker, spec, &golden_options);

    for (size_t s = 0; s < 4; s++) {
        for (const char *const *cap = docker_capabilities; *cap != NULL; cap++) {
            if (!wr_spec_has_capability (spec, sets[s], *cap))
                fail_msg ("%s missing from %s", *cap, sets[s]);
        }
        cleanup_free char *pointer = xasprintf ("/process/capabilities/%s", sets[s]);
        assert_int_equal (json_object_array_length (at (spec, pointer)), 17);
    }
    assert_null (at (spec, "/process/capabilities/ambient"));

    assert_null (at (spec, "/linux/resources/devices"));
    assert_non_null (at (spec, "/linux/resources/memory"));
    assert_false (has_option (spec, "/sys", "ro"));
    assert_true (has_option (spec, "/sys", "nosuid"));
    assert_false (has_option (spec, "/sys/fs/cgroup", "ro"));
    assert_null (at (spec, "/linux/maskedPaths"));
    assert_null (at (spec, "/linux/readonlyPaths"));
    /* What the profile has no business with stays. */
    assert_non_null (at (spec, "/linux/seccomp/syscalls/0"));
    assert_non_null (at (spec, "/hooks/prestart/0"));
    assert_true (has_option (spec, "/etc/hosts", "rbind"));

    /* warren-init, read-only, in front of the original command. */
    assert_true (has_option (spec, WR_INIT_SANDBOX_PATH, "ro"));
    assert_string_equal (json_object_get_string (at (spec, "/mounts/10/source")), INIT_HOST_PATH);
    assert_string_equal (json_object_get_string (at (spec, "/mounts/10/type")), "bind");
    assert_int_equal (wr_spec_args_count (spec), 5);
    assert_string_equal (wr_spec_arg (spec, 0), WR_INIT_SANDBOX_PATH);
    assert_string_equal (wr_spec_arg (spec, 1), "--docker");
    assert_string_equal (wr_spec_arg (spec, 2), "--");
    assert_string_equal (wr_spec_arg (spec, 3), "/bin/sleep");
    assert_string_equal (wr_spec_arg (spec, 4), "60");
    assert_string_equal (wr_spec_get_env (spec, "WARREN_NETWORK"), "sandbox");
}

static void
test_docker_profile_on_minimal (void **state)
{
    /* No process, no linux, no resources: still works. */
    cleanup_spec wr_spec_t *spec = parse_text ("{\"ociVersion\":\"1.0.2\"}");
    apply_ok (&wr_profile_docker, spec, &golden_options);
    assert_true (wr_spec_has_capability (spec, "permitted", "CAP_SYS_ADMIN"));
    assert_int_equal (wr_spec_args_count (spec), 3);
    assert_string_equal (wr_spec_arg (spec, 1), "--docker");
    assert_true (wr_spec_has_mount (spec, WR_INIT_SANDBOX_PATH));
    assert_null (at (spec, "/linux"));
}

static void
test_docker_profile_without_options (void **state)
{
    /* No warren-init and no network mode: no mount, the command as it was,
     * no WARREN_NETWORK. */
    cleanup_spec wr_spec_t *spec = load_input ("runsc-spec");
    apply_ok (&wr_profile_docker, spec, NULL);
    assert_false (wr_spec_has_mount (spec, WR_INIT_SANDBOX_PATH));
    assert_string_equal (wr_spec_arg (spec, 0), "/bin/sh");
    assert_null (wr_spec_get_env (spec, "WARREN_NETWORK"));
    assert_true (wr_spec_has_capability (spec, "bounding", "CAP_NET_ADMIN"));
    assert_false (has_option (spec, "/sys", "ro"));
}

static void
test_default_profile_changes_nothing (void **state)
{
    /* With or without warren-init at hand, the default profile adds nothing:
     * no capabilities, no mounts, no process in front of the command. */
    for (const char *const *input = golden_inputs; *input != NULL; input++) {
        cleanup_spec wr_spec_t *spec = load_input (*input);
        cleanup_free char *before = wr_spec_to_string (spec);
        apply_ok (&wr_profile_default, spec, NULL);
        apply_ok (&wr_profile_default, spec, &golden_options);
        cleanup_free char *after = wr_spec_to_string (spec);
        assert_string_equal (before, after);
    }
}

static void
test_default_profile_keeps_restrictions (void **state)
{
    cleanup_spec wr_spec_t *spec = load_input ("docker-20.10");
    apply_ok (&wr_profile_default, spec, &golden_options);
    assert_string_equal (wr_spec_arg (spec, 0), "/bin/sleep");
    assert_false (wr_spec_has_mount (spec, WR_INIT_SANDBOX_PATH));
    /* Locked down: Docker's capabilities, masks and device rules stay. */
    assert_false (wr_spec_has_capability (spec, "bounding", "CAP_SYS_ADMIN"));
    assert_true (has_option (spec, "/sys", "ro"));
    assert_non_null (at (spec, "/linux/maskedPaths"));
    assert_non_null (at (spec, "/linux/resources/devices"));
    assert_null (wr_spec_get_env (spec, "WARREN_NETWORK"));
}

static void
test_docker_profile_keeps_users_double_dash (void **state)
{
    /* The user's command has its own "--"; warren-init's prefix is added
     * once, in front of it. */
    cleanup_spec wr_spec_t *spec = load_input ("device-rules");
    size_t original = wr_spec_args_count (spec);
    apply_ok (&wr_profile_docker, spec, &golden_options);
    apply_ok (&wr_profile_docker, spec, &golden_options);
    assert_int_equal (wr_spec_args_count (spec), original + 3);
    assert_string_equal (wr_spec_arg (spec, 0), WR_INIT_SANDBOX_PATH);
    assert_string_equal (wr_spec_arg (spec, 1), "--docker");
    assert_string_equal (wr_spec_arg (spec, 2), "--");
    assert_string_equal (wr_spec_arg (spec, 3), "dockerd-entrypoint.sh");
    assert_string_equal (wr_spec_arg (spec, 4), "--");
    assert_string_equal (wr_spec_arg (spec, 5), "docker");
}

static void
test_inject_init (void **state)
{
    cleanup_error wr_error_t err = NULL;
    static const char *const with_separator[] = { "--docker", "--", NULL };
    cleanup_spec wr_spec_t *spec = parse_text ("{\"process\": {\"args\": [\"sh\"]}}");

    /* A "--" at the end of INIT_ARGS is not doubled. */
    assert_int_equal (wr_profile_inject_init (spec, "/opt/init", with_separator, &err), 0);
    assert_int_equal (wr_spec_args_count (spec), 4);
    assert_string_equal (wr_spec_arg (spec, 2), "--");
    assert_string_equal (wr_spec_arg (spec, 3), "sh");
    assert_int_equal (json_object_array_length (at (spec, "/mounts")), 1);
    assert_string_equal (json_object_get_string (at (spec, "/mounts/0/destination")),
                         WR_INIT_SANDBOX_PATH);
    assert_string_equal (json_object_get_string (at (spec, "/mounts/0/options/1")), "ro");

    /* Another host path replaces the mount rather than adding one. */
    assert_int_equal (wr_profile_inject_init (spec, "/usr/bin/warren-init", NULL, &err), 0);
    assert_int_equal (json_object_array_length (at (spec, "/mounts")), 1);
    assert_string_equal (json_object_get_string (at (spec, "/mounts/0/source")),
                         "/usr/bin/warren-init");
    assert_int_equal (wr_spec_args_count (spec), 3);
    assert_string_equal (wr_spec_arg (spec, 1), "--");

    assert_int_equal (wr_profile_inject_init (spec, "relative/init", NULL, &err), -1);
    assert_string_equal (err->message, "warren-init path `relative/init` is not absolute");

    cleanup_spec wr_spec_t *bad = parse_text ("{\"process\": {\"args\": [\"sh\", 1]}}");
    assert_int_equal (wr_profile_inject_init (bad, "/opt/init", NULL, &err), -1);
    assert_string_equal (err->message,
                         "`test`: `process.args[1]` must be a string, not an integer");
}

static void
test_apply_error_names_profile_and_path (void **state)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_spec wr_spec_t *spec =
        parse_text ("{\"process\": {\"capabilities\": {\"bounding\": \"CAP_KILL\"}}}");
    assert_int_equal (wr_profile_apply (&wr_profile_docker, spec, &golden_options, &err), -1);
    assert_string_equal (err->message, "apply profile `docker`: `test`: "
                                       "`process.capabilities.bounding` must be an array, not a "
                                       "string");
}

static void
test_profile_data (void **state)
{
    /* The docker profile's capabilities are exactly issue 2's seventeen. */
    size_t n = 0;
    for (; wr_profile_docker.capabilities[n] != NULL; n++) {
        assert_non_null (docker_capabilities[n]);
        assert_string_equal (wr_profile_docker.capabilities[n], docker_capabilities[n]);
    }
    assert_int_equal (n, 17);
    assert_null (docker_capabilities[n]);

    const wr_runsc_flag_t *flags = wr_profile_docker.runsc_flags;
    assert_string_equal (flags[0].spellings[0], "net-raw");
    assert_null (flags[0].spellings[1]);
    assert_string_equal (flags[1].spellings[0], "allow-packet-socket-write");
    assert_string_equal (flags[1].spellings[1], "TESTONLY-allow-packet-endpoint-write");
    assert_null (flags[1].spellings[2]);
    assert_non_null (flags[0].why);
    assert_non_null (flags[1].why);
    assert_null (flags[2].spellings[0]);

    /* The default profile: no capabilities and no runsc flags (no --net-raw). */
    assert_null (wr_profile_default.capabilities);
    assert_null (wr_profile_default.runsc_flags[0].spellings[0]);
    assert_null (wr_profile_default.init_args);

    const wr_profile_t *const *all = wr_profiles ();
    assert_ptr_equal (all[0], &wr_profile_default);
    assert_ptr_equal (all[1], &wr_profile_docker);
    assert_null (all[2]);
    for (size_t i = 0; all[i] != NULL; i++) {
        assert_non_null (all[i]->description);
        assert_non_null (all[i]->apply);
    }
}

static void
test_find (void **state)
{
    cleanup_error wr_error_t err = NULL;
    assert_ptr_equal (wr_profile_find ("docker", &err), &wr_profile_docker);
    assert_ptr_equal (wr_profile_find ("default", &err), &wr_profile_default);
    assert_null (wr_profile_find ("Docker", &err));
    assert_string_equal (err->message,
                         "unknown profile `Docker` (known profiles: default, docker)");
    assert_null (wr_profile_find (NULL, &err));
}

static void
test_select (void **state)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_spec wr_spec_t *plain = parse_text ("{}");
    cleanup_spec wr_spec_t *annotated =
        parse_text ("{\"annotations\": {\"dev.warren.profile\": \"docker\"}}");
    cleanup_spec wr_spec_t *unknown =
        parse_text ("{\"annotations\": {\"dev.warren.profile\": \"kvm\"}}");

    /* Nothing asked: default. */
    assert_ptr_equal (wr_profile_select (plain, NULL, NULL, &err), &wr_profile_default);
    /* The annotation. */
    assert_ptr_equal (wr_profile_select (annotated, NULL, NULL, &err), &wr_profile_docker);
    /* The request wins over the annotation, both ways. */
    assert_ptr_equal (wr_profile_select (annotated, "default", NULL, &err), &wr_profile_default);
    assert_ptr_equal (wr_profile_select (plain, "docker", NULL, &err), &wr_profile_docker);
    assert_ptr_equal (wr_profile_select (unknown, "docker", NULL, &err), &wr_profile_docker);
    assert_null (err);

    assert_null (wr_profile_select (plain, "nope", NULL, &err));
    assert_string_equal (err->message, "unknown profile `nope` (known profiles: default, docker)");
    wr_error_free (&err);
    assert_null (wr_profile_select (unknown, NULL, NULL, &err));
    assert_string_equal (err->message, "annotation `dev.warren.profile`: unknown profile `kvm` "
                                       "(known profiles: default, docker)");
}

static void
test_select_allowed (void **state)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_spec wr_spec_t *annotated =
        parse_text ("{\"annotations\": {\"dev.warren.profile\": \"docker\"}}");
    const char *const only_default[] = { "default", NULL };
    const char *const none[] = { NULL };
    const char *const both[] = { "default", "docker", NULL };

    assert_ptr_equal (wr_profile_select (annotated, NULL, both, &err), &wr_profile_docker);
    assert_null (wr_profile_select (annotated, NULL, only_default, &err));
    assert_non_null (strstr (err->message, "asks for profile `docker`"));
    assert_non_null (strstr (err->message, "(allowed: default)"));
    assert_int_equal (wr_error_kind (err), WR_ERROR_INVALID);
    wr_error_free (&err);
    assert_null (wr_profile_select (annotated, NULL, none, &err));
    assert_non_null (strstr (err->message, "(allowed: none)"));
    wr_error_free (&err);
    /* The operator's own --profile is not held to the list. */
    assert_ptr_equal (wr_profile_select (annotated, "docker", none, &err), &wr_profile_docker);
    /* Without an annotation nothing is asked of the list. */
    cleanup_spec wr_spec_t *plain = parse_text ("{}");
    assert_ptr_equal (wr_profile_select (plain, NULL, none, &err), &wr_profile_default);
    assert_null (err);
}

static void
test_needs_sandbox (void **state)
{
    cleanup_error wr_error_t err = NULL;
    assert_true (wr_profile_docker.needs_sandbox);
    assert_false (wr_profile_default.needs_sandbox);
    assert_int_equal (wr_profile_check_backend (&wr_profile_docker, "runsc", true, &err), 0);
    assert_int_equal (wr_profile_check_backend (&wr_profile_default, "runc", false, &err), 0);
    assert_null (err);
    assert_int_equal (wr_profile_check_backend (&wr_profile_docker, "runc", false, &err), -1);
    assert_non_null (strstr (err->message, "profile `docker` needs a sandbox"));
    assert_non_null (strstr (err->message, "backend `runc` runs containers on the host's kernel"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_docker_golden),
        cmocka_unit_test (test_default_golden),
        cmocka_unit_test (test_docker_profile_on_docker_config),
        cmocka_unit_test (test_docker_profile_on_minimal),
        cmocka_unit_test (test_docker_profile_without_options),
        cmocka_unit_test (test_default_profile_changes_nothing),
        cmocka_unit_test (test_default_profile_keeps_restrictions),
        cmocka_unit_test (test_docker_profile_keeps_users_double_dash),
        cmocka_unit_test (test_inject_init),
        cmocka_unit_test (test_apply_error_names_profile_and_path),
        cmocka_unit_test (test_profile_data),
        cmocka_unit_test (test_find),
        cmocka_unit_test (test_select),
        cmocka_unit_test (test_select_allowed),
        cmocka_unit_test (test_needs_sandbox),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
