#include "json_reader.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "digest.h"
#include "quote.h"
#include "strv.h"
#include "xalloc.h"

int
wr_json_error (wr_error_t *err, const char *name, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    cleanup_free char *what = xvasprintf (fmt, ap);
    va_end (ap);
    if (path == NULL || path[0] == '\0')
        return wr_error_set (err, 0, "%s: %s", name, what);
    return wr_error_set (err, 0, "%s: %s: %s", name, path, what);
}

json_object *
wr_json_parse_object (const char *data, size_t len, size_t max, const char *what, const char *name,
                      wr_error_t *err)
{
    if (len > max || len > INT_MAX) {
        wr_error_set (err, 0, "%s: %zu bytes is too large for %s (the limit is %zu)", name, len,
                      what, max);
        return NULL;
    }
    /* json-c would stop at a NUL byte and ignore what follows. */
    const char *nul = memchr (data, '\0', len);
    if (nul != NULL) {
        wr_error_set (err, 0, "%s: not JSON: a NUL byte at offset %zu", name,
                      (size_t) (nul - data));
        return NULL;
    }

    json_tokener *tok = json_tokener_new ();
    if (tok == NULL)
        abort ();
    json_tokener_set_flags (tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    cleanup_json_reader json_object *root = json_tokener_parse_ex (tok, data, (int) len);
    enum json_tokener_error error = json_tokener_get_error (tok);
    size_t end = json_tokener_get_parse_end (tok);
    json_tokener_free (tok);
    if (end > len)
        end = len;
    if (error == json_tokener_continue) {
        wr_error_set (err, 0, "%s: not JSON: the document ends early (at offset %zu)", name, len);
        return NULL;
    }
    if (error != json_tokener_success) {
        wr_error_set (err, 0, "%s: not JSON: %s at offset %zu", name,
                      json_tokener_error_desc (error), end);
        return NULL;
    }
    for (size_t i = end; i < len; i++) {
        if (strchr (" \t\r\n", data[i]) == NULL) {
            wr_error_set (err, 0, "%s: not JSON: unexpected data after the document at offset %zu",
                          name, i);
            return NULL;
        }
    }
    if (!json_object_is_type (root, json_type_object)) {
        wr_error_set (err, 0, "%s: the document must be a JSON object, not %s", name,
                      wr_json_type_phrase (json_object_get_type (root)));
        return NULL;
    }
    return steal_pointer (&root);
}

char *
wr_json_path_key (const char *parent, const char *key)
{
    if (parent == NULL || parent[0] == '\0')
        return xstrdup (key);
    return xasprintf ("%s.%s", parent, key);
}

char *
wr_json_path_index (const char *parent, size_t index)
{
    return xasprintf ("%s[%zu]", parent != NULL ? parent : "", index);
}

int
wr_json_member (json_object *obj, const char *key, bool required, const char *name,
                const char *path, json_object **value, wr_error_t *err)
{
    *value = NULL;
    json_object *found = NULL;
    bool present = json_object_object_get_ex (obj, key, &found);
    if (!present || found == NULL) {
        if (!required)
            return 0;
        cleanup_free char *child = wr_json_path_key (path, key);
        return wr_json_error (err, name, child, present ? "must not be null" : "missing");
    }
    *value = found;
    return 1;
}

int
wr_json_expect (json_object *value, json_type type, const char *name, const char *path,
                wr_error_t *err)
{
    if (json_object_is_type (value, type))
        return 0;
    return wr_json_error (err, name, path, "must be %s, not %s", wr_json_type_phrase (type),
                          wr_json_type_phrase (json_object_get_type (value)));
}

int
wr_json_string (json_object *value, const char *name, const char *path, const char **out,
                wr_error_t *err)
{
    if (wr_json_expect (value, json_type_string, name, path, err) < 0)
        return -1;
    const char *s = json_object_get_string (value);
    /* "\u0000" would cut the C string short of what was signed. */
    if (strlen (s) != (size_t) json_object_get_string_len (value))
        return wr_json_error (err, name, path, "must not contain a NUL character");
    *out = s;
    return 0;
}

int
wr_json_int64 (json_object *value, const char *name, const char *path, int64_t *out,
               wr_error_t *err)
{
    if (wr_json_expect (value, json_type_int, name, path, err) < 0)
        return -1;
    int64_t v = json_object_get_int64 (value);
    /* json-c keeps integers above INT64_MAX as uint64 and clamps them here. */
    if (v == INT64_MAX && json_object_get_uint64 (value) != (uint64_t) INT64_MAX)
        return wr_json_error (err, name, path, "integer too large");
    *out = v;
    return 0;
}

int
wr_json_string_array (json_object *value, const char *name, const char *path, char ***out,
                      wr_error_t *err)
{
    *out = NULL;
    if (wr_json_expect (value, json_type_array, name, path, err) < 0)
        return -1;
    size_t n = json_object_array_length (value);
    cleanup_strv char **strv = xzalloc ((n + 1) * sizeof *strv);
    for (size_t i = 0; i < n; i++) {
        cleanup_free char *child = wr_json_path_index (path, i);
        const char *s = NULL;
        if (wr_json_string (json_object_array_get_idx (value, i), name, child, &s, err) < 0)
            return -1;
        strv[i] = xstrdup (s);
    }
    *out = steal_pointer (&strv);
    return 0;
}

int
wr_json_member_string (json_object *obj, const char *key, bool required, const char *name,
                       const char *path, char **out, wr_error_t *err)
{
    *out = NULL;
    json_object *value = NULL;
    int found = wr_json_member (obj, key, required, name, path, &value, err);
    if (found <= 0)
        return found;
    cleanup_free char *child = wr_json_path_key (path, key);
    const char *s = NULL;
    if (wr_json_string (value, name, child, &s, err) < 0)
        return -1;
    *out = xstrdup (s);
    return 1;
}

int
wr_json_check_digest (const char *digest, const char *name, const char *path, wr_error_t *err)
{
    if (!wr_is_printable_ascii (digest)) {
        cleanup_free char *quoted = wr_quote (digest, 80);
        return wr_json_error (err, name, path, "digest `%s` has characters that are not printable",
                              quoted);
    }
    if (wr_digest_validate (digest, err) < 0)
        return wr_error_prefix (err, "%s: %s", name, path);
    return 0;
}
