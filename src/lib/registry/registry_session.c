/* Registry sessions: credentials for a host and scope (tokens from a
 * Bearer challenge's realm, basic credentials from the auth config),
 * cached in the registry object and shared by pulls and pushes; requests
 * that answer a 401 once, and retries with backoff. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cleanup.h"
#include "log.h"
#include "registry_private.h"
#include "xalloc.h"

/* First pause between retries; doubled each time, at most BACKOFF_MAX_MS. */
#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS 8000
#define RETRY_AFTER_MAX_S 30

/* The Authorization header line for (HOST, SCOPE), or NULL. */
static char *
cached_authorization (wr_registry_t *r, const char *host, const char *scope)
{
    char *found = NULL;
    pthread_mutex_lock (&r->auth_lock);
    for (size_t pass = 0; pass < 2 && found == NULL; pass++) {
        const char *want = pass == 0 ? scope : "";
        for (size_t i = 0; i < r->n_auth_cache; i++) {
            if (strcmp (r->auth_cache[i].host, host) == 0 &&
                strcmp (r->auth_cache[i].scope, want) == 0) {
                found = xstrdup (r->auth_cache[i].authorization);
                break;
            }
        }
    }
    pthread_mutex_unlock (&r->auth_lock);
    return found;
}

static void
cache_authorization (wr_registry_t *r, const char *host, const char *scope, char *authorization)
{
    pthread_mutex_lock (&r->auth_lock);
    for (size_t i = 0; i < r->n_auth_cache; i++) {
        if (strcmp (r->auth_cache[i].host, host) == 0 &&
            strcmp (r->auth_cache[i].scope, scope) == 0) {
            free (r->auth_cache[i].authorization);
            r->auth_cache[i].authorization = authorization;
            pthread_mutex_unlock (&r->auth_lock);
            return;
        }
    }
    r->auth_cache = xrealloc (r->auth_cache, (r->n_auth_cache + 1) * sizeof *r->auth_cache);
    r->auth_cache[r->n_auth_cache].host = xstrdup (host);
    r->auth_cache[r->n_auth_cache].scope = xstrdup (scope);
    r->auth_cache[r->n_auth_cache].authorization = authorization;
    r->n_auth_cache++;
    pthread_mutex_unlock (&r->auth_lock);
}

int
wr_registry_backoff (int attempt, const char *retry_after, const wr_cancel_t *cancel)
{
    long ms = BACKOFF_FIRST_MS;
    for (int i = 0; i < attempt && ms < BACKOFF_MAX_MS; i++)
        ms *= 2;
    if (ms > BACKOFF_MAX_MS)
        ms = BACKOFF_MAX_MS;
    if (retry_after != NULL) {
        char *end = NULL;
        long s = strtol (retry_after, &end, 10);
        if (end != retry_after && *end == '\0' && s >= 0)
            ms = (s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : s) * 1000L;
    }
    return wr_cancel_sleep (cancel, ms);
}

static const wr_log_t *
session_log (const wr_session_t *s)
{
    return s->log != NULL ? s->log : s->registry->log;
}

