/* A token service for the test registry behind token auth
 * (tests/fixtures/registry-auth): the distribution registry's "token"
 * scheme.  GET /token?service=S&scope=repository:NAME:pull,push with the
 * right basic credentials answers {"token": JWT}; the JWT is signed (ES256)
 * with KEY and carries CERT in its x5c header, CERT being the registry's
 * rootcertbundle.  Anything else is a 401.
 *
 *   token-server --listen 127.0.0.1:5003 --key key.pem --cert cert.pem
 *                --issuer NAME --user USER --password PASSWORD
 *
 * Runs until SIGTERM or SIGINT; logs one line per request on stderr. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "xalloc.h"

#define TOKEN_LIFETIME 300

typedef struct {
    EVP_PKEY *key;
    char *cert_b64; /* DER, standard base64: the x5c entry */
    const char *issuer;
    const char *user;
    const char *password;
} server_t;

static char *
base64 (const unsigned char *data, size_t len)
{
    char *out = xmalloc (4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock ((unsigned char *) out, data, (int) len);
    return out;
}

/* base64url without padding (JWS). */
static char *
base64url (const unsigned char *data, size_t len)
{
    char *out = base64 (data, len);
    char *w = out;
    for (char *p = out; *p; p++) {
        if (*p == '=')
            continue;
        *w++ = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    }
    *w = '\0';
    return out;
}

/* ES256 over INPUT: the raw r || s the JWS wants (not DER). */
static char *
sign_es256 (EVP_PKEY *key, const char *input)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
    size_t der_len = 0;
    unsigned char der[256];
    if (ctx == NULL || EVP_DigestSignInit (ctx, NULL, EVP_sha256 (), NULL, key) != 1 ||
        EVP_DigestSign (ctx, NULL, &der_len, (const unsigned char *) input, strlen (input)) != 1 ||
        der_len > sizeof der ||
        EVP_DigestSign (ctx, der, &der_len, (const unsigned char *) input, strlen (input)) != 1) {
        EVP_MD_CTX_free (ctx);
        return NULL;
    }
    EVP_MD_CTX_free (ctx);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG (NULL, &p, (long) der_len);
    if (sig == NULL)
        return NULL;
    unsigned char raw[64];
    if (BN_bn2binpad (ECDSA_SIG_get0_r (sig), raw, 32) != 32 ||
        BN_bn2binpad (ECDSA_SIG_get0_s (sig), raw + 32, 32) != 32) {
        ECDSA_SIG_free (sig);
        return NULL;
    }
    ECDSA_SIG_free (sig);
    return base64url (raw, sizeof raw);
}

static json_object *
access_entry (const char *scope)
{
    /* repository:NAME:ACTIONS; NAME has no ':' (no host part). */
    const char *first = strchr (scope, ':');
    const char *last = strrchr (scope, ':');
    if (first == NULL || last == first)
        return NULL;
    json_object *entry = json_object_new_object ();
    json_object *actions = json_object_new_array ();
    cleanup_free char *type = xstrndup (scope, (size_t) (first - scope));
    cleanup_free char *name = xstrndup (first + 1, (size_t) (last - first - 1));
    cleanup_free char *wanted = xstrdup (last + 1);
    char *save = NULL;
    for (char *a = strtok_r (wanted, ",", &save); a != NULL; a = strtok_r (NULL, ",", &save))
        if (strcmp (a, "pull") == 0 || strcmp (a, "push") == 0)
            json_object_array_add (actions, json_object_new_string (a));
    json_object_object_add (entry, "type", json_object_new_string (type));
    json_object_object_add (entry, "name", json_object_new_string (name));
    json_object_object_add (entry, "actions", actions);
    return entry;
}

typedef struct {
    json_object *access;
} scopes_t;

static enum MHD_Result
collect_scope (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    scopes_t *s = cls;
    if (key == NULL || value == NULL || strcmp (key, "scope") != 0)
        return MHD_YES;
    /* One argument may hold several scopes separated by spaces. */
    cleanup_free char *copy = xstrdup (value);
    char *save = NULL;
    for (char *one = strtok_r (copy, " ", &save); one != NULL; one = strtok_r (NULL, " ", &save)) {
        json_object *entry = access_entry (one);
        if (entry != NULL)
            json_object_array_add (s->access, entry);
    }
    return MHD_YES;
}

