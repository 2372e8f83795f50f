/* The file routes (api_files.c) against the real agent: warren-init
 * (argv[1]) confined to a temporary root, a real API server on a unix
 * socket, libcurl as the client (agent_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent_fixture.h"
#include "xalloc.h"

static const char *
str (json_object *obj, const char *key)
{
    json_object *v = json_object_object_get (obj, key);
    return v != NULL ? json_object_get_string (v) : NULL;
}

static int64_t
num (json_object *obj, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex (obj, key, &v) || v == NULL)
        fail_msg ("no %s in %s", key, json_object_to_json_string (obj));
    return json_object_get_int64 (v);
}

/* A streamed upload of SIZE pseudo-random bytes, hashed as they go. */
typedef struct {
    size_t size, sent;
    uint64_t x;
    EVP_MD_CTX *md;
} upload_t;

static size_t
on_read (char *buf, size_t size, size_t n, void *data)
{
    upload_t *u = data;
    size_t len = size * n;
    if (len > u->size - u->sent)
        len = u->size - u->sent;
    for (size_t i = 0; i < len; i++) {
        u->x = u->x * 6364136223846793005ull + 1442695040888963407ull;
        buf[i] = (char) (u->x >> 56);
    }
    EVP_DigestUpdate (u->md, buf, len);
    u->sent += len;
    return len;
}

typedef struct {
    size_t len;
    EVP_MD_CTX *md;
} download_t;

static size_t
on_write (char *p, size_t size, size_t n, void *data)
{
    download_t *d = data;
    EVP_DigestUpdate (d->md, p, size * n);
    d->len += size * n;
    return size * n;
}

static void
test_upload_download_100mb (void **state)
{
    (void) state;
    const size_t size = 100u * 1024 * 1024;
    upload_t u = { .size = size, .x = 42, .md = EVP_MD_CTX_new () };
    EVP_DigestInit_ex (u.md, EVP_sha256 (), NULL);
    CURL *curl = curl_easy_init ();
    curl_easy_setopt (curl, CURLOPT_URL,
                      "http://warrend/v1/sandboxes/sb1/files/content?path=/srv/big.bin&mode=0640&"
                      "parents=true");
    curl_easy_setopt (curl, CURLOPT_UNIX_SOCKET_PATH, fx.api_sock);
    curl_easy_setopt (curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt (curl, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt (curl, CURLOPT_READDATA, &u);
    curl_easy_setopt (curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t) size);
    /* The answer with curl's default writer, into a memory stream. */
    answer_t a = { 0 };
    FILE *out = open_memstream (&a.body, &a.len);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, out);
    assert_int_equal (curl_easy_perform (curl), CURLE_OK);
    fclose (out);
    long status;
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup (curl);
    if (status != 200)
        fail_msg ("upload: %ld %s", status, a.body);
    json_object *info = json_tokener_parse (a.body);
    free (a.body);
    assert_string_equal (str (info, "path"), "/srv/big.bin");
    assert_string_equal (str (info, "file_type"), "file");
    assert_int_equal (num (info, "size"), (int64_t) size);
    assert_string_equal (str (info, "mode_octal"), "0640");
    json_object_put (info);
    unsigned char up[32], down[32];
    EVP_DigestFinal_ex (u.md, up, NULL);
    EVP_MD_CTX_free (u.md);

    /* On disk in the root, with its mode. */
    char host_path[256];
    snprintf (host_path, sizeof host_path, "%s/srv/big.bin", fx.root);
    struct stat st;
    assert_int_equal (stat (host_path, &st), 0);
    assert_int_equal (st.st_size, (off_t) size);
    assert_int_equal (st.st_mode & 07777, 0640);

    download_t d = { .md = EVP_MD_CTX_new () };
    EVP_DigestInit_ex (d.md, EVP_sha256 (), NULL);
    curl = curl_easy_init ();
    curl_easy_setopt (curl, CURLOPT_URL,
                      "http://warrend/v1/sandboxes/sb1/files/content?path=/srv/big.bin");
    curl_easy_setopt (curl, CURLOPT_UNIX_SOCKET_PATH, fx.api_sock);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, &d);
    assert_int_equal (curl_easy_perform (curl), CURLE_OK);
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup (curl);
    assert_int_equal (status, 200);
    assert_int_equal (d.len, size);
    EVP_DigestFinal_ex (d.md, down, NULL);
    EVP_MD_CTX_free (d.md);
    assert_memory_equal (up, down, 32);

    json_object *s = http_json ("GET", "/v1/sandboxes/sb1/files/stat?path=/srv/big.bin", NULL, 200);
    assert_string_equal (str (s, "mode_octal"), "0640");
    assert_int_equal (num (s, "mode"), 0640);
    json_object_put (s);

    /* A range. */
    answer_t r;
    http ("GET", "/v1/sandboxes/sb1/files/content?path=/srv/big.bin&offset=10&length=5", NULL, 0,
          NULL, &r);
    assert_int_equal (r.status, 200);
    assert_int_equal (r.len, 5);
    answer_clear (&r);
}

