/* The client object and its one way of making a call (client_private.h):
 * a curl easy handle per call, over the unix socket or TCP. */
#include "client.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "client_private.h"
#include "client_reply.h"
#include "quote.h"
#include "xalloc.h"

#ifndef WARREN_VERSION
#define WARREN_VERSION "0.1.0"
#endif

struct wr_client_s {
    char *host; /* as given */
    char *socket; /* NULL over TCP */
    char *base; /* "http://warrend" or the URL without its trailing '/' */
    char *auth_header; /* "Authorization: Bearer ..." or NULL */
    char *user_agent;
    long connect_timeout_ms, timeout_ms, stall_timeout_ms;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_code;

static void
curl_init_once (void)
{
    curl_init_code = curl_global_init (CURL_GLOBAL_DEFAULT);
}

static bool
token_ok (const char *token)
{
    if (token[0] == '\0')
        return false;
    for (const char *p = token; *p != '\0'; p++)
        if ((unsigned char) *p <= 0x20 || (unsigned char) *p >= 0x7f)
            return false;
    return true;
}

wr_client_t *
wr_client_new (const wr_client_options_t *options, wr_error_t *err)
{
    const char *host = options != NULL ? options->host : NULL;
    if (host == NULL || host[0] == '\0') {
        wr_error_set_kind (err, WR_ERROR_INVALID, 0, "warrend's address: none given");
        return NULL;
    }
    pthread_once (&curl_once, curl_init_once);
    if (curl_init_code != CURLE_OK) {
        wr_error_set_kind (err, WR_ERROR_INTERNAL, 0, "libcurl: %s",
                           curl_easy_strerror (curl_init_code));
        return NULL;
    }
    if (options->token != NULL && !token_ok (options->token)) {
        wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                           "the token for warrend at %s: not printable ASCII without spaces", host);
        return NULL;
    }
    wr_client_t *c = xzalloc (sizeof *c);
    c->host = xstrdup (host);
    const char *path = NULL;
    if (strncmp (host, "http://", 7) == 0 || strncmp (host, "https://", 8) == 0) {
        const char *rest = strchr (host, ':') + 3;
        size_t len = strlen (host);
        while (len > 0 && host[len - 1] == '/')
            len--;
        if (rest[0] == '\0' || rest[0] == '/' || strchr (rest, '?') != NULL ||
            strchr (rest, '#') != NULL || strchr (rest, ' ') != NULL) {
            wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                               "warrend's address `%s`: expected http://HOST:PORT", host);
            wr_client_free (c);
            return NULL;
        }
        c->base = xstrndup (host, len);
    } else if (strstr (host, "://") != NULL && strncmp (host, "unix://", 7) != 0) {
        cleanup_free char *quoted = wr_quote (host, 200);
        wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                           "warrend's address `%s`: expected a socket path or http://HOST:PORT",
                           quoted);
        wr_client_free (c);
        return NULL;
    } else {
        path = strncmp (host, "unix://", 7) == 0 ? host + 7
               : strncmp (host, "unix:", 5) == 0 ? host + 5
                                                 : host;
        if (path[0] == '\0' || strlen (path) >= sizeof ((struct sockaddr_un *) 0)->sun_path) {
            wr_error_set_kind (err, WR_ERROR_INVALID, 0, "warrend's socket `%s`: %s", host,
                               path[0] == '\0' ? "an empty path"
                                               : "longer than a socket path may be");
            wr_client_free (c);
            return NULL;
        }
        c->socket = xstrdup (path);
        c->base = xstrdup ("http://warrend");
    }
    if (options->token != NULL)
        c->auth_header = xasprintf ("Authorization: Bearer %s", options->token);
    c->user_agent = xstrdup (options->user_agent != NULL ? options->user_agent
                                                         : "warren-client/" WARREN_VERSION);
    c->connect_timeout_ms =
        options->connect_timeout_ms > 0 ? (long) options->connect_timeout_ms : 10000;
    c->timeout_ms = options->timeout_ms > 0 ? (long) options->timeout_ms : 120000;
    c->stall_timeout_ms = options->stall_timeout_ms > 0 ? (long) options->stall_timeout_ms : 0;
    return c;
}

void
wr_client_free (wr_client_t *client)
{
    if (client == NULL)
        return;
    free (client->host);
    free (client->socket);
    free (client->base);
    free (client->auth_header);
    free (client->user_agent);
    free (client);
}

const char *
wr_client_host (const wr_client_t *client)
{
    return client->host;
}

