/* Unit tests of api_server.c: a real server on a unix socket under /tmp and
 * on 127.0.0.1 (port 0), with libcurl as the client.  Every bad request
 * (unknown path or method, malformed JSON, wrong types, unknown fields,
 * huge bodies, unknown ids, a missing or wrong token) gets its 4xx as JSON
 * with a message, and the server answers the next request; an event
 * stream is read line by line while it is produced; stopping ends streams
 * and removes the socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api_events.h"
#include "api_server.h"
#include "cleanup.h"
#include "json_reader.h"
#include "xalloc.h"

#define TOKEN "test-token-0123456789"

static char dir[] = "/tmp/warren-test-api-XXXXXX";
static char socket_path[128];
static wr_api_router_t *router;
static wr_api_server_t *server;
static unsigned short tcp_port;

/* Lines the client has received on the current stream; the stream's
 * producer waits for each one to arrive before it sends the next. */
static atomic_int received_lines;
static atomic_int producer_result; /* 0 running, 1 done, -1 cancelled, -2 the client was late */
static atomic_int log_lines;

/* ---- handlers ---- */

static const wr_api_field_t echo_fields[] = {
    { "name", json_type_string, true },
    { "count", json_type_int, false },
    { NULL, 0, false },
};

static int
post_echo (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    json_object *body = wr_api_request_json (req, echo_fields, err);
    if (body == NULL)
        return -1;
    json_object_object_add (body, "request_id", json_object_new_string (req->id));
    wr_log_to (req->log, WR_LOG_INFO, "echo", NULL);
    wr_api_response_json (resp, 201, body);
    return 0;
}

static int
get_whoami (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    json_object *body = json_object_new_object ();
    json_object_object_add (body, "client", json_object_new_string (req->client));
    wr_api_response_json (resp, 200, body);
    return 0;
}

static int
get_item (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    const char *id = wr_api_request_param (req, "id");
    if (strcmp (id, "known") != 0)
        return wr_error_set_kind (err, WR_ERROR_NOT_FOUND, 0, "item `%s`: no such item", id);
    json_object *body = json_object_new_object ();
    json_object_object_add (body, "id", json_object_new_string (id));
    const char *q = wr_api_request_query (req, "q");
    if (q != NULL)
        json_object_object_add (body, "q", json_object_new_string (q));
    wr_api_response_json (resp, 200, body);
    return 0;
}

static int
get_fail (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    return wr_error_set (err, EIO, "disk `sda`");
}

static int
get_health (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    json_object *body = json_object_new_object ();
    json_object_object_add (body, "status", json_object_new_string ("ok"));
    wr_api_response_json (resp, 200, body);
    return 0;
}

static int
post_small (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    json_object *body = json_object_new_object ();
    json_object_object_add (body, "bytes", json_object_new_int ((int) req->body_len));
    wr_api_response_json (resp, 200, body);
    return 0;
}

typedef struct {
    wr_api_events_t *events;
    int count; /* < 0: until cancelled */
} stream_job_t;

static void *
produce (void *arg)
{
    stream_job_t *job = arg;
    int result = 1;
    for (int i = 0; job->count < 0 || i < job->count; i++) {
        cleanup_error wr_error_t err = NULL;
        json_object *ev = json_object_new_object ();
        json_object_object_add (ev, "event", json_object_new_string ("progress"));
        json_object_object_add (ev, "n", json_object_new_int (i));
        if (wr_api_events_send (job->events, ev, 10000, &err) < 0) {
            result = -1;
            break;
        }
        /* The next event only once this one has reached the client: a
         * server that held the stream back would fail here. */
        int waited = 0;
        while (atomic_load (&received_lines) <= i && !wr_api_events_cancelled (job->events) &&
               waited < 10000) {
            struct timespec ms = { 0, 1000000L };
            nanosleep (&ms, NULL);
            waited++;
        }
        if (wr_api_events_cancelled (job->events)) {
            result = -1;
            break;
        }
        if (waited >= 10000) {
            result = -2;
            break;
        }
    }
    wr_api_events_close (job->events);
    wr_api_events_unref (job->events);
    free (job);
    atomic_store (&producer_result, result);
    return NULL;
}

static int
get_stream (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    const char *count = wr_api_request_query (req, "count");
    stream_job_t *job = xzalloc (sizeof *job);
    job->count = count != NULL ? atoi (count) : -1;
    wr_api_events_t *events = wr_api_events_new (0);
    job->events = wr_api_events_ref (events);
    pthread_t thread;
    if (pthread_create (&thread, NULL, produce, job) != 0)
        abort ();
    pthread_detach (thread);
    wr_api_response_events (resp, events);
    return 0;
}

