#include "agent_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../tools/agent_start.h"
#include "agent_client.h"
#include "api_server.h"
#include "api_v1.h"
#include "xalloc.h"

fixture_t fx;
wr_histogram_t exec_histogram;
const char *warren_init_path;

static pid_t agent_pid;
static wr_agent_client_t *client;
static atomic_int refs;
static wr_api_v1_t v1;
static wr_api_router_t *router;
static wr_api_server_t *server;

static void
quiet (void *data, wr_log_level_t level, const char *msg, const char *const *fields)
{
    (void) data, (void) level, (void) msg, (void) fields;
}
static wr_log_t test_log = { .write = quiet, .level = WR_LOG_WARN };

static wr_agent_client_t *
get_agent (void *ctx, const char *id, wr_error_t *err)
{
    (void) ctx;
    if (strcmp (id, "sb1") != 0) {
        wr_error_set_kind (err, WR_ERROR_NOT_FOUND, 0, "sandbox `%s`: no such sandbox", id);
        return NULL;
    }
    atomic_fetch_add (&refs, 1);
    return client;
}

static void
release_agent (void *ctx, wr_agent_client_t *agent)
{
    (void) ctx;
    assert_ptr_equal (agent, client);
    atomic_fetch_sub (&refs, 1);
}

int
fixture_agent_refs (void)
{
    return atomic_load (&refs);
}

bool
fixture_refs_released (int ms)
{
    for (int i = 0; i < ms / 10 && atomic_load (&refs) != 0; i++)
        usleep (10000);
    return atomic_load (&refs) == 0;
}

int
fixture_setup (void **state)
{
    (void) state;
    strcpy (fx.dir, "/tmp/test-api-io-XXXXXX");
    assert_non_null (mkdtemp (fx.dir));
    snprintf (fx.root, sizeof fx.root, "%s/root", fx.dir);
    assert_int_equal (mkdir (fx.root, 0755), 0);
    snprintf (fx.api_sock, sizeof fx.api_sock, "%s/api.sock", fx.dir);
    char sock[256];
    agent_pid = agent_start (warren_init_path, fx.dir, fx.root, sock, sizeof sock);
    assert_true (agent_pid >= 0);
    wr_error_t err = NULL;
    wr_agent_client_options_t opts = { .log = &test_log };
    if (wr_agent_client_connect (sock, &opts, &client, &err) < 0)
        fail_msg ("connect: %s", err->message);
    static const double bounds[] = { 0.01, 0.1, 1 };
    wr_histogram_init (&exec_histogram, "warren_exec_seconds", "exec round trips", bounds, 3);
    v1 = (wr_api_v1_t){ .version = "test",
                        .agent = get_agent,
                        .release = release_agent,
                        .exec_histogram = &exec_histogram };
    router = wr_api_v1_router (&v1, &err);
    assert_non_null (router);
    wr_api_server_options_t options = {
        .socket_path = fx.api_sock,
        .router = router,
        .log = &test_log,
    };
    server = wr_api_server_start (&options, &err);
    if (server == NULL)
        fail_msg ("server: %s", err->message);
    return 0;
}

int
fixture_teardown (void **state)
{
    (void) state;
    wr_api_server_stop (server);
    /* The streams' producers give their references back as they end. */
    assert_true (fixture_refs_released (10000));
    wr_agent_client_free (client);
    wr_api_router_free (router);
    int status = agent_stop (agent_pid);
    assert_true (WIFEXITED (status));
    assert_int_equal (WEXITSTATUS (status), 0);
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf %s", fx.dir);
    assert_int_equal (system (cmd), 0);
    return 0;
}

void
answer_clear (answer_t *a)
{
    free (a->body);
    free (a->header_value);
    memset (a, 0, sizeof *a);
}

static size_t
on_data (char *p, size_t size, size_t n, void *data)
{
    answer_t *a = data;
    a->body = xrealloc (a->body, a->len + size * n + 1);
    memcpy (a->body + a->len, p, size * n);
    a->len += size * n;
    a->body[a->len] = '\0';
    return size * n;
}

typedef struct {
    answer_t *answer;
    const char *name;
} header_ctx_t;

static size_t
on_header (char *p, size_t size, size_t n, void *data)
{
    header_ctx_t *h = data;
    size_t len = size * n, name_len = strlen (h->name);
    if (len > name_len + 1 && strncasecmp (p, h->name, name_len) == 0 && p[name_len] == ':') {
        const char *v = p + name_len + 1;
        while (*v == ' ')
            v++;
        size_t vlen = (size_t) (p + len - v);
        while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
            vlen--;
        h->answer->header_value = xstrndup (v, vlen);
    }
    return len;
}

void
http (const char *method, const char *path, const char *body, size_t len, const char *header,
      answer_t *out)
{
    memset (out, 0, sizeof *out);
    out->body = xzalloc (1);
    CURL *curl = curl_easy_init ();
    char url[8192];
    snprintf (url, sizeof url, "http://warrend%s", path);
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_UNIX_SOCKET_PATH, fx.api_sock);
    curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, out);
    header_ctx_t h = { out, header };
    if (header != NULL) {
        curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt (curl, CURLOPT_HEADERDATA, &h);
    }
    struct curl_slist *headers = curl_slist_append (NULL, "Expect:");
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
    if (body != NULL) {
        curl_easy_setopt (curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE, (long) len);
    }
    curl_easy_setopt (curl, CURLOPT_TIMEOUT, 120L);
    CURLcode rc = curl_easy_perform (curl);
    if (rc != CURLE_OK)
        fail_msg ("%s %s: %s", method, path, curl_easy_strerror (rc));
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all (headers);
    curl_easy_cleanup (curl);
}

json_object *
http_json (const char *method, const char *path, const char *body, long status)
{
    answer_t a;
    http (method, path, body, body != NULL ? strlen (body) : 0, NULL, &a);
    if (a.status != status)
        fail_msg ("%s %s: status %ld, not %ld: %s", method, path, a.status, status, a.body);
    json_object *obj = json_tokener_parse (a.body);
    if (obj == NULL)
        fail_msg ("%s %s: not JSON: %s", method, path, a.body);
    answer_clear (&a);
    return obj;
}