static void
put (const char *path, const char *content)
{
    char url[512];
    snprintf (url, sizeof url, "/v1/sandboxes/sb1/files/content?path=%s&parents=true", path);
    answer_t a;
    http ("PUT", url, content, strlen (content), NULL, &a);
    if (a.status != 200)
        fail_msg ("PUT %s: %ld %s", path, a.status, a.body);
    answer_clear (&a);
}

static char *
get (const char *path)
{
    char url[512];
    snprintf (url, sizeof url, "/v1/sandboxes/sb1/files/content?path=%s", path);
    answer_t a;
    http ("GET", url, NULL, 0, NULL, &a);
    assert_int_equal (a.status, 200);
    char *body = a.body;
    a.body = NULL;
    answer_clear (&a);
    return body;
}

static void
test_operations (void **state)
{
    (void) state;
    json_object_put (http_json ("POST", "/v1/sandboxes/sb1/files/mkdir",
                                "{\"path\": \"/a/b\", \"mode\": \"0750\", \"parents\": true}",
                                200));
    json_object *s = http_json ("GET", "/v1/sandboxes/sb1/files/stat?path=/a/b", NULL, 200);
    assert_string_equal (str (s, "file_type"), "directory");
    assert_string_equal (str (s, "mode_octal"), "0750");
    json_object_put (s);
    put ("/a/b/one.txt", "hello world\nsecond line\n");
    put ("/a/two.txt", "nothing here\n");

    json_object *l =
        http_json ("GET", "/v1/sandboxes/sb1/files/list?path=/a&recursive=true", NULL, 200);
    json_object *entries = json_object_object_get (l, "entries");
    assert_int_equal (json_object_array_length (entries), 3);
    assert_false (json_object_get_boolean (json_object_object_get (l, "truncated")));
    bool seen_one = false;
    for (size_t i = 0; i < 3; i++) {
        json_object *e = json_object_array_get_idx (entries, i);
        assert_non_null (str (e, "mode_octal"));
        seen_one |= strcmp (str (e, "path"), "b/one.txt") == 0;
    }
    assert_true (seen_one);
    json_object_put (l);

    json_object *f = http_json ("POST", "/v1/sandboxes/sb1/files/find",
                                "{\"path\": \"/a\", \"pattern\": \"wor.d\"}", 200);
    json_object *matches = json_object_object_get (f, "matches");
    assert_int_equal (json_object_array_length (matches), 1);
    json_object *m = json_object_array_get_idx (matches, 0);
    assert_int_equal (num (m, "line"), 1);
    assert_int_equal (num (m, "column"), 7);
    assert_string_equal (str (m, "text"), "hello world");
    json_object_put (f);

    json_object *r = http_json (
        "POST", "/v1/sandboxes/sb1/files/replace",
        "{\"path\": \"/a\", \"pattern\": \"(w)orld\", \"replacement\": \"\\\\1ide\"}", 200);
    assert_int_equal (num (r, "files"), 1);
    assert_int_equal (num (r, "replacements"), 1);
    json_object_put (r);
    char *content = get ("/a/b/one.txt");
    assert_string_equal (content, "hello wide\nsecond line\n");
    free (content);

    json_object_put (http_json ("POST", "/v1/sandboxes/sb1/files/rename",
                                "{\"from\": \"/a/two.txt\", \"to\": \"/a/three.txt\"}", 200));
    json_object_put (http_json ("POST", "/v1/sandboxes/sb1/files/chmod",
                                "{\"path\": \"/a/three.txt\", \"mode\": 384}", 200));
    s = http_json ("GET", "/v1/sandboxes/sb1/files/stat?path=/a/three.txt", NULL, 200);
    assert_string_equal (str (s, "mode_octal"), "0600");
    json_object_put (s);
    json_object *e = http_json ("GET", "/v1/sandboxes/sb1/files/stat?path=/a/two.txt", NULL, 404);
    json_object_put (e);
    json_object_put (http_json ("POST", "/v1/sandboxes/sb1/files/remove",
                                "{\"path\": \"/a\", \"recursive\": true}", 200));
    json_object_put (http_json ("GET", "/v1/sandboxes/sb1/files/stat?path=/a", NULL, 404));
}

