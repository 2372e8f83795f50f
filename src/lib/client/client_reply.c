#include "client_reply.h"

#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "json_reader.h"
#include "quote.h"
#include "xalloc.h"

static const struct {
    const char *name;
    wr_error_kind_t kind;
} kinds[] = {
    { "internal", WR_ERROR_INTERNAL },    { "not_found", WR_ERROR_NOT_FOUND },
    { "exists", WR_ERROR_EXISTS },        { "invalid", WR_ERROR_INVALID },
    { "limit", WR_ERROR_LIMIT },          { "unavailable", WR_ERROR_UNAVAILABLE },
    { "cancelled", WR_ERROR_CANCELLED },  { "too_many", WR_ERROR_TOO_MANY },
    { "unauthorized", WR_ERROR_INVALID },
};

int
wr_client_kind_from_name (const char *name, wr_error_kind_t *kind)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp (kinds[i].name, name) == 0) {
            *kind = kinds[i].kind;
            return 0;
        }
    return -1;
}

static wr_error_kind_t
kind_of_status (long status)
{
    switch (status) {
    case 400:
    case 401:
    case 405:
        return WR_ERROR_INVALID;
    case 404:
        return WR_ERROR_NOT_FOUND;
    case 409:
        return WR_ERROR_EXISTS;
    case 413:
        return WR_ERROR_LIMIT;
    case 429:
        return WR_ERROR_TOO_MANY;
    case 501:
    case 502:
    case 503:
    case 504:
        return WR_ERROR_UNAVAILABLE;
    default:
        return WR_ERROR_INTERNAL;
    }
}

/* The server's message, bounded, without bytes that drive a terminal. */
static char *
clean_message (const char *message)
{
    size_t len = strlen (message);
    bool cut = len > WR_CLIENT_MAX_MESSAGE;
    if (cut)
        len = WR_CLIENT_MAX_MESSAGE;
    char *out = xmalloc (len + 4);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char) message[i];
        out[i] = (ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f ? '?' : (char) ch;
    }
    strcpy (out + len, cut ? "..." : "");
    return out;
}

/* {"error": {"kind", "message"}} in OBJ: 1 and *ERR, 0 when OBJ is not one. */
static int
error_object (json_object *obj, wr_error_t *err)
{
    json_object *e = NULL, *kind = NULL, *message = NULL;
    if (!json_object_is_type (obj, json_type_object) ||
        !json_object_object_get_ex (obj, "error", &e) ||
        !json_object_is_type (e, json_type_object) ||
        !json_object_object_get_ex (e, "kind", &kind) ||
        !json_object_is_type (kind, json_type_string) ||
        !json_object_object_get_ex (e, "message", &message) ||
        !json_object_is_type (message, json_type_string))
        return 0;
    wr_error_kind_t k;
    if (wr_client_kind_from_name (json_object_get_string (kind), &k) < 0)
        k = WR_ERROR_INTERNAL;
    cleanup_free char *text = clean_message (json_object_get_string (message));
    wr_error_set_kind (err, k, 0, "%s", text);
    if (err != NULL && strcmp (json_object_get_string (kind), "unauthorized") == 0)
        (*err)->errno_value = EACCES;
    return 1;
}

int
wr_client_reply_error (long status, const char *body, size_t len, const char *what, wr_error_t *err)
{
    wr_error_t parse_err = NULL;
    json_object *obj = wr_json_parse_object (body, len, WR_CLIENT_MAX_ERROR_BODY, "an error body",
                                             "error", &parse_err);
    wr_error_free (&parse_err);
    int found = obj != NULL ? error_object (obj, err) : 0;
    if (obj != NULL)
        json_object_put (obj);
    if (found)
        return -1;
    wr_error_set_kind (err, kind_of_status (status), 0,
                       "%s: warrend answered %ld without an error body", what, status);
    if (err != NULL && status == 401)
        (*err)->errno_value = EACCES;
    return -1;
}

int
wr_client_reply_stream_error (json_object *line, wr_error_t *err)
{
    return error_object (line, err);
}

json_object *
wr_client_reply_object (const char *body, size_t len, size_t max, const char *what, wr_error_t *err)
{
    return wr_json_parse_object (body, len, max, "an answer", what, err);
}

void
wr_client_lines_init (wr_client_lines_t *lines, const char *what, wr_client_line_fn fn, void *data)
{
    *lines = (wr_client_lines_t){ .fn = fn, .data = data, .what = what };
}

