#include "registry_auth.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"

/* Bounds on hostile headers: more than this is not a real registry. */
#define MAX_CHALLENGES 16
#define MAX_PARAMS 32

static inline void
cleanup_json_fn (json_object **o)
{
    if (*o != NULL)
        json_object_put (*o);
}
#define cleanup_json __attribute__ ((cleanup (cleanup_json_fn)))

/* ---- WWW-Authenticate ---- */

static bool
is_tchar (char c)
{
    return isalnum ((unsigned char) c) || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool
is_token68_char (char c)
{
    return isalnum ((unsigned char) c) || (c != '\0' && strchr ("-._~+/", c) != NULL);
}

static const char *
skip_space (const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static char *
lower_dup (const char *s, size_t n)
{
    char *out = xstrndup (s, n);
    for (char *q = out; *q; q++)
        *q = (char) tolower ((unsigned char) *q);
    return out;
}

/* Reads a quoted string at P (on the opening quote) into *OUT; returns the
 * position after the closing quote, or NULL when it is not closed. */
static const char *
read_quoted (const char *p, char **out)
{
    size_t len = strlen (p);
    char *buf = xmalloc (len + 1);
    size_t n = 0;
    p++;
    while (*p != '"') {
        if (*p == '\0') {
            free (buf);
            return NULL;
        }
        if (*p == '\\') {
            p++;
            if (*p == '\0') {
                free (buf);
                return NULL;
            }
        }
        buf[n++] = *p++;
    }
    buf[n] = '\0';
    *out = buf;
    return p + 1;
}

static void
challenge_clear (wr_auth_challenge_t *c)
{
    free (c->scheme);
    free (c->token68);
    for (size_t i = 0; i < c->n_params; i++) {
        free (c->params[i].name);
        free (c->params[i].value);
    }
    free (c->params);
}

void
wr_auth_challenges_free (wr_auth_challenge_t *challenges, size_t count)
{
    if (challenges == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        challenge_clear (&challenges[i]);
    free (challenges);
}

static int
challenge_error (wr_error_t *err, const char *header, const char *at, const char *what)
{
    return wr_error_set (err, 0, "WWW-Authenticate header `%.120s`: %s at byte %zu", header, what,
                         (size_t) (at - header));
}

int
wr_auth_parse_challenges (const char *header, wr_auth_challenge_t **challenges, size_t *count,
                          wr_error_t *err)
{
    wr_auth_challenge_t *list = NULL;
    size_t n = 0;
    const char *p = header;

    *challenges = NULL;
    *count = 0;
    if (strlen (header) > WR_AUTH_MAX_HEADER)
        return wr_error_set (err, 0, "WWW-Authenticate header of %zu bytes is too long",
                             strlen (header));

    for (;;) {
        /* Empty list elements are allowed: ", ,Bearer ..." */
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        const char *start = p;
        while (is_tchar (*p))
            p++;
        if (p == start) {
            challenge_error (err, header, p, "expected an authentication scheme");
            goto fail;
        }
        if (n == MAX_CHALLENGES) {
            challenge_error (err, header, start, "too many challenges");
            goto fail;
        }
        list = xrealloc (list, (n + 1) * sizeof *list);
        wr_auth_challenge_t *c = &list[n++];
        memset (c, 0, sizeof *c);
        c->scheme = lower_dup (start, (size_t) (p - start));
        if (*p != '\0' && *p != ' ' && *p != '\t' && *p != ',') {
            challenge_error (err, header, p, "unexpected character after the scheme");
            goto fail;
        }
        p = skip_space (p);

        /* token68 ("Basic dXNlcg==") or a list of name=value parameters. */
        const char *first_end = p;
        while (is_tchar (*first_end))
            first_end++;
        const char *first_eq = skip_space (first_end);
        const char *value_start = skip_space (first_eq + (*first_eq == '='));
        bool is_param = first_end > p && *first_eq == '=' && *value_start != '\0' &&
                        *value_start != ',' && *value_start != '=';
        if (!is_param) {
            const char *t = p;
            while (is_token68_char (*t))
                t++;
            const char *after = t;
            while (*after == '=')
                after++;
            const char *q = skip_space (after);
            if (t > p && (*q == '\0' || *q == ',')) {
                c->token68 = xstrndup (p, (size_t) (after - p));
                p = q;
                continue;
            }
            if (*p == '\0' || *p == ',')
                continue; /* the scheme alone */
            challenge_error (err, header, p, "expected parameters or a token68");
            goto fail;
        }

        /* Parameters: name = (token | quoted-string), separated by commas,
         * until something that is not "name =" (the next challenge). */
        for (;;) {
            p = skip_space (p);
            const char *name = p;
            while (is_tchar (*p))
                p++;
            const char *name_end = p;
            const char *eq = skip_space (p);
            if (name_end == name || *eq != '=') {
                /* Not a parameter: the next challenge starts at NAME. */
                p = name;
                break;
            }
            if (c->n_params == MAX_PARAMS) {
                challenge_error (err, header, name, "too many parameters");
                goto fail;
            }
            p = skip_space (eq + 1);
            char *value = NULL;
            if (*p == '"') {
                const char *end = read_quoted (p, &value);
                if (end == NULL) {
                    challenge_error (err, header, p, "unterminated quoted string");
                    goto fail;
                }
                p = end;
            } else {
                const char *v = p;
                /* Lenient: an unquoted URL has ':' and '/', not token chars. */
                while (*p != '\0' && *p != ',' && *p != ' ' && *p != '\t' && *p != '"')
                    p++;
                if (p == v) {
                    challenge_error (err, header, p, "expected a parameter value");
                    goto fail;
                }
                value = xstrndup (v, (size_t) (p - v));
            }
            c->params = xrealloc (c->params, (c->n_params + 1) * sizeof *c->params);
            c->params[c->n_params].name = lower_dup (name, (size_t) (name_end - name));
            c->params[c->n_params].value = value;
            c->n_params++;
            p = skip_space (p);
            if (*p == '\0')
                break;
            if (*p != ',') {
                challenge_error (err, header, p, "expected ',' after a parameter");
                goto fail;
            }
            while (*p == ',' || *p == ' ' || *p == '\t')
                p++;
            if (*p == '\0')
                break;
        }
    }
    *challenges = list;
    *count = n;
    return 0;

fail:
    wr_auth_challenges_free (list, n);
    return -1;
}

const char *
wr_auth_challenge_param (const wr_auth_challenge_t *challenge, const char *name)
{
    for (size_t i = 0; i < challenge->n_params; i++)
        if (strcasecmp (challenge->params[i].name, name) == 0)
            return challenge->params[i].value;
    return NULL;
}

const wr_auth_challenge_t *
wr_auth_find_challenge (const wr_auth_challenge_t *challenges, size_t count, const char *scheme)
{
    for (size_t i = 0; i < count; i++)
        if (strcasecmp (challenges[i].scheme, scheme) == 0)
            return &challenges[i];
    return NULL;
}

/* ---- base64 (OpenSSL) ---- */

static char *
base64_encode (const void *data, size_t len)
{
    char *out = xmalloc (4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock ((unsigned char *) out, data, (int) len);
    return out;
}

/* Decodes standard base64 with padding; NULL when it is not that. */
static char *
base64_decode (const char *text, size_t *out_len)
{
    size_t len = strlen (text);
    if (len % 4 != 0 || len > INT_MAX)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        bool ok = isalnum ((unsigned char) c) || c == '+' || c == '/' ||
                  (c == '=' && (i == len - 1 || (i == len - 2 && text[len - 1] == '=')));
        if (!ok)
            return NULL;
    }
    char *out = xmalloc (len / 4 * 3 + 1);
    int n = EVP_DecodeBlock ((unsigned char *) out, (const unsigned char *) text, (int) len);
    if (n < 0) {
        free (out);
        return NULL;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    if (len > 0 && text[len - 1] == '=')
        n--;
    if (len > 1 && text[len - 2] == '=')
        n--;
    out[n] = '\0';
    *out_len = (size_t) n;
    return out;
}

char *
wr_auth_basic_header (const char *username, const char *password)
{
    cleanup_free char *pair = xasprintf ("%s:%s", username, password);
    cleanup_free char *encoded = base64_encode (pair, strlen (pair));
    return xasprintf ("Basic %s", encoded);
}

/* ---- config.json ---- */

char *
wr_auth_normalize_host (const char *key)
{
    const char *p = key;
    if (strncasecmp (p, "https://", 8) == 0)
        p += 8;
    else if (strncasecmp (p, "http://", 7) == 0)
        p += 7;
    char *host = lower_dup (p, strcspn (p, "/"));
    if (strcmp (host, "index.docker.io") == 0 || strcmp (host, "registry-1.docker.io") == 0) {
        free (host);
        host = xstrdup ("docker.io");
    }
    return host;
}

/* Parses one JSON object of at most MAX bytes; NULL with *ERR otherwise. */
static json_object *
parse_json_object (const char *data, size_t len, size_t max, const char *name, wr_error_t *err)
{
    if (len > max || len > INT_MAX) {
        wr_error_set (err, 0, "`%s`: %zu bytes is more than the %zu accepted", name, len, max);
        return NULL;
    }
    json_tokener *tok = json_tokener_new ();
    if (tok == NULL)
        abort ();
    json_tokener_set_flags (tok, JSON_TOKENER_VALIDATE_UTF8);
    json_object *root = json_tokener_parse_ex (tok, data, (int) len);
    enum json_tokener_error error = json_tokener_get_error (tok);
    json_tokener_free (tok);
    if (error != json_tokener_success) {
        json_object_put (root);
        wr_error_set (err, 0, "`%s` is not valid JSON: %s", name,
                      error == json_tokener_continue ? "unexpected end of data"
                                                     : json_tokener_error_desc (error));
        return NULL;
    }
    if (!json_object_is_type (root, json_type_object)) {
        json_object_put (root);
        wr_error_set (err, 0, "`%s`: expected a JSON object", name);
        return NULL;
    }
    return root;
}

static const char *
json_string_field (json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex (obj, key, &v) || !json_object_is_type (v, json_type_string))
        return NULL;
    return json_object_get_string (v);
}

void
wr_auth_config_clear (wr_auth_config_t *config)
{
    for (size_t i = 0; i < config->count; i++) {
        free (config->items[i].host);
        free (config->items[i].username);
        if (config->items[i].password != NULL)
            explicit_bzero (config->items[i].password, strlen (config->items[i].password));
        free (config->items[i].password);
    }
    free (config->items);
    config->items = NULL;
    config->count = 0;
}

int
wr_auth_config_parse (const char *data, size_t len, const char *name, wr_auth_config_t *config,
                      wr_error_t *err)
{
    cleanup_json json_object *root = NULL;
    json_object *auths = NULL;

    config->items = NULL;
    config->count = 0;
    root = parse_json_object (data, len, WR_AUTH_MAX_CONFIG, name, err);
    if (root == NULL)
        return -1;
    if (!json_object_object_get_ex (root, "auths", &auths) ||
        json_object_is_type (auths, json_type_null))
        return 0;
    if (!json_object_is_type (auths, json_type_object))
        return wr_error_set (err, 0, "`%s`: \"auths\" is not an object", name);

    json_object_object_foreach (auths, key, entry)
    {
        if (!json_object_is_type (entry, json_type_object))
            continue;
        cleanup_free char *username = NULL;
        cleanup_free char *password = NULL;
        const char *auth = json_string_field (entry, "auth");
        if (auth != NULL && auth[0] != '\0') {
            size_t n = 0;
            cleanup_free char *pair = base64_decode (auth, &n);
            if (pair == NULL || memchr (pair, '\0', n) != NULL) {
                wr_auth_config_clear (config);
                return wr_error_set (err, 0, "`%s`: auths[\"%.100s\"].auth is not valid base64",
                                     name, key);
            }
            char *colon = strchr (pair, ':');
            if (colon == NULL) {
                wr_auth_config_clear (config);
                return wr_error_set (err, 0,
                                     "`%s`: auths[\"%.100s\"].auth is not base64 of user:password",
                                     name, key);
            }
            username = xstrndup (pair, (size_t) (colon - pair));
            password = xstrdup (colon + 1);
            explicit_bzero (pair, n);
        } else {
            const char *u = json_string_field (entry, "username");
            const char *pw = json_string_field (entry, "password");
            if (u == NULL || pw == NULL)
                continue;
            username = xstrdup (u);
            password = xstrdup (pw);
        }
        config->items = xrealloc (config->items, (config->count + 1) * sizeof *config->items);
        wr_auth_credential_t *cred = &config->items[config->count++];
        cred->host = wr_auth_normalize_host (key);
        cred->username = steal_pointer (&username);
        cred->password = steal_pointer (&password);
    }
    return 0;
}

int
wr_auth_config_load (const char *path, wr_auth_config_t *config, wr_error_t *err)
{
    cleanup_close int fd = -1;
    cleanup_free char *data = NULL;
    struct stat st;

    config->items = NULL;
    config->count = 0;
    fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return wr_error_set (err, errno, "open `%s`", path);
    }
    if (fstat (fd, &st) < 0)
        return wr_error_set (err, errno, "stat `%s`", path);
    if (!S_ISREG (st.st_mode) || st.st_size > WR_AUTH_MAX_CONFIG)
        return wr_error_set (err, 0, "`%s`: not a regular file of at most %d bytes", path,
                             WR_AUTH_MAX_CONFIG);
    data = xmalloc ((size_t) st.st_size + 1);
    size_t have = 0;
    while (have < (size_t) st.st_size) {
        ssize_t r = read (fd, data + have, (size_t) st.st_size - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return wr_error_set (err, errno, "read `%s`", path);
        if (r == 0)
            break;
        have += (size_t) r;
    }
    int ret = wr_auth_config_parse (data, have, path, config, err);
    explicit_bzero (data, have);
    return ret;
}

char *
wr_auth_config_default_path (const char *docker_config, const char *home)
{
    if (docker_config != NULL && docker_config[0] != '\0')
        return xasprintf ("%s/config.json", docker_config);
    if (home != NULL && home[0] != '\0')
        return xasprintf ("%s/.docker/config.json", home);
    return NULL;
}

const wr_auth_credential_t *
wr_auth_config_find (const wr_auth_config_t *config, const char *registry)
{
    cleanup_free char *host = wr_auth_normalize_host (registry);
    for (size_t i = 0; i < config->count; i++)
        if (strcmp (config->items[i].host, host) == 0)
            return &config->items[i];
    return NULL;
}

/* ---- token answers ---- */

int
wr_auth_parse_token_answer (const char *data, size_t len, const char *name, char **token,
                            wr_error_t *err)
{
    cleanup_json json_object *root = NULL;

    *token = NULL;
    root = parse_json_object (data, len, WR_AUTH_MAX_TOKEN_ANSWER, name, err);
    if (root == NULL)
        return -1;
    const char *value = json_string_field (root, "token");
    if (value == NULL || value[0] == '\0')
        value = json_string_field (root, "access_token");
    if (value == NULL || value[0] == '\0')
        return wr_error_set (err, 0, "`%s`: the answer has no \"token\" or \"access_token\"", name);
    for (const char *p = value; *p; p++)
        if ((unsigned char) *p < 0x21 || (unsigned char) *p > 0x7e)
            return wr_error_set (err, 0, "`%s`: the token holds a byte that cannot go in a header",
                                 name);
    *token = xstrdup (value);
    return 0;
}
