#include "docker_engine.h"

#include <curl/curl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cleanup.h"
#include "json_type.h"
#include "quote.h"
#include "xalloc.h"

#define CONNECT_TIMEOUT_MS 10000
#define JSON_TIMEOUT_MS 60000
/* dockerd's messages quoted in errors are cut at this many bytes. */
#define MAX_MESSAGE 4096

struct wr_docker_s {
    CURL *curl;
    char *socket;
    bool (*stop) (void *);
    void *stop_data;
    bool answered_error;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_code;

static void
curl_init_once (void)
{
    curl_init_code = curl_global_init (CURL_GLOBAL_DEFAULT);
}

wr_docker_t *
wr_docker_new (const char *socket_path, bool (*stop) (void *), void *stop_data, wr_error_t *err)
{
    pthread_once (&curl_once, curl_init_once);
    if (curl_init_code != CURLE_OK) {
        wr_error_set_kind (err, WR_ERROR_INTERNAL, 0, "libcurl: %s",
                           curl_easy_strerror (curl_init_code));
        return NULL;
    }
    CURL *curl = curl_easy_init ();
    if (curl == NULL) {
        wr_error_set_kind (err, WR_ERROR_INTERNAL, 0, "libcurl: no handle");
        return NULL;
    }
    wr_docker_t *d = xzalloc (sizeof *d);
    d->curl = curl;
    d->socket = xstrdup (socket_path);
    d->stop = stop;
    d->stop_data = stop_data;
    return d;
}

void
wr_docker_free (wr_docker_t *d)
{
    if (d == NULL)
        return;
    curl_easy_cleanup (d->curl);
    free (d->socket);
    free (d);
}

char *
wr_docker_escape (const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen (text);
    char *out = xmalloc (n * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) text[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out[o++] = (char) c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}

json_object *
wr_docker_parse_json (const char *text, size_t len, size_t max, const char *what, wr_error_t *err)
{
    if (len > max || len > INT_MAX) {
        wr_error_set_kind (err, WR_ERROR_LIMIT, 0, "%s: %zu bytes is more than the limit of %zu",
                           what, len, max);
        return NULL;
    }
    if (memchr (text, '\0', len) != NULL) {
        wr_error_set_kind (err, WR_ERROR_INTERNAL, 0, "%s: not JSON: a NUL byte", what);
        return NULL;
    }
    json_tokener *tok = json_tokener_new ();
    if (tok == NULL)
        abort ();
    json_tokener_set_flags (tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *root = json_tokener_parse_ex (tok, text, (int) len);
    enum json_tokener_error error = json_tokener_get_error (tok);
    size_t end = json_tokener_get_parse_end (tok);
    json_tokener_free (tok);
    if (error != json_tokener_success) {
        if (root != NULL)
            json_object_put (root);
        wr_error_set_kind (err, WR_ERROR_INTERNAL, 0, "%s: not JSON: %s", what,
                           error == json_tokener_continue ? "it ends early"
                                                          : json_tokener_error_desc (error));
        return NULL;
    }
    for (size_t i = end; i < len; i++) {
        if (strchr (" \t\r\n", text[i]) == NULL) {
            if (root != NULL)
                json_object_put (root);
            wr_error_set_kind (err, WR_ERROR_INTERNAL, 0,
                               "%s: not JSON: unexpected data after the document", what);
            return NULL;
        }
    }
    if (!json_object_is_type (root, json_type_object) &&
        !json_object_is_type (root, json_type_array)) {
        wr_error_set_kind (err, WR_ERROR_INTERNAL, 0, "%s: not a JSON object or array, but %s",
                           what, wr_json_type_phrase (json_object_get_type (root)));
        if (root != NULL)
            json_object_put (root);
        return NULL;
    }
    return root;
}

static wr_error_kind_t
kind_of_status (long status)
{
    switch (status) {
    case 400:
    case 401:
    case 403:
        return WR_ERROR_INVALID;
    case 404:
        return WR_ERROR_NOT_FOUND;
    case 409:
        return WR_ERROR_EXISTS;
    case 503:
        return WR_ERROR_UNAVAILABLE;
    default:
        return WR_ERROR_INTERNAL;
    }
}

int
wr_docker_answer_error (long status, const char *body, size_t len, const char *what,
                        wr_error_t *err)
{
    wr_error_kind_t kind = kind_of_status (status);
    if (len > WR_DOCKER_MAX_ERROR)
        len = WR_DOCKER_MAX_ERROR;
    cleanup_error wr_error_t parse_err = NULL;
    json_object *o = wr_docker_parse_json (body, len, WR_DOCKER_MAX_ERROR, what, &parse_err);
    json_object *msg = o != NULL && json_object_is_type (o, json_type_object)
                           ? json_object_object_get (o, "message")
                           : NULL;
    cleanup_free char *text = NULL;
    if (msg != NULL && json_object_is_type (msg, json_type_string))
        text = wr_quote_len (json_object_get_string (msg),
                             (size_t) json_object_get_string_len (msg), MAX_MESSAGE);
    if (o != NULL)
        json_object_put (o);
    if (text == NULL && len > 0)
        text = wr_quote_len (body, len, MAX_MESSAGE);
    if (text == NULL)
        return wr_error_set_kind (err, kind, 0, "%s: dockerd answered %ld", what, status);
    return wr_error_set_kind (err, kind, 0, "%s", text);
}

typedef struct {
    wr_docker_t *d;
    const wr_docker_request_t *r;
    long status;
    bool got_status;
    char *buf; /* a JSON or error answer */
    size_t len;
    bool too_big;
    wr_error_t sink_err;
    bool stopped;
    bool shut;
    curl_socket_t fd; /* a hijacked request's own connection */
} transfer_t;

static int
sockopt_cb (void *data, curl_socket_t fd, curlsocktype purpose)
{
    transfer_t *t = data;
    t->fd = fd;
    return CURL_SOCKOPT_OK;
}

static size_t
header_cb (char *buf, size_t size, size_t nitems, void *data)
{
    transfer_t *t = data;
    if (t->r->hijack && !t->shut && t->fd != CURL_SOCKET_BAD) {
        shutdown (t->fd, SHUT_WR);
        t->shut = true;
    }
    return size * nitems;
}

static long
status_of (transfer_t *t)
{
    if (!t->got_status) {
        curl_easy_getinfo (t->d->curl, CURLINFO_RESPONSE_CODE, &t->status);
        t->got_status = true;
    }
    return t->status;
}

static size_t
write_cb (char *ptr, size_t size, size_t nmemb, void *data)
{
    transfer_t *t = data;
    size_t n = size * nmemb;
    long status = status_of (t);
    bool ok = status >= 200 && status < 300;
    if (ok && t->r->on_data != NULL) {
        if (t->r->on_data (t->r->data, ptr, n, &t->sink_err) < 0)
            return 0;
        return n;
    }
    size_t max = ok ? WR_DOCKER_MAX_JSON : WR_DOCKER_MAX_ERROR;
    if (t->len + n > max) {
        if (!ok)
            return n; /* an error's text is cut, not refused */
        t->too_big = true;
        return 0;
    }
    t->buf = xrealloc (t->buf, t->len + n + 1);
    memcpy (t->buf + t->len, ptr, n);
    t->len += n;
    t->buf[t->len] = '\0';
    return n;
}

static size_t
read_cb (char *buf, size_t size, size_t nitems, void *data)
{
    transfer_t *t = data;
    ssize_t n = t->r->read (t->r->read_data, buf, size * nitems, &t->sink_err);
    if (n < 0)
        return CURL_READFUNC_ABORT;
    return (size_t) n;
}

static int
progress_cb (void *data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    transfer_t *t = data;
    if (t->d->stop != NULL && t->d->stop (t->d->stop_data)) {
        t->stopped = true;
        return 1;
    }
    return 0;
}

int
wr_docker_call (wr_docker_t *d, const wr_docker_request_t *r, long *status, json_object **json_out,
                wr_error_t *err)
{
    if (json_out != NULL)
        *json_out = NULL;
    CURL *curl = d->curl;
    curl_easy_reset (curl);
    d->answered_error = false;
    cleanup_free char *what = xasprintf ("dockerd: %s %s", r->method, r->path);
    cleanup_free char *url = xasprintf ("http://docker%s", r->path);
    transfer_t t = { .d = d, .r = r, .fd = CURL_SOCKET_BAD };
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    headers = curl_slist_append (headers, "Expect:");
    cleanup_free char *json_text = NULL;
    cleanup_free char *auth = NULL;
    if (r->registry_auth != NULL) {
        auth = xasprintf ("X-Registry-Auth: %s", r->registry_auth);
        headers = curl_slist_append (headers, auth);
    }
    bool post = strcmp (r->method, "POST") == 0;
    if (r->json != NULL) {
        json_text = xstrdup (json_object_to_json_string_ext (
            r->json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        headers = curl_slist_append (headers, "Content-Type: application/json");
        curl_easy_setopt (curl, CURLOPT_POSTFIELDS, json_text);
        curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen (json_text));
    } else if (r->read != NULL) {
        cleanup_free char *type =
            xasprintf ("Content-Type: %s",
                       r->content_type != NULL ? r->content_type : "application/octet-stream");
        headers = curl_slist_append (headers, type);
        headers = curl_slist_append (headers, "Transfer-Encoding: chunked");
        curl_easy_setopt (curl, CURLOPT_POST, 1L);
        curl_easy_setopt (curl, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt (curl, CURLOPT_READDATA, &t);
    } else if (post) {
        curl_easy_setopt (curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) 0);
    }
    if (!post && strcmp (r->method, "GET") != 0)
        curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, r->method);
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_UNIX_SOCKET_PATH, d->socket);
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt (curl, CURLOPT_USERAGENT, "warrend");
    curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt (curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT_MS, (long) CONNECT_TIMEOUT_MS);
    if (r->timeout_ms > 0)
        curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, (long) r->timeout_ms);
    curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt (curl, CURLOPT_HEADERDATA, &t);
    if (r->hijack) {
        /* A connection of its own, whose socket we see made. */
        curl_easy_setopt (curl, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt (curl, CURLOPT_FORBID_REUSE, 1L);
        curl_easy_setopt (curl, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
        curl_easy_setopt (curl, CURLOPT_SOCKOPTDATA, &t);
    }
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt (curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt (curl, CURLOPT_XFERINFOFUNCTION, progress_cb);
    curl_easy_setopt (curl, CURLOPT_XFERINFODATA, &t);
    CURLcode code = curl_easy_perform (curl);
    long st = 0;
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &st);
    if (status != NULL)
        *status = st;
    int ret = 0;
    if (t.sink_err != NULL) {
        ret = wr_error_propagate (err, &t.sink_err);
    } else if (t.stopped) {
        ret = wr_error_set_kind (err, WR_ERROR_CANCELLED, 0, "%s: cancelled", what);
    } else if (code == CURLE_WRITE_ERROR && t.too_big) {
        ret = wr_error_set_kind (err, WR_ERROR_LIMIT, 0, "%s: the answer is larger than %u bytes",
                                 what, WR_DOCKER_MAX_JSON);
    } else if (code != CURLE_OK) {
        ret = wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0, "%s: %s", what,
                                 errbuf[0] != '\0' ? errbuf : curl_easy_strerror (code));
    } else if (st < 200 || st >= 300) {
        ret = wr_docker_answer_error (st, t.buf != NULL ? t.buf : "", t.len, what, err);
        d->answered_error = true;
    } else if (r->on_data == NULL && t.len > 0) {
        json_object *o = wr_docker_parse_json (t.buf, t.len, WR_DOCKER_MAX_JSON, what, err);
        if (o == NULL)
            ret = -1;
        else if (json_out != NULL)
            *json_out = o;
        else
            json_object_put (o);
    }
    free (t.buf);
    curl_slist_free_all (headers);
    return ret;
}

int
wr_docker_json (wr_docker_t *d, const char *method, const char *path, json_object *body,
                json_object **out, wr_error_t *err)
{
    wr_docker_request_t r = {
        .method = method, .path = path, .json = body, .timeout_ms = JSON_TIMEOUT_MS
    };
    return wr_docker_call (d, &r, NULL, out, err);
}

bool
wr_docker_answered_error (const wr_docker_t *d)
{
    return d != NULL && d->answered_error;
}
