/* libFuzzer target: what a client sends the process and file routes
 * (api_processes.c, api_files.c).  The input is "METHOD PATH?QUERY\n" then
 * a body; a route matched in v1's table gets the request, whose queries
 * (name=value pairs split on '&', not decoded) and body it must read
 * strictly before it asks for the sandbox's agent, here always not found.
 * Nothing may crash or leak; every answer is an error of kind invalid,
 * limit or not_found (the agent callback's), with a printable message that
 * makes a JSON error answer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_request.h"
#include "api_response.h"
#include "api_router.h"
#include "api_v1.h"
#include "cleanup.h"
#include "error.h"
#include "json_reader.h"
#include "quote.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check (bool ok)
{
    if (!ok)
        abort ();
}

static wr_agent_client_t *
no_agent (void *ctx, const char *id, wr_error_t *err)
{
    wr_error_set_kind (err, WR_ERROR_NOT_FOUND, 0, "sandbox: no such sandbox");
    return NULL;
}

static void
release (void *ctx, wr_agent_client_t *agent)
{
    abort (); /* never handed out */
}

typedef struct {
    char *names[32];
    char *values[32];
    size_t n;
} query_t;

static const char *
lookup (void *conn, bool header, const char *name)
{
    query_t *q = conn;
    if (header)
        return NULL;
    for (size_t i = 0; i < q->n; i++) {
        if (strcmp (q->names[i], name) == 0)
            return q->values[i];
    }
    return NULL;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static wr_api_router_t *router;
    static wr_api_v1_t v1 = { .version = "fuzz", .agent = no_agent, .release = release };
    if (router == NULL) {
        router = wr_api_v1_router (&v1, NULL);
        check (router != NULL);
    }
    const char *text = (const char *) data;
    const char *newline = memchr (text, '\n', size);
    size_t line_len = newline != NULL ? (size_t) (newline - text) : size;
    cleanup_free char *line = xstrndup (text, line_len);
    cleanup_free char *body =
        newline != NULL ? xstrndup (newline + 1, size - line_len - 1) : xstrdup ("");
    size_t body_len = newline != NULL ? size - line_len - 1 : 0;

    char *space = strchr (line, ' ');
    const char *method = "GET";
    char *path = line;
    if (space != NULL) {
        *space = '\0';
        method = line;
        path = space + 1;
    }
    query_t query = { 0 };
    char *mark = strchr (path, '?');
    if (mark != NULL) {
        *mark = '\0';
        char *save = NULL;
        for (char *pair = strtok_r (mark + 1, "&", &save); pair != NULL && query.n < 32;
             pair = strtok_r (NULL, "&", &save)) {
            char *eq = strchr (pair, '=');
            if (eq != NULL)
                *eq = '\0';
            query.names[query.n] = pair;
            query.values[query.n++] = eq != NULL ? eq + 1 : (char *) "";
        }
    }
    const wr_api_route_t *route = NULL;
    wr_api_request_t req = {
        .method = method,
        .path = path,
        .body = body,
        .body_len = body_len,
        .lookup = lookup,
        .conn = &query,
    };
    if (wr_api_router_match (router, method, path, &route, &req.params, NULL) != WR_API_MATCH_FOUND)
        return 0;
    if (strstr (route->pattern, "/processes") == NULL &&
        strstr (route->pattern, "/files/") == NULL) {
        wr_api_params_clear (&req.params);
        return 0;
    }
    wr_api_response_t resp = { 0 };
    cleanup_error wr_error_t err = NULL;
    int r = route->handler (&req, &resp, &v1, &err);
    check (r == -1 && err != NULL);
    check (wr_is_printable_ascii (err->message));
    wr_error_kind_t kind = wr_error_kind (err);
    check (kind == WR_ERROR_INVALID || kind == WR_ERROR_LIMIT || kind == WR_ERROR_NOT_FOUND);
    wr_api_response_error (&resp, err);
    cleanup_error wr_error_t again = NULL;
    cleanup_json_reader json_object *obj =
        wr_json_parse_object (resp.body, resp.body_len, 65536, "an answer", "answer", &again);
    check (obj != NULL);
    wr_api_response_clear (&resp);
    wr_api_params_clear (&req.params);
    return 0;
}
