/* api-bench SOCKET MODE ARGS...: times requests to warrend's API on its
 * unix socket, all on one libcurl easy handle (one keep-alive connection),
 * so that no process startup is timed.  The figures go to stdout, one a
 * line; anything else to stderr.
 *
 *   exec ID N PROGRAM [ARG...]  N times: POST .../processes {"argv": ...},
 *                               then POST .../processes/PID/wait until it
 *                               ended (it must exit 0); prints each
 *                               exec+wait in microseconds.  The process is
 *                               then forgotten (DELETE), untimed.
 *   run ID N PROGRAM [ARG...]   the same in one request: POST .../processes
 *                               {"argv": ..., "wait": true}, answered once
 *                               it ended (200, exit 0 checked)
 *   stat ID PATH N              N times GET .../files/stat?path=PATH (us)
 *   read ID PATH N              N times GET .../files/content?path=PATH,
 *                               checking the size against a first stat (us)
 *   create-echo BODY MARKER     POST /v1/sandboxes BODY (201 once running),
 *                               exec `echo MARKER`, follow its stdout until
 *                               MARKER: prints `total create exec output ID`
 *                               (ms)
 *   create-stream BODY          POST /v1/sandboxes BODY with
 *                               Accept: application/x-ndjson: prints each
 *                               event's arrival (`MS LINE`), then
 *                               `total MS ID` once the stream ended with a
 *                               running sandbox
 *
 * At the end it reports on stderr how many connections it opened (1 when
 * keep-alive worked). Used by bench/exec and bench/create. */
#include <curl/curl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    char *data;
    size_t len, cap;
    const char *marker; /* create-echo: stop once this arrives */
    int marker_seen;
    long long t0; /* create-stream: the start, for arrival times */
    size_t printed; /* create-stream: bytes of complete lines printed */
} buf_t;

static CURL *curl;
static long connects;

static long long
now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

__attribute__ ((format (printf, 1, 2), noreturn)) static void
die (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fputs ("api-bench: ", stderr);
    vfprintf (stderr, fmt, ap);
    fputc ('\n', stderr);
    va_end (ap);
    exit (1);
}

static size_t
on_body (char *ptr, size_t size, size_t nmemb, void *user)
{
    buf_t *b = user;
    size_t n = size * nmemb;
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = realloc (b->data, b->cap);
        if (b->data == NULL)
            die ("out of memory");
    }
    memcpy (b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = 0;
    if (b->t0) { /* print each complete line as it arrives */
        char *nl;
        while ((nl = memchr (b->data + b->printed, '\n', b->len - b->printed)) != NULL) {
            printf ("%.3f %.*s\n", (double) (now_ns () - b->t0) / 1e6,
                    (int) (nl - (b->data + b->printed)), b->data + b->printed);
            fflush (stdout);
            b->printed = (size_t) (nl - b->data) + 1;
        }
    }
    if (b->marker && strstr (b->data, b->marker)) {
        b->marker_seen = 1;
        return 0; /* stop here: the first output is what is timed */
    }
    return n;
}

/* request METHOD PATH BODY (or NULL) ACCEPT (or NULL) INTO: the status. */
static long
request (const char *method, const char *path, const char *body, const char *accept, buf_t *into)
{
    char url[4096];
    snprintf (url, sizeof url, "http://warrend%s", path);
    into->len = 0;
    into->printed = 0;
    if (into->data)
        into->data[0] = 0;
    struct curl_slist *headers = NULL;
    if (body)
        headers = curl_slist_append (headers, "Content-Type: application/json");
    if (accept) {
        char h[128];
        snprintf (h, sizeof h, "Accept: %s", accept);
        headers = curl_slist_append (headers, h);
    }
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt (curl, CURLOPT_HTTPGET, 1L);
    if (body) {
        curl_easy_setopt (curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE, (long) strlen (body));
    }
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, into);
    CURLcode rc = curl_easy_perform (curl);
    curl_slist_free_all (headers);
    long n = 0;
    curl_easy_getinfo (curl, CURLINFO_NUM_CONNECTS, &n);
    connects += n;
    if (rc == CURLE_WRITE_ERROR && into->marker_seen)
        return 200;
    if (rc != CURLE_OK)
        die ("%s %s: %s", method, path, curl_easy_strerror (rc));
    long status = 0;
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static const char *
json_str (const char *text, const char *key, char *out, size_t cap)
{
    json_object *o = json_tokener_parse (text), *v;
    out[0] = 0;
    if (o && json_object_object_get_ex (o, key, &v) && json_object_is_type (v, json_type_string))
        snprintf (out, cap, "%s", json_object_get_string (v));
    json_object_put (o);
    return out;
}

