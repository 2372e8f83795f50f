/* A Dockerfile read strictly into a base reference and build steps (see
 * dockerfile.h): logical lines first (continuations, comments,
 * directives), then one handler per instruction, with Docker's words
 * (quotes, backslashes, variable substitution) where Docker has them. */
#include "dockerfile.h"

#include <ctype.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "image_ref.h"
#include "path_in_root.h"
#include "quote.h"
#include "strv.h"
#include "xalloc.h"

#define SUBSTITUTION_DEPTH_MAX 8

static const char supported[] =
    "supported: FROM, RUN, ENV, WORKDIR, USER, CMD, ENTRYPOINT, EXPOSE, LABEL, ARG, COPY";

typedef struct {
    char *name;
    char *value; /* NULL: declared without a value */
} arg_t;

typedef struct {
    arg_t *items;
    size_t n;
} args_t;

typedef struct {
    wr_error_t *err;
    size_t line; /* of the instruction being read */
    const char *instruction; /* its keyword, upper case; NULL between them */
    size_t n_instructions;
    bool cmd_seen;
    char **env; /* NAME=VALUE: the base's and the Dockerfile's ENV */
    args_t pre_from; /* ARGs before FROM: for FROM, and for ARG NAME after it */
    args_t args; /* ARGs after FROM */
    wr_dockerfile_t *out;
} parser_t;

/* "line N: INSTRUCTION: MESSAGE" (or "line N: MESSAGE"), of kind KIND. */
static int __attribute__ ((format (printf, 3, 4)))
fail_kind (parser_t *p, wr_error_kind_t kind, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    char *message = NULL;
    int n = vasprintf (&message, fmt, ap);
    va_end (ap);
    if (n < 0)
        abort ();
    if (p->instruction != NULL)
        wr_error_set_kind (p->err, kind, 0, "line %zu: %s: %s", p->line, p->instruction, message);
    else
        wr_error_set_kind (p->err, kind, 0, "line %zu: %s", p->line, message);
    free (message);
    return -1;
}

#define fail(p, ...) fail_kind ((p), WR_ERROR_INVALID, __VA_ARGS__)

/* ---- variables ---- */

