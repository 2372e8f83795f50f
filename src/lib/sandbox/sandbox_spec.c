/* A sandbox's spec, parsed strictly from a create request's JSON body and
 * written back in the same form.  See sandbox_spec.h. */
#include "sandbox_spec.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "digest.h"
#include "dockerfile.h"
#include "image_ref.h"
#include "json_reader.h"
#include "quote.h"
#include "strv.h"
#include "xalloc.h"

#define MIB (INT64_C (1) << 20)
#define GIB (INT64_C (1) << 30)
#define CPU_MIN 0.01
#define ENV_MAX 1024
#define ENV_NAME_MAX 256
#define ENV_VALUE_MAX 32768
#define LABELS_MAX 64
#define LABEL_KEY_MAX 128
#define LABEL_VALUE_MAX 256
#define PATH_MAX_BYTES 4096
#define STEPS_MAX 64
#define COMMANDS_MAX 64
#define COMMAND_MAX 65536
#define DOCKERFILE_MAX (256 * 1024)

typedef struct {
    size_t max_bytes;
    double default_cpu, max_cpu;
    int64_t default_memory, min_memory, max_memory, max_pids, max_keep_warm;
} limits_t;

static limits_t
limits_of (const wr_sandbox_spec_limits_t *l)
{
    limits_t r = {
        .max_bytes = 1 << 20,
        .default_cpu = 1,
        .max_cpu = 64,
        .default_memory = GIB,
        .min_memory = 64 * MIB,
        .max_memory = 256 * GIB,
        .max_pids = 1 << 20,
        .max_keep_warm = 30 * 86400,
    };
    if (l == NULL)
        return r;
    if (l->max_bytes > 0)
        r.max_bytes = l->max_bytes;
    if (l->default_cpu > 0)
        r.default_cpu = l->default_cpu;
    if (l->max_cpu > 0)
        r.max_cpu = l->max_cpu;
    if (l->default_memory > 0)
        r.default_memory = l->default_memory;
    if (l->min_memory > 0)
        r.min_memory = l->min_memory;
    if (l->max_memory > 0)
        r.max_memory = l->max_memory;
    if (l->max_pids > 0)
        r.max_pids = l->max_pids;
    if (l->max_keep_warm_seconds > 0)
        r.max_keep_warm = l->max_keep_warm_seconds;
    return r;
}

/* Refuses a member of OBJ that is not in KNOWN (NULL-terminated). */
static int
check_known (json_object *obj, const char *const *known, const char *name, const char *path,
             wr_error_t *err)
{
    json_object_object_foreach (obj, key, value)
    {
        (void) value;
        bool found = false;
        for (size_t i = 0; known[i] != NULL && !found; i++)
            found = strcmp (key, known[i]) == 0;
        if (!found) {
            cleanup_free char *quoted = wr_quote (key, 64);
            return wr_json_error (err, name, path, "unknown field `%s`", quoted);
        }
    }
    return 0;
}

static bool
env_name_valid (const char *s)
{
    if (!(isalpha ((unsigned char) s[0]) || s[0] == '_'))
        return false;
    for (const char *p = s; *p != '\0'; p++)
        if (!(isalnum ((unsigned char) *p) || *p == '_'))
            return false;
    return strlen (s) <= ENV_NAME_MAX;
}

static bool
label_key_valid (const char *s)
{
    size_t n = strlen (s);
    if (n == 0 || n > LABEL_KEY_MAX || !isalnum ((unsigned char) s[0]))
        return false;
    for (const char *p = s; *p != '\0'; p++)
        if (!(isalnum ((unsigned char) *p) || strchr ("._/-", *p) != NULL))
            return false;
    return true;
}

static bool
has_control (const char *s)
{
    for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++)
        if (*p < 0x20 || *p == 0x7f)
            return true;
    return false;
}

/* An object of string -> string at PATH, each key checked by KEY_OK and
 * each value bounded; calls ADD for each pair. */
