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

#define WR_REGISTRY_IDLE_HANDLES 8

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

    int64_t connect_timeout_ms, request_timeout_ms, stall_timeout_ms, stall_bytes_per_second;

    /* DNS cache and TLS sessions, shared by every easy handle of this
     * client (one lock per kind of data).  Connections are not shared:
     * libcurl does not support a connection cache used by concurrent
     * threads; each handle keeps its own, and idle handles are kept. */
    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

    /* Easy handles not in use, kept with their connections: a transfer
     * takes one (or makes one) and gives it back; the lock is held only
     * to take and to give, never across a transfer. */
    pthread_mutex_t handle_lock;
    CURL *idle[WR_REGISTRY_IDLE_HANDLES];
    size_t n_idle;
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
    const wr_cancel_t *cancel; /* the call's: cancelled or past a deadline; may be NULL */
    const wr_log_t *log; /* the call's log, else the registry's */
} wr_session_t;

/* An easy handle for one transfer at a time: an idle one, or a new one;
 * given back with wr_registry_give_handle (kept, or cleaned up when
 * enough are idle). */
CURL *wr_registry_take_handle (wr_registry_t *registry);
void wr_registry_give_handle (wr_registry_t *registry, CURL *curl);

/* Fills in REQUEST's share and deadlines from the registry's options;
 * SMALL: an answer small enough to bound the whole request. */
void wr_registry_request_limits (const wr_registry_t *registry, wr_http_request_t *request,
                                 bool small);

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
 * 30 s; less when CANCEL (may be NULL) stops meanwhile.  -1 when it did
 * (no error set: wr_cancel_check says why). */
int wr_registry_backoff (int attempt, const char *retry_after, const wr_cancel_t *cancel);

#endif
