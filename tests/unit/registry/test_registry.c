/* The registry client: its parsers (WWW-Authenticate, config.json auths,
 * token answers, error bodies), endpoint choice, and the client itself
 * against a small HTTP server in this process (auth, retries, limits,
 * digests, redirects, resumed blobs).  The real registries are exercised
 * by tests/integration/registry.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "fake_registry.h"
#include "error.h"
#include "registry.h"
#include "registry_auth.h"
#include "registry_http.h"
#include "store.h"
#include "xalloc.h"

/* ---- WWW-Authenticate ---- */

static void
test_challenge_bearer (void **state)
{
    wr_auth_challenge_t *c = NULL;
    size_t n = 0;
    assert_int_equal (wr_auth_parse_challenges (
                          "Bearer realm=\"https://auth.docker.io/token\",service="
                          "\"registry.docker.io\",scope=\"repository:library/busybox:pull\"",
                          &c, &n, NULL),
                      0);
    assert_int_equal (n, 1);
    assert_string_equal (c[0].scheme, "bearer");
    assert_int_equal (c[0].n_params, 3);
    assert_string_equal (wr_auth_challenge_param (&c[0], "realm"), "https://auth.docker.io/token");
    assert_string_equal (wr_auth_challenge_param (&c[0], "SERVICE"), "registry.docker.io");
    assert_string_equal (wr_auth_challenge_param (&c[0], "scope"),
                         "repository:library/busybox:pull");
    assert_null (wr_auth_challenge_param (&c[0], "error"));
    wr_auth_challenges_free (c, n);
}

static void
test_challenge_escapes_and_several (void **state)
{
    wr_auth_challenge_t *c = NULL;
    size_t n = 0;
    /* A quoted comma and escaped quote; spaces around '='; a second
     * challenge after the first one's parameters; an empty list element. */
    const char *header = "Basic realm=\"a \\\"b\\\", c\" , , bearer realm = "
                         "\"http://127.0.0.1:1/t?x=1\", service=reg,  error=\"insufficient_scope\"";
    assert_int_equal (wr_auth_parse_challenges (header, &c, &n, NULL), 0);
    assert_int_equal (n, 2);
    assert_string_equal (c[0].scheme, "basic");
    assert_string_equal (wr_auth_challenge_param (&c[0], "realm"), "a \"b\", c");
    assert_string_equal (c[1].scheme, "bearer");
    assert_string_equal (wr_auth_challenge_param (&c[1], "realm"), "http://127.0.0.1:1/t?x=1");
    assert_string_equal (wr_auth_challenge_param (&c[1], "service"), "reg");
    assert_string_equal (wr_auth_challenge_param (&c[1], "error"), "insufficient_scope");
    assert_ptr_equal (wr_auth_find_challenge (c, n, "Bearer"), &c[1]);
    assert_ptr_equal (wr_auth_find_challenge (c, n, "basic"), &c[0]);
    assert_null (wr_auth_find_challenge (c, n, "negotiate"));
    wr_auth_challenges_free (c, n);
}

static void
test_challenge_token68_and_bare (void **state)
{
    wr_auth_challenge_t *c = NULL;
    size_t n = 0;
    assert_int_equal (
        wr_auth_parse_challenges ("Negotiate, Other dXNlcjpw==, Basic realm=\"r\"", &c, &n, NULL),
        0);
    assert_int_equal (n, 3);
    assert_string_equal (c[0].scheme, "negotiate");
    assert_null (c[0].token68);
    assert_int_equal (c[0].n_params, 0);
    assert_string_equal (c[1].scheme, "other");
    assert_string_equal (c[1].token68, "dXNlcjpw==");
    assert_string_equal (c[2].scheme, "basic");
    assert_string_equal (wr_auth_challenge_param (&c[2], "realm"), "r");
    wr_auth_challenges_free (c, n);
}

static void
test_challenge_errors (void **state)
{
    const char *bad[] = {
        "Bearer realm=\"unterminated",
        "Bearer realm=\"a\" service=\"b\"", /* no comma */
        "Bearer realm=\"x\\",
        "\"quoted\" realm=x",
        "Bearer @@@",
        "Bearer realm=\"a\", (x)",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wr_auth_challenge_t *c = NULL;
        size_t n = 0;
        wr_error_t err = NULL;
        if (wr_auth_parse_challenges (bad[i], &c, &n, &err) != -1)
            fail_msg ("accepted `%s`", bad[i]);
        assert_non_null (strstr (err->message, "WWW-Authenticate"));
        assert_null (c);
        wr_error_free (&err);
    }
    /* Bounded: a header with thousands of challenges is refused. */
    char *many = xmalloc (20 * 100 + 1);
    many[0] = '\0';
    for (int i = 0; i < 100; i++)
        strcat (many, "Basic realm=x, ");
    wr_auth_challenge_t *c = NULL;
    size_t n = 0;
    wr_error_t err = NULL;
    assert_int_equal (wr_auth_parse_challenges (many, &c, &n, &err), -1);
    assert_non_null (strstr (err->message, "too many"));
    wr_error_free (&err);
    free (many);
}

/* ---- config.json ---- */

static void
test_config_auths (void **state)
{
    /* "alice:secret:with:colons" and "bob:pw" in base64. */
    const char *json =
        "{\"auths\": {"
        "\"127.0.0.1:5001\": {\"auth\": \"YWxpY2U6c2VjcmV0OndpdGg6Y29sb25z\"},"
        "\"https://index.docker.io/v1/\": {\"auth\": \"Ym9iOnB3\"},"
        "\"http://Registry.Example:443/v2\": {\"username\": \"u\", \"password\": \"p\"},"
        "\"helper.example\": {},"
        "\"weird\": 5"
        "}, \"credsStore\": \"desktop\"}";
    wr_auth_config_t config;
    assert_int_equal (wr_auth_config_parse (json, strlen (json), "config.json", &config, NULL), 0);
    assert_int_equal (config.count, 3);

    const wr_auth_credential_t *c = wr_auth_config_find (&config, "127.0.0.1:5001");
    assert_non_null (c);
    assert_string_equal (c->username, "alice");
    assert_string_equal (c->password, "secret:with:colons");
    /* Docker Hub under any of its names. */
    for (const char *const *name =
             (const char *const[]){ "docker.io", "index.docker.io", "registry-1.docker.io", NULL };
         *name != NULL; name++) {
        c = wr_auth_config_find (&config, *name);
        assert_non_null (c);
        assert_string_equal (c->username, "bob");
        assert_string_equal (c->password, "pw");
    }
    c = wr_auth_config_find (&config, "registry.example:443");
    assert_non_null (c);
    assert_string_equal (c->username, "u");
    assert_null (wr_auth_config_find (&config, "registry.example"));
    assert_null (wr_auth_config_find (&config, "127.0.0.1:5002"));
    assert_null (wr_auth_config_find (&config, "helper.example"));
    wr_auth_config_clear (&config);
}

