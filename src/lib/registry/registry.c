/* The registry client: its options, names in URLs and manifests.  Blobs
 * are fetched by registry_fetch.c. */
#include "registry.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cleanup.h"
#include "digest.h"
#include "log.h"
#include "registry_private.h"
#include "xalloc.h"

#define DEFAULT_MAX_PARALLEL 4
#define DEFAULT_RETRIES 3
#define MAX_PARALLEL 32
#define MANIFEST_ACCEPT                                                                            \
    "Accept: " WR_MEDIA_OCI_MANIFEST ", " WR_MEDIA_OCI_INDEX ", " WR_MEDIA_DOCKER_MANIFEST         \
    ", " WR_MEDIA_DOCKER_LIST

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_code;

static void
curl_init_once (void)
{
    curl_init_code = curl_global_init (CURL_GLOBAL_DEFAULT);
}

CURL *
wr_registry_new_handle (void)
{
    CURL *curl = curl_easy_init ();
    if (curl == NULL)
        abort ();
    return curl;
}

wr_registry_t *
wr_registry_new (const wr_registry_options_t *options, wr_error_t *err)
{
    wr_registry_options_t defaults = { 0 };
    cleanup_free char *config_path = NULL;
    wr_auth_config_t auths = { 0 };

    pthread_once (&curl_once, curl_init_once);
    if (curl_init_code != CURLE_OK) {
        wr_error_set (err, 0, "initialise libcurl: %s", curl_easy_strerror (curl_init_code));
        return NULL;
    }
    if (options == NULL)
        options = &defaults;
    if (options->max_parallel < 0 || options->max_parallel > MAX_PARALLEL) {
        wr_error_set (err, 0, "registry client: max_parallel %d is not between 1 and %d",
                      options->max_parallel, MAX_PARALLEL);
        return NULL;
    }
    if (options->retries < 0 || options->retries > 20) {
        wr_error_set (err, 0, "registry client: retries %d is not between 0 and 20",
                      options->retries);
        return NULL;
    }
    config_path = options->auth_config != NULL ? xstrdup (options->auth_config) : NULL;
    if (config_path != NULL && wr_auth_config_load (config_path, &auths, err) < 0) {
        wr_error_prefix (err, "registry credentials");
        return NULL;
    }

    wr_registry_t *r = xzalloc (sizeof *r);
    r->log = options->log;
    r->mirror = options->docker_io_mirror != NULL ? xstrdup (options->docker_io_mirror) : NULL;
    size_t n = 0;
    while (options->insecure_registries != NULL && options->insecure_registries[n] != NULL)
        n++;
    r->insecure = xzalloc ((n + 1) * sizeof *r->insecure);
    for (size_t i = 0; i < n; i++)
        r->insecure[i] = xstrdup (options->insecure_registries[i]);
    r->max_parallel = options->max_parallel > 0 ? options->max_parallel : DEFAULT_MAX_PARALLEL;
    /* 0 means "the default": a caller wanting no retries is rare enough. */
    r->retries = options->retries > 0 ? options->retries : DEFAULT_RETRIES;
    r->max_bytes_per_second = options->max_bytes_per_second > 0 ? options->max_bytes_per_second : 0;
    r->auth_config_path = steal_pointer (&config_path);
    r->auths = auths;
    pthread_mutex_init (&r->auth_lock, NULL);
    pthread_mutex_init (&r->handle_lock, NULL);
    r->curl = wr_registry_new_handle ();
    return r;
}

void
wr_registry_free (wr_registry_t *r)
{
    if (r == NULL)
        return;
    free (r->mirror);
    for (char **p = r->insecure; p != NULL && *p != NULL; p++)
        free (*p);
    free (r->insecure);
    free (r->auth_config_path);
    wr_auth_config_clear (&r->auths);
    for (size_t i = 0; i < r->n_auth_cache; i++) {
        free (r->auth_cache[i].host);
        free (r->auth_cache[i].scope);
        explicit_bzero (r->auth_cache[i].authorization, strlen (r->auth_cache[i].authorization));
        free (r->auth_cache[i].authorization);
    }
    free (r->auth_cache);
    pthread_mutex_destroy (&r->auth_lock);
    pthread_mutex_destroy (&r->handle_lock);
    curl_easy_cleanup (r->curl);
    free (r);
}

/* ---- names in URLs ---- */

/* Repository names come from a parsed reference, but they go into a URL:
 * check again that they hold nothing a URL would read differently. */
