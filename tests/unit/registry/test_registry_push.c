/* Pushes (registry_push.c) against the in-process registry: the order of
 * requests, blobs the registry has skipped, every byte checked on arrival,
 * credentials asked for by a 401, a broken upload started again from its
 * POST, and errors that name the request and the registry's answer.  Real
 * registries with basic and token auth: tests/integration/registry.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "error.h"
#include "fake_registry.h"
#include "image_ref.h"
#include "registry.h"
#include "store.h"
#include "xalloc.h"

#define LAYER "layer bytes, pretending to be a tar.gz"
#define CONFIG "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\"}}"

typedef struct {
    char dir[64];
    wr_store_t *store;
    char layer[WR_DIGEST_MAX_LEN + 1];
    char config[WR_DIGEST_MAX_LEN + 1];
    char manifest[WR_DIGEST_MAX_LEN + 1];
    char *manifest_json;
} fixture_t;

/* How the fake registry behaves. */
typedef struct {
    const fixture_t *f;
    bool has_layer; /* HEAD of the layer says 200 */
    int put_failures; /* the first N blob PUTs answer 503 */
    bool basic_auth; /* everything needs "Authorization: Basic ..." */
    bool bad_digest; /* blob PUTs answer 400 DIGEST_INVALID */
    int uploads; /* POSTs so far */
} behaviour_t;

static void
put_blob (fixture_t *f, const char *data, char *digest)
{
    wr_error_t err = NULL;
    wr_sha256_digest (data, strlen (data), digest);
    assert_int_equal (wr_store_put_blob (f->store, data, strlen (data), digest, NULL, &err), 0);
}

static int
setup (void **state)
{
    fixture_t *f = xzalloc (sizeof *f);
    snprintf (f->dir, sizeof f->dir, "/tmp/warren-push-XXXXXX");
    assert_non_null (mkdtemp (f->dir));
    wr_error_t err = NULL;
    f->store = wr_store_open (f->dir, &err);
    assert_non_null (f->store);
    put_blob (f, LAYER, f->layer);
    put_blob (f, CONFIG, f->config);
    f->manifest_json = xasprintf (
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\","
        "\"size\":%zu},\"layers\":[{\"mediaType\":\"application/"
        "vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"%s\",\"size\":%zu}]}",
        f->config, strlen (CONFIG), f->layer, strlen (LAYER));
    put_blob (f, f->manifest_json, f->manifest);
    *state = f;
    return 0;
}

static int
teardown (void **state)
{
    fixture_t *f = *state;
    wr_store_close (f->store);
    cleanup_free char *cmd = xasprintf ("rm -rf '%s'", f->dir);
    assert_int_equal (system (cmd), 0);
    free (f->manifest_json);
    free (f);
    return 0;
}

static const char *
blob_of (const behaviour_t *b, const char *digest, size_t *len)
{
    if (strcmp (digest, b->f->layer) == 0)
        return *len = strlen (LAYER), LAYER;
    if (strcmp (digest, b->f->config) == 0)
        return *len = strlen (CONFIG), CONFIG;
    return NULL;
}

/* The server thread cannot fail the test itself (cmocka's asserts jump
 * within the test's thread): a 400 that no push survives says what was
 * wrong instead. */
static void
refuse (fake_answer_t *ans, const char *why)
{
    static char body[256];
    snprintf (body, sizeof body, "{\"errors\":[{\"code\":\"FAKE_CHECK\",\"message\":\"%s\"}]}",
              why);
    answer (ans, 400, body);
}