/* Reads the streamed body, answering its length and a checksum (the sum of
 * its bytes, each times its position mod 251 plus one). */
static int
put_upload (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    assert_non_null (req->body_stream);
    static _Thread_local char buf[65536];
    size_t offset = 0;
    uint64_t sum = 0;
    for (;;) {
        size_t before = offset;
        ssize_t n = wr_api_request_body_read (req, buf, sizeof buf, &offset, err);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            sum += (uint64_t) (unsigned char) buf[i] * ((before + (size_t) i) % 251 + 1);
    }
    json_object *body = json_object_new_object ();
    json_object_object_add (body, "bytes", json_object_new_int64 ((int64_t) offset));
    json_object_object_add (body, "sum", json_object_new_int64 ((int64_t) sum));
    wr_api_response_json (resp, 200, body);
    return 0;
}

typedef struct {
    wr_api_events_t *events;
    size_t bytes;
} bytes_job_t;

static void *
produce_bytes (void *data)
{
    bytes_job_t *job = data;
    char buf[10000];
    for (size_t done = 0; done < job->bytes;) {
        size_t n = job->bytes - done < sizeof buf ? job->bytes - done : sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = (char) ((done + i) % 253);
        cleanup_error wr_error_t err = NULL;
        if (wr_api_events_send_bytes (job->events, buf, n, 5000, &err) < 0)
            break;
        done += n;
    }
    wr_api_events_close (job->events);
    wr_api_events_unref (job->events);
    free (job);
    return NULL;
}

/* Answers ?bytes=N raw bytes (byte i is i mod 253), with X-Test-Offset. */
static int
get_bytes (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    bytes_job_t *job = xzalloc (sizeof *job);
    job->bytes = (size_t) strtoull (wr_api_request_query (req, "bytes"), NULL, 10);
    wr_api_events_t *events = wr_api_events_new (0);
    job->events = wr_api_events_ref (events);
    pthread_t thread;
    if (pthread_create (&thread, NULL, produce_bytes, job) != 0)
        abort ();
    pthread_detach (thread);
    wr_api_response_bytes (resp, 200, "application/octet-stream", events);
    wr_api_response_add_header (resp, "X-Test-Offset", "17");
    return 0;
}

static const wr_api_route_t routes[] = {
    { "PUT", "/t/upload", put_upload, WR_API_ROUTE_STREAM_BODY, (size_t) 1 << 30, NULL },
    { "PUT", "/t/upload-small", put_upload, WR_API_ROUTE_STREAM_BODY, 1000, NULL },
    { "GET", "/t/bytes", get_bytes, 0, 0, NULL },
    { "GET", "/v1/health", get_health, WR_API_ROUTE_PUBLIC, 0, NULL },
    { "POST", "/t/echo", post_echo, 0, 0, NULL },
    { "GET", "/t/items/{id}", get_item, 0, 0, NULL },
    { "GET", "/t/whoami", get_whoami, 0, 0, NULL },
    { "DELETE", "/t/items/{id}", get_item, 0, 0, NULL },
    { "GET", "/t/fail", get_fail, 0, 0, NULL },
    { "POST", "/t/small", post_small, 0, 16, NULL },
    { "GET", "/t/stream", get_stream, 0, 0, NULL },
};

/* ---- a log sink that counts ---- */

static void
count_line (void *data, wr_log_level_t level, const char *msg, const char *const *fields)
{
    atomic_fetch_add (&log_lines, 1);
}

static wr_log_t test_log = { .write = count_line, .level = WR_LOG_DEBUG };

/* ---- the client ---- */

typedef struct {
    long status;
    char *body;
    size_t len;
    char *allow;
    char *content_type;
    char *request_id;
    char *test_offset; /* X-Test-Offset */
    char *retry_after;
    /* With a stream: stop reading after this many lines (0: never). */
    int stop_after_lines;
} answer_t;

static void
answer_clear (answer_t *a)
{
    free (a->body);
    free (a->allow);
    free (a->content_type);
    free (a->request_id);
    free (a->test_offset);
    free (a->retry_after);
    memset (a, 0, sizeof *a);
}