/* Gets a token from the token service REALM for SCOPE. */
static int
fetch_token (wr_session_t *s, const char *realm, const char *service, const char *scope,
             const char *extra_scope, char **authorization, wr_error_t *err)
{
    wr_registry_t *r = s->registry;
    cleanup_free char *url = NULL;
    cleanup_free char *basic = NULL;

    bool https = strncasecmp (realm, "https://", 8) == 0;
    if (!https && strncasecmp (realm, "http://", 7) != 0)
        return wr_error_set (err, 0, "token service `%.200s` of %s: not an http(s) URL", realm,
                             s->host);
    if (!https) {
        cleanup_free char *realm_host = wr_auth_normalize_host (realm);
        if (!wr_registry_host_is_loopback (realm_host) &&
            !wr_registry_host_is_insecure (realm_host, (const char *const *) r->insecure))
            return wr_error_set (err, 0,
                                 "token service `%.200s` of %s: plain HTTP is allowed only for "
                                 "loopback and insecure registries",
                                 realm, s->host);
    }
    char *service_q = service != NULL ? curl_easy_escape (s->curl, service, 0) : NULL;
    char *escaped = curl_easy_escape (s->curl, scope, 0);
    if (escaped == NULL || (service != NULL && service_q == NULL))
        abort ();
    char *scope_q = xstrdup (escaped);
    curl_free (escaped);
    if (extra_scope != NULL && strcmp (extra_scope, scope) != 0) {
        /* Several scopes are several scope parameters. */
        escaped = curl_easy_escape (s->curl, extra_scope, 0);
        if (escaped == NULL)
            abort ();
        char *both = xasprintf ("%s&scope=%s", scope_q, escaped);
        curl_free (escaped);
        free (scope_q);
        scope_q = both;
    }
    const char *sep = strchr (realm, '?') != NULL ? "&" : "?";
    if (service_q != NULL)
        url = xasprintf ("%s%sservice=%s&scope=%s", realm, sep, service_q, scope_q);
    else
        url = xasprintf ("%s%sscope=%s", realm, sep, scope_q);
    curl_free (service_q);
    free (scope_q);

    const wr_auth_credential_t *cred = wr_auth_config_find (&r->auths, s->host);
    if (cred != NULL) {
        cleanup_free char *value = wr_auth_basic_header (cred->username, cred->password);
        basic = xasprintf ("Authorization: %s", value);
    }
    const char *headers[] = { basic, NULL };
    wr_http_request_t request = {
        .url = url,
        .headers = headers,
        .max_body = WR_AUTH_MAX_TOKEN_ANSWER,
        .follow_redirects = false,
        .cancelled = s->cancelled,
        .cancel_data = s->cancel_data,
        .cancel = s->cancel,
    };
    wr_registry_request_limits (r, &request, true);
    /* The token is fetched without any lock held; authenticate() then
     * publishes it in the cache under auth_lock. */
    for (int attempt = 0;; attempt++) {
        wr_http_response_t response;
        int rc = wr_http_perform (s->curl, &request, &response, err);
        if (rc < 0) {
            bool again = wr_http_failure_is_transient (&response) && attempt < r->retries;
            wr_http_response_clear (&response);
            if (!again)
                return wr_error_prefix (err, "token for %s", scope);
            wr_error_free (err);
            if (wr_registry_backoff (attempt, NULL, s->cancel) < 0)
                return wr_cancel_check (s->cancel, scope, err);
            continue;
        }
        if (wr_http_status_is_transient (response.status) && attempt < r->retries) {
            int stopped = wr_registry_backoff (attempt, response.retry_after, s->cancel);
            wr_http_response_clear (&response);
            if (stopped < 0)
                return wr_cancel_check (s->cancel, scope, err);
            continue;
        }
        if (response.status != 200) {
            cleanup_free char *what = wr_http_describe (&response);
            long status = response.status;
            wr_http_response_clear (&response);
            return wr_error_set (err, 0, "token for %s: GET %s: %s%s", scope, url, what,
                                 status == 401 && cred == NULL
                                     ? " (no credentials for this registry in the auth config)"
                                     : "");
        }
        cleanup_free char *token = NULL;
        rc = wr_auth_parse_token_answer (response.body ? response.body : "", response.body_len, url,
                                         &token, err);
        wr_http_response_clear (&response);
        if (rc < 0)
            return wr_error_prefix (err, "token for %s", scope);
        *authorization = xasprintf ("Authorization: Bearer %s", token);
        explicit_bzero (token, strlen (token));
        return 0;
    }
}

/* Answers a 401 of REQUEST_URL: gets a token or finds credentials, and
 * caches them for the session's host and scope. */