/* ---- paths and queries ---- */

static void
escape_into (char **out, size_t *len, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen (s);
    *out = xrealloc (*out, *len + n * 3 + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char) s[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            (*out)[(*len)++] = (char) ch;
        } else {
            (*out)[(*len)++] = '%';
            (*out)[(*len)++] = hex[ch >> 4];
            (*out)[(*len)++] = hex[ch & 15];
        }
    }
    (*out)[*len] = '\0';
}

char *
client_path (const char *first, ...)
{
    char *out = xstrdup (first);
    size_t len = strlen (out);
    va_list ap;
    va_start (ap, first);
    const char *segment;
    while ((segment = va_arg (ap, const char *)) != NULL) {
        if (segment[0] == '/') { /* a literal tail: "/processes" */
            out = xrealloc (out, len + strlen (segment) + 1);
            strcpy (out + len, segment);
            len += strlen (segment);
        } else {
            escape_into (&out, &len, segment);
        }
    }
    va_end (ap);
    return out;
}

void
client_query_add (char **query, const char *key, const char *value)
{
    size_t len = *query != NULL ? strlen (*query) : 0;
    size_t klen = strlen (key);
    *query = xrealloc (*query, len + klen + 3);
    if (len > 0)
        (*query)[len++] = '&';
    memcpy (*query + len, key, klen);
    len += klen;
    (*query)[len++] = '=';
    (*query)[len] = '\0';
    escape_into (query, &len, value);
}

void
client_query_addf (char **query, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    cleanup_free char *value = xvasprintf (fmt, ap);
    va_end (ap);
    client_query_add (query, key, value);
}

/* ---- one call ---- */

typedef struct {
    const client_call_t *call;
    CURL *curl;
    long status;
    char *buf;
    size_t len, cap;
    bool too_big;
    wr_error_t sink_err;
    bool has_offset, bad_offset;
    int64_t offset;
    bool ndjson;
    size_t raw_pos;
    int read_errno;
} transfer_t;

static long
status_of (transfer_t *t)
{
    if (t->status == 0)
        curl_easy_getinfo (t->curl, CURLINFO_RESPONSE_CODE, &t->status);
    return t->status;
}

static size_t
write_cb (char *ptr, size_t size, size_t nmemb, void *data)
{
    transfer_t *t = data;
    size_t n = size * nmemb;
    long status = status_of (t);
    bool ok = status >= 200 && status < 300;
    if (ok && t->call->sink != NULL) {
        if (t->call->sink (t->call->sink_data, ptr, n, &t->sink_err) < 0) {
            if (t->sink_err == NULL)
                wr_error_set_kind (&t->sink_err, WR_ERROR_INTERNAL, 0,
                                   "the answer's reader failed");
            return 0;
        }
        return n;
    }
    size_t max = ok ? WR_CLIENT_MAX_JSON : WR_CLIENT_MAX_ERROR_BODY;
    if (t->len + n > max) {
        t->too_big = true;
        if (ok)
            return 0;
        n = max - t->len; /* an error's tail is dropped */
        if (n == 0)
            return size * nmemb;
    }
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        if (t->cap > max + 1)
            t->cap = max + 1;
        t->buf = xrealloc (t->buf, t->cap);
    }
    memcpy (t->buf + t->len, ptr, n);
    t->len += n;
    t->buf[t->len] = '\0';
    return size * nmemb;
}

static bool
header_is (const char *line, size_t len, const char *name, const char **value, size_t *vlen)
{
    size_t nlen = strlen (name);
    if (len <= nlen || strncasecmp (line, name, nlen) != 0 || line[nlen] != ':')
        return false;
    const char *v = line + nlen + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    *value = v;
    *vlen = (size_t) (end - v);
    return true;
}

static size_t
header_cb (char *line, size_t size, size_t nmemb, void *data)
{
    transfer_t *t = data;
    size_t n = size * nmemb;
    const char *v;
    size_t vlen;
    if (n >= 5 && strncmp (line, "HTTP/", 5) == 0) { /* a new answer (after a 1xx) */
        t->has_offset = t->bad_offset = t->ndjson = false;
        t->status = 0;
    } else if (header_is (line, n, "X-Warren-Offset", &v, &vlen)) {
        char digits[24];
        int64_t value = 0;
        bool ok = vlen > 0 && vlen < sizeof digits;
        for (size_t i = 0; ok && i < vlen; i++)
            ok = v[i] >= '0' && v[i] <= '9';
        if (ok) {
            memcpy (digits, v, vlen);
            digits[vlen] = '\0';
            errno = 0;
            value = strtoll (digits, NULL, 10);
            ok = errno == 0;
        }
        t->has_offset = ok;
        t->bad_offset = !ok;
        t->offset = value;
        if (ok && t->call->offset_out != NULL)
            *t->call->offset_out = value;
    } else if (header_is (line, n, "Content-Type", &v, &vlen)) {
        t->ndjson = vlen >= 20 && strncasecmp (v, "application/x-ndjson", 20) == 0;
    }
    return n;
}