static int
string_map (json_object *value, const char *name, const char *path, size_t max_entries,
            bool (*key_ok) (const char *), const char *key_rule, size_t max_value,
            void (*add) (void *, const char *, const char *), void *data, wr_error_t *err)
{
    if (wr_json_expect (value, json_type_object, name, path, err) < 0)
        return -1;
    if ((size_t) json_object_object_length (value) > max_entries)
        return wr_json_error (err, name, path, "more than %zu entries", max_entries);
    json_object_object_foreach (value, key, member)
    {
        cleanup_free char *quoted = wr_quote (key, 64);
        cleanup_free char *child = wr_json_path_key (path, quoted);
        if (!key_ok (key))
            return wr_json_error (err, name, path, "`%s` is not %s", quoted, key_rule);
        const char *s = NULL;
        if (member == NULL)
            return wr_json_error (err, name, child, "must be a string, not null");
        if (wr_json_string (member, name, child, &s, err) < 0)
            return -1;
        if (strlen (s) > max_value)
            return wr_json_error (err, name, child, "longer than %zu bytes", max_value);
        add (data, key, s);
    }
    return 0;
}

static void
add_env (void *data, const char *key, const char *value)
{
    wr_strv_add_take ((char ***) data, xasprintf ("%s=%s", key, value));
}

static void
add_label (void *data, const char *key, const char *value)
{
    wr_sandbox_spec_t *spec = data;
    spec->labels = xrealloc (spec->labels, (spec->n_labels + 1) * sizeof *spec->labels);
    spec->labels[spec->n_labels].key = xstrdup (key);
    spec->labels[spec->n_labels].value = xstrdup (value);
    spec->n_labels++;
}

static int
parse_run (json_object *value, const char *name, const char *path, wr_build_step_t *step,
           wr_error_t *err)
{
    step->kind = WR_BUILD_RUN;
    if (json_object_is_type (value, json_type_string)) {
        const char *s = NULL;
        if (wr_json_string (value, name, path, &s, err) < 0)
            return -1;
        wr_strv_add (&step->commands, s);
    } else {
        if (!json_object_is_type (value, json_type_array))
            return wr_json_error (err, name, path,
                                  "must be a string or an array of strings, not %s",
                                  wr_json_type_phrase (json_object_get_type (value)));
        if (json_object_array_length (value) > COMMANDS_MAX)
            return wr_json_error (err, name, path, "more than %d commands", COMMANDS_MAX);
        if (wr_json_string_array (value, name, path, &step->commands, err) < 0)
            return -1;
    }
    size_t n = wr_strv_length (step->commands);
    if (n == 0)
        return wr_json_error (err, name, path, "no command");
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen (step->commands[i]);
        if (len == 0 || len > COMMAND_MAX) {
            cleanup_free char *child = wr_json_path_index (path, i);
            return wr_json_error (err, name, child,
                                  len == 0 ? "empty command" : "longer than %d bytes", COMMAND_MAX);
        }
    }
    return 0;
}

