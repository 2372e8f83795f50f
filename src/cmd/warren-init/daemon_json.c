#include "daemon_json.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "json_type.h"
#include "xalloc.h"

static void
json_tokener_free_fn (json_tokener **tok)
{
    if (*tok != NULL)
        json_tokener_free (*tok);
}
#define cleanup_tokener __attribute__ ((cleanup (json_tokener_free_fn)))

int
daemon_json_load (const char *path, char **text, wr_error_t *err)
{
    *text = NULL;
    cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return wr_error_set (err, errno, "read dockerd's configuration `%s`", path);
    }
    /* One byte more than the limit tells a file at the limit from a larger one. */
    size_t cap = 4096, len = 0;
    cleanup_free char *buf = xmalloc (cap);
    for (;;) {
        if (len == cap - 1) {
            if (cap > DAEMON_JSON_MAX_SIZE + 1)
                break;
            cap *= 2;
            buf = xrealloc (buf, cap);
        }
        ssize_t n = read (fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return wr_error_set (err, errno, "read dockerd's configuration `%s`", path);
        if (n == 0)
            break;
        len += (size_t) n;
    }
    if (len > DAEMON_JSON_MAX_SIZE)
        return wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                                  "read dockerd's configuration `%s`: larger than %d bytes, "
                                  "too large for a daemon.json",
                                  path, DAEMON_JSON_MAX_SIZE);
    buf[len] = '\0';
    const char *nul = memchr (buf, '\0', len);
    if (nul != NULL)
        return wr_error_set (err, 0,
                             "read dockerd's configuration `%s`: not JSON: a NUL byte at byte %zu",
                             path, (size_t) (nul - buf));
    *text = steal_pointer (&buf);
    return 0;
}

/* "line 3, column 7 (byte 41)" for byte OFFSET of TEXT. */
static char *
position_text (const char *text, size_t len, size_t offset)
{
    size_t line = 1, line_start = 0;
    for (size_t i = 0; i < offset && i < len; i++) {
        if (text[i] == '\n') {
            line++;
            line_start = i + 1;
        }
    }
    return xasprintf ("line %zu, column %zu (byte %zu)", line, offset - line_start + 1, offset);
}

static int
syntax_error (wr_error_t *err, const char *text, size_t len, size_t offset, const char *what)
{
    cleanup_free char *where = position_text (text, len, offset);
    return wr_error_set (err, 0, "not JSON: %s at %s", what, where);
}

/* NAME (a JSON string) in backquotes for messages, with JSON's escapes:
 * the file's member names are untrusted text.  Caller frees. */
static char *
quoted (json_object *name)
{
    const char *json = json_object_to_json_string_ext (name, JSON_C_TO_STRING_PLAIN |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t len = strlen (json);
    return xasprintf ("`%.*s`", (int) (len - 2), json + 1); /* without its double quotes */
}

/* Where the string that starts at TEXT[I] with a quote ends (the byte
 * after its closing quote).  TEXT is one json-c accepted, so the string is
 * closed and its escapes are whole. */
static size_t
string_end (const char *text, size_t len, size_t i)
{
    char quote = text[i];
    for (i++; i < len; i++) {
        if (text[i] == '\\')
            i++;
        else if (text[i] == quote)
            return i + 1;
    }
    return len;
}

/* json-c keeps the last of two members with the same name and says
 * nothing, and takes member names in single quotes: a walk over the text
 * it accepted (which only needs to tell strings from brackets) finds both.
 * The member names are decoded by json-c, so "hos\u0074s" is "hosts". */
static int
check_members (const char *text, size_t len, wr_error_t *err)
{
    cleanup_json json_object *seen = json_object_new_object (); /* name -> its byte offset */
    cleanup_tokener json_tokener *tok = json_tokener_new ();
    if (seen == NULL || tok == NULL)
        abort ();
    int depth = 0;
    bool at_name = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '\'')
            return syntax_error (err, text, len, i,
                                 "a string in single quotes (JSON takes double quotes)");
        if (c == '"') {
            size_t end = string_end (text, len, i);
            if (depth == 1 && at_name) {
                at_name = false;
                json_tokener_reset (tok);
                cleanup_json json_object *name =
                    json_tokener_parse_ex (tok, text + i, (int) (end - i));
                if (name == NULL || !json_object_is_type (name, json_type_string))
                    return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0,
                                              "json-c does not read back the member name at "
                                              "byte %zu",
                                              i);
                json_object *first = NULL;
                if (json_object_object_get_ex (seen, json_object_get_string (name), &first)) {
                    cleanup_free char *first_at =
                        position_text (text, len, (size_t) json_object_get_int64 (first));
                    cleanup_free char *again_at = position_text (text, len, i);
                    cleanup_free char *shown = quoted (name);
                    return wr_error_set (err, 0, "%s is given twice, at %s and at %s", shown,
                                         first_at, again_at);
                }
                json_object_object_add (seen, json_object_get_string (name),
                                        json_object_new_int64 ((int64_t) i));
            }
            i = end - 1;
        } else if (c == '{' || c == '[') {
            depth++;
            at_name = depth == 1;
        } else if (c == '}' || c == ']') {
            depth--;
        } else if (c == ',' && depth == 1) {
            at_name = true;
        }
    }
    return 0;
}