static bool
name_valid (const char *s, size_t len)
{
    if (len == 0 || !(isalpha ((unsigned char) s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!(isalnum ((unsigned char) s[i]) || s[i] == '_'))
            return false;
    return true;
}

static const char *
env_get (char *const *env, const char *name, size_t len)
{
    for (size_t i = 0; env != NULL && env[i] != NULL; i++)
        if (strncmp (env[i], name, len) == 0 && env[i][len] == '=')
            return env[i] + len + 1;
    return NULL;
}

static void
env_set (char ***env, const char *name, const char *value)
{
    size_t len = strlen (name);
    for (size_t i = 0; *env != NULL && (*env)[i] != NULL; i++) {
        if (strncmp ((*env)[i], name, len) == 0 && (*env)[i][len] == '=') {
            free ((*env)[i]);
            (*env)[i] = xasprintf ("%s=%s", name, value);
            return;
        }
    }
    wr_strv_add_take (env, xasprintf ("%s=%s", name, value));
}

static arg_t *
args_find (args_t *args, const char *name, size_t len)
{
    for (size_t i = 0; i < args->n; i++)
        if (strlen (args->items[i].name) == len && strncmp (args->items[i].name, name, len) == 0)
            return &args->items[i];
    return NULL;
}

static void
args_set (args_t *args, const char *name, const char *value)
{
    arg_t *a = args_find (args, name, strlen (name));
    if (a == NULL) {
        args->items = xrealloc (args->items, (args->n + 1) * sizeof *args->items);
        a = &args->items[args->n++];
        a->name = xstrdup (name);
        a->value = NULL;
    }
    free (a->value);
    a->value = value != NULL ? xstrdup (value) : NULL;
}

static void
args_clear (args_t *args)
{
    for (size_t i = 0; i < args->n; i++) {
        free (args->items[i].name);
        free (args->items[i].value);
    }
    free (args->items);
    memset (args, 0, sizeof *args);
}

/* The value of NAME where the current instruction sees it, or NULL. */
static const char *
lookup (parser_t *p, const char *name, size_t len)
{
    if (p->out->from == NULL) {
        arg_t *a = args_find (&p->pre_from, name, len);
        return a != NULL ? a->value : NULL;
    }
    const char *v = env_get (p->env, name, len);
    if (v != NULL)
        return v;
    arg_t *a = args_find (&p->args, name, len);
    return a != NULL ? a->value : NULL;
}

/* ---- words ---- */

typedef struct {
    char *data;
    size_t len, cap;
} buf_t;

static void
buf_add (buf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = xrealloc (b->data, b->cap);
    }
    memcpy (b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static int
buf_check (parser_t *p, const buf_t *b)
{
    if (b->len > WR_DOCKERFILE_MAX_VALUE)
        return fail_kind (p, WR_ERROR_LIMIT, "a value is longer than %d bytes after substitution",
                          WR_DOCKERFILE_MAX_VALUE);
    return 0;
}

static int expand_until (parser_t *p, const char **s, char stop, int depth, buf_t *out);

/* Replaces the reference at *S (its `$`) into OUT and moves *S past it. */
static int
expand (parser_t *p, const char **s, int depth, buf_t *out)
{
    const char *q = *s + 1;
    if (*q != '{') {
        const char *start = q;
        while (isalnum ((unsigned char) *q) || *q == '_')
            q++;
        if (q == start || !name_valid (start, (size_t) (q - start))) {
            buf_add (out, "$", 1); /* a lone `$` is itself */
            *s = *s + 1;
            return 0;
        }
        const char *v = lookup (p, start, (size_t) (q - start));
        if (v != NULL)
            buf_add (out, v, strlen (v));
        *s = q;
        return buf_check (p, out);
    }
    q++;
    const char *start = q;
    while (isalnum ((unsigned char) *q) || *q == '_')
        q++;
    size_t len = (size_t) (q - start);
    if (!name_valid (start, len))
        return fail (p, "`${` must be followed by a variable name (letters, digits and `_`)");
    const char *v = lookup (p, start, len);
    if (*q == '}') {
        if (v != NULL)
            buf_add (out, v, strlen (v));
        *s = q + 1;
        return buf_check (p, out);
    }
    if (q[0] == ':' && (q[1] == '-' || q[1] == '+')) {
        bool use_word = q[1] == '-' ? (v == NULL || v[0] == '\0') : (v != NULL && v[0] != '\0');
        const char *w = q + 2;
        if (depth >= SUBSTITUTION_DEPTH_MAX)
            return fail (p, "substitutions nested more than %d deep", SUBSTITUTION_DEPTH_MAX);
        buf_t word = { 0 };
        if (expand_until (p, &w, '}', depth + 1, &word) < 0) {
            free (word.data);
            return -1;
        }
        if (*w != '}') {
            free (word.data);
            return fail (p, "`${%.*s` has no closing `}`", (int) len, start);
        }
        if (use_word && word.data != NULL)
            buf_add (out, word.data, word.len);
        else if (!use_word && q[1] == '-' && v != NULL)
            buf_add (out, v, strlen (v));
        free (word.data);
        *s = w + 1;
        return buf_check (p, out);
    }
    if (*q == '\0')
        return fail (p, "`${%.*s` has no closing `}`", (int) len, start);
    cleanup_free char *after = wr_quote_len (q, 1, 8);
    return fail (p,
                 "`${%.*s%s...`: only ${NAME}, ${NAME:-DEFAULT} and ${NAME:+ALTERNATIVE} are "
                 "supported",
                 (int) len, start, after);
}

/* A default or alternative word up to STOP, with references replaced. */
static int
expand_until (parser_t *p, const char **s, char stop, int depth, buf_t *out)
{
    while (**s != '\0' && **s != stop) {
        if (**s == '\\' && (*s)[1] != '\0') {
            buf_add (out, *s + 1, 1);
            *s += 2;
        } else if (**s == '$') {
            if (expand (p, s, depth, out) < 0)
                return -1;
        } else {
            buf_add (out, *s, 1);
            (*s)++;
        }
    }
    return buf_check (p, out);
}

/* Docker's words of TEXT: split at white space unless ONE_WORD, quotes
 * removed, backslash escapes, and with SUBSTITUTE the references replaced
 * (not inside single quotes).  *WORDS gets them (NULL for none). */
static int
lex_words (parser_t *p, const char *text, bool one_word, bool substitute, char ***words)
{
    buf_t b = { 0 };
    bool in_word = false;
    const char *s = text;
    int r = 0;
    while (r == 0 && *s != '\0') {
        char c = *s;
        if (!one_word && isspace ((unsigned char) c)) {
            if (in_word)
                wr_strv_add (words, b.data != NULL ? b.data : "");
            in_word = false;
            b.len = 0;
            if (b.data != NULL)
                b.data[0] = '\0';
            s++;
            continue;
        }
        in_word = true;
        if (c == '\\') {
            if (s[1] != '\0') {
                buf_add (&b, s + 1, 1);
                s += 2;
            } else {
                buf_add (&b, s, 1);
                s++;
            }
        } else if (c == '\'') {
            const char *end = strchr (s + 1, '\'');
            if (end == NULL) {
                r = fail (p, "a single quote is not closed");
                break;
            }
            buf_add (&b, s + 1, (size_t) (end - s - 1));
            s = end + 1;
        } else if (c == '"') {
            s++;
            while (r == 0 && *s != '\0' && *s != '"') {
                if (*s == '\\' && (s[1] == '"' || s[1] == '\\' || s[1] == '$')) {
                    buf_add (&b, s + 1, 1);
                    s += 2;
                } else if (*s == '$' && substitute) {
                    r = expand (p, &s, 0, &b);
                } else {
                    buf_add (&b, s, 1);
                    s++;
                }
            }
            if (r == 0 && *s != '"')
                r = fail (p, "a double quote is not closed");
            else if (r == 0)
                s++;
        } else if (c == '$' && substitute) {
            r = expand (p, &s, 0, &b);
        } else {
            buf_add (&b, s, 1);
            s++;
        }
        if (r == 0)
            r = buf_check (p, &b);
    }
    if (r == 0 && in_word)
        wr_strv_add (words, b.data != NULL ? b.data : "");
    free (b.data);
    return r;
}

/* The one word of TEXT (white space kept inside it), substituted. */
static char *
one_word (parser_t *p, const char *text)
{
    cleanup_strv char **words = NULL;
    if (lex_words (p, text, true, true, &words) < 0)
        return NULL;
    return xstrdup (words != NULL && words[0] != NULL ? words[0] : "");
}

static bool
has_control (const char *s)
{
    for (const unsigned char *c = (const unsigned char *) s; *c != '\0'; c++)
        if (*c < 0x20 || *c == 0x7f)
            return true;
    return false;
}

/* The exec form (a JSON array of strings) of TEXT into *ARGV ({NULL} for
 * []): 1 when TEXT is one, 0 when it is the shell form, -1 on error. */
static int
exec_form (parser_t *p, const char *text, char ***argv)
{
    if (text[0] != '[')
        return 0;
    json_tokener *tok = json_tokener_new_ex (3);
    json_tokener_set_flags (tok, JSON_TOKENER_STRICT);
    size_t len = strlen (text);
    json_object *o = json_tokener_parse_ex (tok, text, (int) len);
    bool whole = o != NULL && json_tokener_get_error (tok) == json_tokener_success;
    size_t used = whole ? json_tokener_get_parse_end (tok) : 0;
    json_tokener_free (tok);
    while (whole && used < len && isspace ((unsigned char) text[used]))
        used++;
    bool ok = whole && used == len && json_object_is_type (o, json_type_array);
    size_t n = ok ? json_object_array_length (o) : 0;
    for (size_t i = 0; ok && i < n; i++) {
        json_object *item = json_object_array_get_idx (o, i);
        ok = json_object_is_type (item, json_type_string) &&
             strlen (json_object_get_string (item)) == (size_t) json_object_get_string_len (item);
    }
    if (!ok) {
        json_object_put (o);
        return fail (p, "it starts with `[` but is not a JSON array of strings: give the exec form "
                        "[\"EXECUTABLE\", \"ARG\", ...] or the shell form (a command line)");
    }
    *argv = xzalloc (sizeof **argv);
    for (size_t i = 0; i < n; i++)
        wr_strv_add (argv, json_object_get_string (json_object_array_get_idx (o, i)));
    json_object_put (o);
    return 1;
}

/* ---- steps ---- */

static wr_build_step_t *
add_step (parser_t *p, wr_build_step_kind_t kind)
{
    wr_dockerfile_t *df = p->out;
    df->steps = xrealloc (df->steps, (df->n_steps + 1) * sizeof *df->steps);
    df->step_lines = xrealloc (df->step_lines, (df->n_steps + 1) * sizeof *df->step_lines);
    wr_build_step_t *step = &df->steps[df->n_steps];
    memset (step, 0, sizeof *step);
    step->kind = kind;
    df->step_lines[df->n_steps] = p->line;
    df->n_steps++;
    return step;
}

/* Refuses flags (`--name=value`) before the arguments. */
static int
no_flags (parser_t *p, const char *rest)
{
    if (rest[0] == '-' && rest[1] == '-' && isalpha ((unsigned char) rest[2])) {
        size_t n = strcspn (rest, " \t");
        cleanup_free char *flag = wr_quote_len (rest, n, 64);
        return fail (p, "flags such as `%s` are not supported", flag);
    }
    return 0;
}

/* The single-quoted shell word of S. */
static void
shell_quote (buf_t *b, const char *s)
{
    buf_add (b, "'", 1);
    for (const char *c = s; *c != '\0'; c++) {
        if (*c == '\'')
            buf_add (b, "'\\''", 4);
        else
            buf_add (b, c, 1);
    }
    buf_add (b, "'", 1);
}

static int
do_from (parser_t *p, const char *rest)
{
    if (p->out->from != NULL)
        return fail (p,
                     "a second FROM: multi-stage builds are not supported (one FROM, on line "
                     "%zu); build them with `docker build` in a Docker-enabled sandbox",
                     p->out->from_line);
    if (no_flags (p, rest) < 0)
        return -1;
    cleanup_strv char **words = NULL;
    if (lex_words (p, rest, false, true, &words) < 0)
        return -1;
    size_t n = wr_strv_length (words);
    if (n == 3 && strcasecmp (words[1], "AS") == 0) {
        cleanup_free char *stage = wr_quote (words[2], 64);
        return fail (p,
                     "`AS %s`: named stages (multi-stage builds) are not supported: give FROM "
                     "IMAGE, once",
                     stage);
    }
    if (n != 1)
        return fail (p, "expected FROM IMAGE (one image reference)");
    if (strcmp (words[0], "scratch") == 0)
        return fail (p, "`scratch` is not supported: start from an image with a shell");
    wr_image_ref_t ref = { 0 };
    cleanup_error wr_error_t ref_err = NULL;
    if (wr_image_ref_parse (words[0], &ref, &ref_err) < 0)
        return fail (p, "%s", ref_err->message);
    wr_image_ref_clear (&ref);
    p->out->from = xstrdup (words[0]);
    p->out->from_line = p->line;
    return 0;
}

/* The ARGs in scope that no ENV value hides, as NAME=VALUE. */
static char **
run_env (parser_t *p)
{
    char **env = NULL;
    for (size_t i = 0; i < p->args.n; i++) {
        const arg_t *a = &p->args.items[i];
        if (a->value != NULL && env_get (p->env, a->name, strlen (a->name)) == NULL)
            wr_strv_add_take (&env, xasprintf ("%s=%s", a->name, a->value));
    }
    return env;
}

static int
do_run (parser_t *p, const char *rest)
{
    if (no_flags (p, rest) < 0)
        return -1;
    cleanup_strv char **argv = NULL;
    int form = exec_form (p, rest, &argv);
    if (form < 0)
        return -1;
    cleanup_free char *command = NULL;
    if (form == 1) {
        if (argv[0] == NULL || argv[0][0] == '\0')
            return fail (p, "the exec form needs an executable: RUN [\"EXECUTABLE\", ...]");
        buf_t b = { 0 };
        buf_add (&b, "exec", 4);
        for (size_t i = 0; argv[i] != NULL; i++) {
            buf_add (&b, " ", 1);
            shell_quote (&b, argv[i]);
        }
        command = b.data;
    } else {
        command = xstrdup (rest);
    }
    if (strlen (command) > WR_DOCKERFILE_MAX_LINE)
        return fail_kind (p, WR_ERROR_LIMIT, "the command is longer than %d bytes",
                          WR_DOCKERFILE_MAX_LINE);
    wr_build_step_t *step = add_step (p, WR_BUILD_RUN);
    wr_strv_add (&step->commands, command);
    step->env = run_env (p);
    return 0;
}

/* CMD and ENTRYPOINT: the exec form, or the shell form as sh -c. */
static int
command_of (parser_t *p, const char *rest, char ***out)
{
    int form = exec_form (p, rest, out);
    if (form != 0)
        return form < 0 ? -1 : 0;
    const char *argv[] = { "/bin/sh", "-c", rest, NULL };
    *out = wr_strv_copy ((char *const *) argv);
    return 0;
}

static int
do_cmd (parser_t *p, const char *rest)
{
    cleanup_strv char **argv = NULL;
    if (command_of (p, rest, &argv) < 0)
        return -1;
    wr_build_step_t *step = add_step (p, WR_BUILD_CONFIG);
    step->set_cmd = true;
    step->cmd = steal_pointer (&argv);
    p->cmd_seen = true;
    return 0;
}

static int
do_entrypoint (parser_t *p, const char *rest)
{
    cleanup_strv char **argv = NULL;
    if (command_of (p, rest, &argv) < 0)
        return -1;
    wr_build_step_t *step = add_step (p, WR_BUILD_CONFIG);
    step->set_entrypoint = true;
    step->entrypoint = steal_pointer (&argv);
    /* As Docker: an ENTRYPOINT drops the base image's CMD. */
    if (!p->cmd_seen)
        step->set_cmd = true;
    return 0;
}

/* KEY=VALUE words, or the old form KEY VALUE (the rest one value), into
 * *PAIRS; KEY_OK checks each key. */
static int
pairs_of (parser_t *p, const char *rest, bool (*key_ok) (const char *, size_t),
          const char *key_rule, char ***pairs)
{
    cleanup_strv char **words = NULL;
    if (lex_words (p, rest, false, true, &words) < 0)
        return -1;
    if (words == NULL)
        return fail (p, "expected %s KEY=VALUE ... or %s KEY VALUE", p->instruction,
                     p->instruction);
    if (strchr (words[0], '=') == NULL) {
        /* The old form: the key as written, the rest one value. */
        size_t key_len = strcspn (rest, " \t");
        const char *value = rest + key_len;
        while (isspace ((unsigned char) *value))
            value++;
        cleanup_free char *key = xstrndup (rest, key_len);
        if (!key_ok (key, key_len)) {
            cleanup_free char *quoted = wr_quote (key, 64);
            return fail (p, "`%s` is not %s", quoted, key_rule);
        }
        if (*value == '\0') {
            cleanup_free char *quoted = wr_quote (key, 64);
            return fail (p, "`%s` has no value: expected %s KEY=VALUE or %s KEY VALUE", quoted,
                         p->instruction, p->instruction);
        }
        cleanup_free char *v = one_word (p, value);
        if (v == NULL)
            return -1;
        wr_strv_add_take (pairs, xasprintf ("%s=%s", key, v));
        return 0;
    }
    for (size_t i = 0; words[i] != NULL; i++) {
        const char *eq = strchr (words[i], '=');
        cleanup_free char *quoted = wr_quote (words[i], 64);
        if (eq == NULL)
            return fail (p, "`%s` is not KEY=VALUE (in the KEY=VALUE form every word is one)",
                         quoted);
        if (!key_ok (words[i], (size_t) (eq - words[i]))) {
            cleanup_free char *key = wr_quote_len (words[i], (size_t) (eq - words[i]), 64);
            return fail (p, "`%s` is not %s", key, key_rule);
        }
        wr_strv_add (pairs, words[i]);
    }
    return 0;
}

static bool
label_key_ok (const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) s[i] <= 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static int
do_env (parser_t *p, const char *rest)
{
    cleanup_strv char **pairs = NULL;
    if (pairs_of (p, rest, name_valid, "a variable name (letters, digits and `_`)", &pairs) < 0)
        return -1;
    wr_build_step_t *step = add_step (p, WR_BUILD_ENV);
    for (size_t i = 0; pairs[i] != NULL; i++) {
        char *eq = strchr (pairs[i], '=');
        *eq = '\0';
        env_set (&p->env, pairs[i], eq + 1);
        *eq = '=';
    }
    step->env = steal_pointer (&pairs);
    return 0;
}

static int
do_label (parser_t *p, const char *rest)
{
    cleanup_strv char **pairs = NULL;
    if (pairs_of (p, rest, label_key_ok, "a label key (printable, without spaces)", &pairs) < 0)
        return -1;
    wr_build_step_t *step = add_step (p, WR_BUILD_CONFIG);
    step->labels = steal_pointer (&pairs);
    return 0;
}

static int
do_arg (parser_t *p, const char *rest)
{
    cleanup_strv char **words = NULL;
    if (lex_words (p, rest, false, true, &words) < 0)
        return -1;
    if (words == NULL)
        return fail (p, "expected ARG NAME or ARG NAME=DEFAULT");
    for (size_t i = 0; words[i] != NULL; i++) {
        char *eq = strchr (words[i], '=');
        size_t len = eq != NULL ? (size_t) (eq - words[i]) : strlen (words[i]);
        if (!name_valid (words[i], len)) {
            cleanup_free char *quoted = wr_quote_len (words[i], len, 64);
            return fail (p, "`%s` is not a variable name (letters, digits and `_`)", quoted);
        }
        if (eq != NULL)
            *eq = '\0';
        if (p->out->from == NULL) {
            args_set (&p->pre_from, words[i], eq != NULL ? eq + 1 : NULL);
        } else {
            const char *value = eq != NULL ? eq + 1 : NULL;
            if (value == NULL) {
                /* ARG NAME after FROM takes the default given before it. */
                arg_t *before = args_find (&p->pre_from, words[i], len);
                value = before != NULL ? before->value : NULL;
            }
            args_set (&p->args, words[i], value);
        }
    }
    return 0;
}

static int
do_workdir (parser_t *p, const char *rest)
{
    cleanup_free char *dir = one_word (p, rest);
    if (dir == NULL)
        return -1;
    size_t len = strlen (dir);
    while (len > 1 && isspace ((unsigned char) dir[len - 1]))
        dir[--len] = '\0';
    if (len == 0)
        return fail (p, "expected WORKDIR PATH");
    if (has_control (dir))
        return fail (p, "the path has control characters");
    if (len > 4096)
        return fail (p, "the path is longer than 4096 bytes");
    wr_build_step_t *step = add_step (p, WR_BUILD_CONFIG);
    step->workdir = steal_pointer (&dir);
    return 0;
}

static int
do_user (parser_t *p, const char *rest)
{
    cleanup_strv char **words = NULL;
    if (lex_words (p, rest, false, true, &words) < 0)
        return -1;
    if (wr_strv_length (words) != 1 || words[0][0] == '\0')
        return fail (p, "expected USER NAME, USER UID, or USER USER:GROUP");
    const char *colon = strchr (words[0], ':');
    if (has_control (words[0]) || words[0][0] == ':' ||
        (colon != NULL && (colon[1] == '\0' || strchr (colon + 1, ':') != NULL))) {
        cleanup_free char *quoted = wr_quote (words[0], 64);
        return fail (p, "`%s` is not NAME, UID or USER:GROUP", quoted);
    }
    if (strlen (words[0]) > 256)
        return fail (p, "the user is longer than 256 bytes");
    wr_build_step_t *step = add_step (p, WR_BUILD_CONFIG);
    step->user = xstrdup (words[0]);
    return 0;
}

static int
do_expose (parser_t *p, const char *rest)
{
    cleanup_strv char **words = NULL;
    if (lex_words (p, rest, false, true, &words) < 0)
        return -1;
    if (words == NULL)
        return fail (p, "expected EXPOSE PORT[/PROTOCOL] ...");
    cleanup_strv char **ports = NULL;
    for (size_t i = 0; words[i] != NULL; i++) {
        cleanup_free char *quoted = wr_quote (words[i], 64);
        char *slash = strchr (words[i], '/');
        const char *proto = slash != NULL ? slash + 1 : "tcp";
        size_t digits = strspn (words[i], "0123456789");
        size_t port_len = slash != NULL ? (size_t) (slash - words[i]) : strlen (words[i]);
        long port =
            digits == port_len && digits > 0 && digits <= 5 ? strtol (words[i], NULL, 10) : 0;
        if (port < 1 || port > 65535)
            return fail (p, "`%s`: expected a port (1 to 65535), optionally /tcp, /udp or /sctp",
                         quoted);
        if (strcasecmp (proto, "tcp") != 0 && strcasecmp (proto, "udp") != 0 &&
            strcasecmp (proto, "sctp") != 0)
            return fail (p, "`%s`: the protocol is tcp, udp or sctp", quoted);
        cleanup_free char *lower = xstrdup (proto);
        for (char *c = lower; *c != '\0'; c++)
            *c = (char) tolower ((unsigned char) *c);
        wr_strv_add_take (&ports, xasprintf ("%ld/%s", port, lower));
    }
    wr_build_step_t *step = add_step (p, WR_BUILD_CONFIG);
    step->expose = steal_pointer (&ports);
    return 0;
}

/* COPY SRC... DST: a copy step per source, the source a path inside the
 * build context (a leading `/` is dropped; `..` may not leave it), the
 * destination as written (relative to WORKDIR, resolved at build time;
 * a trailing `/` means "into this directory"). */
static int
do_copy (parser_t *p, const char *rest)
{
    if (no_flags (p, rest) < 0)
        return -1;
    cleanup_strv char **words = NULL;
    int form = exec_form (p, rest, &words);
    if (form < 0 || (form == 0 && lex_words (p, rest, false, true, &words) < 0))
        return -1;
    size_t n = wr_strv_length (words);
    if (n < 2)
        return fail (p, "expected COPY SOURCE... DESTINATION");
    const char *dst = words[n - 1];
    size_t dst_len = strlen (dst);
    if (dst_len == 0 || has_control (dst) || dst_len > 4096) {
        cleanup_free char *quoted = wr_quote (dst, 64);
        return fail (p, "`%s` is not a destination path", quoted);
    }
    if (p->out->n_steps + (n - 1) >= WR_DOCKERFILE_MAX_INSTRUCTIONS)
        return fail_kind (p, WR_ERROR_LIMIT, "more than %d steps (a step per source of a COPY)",
                          WR_DOCKERFILE_MAX_INSTRUCTIONS - 1);
    bool into_dir = dst[dst_len - 1] == '/';
    if (n > 2 && !into_dir) {
        cleanup_free char *quoted = wr_quote (dst, 64);
        return fail (p,
                     "with more than one source the destination must be a directory ending "
                     "in `/` (`%s/`)",
                     quoted);
    }
    for (size_t i = 0; i + 1 < n; i++) {
        cleanup_free char *quoted = wr_quote (words[i], 64);
        if (words[i][0] == '\0' || has_control (words[i]) || strlen (words[i]) > 4096)
            return fail (p, "`%s` is not a source path", quoted);
        if (strpbrk (words[i], "*?[") != NULL)
            return fail (p, "`%s`: wildcards are not supported: name each file or directory",
                         quoted);
        const char *src = words[i];
        while (*src == '/')
            src++;
        cleanup_error wr_error_t path_err = NULL;
        char *normal = wr_path_normalize (*src != '\0' ? src : ".", &path_err);
        if (normal == NULL)
            return fail (p, "`%s`: sources are paths inside the build context, without `..`",
                         quoted);
        if (normal[0] == '\0') {
            free (normal);
            normal = xstrdup (".");
        }
        wr_build_step_t *step = add_step (p, WR_BUILD_COPY);
        step->src = normal;
        step->dst = xstrdup (dst);
    }
    return 0;
}

static int
do_add (parser_t *p, const char *rest)
{
    (void) rest;
    return fail (p, "ADD is not supported (its URLs and archive unpacking are not done): use COPY "
                    "for files of the build context");
}

typedef struct {
    const char *name;
    int (*handle) (parser_t *, const char *);
} instruction_t;

static const instruction_t instructions[] = {
    { "FROM", do_from },
    { "RUN", do_run },
    { "ENV", do_env },
    { "WORKDIR", do_workdir },
    { "USER", do_user },
    { "CMD", do_cmd },
    { "ENTRYPOINT", do_entrypoint },
    { "EXPOSE", do_expose },
    { "LABEL", do_label },
    { "ARG", do_arg },
    { "COPY", do_copy },
    { "ADD", do_add },
};

static const char *const refused[] = { "SHELL",   "VOLUME",     "STOPSIGNAL", "HEALTHCHECK",
                                       "ONBUILD", "MAINTAINER", NULL };

/* One logical line: its keyword and arguments. */
static int
instruction (parser_t *p, char *text)
{
    size_t key_len = strcspn (text, " \t");
    char *rest = text + key_len;
    while (isspace ((unsigned char) *rest))
        rest++;
    size_t end = strlen (rest);
    while (end > 0 && isspace ((unsigned char) rest[end - 1]))
        rest[--end] = '\0';
    text[key_len] = '\0';
    char keyword[16];
    cleanup_free char *quoted = wr_quote (text, 32);
    if (key_len >= sizeof keyword)
        return fail (p, "unknown instruction `%s` (%s)", quoted, supported);
    for (size_t i = 0; i <= key_len; i++)
        keyword[i] = (char) toupper ((unsigned char) text[i]);
    const instruction_t *found = NULL;
    for (size_t i = 0; i < sizeof instructions / sizeof *instructions && found == NULL; i++)
        if (strcmp (instructions[i].name, keyword) == 0)
            found = &instructions[i];
    if (found == NULL) {
        for (size_t i = 0; refused[i] != NULL; i++)
            if (strcmp (refused[i], keyword) == 0)
                return fail (p, "%s is not supported (%s)", refused[i], supported);
        return fail (p, "unknown instruction `%s` (%s)", quoted, supported);
    }
    p->instruction = found->name;
    if (++p->n_instructions > WR_DOCKERFILE_MAX_INSTRUCTIONS)
        return fail_kind (p, WR_ERROR_LIMIT, "more than %d instructions",
                          WR_DOCKERFILE_MAX_INSTRUCTIONS);
    if (p->out->from == NULL && found->handle != do_from && found->handle != do_arg)
        return fail (p, "comes before FROM: a Dockerfile starts with FROM (only ARG may come "
                        "before it)");
    if (rest[0] == '\0' && found->handle != do_cmd && found->handle != do_entrypoint)
        return fail (p, "has no arguments");
    if (rest[0] == '\0')
        return fail (p, "has no arguments: give the exec form [\"EXECUTABLE\", ...] or a "
                        "command line");
    int r = found->handle (p, rest);
    p->instruction = NULL;
    return r;
}

/* A parser directive line (`# name=value`) at the top of the file: only
 * `escape` matters, and only a backslash is supported. */
static int
directive (parser_t *p, const char *line, bool *is_directive)
{
    const char *s = line + 1;
    while (*s == ' ' || *s == '\t')
        s++;
    const char *name = s;
    while (isalpha ((unsigned char) *s))
        s++;
    size_t name_len = (size_t) (s - name);
    while (*s == ' ' || *s == '\t')
        s++;
    *is_directive = name_len > 0 && *s == '=';
    if (!*is_directive || name_len != 6 || strncasecmp (name, "escape", 6) != 0)
        return 0;
    s++;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t v = strlen (s);
    while (v > 0 && isspace ((unsigned char) s[v - 1]))
        v--;
    if (v != 1 || s[0] != '\\')
        return fail (p, "the escape directive: only `\\` is supported");
    return 0;
}

static void
parser_clear (parser_t *p)
{
    wr_strv_free (p->env);
    args_clear (&p->pre_from);
    args_clear (&p->args);
}

int
wr_dockerfile_parse (const char *text, size_t len, char *const *base_env, wr_dockerfile_t *out,
                     wr_error_t *err)
{
    memset (out, 0, sizeof *out);
    if (len > WR_DOCKERFILE_MAX_BYTES)
        return wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                                  "the Dockerfile is %zu bytes, more than %d", len,
                                  WR_DOCKERFILE_MAX_BYTES);
    if (memchr (text, '\0', len) != NULL) {
        size_t line = 1;
        for (const char *c = text; *c != '\0'; c++)
            line += *c == '\n';
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "line %zu: a NUL byte (a Dockerfile is text)", line);
    }
    parser_t p = { .err = err, .out = out };
    for (size_t i = 0; base_env != NULL && base_env[i] != NULL; i++) {
        const char *eq = strchr (base_env[i], '=');
        if (eq != NULL && eq != base_env[i]) {
            cleanup_free char *name = xstrndup (base_env[i], (size_t) (eq - base_env[i]));
            env_set (&p.env, name, eq + 1);
        }
    }
    buf_t logical = { 0 };
    bool continued = false, directives = true;
    size_t line_no = 0;
    int r = 0;
    const char *at = text, *end = text + len;
    while (r == 0 && at < end) {
        const char *nl = memchr (at, '\n', (size_t) (end - at));
        size_t n = nl != NULL ? (size_t) (nl - at) : (size_t) (end - at);
        const char *next = nl != NULL ? nl + 1 : end;
        line_no++;
        if (n > 0 && at[n - 1] == '\r')
            n--;
        if (!continued)
            p.line = line_no;
        if (n > WR_DOCKERFILE_MAX_LINE) {
            p.line = line_no;
            r = fail_kind (&p, WR_ERROR_LIMIT, "longer than %d bytes", WR_DOCKERFILE_MAX_LINE);
            break;
        }
        cleanup_free char *line = xstrndup (at, n);
        at = next;
        const char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '#') {
            bool is_directive = false;
            if (directives && !continued) {
                size_t saved = p.line;
                p.line = line_no;
                r = directive (&p, s, &is_directive);
                p.line = saved;
            }
            directives = directives && is_directive;
            continue;
        }
        directives = false;
        if (*s == '\0')
            continue; /* empty lines, inside a continued instruction too */
        /* The first line's indentation goes, a continued line's stays
         * (Docker joins them as they are, without the backslash). */
        const char *piece = continued ? line : s;
        size_t piece_len = strlen (piece);
        size_t t = piece_len;
        while (t > 0 && isspace ((unsigned char) piece[t - 1]))
            t--;
        bool continues = t > 0 && piece[t - 1] == '\\';
        buf_add (&logical, piece, continues ? t - 1 : piece_len);
        if (logical.len > WR_DOCKERFILE_MAX_LINE) {
            r = fail_kind (&p, WR_ERROR_LIMIT, "the instruction is longer than %d bytes",
                           WR_DOCKERFILE_MAX_LINE);
            break;
        }
        continued = continues;
        if (continued && at < end)
            continue;
        r = instruction (&p, logical.data);
        logical.len = 0;
        continued = false;
    }
    if (r == 0 && continued && logical.len > 0)
        r = instruction (&p, logical.data);
    free (logical.data);
    if (r == 0 && out->from == NULL) {
        p.line = line_no > 0 ? line_no : 1;
        r = wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                               "no FROM instruction: a Dockerfile starts with FROM IMAGE");
    }
    parser_clear (&p);
    if (r < 0)
        wr_dockerfile_clear (out);
    return r;
}

void
wr_dockerfile_clear (wr_dockerfile_t *df)
{
    free (df->from);
    for (size_t i = 0; i < df->n_steps; i++)
        wr_build_step_clear (&df->steps[i]);
    free (df->steps);
    free (df->step_lines);
    memset (df, 0, sizeof *df);
}