static int
parse_step (json_object *value, const char *name, const char *path, wr_build_step_t *step,
            wr_error_t *err)
{
    if (wr_json_expect (value, json_type_object, name, path, err) < 0)
        return -1;
    if (json_object_object_length (value) != 1)
        return wr_json_error (err, name, path,
                              "a step is an object with one of run, env, with_docker");
    json_object_object_foreach (value, key, member)
    {
        cleanup_free char *child = wr_json_path_key (path, key);
        if (member == NULL)
            return wr_json_error (err, name, child, "must not be null");
        if (strcmp (key, "run") == 0)
            return parse_run (member, name, child, step, err);
        if (strcmp (key, "env") == 0) {
            step->kind = WR_BUILD_ENV;
            if (string_map (member, name, child, ENV_MAX, env_name_valid, "a valid variable name",
                            ENV_VALUE_MAX, add_env, &step->env, err) < 0)
                return -1;
            if (step->env == NULL)
                return wr_json_error (err, name, child, "no variable");
            return 0;
        }
        if (strcmp (key, "with_docker") == 0) {
            step->kind = WR_BUILD_WITH_DOCKER;
            if (wr_json_expect (member, json_type_boolean, name, child, err) < 0)
                return -1;
            if (!json_object_get_boolean (member))
                return wr_json_error (err, name, child, "must be true (leave the step out)");
            return 0;
        }
        if (strcmp (key, "copy") == 0)
            return wr_json_error (err, name, child,
                                  "not offered through the API (its source is a path on "
                                  "warrend's host); upload files into the sandbox instead");
        cleanup_free char *quoted = wr_quote (key, 64);
        return wr_json_error (err, name, path, "unknown step `%s` (steps: run, env, with_docker)",
                              quoted);
    }
    return 0;
}

static int
parse_ref (json_object *value, const char *name, const char *path, char **out, wr_error_t *err)
{
    const char *s = NULL;
    if (wr_json_string (value, name, path, &s, err) < 0)
        return -1;
    wr_image_ref_t ref = { 0 };
    if (wr_image_ref_parse (s, &ref, err) < 0)
        return wr_error_prefix (err, "%s: %s", name, path);
    wr_image_ref_clear (&ref);
    *out = xstrdup (s);
    return 0;
}

/* Reads the Dockerfile TEXT (the base's variables are not known yet, so
 * only its own are substituted: the build reads it again, dockerfile.h),
 * and its FROM becomes the ref, which a given ref must equal. */
static int
parse_dockerfile (const char *text, const char *name, wr_sandbox_image_t *image, wr_error_t *err)
{
    wr_dockerfile_t df = { 0 };
    cleanup_error wr_error_t df_err = NULL;
    if (wr_dockerfile_parse (text, strlen (text), NULL, &df, &df_err) < 0)
        return wr_json_error (err, name, "image.dockerfile", "%s", df_err->message);
    int r = 0;
    if (image->ref == NULL) {
        image->ref = xstrdup (df.from);
    } else if (strcmp (image->ref, df.from) != 0) {
        cleanup_free char *given = wr_image_ref_normalize_text (image->ref);
        cleanup_free char *from = wr_image_ref_normalize_text (df.from);
        if (given == NULL || from == NULL || strcmp (given, from) != 0) {
            cleanup_free char *quoted = wr_quote (image->ref, 128);
            r = wr_json_error (err, name, "image.ref",
                               "`%s` is not the Dockerfile's FROM `%s` (line %zu): leave ref out "
                               "or give the same image",
                               quoted, df.from, df.from_line);
        }
    }
    for (size_t i = 0; r == 0 && image->context == NULL && i < df.n_steps; i++)
        if (df.steps[i].kind == WR_BUILD_COPY)
            r = wr_json_error (err, name, "image.dockerfile",
                               "line %zu: COPY: its files come from a build context: upload "
                               "them as a tar (POST /v1/contexts) and give its digest as "
                               "image.context",
                               df.step_lines[i]);
    wr_dockerfile_clear (&df);
    if (r == 0)
        image->dockerfile = xstrdup (text);
    return r;
}