static int
authenticate (wr_session_t *s, const char *method, const char *request_url,
              const char *challenge_header, wr_error_t *err)
{
    wr_auth_challenge_t *challenges = NULL;
    size_t n = 0;
    int ret = -1;

    if (challenge_header == NULL)
        return wr_error_set (err, 0, "%s %s: 401 Unauthorized without a WWW-Authenticate challenge",
                             method, request_url);
    if (wr_auth_parse_challenges (challenge_header, &challenges, &n, err) < 0)
        return wr_error_prefix (err, "%s %s: 401 Unauthorized", method, request_url);

    const wr_auth_challenge_t *bearer = wr_auth_find_challenge (challenges, n, "bearer");
    const wr_auth_challenge_t *basic = wr_auth_find_challenge (challenges, n, "basic");
    if (bearer != NULL && wr_auth_challenge_param (bearer, "realm") != NULL) {
        const char *scope = wr_auth_challenge_param (bearer, "scope");
        char *authorization = NULL;
        /* The session's scope (a push needs pull,push from its first
         * request on), and what the challenge asked for when it differs. */
        if (fetch_token (s, wr_auth_challenge_param (bearer, "realm"),
                         wr_auth_challenge_param (bearer, "service"), s->scope, scope,
                         &authorization, err) < 0) {
            wr_error_prefix (err, "%s %s", method, request_url);
            goto out;
        }
        cache_authorization (s->registry, s->host, s->scope, authorization);
        ret = 0;
    } else if (basic != NULL) {
        const wr_auth_credential_t *cred = wr_auth_config_find (&s->registry->auths, s->host);
        if (cred == NULL) {
            wr_error_set (err, 0,
                          "%s %s: 401 Unauthorized: %s asks for a user name and password, and "
                          "the auth config (%s) has none for it",
                          method, request_url, s->host,
                          s->registry->auth_config_path ? s->registry->auth_config_path : "none");
            goto out;
        }
        cleanup_free char *value = wr_auth_basic_header (cred->username, cred->password);
        cache_authorization (s->registry, s->host, "", xasprintf ("Authorization: %s", value));
        ret = 0;
    } else {
        wr_error_set (err, 0, "%s %s: 401 Unauthorized with no challenge warren can answer: %.200s",
                      method, request_url, challenge_header);
    }
out:
    wr_auth_challenges_free (challenges, n);
    return ret;
}

int
wr_session_send (wr_session_t *s, wr_http_request_t *request, const char *const *headers,
                 wr_http_response_t *response, wr_error_t *err)
{
    bool answered = false;
    for (;;) {
        cleanup_free char *authorization = cached_authorization (s->registry, s->host, s->scope);
        const char *lines[8] = { NULL };
        size_t n = 0;
        for (size_t i = 0; headers != NULL && headers[i] != NULL && n < 6; i++)
            lines[n++] = headers[i];
        if (authorization != NULL)
            lines[n++] = authorization;
        request->headers = lines;
        request->https_redirects_only = s->https_redirects_only;
        request->cancelled = s->cancelled;
        request->cancel_data = s->cancel_data;
        request->cancel = s->cancel;
        if (request->share == NULL)
            /* Answers kept in memory are small (manifests, HEADs, an
             * upload's start): the whole request has a deadline.  Blob
             * bodies (a sink) and uploads have the stall deadline only. */
            wr_registry_request_limits (s->registry, request,
                                        request->sink == NULL && request->upload == NULL);
        int rc = wr_http_perform (s->curl, request, response, err);
        request->headers = NULL;
        if (rc < 0)
            return -1;
        if (response->status != 401 || answered)
            return 0;
        cleanup_free char *challenge =
            response->www_authenticate ? xstrdup (response->www_authenticate) : NULL;
        wr_http_response_clear (response);
        if (authenticate (s, wr_http_method (request), request->url, challenge, err) < 0)
            return -1;
        answered = true;
    }
}

int
wr_session_send_retrying (wr_session_t *s, wr_http_request_t *request, const char *const *headers,
                          wr_http_response_t *response, wr_error_t *err)
{
    int retries = s->registry->retries;
    for (int attempt = 0;; attempt++) {
        if (wr_session_send (s, request, headers, response, err) < 0) {
            bool again = wr_http_failure_is_transient (response) && attempt < retries;
            wr_http_response_clear (response);
            if (!again)
                return -1;
            wr_log_to (session_log (s), WR_LOG_DEBUG, "retrying a request", "url", request->url,
                       "error", err != NULL && *err != NULL ? (*err)->message : "", NULL);
            wr_error_free (err);
            if (wr_registry_backoff (attempt, NULL, s->cancel) < 0)
                return wr_cancel_check (s->cancel, request->url, err);
            continue;
        }
        if (wr_http_status_is_transient (response->status) && attempt < retries) {
            int stopped = wr_registry_backoff (attempt, response->retry_after, s->cancel);
            wr_http_response_clear (response);
            if (stopped < 0)
                return wr_cancel_check (s->cancel, request->url, err);
            continue;
        }
        return 0;
    }
}
