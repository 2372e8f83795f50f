/* The HTTP side of the registry client: which URL a registry is reached
 * at (HTTPS, or plain HTTP for loopback and insecure registries), one
 * request on a libcurl easy handle with the answer's headers kept, and
 * error messages that name the request and the registry's own error. */
#ifndef WARREN_REGISTRY_HTTP_H
#define WARREN_REGISTRY_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cancel.h"
#include "error.h"

/* Largest error body kept for messages. */
#define WR_HTTP_MAX_ERROR_BODY (64 * 1024)

/* HOSTPORT ("127.0.0.1:5000", "[::1]:5000", "localhost") is on loopback. */
bool wr_registry_host_is_loopback (const char *hostport);
/* HOSTPORT is listed in INSECURE (NULL-terminated, may be NULL), as
 * "host:port" or as "host" (any port). */
bool wr_registry_host_is_insecure (const char *hostport, const char *const *insecure);

/* The base URL ("https://host", "http://127.0.0.1:5000", no slash at the
 * end) of REGISTRY (a reference's registry part).  docker.io is
 * registry-1.docker.io, or MIRROR when set (a URL, or host[:port]).  Plain
 * HTTP only for loopback and INSECURE hosts: an http:// mirror elsewhere is
 * an error.  *HOST (may be NULL) gets the host[:port] contacted. */
int wr_registry_base_url (const char *registry, const char *mirror, const char *const *insecure,
                          char **base_url, char **host, wr_error_t *err);

/* Where the body of a 2xx answer goes when it is not kept in memory.
 * Returns 0, or -1 with *ERR to abort the transfer. */
typedef int (*wr_http_sink_fn) (void *data, CURL *curl, const void *buf, size_t len,
                                wr_error_t *err);

/* The body of a PUT or POST: LEN bytes of DATA, or, when DATA is NULL, of
 * FD from offset 0 (read with pread, so it can be sent again). */
typedef struct {
    const void *data;
    int fd;
    int64_t len;
} wr_http_upload_t;

typedef struct {
    const char *method; /* NULL: GET; "HEAD", "POST" or "PUT" */
    const char *url;
    const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL */
    size_t max_body; /* a larger 2xx body aborts the transfer (0: no limit) */
    wr_http_sink_fn sink; /* NULL: 2xx bodies are kept in the response */
    void *sink_data;
    bool follow_redirects;
    bool https_redirects_only;
    int64_t max_recv_speed; /* bytes per second; 0: no limit */
    /* Aborts the transfer when it returns true (checked at least once a
     * second, from curl's progress callback). */
    bool (*cancelled) (void *data);
    void *cancel_data;
    /* Aborts the transfer, within a second, when it is cancelled or past
     * its deadline; the error says which (cancel.h).  May be NULL. */
    const wr_cancel_t *cancel;
    CURLSH *share; /* DNS cache and TLS sessions shared with other handles; may be NULL */
    /* Deadlines of this request (0: none): connecting; the whole request
     * (for small answers: manifests, tokens); a stall (fewer than
     * stall_bytes_per_second for stall_ms, for blobs of any size). */
    int64_t connect_timeout_ms;
    int64_t timeout_ms;
    int64_t stall_ms;
    int64_t stall_bytes_per_second;
    const wr_http_upload_t *upload; /* NULL: no body (an empty one for POST and PUT) */
} wr_http_request_t;

typedef struct {
    CURLcode curl_code; /* CURLE_OK when an answer came */
    long status;
    char *reason; /* the status line's reason phrase; may be NULL */
    char *content_type;
    char *docker_content_digest;
    char *www_authenticate; /* every WWW-Authenticate header, joined with ", " */
    char *content_range;
    char *retry_after;
    char *location;
    char *body; /* 2xx without a sink: up to max_body; else the error body */
    size_t body_len;
    bool too_large; /* aborted: more than max_body */
    bool sink_failed; /* aborted by the sink (its error is in *err) */
    char curl_error[CURL_ERROR_SIZE];
} wr_http_response_t;

/* Performs REQUEST on CURL (reset first; connections are kept).  Returns 0
 * when an answer came (any status), -1 with *ERR on a transport error, a
 * limit or a sink failure (RESPONSE says which).  Errors start with the
 * method and the URL.  A passed deadline (the request's own, or that of
 * REQUEST->cancel) is WR_ERROR_UNAVAILABLE with ETIMEDOUT and says which
 * deadline and how long it was; a cancellation is WR_ERROR_CANCELLED. */
int wr_http_perform (CURL *curl, const wr_http_request_t *request, wr_http_response_t *response,
                     wr_error_t *err);
/* "GET", or the request's method. */
const char *wr_http_method (const wr_http_request_t *request);
void wr_http_response_clear (wr_http_response_t *response);

/* The kind of an error answer: 404 NOT_FOUND (the manifest or blob, or
 * its repository, is not there), one worth retrying UNAVAILABLE (the
 * registry does not answer as it should: the mirror for sandboxes answers
 * 503), any other INVALID. */
wr_error_kind_t wr_http_status_kind (long status);
/* True for answers worth retrying: 408, 429, 500, 502, 503, 504. */
bool wr_http_status_is_transient (long status);
/* True for transport errors worth retrying (connection, timeout, reset). */
bool wr_http_curl_is_transient (CURLcode code);
/* True when the failed transfer of RESPONSE is worth trying again: a
 * transport error of that kind, not a limit, a sink's refusal or a
 * cancellation. */
bool wr_http_failure_is_transient (const wr_http_response_t *response);

/* "404 Not Found (MANIFEST_UNKNOWN: manifest unknown)": the status and
 * the first error of a registry's JSON error body.  Caller frees. */
char *wr_http_describe (const wr_http_response_t *response);
/* "CODE: message" of the first error in a registry error body, or NULL. */
char *wr_http_registry_error (const char *body, size_t len);

#endif