static size_t
on_body (char *data, size_t size, size_t n, void *userdata)
{
    answer_t *a = userdata;
    size_t len = size * n;
    a->body = xrealloc (a->body, a->len + len + 1);
    memcpy (a->body + a->len, data, len);
    a->len += len;
    a->body[a->len] = '\0';
    int lines = 0;
    for (size_t i = 0; i < a->len; i++)
        lines += a->body[i] == '\n';
    atomic_store (&received_lines, lines);
    if (a->stop_after_lines > 0 && lines >= a->stop_after_lines)
        return 0;
    return len;
}

static char *
header_value (const char *line, size_t len, const char *name)
{
    size_t n = strlen (name);
    if (len <= n + 1 || strncasecmp (line, name, n) != 0 || line[n] != ':')
        return NULL;
    const char *v = line + n + 1;
    while (*v == ' ')
        v++;
    size_t vlen = len - (size_t) (v - line);
    while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
        vlen--;
    return xstrndup (v, vlen);
}

static size_t
on_header (char *data, size_t size, size_t n, void *userdata)
{
    answer_t *a = userdata;
    size_t len = size * n;
    char *v;
    if ((v = header_value (data, len, "Allow")) != NULL)
        a->allow = v;
    else if ((v = header_value (data, len, "Content-Type")) != NULL)
        a->content_type = v;
    else if ((v = header_value (data, len, "X-Request-Id")) != NULL)
        a->request_id = v;
    else if ((v = header_value (data, len, "X-Test-Offset")) != NULL)
        a->test_offset = v;
    else if ((v = header_value (data, len, "Retry-After")) != NULL)
        a->retry_after = v;
    return len;
}

typedef struct {
    const char *data;
    size_t len, pos;
} upload_t;

static size_t
on_read (char *buf, size_t size, size_t n, void *userdata)
{
    upload_t *u = userdata;
    size_t len = size * n;
    if (len > u->len - u->pos)
        len = u->len - u->pos;
    memcpy (buf, u->data + u->pos, len);
    u->pos += len;
    return len;
}

enum { VIA_UNIX, VIA_TCP };

/* METHOD PATH with BODY (LEN bytes; chunked when CHUNKED) and an
 * Authorization header AUTH (NULL: none). */