static int
parse_image (json_object *value, const char *name, wr_sandbox_image_t *image, wr_error_t *err)
{
    if (json_object_is_type (value, json_type_string))
        return parse_ref (value, name, "image", &image->ref, err);
    if (!json_object_is_type (value, json_type_object))
        return wr_json_error (err, name, "image", "must be a string or an object, not %s",
                              wr_json_type_phrase (json_object_get_type (value)));
    static const char *const known[] = { "ref", "steps", "dockerfile", "context", NULL };
    if (check_known (value, known, name, "image", err) < 0)
        return -1;
    json_object *member = NULL;
    /* With a dockerfile, ref may be left out: its FROM is the base. */
    bool has_dockerfile =
        json_object_object_get_ex (value, "dockerfile", &member) && member != NULL;
    int found = wr_json_member (value, "ref", !has_dockerfile, name, "image", &member, err);
    if (found < 0 || (found > 0 && parse_ref (member, name, "image.ref", &image->ref, err) < 0))
        return -1;
    found = wr_json_member (value, "steps", false, name, "image", &member, err);
    if (found > 0) {
        if (wr_json_expect (member, json_type_array, name, "image.steps", err) < 0)
            return -1;
        size_t n = json_object_array_length (member);
        if (n > STEPS_MAX)
            return wr_json_error (err, name, "image.steps", "more than %d steps", STEPS_MAX);
        image->steps = xzalloc ((n + 1) * sizeof *image->steps);
        for (size_t i = 0; i < n; i++) {
            cleanup_free char *child = wr_json_path_index ("image.steps", i);
            image->n_steps++;
            if (parse_step (json_object_array_get_idx (member, i), name, child, &image->steps[i],
                            err) < 0)
                return -1;
        }
    }
    found = wr_json_member (value, "context", false, name, "image", &member, err);
    if (found > 0) {
        const char *s = NULL;
        if (wr_json_string (member, name, "image.context", &s, err) < 0)
            return -1;
        cleanup_error wr_error_t digest_err = NULL;
        if (wr_digest_validate (s, &digest_err) < 0)
            return wr_json_error (err, name, "image.context", "%s", digest_err->message);
        if (!has_dockerfile)
            return wr_json_error (err, name, "image.context",
                                  "a build context is for a dockerfile's COPY: give one");
        image->context = xstrdup (s);
    }
    found = wr_json_member (value, "dockerfile", false, name, "image", &member, err);
    if (found > 0) {
        const char *s = NULL;
        if (wr_json_string (member, name, "image.dockerfile", &s, err) < 0)
            return -1;
        if (s[0] == '\0' || strlen (s) > DOCKERFILE_MAX)
            return wr_json_error (err, name, "image.dockerfile",
                                  s[0] == '\0' ? "empty" : "longer than %d bytes", DOCKERFILE_MAX);
        if (image->n_steps > 0)
            return wr_json_error (err, name, "image", "give steps or a dockerfile, not both");
        if (parse_dockerfile (s, name, image, err) < 0)
            return -1;
    }
    return 0;
}

static int
parse_cpu (json_object *value, const char *name, const limits_t *l, double *out, wr_error_t *err)
{
    json_type t = json_object_get_type (value);
    if (t != json_type_int && t != json_type_double)
        return wr_json_error (err, name, "cpu", "must be a number, not %s",
                              wr_json_type_phrase (t));
    double v = json_object_get_double (value);
    if (!isfinite (v) || v < CPU_MIN || v > l->max_cpu)
        return wr_json_error (err, name, "cpu", "%g is out of range (%g to %g CPUs)", v, CPU_MIN,
                              l->max_cpu);
    *out = v;
    return 0;
}

int
wr_sandbox_memory_parse (const char *text, int64_t *out, wr_error_t *err)
{
    cleanup_free char *quoted = wr_quote (text, 64);
    const char *p = text;
    if (!isdigit ((unsigned char) *p))
        return wr_error_set (
            err, 0, "size `%s`: not a number of bytes, nor a number and a unit (512Mi)", quoted);
    uint64_t n = 0;
    for (; isdigit ((unsigned char) *p); p++) {
        if (n > (UINT64_C (1) << 62) / 10)
            return wr_error_set (err, 0, "size `%s` is too large", quoted);
        n = n * 10 + (uint64_t) (*p - '0');
    }
    int shift = 0;
    if (*p != '\0') {
        const char *units = "kmgt";
        const char *u = strchr (units, tolower ((unsigned char) *p));
        if (u == NULL)
            return wr_error_set (err, 0, "size `%s`: unknown unit (k, m, g, t, Ki, Mi, Gi, Ti)",
                                 quoted);
        shift = 10 * (int) (u - units + 1);
        p++;
        if (*p == 'i')
            p++;
        if (*p == 'B' || *p == 'b')
            p++;
        if (*p != '\0')
            return wr_error_set (err, 0, "size `%s`: unknown unit (k, m, g, t, Ki, Mi, Gi, Ti)",
                                 quoted);
    }
    if (n > ((uint64_t) INT64_MAX >> shift))
        return wr_error_set (err, 0, "size `%s` is too large", quoted);
    *out = (int64_t) (n << shift);
    return 0;
}