static void
handler (fake_server_t *srv, const fake_request_t *req, fake_answer_t *ans)
{
    behaviour_t *b = srv->data;
    const char *path = req->path;
    if (b->basic_auth && strncmp (req->authorization, "Basic ", 6) != 0) {
        answer (ans, 401, "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"who are you\"}]}");
        add_header (ans, "WWW-Authenticate: Basic realm=\"fake\"");
        return;
    }
    const char *blobs = "/v2/team/app/blobs/";
    if (strcmp (req->method, "HEAD") == 0 && strncmp (path, blobs, strlen (blobs)) == 0) {
        const char *digest = path + strlen (blobs);
        bool has = b->has_layer && strcmp (digest, b->f->layer) == 0;
        answer (ans, has ? 200 : 404, "");
        return;
    }
    if (strcmp (req->method, "POST") == 0 && strcmp (path, "/v2/team/app/blobs/uploads/") == 0) {
        b->uploads++;
        answer (ans, 202, "");
        add_header (ans, "Location: /v2/team/app/blobs/uploads/u%d?state=x", b->uploads);
        return;
    }
    const char *uploads = "/v2/team/app/blobs/uploads/u";
    if (strcmp (req->method, "PUT") == 0 && strncmp (path, uploads, strlen (uploads)) == 0) {
        /* The location's query is kept, the digest added to it. */
        const char *digest = strstr (path, "state=x&digest=");
        if (digest == NULL) {
            refuse (ans, "no state=x&digest= in the upload URL");
            return;
        }
        digest += strlen ("state=x&digest=");
        if (b->put_failures > 0) {
            b->put_failures--;
            answer (ans, 503, "{\"errors\":[{\"code\":\"UNAVAILABLE\",\"message\":\"busy\"}]}");
            return;
        }
        if (b->bad_digest) {
            answer (ans, 400,
                    "{\"errors\":[{\"code\":\"DIGEST_INVALID\",\"message\":\"digest did not "
                    "match\"}]}");
            return;
        }
        size_t len = 0;
        if (blob_of (b, digest, &len) == NULL) {
            refuse (ans, "not a blob of the image");
            return;
        }
        /* Every byte arrived: the body's digest is the one in the URL. */
        if (req->body_len != len || strcmp (req->body_digest, digest) != 0) {
            refuse (ans, "the body is not the blob");
            return;
        }
        if (strcmp (req->content_type, "application/octet-stream") != 0) {
            refuse (ans, "wrong content type");
            return;
        }
        answer (ans, 201, "");
        return;
    }
    if (strcmp (req->method, "PUT") == 0 && strcmp (path, "/v2/team/app/manifests/v1") == 0) {
        if (strcmp (req->body_digest, b->f->manifest) != 0) {
            refuse (ans, "the body is not the manifest");
            return;
        }
        if (strcmp (req->content_type, "application/vnd.oci.image.manifest.v1+json") != 0) {
            refuse (ans, "wrong manifest content type");
            return;
        }
        answer (ans, 201, "");
        add_header (ans, "Docker-Content-Digest: %s", b->f->manifest);
        return;
    }
    answer (ans, 404, "{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"nope\"}]}");
}

/* Pushes the fixture's image to 127.0.0.1:PORT/team/app:v1. */
static int
push (fixture_t *f, fake_server_t *srv, const char *auth_config, wr_push_result_t *result,
      wr_error_t *err)
{
    cleanup_free char *dest_text = xasprintf ("127.0.0.1:%d/team/app:v1", srv->port);
    wr_image_ref_t dest = { 0 };
    assert_int_equal (wr_image_ref_parse (dest_text, &dest, NULL), 0);
    wr_registry_options_t options = { .auth_config = auth_config, .retries = 2 };
    wr_registry_t *registry = wr_registry_new (&options, NULL);
    assert_non_null (registry);
    int r = wr_registry_push_image (registry, f->store, f->manifest, &dest, result, err);
    wr_registry_free (registry);
    wr_image_ref_clear (&dest);
    return r;
}

static size_t
count_method (fake_server_t *srv, const char *method, const char *path_part)
{
    size_t n = 0;
    for (size_t i = 0; i < srv->n_log; i++)
        if (strcmp (srv->log[i].method, method) == 0 && strstr (srv->log[i].path, path_part))
            n++;
    return n;
}

static void
test_push_blobs_then_manifest (void **state)
{
    fixture_t *f = *state;
    behaviour_t b = { .f = f };
    fake_server_t *srv = fake_start (handler, &b);
    wr_push_result_t result;
    wr_error_t err = NULL;
    assert_int_equal (push (f, srv, "/nonexistent/config.json", &result, &err), 0);
    assert_null (err);
    assert_int_equal (result.blobs_pushed, 2);
    assert_int_equal (result.blobs_skipped, 0);
    assert_int_equal (result.bytes_pushed, strlen (LAYER) + strlen (CONFIG));
    assert_int_equal (count_method (srv, "HEAD", "/blobs/sha256:"), 2);
    assert_int_equal (count_method (srv, "POST", "/blobs/uploads/"), 2);
    /* The manifest comes last. */
    assert_string_equal (srv->log[srv->n_log - 1].method, "PUT");
    assert_non_null (strstr (srv->log[srv->n_log - 1].path, "/manifests/v1"));
    fake_stop (srv);
}

static void
test_push_skips_blobs_the_registry_has (void **state)
{
    fixture_t *f = *state;
    behaviour_t b = { .f = f, .has_layer = true };
    fake_server_t *srv = fake_start (handler, &b);
    wr_push_result_t result;
    assert_int_equal (push (f, srv, "/nonexistent/config.json", &result, NULL), 0);
    assert_int_equal (result.blobs_pushed, 1);
    assert_int_equal (result.blobs_skipped, 1);
    assert_int_equal (count_method (srv, "POST", "/blobs/uploads/"), 1);
    fake_stop (srv);
}

