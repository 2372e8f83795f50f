/* See mirror_request.h. */
#include "mirror_request.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "digest.h"
#include "quote.h"
#include "xalloc.h"

static bool
is_tchar (unsigned char c)
{
    return isalnum (c) || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
refuse (int *status, int code, wr_error_t *err, const char *what, const char *text, size_t len)
{
    cleanup_free char *quoted = text != NULL ? wr_quote_len (text, len, 80) : NULL;
    *status = code;
    if (quoted != NULL)
        return wr_error_set_kind (err,
                                  code == 431 || code == 414 ? WR_ERROR_LIMIT : WR_ERROR_INVALID, 0,
                                  "%s: `%s`", what, quoted);
    return wr_error_set_kind (err, code == 431 || code == 414 ? WR_ERROR_LIMIT : WR_ERROR_INVALID,
                              0, "%s", what);
}

static int
parse_request_line (const char *line, size_t len, wr_mirror_request_t *req, int *status,
                    wr_error_t *err)
{
    const char *sp1 = memchr (line, ' ', len);
    if (sp1 == NULL || sp1 == line)
        return refuse (status, 400, err, "not an HTTP request line", line, len);
    size_t mlen = (size_t) (sp1 - line);
    if (mlen >= sizeof req->method)
        return refuse (status, 400, err, "the method is too long", line, mlen);
    for (size_t i = 0; i < mlen; i++)
        if (!is_tchar ((unsigned char) line[i]))
            return refuse (status, 400, err, "not a method", line, mlen);
    const char *target = sp1 + 1;
    const char *end = line + len;
    const char *sp2 = memchr (target, ' ', (size_t) (end - target));
    if (sp2 == NULL || sp2 == target)
        return refuse (status, 400, err, "not an HTTP request line", line, len);
    const char *version = sp2 + 1;
    size_t vlen = (size_t) (end - version);
    if (vlen != 8 || strncmp (version, "HTTP/", 5) != 0 || !isdigit ((unsigned char) version[5]) ||
        version[6] != '.' || !isdigit ((unsigned char) version[7]))
        return refuse (status, 400, err, "not an HTTP version", version, vlen);
    if (version[5] != '1' || (version[7] != '0' && version[7] != '1'))
        return refuse (status, 505, err, "only HTTP/1.0 and HTTP/1.1 are served", version, vlen);
    size_t tlen = (size_t) (sp2 - target);
    if (target[0] != '/')
        return refuse (status, 400, err, "the request target is not a path", target, tlen);
    for (size_t i = 0; i < tlen; i++)
        if (target[i] <= ' ' || (unsigned char) target[i] >= 0x7f)
            return refuse (status, 400, err, "the request target holds a byte it may not", target,
                           tlen);
    memcpy (req->method, line, mlen);
    req->method[mlen] = '\0';
    size_t plen = strcspn (target, "?# ");
    if (plen > tlen)
        plen = tlen;
    req->path = xstrndup (target, plen);
    req->minor = version[7] - '0';
    return 0;
}

/* Does the comma-separated list VALUE hold TOKEN (case-insensitive)? */
static bool
list_has (const char *value, const char *token)
{
    size_t tlen = strlen (token);
    for (const char *p = value; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t n = strcspn (p, ",");
        size_t m = n;
        while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t'))
            m--;
        if (m == tlen && strncasecmp (p, token, tlen) == 0)
            return true;
        p += n;
    }
    return false;
}

typedef struct {
    bool close, keep_alive;
    bool have_length;
    uint64_t length;
} head_state_t;

static int
parse_header (const char *line, size_t len, wr_mirror_request_t *req, head_state_t *st, int *status,
              wr_error_t *err)
{
    if (line[0] == ' ' || line[0] == '\t')
        return refuse (status, 400, err, "a folded header line", line, len);
    const char *colon = memchr (line, ':', len);
    if (colon == NULL || colon == line)
        return refuse (status, 400, err, "not a header line", line, len);
    size_t nlen = (size_t) (colon - line);
    for (size_t i = 0; i < nlen; i++)
        if (!is_tchar ((unsigned char) line[i]))
            return refuse (status, 400, err, "not a header name", line, nlen);
    const char *v = colon + 1;
    const char *end = line + len;
    for (const char *p = v; p < end; p++)
        if (((unsigned char) *p < ' ' && *p != '\t') || *p == 0x7f)
            return refuse (status, 400, err, "a control character in a header", line, nlen);
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    cleanup_free char *value = xstrndup (v, (size_t) (end - v));

    if (nlen == 10 && strncasecmp (line, "Connection", nlen) == 0) {
        st->close |= list_has (value, "close");
        st->keep_alive |= list_has (value, "keep-alive");
    } else if (nlen == 14 && strncasecmp (line, "Content-Length", nlen) == 0) {
        if (value[0] == '\0' || strspn (value, "0123456789") != strlen (value) ||
            strlen (value) > 18)
            return refuse (status, 400, err, "not a Content-Length", value, strlen (value));
        uint64_t n = strtoull (value, NULL, 10);
        if (st->have_length && n != st->length)
            return refuse (status, 400, err, "two different Content-Length headers", NULL, 0);
        st->have_length = true;
        st->length = n;
        if (n > 0)
            req->has_body = true;
    } else if (nlen == 17 && strncasecmp (line, "Transfer-Encoding", nlen) == 0) {
        req->has_body = true;
    } else if (nlen == 6 && strncasecmp (line, "Accept", nlen) == 0 && value[0] != '\0') {
        char *joined =
            req->accept != NULL ? xasprintf ("%s, %s", req->accept, value) : xstrdup (value);
        free (req->accept);
        req->accept = joined;
        if (strlen (req->accept) > WR_MIRROR_MAX_HEAD)
            return refuse (status, 431, err, "the Accept headers are too long", NULL, 0);
    }
    return 0;
}

int
wr_mirror_request_parse (const char *buf, size_t len, wr_mirror_request_t *req, size_t *head_len,
                         int *status, wr_error_t *err)
{
    memset (req, 0, sizeof *req);
    *head_len = 0;
    *status = 0;
    head_state_t st = { 0 };
    size_t pos = 0;
    size_t n_headers = 0;
    bool first = true;

    /* Empty lines before a request are ignored (RFC 9112, 2.2), a few. */
    for (int i = 0; i < 4 && len - pos >= 2 && buf[pos] == '\r' && buf[pos + 1] == '\n'; i++)
        pos += 2;
    for (;;) {
        size_t avail = len - pos;
        size_t scan = avail < WR_MIRROR_MAX_LINE + 2 ? avail : WR_MIRROR_MAX_LINE + 2;
        const char *line = buf + pos;
        const char *lf = memchr (line, '\n', scan);
        if (memchr (line, '\0', lf != NULL ? (size_t) (lf - line) : scan) != NULL) {
            wr_mirror_request_clear (req);
            return refuse (status, 400, err, "a NUL byte in the request's head", NULL, 0);
        }
        if (lf == NULL) {
            if (avail > WR_MIRROR_MAX_LINE || pos + avail > WR_MIRROR_MAX_HEAD) {
                wr_mirror_request_clear (req);
                if (first)
                    return refuse (status, 414, err, "the request line is longer than 8 KiB", NULL,
                                   0);
                return refuse (status, 431, err,
                               pos + avail > WR_MIRROR_MAX_HEAD
                                   ? "the request's head is larger than 32 KiB"
                                   : "a header line is longer than 8 KiB",
                               NULL, 0);
            }
            wr_mirror_request_clear (req);
            return 0;
        }
        if (lf == line || lf[-1] != '\r') {
            wr_mirror_request_clear (req);
            return refuse (status, 400, err, "a line that does not end with CRLF", NULL, 0);
        }
        size_t llen = (size_t) (lf - 1 - line);
        pos += llen + 2;
        if (pos > WR_MIRROR_MAX_HEAD) {
            wr_mirror_request_clear (req);
            return refuse (status, 431, err, "the request's head is larger than 32 KiB", NULL, 0);
        }
        int r;
        if (first) {
            r = parse_request_line (line, llen, req, status, err);
            first = false;
        } else if (llen == 0) {
            break;
        } else if (++n_headers > WR_MIRROR_MAX_HEADERS) {
            r = refuse (status, 431, err, "more than 64 header lines", NULL, 0);
        } else {
            r = parse_header (line, llen, req, &st, status, err);
        }
        if (r < 0) {
            wr_mirror_request_clear (req);
            return -1;
        }
    }
    req->keep_alive = req->minor >= 1 ? !st.close : st.keep_alive && !st.close;
    *head_len = pos;
    return 1;
}

void
wr_mirror_request_clear (wr_mirror_request_t *req)
{
    free (req->path);
    free (req->accept);
    memset (req, 0, sizeof *req);
}

/* ---- routes ---- */

static bool
is_alnum_lower (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component of LEN bytes: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*. */
static bool
component_valid (const char *c, size_t len)
{
    size_t i = 0;
    if (len == 0 || !is_alnum_lower (c[0]))
        return false;
    while (i < len) {
        while (i < len && is_alnum_lower (c[i]))
            i++;
        if (i == len)
            return true;
        size_t sep = i;
        if (c[i] == '.') {
            i++;
        } else if (c[i] == '_') {
            i++;
            if (i < len && c[i] == '_')
                i++;
        } else if (c[i] == '-') {
            while (i < len && c[i] == '-')
                i++;
        } else {
            return false;
        }
        if (i == len || !is_alnum_lower (c[i]) || i == sep)
            return false;
    }
    return true;
}

bool
wr_mirror_name_valid (const char *name)
{
    size_t len = strlen (name);
    if (len == 0 || len > WR_MIRROR_MAX_NAME)
        return false;
    for (const char *p = name;;) {
        size_t n = strcspn (p, "/");
        if (!component_valid (p, n))
            return false;
        if (p[n] == '\0')
            return true;
        p += n + 1;
    }
}

static bool
tag_valid (const char *tag)
{
    size_t len = strlen (tag);
    if (len == 0 || len > 128 || !(isalnum ((unsigned char) tag[0]) || tag[0] == '_'))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!(isalnum ((unsigned char) tag[i]) || strchr ("_.-", tag[i]) != NULL))
            return false;
    return true;
}

static int
route_error (int *status, const char **code, int st, const char *c, wr_error_t *err,
             const char *what, const char *text)
{
    cleanup_free char *quoted = wr_quote (text, 120);
    *status = st;
    *code = c;
    return wr_error_set_kind (err, st == 404 ? WR_ERROR_NOT_FOUND : WR_ERROR_INVALID, 0, "%s `%s`",
                              what, quoted);
}

int
wr_mirror_route_parse (const char *path, wr_mirror_route_t *route, int *status, const char **code,
                       wr_error_t *err)
{
    memset (route, 0, sizeof *route);
    if (strcmp (path, "/v2/") == 0 || strcmp (path, "/v2") == 0) {
        route->kind = WR_MIRROR_ROUTE_BASE;
        return 0;
    }
    if (strncmp (path, "/v2/", 4) != 0)
        return route_error (status, code, 404, "UNSUPPORTED", err, "the mirror does not serve",
                            path);
    const char *rest = path + 4;
    const char *last = strrchr (rest, '/');
    if (last == NULL)
        return route_error (status, code, 404, "UNSUPPORTED", err, "the mirror does not serve",
                            path);
    const char *kind_start = last;
    while (kind_start > rest && kind_start[-1] != '/')
        kind_start--;
    if (kind_start == rest)
        return route_error (status, code, 404, "UNSUPPORTED", err, "the mirror does not serve",
                            path);
    size_t klen = (size_t) (last - kind_start);
    wr_mirror_route_kind_t kind;
    if (klen == 9 && strncmp (kind_start, "manifests", 9) == 0)
        kind = WR_MIRROR_ROUTE_MANIFEST;
    else if (klen == 5 && strncmp (kind_start, "blobs", 5) == 0)
        kind = WR_MIRROR_ROUTE_BLOB;
    else
        return route_error (status, code, 404, "UNSUPPORTED", err, "the mirror does not serve",
                            path);
    cleanup_free char *name = xstrndup (rest, (size_t) (kind_start - 1 - rest));
    const char *reference = last + 1;
    if (!wr_mirror_name_valid (name))
        return route_error (status, code, 400, "NAME_INVALID", err, "not a repository name", name);
    bool by_digest = strchr (reference, ':') != NULL;
    if (kind == WR_MIRROR_ROUTE_BLOB || by_digest) {
        wr_error_t derr = NULL;
        if (wr_digest_validate (reference, &derr) < 0) {
            wr_error_free (&derr);
            return route_error (status, code, 400, "DIGEST_INVALID", err,
                                "not a sha256 digest:", reference);
        }
        by_digest = true;
    } else if (!tag_valid (reference)) {
        return route_error (status, code, 400, "TAG_INVALID", err, "not a tag:", reference);
    }
    route->kind = kind;
    route->name = steal_pointer (&name);
    route->reference = xstrdup (reference);
    route->by_digest = by_digest;
    return 0;
}

void
wr_mirror_route_clear (wr_mirror_route_t *route)
{
    free (route->name);
    free (route->reference);
    memset (route, 0, sizeof *route);
}

bool
wr_mirror_accepts (const char *accept, const char *media_type)
{
    if (accept == NULL || accept[0] == '\0')
        return true;
    size_t mlen = strlen (media_type);
    for (const char *p = accept; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t n = strcspn (p, ",");
        size_t m = strcspn (p, ",;");
        while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t'))
            m--;
        if ((m == mlen && strncasecmp (p, media_type, mlen) == 0) ||
            (m == 3 && strncmp (p, "*/*", 3) == 0) ||
            (m == 13 && strncasecmp (p, "application/*", 13) == 0))
            return true;
        p += n;
    }
    return false;
}