static char *
make_token (server_t *srv, const char *subject, const char *service, json_object *access)
{
    time_t now = time (NULL);
    unsigned char jti_raw[16];
    if (RAND_bytes (jti_raw, sizeof jti_raw) != 1)
        return NULL;
    cleanup_free char *jti = base64url (jti_raw, sizeof jti_raw);

    json_object *header = json_object_new_object ();
    json_object_object_add (header, "typ", json_object_new_string ("JWT"));
    json_object_object_add (header, "alg", json_object_new_string ("ES256"));
    json_object *x5c = json_object_new_array ();
    json_object_array_add (x5c, json_object_new_string (srv->cert_b64));
    json_object_object_add (header, "x5c", x5c);

    json_object *claims = json_object_new_object ();
    json_object_object_add (claims, "iss", json_object_new_string (srv->issuer));
    json_object_object_add (claims, "sub", json_object_new_string (subject));
    json_object_object_add (claims, "aud", json_object_new_string (service));
    json_object_object_add (claims, "exp", json_object_new_int64 (now + TOKEN_LIFETIME));
    json_object_object_add (claims, "nbf", json_object_new_int64 (now - 10));
    json_object_object_add (claims, "iat", json_object_new_int64 (now));
    json_object_object_add (claims, "jti", json_object_new_string (jti));
    json_object_object_add (claims, "access", json_object_get (access));

    const char *h = json_object_to_json_string_ext (header, JSON_C_TO_STRING_PLAIN);
    const char *c = json_object_to_json_string_ext (claims, JSON_C_TO_STRING_PLAIN);
    cleanup_free char *h64 = base64url ((const unsigned char *) h, strlen (h));
    cleanup_free char *c64 = base64url ((const unsigned char *) c, strlen (c));
    json_object_put (header);
    json_object_put (claims);
    cleanup_free char *input = xasprintf ("%s.%s", h64, c64);
    cleanup_free char *sig = sign_es256 (srv->key, input);
    if (sig == NULL)
        return NULL;
    return xasprintf ("%s.%s", input, sig);
}

static enum MHD_Result
reply (struct MHD_Connection *conn, unsigned int status, const char *body, bool challenge)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer (strlen (body), (void *) body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header (r, "Content-Type", "application/json");
    if (challenge)
        MHD_add_response_header (r, "WWW-Authenticate", "Basic realm=\"warren-test-token\"");
    enum MHD_Result ret = MHD_queue_response (conn, status, r);
    MHD_destroy_response (r);
    return ret;
}

static enum MHD_Result
handle (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
        const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    server_t *srv = cls;
    if (strcmp (method, "GET") != 0 || strcmp (url, "/token") != 0) {
        fprintf (stderr, "token-server: %s %s: 404\n", method, url);
        return reply (conn, MHD_HTTP_NOT_FOUND, "{\"errors\":[{\"code\":\"NOT_FOUND\"}]}", false);
    }
    char *password = NULL;
    char *user = MHD_basic_auth_get_username_password (conn, &password);
    bool ok = user != NULL && password != NULL && strcmp (user, srv->user) == 0 &&
              strcmp (password, srv->password) == 0;
    cleanup_free char *subject = user != NULL ? xstrdup (user) : NULL;
    if (user != NULL)
        MHD_free (user);
    if (password != NULL)
        MHD_free (password);
    if (!ok) {
        fprintf (stderr, "token-server: GET /token: 401 (user `%s`)\n", subject ? subject : "");
        return reply (conn, MHD_HTTP_UNAUTHORIZED,
                      "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"wrong or missing "
                      "user name and password\"}]}",
                      true);
    }
    const char *service = MHD_lookup_connection_value (conn, MHD_GET_ARGUMENT_KIND, "service");
    scopes_t scopes = { .access = json_object_new_array () };
    MHD_get_connection_values (conn, MHD_GET_ARGUMENT_KIND, collect_scope, &scopes);
    cleanup_free char *token = make_token (srv, subject, service ? service : "", scopes.access);
    fprintf (stderr, "token-server: GET /token: %s for %s (%s)\n", token ? "200" : "500", subject,
             json_object_to_json_string_ext (scopes.access, JSON_C_TO_STRING_PLAIN));
    json_object_put (scopes.access);
    if (token == NULL)
        return reply (conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "{\"errors\":[{\"code\":\"SIGN\"}]}",
                      false);
    char issued[32];
    time_t now = time (NULL);
    struct tm tm;
    strftime (issued, sizeof issued, "%Y-%m-%dT%H:%M:%SZ", gmtime_r (&now, &tm));
    cleanup_free char *body =
        xasprintf ("{\"token\":\"%s\",\"access_token\":\"%s\",\"expires_in\":%d,"
                   "\"issued_at\":\"%s\"}",
                   token, token, TOKEN_LIFETIME, issued);
    return reply (conn, MHD_HTTP_OK, body, false);
}