/* exec_one ID ARGV_JSON: exec and wait; returns the process's pid (agent id)
 * in PID. Dies unless it exited 0. */
static void
exec_one (const char *id, const char *body, buf_t *b, char *pid, size_t cap)
{
    char path[1024];
    snprintf (path, sizeof path, "/v1/sandboxes/%s/processes", id);
    long status = request ("POST", path, body, NULL, b);
    if (status != 201)
        die ("POST %s: status %ld: %s", path, status, b->data ? b->data : "");
    if (!*json_str (b->data, "pid", pid, cap))
        die ("POST %s: no pid in %s", path, b->data);
    snprintf (path, sizeof path, "/v1/sandboxes/%s/processes/%s/wait", id, pid);
    status = request ("POST", path, "{}", NULL, b);
    if (status != 200 || !strstr (b->data, "\"exit_code\":0"))
        die ("POST %s: status %ld: %s", path, status, b->data ? b->data : "");
}

/* run_one ID BODY: exec with wait, one request; the pid in PID.  Dies
 * unless it exited 0. */
static void
run_one (const char *id, const char *body, buf_t *b, char *pid, size_t cap)
{
    char path[1024];
    snprintf (path, sizeof path, "/v1/sandboxes/%s/processes", id);
    long status = request ("POST", path, body, NULL, b);
    if (status != 200 || !strstr (b->data, "\"exit_code\":0"))
        die ("POST %s (wait): status %ld: %s", path, status, b->data ? b->data : "");
    if (!*json_str (b->data, "pid", pid, cap))
        die ("POST %s: no pid in %s", path, b->data);
}

static char *
argv_json (int argc, char **argv, bool wait)
{
    json_object *o = json_object_new_object (), *a = json_object_new_array ();
    for (int i = 0; i < argc; i++)
        json_object_array_add (a, json_object_new_string (argv[i]));
    json_object_object_add (o, "argv", a);
    if (wait)
        json_object_object_add (o, "wait", json_object_new_boolean (1));
    char *s = strdup (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN));
    json_object_put (o);
    return s;
}

static long
count (const char *s)
{
    long n = strtol (s, NULL, 10);
    if (n < 1 || n > 1000000)
        die ("N must be 1 to 1000000, not %s", s);
    return n;
}

static int
mode_exec (int argc, char **argv, bool one_request)
{
    if (argc < 3)
        die ("usage: exec|run ID N PROGRAM [ARG...]");
    const char *id = argv[0];
    long n = count (argv[1]);
    char *body = argv_json (argc - 2, argv + 2, one_request);
    buf_t b = { 0 };
    char pid[64], path[1024];
    for (long i = 0; i < n; i++) {
        long long t0 = now_ns ();
        if (one_request)
            run_one (id, body, &b, pid, sizeof pid);
        else
            exec_one (id, body, &b, pid, sizeof pid);
        long long t1 = now_ns ();
        printf ("%.1f\n", (double) (t1 - t0) / 1e3);
        snprintf (path, sizeof path, "/v1/sandboxes/%s/processes/%s", id, pid);
        if (request ("DELETE", path, NULL, NULL, &b) != 200)
            die ("DELETE %s: %s", path, b.data);
    }
    free (body);
    free (b.data);
    return 0;
}

static int
mode_files (int argc, char **argv, int read)
{
    if (argc != 3)
        die ("usage: stat|read ID PATH N");
    const char *id = argv[0];
    char *q = curl_easy_escape (curl, argv[1], 0);
    long n = count (argv[2]);
    char stat_path[4096], read_path[4096];
    snprintf (stat_path, sizeof stat_path, "/v1/sandboxes/%s/files/stat?path=%s", id, q);
    snprintf (read_path, sizeof read_path, "/v1/sandboxes/%s/files/content?path=%s", id, q);
    curl_free (q);
    buf_t b = { 0 };
    if (request ("GET", stat_path, NULL, NULL, &b) != 200)
        die ("GET %s: %s", stat_path, b.data);
    json_object *o = json_tokener_parse (b.data), *v;
    if (!o || !json_object_object_get_ex (o, "size", &v))
        die ("GET %s: no size in %s", stat_path, b.data);
    size_t size = (size_t) json_object_get_int64 (v);
    json_object_put (o);
    for (long i = 0; i < n; i++) {
        long long t0 = now_ns ();
        long status = request ("GET", read ? read_path : stat_path, NULL, NULL, &b);
        long long t1 = now_ns ();
        if (status != 200)
            die ("GET %s: status %ld", read ? read_path : stat_path, status);
        if (read && b.len != size)
            die ("GET %s: %zu bytes, the file has %zu", read_path, b.len, size);
        printf ("%.1f\n", (double) (t1 - t0) / 1e3);
    }
    free (b.data);
    return 0;
}

