#include "registry_http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"

/* When the request names none (wr_registry_new fills them in). */
#define DEFAULT_CONNECT_TIMEOUT_MS 30000
#define DEFAULT_STALL_MS 60000

/* ---- endpoints ---- */

/* Splits "host:port", "[v6]:port" or "host" into a host (no brackets). */
static char *
host_part (const char *hostport)
{
    if (hostport[0] == '[') {
        const char *end = strchr (hostport, ']');
        if (end == NULL)
            return NULL;
        return xstrndup (hostport + 1, (size_t) (end - hostport - 1));
    }
    const char *colon = strchr (hostport, ':');
    if (colon != NULL && strchr (colon + 1, ':') != NULL)
        return xstrdup (hostport); /* a bare IPv6 address */
    return xstrndup (hostport, colon ? (size_t) (colon - hostport) : strlen (hostport));
}

bool
wr_registry_host_is_loopback (const char *hostport)
{
    cleanup_free char *host = host_part (hostport);
    if (host == NULL)
        return false;
    if (strcasecmp (host, "localhost") == 0)
        return true;
    struct in_addr a4;
    if (inet_pton (AF_INET, host, &a4) == 1)
        return (ntohl (a4.s_addr) >> 24) == 127;
    struct in6_addr a6;
    if (inet_pton (AF_INET6, host, &a6) == 1)
        return memcmp (&a6, &in6addr_loopback, sizeof a6) == 0;
    return false;
}

/* An insecure-registries entry without scheme or trailing slash. */
static char *
plain_entry (const char *entry)
{
    const char *p = entry;
    if (strncasecmp (p, "http://", 7) == 0)
        p += 7;
    else if (strncasecmp (p, "https://", 8) == 0)
        p += 8;
    return xstrndup (p, strcspn (p, "/"));
}

bool
wr_registry_host_is_insecure (const char *hostport, const char *const *insecure)
{
    if (insecure == NULL)
        return false;
    cleanup_free char *host = host_part (hostport);
    for (size_t i = 0; insecure[i] != NULL; i++) {
        cleanup_free char *entry = plain_entry (insecure[i]);
        if (strcasecmp (entry, hostport) == 0)
            return true;
        /* "host" alone allows every port of that host. */
        bool has_port = entry[0] == '[' ? strstr (entry, "]:") != NULL
                                        : (strchr (entry, ':') != NULL &&
                                           strchr (strchr (entry, ':') + 1, ':') == NULL);
        cleanup_free char *entry_host = host_part (entry);
        if (!has_port && host != NULL && entry_host != NULL && strcasecmp (entry_host, host) == 0)
            return true;
    }
    return false;
}

static bool
valid_hostport (const char *s)
{
    if (s[0] == '\0')
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum ((unsigned char) *p) && strchr (".-:[]_", *p) == NULL)
            return false;
    return true;
}

int
wr_registry_base_url (const char *registry, const char *mirror, const char *const *insecure,
                      char **base_url, char **host, wr_error_t *err)
{
    cleanup_free char *hostport = NULL;
    cleanup_free char *path = NULL;
    const char *scheme = NULL;

    *base_url = NULL;
    if (host != NULL)
        *host = NULL;
    bool hub = strcmp (registry, "docker.io") == 0 || strcmp (registry, "index.docker.io") == 0 ||
               strcmp (registry, "registry-1.docker.io") == 0;
    if (hub && mirror != NULL && mirror[0] != '\0') {
        const char *p = mirror;
        if (strncasecmp (p, "https://", 8) == 0) {
            scheme = "https";
            p += 8;
        } else if (strncasecmp (p, "http://", 7) == 0) {
            scheme = "http";
            p += 7;
        } else if (strstr (p, "://") != NULL) {
            return wr_error_set (err, 0, "docker.io mirror `%s`: only http and https are supported",
                                 mirror);
        }
        size_t n = strcspn (p, "/");
        hostport = xstrndup (p, n);
        path = xstrdup (p + n);
        /* No slash at the end: paths are appended as "/v2/...". */
        size_t plen = strlen (path);
        while (plen > 0 && path[plen - 1] == '/')
            path[--plen] = '\0';
        if (!valid_hostport (hostport))
            return wr_error_set (err, 0, "docker.io mirror `%s`: not a valid host", mirror);
        bool plain_ok = wr_registry_host_is_loopback (hostport) ||
                        wr_registry_host_is_insecure (hostport, insecure);
        if (scheme == NULL)
            scheme = plain_ok ? "http" : "https";
        else if (strcmp (scheme, "http") == 0 && !plain_ok)
            return wr_error_set (err, 0,
                                 "docker.io mirror `%s`: plain HTTP is allowed only for loopback "
                                 "and insecure registries",
                                 mirror);
    } else if (hub) {
        hostport = xstrdup ("registry-1.docker.io");
        path = xstrdup ("");
        scheme = "https";
    } else {
        if (!valid_hostport (registry))
            return wr_error_set (err, 0, "registry `%.100s`: not a valid host[:port]", registry);
        hostport = xstrdup (registry);
        path = xstrdup ("");
        scheme = wr_registry_host_is_loopback (registry) ||
                         wr_registry_host_is_insecure (registry, insecure)
                     ? "http"
                     : "https";
    }
    *base_url = xasprintf ("%s://%s%s", scheme, hostport, path);
    if (host != NULL)
        *host = steal_pointer (&hostport);
    return 0;
}