static void
test_push_starts_a_failed_upload_again (void **state)
{
    fixture_t *f = *state;
    behaviour_t b = { .f = f, .put_failures = 1 };
    fake_server_t *srv = fake_start (handler, &b);
    wr_push_result_t result;
    wr_error_t err = NULL;
    assert_int_equal (push (f, srv, "/nonexistent/config.json", &result, &err), 0);
    assert_null (err);
    assert_int_equal (result.blobs_pushed, 2);
    /* The failed PUT's upload is abandoned: a new POST, a new location. */
    assert_int_equal (count_method (srv, "POST", "/blobs/uploads/"), 3);
    assert_int_equal (count_method (srv, "PUT", "/blobs/uploads/u1?"), 1);
    assert_int_equal (count_method (srv, "PUT", "/blobs/uploads/u2?"), 1);
    fake_stop (srv);
}

static void
test_push_gives_up_after_the_retries (void **state)
{
    fixture_t *f = *state;
    behaviour_t b = { .f = f, .put_failures = 100 };
    fake_server_t *srv = fake_start (handler, &b);
    wr_error_t err = NULL;
    assert_int_equal (push (f, srv, "/nonexistent/config.json", NULL, &err), -1);
    assert_non_null (err);
    assert_non_null (strstr (err->message, "push blob sha256:"));
    assert_non_null (strstr (err->message, "503"));
    assert_non_null (strstr (err->message, "UNAVAILABLE: busy"));
    /* retries = 2: three uploads of the first blob, then it stops. */
    assert_int_equal (count_method (srv, "POST", "/blobs/uploads/"), 3);
    assert_int_equal (count_method (srv, "PUT", "/manifests/"), 0);
    wr_error_free (&err);
    fake_stop (srv);
}

static void
test_push_refused_digest_is_not_retried (void **state)
{
    fixture_t *f = *state;
    behaviour_t b = { .f = f, .bad_digest = true };
    fake_server_t *srv = fake_start (handler, &b);
    wr_error_t err = NULL;
    assert_int_equal (push (f, srv, "/nonexistent/config.json", NULL, &err), -1);
    assert_non_null (strstr (err->message, "PUT http://127.0.0.1:"));
    assert_non_null (strstr (err->message, "400"));
    assert_non_null (strstr (err->message, "DIGEST_INVALID: digest did not match"));
    assert_int_equal (count_method (srv, "POST", "/blobs/uploads/"), 1);
    wr_error_free (&err);
    fake_stop (srv);
}

static void
test_push_with_basic_credentials (void **state)
{
    fixture_t *f = *state;
    behaviour_t b = { .f = f, .basic_auth = true };
    fake_server_t *srv = fake_start (handler, &b);
    /* No credentials: the 401 is explained. */
    wr_error_t err = NULL;
    assert_int_equal (push (f, srv, "/nonexistent/config.json", NULL, &err), -1);
    assert_non_null (strstr (err->message, "HEAD http://127.0.0.1:"));
    assert_non_null (strstr (err->message, "asks for a user name and password"));
    wr_error_free (&err);
    /* With them: sent on every request after the first 401. */
    cleanup_free char *config = xasprintf ("%s/auth.json", f->dir);
    FILE *c = fopen (config, "w");
    assert_non_null (c);
    fprintf (c, "{\"auths\":{\"127.0.0.1:%d\":{\"username\":\"u\",\"password\":\"p\"}}}",
             srv->port);
    fclose (c);
    size_t before = srv->n_log;
    wr_push_result_t result;
    assert_int_equal (push (f, srv, config, &result, &err), 0);
    assert_null (err);
    assert_int_equal (result.blobs_pushed, 2);
    size_t unauthorized = 0;
    for (size_t i = before; i < srv->n_log; i++)
        unauthorized += srv->log[i].authorization[0] == '\0';
    assert_int_equal (unauthorized, 1);
    fake_stop (srv);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_push_blobs_then_manifest, setup, teardown),
        cmocka_unit_test_setup_teardown (test_push_skips_blobs_the_registry_has, setup, teardown),
        cmocka_unit_test_setup_teardown (test_push_starts_a_failed_upload_again, setup, teardown),
        cmocka_unit_test_setup_teardown (test_push_gives_up_after_the_retries, setup, teardown),
        cmocka_unit_test_setup_teardown (test_push_refused_digest_is_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown (test_push_with_basic_credentials, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