static size_t
read_cb (char *buffer, size_t size, size_t nitems, void *data)
{
    transfer_t *t = data;
    size_t want = size * nitems;
    const client_call_t *call = t->call;
    if (call->body_fd < 0) {
        size_t left = call->raw_len - t->raw_pos;
        size_t n = left < want ? left : want;
        memcpy (buffer, call->raw + t->raw_pos, n);
        t->raw_pos += n;
        return n;
    }
    for (;;) {
        ssize_t n = read (call->body_fd, buffer, want);
        if (n >= 0)
            return (size_t) n;
        if (errno == EINTR)
            continue;
        t->read_errno = errno;
        return CURL_READFUNC_ABORT;
    }
}

static int
transport_error (wr_client_t *c, transfer_t *t, CURLcode code, const char *errbuf, const char *what,
                 wr_error_t *err)
{
    const char *detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror (code);
    long os_errno = 0;
    curl_easy_getinfo (t->curl, CURLINFO_OS_ERRNO, &os_errno);
    switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        if (c->socket != NULL)
            return wr_error_set_kind (
                err, WR_ERROR_UNAVAILABLE, 0,
                "cannot reach warrend at %s: %s; is warrend running? (start it with `warrend`, "
                "or `warrend --root DIR`, whose socket is DIR/run/warrend.sock)",
                c->socket, os_errno != 0 ? strerror ((int) os_errno) : detail);
        return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                                  "cannot reach warrend at %s: %s; is warrend running with "
                                  "`--listen` on that address?",
                                  c->host, detail);
    case CURLE_OPERATION_TIMEDOUT:
        return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                                  "warrend at %s did not answer %s in time: %s", c->host, what,
                                  detail);
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                                  "warrend at %s closed the connection before its answer to %s "
                                  "ended: %s",
                                  c->host, what, detail);
    case CURLE_READ_ERROR:
    case CURLE_ABORTED_BY_CALLBACK:
        if (t->read_errno != 0)
            return wr_error_set (err, t->read_errno, "%s: reading the body to send", what);
        break;
    default:
        break;
    }
    return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0,
                              "warrend at %s sent a broken answer to %s: %s", c->host, what,
                              detail);
}