/* ---- requests ---- */

typedef struct {
    CURL *curl;
    const wr_http_request_t *request;
    wr_http_response_t *response;
    wr_error_t *err;
    size_t body_cap;
    int64_t upload_at; /* bytes of the upload sent */
    int upload_errno;
} transfer_t;

static void
set_header (char **slot, const char *value, size_t len)
{
    free (*slot);
    *slot = xstrndup (value, len);
}

static size_t
header_cb (char *buffer, size_t size, size_t nitems, void *userdata)
{
    transfer_t *t = userdata;
    wr_http_response_t *r = t->response;
    size_t len = size * nitems;
    size_t n = len;
    while (n > 0 && (buffer[n - 1] == '\r' || buffer[n - 1] == '\n'))
        n--;

    if (n >= 5 && strncmp (buffer, "HTTP/", 5) == 0) {
        /* A new answer (after a redirect or a 401): forget the last one's. */
        free (r->reason);
        free (r->content_type);
        free (r->docker_content_digest);
        free (r->www_authenticate);
        free (r->content_range);
        free (r->retry_after);
        free (r->location);
        r->reason = r->content_type = r->docker_content_digest = NULL;
        r->www_authenticate = r->content_range = r->retry_after = r->location = NULL;
        r->body_len = 0; /* a body so far was the last answer's */
        const char *sp = memchr (buffer, ' ', n);
        if (sp != NULL) {
            const char *sp2 = memchr (sp + 1, ' ', n - (size_t) (sp + 1 - buffer));
            if (sp2 != NULL && (size_t) (sp2 + 1 - buffer) < n)
                set_header (&r->reason, sp2 + 1, n - (size_t) (sp2 + 1 - buffer));
        }
        return len;
    }
    const char *colon = memchr (buffer, ':', n);
    if (colon == NULL)
        return len;
    size_t name_len = (size_t) (colon - buffer);
    const char *value = colon + 1;
    while (value < buffer + n && (*value == ' ' || *value == '\t'))
        value++;
    size_t value_len = (size_t) (buffer + n - value);
    while (value_len > 0 && (value[value_len - 1] == ' ' || value[value_len - 1] == '\t'))
        value_len--;

#define IS(name) (name_len == strlen (name) && strncasecmp (buffer, name, name_len) == 0)
    if (IS ("content-type"))
        set_header (&r->content_type, value, value_len);
    else if (IS ("docker-content-digest"))
        set_header (&r->docker_content_digest, value, value_len);
    else if (IS ("content-range"))
        set_header (&r->content_range, value, value_len);
    else if (IS ("retry-after"))
        set_header (&r->retry_after, value, value_len);
    else if (IS ("location"))
        set_header (&r->location, value, value_len);
    else if (IS ("www-authenticate")) {
        /* Several headers are one list (RFC 7230 3.2.2). */
        if (r->www_authenticate == NULL) {
            set_header (&r->www_authenticate, value, value_len);
        } else if (strlen (r->www_authenticate) < 64 * 1024) {
            char *joined = xasprintf ("%s, %.*s", r->www_authenticate, (int) value_len, value);
            free (r->www_authenticate);
            r->www_authenticate = joined;
        }
    }
#undef IS
    return len;
}

