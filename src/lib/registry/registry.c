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
#define DEFAULT_CONNECT_TIMEOUT_MS 30000
#define DEFAULT_REQUEST_TIMEOUT_MS 60000
#define DEFAULT_STALL_TIMEOUT_MS 30000
#define DEFAULT_STALL_BYTES_PER_SECOND 1024
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

CURL *
wr_registry_take_handle (wr_registry_t *r)
{
    CURL *curl = NULL;
    pthread_mutex_lock (&r->handle_lock);
    if (r->n_idle > 0)
        curl = r->idle[--r->n_idle];
    pthread_mutex_unlock (&r->handle_lock);
    return curl != NULL ? curl : wr_registry_new_handle ();
}

void
wr_registry_give_handle (wr_registry_t *r, CURL *curl)
{
    if (curl == NULL)
        return;
    pthread_mutex_lock (&r->handle_lock);
    if (r->n_idle < WR_REGISTRY_IDLE_HANDLES) {
        r->idle[r->n_idle++] = curl;
        curl = NULL;
    }
    pthread_mutex_unlock (&r->handle_lock);
    /* Outside the lock: closing its connections may take a moment. */
    if (curl != NULL)
        curl_easy_cleanup (curl);
}

void
wr_registry_request_limits (const wr_registry_t *r, wr_http_request_t *request, bool small)
{
    request->share = r->share;
    request->connect_timeout_ms = r->connect_timeout_ms;
    request->timeout_ms = small ? r->request_timeout_ms : 0;
    request->stall_ms = r->stall_timeout_ms;
    request->stall_bytes_per_second = r->stall_bytes_per_second;
}

/* The share's locks: one mutex per kind of data, as libcurl asks. */
static void
share_lock (CURL *handle, curl_lock_data data, curl_lock_access access, void *userptr)
{
    wr_registry_t *r = userptr;
    if ((int) data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock (&r->share_locks[data]);
}

static void
share_unlock (CURL *handle, curl_lock_data data, void *userptr)
{
    wr_registry_t *r = userptr;
    if ((int) data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock (&r->share_locks[data]);
}

static int
make_share (wr_registry_t *r, wr_error_t *err)
{
    for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init (&r->share_locks[i], NULL);
    r->share = curl_share_init ();
    if (r->share == NULL)
        return wr_error_set (err, ENOMEM, "registry client: curl_share_init");
    CURLSHcode rc = curl_share_setopt (r->share, CURLSHOPT_LOCKFUNC, share_lock);
    if (rc == CURLSHE_OK)
        rc = curl_share_setopt (r->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    if (rc == CURLSHE_OK)
        rc = curl_share_setopt (r->share, CURLSHOPT_USERDATA, r);
    if (rc == CURLSHE_OK)
        rc = curl_share_setopt (r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    if (rc == CURLSHE_OK)
        rc = curl_share_setopt (r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    if (rc != CURLSHE_OK)
        return wr_error_set (err, 0, "registry client: share DNS and TLS sessions: %s",
                             curl_share_strerror (rc));
    return 0;
}

static int
check_timeout (const char *name, int64_t value, wr_error_t *err)
{
    /* curl takes longs of milliseconds; a day is more than any request needs. */
    if (value < 0 || value > 24LL * 3600 * 1000)
        return wr_error_set (
            err, 0, "registry client: %s %" PRId64 " is not between 0 and 86400000", name, value);
    return 0;
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
    if (check_timeout ("connect_timeout_ms", options->connect_timeout_ms, err) < 0 ||
        check_timeout ("request_timeout_ms", options->request_timeout_ms, err) < 0 ||
        check_timeout ("stall_timeout_ms", options->stall_timeout_ms, err) < 0)
        return NULL;
    if (options->stall_bytes_per_second < 0) {
        wr_error_set (err, 0, "registry client: stall_bytes_per_second %" PRId64 " is negative",
                      options->stall_bytes_per_second);
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
    r->connect_timeout_ms =
        options->connect_timeout_ms > 0 ? options->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    r->request_timeout_ms =
        options->request_timeout_ms > 0 ? options->request_timeout_ms : DEFAULT_REQUEST_TIMEOUT_MS;
    r->stall_timeout_ms =
        options->stall_timeout_ms > 0 ? options->stall_timeout_ms : DEFAULT_STALL_TIMEOUT_MS;
    r->stall_bytes_per_second = options->stall_bytes_per_second > 0
                                    ? options->stall_bytes_per_second
                                    : DEFAULT_STALL_BYTES_PER_SECOND;
    pthread_mutex_init (&r->auth_lock, NULL);
    pthread_mutex_init (&r->handle_lock, NULL);
    if (make_share (r, err) < 0) {
        wr_registry_free (r);
        return NULL;
    }
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
    for (size_t i = 0; i < r->n_idle; i++)
        curl_easy_cleanup (r->idle[i]);
    /* After every handle that used it. */
    if (r->share != NULL)
        curl_share_cleanup (r->share);
    for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy (&r->share_locks[i]);
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
    return wr_registry_get_manifest_call (registry, NULL, ref, reference, body, len, content_type,
                                          digest, err);
}

int
wr_registry_get_manifest_call (wr_registry_t *registry, const wr_registry_call_t *call,
                               const wr_image_ref_t *ref, const char *reference, char **body,
                               size_t *len, char **content_type, char **digest, wr_error_t *err)
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

    /* A handle of its own: no lock is held while the request runs. */
    wr_session_t s = {
        .registry = registry,
        .curl = wr_registry_take_handle (registry),
        .base_url = base_url,
        .host = host,
        .scope = scope,
        .https_redirects_only = strncmp (base_url, "https:", 6) == 0,
        .cancel = call != NULL ? call->cancel : NULL,
        .log = call != NULL ? call->log : NULL,
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
        rc = wr_error_set_kind (err, wr_http_status_kind (response.status), 0, "GET %s: %s", url,
                                what);
    }
    wr_registry_give_handle (registry, s.curl);
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