static int
parse_memory (json_object *value, const char *name, const limits_t *l, int64_t *out,
              wr_error_t *err)
{
    int64_t v = 0;
    if (json_object_is_type (value, json_type_string)) {
        const char *s = NULL;
        if (wr_json_string (value, name, "memory", &s, err) < 0)
            return -1;
        if (wr_sandbox_memory_parse (s, &v, err) < 0)
            return wr_error_prefix (err, "%s: memory", name);
    } else if (json_object_is_type (value, json_type_int)) {
        if (wr_json_int64 (value, name, "memory", &v, err) < 0)
            return -1;
    } else {
        return wr_json_error (err, name, "memory",
                              "must be an integer (bytes) or a string (\"512Mi\"), not %s",
                              wr_json_type_phrase (json_object_get_type (value)));
    }
    if (v < l->min_memory || v > l->max_memory)
        return wr_json_error (err, name, "memory",
                              "%lld bytes is out of range (%lld to %lld bytes: %lld MiB to %lld "
                              "MiB)",
                              (long long) v, (long long) l->min_memory, (long long) l->max_memory,
                              (long long) (l->min_memory / MIB), (long long) (l->max_memory / MIB));
    *out = v;
    return 0;
}

static int
parse_workdir (json_object *value, const char *name, char **out, wr_error_t *err)
{
    const char *s = NULL;
    if (wr_json_string (value, name, "workdir", &s, err) < 0)
        return -1;
    cleanup_free char *quoted = wr_quote (s, 64);
    if (s[0] != '/')
        return wr_json_error (err, name, "workdir", "`%s` is not an absolute path", quoted);
    if (strlen (s) > PATH_MAX_BYTES)
        return wr_json_error (err, name, "workdir", "longer than %d bytes", PATH_MAX_BYTES);
    for (const char *p = s; (p = strstr (p, "..")) != NULL; p += 2)
        if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0'))
            return wr_json_error (err, name, "workdir", "`%s` has a `..` component", quoted);
    if (has_control (s))
        return wr_json_error (err, name, "workdir", "`%s` has control characters", quoted);
    *out = xstrdup (s);
    return 0;
}

bool
wr_sandbox_name_valid (const char *name, wr_error_t *err)
{
    cleanup_free char *quoted = wr_quote (name, 64);
    size_t n = strlen (name);
    if (n == 0 || n > WR_SANDBOX_NAME_MAX) {
        wr_error_set (err, 0, "name `%s`: must be 1 to %d characters", quoted, WR_SANDBOX_NAME_MAX);
        return false;
    }
    for (const char *p = name; *p != '\0'; p++) {
        if (!(islower ((unsigned char) *p) || isdigit ((unsigned char) *p) ||
              strchr ("-_.", *p) != NULL)) {
            wr_error_set (err, 0, "name `%s`: only a-z, 0-9, `-`, `_` and `.` are allowed", quoted);
            return false;
        }
    }
    if (!isalnum ((unsigned char) name[0])) {
        wr_error_set (err, 0, "name `%s`: must start with a letter or a digit", quoted);
        return false;
    }
    if (n == 19 && strncmp (name, "sb-", 3) == 0 && strspn (name + 3, "0123456789abcdef") == 16) {
        wr_error_set (err, 0, "name `%s`: has the form of a sandbox id", quoted);
        return false;
    }
    return true;
}