static void
append_body (transfer_t *t, const char *data, size_t len)
{
    wr_http_response_t *r = t->response;
    if (r->body_len + len + 1 > t->body_cap) {
        size_t cap = t->body_cap ? t->body_cap : 16 * 1024;
        while (cap < r->body_len + len + 1)
            cap *= 2;
        r->body = xrealloc (r->body, cap);
        t->body_cap = cap;
    }
    memcpy (r->body + r->body_len, data, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
}

static size_t
write_cb (char *ptr, size_t size, size_t nmemb, void *userdata)
{
    transfer_t *t = userdata;
    wr_http_response_t *r = t->response;
    size_t len = size * nmemb;
    long status = 0;
    curl_easy_getinfo (t->curl, CURLINFO_RESPONSE_CODE, &status);

    if (status >= 200 && status < 300) {
        if (t->request->sink != NULL) {
            if (t->request->sink (t->request->sink_data, t->curl, ptr, len, t->err) < 0) {
                r->sink_failed = true;
                return 0;
            }
            return len;
        }
        if (t->request->max_body > 0 && r->body_len + len > t->request->max_body) {
            r->too_large = true;
            return 0;
        }
        append_body (t, ptr, len);
        return len;
    }
    /* An error answer: keep the start of it for the message. */
    if (r->body_len < WR_HTTP_MAX_ERROR_BODY) {
        size_t keep = WR_HTTP_MAX_ERROR_BODY - r->body_len;
        append_body (t, ptr, len < keep ? len : keep);
    }
    return len;
}

static int
xferinfo_cb (void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
             curl_off_t ulnow)
{
    transfer_t *t = userdata;
    if (t->request->cancelled != NULL && t->request->cancelled (t->request->cancel_data))
        return 1;
    /* An atomic load and a clock read: cheap enough for every call. */
    if (wr_cancel_stopped (t->request->cancel))
        return 1;
    return 0;
}

static size_t
read_cb (char *buffer, size_t size, size_t nitems, void *userdata)
{
    transfer_t *t = userdata;
    const wr_http_upload_t *up = t->request->upload;
    size_t want = size * nitems;
    if (up == NULL || t->upload_at >= up->len)
        return 0;
    if ((int64_t) want > up->len - t->upload_at)
        want = (size_t) (up->len - t->upload_at);
    if (up->data != NULL) {
        memcpy (buffer, (const char *) up->data + t->upload_at, want);
    } else {
        ssize_t n;
        do
            n = pread (up->fd, buffer, want, (off_t) t->upload_at);
        while (n < 0 && errno == EINTR);
        if (n <= 0) {
            t->upload_errno = n < 0 ? errno : EIO;
            return CURL_READFUNC_ABORT;
        }
        want = (size_t) n;
    }
    t->upload_at += (int64_t) want;
    return want;
}

/* curl rewinds the upload to send it again (a redirect, an auth retry). */
static int
seek_cb (void *userdata, curl_off_t offset, int origin)
{
    transfer_t *t = userdata;
    if (origin != SEEK_SET || offset < 0 || t->request->upload == NULL ||
        offset > t->request->upload->len)
        return CURL_SEEKFUNC_CANTSEEK;
    t->upload_at = offset;
    return CURL_SEEKFUNC_OK;
}

const char *
wr_http_method (const wr_http_request_t *request)
{
    return request->method != NULL ? request->method : "GET";
}

/* The method's options: a body to send for PUT and POST, none to receive
 * for HEAD. */
static void
set_method (CURL *curl, const wr_http_request_t *request, transfer_t *t)
{
    const char *method = wr_http_method (request);
    const wr_http_upload_t *up = request->upload;
    curl_off_t len = up != NULL ? (curl_off_t) up->len : 0;
    if (strcmp (method, "HEAD") == 0) {
        curl_easy_setopt (curl, CURLOPT_NOBODY, 1L);
    } else if (strcmp (method, "POST") == 0) {
        curl_easy_setopt (curl, CURLOPT_POST, 1L);
        curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE_LARGE, len);
        if (up == NULL)
            curl_easy_setopt (curl, CURLOPT_POSTFIELDS, "");
    } else if (strcmp (method, "PUT") == 0) {
        curl_easy_setopt (curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt (curl, CURLOPT_INFILESIZE_LARGE, len);
    } else if (strcmp (method, "GET") != 0) {
        curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
    }
    if (up != NULL || strcmp (method, "PUT") == 0) {
        curl_easy_setopt (curl, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt (curl, CURLOPT_READDATA, t);
        curl_easy_setopt (curl, CURLOPT_SEEKFUNCTION, seek_cb);
        curl_easy_setopt (curl, CURLOPT_SEEKDATA, t);
    }
}

void
wr_http_response_clear (wr_http_response_t *r)
{
    free (r->reason);
    free (r->content_type);
    free (r->docker_content_digest);
    free (r->www_authenticate);
    free (r->content_range);
    free (r->retry_after);
    free (r->location);
    free (r->body);
    memset (r, 0, sizeof *r);
}

/* Which of the request's deadlines passed, and how long it was. */
static int
timeout_error (CURL *curl, const wr_http_request_t *request, const char *why, wr_error_t *err)
{
    const char *method = wr_http_method (request);
    curl_off_t connected = 0, total = 0;
    curl_easy_getinfo (curl, CURLINFO_CONNECT_TIME_T, &connected);
    curl_easy_getinfo (curl, CURLINFO_TOTAL_TIME_T, &total);
    int64_t connect_ms =
        request->connect_timeout_ms > 0 ? request->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    int64_t stall_ms = request->stall_ms > 0 ? request->stall_ms : DEFAULT_STALL_MS;
    if (request->timeout_ms > 0 && total / 1000 >= request->timeout_ms)
        wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                           "%s %s: the request deadline of %" PRId64 " ms passed (%s)", method,
                           request->url, request->timeout_ms, why);
    else if (connected == 0)
        wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                           "%s %s: the connect deadline of %" PRId64 " ms passed (%s)", method,
                           request->url, connect_ms, why);
    else
        wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                           "%s %s: the stall deadline passed: under %" PRId64
                           " bytes a second for %" PRId64 " ms (%s)",
                           method, request->url,
                           request->stall_bytes_per_second > 0 ? request->stall_bytes_per_second
                                                               : 1,
                           stall_ms, why);
    if (err != NULL && *err != NULL)
        (*err)->errno_value = ETIMEDOUT;
    return -1;
}