int
wr_registry_check_repository (const char *repository, wr_error_t *err)
{
    if (repository == NULL || repository[0] == '\0' || repository[0] == '/' ||
        strstr (repository, "..") != NULL || strlen (repository) > 255)
        return wr_error_set (err, 0, "repository `%.100s`: not a valid repository name",
                             repository ? repository : "");
    for (const char *p = repository; *p; p++)
        if (!(islower ((unsigned char) *p) || isdigit ((unsigned char) *p) ||
              strchr ("._-/", *p) != NULL))
            return wr_error_set (err, 0, "repository `%.100s`: not a valid repository name",
                                 repository);
    return 0;
}

static bool
is_digest_reference (const char *reference)
{
    return strchr (reference, ':') != NULL;
}

static int
check_reference (const char *reference, wr_error_t *err)
{
    if (reference == NULL || reference[0] == '\0')
        return wr_error_set (err, 0, "missing tag or digest");
    if (is_digest_reference (reference))
        return wr_digest_validate (reference, err);
    size_t len = strlen (reference);
    bool ok = len <= 128 && (isalnum ((unsigned char) reference[0]) || reference[0] == '_');
    for (size_t i = 0; ok && i < len; i++)
        ok = isalnum ((unsigned char) reference[i]) || strchr ("_.-", reference[i]) != NULL;
    if (!ok)
        return wr_error_set (err, 0, "tag `%.130s`: not a valid tag", reference);
    return 0;
}

/* ---- manifests ---- */

static char *
media_type_of (const char *content_type)
{
    if (content_type == NULL)
        return NULL;
    size_t n = strcspn (content_type, ";");
    while (n > 0 && (content_type[n - 1] == ' ' || content_type[n - 1] == '\t'))
        n--;
    return n > 0 ? xstrndup (content_type, n) : NULL;
}

int
wr_registry_get_manifest (wr_registry_t *registry, const wr_image_ref_t *ref, const char *reference,
                          char **body, size_t *len, char **content_type, char **digest,
                          wr_error_t *err)
{
    cleanup_free char *base_url = NULL;
    cleanup_free char *host = NULL;
    cleanup_free char *url = NULL;
    cleanup_free char *scope = NULL;
    wr_http_response_t response = { 0 };
    char computed[WR_DIGEST_MAX_LEN + 1];

    *body = NULL;
    *len = 0;
    if (content_type != NULL)
        *content_type = NULL;
    if (digest != NULL)
        *digest = NULL;
    if (reference == NULL)
        reference = ref->digest != NULL ? ref->digest : ref->tag;
    if (wr_registry_check_repository (ref->repository, err) < 0 ||
        check_reference (reference, err) < 0)
        return wr_error_prefix (err, "manifest of %s", ref->registry);
    if (wr_registry_base_url (ref->registry, registry->mirror,
                              (const char *const *) registry->insecure, &base_url, &host, err) < 0)
        return -1;
    url = xasprintf ("%s/v2/%s/manifests/%s", base_url, ref->repository, reference);
    scope = xasprintf ("repository:%s:pull", ref->repository);

    pthread_mutex_lock (&registry->handle_lock);
    wr_session_t s = {
        .registry = registry,
        .curl = registry->curl,
        .base_url = base_url,
        .host = host,
        .scope = scope,
        .https_redirects_only = strncmp (base_url, "https:", 6) == 0,
    };
    wr_http_request_t request = {
        .url = url,
        .max_body = WR_MANIFEST_MAX_SIZE,
        .follow_redirects = true,
    };
    const char *headers[] = { MANIFEST_ACCEPT, NULL };
    int rc = wr_session_send_retrying (&s, &request, headers, &response, err);
    if (rc == 0 && response.status != 200) {
        cleanup_free char *what = wr_http_describe (&response);
        rc = wr_error_set (err, 0, "GET %s: %s", url, what);
    }
    pthread_mutex_unlock (&registry->handle_lock);
    if (rc < 0) {
        wr_http_response_clear (&response);
        return -1;
    }

    wr_sha256_digest (response.body ? response.body : "", response.body_len, computed);
    if (is_digest_reference (reference) && strcmp (computed, reference) != 0) {
        wr_error_set (err, 0, "GET %s: the manifest's digest is %s, not the %s asked for", url,
                      computed, reference);
        wr_http_response_clear (&response);
        return -1;
    }
    const char *claimed = response.docker_content_digest;
    if (claimed != NULL && strncmp (claimed, "sha256:", 7) == 0 &&
        strcmp (claimed, computed) != 0) {
        wr_error_set (err, 0,
                      "GET %s: the registry says the manifest's digest is %.80s, but it is %s", url,
                      claimed, computed);
        wr_http_response_clear (&response);
        return -1;
    }
    if (response.body == NULL)
        response.body = xstrdup ("");
    *body = steal_pointer (&response.body);
    *len = response.body_len;
    if (content_type != NULL)
        *content_type = media_type_of (response.content_type);
    if (digest != NULL)
        *digest = xstrdup (computed);
    wr_http_response_clear (&response);
    return 0;
}