static CURLcode
request_full (int via, const char *method, const char *path, const char *body, size_t len,
              bool chunked, const char *auth, answer_t *a)
{
    CURL *curl = curl_easy_init ();
    assert_non_null (curl);
    char url[256];
    if (via == VIA_UNIX) {
        curl_easy_setopt (curl, CURLOPT_UNIX_SOCKET_PATH, socket_path);
        snprintf (url, sizeof url, "http://warrend%s", path);
    } else {
        snprintf (url, sizeof url, "http://127.0.0.1:%u%s", (unsigned) tcp_port, path);
    }
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt (curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt (curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, a);
    curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt (curl, CURLOPT_HEADERDATA, a);
    struct curl_slist *headers = NULL;
    headers = curl_slist_append (headers, "Content-Type: application/json");
    cleanup_free char *auth_header = NULL;
    if (auth != NULL) {
        auth_header = xasprintf ("Authorization: %s", auth);
        headers = curl_slist_append (headers, auth_header);
    }
    upload_t upload = { body, len, 0 };
    if (body != NULL) {
        curl_easy_setopt (curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt (curl, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt (curl, CURLOPT_READDATA, &upload);
        if (chunked)
            headers = curl_slist_append (headers, "Transfer-Encoding: chunked");
        else
            curl_easy_setopt (curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t) len);
        curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
    CURLcode rc = curl_easy_perform (curl);
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &a->status);
    curl_slist_free_all (headers);
    curl_easy_cleanup (curl);
    return rc;
}

static void
request (int via, const char *method, const char *path, const char *body, const char *auth,
         answer_t *a)
{
    CURLcode rc =
        request_full (via, method, path, body, body != NULL ? strlen (body) : 0, false, auth, a);
    if (rc != CURLE_OK)
        fail_msg ("%s %s: %s", method, path, curl_easy_strerror (rc));
}

/* Checks that A is a JSON error of STATUS and KIND whose message holds
 * EXPECTED. */
static void
check_error (const answer_t *a, long status, const char *kind, const char *expected)
{
    if (a->status != status)
        fail_msg ("status %ld, not %ld: %s", a->status, status, a->body ? a->body : "");
    assert_non_null (a->content_type);
    assert_string_equal (a->content_type, "application/json");
    assert_non_null (a->request_id);
    cleanup_error wr_error_t err = NULL;
    cleanup_json_reader json_object *obj =
        wr_json_parse_object (a->body, a->len, 65536, "an answer", "answer", &err);
    if (obj == NULL)
        fail_msg ("not a JSON object: %s: %s", a->body, err->message);
    json_object *error = json_object_object_get (obj, "error");
    assert_non_null (error);
    assert_string_equal (json_object_get_string (json_object_object_get (error, "kind")), kind);
    const char *message = json_object_get_string (json_object_object_get (error, "message"));
    if (strstr (message, expected) == NULL)
        fail_msg ("message `%s` does not say `%s`", message, expected);
}

/* The server still answers. */
static void
check_serving (void)
{
    answer_t a = { 0 };
    request (VIA_UNIX, "GET", "/v1/health", NULL, NULL, &a);
    assert_int_equal (a.status, 200);
    assert_string_equal (a.body, "{\"status\":\"ok\"}\n");
    answer_clear (&a);
}

/* ---- setup ---- */

static wr_api_server_t *
start_server (wr_error_t *err)
{
    wr_api_server_options_t options = {
        .socket_path = socket_path,
        .set_socket_group = true,
        .socket_group = geteuid () == 0 ? 12345 : getegid (),
        .tcp_host = "127.0.0.1",
        .tcp_port = 0,
        .token = TOKEN,
        .router = router,
        .log = &test_log,
    };
    return wr_api_server_start (&options, err);
}

static int
setup (void **state)
{
    curl_global_init (CURL_GLOBAL_DEFAULT);
    if (mkdtemp (dir) == NULL)
        return -1;
    snprintf (socket_path, sizeof socket_path, "%s/api.sock", dir);
    cleanup_error wr_error_t err = NULL;
    router = wr_api_router_new (routes, sizeof routes / sizeof routes[0], NULL, &err);
    if (router == NULL)
        return -1;
    server = start_server (&err);
    if (server == NULL) {
        fprintf (stderr, "start: %s\n", err->message);
        return -1;
    }
    tcp_port = wr_api_server_tcp_port (server);
    return tcp_port > 0 ? 0 : -1;
}

static int
teardown (void **state)
{
    wr_api_server_stop (server);
    wr_api_router_free (router);
    rmdir (dir);
    curl_global_cleanup ();
    return 0;
}

/* ---- cases ---- */

static void
test_socket_mode_and_group (void **state)
{
    struct stat st;
    assert_int_equal (stat (socket_path, &st), 0);
    assert_true (S_ISSOCK (st.st_mode));
    assert_int_equal (st.st_mode & 07777, 0660);
    assert_int_equal (st.st_gid, geteuid () == 0 ? 12345 : getegid ());
}

static void
test_health_and_routes (void **state)
{
    int before = atomic_load (&log_lines);
    check_serving ();
    answer_t a = { 0 };
    request (VIA_UNIX, "GET", "/t/items/known?q=a%20b", NULL, NULL, &a);
    assert_int_equal (a.status, 200);
    assert_string_equal (a.body, "{\"id\":\"known\",\"q\":\"a b\"}\n");
    answer_clear (&a);
    request (VIA_UNIX, "POST", "/t/echo", "{\"name\": \"x\", \"count\": 3}", NULL, &a);
    assert_int_equal (a.status, 201);
    cleanup_json_reader json_object *obj = json_tokener_parse (a.body);
    assert_string_equal (json_object_get_string (json_object_object_get (obj, "name")), "x");
    /* The handler's log is the request's: its id is the one sent back. */
    assert_string_equal (json_object_get_string (json_object_object_get (obj, "request_id")),
                         a.request_id);
    answer_clear (&a);
    /* One line per request (written as the request completes, just after
     * its answer went out), and the handler's own. */
    for (int i = 0; i < 100 && atomic_load (&log_lines) < before + 4; i++) {
        struct timespec ms = { 0, 10000000L };
        nanosleep (&ms, NULL);
    }
    assert_true (atomic_load (&log_lines) >= before + 4);
}

static void
test_not_found_and_method (void **state)
{
    answer_t a = { 0 };
    request (VIA_UNIX, "GET", "/v1/nothing", NULL, NULL, &a);
    check_error (&a, 404, "not_found", "no such route: GET `/v1/nothing`");
    answer_clear (&a);
    check_serving ();
    request (VIA_UNIX, "PUT", "/t/items/known", NULL, NULL, &a);
    check_error (&a, 405, "invalid", "method PUT is not allowed on `/t/items/known`");
    assert_string_equal (a.allow, "GET, DELETE");
    answer_clear (&a);
    check_serving ();
    request (VIA_UNIX, "GET", "/t/items/missing", NULL, NULL, &a);
    check_error (&a, 404, "not_found", "item `missing`: no such item");
    answer_clear (&a);
    check_serving ();
    request (VIA_UNIX, "GET", "/t/fail", NULL, NULL, &a);
    check_error (&a, 500, "internal", "disk `sda`: Input/output error");
    answer_clear (&a);
    check_serving ();
}

/* Errors without a body keep the connection open (an SDK reuses it). */
static void
test_keep_alive_after_errors (void **state)
{
    CURL *curl = curl_easy_init ();
    assert_non_null (curl);
    answer_t a = { 0 };
    curl_easy_setopt (curl, CURLOPT_UNIX_SOCKET_PATH, socket_path);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, &a);
    const char *paths[] = { "http://warrend/v1/nothing", "http://warrend/t/items/missing",
                            "http://warrend/v1/health" };
    for (size_t i = 0; i < 3; i++) {
        curl_easy_setopt (curl, CURLOPT_URL, paths[i]);
        assert_int_equal (curl_easy_perform (curl), CURLE_OK);
        long connects = -1;
        curl_easy_getinfo (curl, CURLINFO_NUM_CONNECTS, &connects);
        assert_int_equal (connects, i == 0 ? 1 : 0);
    }
    curl_easy_cleanup (curl);
    answer_clear (&a);
}

static void
test_bad_bodies (void **state)
{
    struct {
        const char *body;
        const char *expected;
    } cases[] = {
        { "{\"name\": ", "request body: not JSON" },
        { "not json", "request body: not JSON" },
        { "[]", "must be a JSON object, not an array" },
        { "{\"name\": 1}", "request body: name: must be a string, not an integer" },
        { "{\"name\": \"x\", \"count\": \"3\"}", "request body: count: must be an integer" },
        { "{\"name\": \"x\", \"colour\": 1}",
          "unknown field `colour` (known fields: name, count)" },
        { "{}", "request body: name: missing" },
        { "", "request body: empty" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        answer_t a = { 0 };
        request (VIA_UNIX, "POST", "/t/echo", cases[i].body, NULL, &a);
        check_error (&a, 400, "invalid", cases[i].expected);
        answer_clear (&a);
        check_serving ();
    }
}

static void
test_huge_bodies (void **state)
{
    size_t len = 2 * WR_API_MAX_JSON_BODY;
    cleanup_free char *big = xmalloc (len);
    memset (big, ' ', len);
    big[0] = '{';
    big[len - 1] = '}';
    /* Announced: refused before it is sent. */
    answer_t a = { 0 };
    CURLcode rc = request_full (VIA_UNIX, "POST", "/t/echo", big, len, false, NULL, &a);
    assert_true (rc == CURLE_OK || rc == CURLE_SEND_ERROR);
    check_error (&a, 413, "limit",
                 "2097152 bytes is too large for POST /t/echo (the limit is 1048576)");
    answer_clear (&a);
    check_serving ();
    /* Chunked: read, dropped, refused. */
    rc = request_full (VIA_UNIX, "POST", "/t/echo", big, len, true, NULL, &a);
    assert_true (rc == CURLE_OK || rc == CURLE_SEND_ERROR);
    check_error (&a, 413, "limit", "more than 1048576 bytes is too large for POST /t/echo");
    answer_clear (&a);
    check_serving ();
    /* A route's own limit. */
    request (VIA_UNIX, "POST", "/t/small", "{\"a\": \"0123456789\"}", NULL, &a);
    check_error (&a, 413, "limit", "(the limit is 16)");
    answer_clear (&a);
    request (VIA_UNIX, "POST", "/t/small", "{\"a\": \"0123\"}", NULL, &a);
    assert_int_equal (a.status, 200);
    answer_clear (&a);
    check_serving ();
}

/* A server with a client rate of 1 a second, 3 at once: the unix socket's
 * peer (its uid) and a TCP peer (its address) each have their own bucket;
 * the fourth request at once is a 429 with Retry-After, the health check
 * is never limited, and the handler sees who the client is. */
static void
test_client_rate (void **state)
{
    char saved_path[sizeof socket_path];
    memcpy (saved_path, socket_path, sizeof socket_path);
    unsigned short saved_port = tcp_port;
    snprintf (socket_path, sizeof socket_path, "%s/rate.sock", dir);
    wr_api_server_options_t options = {
        .socket_path = socket_path,
        .tcp_host = "127.0.0.1",
        .token = TOKEN,
        .router = router,
        .log = &test_log,
        .client_rate = 1,
        .client_burst = 3,
    };
    cleanup_error wr_error_t err = NULL;
    wr_api_server_t *limited = wr_api_server_start (&options, &err);
    if (limited == NULL)
        fail_msg ("start: %s", err->message);
    tcp_port = wr_api_server_tcp_port (limited);
    answer_t a = { 0 };
    cleanup_free char *uid = xasprintf ("\"client\":\"uid:%u\"", (unsigned) geteuid ());
    for (int i = 0; i < 3; i++) {
        request (VIA_UNIX, "GET", "/t/whoami", NULL, NULL, &a);
        assert_int_equal (a.status, 200);
        assert_non_null (strstr (a.body, uid));
        answer_clear (&a);
    }
    request (VIA_UNIX, "GET", "/t/whoami", NULL, NULL, &a);
    check_error (&a, 429, "too_many", "more than 1 requests a second (3 at once): retry in");
    assert_non_null (a.retry_after);
    assert_string_equal (a.retry_after, "1");
    answer_clear (&a);
    /* A body the limit refused is not read: the next request still works
     * (on a new connection) and is refused the same way. */
    request (VIA_UNIX, "POST", "/t/echo", "{\"name\": \"x\"}", NULL, &a);
    check_error (&a, 429, "too_many", "client `uid:");
    answer_clear (&a);
    request (VIA_UNIX, "GET", "/v1/health", NULL, NULL, &a);
    assert_int_equal (a.status, 200);
    answer_clear (&a);
    /* TCP's peer is another client. */
    request (VIA_TCP, "GET", "/t/whoami", NULL, "Bearer " TOKEN, &a);
    assert_int_equal (a.status, 200);
    assert_non_null (strstr (a.body, "\"client\":\"tcp:127.0.0.1\""));
    answer_clear (&a);
    /* After a second, one more. */
    sleep (1);
    request (VIA_UNIX, "GET", "/t/whoami", NULL, NULL, &a);
    assert_int_equal (a.status, 200);
    answer_clear (&a);
    wr_api_server_stop (limited);
    memcpy (socket_path, saved_path, sizeof socket_path);
    tcp_port = saved_port;
    check_serving ();
}

static void
test_tcp_token (void **state)
{
    answer_t a = { 0 };
    /* The health check needs no token... */
    request (VIA_TCP, "GET", "/v1/health", NULL, NULL, &a);
    assert_int_equal (a.status, 200);
    answer_clear (&a);
    /* ...everything else does, unknown paths included. */
    request (VIA_TCP, "GET", "/t/items/known", NULL, NULL, &a);
    check_error (&a, 401, "unauthorized", "needs a bearer token");
    answer_clear (&a);
    request (VIA_TCP, "GET", "/v1/nothing", NULL, NULL, &a);
    check_error (&a, 401, "unauthorized", "needs a bearer token");
    answer_clear (&a);
    request (VIA_TCP, "GET", "/t/items/known", NULL, "Bearer wrong-token", &a);
    check_error (&a, 401, "unauthorized", "the bearer token is wrong");
    answer_clear (&a);
    request (VIA_TCP, "GET", "/t/items/known", NULL, "Bearer " TOKEN "x", &a);
    check_error (&a, 401, "unauthorized", "the bearer token is wrong");
    answer_clear (&a);
    request (VIA_TCP, "GET", "/t/items/known", NULL, "Basic " TOKEN, &a);
    check_error (&a, 401, "unauthorized", "must be `Bearer TOKEN`");
    answer_clear (&a);
    /* A token-less request with a body is refused before the body. */
    request (VIA_TCP, "POST", "/t/echo", "{\"name\": \"x\"}", NULL, &a);
    check_error (&a, 401, "unauthorized", "needs a bearer token");
    answer_clear (&a);
    request (VIA_TCP, "GET", "/t/items/known", NULL, "Bearer " TOKEN, &a);
    assert_int_equal (a.status, 200);
    answer_clear (&a);
    request (VIA_TCP, "POST", "/t/echo", "{\"name\": \"tcp\"}", "Bearer " TOKEN, &a);
    assert_int_equal (a.status, 201);
    answer_clear (&a);
    request (VIA_TCP, "GET", "/v1/nothing", NULL, "Bearer " TOKEN, &a);
    check_error (&a, 404, "not_found", "no such route");
    answer_clear (&a);
    /* The unix socket needs none (its mode is the access control). */
    request (VIA_UNIX, "GET", "/t/items/known", NULL, NULL, &a);
    assert_int_equal (a.status, 200);
    answer_clear (&a);
}

static void
test_event_stream (void **state)
{
    atomic_store (&received_lines, 0);
    atomic_store (&producer_result, 0);
    answer_t a = { 0 };
    request (VIA_UNIX, "GET", "/t/stream?count=20", NULL, NULL, &a);
    assert_int_equal (a.status, 200);
    assert_string_equal (a.content_type, "application/x-ndjson");
    /* The producer sent each event only after the client had the one
     * before: the stream was read incrementally. */
    for (int i = 0; i < 100 && atomic_load (&producer_result) == 0; i++) {
        struct timespec ms = { 0, 10000000L };
        nanosleep (&ms, NULL);
    }
    assert_int_equal (atomic_load (&producer_result), 1);
    int n = 0;
    for (char *line = a.body; *line != '\0'; n++) {
        char *end = strchr (line, '\n');
        assert_non_null (end);
        *end = '\0';
        cleanup_json_reader json_object *obj = json_tokener_parse (line);
        assert_non_null (obj);
        assert_int_equal (json_object_get_int (json_object_object_get (obj, "n")), n);
        line = end + 1;
    }
    assert_int_equal (n, 20);
    answer_clear (&a);
    check_serving ();
}

static void
test_stream_client_goes_away (void **state)
{
    atomic_store (&received_lines, 0);
    atomic_store (&producer_result, 0);
    answer_t a = { .stop_after_lines = 3 };
    CURLcode rc = request_full (VIA_UNIX, "GET", "/t/stream", NULL, 0, false, NULL, &a);
    assert_int_equal (rc, CURLE_WRITE_ERROR);
    /* The endless producer learns that its client left. */
    for (int i = 0; i < 500 && atomic_load (&producer_result) == 0; i++) {
        struct timespec ms = { 0, 10000000L };
        nanosleep (&ms, NULL);
    }
    assert_int_equal (atomic_load (&producer_result), -1);
    answer_clear (&a);
    check_serving ();
}

static uint64_t
checksum (const char *data, size_t len)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum += (uint64_t) (unsigned char) data[i] * (i % 251 + 1);
    return sum;
}

static void
test_streamed_upload (void **state)
{
    /* 64 MiB through a 4 MiB queue: the handler reads it as it comes. */
    size_t len = (size_t) 64 << 20;
    char *data = xmalloc (len);
    for (size_t i = 0; i < len; i++)
        data[i] = (char) (i * 7 + i / 4096);
    for (int chunked = 0; chunked < 2; chunked++) {
        answer_t a = { 0 };
        CURLcode rc = request_full (VIA_UNIX, "PUT", "/t/upload", data, len, chunked, NULL, &a);
        assert_int_equal (rc, CURLE_OK);
        assert_int_equal (a.status, 200);
        cleanup_json_reader json_object *obj = json_tokener_parse (a.body);
        assert_non_null (obj);
        assert_int_equal (json_object_get_int64 (json_object_object_get (obj, "bytes")),
                          (int64_t) len);
        assert_true ((uint64_t) json_object_get_int64 (json_object_object_get (obj, "sum")) ==
                     checksum (data, len));
        answer_clear (&a);
    }
    /* Over the route's limit, announced or chunked: 413. */
    for (int chunked = 0; chunked < 2; chunked++) {
        answer_t a = { 0 };
        request_full (VIA_UNIX, "PUT", "/t/upload-small", data, 5000, chunked, NULL, &a);
        check_error (&a, 413, "limit", "too large");
        answer_clear (&a);
    }
    free (data);
    check_serving ();
}

static void
test_byte_stream (void **state)
{
    answer_t a = { 0 };
    request (VIA_UNIX, "GET", "/t/bytes?bytes=3000017", NULL, NULL, &a);
    assert_int_equal (a.status, 200);
    assert_string_equal (a.content_type, "application/octet-stream");
    assert_non_null (a.test_offset);
    assert_string_equal (a.test_offset, "17");
    assert_int_equal (a.len, 3000017);
    for (size_t i = 0; i < a.len; i++)
        if ((unsigned char) a.body[i] != i % 253)
            fail_msg ("byte %zu is %u", i, (unsigned char) a.body[i]);
    answer_clear (&a);
    check_serving ();
}

static void
test_socket_refused_and_stale (void **state)
{
    cleanup_error wr_error_t err = NULL;
    /* A live socket is not taken over. */
    assert_null (start_server (&err));
    assert_int_equal (wr_error_kind (err), WR_ERROR_EXISTS);
    assert_non_null (strstr (err->message, "another server is listening on it"));
    wr_error_free (&err);
    check_serving ();
    /* A file that is not a socket is left alone. */
    char other[100];
    snprintf (other, sizeof other, "%s/file", dir);
    int fd = open (other, O_CREAT | O_WRONLY, 0600);
    assert_true (fd >= 0);
    close (fd);
    wr_api_server_options_t options = { .socket_path = other, .router = router };
    assert_null (wr_api_server_start (&options, &err));
    assert_non_null (strstr (err->message, "exists and is not a socket"));
    wr_error_free (&err);
    unlink (other);
    /* A stale socket (nobody listening) is replaced. */
    int s = socket (AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    snprintf (addr.sun_path, sizeof addr.sun_path, "%s", other);
    assert_int_equal (bind (s, (struct sockaddr *) &addr, sizeof addr), 0);
    close (s);
    wr_api_server_t *second = wr_api_server_start (&options, &err);
    assert_non_null (second);
    wr_api_server_stop (second);
    struct stat st;
    assert_int_equal (lstat (other, &st), -1);
    /* TCP without a token is refused. */
    wr_api_server_options_t no_token = { .tcp_host = "127.0.0.1", .router = router };
    assert_null (wr_api_server_start (&no_token, &err));
    assert_non_null (strstr (err->message, "needs a bearer token"));
    wr_error_free (&err);
    wr_api_server_options_t bad_host = { .tcp_host = "localhost",
                                         .token = TOKEN,
                                         .router = router };
    assert_null (wr_api_server_start (&bad_host, &err));
    assert_non_null (strstr (err->message, "not a numeric address"));
}

typedef struct {
    answer_t answer;
    CURLcode rc;
} stream_client_t;

static void *
endless_client (void *arg)
{
    stream_client_t *c = arg;
    c->rc = request_full (VIA_UNIX, "GET", "/t/stream", NULL, 0, false, NULL, &c->answer);
    return NULL;
}

/* Last: stops the server with a stream open. */
static void
test_stop_ends_streams (void **state)
{
    atomic_store (&received_lines, 0);
    atomic_store (&producer_result, 0);
    stream_client_t client = { 0 };
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, endless_client, &client), 0);
    for (int i = 0; i < 500 && atomic_load (&received_lines) < 2; i++) {
        struct timespec ms = { 0, 10000000L };
        nanosleep (&ms, NULL);
    }
    assert_true (atomic_load (&received_lines) >= 2);
    struct timespec a, b;
    clock_gettime (CLOCK_MONOTONIC, &a);
    wr_api_server_stop (server);
    server = NULL;
    clock_gettime (CLOCK_MONOTONIC, &b);
    assert_true (b.tv_sec - a.tv_sec < 5);
    pthread_join (thread, NULL);
    assert_int_equal (client.answer.status, 200);
    answer_clear (&client.answer);
    struct stat st;
    assert_int_equal (lstat (socket_path, &st), -1);
    assert_int_equal (errno, ENOENT);
    for (int i = 0; i < 500 && atomic_load (&producer_result) == 0; i++) {
        struct timespec ms = { 0, 10000000L };
        nanosleep (&ms, NULL);
    }
    assert_int_equal (atomic_load (&producer_result), -1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_socket_mode_and_group),
        cmocka_unit_test (test_health_and_routes),
        cmocka_unit_test (test_not_found_and_method),
        cmocka_unit_test (test_keep_alive_after_errors),
        cmocka_unit_test (test_bad_bodies),
        cmocka_unit_test (test_huge_bodies),
        cmocka_unit_test (test_streamed_upload),
        cmocka_unit_test (test_byte_stream),
        cmocka_unit_test (test_tcp_token),
        cmocka_unit_test (test_event_stream),
        cmocka_unit_test (test_stream_client_goes_away),
        cmocka_unit_test (test_socket_refused_and_stale),
        cmocka_unit_test (test_client_rate),
        cmocka_unit_test (test_stop_ends_streams),
    };
    return cmocka_run_group_tests (tests, setup, teardown);
}
