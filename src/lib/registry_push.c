/* The push side of the registry client: blobs (HEAD to skip those the
 * registry has, then POST + monolithic PUT with the digest) and then the
 * manifest (PUT).  Authentication as for pulls, with a push scope: a 401's
 * Bearer challenge is answered with a token for "repository:NAME:pull,push"
 * (credentials from the auth config sent to the token service), a Basic one
 * with the credentials themselves.  The same URL rules: HTTPS, plain HTTP
 * only for loopback and insecure registries; docker.io is never replaced by
 * its pull mirror. */
#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "digest.h"
#include "log.h"
#include "manifest.h"
#include "registry.h"
#include "registry_auth.h"
#include "registry_http.h"
#include "xalloc.h"

typedef struct {
    CURL *curl;
    char *base_url;
    char *host;
    char *repository;
    char *scope;
    char *authorization; /* "Authorization: ..." once a 401 was answered */
    wr_auth_config_t auths;
    const char *const *insecure;
} push_t;

typedef struct {
    long status;
    char *location;
    char *www_authenticate;
    char *content_digest;
    char *body; /* an error answer's first bytes */
    size_t body_len;
} answer_t;

static void
answer_clear (answer_t *a)
{
    free (a->location);
    free (a->www_authenticate);
    free (a->content_digest);
    free (a->body);
    memset (a, 0, sizeof *a);
}

static size_t
header_cb (char *buffer, size_t size, size_t n, void *data)
{
    answer_t *a = data;
    size_t len = size * n;
    const char *names[] = { "location:", "www-authenticate:", "docker-content-digest:" };
    char **slots[] = { &a->location, &a->www_authenticate, &a->content_digest };
    if (len > 9 && strncmp (buffer, "HTTP/", 5) == 0) {
        /* A new answer (after a 100 Continue or a redirect): forget the last. */
        free (a->location), a->location = NULL;
        free (a->www_authenticate), a->www_authenticate = NULL;
        free (a->content_digest), a->content_digest = NULL;
    }
    for (size_t i = 0; i < 3; i++) {
        size_t nl = strlen (names[i]);
        if (len > nl && strncasecmp (buffer, names[i], nl) == 0) {
            const char *v = buffer + nl;
            size_t vl = len - nl;
            while (vl > 0 && (*v == ' ' || *v == '\t'))
                v++, vl--;
            while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
                vl--;
            if (*slots[i] != NULL && i == 1) { /* several challenges */
                char *joined = xasprintf ("%s, %.*s", *slots[i], (int) vl, v);
                free (*slots[i]);
                *slots[i] = joined;
            } else {
                free (*slots[i]);
                *slots[i] = xstrndup (v, vl);
            }
        }
    }
    return len;
}

static size_t
body_cb (char *buffer, size_t size, size_t n, void *data)
{
    answer_t *a = data;
    size_t len = size * n;
    if (a->body_len < WR_HTTP_MAX_ERROR_BODY) {
        size_t take =
            len < WR_HTTP_MAX_ERROR_BODY - a->body_len ? len : WR_HTTP_MAX_ERROR_BODY - a->body_len;
        a->body = xrealloc (a->body, a->body_len + take + 1);
        memcpy (a->body + a->body_len, buffer, take);
        a->body_len += take;
        a->body[a->body_len] = '\0';
    }
    return len;
}

typedef struct {
    const char *data; /* in memory, or */
    FILE *file; /* from a file */
    size_t len;
    size_t at;
} upload_t;

static size_t
read_cb (char *buffer, size_t size, size_t n, void *data)
{
    upload_t *u = data;
    size_t want = size * n;
    if (u->file != NULL)
        return fread (buffer, 1, want, u->file);
    size_t left = u->len - u->at;
    size_t take = want < left ? want : left;
    memcpy (buffer, u->data + u->at, take);
    u->at += take;
    return take;
}

static char *
describe (const char *method, const char *url, const answer_t *a)
{
    cleanup_free char *reg = a->body != NULL ? wr_http_registry_error (a->body, a->body_len) : NULL;
    return xasprintf ("%s %s: status %ld%s%s%s", method, url, a->status, reg ? " (" : "",
                      reg ? reg : "", reg ? ")" : "");
}

/* One request.  UPLOAD (may be NULL) is the body of a PUT; a POST has an
 * empty body. */
