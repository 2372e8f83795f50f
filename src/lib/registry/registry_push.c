/* The push side of the registry client: each blob (HEAD to skip those the
 * registry has, then POST to open an upload and a monolithic PUT with the
 * digest), then the manifest (PUT).
 *
 * Requests go through the same sessions as pulls (registry_session.c):
 * the same credentials (a Bearer challenge answered with a token for
 * "repository:NAME:pull,push", a Basic one with the auth config's user),
 * the same retries with backoff on network errors, 408, 429 and 5xx, and
 * the same URL rules (HTTPS; plain HTTP only for loopback and insecure
 * registries).  A blob whose upload fails on the way is started again from
 * the POST, since a registry may drop an upload that broke.  docker.io is
 * never replaced by its pull mirror: a push goes to the registry itself. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "log.h"
#include "manifest.h"
#include "registry_private.h"
#include "xalloc.h"

/* Small answers only: errors, and the empty bodies of 201 and 202. */
#define PUSH_MAX_ANSWER (64 * 1024)

typedef struct {
    wr_session_t session;
    const char *repository;
} push_t;

/* "PUT URL: 400 Bad Request (DIGEST_INVALID: ...)". */
static int
answer_error (wr_error_t *err, const char *method, const char *url,
              const wr_http_response_t *response)
{
    cleanup_free char *what = wr_http_describe (response);
    return wr_error_set (err, 0, "%s %s: %s", method, url, what);
}

/* The upload URL: LOCATION (absolute or relative to the registry) with the
 * digest added to its query. */
static char *
upload_url (push_t *p, const char *location, const char *digest)
{
    const char *sep = strchr (location, '?') != NULL ? "&" : "?";
    if (strncasecmp (location, "http://", 7) == 0 || strncasecmp (location, "https://", 8) == 0)
        return xasprintf ("%s%sdigest=%s", location, sep, digest);
    return xasprintf ("%s%s%s%sdigest=%s", p->session.base_url, location[0] == '/' ? "" : "/",
                      location, sep, digest);
}

/* Whether the registry has blob DIGEST (HEAD: 200 yes, 404 no). */
static int
has_blob (push_t *p, const char *digest, bool *has, wr_error_t *err)
{
    cleanup_free char *url =
        xasprintf ("%s/v2/%s/blobs/%s", p->session.base_url, p->repository, digest);
    wr_http_request_t request = { .method = "HEAD", .url = url, .max_body = PUSH_MAX_ANSWER };
    wr_http_response_t response;
    if (wr_session_send_retrying (&p->session, &request, NULL, &response, err) < 0)
        return -1;
    int r = 0;
    if (response.status == 200)
        *has = true;
    else if (response.status == 404)
        *has = false;
    else
        r = answer_error (err, "HEAD", url, &response);
    wr_http_response_clear (&response);
    return r;
}

/* One upload of the blob in FD (SIZE bytes): POST, then PUT.  *AGAIN is
 * set when a new try may succeed (a network error or a transient status
 * after the retries of each request). */
static int
upload_blob (push_t *p, int fd, const char *digest, int64_t size, bool *again, wr_error_t *err)
{
    *again = false;
    cleanup_free char *start =
        xasprintf ("%s/v2/%s/blobs/uploads/", p->session.base_url, p->repository);
    wr_http_request_t post = { .method = "POST", .url = start, .max_body = PUSH_MAX_ANSWER };
    wr_http_response_t response;
    if (wr_session_send_retrying (&p->session, &post, NULL, &response, err) < 0) {
        *again = true;
        return -1;
    }
    if (response.status != 202 || response.location == NULL) {
        *again = wr_http_status_is_transient (response.status);
        int r = response.status == 202
                    ? wr_error_set (err, 0, "POST %s: 202 Accepted without a Location", start)
                    : answer_error (err, "POST", start, &response);
        wr_http_response_clear (&response);
        return r;
    }
    cleanup_free char *put = upload_url (p, response.location, digest);
    wr_http_response_clear (&response);

    wr_http_upload_t body = { .fd = fd, .len = size };
    wr_http_request_t request = {
        .method = "PUT", .url = put, .max_body = PUSH_MAX_ANSWER, .upload = &body
    };
    const char *headers[] = { "Content-Type: application/octet-stream", NULL };
    /* Not retried on its own: the upload it belongs to may be gone. */
    if (wr_session_send (&p->session, &request, headers, &response, err) < 0) {
        *again = wr_http_failure_is_transient (&response);
        wr_http_response_clear (&response);
        return -1;
    }
    int r = 0;
    if (response.status != 201) {
        *again = wr_http_status_is_transient (response.status);
        r = answer_error (err, "PUT", put, &response);
    }
    wr_http_response_clear (&response);
    return r;
}

static int
push_blob (push_t *p, wr_store_t *store, const char *digest, int64_t size, bool *sent,
           wr_error_t *err)
{
    *sent = false;
    bool has = false;
    if (has_blob (p, digest, &has, err) < 0)
        return -1;
    if (has)
        return 0;
    cleanup_free char *path = wr_store_blob_path (store, digest, err);
    if (path == NULL)
        return -1;
    cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return wr_error_set (err, errno, "blob %s is not in the store", digest);
    struct stat st;
    if (fstat (fd, &st) < 0 || (size >= 0 && st.st_size != size))
        return wr_error_set (err, 0, "blob %s in the store has %" PRId64 " bytes, not %" PRId64,
                             digest, (int64_t) st.st_size, size);
    int retries = p->session.registry->retries;
    for (int attempt = 0;; attempt++) {
        bool again = false;
        if (upload_blob (p, fd, digest, (int64_t) st.st_size, &again, err) == 0)
            break;
        if (!again || attempt >= retries)
            return -1;
        wr_log_to (p->session.registry->log, WR_LOG_INFO, "uploading the blob again", "digest",
                   digest, "error", err != NULL && *err != NULL ? (*err)->message : "", NULL);
        wr_error_free (err);
        wr_registry_backoff (attempt, NULL, NULL);
    }
    *sent = true;
    return 0;
}