/* "ports": [PORT, ...], each 1-65535, no port twice. */
static int
parse_ports (json_object *v, const char *name, wr_sandbox_spec_t *spec, wr_error_t *err)
{
    if (wr_json_expect (v, json_type_array, name, "ports", err) < 0)
        return -1;
    size_t n = json_object_array_length (v);
    if (n > WR_SANDBOX_PORTS_MAX)
        return wr_json_error (err, name, "ports", "%zu ports, more than %d", n,
                              WR_SANDBOX_PORTS_MAX);
    spec->ports = n > 0 ? xzalloc (n * sizeof *spec->ports) : NULL;
    for (size_t i = 0; i < n; i++) {
        char path[32];
        snprintf (path, sizeof path, "ports[%zu]", i);
        int64_t port = 0;
        if (wr_json_int64 (json_object_array_get_idx (v, i), name, path, &port, err) < 0)
            return -1;
        if (port < 1 || port > 65535)
            return wr_json_error (err, name, path, "%lld is not a port (1 to 65535)",
                                  (long long) port);
        for (size_t j = 0; j < spec->n_ports; j++)
            if (spec->ports[j] == port)
                return wr_json_error (err, name, path, "port %lld is given twice",
                                      (long long) port);
        spec->ports[spec->n_ports++] = (int) port;
    }
    return 0;
}

static int
parse_fields (json_object *obj, const limits_t *l, const char *name, wr_sandbox_spec_t *spec,
              wr_error_t *err)
{
    static const char *const known[] = {
        "image",          "cpu",    "memory",
        "docker_enabled", "env",    "workdir",
        "name",           "labels", "keep_warm_seconds",
        "pids_limit",     "ports",  "block_network",
        "allow_list",     NULL,
    };
    if (check_known (obj, known, name, "", err) < 0)
        return -1;
    json_object *v = NULL;
    if (wr_json_member (obj, "image", true, name, "", &v, err) < 0 ||
        parse_image (v, name, &spec->image, err) < 0)
        return -1;
    spec->cpu = l->default_cpu;
    if (wr_json_member (obj, "cpu", false, name, "", &v, err) > 0 &&
        parse_cpu (v, name, l, &spec->cpu, err) < 0)
        return -1;
    spec->memory = l->default_memory;
    if (wr_json_member (obj, "memory", false, name, "", &v, err) > 0 &&
        parse_memory (v, name, l, &spec->memory, err) < 0)
        return -1;
    if (wr_json_member (obj, "docker_enabled", false, name, "", &v, err) > 0) {
        if (wr_json_expect (v, json_type_boolean, name, "docker_enabled", err) < 0)
            return -1;
        spec->docker_enabled = json_object_get_boolean (v);
    }
    if (wr_json_member (obj, "env", false, name, "", &v, err) > 0 &&
        string_map (v, name, "env", ENV_MAX, env_name_valid, "a valid variable name", ENV_VALUE_MAX,
                    add_env, &spec->env, err) < 0)
        return -1;
    if (wr_json_member (obj, "workdir", false, name, "", &v, err) > 0 &&
        parse_workdir (v, name, &spec->workdir, err) < 0)
        return -1;
    if (wr_json_member (obj, "name", false, name, "", &v, err) > 0) {
        const char *s = NULL;
        if (wr_json_string (v, name, "name", &s, err) < 0)
            return -1;
        if (!wr_sandbox_name_valid (s, err))
            return wr_error_prefix (err, "%s", name);
        spec->name = xstrdup (s);
    }
    if (wr_json_member (obj, "labels", false, name, "", &v, err) > 0 &&
        string_map (v, name, "labels", LABELS_MAX, label_key_valid,
                    "a valid label key (1-128 of a-z, A-Z, 0-9, `.`, `_`, `/`, `-`)",
                    LABEL_VALUE_MAX, add_label, spec, err) < 0)
        return -1;
    for (size_t i = 0; i < spec->n_labels; i++)
        if (has_control (spec->labels[i].value))
            return wr_json_error (err, name, "labels", "the value of `%s` has control characters",
                                  spec->labels[i].key);
    spec->keep_warm_seconds = WR_SANDBOX_KEEP_WARM_DEFAULT;
    if (wr_json_member (obj, "keep_warm_seconds", false, name, "", &v, err) > 0) {
        int64_t k = 0;
        if (wr_json_int64 (v, name, "keep_warm_seconds", &k, err) < 0)
            return -1;
        if (k != WR_SANDBOX_KEEP_WARM_NEVER && (k < 1 || k > l->max_keep_warm))
            return wr_json_error (err, name, "keep_warm_seconds",
                                  "%lld is out of range (-1 for never, or 1 to %lld seconds)",
                                  (long long) k, (long long) l->max_keep_warm);
        spec->keep_warm_seconds = k;
    }
    if (wr_json_member (obj, "pids_limit", false, name, "", &v, err) > 0) {
        if (wr_json_int64 (v, name, "pids_limit", &spec->pids_limit, err) < 0)
            return -1;
        if (spec->pids_limit < 1 || spec->pids_limit > l->max_pids)
            return wr_json_error (err, name, "pids_limit", "%lld is out of range (1 to %lld)",
                                  (long long) spec->pids_limit, (long long) l->max_pids);
    }
    if (wr_json_member (obj, "ports", false, name, "", &v, err) > 0 &&
        parse_ports (v, name, spec, err) < 0)
        return -1;
    if (wr_net_policy_from_object (obj, name, &spec->network, err) < 0)
        return -1;
    return 0;
}