static int
one_line (wr_client_lines_t *lines, const char *line, size_t len, wr_error_t *err)
{
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
        len--;
    if (len == 0)
        return 0;
    lines->lines++;
    cleanup_free char *name = xasprintf ("%s: line %zu", lines->what, lines->lines);
    json_object *obj = wr_json_parse_object (line, len, WR_CLIENT_MAX_LINE, "a line", name, err);
    if (obj == NULL)
        return -1;
    int ret = lines->fn (lines->data, obj, err);
    json_object_put (obj);
    return ret;
}

int
wr_client_lines_feed (wr_client_lines_t *lines, const char *bytes, size_t len, wr_error_t *err)
{
    while (len > 0) {
        const char *nl = memchr (bytes, '\n', len);
        size_t take = nl != NULL ? (size_t) (nl - bytes) : len;
        if (lines->len + take > WR_CLIENT_MAX_LINE)
            return wr_error_set_kind (err, WR_ERROR_LIMIT, 0, "%s: line %zu: longer than %u bytes",
                                      lines->what, lines->lines + 1, WR_CLIENT_MAX_LINE);
        if (nl != NULL && lines->len == 0) {
            if (one_line (lines, bytes, take, err) < 0)
                return -1;
        } else {
            if (lines->len + take > lines->cap) {
                lines->cap = lines->len + take + 4096;
                lines->buf = xrealloc (lines->buf, lines->cap);
            }
            memcpy (lines->buf + lines->len, bytes, take);
            lines->len += take;
            if (nl != NULL) {
                size_t total = lines->len;
                lines->len = 0;
                if (one_line (lines, lines->buf, total, err) < 0)
                    return -1;
            }
        }
        if (nl == NULL)
            break;
        bytes += take + 1;
        len -= take + 1;
    }
    return 0;
}

int
wr_client_lines_end (wr_client_lines_t *lines, wr_error_t *err)
{
    size_t len = lines->len;
    lines->len = 0;
    return len > 0 ? one_line (lines, lines->buf, len, err) : 0;
}

void
wr_client_lines_clear (wr_client_lines_t *lines)
{
    free (lines->buf);
    lines->buf = NULL;
    lines->len = lines->cap = 0;
}

static int
b64_value (unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int
wr_client_base64_decode (const char *text, size_t len, char **out, size_t *out_len, wr_error_t *err)
{
    if (len % 4 != 0)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "base64: %zu characters, not a multiple of 4", len);
    char *buf = xmalloc (len / 4 * 3 + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        int pad = 0;
        for (int j = 0; j < 4; j++) {
            unsigned char c = (unsigned char) text[i + j];
            if (c == '=' && i + 4 == len && j >= 2) {
                v[j] = 0;
                pad++;
                continue;
            }
            v[j] = pad > 0 ? -1 : b64_value (c);
            if (v[j] < 0) {
                free (buf);
                return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                          "base64: a bad character at %zu", i + (size_t) j);
            }
        }
        uint32_t word =
            (uint32_t) v[0] << 18 | (uint32_t) v[1] << 12 | (uint32_t) v[2] << 6 | (uint32_t) v[3];
        buf[n++] = (char) (word >> 16);
        if (pad < 2)
            buf[n++] = (char) (word >> 8 & 0xff);
        if (pad < 1)
            buf[n++] = (char) (word & 0xff);
    }
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return 0;
}

int
wr_client_get_string (json_object *obj, const char *key, bool required, const char *what,
                      const char **out, wr_error_t *err)
{
    json_object *v = NULL;
    int found = wr_json_member (obj, key, required, what, "", &v, err);
    if (found <= 0)
        return found;
    return wr_json_string (v, what, key, out, err);
}

int
wr_client_get_int (json_object *obj, const char *key, bool required, const char *what, int64_t *out,
                   wr_error_t *err)
{
    json_object *v = NULL;
    int found = wr_json_member (obj, key, required, what, "", &v, err);
    if (found <= 0)
        return found;
    return wr_json_int64 (v, what, key, out, err);
}

int
wr_client_get_bool (json_object *obj, const char *key, bool required, const char *what, bool *out,
                    wr_error_t *err)
{
    json_object *v = NULL;
    int found = wr_json_member (obj, key, required, what, "", &v, err);
    if (found <= 0)
        return found;
    if (wr_json_expect (v, json_type_boolean, what, key, err) < 0)
        return -1;
    *out = json_object_get_boolean (v);
    return 0;
}

int
wr_client_get_array (json_object *obj, const char *key, bool required, const char *what,
                     json_object **out, wr_error_t *err)
{
    json_object *v = NULL;
    int found = wr_json_member (obj, key, required, what, "", &v, err);
    if (found <= 0)
        return found;
    if (wr_json_expect (v, json_type_array, what, key, err) < 0)
        return -1;
    *out = v;
    return 0;
}