static int
push_manifest (push_t *p, const wr_manifest_t *manifest, const char *data, size_t len,
               const char *manifest_digest, const wr_image_ref_t *dest, wr_error_t *err)
{
    const char *reference = dest->tag != NULL ? dest->tag : manifest_digest;
    cleanup_free char *url =
        xasprintf ("%s/v2/%s/manifests/%s", p->session.base_url, p->repository, reference);
    cleanup_free char *content_type = xasprintf (
        "Content-Type: %s", manifest->media_type ? manifest->media_type : WR_MEDIA_OCI_MANIFEST);
    const char *headers[] = { content_type, NULL };
    wr_http_upload_t body = { .data = data, .len = (int64_t) len };
    wr_http_request_t request = {
        .method = "PUT", .url = url, .max_body = PUSH_MAX_ANSWER, .upload = &body
    };
    wr_http_response_t response;
    /* A manifest PUT is whole in itself: sending it again is safe. */
    if (wr_session_send_retrying (&p->session, &request, headers, &response, err) < 0)
        return -1;
    int r = 0;
    if (response.status != 201)
        r = answer_error (err, "PUT", url, &response);
    else if (response.docker_content_digest != NULL &&
             strcmp (response.docker_content_digest, manifest_digest) != 0)
        r = wr_error_set (err, 0, "PUT %s: the registry stored the manifest as %.80s, not %s", url,
                          response.docker_content_digest, manifest_digest);
    wr_http_response_clear (&response);
    return r;
}

/* Blobs (the config first), then the manifest DATA (LEN bytes). */
static int
push_all (push_t *p, wr_store_t *store, const wr_manifest_t *manifest, const char *data, size_t len,
          const char *manifest_digest, const wr_image_ref_t *dest, wr_push_result_t *result,
          wr_error_t *err)
{
    for (size_t i = 0; i < manifest->n_layers + 1; i++) {
        const wr_descriptor_t *blob = i == 0 ? &manifest->config : &manifest->layers[i - 1];
        if (wr_digest_validate (blob->digest, err) < 0)
            return wr_error_prefix (err, "push");
        bool sent = false;
        if (push_blob (p, store, blob->digest, blob->size, &sent, err) < 0)
            return wr_error_prefix (err, "push blob %s", blob->digest);
        wr_log_to (p->session.registry->log, WR_LOG_INFO, sent ? "blob pushed" : "blob exists",
                   "digest", blob->digest, NULL);
        if (sent) {
            result->blobs_pushed++;
            result->bytes_pushed += (uint64_t) blob->size;
        } else {
            result->blobs_skipped++;
        }
    }
    if (push_manifest (p, manifest, data, len, manifest_digest, dest, err) < 0)
        return wr_error_prefix (err, "push manifest %s", manifest_digest);
    return 0;
}

int
wr_registry_push_image (wr_registry_t *registry, wr_store_t *store, const char *manifest_digest,
                        const wr_image_ref_t *dest, wr_push_result_t *result, wr_error_t *err)
{
    wr_push_result_t local;
    if (result == NULL)
        result = &local;
    memset (result, 0, sizeof *result);
    cleanup_free char *data = NULL;
    size_t len = 0;
    if (wr_store_read_blob (store, manifest_digest, WR_MANIFEST_MAX_SIZE, &data, &len, err) < 0)
        return wr_error_prefix (err, "push: manifest");
    wr_manifest_t manifest = { 0 };
    if (wr_manifest_parse (data, len, NULL, manifest_digest, &manifest, err) < 0)
        return -1;
    cleanup_free char *base_url = NULL, *host = NULL, *scope = NULL;
    CURL *curl = NULL;
    int r = -1;
    if (manifest.kind != WR_MANIFEST_IMAGE) {
        wr_error_set (err, 0, "push: %s is an index; only image manifests are pushed",
                      manifest_digest);
        goto out;
    }
    /* Pushes go to the registry itself, never to docker.io's pull mirror. */
    if (wr_registry_base_url (dest->registry, NULL, (const char *const *) registry->insecure,
                              &base_url, &host, err) < 0)
        goto out;
    scope = xasprintf ("repository:%s:pull,push", dest->repository);
    curl = curl_easy_init ();
    if (curl == NULL) {
        wr_error_set (err, ENOMEM, "push: curl_easy_init");
        goto out;
    }
    push_t p = {
        .session = {
            .registry = registry,
            .curl = curl,
            .base_url = base_url,
            .host = host,
            .scope = scope,
            .https_redirects_only = strncmp (base_url, "https:", 6) == 0,
        },
        .repository = dest->repository,
    };
    r = push_all (&p, store, &manifest, data, len, manifest_digest, dest, result, err);
out:
    wr_manifest_clear (&manifest);
    if (curl != NULL)
        curl_easy_cleanup (curl);
    return r;
}