int
client_call (wr_client_t *c, const client_call_t *call, client_answer_t *answer, wr_error_t *err)
{
    *answer = (client_answer_t){ 0 };
    cleanup_free char *what = xasprintf ("%s %s", call->method, call->path);
    cleanup_free char *url = call->query != NULL && call->query[0] != '\0'
                                 ? xasprintf ("%s%s?%s", c->base, call->path, call->query)
                                 : xasprintf ("%s%s", c->base, call->path);
    CURL *curl = curl_easy_init ();
    if (curl == NULL)
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0, "%s: libcurl: no handle", what);
    transfer_t t = { .call = call, .curl = curl };
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    cleanup_free char *accept =
        xasprintf ("Accept: %s", call->accept != NULL ? call->accept : "application/json");
    headers = curl_slist_append (headers, accept);
    headers = curl_slist_append (headers, "Expect:");
    if (c->auth_header != NULL)
        headers = curl_slist_append (headers, c->auth_header);
    cleanup_free char *json_text = NULL;
    bool is_get = strcmp (call->method, "GET") == 0;
    bool is_put = strcmp (call->method, "PUT") == 0;
    if (call->json != NULL) {
        json_text = xstrdup (json_object_to_json_string_ext (
            call->json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        headers = curl_slist_append (headers, "Content-Type: application/json");
        curl_easy_setopt (curl, CURLOPT_POSTFIELDS, json_text);
        curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen (json_text));
    } else if (call->raw != NULL || call->body_fd >= 0) {
        headers = curl_slist_append (headers, "Content-Type: application/octet-stream");
        curl_off_t size =
            call->body_fd >= 0 ? (curl_off_t) call->body_size : (curl_off_t) call->raw_len;
        curl_easy_setopt (curl, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt (curl, CURLOPT_READDATA, &t);
        if (is_put) {
            curl_easy_setopt (curl, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt (curl, CURLOPT_INFILESIZE_LARGE, size);
        } else {
            curl_easy_setopt (curl, CURLOPT_POST, 1L);
            curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE_LARGE, size);
            if (size < 0)
                headers = curl_slist_append (headers, "Transfer-Encoding: chunked");
        }
    } else if (strcmp (call->method, "POST") == 0 || strcmp (call->method, "PATCH") == 0) {
        curl_easy_setopt (curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) 0);
    }
    if (!is_get && !is_put && strcmp (call->method, "POST") != 0)
        curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, call->method);
    else if (is_put && call->raw == NULL && call->body_fd < 0)
        curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt (curl, CURLOPT_URL, url);
    if (c->socket != NULL)
        curl_easy_setopt (curl, CURLOPT_UNIX_SOCKET_PATH, c->socket);
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt (curl, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    if (!call->long_running)
        curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    if (c->stall_timeout_ms > 0) {
        curl_easy_setopt (curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt (curl, CURLOPT_LOW_SPEED_TIME, (c->stall_timeout_ms + 999) / 1000);
    }
    curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt (curl, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, &t);
    CURLcode code = curl_easy_perform (curl);
    long status = 0;
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
    int ret = 0;
    if (t.sink_err != NULL) {
        ret = wr_error_propagate (err, &t.sink_err);
    } else if (code == CURLE_WRITE_ERROR && t.too_big) {
        ret = wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                                 "warrend at %s: the answer to %s is larger than %u bytes", c->host,
                                 what, WR_CLIENT_MAX_JSON);
    } else if (code != CURLE_OK) {
        ret = transport_error (c, &t, code, errbuf, what, err);
    } else if (status < 200 || status >= 300) {
        ret = wr_client_reply_error (status, t.buf != NULL ? t.buf : "", t.len, what, err);
    } else if (t.bad_offset) {
        ret = wr_error_set_kind (err, WR_ERROR_INTERNAL, 0,
                                 "warrend at %s: the answer to %s has a malformed X-Warren-Offset",
                                 c->host, what);
    } else if (call->sink == NULL) {
        cleanup_free char *name = xasprintf ("warrend's answer to %s", what);
        answer->json = wr_client_reply_object (t.buf != NULL ? t.buf : "", t.len,
                                               WR_CLIENT_MAX_JSON, name, err);
        if (answer->json == NULL)
            ret = -1;
    }
    answer->status = status;
    answer->has_offset = t.has_offset;
    answer->offset = t.offset;
    answer->ndjson = t.ndjson;
    free (t.buf);
    curl_slist_free_all (headers);
    curl_easy_cleanup (curl);
    return ret;
}

void
client_answer_clear (client_answer_t *answer)
{
    if (answer->json != NULL)
        json_object_put (answer->json);
    answer->json = NULL;
}

int
client_json_call (wr_client_t *client, const char *method, const char *path, const char *query,
                  json_object *body, json_object **out, wr_error_t *err)
{
    client_call_t call = {
        .method = method, .path = path, .query = query, .json = body, .body_fd = -1
    };
    client_answer_t answer;
    if (client_call (client, &call, &answer, err) < 0)
        return -1;
    if (out != NULL)
        *out = steal_pointer (&answer.json);
    client_answer_clear (&answer);
    return 0;
}

/* ---- health, version ---- */

int
wr_client_health (wr_client_t *client, json_object **health, wr_error_t *err)
{
    json_object *o = NULL;
    if (client_json_call (client, "GET", "/v1/health", NULL, NULL, &o, err) < 0)
        return -1;
    const char *status = NULL;
    if (wr_client_get_string (o, "status", true, "warrend's health", &status, err) < 0) {
        json_object_put (o);
        return -1;
    }
    *health = o;
    return 0;
}

int
wr_client_version (wr_client_t *client, json_object **version, wr_error_t *err)
{
    json_object *o = NULL;
    if (client_json_call (client, "GET", "/v1/version", NULL, NULL, &o, err) < 0)
        return -1;
    const char *v = NULL;
    json_object *apis = NULL;
    if (wr_client_get_string (o, "version", true, "warrend's version", &v, err) < 0 ||
        wr_client_get_array (o, "api_versions", false, "warrend's version", &apis, err) < 0) {
        json_object_put (o);
        return -1;
    }
    *version = o;
    return 0;
}