json_object *
daemon_json_parse (const char *text, size_t len, wr_error_t *err)
{
    if (len > DAEMON_JSON_MAX_SIZE) {
        wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                           "%zu bytes, larger than %d: too large for a daemon.json", len,
                           DAEMON_JSON_MAX_SIZE);
        return NULL;
    }
    const char *nul = memchr (text, '\0', len);
    if (nul != NULL) {
        syntax_error (err, text, len, (size_t) (nul - text), "a NUL byte");
        return NULL;
    }
    size_t start = 0;
    while (start < len && strchr (" \t\r\n", text[start]) != NULL)
        start++;
    if (start == len)
        return json_object_new_object ();

    cleanup_tokener json_tokener *tok = json_tokener_new ();
    if (tok == NULL)
        abort ();
    json_tokener_set_flags (tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    /* With the terminating NUL json-c knows that the text ends there: a
     * text cut short is an error, not a wait for more. */
    cleanup_free char *terminated = xstrndup (text, len);
    cleanup_json json_object *root = json_tokener_parse_ex (tok, terminated, (int) len + 1);
    enum json_tokener_error error = json_tokener_get_error (tok);
    if (error != json_tokener_success) {
        size_t end = json_tokener_get_parse_end (tok);
        syntax_error (err, text, len, end > len ? len : end, json_tokener_error_desc (error));
        return NULL;
    }
    if (!json_object_is_type (root, json_type_object)) {
        wr_error_set (err, 0, "must be a JSON object, not %s",
                      wr_json_type_phrase (json_object_get_type (root)));
        return NULL;
    }
    if (check_members (text, len, err) < 0)
        return NULL;
    return steal_pointer (&root);
}

static int
check_string (json_object *value, const char *what, wr_error_t *err)
{
    if (!json_object_is_type (value, json_type_string))
        return wr_error_set (err, 0, "%s must be a string, not %s", what,
                             wr_json_type_phrase (json_object_get_type (value)));
    if (strlen (json_object_get_string (value)) != (size_t) json_object_get_string_len (value))
        return wr_error_set (err, 0, "%s must not hold a NUL character (\\u0000)", what);
    return 0;
}

int
daemon_json_check (json_object *config, const char *key, daemon_json_kind_t kind, wr_error_t *err)
{
    json_object *value = NULL;
    if (!json_object_object_get_ex (config, key, &value) || value == NULL)
        return 0;
    cleanup_free char *what = xasprintf ("`%s`", key);
    switch (kind) {
    case DAEMON_JSON_STRING:
        return check_string (value, what, err);
    case DAEMON_JSON_BOOLEAN:
        if (!json_object_is_type (value, json_type_boolean))
            return wr_error_set (err, 0, "%s must be true or false, not %s", what,
                                 wr_json_type_phrase (json_object_get_type (value)));
        return 0;
    case DAEMON_JSON_STRING_ARRAY:
        if (!json_object_is_type (value, json_type_array))
            return wr_error_set (err, 0, "%s must be an array of strings, not %s", what,
                                 wr_json_type_phrase (json_object_get_type (value)));
        for (size_t i = 0; i < json_object_array_length (value); i++) {
            cleanup_free char *element = xasprintf ("`%s[%zu]`", key, i);
            if (check_string (json_object_array_get_idx (value, i), element, err) < 0)
                return -1;
        }
        return 0;
    }
    return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0, "%s: unknown kind %d", what, (int) kind);
}

bool
daemon_json_has (json_object *config, const char *key)
{
    return config != NULL && json_object_object_get_ex (config, key, NULL);
}

const char *
daemon_json_string (json_object *config, const char *key)
{
    json_object *value = NULL;
    if (config == NULL || !json_object_object_get_ex (config, key, &value) ||
        !json_object_is_type (value, json_type_string))
        return NULL;
    return json_object_get_string (value);
}