int
wr_sandbox_spec_from_object (json_object *obj, const wr_sandbox_spec_limits_t *limits,
                             const char *name, wr_sandbox_spec_t *out, wr_error_t *err)
{
    memset (out, 0, sizeof *out);
    limits_t l = limits_of (limits);
    if (wr_json_expect (obj, json_type_object, name, "", err) < 0 ||
        parse_fields (obj, &l, name, out, err) < 0) {
        wr_sandbox_spec_clear (out);
        return wr_error_retag (err, WR_ERROR_INVALID);
    }
    return 0;
}

int
wr_sandbox_spec_parse (const char *json, size_t len, const wr_sandbox_spec_limits_t *limits,
                       wr_sandbox_spec_t *out, wr_error_t *err)
{
    memset (out, 0, sizeof *out);
    limits_t l = limits_of (limits);
    static const char name[] = "sandbox spec";
    cleanup_json_reader json_object *obj =
        wr_json_parse_object (json, len, l.max_bytes, "a sandbox spec", name, err);
    if (obj == NULL)
        return wr_error_retag (err, len > l.max_bytes ? WR_ERROR_LIMIT : WR_ERROR_INVALID);
    return wr_sandbox_spec_from_object (obj, limits, name, out, err);
}

static json_object *
env_object (char *const *env)
{
    json_object *o = json_object_new_object ();
    for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
        const char *eq = strchr (env[i], '=');
        cleanup_free char *key = xstrndup (env[i], eq != NULL ? (size_t) (eq - env[i]) : 0);
        json_object_object_add (o, key, json_object_new_string (eq != NULL ? eq + 1 : ""));
    }
    return o;
}