static int
perform (push_t *p, const char *method, const char *url, const char *const *headers,
         upload_t *upload, answer_t *a, wr_error_t *err)
{
    memset (a, 0, sizeof *a);
    curl_easy_reset (p->curl);
    char curl_error[CURL_ERROR_SIZE] = "";
    struct curl_slist *list = NULL;
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        list = curl_slist_append (list, headers[i]);
    if (p->authorization != NULL)
        list = curl_slist_append (list, p->authorization);
    curl_easy_setopt (p->curl, CURLOPT_URL, url);
    curl_easy_setopt (p->curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt (p->curl, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt (p->curl, CURLOPT_HEADERDATA, a);
    curl_easy_setopt (p->curl, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt (p->curl, CURLOPT_WRITEDATA, a);
    curl_easy_setopt (p->curl, CURLOPT_ERRORBUFFER, curl_error);
    curl_easy_setopt (p->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (p->curl, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt (p->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (strcmp (method, "HEAD") == 0) {
        curl_easy_setopt (p->curl, CURLOPT_NOBODY, 1L);
    } else if (strcmp (method, "POST") == 0) {
        curl_easy_setopt (p->curl, CURLOPT_POST, 1L);
        curl_easy_setopt (p->curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt (p->curl, CURLOPT_POSTFIELDSIZE, 0L);
    } else if (strcmp (method, "PUT") == 0) {
        curl_easy_setopt (p->curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt (p->curl, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt (p->curl, CURLOPT_READDATA, upload);
        curl_easy_setopt (p->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t) upload->len);
    }
    CURLcode code = curl_easy_perform (p->curl);
    curl_slist_free_all (list);
    if (code != CURLE_OK)
        return wr_error_set (err, 0, "%s %s: %s", method, url,
                             curl_error[0] ? curl_error : curl_easy_strerror (code));
    curl_easy_getinfo (p->curl, CURLINFO_RESPONSE_CODE, &a->status);
    return 0;
}

/* Gets a token (Bearer) or uses credentials (Basic) for a 401's CHALLENGE. */
static int
authenticate (push_t *p, const char *url, const char *challenge, wr_error_t *err)
{
    if (challenge == NULL)
        return wr_error_set (err, 0, "%s: 401 Unauthorized without a challenge", url);
    wr_auth_challenge_t *challenges = NULL;
    size_t n = 0;
    if (wr_auth_parse_challenges (challenge, &challenges, &n, err) < 0)
        return wr_error_prefix (err, "%s: 401 Unauthorized", url);
    int r = -1;
    const wr_auth_credential_t *cred = wr_auth_config_find (&p->auths, p->host);
    const wr_auth_challenge_t *bearer = wr_auth_find_challenge (challenges, n, "bearer");
    const wr_auth_challenge_t *basic = wr_auth_find_challenge (challenges, n, "basic");
    if (bearer != NULL && wr_auth_challenge_param (bearer, "realm") != NULL) {
        const char *realm = wr_auth_challenge_param (bearer, "realm");
        const char *service = wr_auth_challenge_param (bearer, "service");
        cleanup_free char *realm_host = wr_auth_normalize_host (realm);
        if (strncasecmp (realm, "https://", 8) != 0 &&
            !(strncasecmp (realm, "http://", 7) == 0 &&
              (wr_registry_host_is_loopback (realm_host) ||
               wr_registry_host_is_insecure (realm_host, p->insecure)))) {
            wr_error_set (err, 0, "token service `%.200s`: not HTTPS", realm);
            goto out;
        }
        char *service_q = service != NULL ? curl_easy_escape (p->curl, service, 0) : NULL;
        char *scope_q = curl_easy_escape (p->curl, p->scope, 0);
        cleanup_free char *token_url = xasprintf (
            "%s%s%s%s%sscope=%s", realm, strchr (realm, '?') ? "&" : "?",
            service_q ? "service=" : "", service_q ? service_q : "", service_q ? "&" : "", scope_q);
        curl_free (service_q);
        curl_free (scope_q);
        cleanup_free char *basic_header = NULL;
        if (cred != NULL) {
            cleanup_free char *v = wr_auth_basic_header (cred->username, cred->password);
            basic_header = xasprintf ("Authorization: %s", v);
        }
        const char *headers[] = { basic_header, NULL };
        free (p->authorization), p->authorization = NULL;
        answer_t a;
        if (perform (p, "GET", token_url, headers, NULL, &a, err) < 0)
            goto out;
        if (a.status != 200) {
            cleanup_free char *what = describe ("GET", token_url, &a);
            answer_clear (&a);
            wr_error_set (err, 0, "token for %s: %s", p->scope, what);
            goto out;
        }
        cleanup_free char *token = NULL;
        int rc =
            wr_auth_parse_token_answer (a.body ? a.body : "", a.body_len, token_url, &token, err);
        answer_clear (&a);
        if (rc < 0)
            goto out;
        p->authorization = xasprintf ("Authorization: Bearer %s", token);
        r = 0;
    } else if (basic != NULL && cred != NULL) {
        cleanup_free char *v = wr_auth_basic_header (cred->username, cred->password);
        free (p->authorization);
        p->authorization = xasprintf ("Authorization: %s", v);
        r = 0;
    } else {
        wr_error_set (err, 0, "%s: 401 Unauthorized, and no credentials for %s", url, p->host);
    }
out:
    wr_auth_challenges_free (challenges, n);
    return r;
}

/* A request, answered once more after a 401. */
static int
request (push_t *p, const char *method, const char *url, const char *const *headers,
         upload_t *upload, answer_t *a, wr_error_t *err)
{
    for (int attempt = 0;; attempt++) {
        if (upload != NULL) {
            upload->at = 0;
            if (upload->file != NULL)
                rewind (upload->file);
        }
        if (perform (p, method, url, headers, upload, a, err) < 0)
            return -1;
        if (a->status != 401 || attempt > 0)
            return 0;
        cleanup_free char *challenge = a->www_authenticate ? xstrdup (a->www_authenticate) : NULL;
        answer_clear (a);
        if (authenticate (p, url, challenge, err) < 0)
            return -1;
    }
}

/* The upload URL: LOCATION (absolute or relative to the registry) with the
 * digest added to its query. */
static char *
upload_url (push_t *p, const char *location, const char *digest)
{
    const char *sep = strchr (location, '?') != NULL ? "&" : "?";
    if (strncasecmp (location, "http://", 7) == 0 || strncasecmp (location, "https://", 8) == 0)
        return xasprintf ("%s%sdigest=%s", location, sep, digest);
    return xasprintf ("%s%s%s%sdigest=%s", p->base_url, location[0] == '/' ? "" : "/", location,
                      sep, digest);
}

static int
push_blob (push_t *p, wr_store_t *store, const char *digest, int64_t size, bool *sent,
           wr_error_t *err)
{
    *sent = false;
    cleanup_free char *url = xasprintf ("%s/v2/%s/blobs/%s", p->base_url, p->repository, digest);
    answer_t a;
    if (request (p, "HEAD", url, NULL, NULL, &a, err) < 0)
        return -1;
    long status = a.status;
    answer_clear (&a);
    if (status == 200)
        return 0;
    cleanup_free char *path = wr_store_blob_path (store, digest);
    cleanup_fclose FILE *file = path != NULL ? fopen (path, "rbe") : NULL;
    if (file == NULL)
        return wr_error_set (err, errno, "blob %s is not in the store", digest);
    struct stat st;
    if (fstat (fileno (file), &st) < 0 || (size >= 0 && st.st_size != size))
        return wr_error_set (err, 0, "blob %s in the store has the wrong size", digest);

    cleanup_free char *start = xasprintf ("%s/v2/%s/blobs/uploads/", p->base_url, p->repository);
    if (request (p, "POST", start, NULL, NULL, &a, err) < 0)
        return -1;
    if (a.status != 202 || a.location == NULL) {
        cleanup_free char *what = describe ("POST", start, &a);
        answer_clear (&a);
        return wr_error_set (err, 0, "%s", what);
    }
    cleanup_free char *put = upload_url (p, a.location, digest);
    answer_clear (&a);
    upload_t up = { .file = file, .len = (size_t) st.st_size };
    const char *headers[] = { "Content-Type: application/octet-stream", NULL };
    if (request (p, "PUT", put, headers, &up, &a, err) < 0)
        return -1;
    if (a.status != 201) {
        cleanup_free char *what = describe ("PUT", put, &a);
        answer_clear (&a);
        return wr_error_set (err, 0, "%s", what);
    }
    answer_clear (&a);
    *sent = true;
    return 0;
}

/* Blobs, then the manifest DATA (LEN bytes) of MANIFEST. */
static int
push_all (push_t *p, wr_store_t *store, const wr_manifest_t *manifest, const char *data, size_t len,
          const char *manifest_digest, const wr_image_ref_t *dest, wr_push_result_t *result,
          wr_error_t *err)
{
    for (size_t i = 0; i < manifest->n_layers + 1; i++) {
        const wr_descriptor_t *blob = i == 0 ? &manifest->config : &manifest->layers[i - 1];
        bool sent = false;
        if (push_blob (p, store, blob->digest, blob->size, &sent, err) < 0)
            return wr_error_prefix (err, "push blob %s", blob->digest);
        wr_log (WR_LOG_INFO, sent ? "blob pushed" : "blob exists", "digest", blob->digest, NULL);
        if (sent) {
            result->blobs_pushed++;
            result->bytes_pushed += (uint64_t) blob->size;
        } else {
            result->blobs_skipped++;
        }
    }
    const char *reference = dest->tag != NULL ? dest->tag : manifest_digest;
    cleanup_free char *url =
        xasprintf ("%s/v2/%s/manifests/%s", p->base_url, p->repository, reference);
    cleanup_free char *content_type = xasprintf (
        "Content-Type: %s", manifest->media_type ? manifest->media_type : WR_MEDIA_OCI_MANIFEST);
    const char *headers[] = { content_type, NULL };
    upload_t up = { .data = data, .len = len };
    answer_t a;
    if (request (p, "PUT", url, headers, &up, &a, err) < 0)
        return -1;
    int r = 0;
    if (a.status != 201) {
        cleanup_free char *what = describe ("PUT", url, &a);
        r = wr_error_set (err, 0, "push manifest: %s", what);
    } else if (a.content_digest != NULL && strcmp (a.content_digest, manifest_digest) != 0) {
        r = wr_error_set (err, 0, "push manifest: the registry stored it as %s, not %s",
                          a.content_digest, manifest_digest);
    }
    answer_clear (&a);
    return r;
}

int
wr_registry_push_image (const wr_registry_options_t *options, wr_store_t *store,
                        const char *manifest_digest, const wr_image_ref_t *dest,
                        wr_push_result_t *result, wr_error_t *err)
{
    static const wr_registry_options_t no_options;
    if (options == NULL)
        options = &no_options;
    wr_push_result_t local;
    if (result == NULL)
        result = &local;
    memset (result, 0, sizeof *result);
    cleanup_free char *data = NULL;
    cleanup_free char *auth_path = NULL;
    size_t len = 0;
    if (wr_store_read_blob (store, manifest_digest, WR_MANIFEST_MAX_SIZE, &data, &len, err) < 0)
        return wr_error_prefix (err, "push: manifest");
    wr_manifest_t manifest = { 0 };
    if (wr_manifest_parse (data, len, NULL, manifest_digest, &manifest, err) < 0)
        return -1;
    push_t p = { .insecure = options->insecure_registries };
    int r = -1;
    if (manifest.kind != WR_MANIFEST_IMAGE) {
        wr_error_set (err, 0, "push: %s is an index; only image manifests are pushed",
                      manifest_digest);
        goto out;
    }
    /* Pushes go to the registry itself, never to docker.io's pull mirror. */
    if (wr_registry_base_url (dest->registry, NULL, options->insecure_registries, &p.base_url,
                              &p.host, err) < 0)
        goto out;
    p.repository = xstrdup (dest->repository);
    p.scope = xasprintf ("repository:%s:pull,push", dest->repository);
    auth_path = options->auth_config != NULL ? xstrdup (options->auth_config)
                                             : wr_auth_config_default_path ();
    if (auth_path != NULL && wr_auth_config_load (auth_path, &p.auths, err) < 0)
        goto out;
    p.curl = curl_easy_init ();
    if (p.curl == NULL) {
        wr_error_set (err, ENOMEM, "push: curl_easy_init");
        goto out;
    }
    r = push_all (&p, store, &manifest, data, len, manifest_digest, dest, result, err);
out:
    wr_manifest_clear (&manifest);
    if (p.curl != NULL)
        curl_easy_cleanup (p.curl);
    free (p.base_url);
    free (p.host);
    free (p.repository);
    free (p.scope);
    if (p.authorization != NULL) {
        explicit_bzero (p.authorization, strlen (p.authorization));
        free (p.authorization);
    }
    wr_auth_config_clear (&p.auths);
    return r;
}