int
wr_http_perform (CURL *curl, const wr_http_request_t *request, wr_http_response_t *response,
                 wr_error_t *err)
{
    const char *method = wr_http_method (request);
    struct curl_slist *headers = NULL;
    transfer_t t = { .curl = curl, .request = request, .response = response, .err = err };

    memset (response, 0, sizeof *response);
    curl_easy_reset (curl);
    for (size_t i = 0; request->headers != NULL && request->headers[i] != NULL; i++) {
        struct curl_slist *next = curl_slist_append (headers, request->headers[i]);
        if (next == NULL)
            abort ();
        headers = next;
    }
    curl_easy_setopt (curl, CURLOPT_URL, request->url);
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
    set_method (curl, request, &t);
    curl_easy_setopt (curl, CURLOPT_USERAGENT,
                      "warren/"
                      "0.1");
    curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (curl, CURLOPT_REDIR_PROTOCOLS_STR,
                      request->https_redirects_only ? "https" : "http,https");
    curl_easy_setopt (curl, CURLOPT_FOLLOWLOCATION, request->follow_redirects ? 1L : 0L);
    curl_easy_setopt (curl, CURLOPT_MAXREDIRS, 10L);
    /* Credentials set as headers are not sent to another host on a
     * redirect unless CURLOPT_UNRESTRICTED_AUTH says so (curl >= 7.58);
     * keep that default explicit. */
    curl_easy_setopt (curl, CURLOPT_UNRESTRICTED_AUTH, 0L);
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
    if (request->share != NULL)
        curl_easy_setopt (curl, CURLOPT_SHARE, request->share);
    curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT_MS,
                      (long) (request->connect_timeout_ms > 0 ? request->connect_timeout_ms
                                                              : DEFAULT_CONNECT_TIMEOUT_MS));
    if (request->timeout_ms > 0)
        curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, (long) request->timeout_ms);
    /* A stalled transfer (under the limit for that long) fails: curl's
     * low-speed check counts in whole seconds. */
    long stall_s =
        (long) ((request->stall_ms > 0 ? request->stall_ms : DEFAULT_STALL_MS) + 999) / 1000;
    curl_easy_setopt (
        curl, CURLOPT_LOW_SPEED_LIMIT,
        (long) (request->stall_bytes_per_second > 0 ? request->stall_bytes_per_second : 1));
    curl_easy_setopt (curl, CURLOPT_LOW_SPEED_TIME, stall_s);
    curl_easy_setopt (curl, CURLOPT_TCP_KEEPALIVE, 1L);
    if (request->max_recv_speed > 0)
        curl_easy_setopt (curl, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t) request->max_recv_speed);
    curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, response->curl_error);
    curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt (curl, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, &t);
    if (request->cancelled != NULL || request->cancel != NULL) {
        curl_easy_setopt (curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt (curl, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
        curl_easy_setopt (curl, CURLOPT_XFERINFODATA, &t);
    }

    CURLcode rc = curl_easy_perform (curl);
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all (headers);
    response->curl_code = rc;
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &response->status);
    if (rc == CURLE_OK)
        return 0;
    if (response->sink_failed)
        return wr_error_prefix (err, "%s %s", method, request->url);
    if (response->too_large)
        return wr_error_set (err, 0, "%s %s: the answer is larger than the %zu bytes accepted",
                             method, request->url, request->max_body);
    if (rc == CURLE_ABORTED_BY_CALLBACK && t.upload_errno != 0)
        return wr_error_set (err, t.upload_errno, "%s %s: read the body to send", method,
                             request->url);
    if (rc == CURLE_ABORTED_BY_CALLBACK && wr_cancel_stopped (request->cancel)) {
        cleanup_free char *what = xasprintf ("%s %s", method, request->url);
        return wr_cancel_check (request->cancel, what, err);
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return wr_error_set (err, ECANCELED, "%s %s", method, request->url);
    const char *why = response->curl_error[0] ? response->curl_error : curl_easy_strerror (rc);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return timeout_error (curl, request, why, err);
    return wr_error_set (err, 0, "%s %s: %s", method, request->url, why);
}

wr_error_kind_t
wr_http_status_kind (long status)
{
    if (status == 404)
        return WR_ERROR_NOT_FOUND;
    if (wr_http_status_is_transient (status))
        return WR_ERROR_UNAVAILABLE;
    return WR_ERROR_INVALID;
}

bool
wr_http_status_is_transient (long status)
{
    return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
           status == 504;
}

bool
wr_http_curl_is_transient (CURLcode code)
{
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return true;
    default:
        return false;
    }
}