static void
test_dotdot_stays_inside (void **state)
{
    (void) state;
    char canary[256];
    snprintf (canary, sizeof canary, "%s/canary", fx.dir);
    FILE *c = fopen (canary, "w");
    fputs ("untouched\n", c);
    fclose (c);
    put ("/../../canary", "overwritten\n");
    FILE *check = fopen (canary, "r");
    char line[64] = "";
    assert_non_null (fgets (line, sizeof line, check));
    fclose (check);
    assert_string_equal (line, "untouched\n");
    /* The write landed inside the root. */
    char *inside = get ("/canary");
    assert_string_equal (inside, "overwritten\n");
    free (inside);
    json_object_put (
        http_json ("POST", "/v1/sandboxes/sb1/files/remove", "{\"path\": \"/../canary\"}", 200));
    check = fopen (canary, "r");
    assert_non_null (check);
    fclose (check);
}

static void
expect_error (const char *method, const char *path, const char *body, long status,
              const char *needle)
{
    json_object *e = http_json (method, path, body, status);
    const char *message = str (json_object_object_get (e, "error"), "message");
    if (strstr (message, needle) == NULL)
        fail_msg ("`%s` not in `%s`", needle, message);
    json_object_put (e);
}

static void
test_errors (void **state)
{
    (void) state;
    expect_error ("GET", "/v1/sandboxes/sb1/files/stat?path=/nope", NULL, 404, "the agent:");
    expect_error ("GET", "/v1/sandboxes/sb1/files/content?path=/nope", NULL, 404, "the agent:");
    expect_error ("GET", "/v1/sandboxes/sb1/files/stat", NULL, 400, "query path: missing");
    expect_error ("GET", "/v1/sandboxes/sb1/files/list?path=/&limit=0", NULL, 400, "limit");
    expect_error ("GET", "/v1/sandboxes/sb1/files/stat?path=/&follow_symlinks=1", NULL, 400,
                  "follow_symlinks");
    expect_error ("PUT", "/v1/sandboxes/sb1/files/content?path=/x&mode=0999", "x", 400, "mode");
    expect_error ("POST", "/v1/sandboxes/sb1/files/mkdir", "{\"path\": \"/d\", \"mode\": \"rwx\"}",
                  400, "mode");
    expect_error ("POST", "/v1/sandboxes/sb1/files/mkdir", "{\"path\": \"/d\", \"mode\": 99999}",
                  400, "mode");
    expect_error ("POST", "/v1/sandboxes/sb1/files/mkdir", "{\"path\": \"/d\", \"owner\": 1}", 400,
                  "unknown field `owner`");
    expect_error ("POST", "/v1/sandboxes/sb1/files/rename", "{\"from\": \"/d\", \"to\": 1}", 400,
                  "to: must be a string");
    expect_error ("POST", "/v1/sandboxes/sb1/files/chmod", "{\"path\": \"/d\"}", 400,
                  "mode: missing");
    expect_error ("GET", "/v1/sandboxes/other/files/stat?path=/", NULL, 404, "other");
}

int
main (int argc, char **argv)
{
    if (argc < 2) {
        fprintf (stderr, "usage: %s WARREN_INIT\n", argv[0]);
        return 2;
    }
    warren_init_path = argv[1];
    curl_global_init (CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_upload_download_100mb, fixture_setup,
                                         fixture_teardown),
        cmocka_unit_test_setup_teardown (test_operations, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown (test_dotdot_stays_inside, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown (test_errors, fixture_setup, fixture_teardown),
    };
    int failed = cmocka_run_group_tests (tests, NULL, NULL);
    curl_global_cleanup ();
    return failed;
}