static void
test_config_errors (void **state)
{
    const char *cases[][2] = {
        { "{\"auths\": {\"h\": {\"auth\": \"!!!!\"}}}", "not valid base64" },
        { "{\"auths\": {\"h\": {\"auth\": \"bm9jb2xvbg==\"}}}", "user:password" },
        { "{\"auths\": []}", "not an object" },
        { "{\"auths\": ", "not valid JSON" },
        { "[1]", "expected a JSON object" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wr_auth_config_t config;
        wr_error_t err = NULL;
        assert_int_equal (
            wr_auth_config_parse (cases[i][0], strlen (cases[i][0]), "cfg.json", &config, &err),
            -1);
        if (strstr (err->message, cases[i][1]) == NULL)
            fail_msg ("`%s`: error `%s` lacks `%s`", cases[i][0], err->message, cases[i][1]);
        assert_non_null (strstr (err->message, "cfg.json"));
        wr_error_free (&err);
    }
    /* No auths at all, or a missing file: no credentials, no error. */
    wr_auth_config_t config;
    assert_int_equal (wr_auth_config_parse ("{}", 2, "x", &config, NULL), 0);
    assert_int_equal (config.count, 0);
    assert_int_equal (wr_auth_config_load ("/nonexistent/warren/config.json", &config, NULL), 0);
    assert_int_equal (config.count, 0);
}

static void
test_config_default_path (void **state)
{
    cleanup_free char *a = wr_auth_config_default_path ("/tmp/dc", "/home/x");
    assert_string_equal (a, "/tmp/dc/config.json");
    cleanup_free char *b = wr_auth_config_default_path ("", "/home/x");
    assert_string_equal (b, "/home/x/.docker/config.json");
    assert_null (wr_auth_config_default_path (NULL, NULL));
    assert_null (wr_auth_config_default_path ("", ""));
}

static void
test_token_answer (void **state)
{
    char *token = NULL;
    const char *a = "{\"token\": \"abc.def\", \"expires_in\": 300}";
    assert_int_equal (wr_auth_parse_token_answer (a, strlen (a), "t", &token, NULL), 0);
    assert_string_equal (token, "abc.def");
    free (token);
    const char *b = "{\"access_token\": \"xyz\"}";
    assert_int_equal (wr_auth_parse_token_answer (b, strlen (b), "t", &token, NULL), 0);
    assert_string_equal (token, "xyz");
    free (token);

    const char *bad[] = { "{}", "{\"token\": \"\"}", "{\"token\": \"a\\r\\nX-Evil: 1\"}",
                          "{\"token\": 5}", "nope" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wr_error_t err = NULL;
        assert_int_equal (wr_auth_parse_token_answer (bad[i], strlen (bad[i]), "t", &token, &err),
                          -1);
        assert_null (token);
        wr_error_free (&err);
    }
    cleanup_free char *basic = wr_auth_basic_header ("alice", "pw");
    assert_string_equal (basic, "Basic YWxpY2U6cHc=");
}

/* ---- endpoints ---- */

static void
test_loopback_and_insecure (void **state)
{
    assert_true (wr_registry_host_is_loopback ("127.0.0.1:5000"));
    assert_true (wr_registry_host_is_loopback ("127.1.2.3"));
    assert_true (wr_registry_host_is_loopback ("localhost:5000"));
    assert_true (wr_registry_host_is_loopback ("LocalHost"));
    assert_true (wr_registry_host_is_loopback ("[::1]:5000"));
    assert_true (wr_registry_host_is_loopback ("[::1]"));
    assert_false (wr_registry_host_is_loopback ("128.0.0.1:5000"));
    assert_false (wr_registry_host_is_loopback ("127.0.0.1.example.com"));
    assert_false (wr_registry_host_is_loopback ("localhost.example.com:5000"));
    assert_false (wr_registry_host_is_loopback ("[::2]:5000"));
    assert_false (wr_registry_host_is_loopback ("docker.io"));

    const char *insecure[] = { "reg.lan:5000", "http://other.lan/", "[fd00::1]", NULL };
    assert_true (wr_registry_host_is_insecure ("reg.lan:5000", insecure));
    assert_false (wr_registry_host_is_insecure ("reg.lan:5001", insecure));
    assert_false (wr_registry_host_is_insecure ("reg.lan", insecure));
    assert_true (wr_registry_host_is_insecure ("other.lan:8080", insecure));
    assert_true (wr_registry_host_is_insecure ("other.lan", insecure));
    assert_true (wr_registry_host_is_insecure ("[fd00::1]:5000", insecure));
    assert_false (wr_registry_host_is_insecure ("evil.lan", insecure));
    assert_false (wr_registry_host_is_insecure ("reg.lan:5000", NULL));
}

static void
check_base_url (const char *registry, const char *mirror, const char *const *insecure,
                const char *want_url, const char *want_host)
{
    char *url = NULL, *host = NULL;
    wr_error_t err = NULL;
    if (wr_registry_base_url (registry, mirror, insecure, &url, &host, &err) < 0)
        fail_msg ("%s: %s", registry, err->message);
    assert_string_equal (url, want_url);
    assert_string_equal (host, want_host);
    free (url);
    free (host);
}

static void
test_base_url (void **state)
{
    const char *insecure[] = { "reg.lan:5000", NULL };
    check_base_url ("127.0.0.1:5000", NULL, NULL, "http://127.0.0.1:5000", "127.0.0.1:5000");
    check_base_url ("[::1]:5000", NULL, NULL, "http://[::1]:5000", "[::1]:5000");
    check_base_url ("localhost", NULL, NULL, "http://localhost", "localhost");
    check_base_url ("quay.io", NULL, NULL, "https://quay.io", "quay.io");
    check_base_url ("reg.lan:5000", NULL, insecure, "http://reg.lan:5000", "reg.lan:5000");
    check_base_url ("reg.lan:5001", NULL, insecure, "https://reg.lan:5001", "reg.lan:5001");
    check_base_url ("docker.io", NULL, NULL, "https://registry-1.docker.io",
                    "registry-1.docker.io");
    check_base_url ("docker.io", "http://127.0.0.1:5000/", NULL, "http://127.0.0.1:5000",
                    "127.0.0.1:5000");
    check_base_url ("docker.io", "127.0.0.1:5000", NULL, "http://127.0.0.1:5000", "127.0.0.1:5000");
    check_base_url ("docker.io", "mirror.example", NULL, "https://mirror.example",
                    "mirror.example");
    check_base_url ("docker.io", "https://mirror.example/prefix", NULL,
                    "https://mirror.example/prefix", "mirror.example");
    /* The mirror is for docker.io only. */
    check_base_url ("quay.io", "http://127.0.0.1:5000", NULL, "https://quay.io", "quay.io");

    char *url = NULL;
    wr_error_t err = NULL;
    assert_int_equal (
        wr_registry_base_url ("docker.io", "http://mirror.example", NULL, &url, NULL, &err), -1);
    assert_non_null (strstr (err->message, "plain HTTP"));
    assert_null (url);
    wr_error_free (&err);
    assert_int_equal (wr_registry_base_url ("docker.io", "ftp://m", NULL, &url, NULL, &err), -1);
    wr_error_free (&err);
    assert_int_equal (wr_registry_base_url ("evil/host@x", NULL, NULL, &url, NULL, &err), -1);
    assert_non_null (strstr (err->message, "evil/host@x"));
    wr_error_free (&err);
}

static void
test_describe (void **state)
{
    wr_http_response_t r = { 0 };
    r.status = 404;
    r.reason = xstrdup ("Not Found");
    r.body = xstrdup ("{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest "
                      "unknown\",\"detail\":{\"Tag\":\"nope\"}}]}\n");
    r.body_len = strlen (r.body);
    cleanup_free char *a = wr_http_describe (&r);
    assert_string_equal (a, "404 Not Found (MANIFEST_UNKNOWN: manifest unknown)");
    /* The kinds of answers: missing, worth trying later, refused. */
    assert_int_equal (wr_http_status_kind (404), WR_ERROR_NOT_FOUND);
    assert_int_equal (wr_http_status_kind (503), WR_ERROR_UNAVAILABLE);
    assert_int_equal (wr_http_status_kind (429), WR_ERROR_UNAVAILABLE);
    assert_int_equal (wr_http_status_kind (401), WR_ERROR_INVALID);
    free (r.reason);
    r.reason = NULL; /* HTTP/2: no reason phrase */
    free (r.body);
    r.body = xstrdup ("<html>oops</html>");
    r.body_len = strlen (r.body);
    r.status = 503;
    cleanup_free char *b = wr_http_describe (&r);
    assert_string_equal (b, "503 Service Unavailable");
    wr_http_response_clear (&r);

    assert_null (wr_http_registry_error ("{\"errors\":[]}", 13));
    cleanup_free char *c = wr_http_registry_error ("{\"errors\":[{\"code\":\"X\\nY\"}]}", 28);
    assert_string_equal (c, "X Y");
}

/* ---- a registry in this process: fake_registry.h ---- */

static const char manifest_body[] = "{\"schemaVersion\":2,\"mediaType\":"
                                    "\"application/vnd.oci.image.manifest.v1+json\"}";

static char *
digest_of (const char *data, size_t len)
{
    char *d = xmalloc (WR_DIGEST_MAX_LEN + 1);
    wr_sha256_digest (data, len, d);
    return d;
}

static wr_image_ref_t
make_ref (fake_server_t *srv, const char *repository)
{
    wr_image_ref_t ref = { 0 };
    ref.registry = xasprintf ("127.0.0.1:%d", srv->port);
    ref.repository = xstrdup (repository);
    ref.tag = xstrdup ("latest");
    return ref;
}

static void
clear_ref (wr_image_ref_t *ref)
{
    free (ref->registry);
    free (ref->repository);
    free (ref->tag);
    free (ref->digest);
}

static wr_registry_t *
new_client (const char *auth_config)
{
    wr_registry_options_t opts = { .auth_config = auth_config, .retries = 2 };
    wr_error_t err = NULL;
    wr_registry_t *r = wr_registry_new (&opts, &err);
    if (r == NULL)
        fail_msg ("%s", err->message);
    return r;
}

/* Anonymous registry: a manifest by tag and by digest, a 404, limits. */
static void
plain_handler (fake_server_t *srv, const fake_request_t *req, fake_answer_t *ans)
{
    static char *big;
    char *digest = digest_of (manifest_body, strlen (manifest_body));
    cleanup_free char *by_digest = xasprintf ("/v2/a/b/manifests/%s", digest);
    if (strcmp (req->path, "/v2/a/b/manifests/latest") == 0 || strcmp (req->path, by_digest) == 0) {
        answer (ans, 200, manifest_body);
        add_header (ans, "Content-Type: application/vnd.oci.image.manifest.v1+json; charset=x");
        add_header (ans, "Docker-Content-Digest: %s", digest);
    } else if (strcmp (req->path, "/v2/a/b/manifests/lying") == 0) {
        answer (ans, 200, manifest_body);
        add_header (ans, "Docker-Content-Digest: sha256:%064d", 0);
    } else if (strcmp (req->path, "/v2/a/b/manifests/huge") == 0) {
        if (big == NULL) {
            big = xmalloc (WR_MANIFEST_MAX_SIZE + 2);
            memset (big, ' ', WR_MANIFEST_MAX_SIZE + 1);
            big[WR_MANIFEST_MAX_SIZE + 1] = '\0';
        }
        answer (ans, 200, big);
    } else if (strncmp (req->path, "/v2/a/b/manifests/sha256:", 25) == 0) {
        /* Asked by another digest: answer the same document. */
        answer (ans, 200, manifest_body);
    } else if (strcmp (req->path, "/v2/a/b/manifests/flaky") == 0) {
        if (fake_count (srv, "/flaky") < 3) {
            answer (ans, 503, "busy");
            add_header (ans, "Retry-After: 0");
        } else {
            answer (ans, 200, manifest_body);
        }
    } else {
        answer (ans, 404,
                "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}");
    }
    free (digest);
}

static void
test_manifest_anonymous (void **state)
{
    fake_server_t *srv = fake_start (plain_handler, NULL);
    wr_image_ref_t ref = make_ref (srv, "a/b");
    wr_registry_t *r = new_client ("/nonexistent/config.json");
    char *body = NULL, *type = NULL, *digest = NULL;
    size_t len = 0;
    wr_error_t err = NULL;
    cleanup_free char *want = digest_of (manifest_body, strlen (manifest_body));

    if (wr_registry_get_manifest (r, &ref, "latest", &body, &len, &type, &digest, &err) < 0)
        fail_msg ("%s", err->message);
    assert_int_equal (len, strlen (manifest_body));
    assert_memory_equal (body, manifest_body, len);
    assert_string_equal (type, "application/vnd.oci.image.manifest.v1+json");
    assert_string_equal (digest, want);
    free (body), free (type), free (digest);

    /* By digest: checked against it. */
    assert_int_equal (wr_registry_get_manifest (r, &ref, want, &body, &len, NULL, &digest, &err),
                      0);
    assert_string_equal (digest, want);
    free (body), free (digest);
    const char *other = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    assert_int_equal (wr_registry_get_manifest (r, &ref, other, &body, &len, NULL, NULL, &err), -1);
    assert_null (body);
    assert_non_null (strstr (err->message, "not the sha256:1111"));
    wr_error_free (&err);

    /* A registry whose Docker-Content-Digest disagrees with the body. */
    assert_int_equal (wr_registry_get_manifest (r, &ref, "lying", &body, &len, NULL, NULL, &err),
                      -1);
    assert_non_null (strstr (err->message, "the registry says"));
    assert_null (body);
    wr_error_free (&err);

    /* 404: the message names the request and the registry's error. */
    assert_int_equal (wr_registry_get_manifest (r, &ref, "nope", &body, &len, NULL, NULL, &err),
                      -1);
    cleanup_free char *want_msg = xasprintf ("GET http://127.0.0.1:%d/v2/a/b/manifests/nope: 404 "
                                             "Fake (MANIFEST_UNKNOWN: manifest unknown)",
                                             srv->port);
    assert_string_equal (err->message, want_msg);
    /* ... and is of kind not_found, so the mirror for sandboxes answers 404. */
    assert_int_equal (wr_error_kind (err), WR_ERROR_NOT_FOUND);
    wr_error_free (&err);

    /* Over WR_MANIFEST_MAX_SIZE: the transfer is cut off. */
    assert_int_equal (wr_registry_get_manifest (r, &ref, "huge", &body, &len, NULL, NULL, &err),
                      -1);
    assert_non_null (strstr (err->message, "larger than"));
    assert_null (body);
    wr_error_free (&err);

    /* 503 twice, then an answer: retried (retries = 2). */
    assert_int_equal (wr_registry_get_manifest (r, &ref, "flaky", &body, &len, NULL, NULL, &err),
                      0);
    assert_int_equal (fake_count (srv, "/flaky"), 3);
    free (body);

    /* Bad names never reach the network. */
    assert_int_equal (wr_registry_get_manifest (r, &ref, "../x", &body, &len, NULL, NULL, &err),
                      -1);
    wr_error_free (&err);
    assert_int_equal (
        wr_registry_get_manifest (r, &ref, "sha256:../x", &body, &len, NULL, NULL, &err), -1);
    wr_error_free (&err);

    wr_registry_free (r);
    clear_ref (&ref);
    fake_stop (srv);
}

/* Token auth: /v2/... needs a bearer token that /token hands out for the
 * basic credentials alice:pw. */
static void
token_handler (fake_server_t *srv, const fake_request_t *req, fake_answer_t *ans)
{
    if (strncmp (req->path, "/token?", 7) == 0) {
        if (strcmp (req->authorization, "Basic YWxpY2U6cHc=") != 0 ||
            strstr (req->path, "service=fake%20registry") == NULL ||
            strstr (req->path, "scope=repository%3Aa%2Fb%3Apull") == NULL) {
            answer (ans, 401, "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"bad creds\"}]}");
            return;
        }
        answer (ans, 200, "{\"access_token\":\"tok123\",\"expires_in\":60}");
        return;
    }
    if (strcmp (req->authorization, "Bearer tok123") != 0) {
        answer (ans, 401, "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"auth\"}]}");
        add_header (ans,
                    "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d/token\","
                    "service=\"fake registry\",scope=\"repository:a/b:pull\"",
                    srv->port);
        return;
    }
    answer (ans, 200, manifest_body);
}

static char *
write_config (const char *json)
{
    char tmpl[] = "/tmp/warren-test-registry-XXXXXX";
    assert_non_null (mkdtemp (tmpl));
    char *path = xasprintf ("%s/config.json", tmpl);
    FILE *f = fopen (path, "w");
    assert_non_null (f);
    fputs (json, f);
    fclose (f);
    return path;
}

static void
remove_config (char *path)
{
    unlink (path);
    *strrchr (path, '/') = '\0';
    rmdir (path);
    free (path);
}

static void
test_manifest_token_auth (void **state)
{
    fake_server_t *srv = fake_start (token_handler, NULL);
    wr_image_ref_t ref = make_ref (srv, "a/b");
    char *body = NULL;
    size_t len = 0;
    wr_error_t err = NULL;

    /* Without credentials the token service says no, and the error says so. */
    wr_registry_t *r = new_client ("/nonexistent/config.json");
    assert_int_equal (wr_registry_get_manifest (r, &ref, "latest", &body, &len, NULL, NULL, &err),
                      -1);
    assert_non_null (strstr (err->message, "DENIED: bad creds"));
    assert_non_null (strstr (err->message, "no credentials"));
    wr_error_free (&err);
    wr_registry_free (r);

    char *json =
        xasprintf ("{\"auths\":{\"127.0.0.1:%d\":{\"auth\":\"YWxpY2U6cHc=\"}}}", srv->port);
    char *config = write_config (json);
    free (json);
    r = new_client (config);
    if (wr_registry_get_manifest (r, &ref, "latest", &body, &len, NULL, NULL, &err) < 0)
        fail_msg ("%s", err->message);
    assert_memory_equal (body, manifest_body, len);
    free (body);
    /* One token request failed above, one succeeded now. */
    assert_int_equal (fake_count (srv, "/token"), 2);
    /* The token is kept: a second request fetches none. */
    assert_int_equal (wr_registry_get_manifest (r, &ref, "latest", &body, &len, NULL, NULL, &err),
                      0);
    free (body);
    assert_int_equal (fake_count (srv, "/token"), 2);
    wr_registry_free (r);
    remove_config (config);
    clear_ref (&ref);
    fake_stop (srv);
}

/* Basic auth (htpasswd-style registry). */
static void
basic_handler (fake_server_t *srv, const fake_request_t *req, fake_answer_t *ans)
{
    if (strcmp (req->authorization, "Basic Ym9iOnNlY3JldA==") != 0) {
        answer (ans, 401, "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"no\"}]}");
        add_header (ans, "WWW-Authenticate: Basic realm=\"fake\"");
        return;
    }
    answer (ans, 200, manifest_body);
}

static void
test_manifest_basic_auth (void **state)
{
    fake_server_t *srv = fake_start (basic_handler, NULL);
    wr_image_ref_t ref = make_ref (srv, "a/b");
    char *body = NULL;
    size_t len = 0;
    wr_error_t err = NULL;

    wr_registry_t *r = new_client ("/nonexistent/config.json");
    assert_int_equal (wr_registry_get_manifest (r, &ref, "latest", &body, &len, NULL, NULL, &err),
                      -1);
    assert_non_null (strstr (err->message, "asks for a user name and password"));
    wr_error_free (&err);
    wr_registry_free (r);

    /* Wrong password: one try with it, then the registry's refusal. */
    char *json = xasprintf ("{\"auths\":{\"http://127.0.0.1:%d\":{\"username\":\"bob\","
                            "\"password\":\"wrong\"}}}",
                            srv->port);
    char *config = write_config (json);
    free (json);
    r = new_client (config);
    assert_int_equal (wr_registry_get_manifest (r, &ref, "latest", &body, &len, NULL, NULL, &err),
                      -1);
    assert_non_null (strstr (err->message, "401"));
    wr_error_free (&err);
    wr_registry_free (r);
    remove_config (config);

    json = xasprintf ("{\"auths\":{\"http://127.0.0.1:%d\":{\"username\":\"bob\","
                      "\"password\":\"secret\"}}}",
                      srv->port);
    config = write_config (json);
    free (json);
    r = new_client (config);
    if (wr_registry_get_manifest (r, &ref, "latest", &body, &len, NULL, NULL, &err) < 0)
        fail_msg ("%s", err->message);
    free (body);
    wr_registry_free (r);
    remove_config (config);
    clear_ref (&ref);
    fake_stop (srv);
}

/* docker.io goes to the mirror when one is set. */
static void
mirror_handler (fake_server_t *srv, const fake_request_t *req, fake_answer_t *ans)
{
    if (strcmp (req->path, "/v2/library/busybox/manifests/latest") == 0)
        answer (ans, 200, manifest_body);
}

static void
test_manifest_through_mirror (void **state)
{
    fake_server_t *srv = fake_start (mirror_handler, NULL);
    cleanup_free char *mirror = xasprintf ("http://127.0.0.1:%d/", srv->port);
    wr_registry_options_t opts = { .docker_io_mirror = mirror,
                                   .auth_config = "/nonexistent/config.json" };
    wr_error_t err = NULL;
    wr_registry_t *r = wr_registry_new (&opts, &err);
    assert_non_null (r);
    wr_image_ref_t ref = { .registry = xstrdup ("docker.io"),
                           .repository = xstrdup ("library/busybox"),
                           .tag = xstrdup ("latest") };
    char *body = NULL;
    size_t len = 0;
    if (wr_registry_get_manifest (r, &ref, NULL, &body, &len, NULL, NULL, &err) < 0)
        fail_msg ("%s", err->message);
    free (body);
    assert_int_equal (fake_count (srv, "/v2/library/busybox/manifests/latest"), 1);
    wr_registry_free (r);
    clear_ref (&ref);
    fake_stop (srv);

    /* Options out of range are refused. */
    wr_registry_options_t bad = { .max_parallel = 1000 };
    assert_null (wr_registry_new (&bad, &err));
    assert_non_null (strstr (err->message, "max_parallel"));
    wr_error_free (&err);
    /* A config.json that is not JSON is an error naming it. */
    char *config = write_config ("{not json");
    wr_registry_options_t broken = { .auth_config = config };
    assert_null (wr_registry_new (&broken, &err));
    assert_non_null (strstr (err->message, config));
    wr_error_free (&err);
    remove_config (config);
}

/* Tokens expire: a 401 with a token that worked before gets a new one. */
static int token_generation;

static void
expiring_token_handler (fake_server_t *srv, const fake_request_t *req, fake_answer_t *ans)
{
    static char token_body[64];
    if (strncmp (req->path, "/token", 6) == 0) {
        token_generation++;
        snprintf (token_body, sizeof token_body, "{\"token\":\"gen%d\"}", token_generation);
        answer (ans, 200, token_body);
        return;
    }
    char want[32];
    snprintf (want, sizeof want, "Bearer gen%d", token_generation);
    /* Each token is good for one request. */
    if (token_generation == 0 || strcmp (req->authorization, want) != 0 ||
        fake_count (srv, "/manifests/") > 2 * (size_t) token_generation) {
        answer (ans, 401, "{}");
        add_header (ans, "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d/token\"", srv->port);
        return;
    }
    answer (ans, 200, manifest_body);
}

static void
test_expired_token_renewed (void **state)
{
    token_generation = 0;
    fake_server_t *srv = fake_start (expiring_token_handler, NULL);
    wr_image_ref_t ref = make_ref (srv, "a/b");
    wr_registry_t *r = new_client ("/nonexistent/config.json");
    char *body = NULL;
    size_t len = 0;
    wr_error_t err = NULL;
    for (int i = 0; i < 3; i++) {
        if (wr_registry_get_manifest (r, &ref, "latest", &body, &len, NULL, NULL, &err) < 0)
            fail_msg ("request %d: %s", i, err->message);
        free (body);
    }
    assert_int_equal (fake_count (srv, "/token"), 3);
    wr_registry_free (r);
    clear_ref (&ref);
    fake_stop (srv);
}

/* ---- blobs ---- */

#define BLOB_SIZE (256 * 1024)

typedef enum {
    BLOB_OK,
    BLOB_TRUNCATE_FIRST, /* the first answer stops half way; ranges honoured */
    BLOB_TRUNCATE_IGNORE_RANGE, /* the same, then ranges ignored (200) */
    BLOB_TRUNCATE_ALWAYS, /* every answer stops half way */
    BLOB_WRONG_CONTENT, /* right size, other bytes */
    BLOB_TOO_LONG, /* more bytes than the descriptor says */
    BLOB_REDIRECT, /* 307 to another host (localhost:OTHER_PORT), after a token */
} blob_mode_t;

typedef struct {
    blob_mode_t mode;
    char *data; /* BLOB_SIZE bytes */
    char *digest;
    char *small;
    char *small_digest;
    char *other; /* BLOB_WRONG_CONTENT / BLOB_TOO_LONG */
    int other_port;
    char range_answer_headers[256];
} blob_fixture_t;

static void
blob_handler (fake_server_t *srv, const fake_request_t *req, fake_answer_t *ans)
{
    blob_fixture_t *b = srv->data;
    cleanup_free char *big_path = xasprintf ("/v2/a/b/blobs/%s", b->digest);
    cleanup_free char *small_path = xasprintf ("/v2/a/b/blobs/%s", b->small_digest);

    if (b->mode == BLOB_REDIRECT) {
        if (strncmp (req->path, "/token", 6) == 0) {
            answer (ans, 200, "{\"token\":\"secret-token\"}");
            return;
        }
        if (strcmp (req->authorization, "Bearer secret-token") != 0) {
            answer (ans, 401, "{}");
            add_header (ans, "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d/token\"",
                        srv->port);
            return;
        }
        /* Another host name for the same machine: curl must not send the
         * Authorization header there. */
        answer (ans, 307, "");
        add_header (ans, "Location: http://localhost:%d/storage%s", b->other_port,
                    strstr (req->path, "/blobs/"));
        return;
    }
    if (strcmp (req->path, small_path) == 0) {
        ans->status = 200;
        ans->body = b->small;
        ans->body_len = strlen (b->small);
        return;
    }
    if (strcmp (req->path, big_path) != 0)
        return; /* 404 */
    size_t served = fake_count (srv, big_path);
    long long from = 0;
    bool ranged = req->range[0] != '\0' && sscanf (req->range, "bytes=%lld-", &from) == 1;
    switch (b->mode) {
    case BLOB_WRONG_CONTENT:
        ans->status = 200;
        ans->body = b->other;
        ans->body_len = BLOB_SIZE;
        return;
    case BLOB_TOO_LONG:
        ans->status = 200;
        ans->body = b->other;
        ans->body_len = BLOB_SIZE + 100;
        return;
    default:
        break;
    }
    bool truncate =
        b->mode == BLOB_TRUNCATE_ALWAYS ||
        ((b->mode == BLOB_TRUNCATE_FIRST || b->mode == BLOB_TRUNCATE_IGNORE_RANGE) && served == 1);
    if (ranged && b->mode != BLOB_TRUNCATE_IGNORE_RANGE && from > 0 && from < BLOB_SIZE) {
        ans->status = 206;
        ans->body = b->data + from;
        ans->body_len = BLOB_SIZE - (size_t) from;
        add_header (ans, "Content-Range: bytes %lld-%d/%d", from, BLOB_SIZE - 1, BLOB_SIZE);
    } else {
        ans->status = 200;
        ans->body = b->data;
        ans->body_len = BLOB_SIZE;
    }
    if (truncate)
        ans->send_len = ans->body_len / 2;
}

/* The storage host of BLOB_REDIRECT: serves any blob without auth and
 * records whether credentials came along. */
static void
storage_handler (fake_server_t *srv, const fake_request_t *req, fake_answer_t *ans)
{
    blob_fixture_t *b = srv->data;
    if (strstr (req->path, b->digest) != NULL) {
        ans->status = 200;
        ans->body = b->data;
        ans->body_len = BLOB_SIZE;
    } else if (strstr (req->path, b->small_digest) != NULL) {
        ans->status = 200;
        ans->body = b->small;
        ans->body_len = strlen (b->small);
    }
}

typedef struct {
    blob_fixture_t blob;
    char store_dir[64];
    wr_store_t *store;
    int64_t progress_big;
    int progress_calls;
} blob_test_t;

static int
blob_setup (void **state)
{
    blob_test_t *t = xzalloc (sizeof *t);
    t->blob.data = xmalloc (BLOB_SIZE + 100);
    t->blob.other = xmalloc (BLOB_SIZE + 100);
    unsigned int seed = 42;
    for (size_t i = 0; i < BLOB_SIZE + 100; i++) {
        t->blob.data[i] = (char) rand_r (&seed);
        t->blob.other[i] = (char) rand_r (&seed);
    }
    t->blob.digest = digest_of (t->blob.data, BLOB_SIZE);
    t->blob.small = xstrdup ("{\"architecture\":\"amd64\"}");
    t->blob.small_digest = digest_of (t->blob.small, strlen (t->blob.small));
    snprintf (t->store_dir, sizeof t->store_dir, "/tmp/warren-test-registry-store-XXXXXX");
    assert_non_null (mkdtemp (t->store_dir));
    wr_error_t err = NULL;
    t->store = wr_store_open (t->store_dir, &err);
    if (t->store == NULL)
        fail_msg ("%s", err->message);
    *state = t;
    return 0;
}

static int
blob_teardown (void **state)
{
    blob_test_t *t = *state;
    wr_store_close (t->store);
    cleanup_free char *cmd = xasprintf ("rm -rf '%s'", t->store_dir);
    if (system (cmd) != 0)
        return -1;
    free (t->blob.data);
    free (t->blob.other);
    free (t->blob.digest);
    free (t->blob.small);
    free (t->blob.small_digest);
    free (t);
    return 0;
}

static void
count_progress (void *data, const char *digest, int64_t done, int64_t total)
{
    blob_test_t *t = data;
    t->progress_calls++;
    assert_true (done <= total);
    if (total == BLOB_SIZE)
        t->progress_big = done;
}

/* Fetches both blobs of T from SRV; returns what wr_registry_fetch_blobs did. */
static int
fetch_both (blob_test_t *t, fake_server_t *srv, wr_error_t *err)
{
    wr_image_ref_t ref = make_ref (srv, "a/b");
    wr_descriptor_t big = { .digest = t->blob.digest, .size = BLOB_SIZE };
    wr_descriptor_t small = { .digest = t->blob.small_digest,
                              .size = (int64_t) strlen (t->blob.small) };
    /* The same blob twice is fetched once. */
    const wr_descriptor_t *list[] = { &small, &big, &small };
    wr_registry_t *r = new_client ("/nonexistent/config.json");
    int rc = wr_registry_fetch_blobs (r, &ref, list, 3, t->store, count_progress, t, err);
    wr_registry_free (r);
    clear_ref (&ref);
    return rc;
}

static void
assert_blob_stored (blob_test_t *t)
{
    char *data = NULL;
    size_t len = 0;
    wr_error_t err = NULL;
    if (wr_store_read_blob (t->store, t->blob.digest, BLOB_SIZE, &data, &len, &err) < 0)
        fail_msg ("%s", err->message);
    assert_int_equal (len, BLOB_SIZE);
    assert_memory_equal (data, t->blob.data, BLOB_SIZE);
    free (data);
    assert_true (wr_store_has_blob (t->store, t->blob.small_digest));
}

static void
test_blobs_fetch (void **state)
{
    blob_test_t *t = *state;
    t->blob.mode = BLOB_OK;
    fake_server_t *srv = fake_start (blob_handler, &t->blob);
    wr_error_t err = NULL;
    if (fetch_both (t, srv, &err) < 0)
        fail_msg ("%s", err->message);
    assert_blob_stored (t);
    assert_int_equal (t->progress_big, BLOB_SIZE);
    assert_true (t->progress_calls >= 2);
    cleanup_free char *small_path = xasprintf ("/blobs/%s", t->blob.small_digest);
    assert_int_equal (fake_count (srv, small_path), 1);
    /* A second fetch finds both in the store and asks for nothing. */
    size_t before = srv->n_log;
    assert_int_equal (fetch_both (t, srv, &err), 0);
    assert_int_equal (srv->n_log, before);
    fake_stop (srv);
}

static void
test_blob_resumes_after_cut (void **state)
{
    blob_test_t *t = *state;
    t->blob.mode = BLOB_TRUNCATE_FIRST;
    fake_server_t *srv = fake_start (blob_handler, &t->blob);
    wr_error_t err = NULL;
    if (fetch_both (t, srv, &err) < 0)
        fail_msg ("%s", err->message);
    assert_blob_stored (t);
    cleanup_free char *path = xasprintf ("/blobs/%s", t->blob.digest);
    assert_int_equal (fake_count (srv, path), 2);
    /* The second request went on from where the first stopped. */
    cleanup_free char *want = xasprintf ("bytes=%d-", BLOB_SIZE / 2);
    bool found = false;
    for (size_t i = 0; i < srv->n_log; i++)
        if (strstr (srv->log[i].path, t->blob.digest) != NULL && srv->log[i].range[0] != '\0') {
            assert_string_equal (srv->log[i].range, want);
            found = true;
        }
    assert_true (found);
    fake_stop (srv);
}

static void
test_blob_range_ignored (void **state)
{
    blob_test_t *t = *state;
    t->blob.mode = BLOB_TRUNCATE_IGNORE_RANGE;
    fake_server_t *srv = fake_start (blob_handler, &t->blob);
    wr_error_t err = NULL;
    if (fetch_both (t, srv, &err) < 0)
        fail_msg ("%s", err->message);
    /* The whole blob came again and replaced the half kept. */
    assert_blob_stored (t);
    fake_stop (srv);
}

static void
test_blob_partial_kept_for_next_run (void **state)
{
    blob_test_t *t = *state;
    t->blob.mode = BLOB_TRUNCATE_ALWAYS;
    fake_server_t *srv = fake_start (blob_handler, &t->blob);
    wr_error_t err = NULL;
    assert_int_equal (fetch_both (t, srv, &err), -1);
    assert_non_null (strstr (err->message, t->blob.digest));
    wr_error_free (&err);
    assert_false (wr_store_has_blob (t->store, t->blob.digest));
    fake_stop (srv);

    /* A later run (a new client) resumes from what was kept. */
    t->blob.mode = BLOB_OK;
    srv = fake_start (blob_handler, &t->blob);
    if (fetch_both (t, srv, &err) < 0)
        fail_msg ("%s", err->message);
    assert_blob_stored (t);
    bool ranged = false;
    for (size_t i = 0; i < srv->n_log; i++)
        if (strstr (srv->log[i].path, t->blob.digest) != NULL)
            ranged = srv->log[i].range[0] != '\0';
    assert_true (ranged);
    fake_stop (srv);
}

static void
test_blob_wrong_content (void **state)
{
    blob_test_t *t = *state;
    t->blob.mode = BLOB_WRONG_CONTENT;
    fake_server_t *srv = fake_start (blob_handler, &t->blob);
    wr_error_t err = NULL;
    assert_int_equal (fetch_both (t, srv, &err), -1);
    assert_non_null (strstr (err->message, t->blob.digest));
    assert_false (wr_store_has_blob (t->store, t->blob.digest));
    wr_error_free (&err);
    /* The server's connection threads read the mode: a new server for the
     * next one (changing it under a running server is a data race). */
    fake_stop (srv);

    t->blob.mode = BLOB_TOO_LONG;
    srv = fake_start (blob_handler, &t->blob);
    assert_int_equal (fetch_both (t, srv, &err), -1);
    assert_non_null (strstr (err->message, "larger"));
    assert_false (wr_store_has_blob (t->store, t->blob.digest));
    wr_error_free (&err);
    fake_stop (srv);
}

/* ---- a tee on a blob's download ---- */

typedef struct {
    char *bytes;
    size_t len;
    int ends;
    bool ok;
} collected_t;

static int
collect_write (void *data, const void *buf, size_t len)
{
    collected_t *c = data;
    c->bytes = xrealloc (c->bytes, c->len + len);
    memcpy (c->bytes + c->len, buf, len);
    c->len += len;
    return 0;
}

static void
collect_end (void *data, bool ok)
{
    collected_t *c = data;
    c->ends++;
    c->ok = ok;
}

/* Fetches both blobs of T with a tee on the big one. */
static int
fetch_teed (blob_test_t *t, fake_server_t *srv, collected_t *c, wr_error_t *err)
{
    memset (c, 0, sizeof *c);
    wr_image_ref_t ref = make_ref (srv, "a/b");
    wr_descriptor_t big = { .digest = t->blob.digest, .size = BLOB_SIZE };
    wr_descriptor_t small = { .digest = t->blob.small_digest,
                              .size = (int64_t) strlen (t->blob.small) };
    const wr_descriptor_t *list[] = { &small, &big };
    wr_blob_tee_t tee = {
        .digest = t->blob.digest, .write = collect_write, .end = collect_end, .data = c
    };
    wr_registry_t *r = new_client ("/nonexistent/config.json");
    int rc = wr_registry_fetch_blobs_tee (r, &ref, list, 2, t->store, NULL, NULL, &tee, err);
    wr_registry_free (r);
    clear_ref (&ref);
    return rc;
}

static void
test_blob_tee (void **state)
{
    blob_test_t *t = *state;
    t->blob.mode = BLOB_TRUNCATE_FIRST; /* cut half way, then a range */
    fake_server_t *srv = fake_start (blob_handler, &t->blob);
    collected_t c;
    wr_error_t err = NULL;
    if (fetch_teed (t, srv, &c, &err) < 0)
        fail_msg ("%s", err->message);
    /* Every byte once, in order, across the resumed request; ended well,
     * once, with the blob in the store. */
    assert_int_equal (c.ends, 1);
    assert_true (c.ok);
    assert_int_equal (c.len, BLOB_SIZE);
    assert_memory_equal (c.bytes, t->blob.data, BLOB_SIZE);
    assert_blob_stored (t);
    free (c.bytes);
    /* In the store already: nothing to give, ended not ok. */
    assert_int_equal (fetch_teed (t, srv, &c, &err), 0);
    assert_int_equal (c.ends, 1);
    assert_false (c.ok);
    assert_int_equal (c.len, 0);
    fake_stop (srv);
}

static void
test_blob_tee_gives_up (void **state)
{
    blob_test_t *t = *state;
    /* The registry ignores the range: the blob starts over, which the tee
     * cannot follow; the download itself still succeeds. */
    t->blob.mode = BLOB_TRUNCATE_IGNORE_RANGE;
    fake_server_t *srv = fake_start (blob_handler, &t->blob);
    collected_t c;
    wr_error_t err = NULL;
    if (fetch_teed (t, srv, &c, &err) < 0)
        fail_msg ("%s", err->message);
    assert_int_equal (c.ends, 1);
    assert_false (c.ok);
    assert_true (c.len < BLOB_SIZE);
    assert_blob_stored (t);
    free (c.bytes);
    fake_stop (srv);

    /* Bytes that do not match the digest: every byte given, ended not ok. */
    blob_test_t *u = *state;
    wr_store_close (u->store);
    cleanup_free char *cmd = xasprintf ("rm -rf '%s'/blobs/sha256/*", u->store_dir);
    assert_int_equal (system (cmd), 0);
    u->store = wr_store_open (u->store_dir, &err);
    assert_non_null (u->store);
    u->blob.mode = BLOB_WRONG_CONTENT;
    srv = fake_start (blob_handler, &u->blob);
    assert_int_equal (fetch_teed (u, srv, &c, &err), -1);
    wr_error_free (&err);
    assert_int_equal (c.ends, 1);
    assert_false (c.ok);
    free (c.bytes);
    fake_stop (srv);
}

static void
test_blob_redirect_keeps_credentials (void **state)
{
    blob_test_t *t = *state;
    t->blob.mode = BLOB_REDIRECT;
    fake_server_t *storage = fake_start (storage_handler, &t->blob);
    t->blob.other_port = storage->port;
    fake_server_t *srv = fake_start (blob_handler, &t->blob);
    wr_error_t err = NULL;
    if (fetch_both (t, srv, &err) < 0)
        fail_msg ("%s", err->message);
    assert_blob_stored (t);
    assert_int_equal (fake_count (storage, "/storage/"), 2);
    for (size_t i = 0; i < storage->n_log; i++)
        if (storage->log[i].authorization[0] != '\0')
            fail_msg ("the redirect target got `%s`", storage->log[i].authorization);
    fake_stop (srv);
    fake_stop (storage);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_challenge_bearer),
        cmocka_unit_test (test_challenge_escapes_and_several),
        cmocka_unit_test (test_challenge_token68_and_bare),
        cmocka_unit_test (test_challenge_errors),
        cmocka_unit_test (test_config_auths),
        cmocka_unit_test (test_config_errors),
        cmocka_unit_test (test_config_default_path),
        cmocka_unit_test (test_token_answer),
        cmocka_unit_test (test_loopback_and_insecure),
        cmocka_unit_test (test_base_url),
        cmocka_unit_test (test_describe),
        cmocka_unit_test (test_manifest_anonymous),
        cmocka_unit_test (test_manifest_token_auth),
        cmocka_unit_test (test_manifest_basic_auth),
        cmocka_unit_test (test_manifest_through_mirror),
        cmocka_unit_test (test_expired_token_renewed),
        cmocka_unit_test_setup_teardown (test_blobs_fetch, blob_setup, blob_teardown),
        cmocka_unit_test_setup_teardown (test_blob_resumes_after_cut, blob_setup, blob_teardown),
        cmocka_unit_test_setup_teardown (test_blob_range_ignored, blob_setup, blob_teardown),
        cmocka_unit_test_setup_teardown (test_blob_partial_kept_for_next_run, blob_setup,
                                         blob_teardown),
        cmocka_unit_test_setup_teardown (test_blob_wrong_content, blob_setup, blob_teardown),
        cmocka_unit_test_setup_teardown (test_blob_tee, blob_setup, blob_teardown),
        cmocka_unit_test_setup_teardown (test_blob_tee_gives_up, blob_setup, blob_teardown),
        cmocka_unit_test_setup_teardown (test_blob_redirect_keeps_credentials, blob_setup,
                                         blob_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
