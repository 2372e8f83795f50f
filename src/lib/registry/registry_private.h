/* What registry.c (the client, manifests), registry_fetch.c (blobs),
 * registry_push.c and registry_session.c share:
 * the client's state and sessions, requests to one registry host for one
 * scope that carry the credentials that host asked for.  Not installed. */
#ifndef WARREN_REGISTRY_PRIVATE_H
#define WARREN_REGISTRY_PRIVATE_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "registry.h"
#include "registry_auth.h"
#include "registry_http.h"

typedef struct {
    char *host;
    char *scope; /* "" for credentials good for every scope (basic) */
    char *authorization; /* the whole header line */
} wr_cached_auth_t;

struct wr_registry_s {
    char *mirror;
    char **insecure;
    int max_parallel;
    int retries;
    int64_t max_bytes_per_second;
    const wr_log_t *log;
    char *auth_config_path;
    wr_auth_config_t auths;

    pthread_mutex_t auth_lock;
    wr_cached_auth_t *auth_cache;
    size_t n_auth_cache;

    /* The handle for manifests, kept so connections are reused. */
    pthread_mutex_t handle_lock;
    CURL *curl;
};

/* Requests to one registry host, for one scope, on one curl handle (one
 * thread at a time).  Tokens and credentials are cached in the registry
 * object for (host, scope), so sessions of the same pull share them. */
typedef struct {
    wr_registry_t *registry;
    CURL *curl;
    const char *base_url;
    const char *host; /* what credentials and tokens are kept for */
    const char *scope; /* "repository:NAME:pull" or "...:pull,push" */
    bool https_redirects_only;
    bool (*cancelled) (void *data);
    void *cancel_data;
} wr_session_t;

/* One request with the session's cached credentials and HEADERS (up to
 * six, NULL-terminated; may be NULL).  A 401 is answered once (a token
 * from the challenge's realm, or the auth config's credentials) and the
 * request made again.  0 when an answer came (any status). */
int wr_session_send (wr_session_t *session, wr_http_request_t *request, const char *const *headers,
                     wr_http_response_t *response, wr_error_t *err);

/* wr_session_send, made again with backoff (registry->retries times) after
 * a transport error worth retrying or a 408, 429 or 5xx answer.  0 with the
 * last answer (any status), -1 when the last try failed in transport. */
int wr_session_send_retrying (wr_session_t *session, wr_http_request_t *request,
                              const char *const *headers, wr_http_response_t *response,
                              wr_error_t *err);

/* A new easy handle (aborts when libcurl cannot make one). */
CURL *wr_registry_new_handle (void);

/* Checks again that a repository name from a parsed reference holds
 * nothing a URL would read differently. */
int wr_registry_check_repository (const char *repository, wr_error_t *err);

/* Waits before retry number ATTEMPT (0 for the first): 250 ms doubled each
 * time up to 8 s, or what RETRY_AFTER (seconds; may be NULL) asks, at most
 * 30 s. */
void wr_registry_backoff (int attempt, const char *retry_after);

#endif