bool
wr_http_failure_is_transient (const wr_http_response_t *r)
{
    return !r->too_large && !r->sink_failed && r->curl_code != CURLE_ABORTED_BY_CALLBACK &&
           wr_http_curl_is_transient (r->curl_code);
}

static const char *
reason_for (long status)
{
    switch (status) {
    case 200:
        return "OK";
    case 206:
        return "Partial Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 416:
        return "Range Not Satisfiable";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return NULL;
    }
}

/* Copies at most MAX bytes of S, replacing what cannot be printed. */
static char *
printable (const char *s, size_t max)
{
    size_t n = strlen (s);
    if (n > max)
        n = max;
    char *out = xstrndup (s, n);
    for (char *p = out; *p; p++)
        if ((unsigned char) *p < 0x20 || (unsigned char) *p == 0x7f)
            *p = ' ';
    return out;
}

char *
wr_http_registry_error (const char *body, size_t len)
{
    if (body == NULL || len == 0 || len > WR_HTTP_MAX_ERROR_BODY)
        return NULL;
    json_tokener *tok = json_tokener_new ();
    if (tok == NULL)
        abort ();
    json_object *root = json_tokener_parse_ex (tok, body, (int) len);
    bool ok = json_tokener_get_error (tok) == json_tokener_success;
    json_tokener_free (tok);
    char *out = NULL;
    json_object *errors = NULL, *first = NULL, *code = NULL, *message = NULL;
    if (ok && json_object_is_type (root, json_type_object) &&
        json_object_object_get_ex (root, "errors", &errors) &&
        json_object_is_type (errors, json_type_array) && json_object_array_length (errors) > 0 &&
        (first = json_object_array_get_idx (errors, 0)) != NULL &&
        json_object_is_type (first, json_type_object)) {
        json_object_object_get_ex (first, "code", &code);
        json_object_object_get_ex (first, "message", &message);
        cleanup_free char *c = json_object_is_type (code, json_type_string)
                                   ? printable (json_object_get_string (code), 100)
                                   : NULL;
        cleanup_free char *m = json_object_is_type (message, json_type_string)
                                   ? printable (json_object_get_string (message), 200)
                                   : NULL;
        if (c != NULL && m != NULL)
            out = xasprintf ("%s: %s", c, m);
        else if (c != NULL || m != NULL)
            out = xstrdup (c != NULL ? c : m);
    }
    json_object_put (root);
    return out;
}

char *
wr_http_describe (const wr_http_response_t *response)
{
    cleanup_free char *reason = response->reason != NULL ? printable (response->reason, 100)
                                : reason_for (response->status) != NULL
                                    ? xstrdup (reason_for (response->status))
                                    : NULL;
    cleanup_free char *registry_error = wr_http_registry_error (response->body, response->body_len);
    cleanup_free char *status = reason != NULL && reason[0] != '\0'
                                    ? xasprintf ("%ld %s", response->status, reason)
                                    : xasprintf ("%ld", response->status);
    if (registry_error != NULL)
        return xasprintf ("%s (%s)", status, registry_error);
    return steal_pointer (&status);
}
