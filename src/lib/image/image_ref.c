/* Image references, parsed by hand after the grammar of the distribution
 * project's reference package (what Docker uses):
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] path-component ( "/" path-component )*
 *   domain     := host [ ":" port ]
 *   host       := domain-component ( "." domain-component )* | "[" ipv6 "]"
 *   domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 *   path-component   := [a-z0-9]+ ( separator [a-z0-9]+ )*
 *   separator  := "." | "_" | "__" | "-"+
 *   tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *
 * and normalised the way Docker normalises a name typed by a user: the
 * first component is a registry only when it looks like a host (has a "."
 * or ":", is "localhost", or has upper case, which a repository never
 * has); Docker Hub's several names become "docker.io"; a one-component
 * Docker Hub name is an official image under "library/". */
#include "image_ref.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "digest.h"
#include "quote.h"
#include "xalloc.h"

/* distribution's NameTotalLengthMax, on the normalised name (registry and
 * repository), as Docker 20.10 counts it. */
#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128
#define PORT_MAX 65535
/* A valid reference is shorter than this; longer text is cut in messages. */
#define QUOTE_MAX 300
#define PART_QUOTE_MAX 100

static const char library_prefix[] = "library/";

static bool
is_lower_alnum (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_upper (char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool
is_digit (char c)
{
    return c >= '0' && c <= '9';
}

static bool
is_alnum (char c)
{
    return is_lower_alnum (c) || is_upper (c);
}

static bool
is_word (char c)
{
    return is_alnum (c) || c == '_';
}

static bool
is_hex (char c)
{
    return is_digit (c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool
span_equals (const char *s, size_t len, const char *literal)
{
    return strlen (literal) == len && memcmp (s, literal, len) == 0;
}

static bool
span_has_upper (const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (is_upper (s[i]))
            return true;
    return false;
}

static bool
is_image_id (const char *s, size_t len)
{
    if (len != WR_DIGEST_SHA256_HEX_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!(is_digit (s[i]) || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* The character at S for a message: itself when printable, else \xNN. */
static char *
quote_char (const char *s)
{
    return wr_quote_len (s, 1, 1);
}

/* Fails with "image reference `TEXT`: WHAT". */
static int ref_error (wr_error_t *err, const char *text, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
ref_error (wr_error_t *err, const char *text, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    cleanup_free char *what = xvasprintf (fmt, ap);
    va_end (ap);
    cleanup_free char *quoted = wr_quote (text, QUOTE_MAX);
    return wr_error_set (err, 0, "image reference `%s`: %s", quoted, what);
}

/* One path component; NULL when valid, else what is wrong (caller frees). */
static char *
check_path_component (const char *c, size_t len)
{
    cleanup_free char *quoted = wr_quote_len (c, len, PART_QUOTE_MAX);
    size_t i = 0;
    while (i < len) {
        if (is_lower_alnum (c[i])) {
            i++;
            continue;
        }
        if (c[i] != '.' && c[i] != '_' && c[i] != '-') {
            cleanup_free char *ch = quote_char (c + i);
            return xasprintf (
                "component `%s`: `%s` is not allowed in a repository name (only "
                "lowercase letters, digits and the separators `.`, `_`, `__` and `-`)",
                quoted, ch);
        }
        size_t start = i;
        while (i < len && (c[i] == '.' || c[i] == '_' || c[i] == '-'))
            i++;
        if (start == 0)
            return xasprintf ("component `%s` must start with a lowercase letter or digit", quoted);
        if (i == len)
            return xasprintf ("component `%s` must end with a lowercase letter or digit", quoted);
        const char *sep = c + start;
        size_t sep_len = i - start;
        bool dashes = true;
        for (size_t k = 0; k < sep_len; k++)
            dashes = dashes && sep[k] == '-';
        if (!(dashes || span_equals (sep, sep_len, ".") || span_equals (sep, sep_len, "_") ||
              span_equals (sep, sep_len, "__"))) {
            cleanup_free char *quoted_sep = wr_quote_len (sep, sep_len, PART_QUOTE_MAX);
            return xasprintf ("component `%s`: `%s` is not a separator (one `.`, one or two `_`, "
                              "or dashes)",
                              quoted, quoted_sep);
        }
    }
    return NULL;
}

/* The repository path as typed (without "library/"). */
static int
check_path (const char *text, const char *path, size_t len, wr_error_t *err)
{
    cleanup_free char *quoted = wr_quote_len (path, len, QUOTE_MAX);
    if (span_has_upper (path, len))
        return ref_error (err, text, "repository name `%s` must be lowercase", quoted);
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && path[i] != '/')
            continue;
        if (i == start)
            return ref_error (err, text, "repository name `%s` has an empty component", quoted);
        cleanup_free char *problem = check_path_component (path + start, i - start);
        if (problem != NULL)
            return ref_error (err, text, "repository name `%s`: %s", quoted, problem);
        start = i + 1;
    }
    return 0;
}

static char *
check_port (const char *port, size_t len)
{
    cleanup_free char *quoted = wr_quote_len (port, len, PART_QUOTE_MAX);
    unsigned long value = 0;
    bool ok = len > 0 && len <= 5;
    for (size_t i = 0; ok && i < len; i++) {
        ok = is_digit (port[i]);
        value = value * 10 + (unsigned long) (port[i] - '0');
    }
    if (!ok || value == 0 || value > PORT_MAX)
        return xasprintf ("port `%s` is not a number from 1 to %d", quoted, PORT_MAX);
    return NULL;
}

static char *
check_ipv6 (const char *addr, size_t len)
{
    cleanup_free char *quoted = wr_quote_len (addr, len, PART_QUOTE_MAX);
    bool ok = len > 0 && len < INET6_ADDRSTRLEN;
    /* Hex digits and colons only: no zone ("%eth0") and no embedded IPv4,
     * as in distribution's grammar; inet_pton checks the rest. */
    for (size_t i = 0; ok && i < len; i++)
        ok = is_hex (addr[i]) || addr[i] == ':';
    if (ok) {
        char copy[INET6_ADDRSTRLEN];
        struct in6_addr parsed;
        memcpy (copy, addr, len);
        copy[len] = '\0';
        ok = inet_pton (AF_INET6, copy, &parsed) == 1;
    }
    if (!ok)
        return xasprintf ("`[%s]` is not an IPv6 address in hex digits and colons", quoted);
    return NULL;
}

static char *
check_host_name (const char *host, size_t len)
{
    cleanup_free char *quoted = wr_quote_len (host, len, PART_QUOTE_MAX);
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && host[i] != '.') {
            if (!is_alnum (host[i]) && host[i] != '-') {
                cleanup_free char *ch = quote_char (host + i);
                return xasprintf ("`%s` is not allowed in a host name", ch);
            }
            continue;
        }
        if (i == start)
            return xasprintf ("host name `%s` has an empty component", quoted);
        if (host[start] == '-' || host[i - 1] == '-')
            return xasprintf ("a component of host name `%s` starts or ends with `-`", quoted);
        start = i + 1;
    }
    return NULL;
}

/* The registry part ("host", "host:port", "[v6]", "[v6]:port"); NULL when
 * valid, else what is wrong. */
static char *
check_domain (const char *domain, size_t len)
{
    const char *port = NULL;
    size_t port_len = 0;
    char *problem = NULL;
    if (domain[0] == '[') {
        const char *close = memchr (domain, ']', len);
        if (close == NULL)
            return xstrdup ("an IPv6 address has no closing `]`");
        problem = check_ipv6 (domain + 1, (size_t) (close - domain - 1));
        const char *rest = close + 1;
        size_t rest_len = len - (size_t) (rest - domain);
        if (problem == NULL && rest_len > 0) {
            if (rest[0] != ':')
                return xstrdup ("only `:PORT` may follow an IPv6 address");
            port = rest + 1;
            port_len = rest_len - 1;
        }
    } else {
        const char *colon = memchr (domain, ':', len);
        size_t host_len = colon != NULL ? (size_t) (colon - domain) : len;
        problem = check_host_name (domain, host_len);
        if (colon != NULL) {
            port = colon + 1;
            port_len = len - host_len - 1;
        }
    }
    if (problem == NULL && port != NULL)
        problem = check_port (port, port_len);
    return problem;
}

static int
check_tag (const char *text, const char *tag, size_t len, wr_error_t *err)
{
    if (len == 0)
        return ref_error (err, text, "empty tag after `:`");
    cleanup_free char *quoted = wr_quote_len (tag, len, QUOTE_MAX);
    if (len > TAG_MAX_LEN)
        return ref_error (err, text, "tag `%s` is %zu characters long, more than %d", quoted, len,
                          TAG_MAX_LEN);
    if (!is_word (tag[0]))
        return ref_error (err, text, "tag `%s` must start with a letter, digit or `_`", quoted);
    for (size_t i = 1; i < len; i++) {
        if (!is_word (tag[i]) && tag[i] != '.' && tag[i] != '-') {
            cleanup_free char *ch = quote_char (tag + i);
            return ref_error (err, text,
                              "tag `%s`: `%s` is not allowed (only letters, digits, `_`, `.` and "
                              "`-`)",
                              quoted, ch);
        }
    }
    return 0;
}

static bool
is_docker_hub (const char *domain, size_t len)
{
    return span_equals (domain, len, WR_DOCKER_HUB) ||
           span_equals (domain, len, "index.docker.io") ||
           span_equals (domain, len, "registry-1.docker.io");
}

/* Whether the first component of NAME (up to a '/') would be taken for a
 * registry host. */
static bool
looks_like_domain (const char *name, size_t len)
{
    const char *slash = memchr (name, '/', len);
    if (slash == NULL)
        return false;
    size_t first_len = (size_t) (slash - name);
    return memchr (name, '.', first_len) != NULL || memchr (name, ':', first_len) != NULL ||
           span_equals (name, first_len, "localhost") || span_has_upper (name, first_len);
}

int
wr_image_ref_parse (const char *text, wr_image_ref_t *ref, wr_error_t *err)
{
    memset (ref, 0, sizeof *ref);
    if (text == NULL)
        return wr_error_set (err, 0, "missing image reference");
    if (text[0] == '\0')
        return wr_error_set (err, 0, "empty image reference");
    size_t text_len = strlen (text);
    if (is_image_id (text, text_len))
        return ref_error (err, text,
                          "64 hexadecimal digits are an image ID, not a repository name");
    if (strstr (text, "://") != NULL)
        return ref_error (err, text, "a reference has no URL scheme: leave out `...://`");

    const char *at = strchr (text, '@');
    size_t name_tag_len = at != NULL ? (size_t) (at - text) : text_len;
    /* A tag is after the last ':' when no '/' follows it ("host:5000/a" has
     * a port, not a tag). */
    const char *last_slash = memrchr (text, '/', name_tag_len);
    const char *last_colon = memrchr (text, ':', name_tag_len);
    size_t name_len = name_tag_len;
    const char *tag = NULL;
    size_t tag_len = 0;
    if (last_colon != NULL && (last_slash == NULL || last_colon > last_slash)) {
        name_len = (size_t) (last_colon - text);
        tag = last_colon + 1;
        tag_len = name_tag_len - name_len - 1;
    }
    if (name_len == 0)
        return ref_error (err, text, "no repository name");

    const char *domain = WR_DOCKER_HUB;
    size_t domain_len = strlen (WR_DOCKER_HUB);
    const char *path = text;
    size_t path_len = name_len;
    if (looks_like_domain (text, name_len)) {
        const char *slash = memchr (text, '/', name_len);
        domain = text;
        domain_len = (size_t) (slash - text);
        path = slash + 1;
        path_len = name_len - domain_len - 1;
        cleanup_free char *problem = check_domain (domain, domain_len);
        if (problem != NULL) {
            cleanup_free char *quoted = wr_quote_len (domain, domain_len, PART_QUOTE_MAX);
            /* Upper case alone made it a host: the user meant a repository. */
            if (memchr (domain, '.', domain_len) == NULL &&
                memchr (domain, ':', domain_len) == NULL &&
                !span_equals (domain, domain_len, "localhost")) {
                cleanup_free char *name = wr_quote_len (text, name_len, QUOTE_MAX);
                return ref_error (err, text, "repository name `%s` must be lowercase", name);
            }
            return ref_error (err, text, "registry `%s`: %s", quoted, problem);
        }
        if (is_docker_hub (domain, domain_len)) {
            domain = WR_DOCKER_HUB;
            domain_len = strlen (WR_DOCKER_HUB);
        }
    }
    if (check_path (text, path, path_len, err) < 0)
        return -1;

    bool official =
        span_equals (domain, domain_len, WR_DOCKER_HUB) && memchr (path, '/', path_len) == NULL;
    cleanup_free char *registry = xstrndup (domain, domain_len);
    cleanup_free char *repository =
        xasprintf ("%s%.*s", official ? library_prefix : "", (int) path_len, path);
    size_t full_len = strlen (registry) + 1 + strlen (repository);
    if (full_len > NAME_MAX_LEN)
        return ref_error (err, text, "the name `%s/%.20s...` is %zu characters long, more than %d",
                          registry, repository, full_len, NAME_MAX_LEN);

    cleanup_free char *tag_copy = NULL;
    if (tag != NULL) {
        if (check_tag (text, tag, tag_len, err) < 0)
            return -1;
        tag_copy = xstrndup (tag, tag_len);
    }
    cleanup_free char *digest = NULL;
    if (at != NULL) {
        /* wr_digest_validate quotes the digest as it is. */
        if (!wr_is_printable_ascii (at + 1)) {
            cleanup_free char *quoted = wr_quote (at + 1, PART_QUOTE_MAX);
            return ref_error (err, text, "digest `%s` has characters that are not printable",
                              quoted);
        }
        if (wr_digest_validate (at + 1, err) < 0) {
            cleanup_free char *quoted = wr_quote (text, QUOTE_MAX);
            return wr_error_prefix (err, "image reference `%s`", quoted);
        }
        digest = xstrdup (at + 1);
    }
    if (tag_copy == NULL && digest == NULL)
        tag_copy = xstrdup ("latest");

    ref->registry = steal_pointer (&registry);
    ref->repository = steal_pointer (&repository);
    ref->tag = steal_pointer (&tag_copy);
    ref->digest = steal_pointer (&digest);
    return 0;
}

static char *
with_tag_and_digest (const char *name, const wr_image_ref_t *ref)
{
    return xasprintf ("%s%s%s%s%s", name, ref->tag != NULL ? ":" : "",
                      ref->tag != NULL ? ref->tag : "", ref->digest != NULL ? "@" : "",
                      ref->digest != NULL ? ref->digest : "");
}

char *
wr_image_ref_string (const wr_image_ref_t *ref)
{
    cleanup_free char *name = ref->registry != NULL
                                  ? xasprintf ("%s/%s", ref->registry, ref->repository)
                                  : xstrdup (ref->repository);
    return with_tag_and_digest (name, ref);
}

char *
wr_image_ref_normalize_text (const char *text)
{
    wr_image_ref_t ref = { 0 };
    if (wr_image_ref_parse (text, &ref, NULL) < 0)
        return xstrdup (text);
    char *name = wr_image_ref_string (&ref);
    wr_image_ref_clear (&ref);
    return name;
}

char *
wr_image_ref_familiar (const wr_image_ref_t *ref)
{
    if (ref->registry == NULL || strcmp (ref->registry, WR_DOCKER_HUB) != 0)
        return wr_image_ref_string (ref);
    const char *path = ref->repository;
    size_t prefix_len = strlen (library_prefix);
    if (strncmp (path, library_prefix, prefix_len) == 0 && strchr (path + prefix_len, '/') == NULL)
        path += prefix_len;
    /* Keep "docker.io/" when the short form would read differently: a first
     * component that looks like a host ("docker.io/localhost/x"), or a bare
     * image ID. */
    bool bare = ref->tag == NULL && ref->digest == NULL;
    if (looks_like_domain (path, strlen (path)) || (bare && is_image_id (path, strlen (path))) ||
        (path == ref->repository && strchr (path, '/') == NULL))
        return wr_image_ref_string (ref);
    return with_tag_and_digest (path, ref);
}

const char *
wr_image_ref_reference (const wr_image_ref_t *ref)
{
    if (ref->digest != NULL)
        return ref->digest;
    return ref->tag != NULL ? ref->tag : "latest";
}

void
wr_image_ref_clear (wr_image_ref_t *ref)
{
    if (ref == NULL)
        return;
    free (ref->registry);
    free (ref->repository);
    free (ref->tag);
    free (ref->digest);
    memset (ref, 0, sizeof *ref);
}