static json_object *
image_object (const wr_sandbox_image_t *image)
{
    if (image->n_steps == 0 && image->dockerfile == NULL)
        return json_object_new_string (image->ref != NULL ? image->ref : "");
    json_object *o = json_object_new_object ();
    json_object_object_add (o, "ref",
                            json_object_new_string (image->ref != NULL ? image->ref : ""));
    if (image->n_steps > 0) {
        json_object *steps = json_object_new_array ();
        for (size_t i = 0; i < image->n_steps; i++) {
            const wr_build_step_t *s = &image->steps[i];
            json_object *step = json_object_new_object ();
            if (s->kind == WR_BUILD_RUN) {
                json_object *a = json_object_new_array ();
                for (size_t j = 0; s->commands != NULL && s->commands[j] != NULL; j++)
                    json_object_array_add (a, json_object_new_string (s->commands[j]));
                json_object_object_add (step, "run", a);
            } else if (s->kind == WR_BUILD_ENV) {
                json_object_object_add (step, "env", env_object (s->env));
            } else if (s->kind == WR_BUILD_WITH_DOCKER) {
                json_object_object_add (step, "with_docker", json_object_new_boolean (1));
            }
            json_object_array_add (steps, step);
        }
        json_object_object_add (o, "steps", steps);
    }
    if (image->dockerfile != NULL)
        json_object_object_add (o, "dockerfile", json_object_new_string (image->dockerfile));
    if (image->context != NULL)
        json_object_object_add (o, "context", json_object_new_string (image->context));
    return o;
}

json_object *
wr_sandbox_spec_to_object (const wr_sandbox_spec_t *spec)
{
    json_object *o = json_object_new_object ();
    json_object_object_add (o, "image", image_object (&spec->image));
    json_object_object_add (o, "cpu", json_object_new_double (spec->cpu));
    json_object_object_add (o, "memory", json_object_new_int64 (spec->memory));
    json_object_object_add (o, "docker_enabled", json_object_new_boolean (spec->docker_enabled));
    json_object_object_add (o, "env", env_object (spec->env));
    if (spec->workdir != NULL)
        json_object_object_add (o, "workdir", json_object_new_string (spec->workdir));
    if (spec->name != NULL)
        json_object_object_add (o, "name", json_object_new_string (spec->name));
    json_object *labels = json_object_new_object ();
    for (size_t i = 0; i < spec->n_labels; i++)
        json_object_object_add (labels, spec->labels[i].key,
                                json_object_new_string (spec->labels[i].value));
    json_object_object_add (o, "labels", labels);
    json_object_object_add (o, "keep_warm_seconds",
                            json_object_new_int64 (spec->keep_warm_seconds));
    if (spec->pids_limit > 0)
        json_object_object_add (o, "pids_limit", json_object_new_int64 (spec->pids_limit));
    json_object *ports = json_object_new_array ();
    for (size_t i = 0; i < spec->n_ports; i++)
        json_object_array_add (ports, json_object_new_int (spec->ports[i]));
    json_object_object_add (o, "ports", ports);
    /* Written only when set, so a spec without them (and a build's cache
     * key, made from a spec) reads as it did before they existed. */
    if (spec->network.block || spec->network.has_allow)
        wr_net_policy_add_json (&spec->network, o);
    return o;
}

char *
wr_sandbox_spec_to_json (const wr_sandbox_spec_t *spec)
{
    json_object *o = wr_sandbox_spec_to_object (spec);
    char *text = xstrdup (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put (o);
    return text;
}

void
wr_sandbox_spec_clear (wr_sandbox_spec_t *spec)
{
    if (spec == NULL)
        return;
    free (spec->image.ref);
    for (size_t i = 0; i < spec->image.n_steps; i++)
        wr_build_step_clear (&spec->image.steps[i]);
    free (spec->image.steps);
    free (spec->image.dockerfile);
    free (spec->image.context);
    wr_strv_free (spec->env);
    free (spec->workdir);
    free (spec->name);
    for (size_t i = 0; i < spec->n_labels; i++) {
        free (spec->labels[i].key);
        free (spec->labels[i].value);
    }
    free (spec->labels);
    free (spec->ports);
    wr_net_policy_clear (&spec->network);
    memset (spec, 0, sizeof *spec);
}