static int
load (server_t *srv, const char *key_path, const char *cert_path)
{
    FILE *f = fopen (key_path, "r");
    if (f == NULL) {
        fprintf (stderr, "token-server: open `%s`: %s\n", key_path, strerror (errno));
        return -1;
    }
    srv->key = PEM_read_PrivateKey (f, NULL, NULL, NULL);
    fclose (f);
    if (srv->key == NULL || EVP_PKEY_get_base_id (srv->key) != EVP_PKEY_EC) {
        fprintf (stderr, "token-server: `%s`: not an EC private key\n", key_path);
        return -1;
    }
    f = fopen (cert_path, "r");
    if (f == NULL) {
        fprintf (stderr, "token-server: open `%s`: %s\n", cert_path, strerror (errno));
        return -1;
    }
    X509 *cert = PEM_read_X509 (f, NULL, NULL, NULL);
    fclose (f);
    if (cert == NULL) {
        fprintf (stderr, "token-server: `%s`: not a PEM certificate\n", cert_path);
        return -1;
    }
    unsigned char *der = NULL;
    int len = i2d_X509 (cert, &der);
    X509_free (cert);
    if (len <= 0)
        return -1;
    srv->cert_b64 = base64 (der, (size_t) len);
    OPENSSL_free (der);
    return 0;
}

int
main (int argc, char **argv)
{
    const char *listen_on = NULL, *key = NULL, *cert = NULL;
    server_t srv = { 0 };
    static const struct option options[] = {
        { "listen", required_argument, NULL, 'l' },
        { "key", required_argument, NULL, 'k' },
        { "cert", required_argument, NULL, 'c' },
        { "issuer", required_argument, NULL, 'i' },
        { "user", required_argument, NULL, 'u' },
        { "password", required_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 },
    };
    int opt;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'l':
            listen_on = optarg;
            break;
        case 'k':
            key = optarg;
            break;
        case 'c':
            cert = optarg;
            break;
        case 'i':
            srv.issuer = optarg;
            break;
        case 'u':
            srv.user = optarg;
            break;
        case 'p':
            srv.password = optarg;
            break;
        default:
            return 2;
        }
    }
    if (listen_on == NULL || key == NULL || cert == NULL || srv.issuer == NULL ||
        srv.user == NULL || srv.password == NULL) {
        fprintf (stderr, "usage: token-server --listen ADDR:PORT --key KEY.pem --cert CERT.pem "
                         "--issuer NAME --user USER --password PASSWORD\n");
        return 2;
    }
    const char *colon = strrchr (listen_on, ':');
    struct sockaddr_in addr = { .sin_family = AF_INET };
    cleanup_free char *host = colon ? xstrndup (listen_on, (size_t) (colon - listen_on)) : NULL;
    if (colon == NULL || inet_pton (AF_INET, host, &addr.sin_addr) != 1 || atoi (colon + 1) <= 0) {
        fprintf (stderr, "token-server: --listen `%s`: expected IPV4:PORT\n", listen_on);
        return 2;
    }
    addr.sin_port = htons ((uint16_t) atoi (colon + 1));
    if (load (&srv, key, cert) < 0)
        return 1;

    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGTERM);
    sigaddset (&set, SIGINT);
    pthread_sigmask (SIG_BLOCK, &set, NULL);

    struct MHD_Daemon *d = MHD_start_daemon (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
                                             NULL, NULL, handle, &srv, MHD_OPTION_SOCK_ADDR,
                                             (struct sockaddr *) &addr, MHD_OPTION_END);
    if (d == NULL) {
        fprintf (stderr, "token-server: cannot listen on %s\n", listen_on);
        return 1;
    }
    fprintf (stderr, "token-server: listening on %s\n", listen_on);
    int sig = 0;
    sigwait (&set, &sig);
    MHD_stop_daemon (d);
    EVP_PKEY_free (srv.key);
    free (srv.cert_b64);
    return 0;
}