static int
mode_create_echo (int argc, char **argv)
{
    if (argc != 2)
        die ("usage: create-echo BODY MARKER");
    buf_t b = { 0 };
    char id[128], pid[64], path[1024];
    long long t0 = now_ns ();
    long status = request ("POST", "/v1/sandboxes", argv[0], NULL, &b);
    long long t1 = now_ns ();
    if (status != 201)
        die ("POST /v1/sandboxes: status %ld: %s", status, b.data);
    if (!*json_str (b.data, "id", id, sizeof id))
        die ("POST /v1/sandboxes: no id in %s", b.data);
    char *echo[] = { "echo", argv[1] };
    char *body = argv_json (2, echo, false);
    snprintf (path, sizeof path, "/v1/sandboxes/%s/processes", id);
    status = request ("POST", path, body, NULL, &b);
    free (body);
    long long t2 = now_ns ();
    if (status != 201 || !*json_str (b.data, "pid", pid, sizeof pid))
        die ("POST %s: status %ld: %s", path, status, b.data);
    snprintf (path, sizeof path, "/v1/sandboxes/%s/processes/%s/output?stream=stdout&follow=true",
              id, pid);
    b.marker = argv[1];
    b.marker_seen = 0;
    request ("GET", path, NULL, NULL, &b);
    long long t3 = now_ns ();
    if (!b.marker_seen)
        die ("GET %s: no %s in %s", path, argv[1], b.data);
    printf ("%.3f %.3f %.3f %.3f %s\n", (double) (t3 - t0) / 1e6, (double) (t1 - t0) / 1e6,
            (double) (t2 - t1) / 1e6, (double) (t3 - t2) / 1e6, id);
    free (b.data);
    return 0;
}

static int
mode_create_stream (int argc, char **argv)
{
    if (argc != 1)
        die ("usage: create-stream BODY");
    buf_t b = { 0 };
    b.t0 = now_ns ();
    long status = request ("POST", "/v1/sandboxes", argv[0], "application/x-ndjson", &b);
    long long t1 = now_ns ();
    if (status != 200)
        die ("POST /v1/sandboxes: status %ld: %s", status, b.data);
    /* The last line must be the running sandbox. */
    char *last = b.data + b.len;
    while (last > b.data && last[-1] == '\n')
        *--last = 0;
    while (last > b.data && last[-1] != '\n')
        last--;
    json_object *o = json_tokener_parse (last), *sb, *v;
    if (!o || !json_object_object_get_ex (o, "sandbox", &sb) ||
        !json_object_object_get_ex (sb, "state", &v) ||
        strcmp (json_object_get_string (v), "running") != 0)
        die ("the create did not end with a running sandbox: %s", last);
    json_object_object_get_ex (sb, "id", &v);
    printf ("total %.3f %s\n", (double) (t1 - b.t0) / 1e6, json_object_get_string (v));
    json_object_put (o);
    free (b.data);
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc < 3) {
        fprintf (stderr,
                 "usage: api-bench SOCKET exec|run|stat|read|create-echo|create-stream ...\n");
        return 2;
    }
    curl_global_init (CURL_GLOBAL_DEFAULT);
    curl = curl_easy_init ();
    if (curl == NULL)
        die ("curl_easy_init failed");
    curl_easy_setopt (curl, CURLOPT_UNIX_SOCKET_PATH, argv[1]);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT, 300L);
    int rc = 1;
    const char *mode = argv[2];
    if (strcmp (mode, "exec") == 0)
        rc = mode_exec (argc - 3, argv + 3, false);
    else if (strcmp (mode, "run") == 0)
        rc = mode_exec (argc - 3, argv + 3, true);
    else if (strcmp (mode, "stat") == 0)
        rc = mode_files (argc - 3, argv + 3, 0);
    else if (strcmp (mode, "read") == 0)
        rc = mode_files (argc - 3, argv + 3, 1);
    else if (strcmp (mode, "create-echo") == 0)
        rc = mode_create_echo (argc - 3, argv + 3);
    else if (strcmp (mode, "create-stream") == 0)
        rc = mode_create_stream (argc - 3, argv + 3);
    else
        die ("unknown mode %s", mode);
    fprintf (stderr, "api-bench: %ld connection(s) opened\n", connects);
    curl_easy_cleanup (curl);
    curl_global_cleanup ();
    return rc;
}
