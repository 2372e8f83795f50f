#include "api_v1.h"

#include <microhttpd.h>

#include "api_sandboxes.h"

static int
get_health (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    wr_api_v1_t *v1 = data;
    json_object *body = json_object_new_object ();
    json_object_object_add (body, "status", json_object_new_string ("ok"));
    json_object_object_add (body, "version", json_object_new_string (v1->version));
    wr_api_response_json (resp, 200, body);
    return 0;
}

static int
get_version (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    wr_api_v1_t *v1 = data;
    json_object *body = json_object_new_object ();
    json_object_object_add (body, "version", json_object_new_string (v1->version));
    json_object *apis = json_object_new_array ();
    json_object_array_add (apis, json_object_new_string ("v1"));
    json_object_object_add (body, "api_versions", apis);
    json_object_object_add (body, "libmicrohttpd", json_object_new_string (MHD_get_version ()));
    wr_api_response_json (resp, 200, body);
    return 0;
}

/* An upload's body and a stdin write are taken up to these sizes. */
#define WR_API_MAX_UPLOAD ((size_t) 1 << 30)
#define WR_API_MAX_STDIN ((size_t) 64 << 20)

/* Sandboxes, processes and files come next, behind these routes
 * (docs/api.md says what each will answer). */
static int
not_implemented (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    wr_api_response_error_status (resp, 501, "unavailable",
                                  "sandboxes are not implemented yet in this warrend");
    return 0;
}

static const wr_api_route_t routes[] = {
    { "GET", "/v1/health", get_health, WR_API_ROUTE_PUBLIC, 0,
      "whether warrend answers (no token needed)" },
    { "GET", "/v1/version", get_version, 0, 0, "warrend's version and API versions" },
    { "GET", "/metrics", wr_api_get_metrics, 0, 0, "prometheus metrics" },
    { "GET", "/v1/sandboxes", wr_api_list_sandboxes, 0, 0, "list sandboxes" },
    { "POST", "/v1/sandboxes", wr_api_create_sandbox, 0, 0, "create a sandbox" },
    { "GET", "/v1/sandboxes/{id}", wr_api_get_sandbox, 0, 0, "a sandbox" },
    { "PATCH", "/v1/sandboxes/{id}", wr_api_update_sandbox, 0, 0,
      "change a sandbox's lifetime (not implemented yet)" },
    { "DELETE", "/v1/sandboxes/{id}", wr_api_delete_sandbox, 0, 0,
      "delete a sandbox (not implemented yet)" },
    { "GET", "/v1/sandboxes/{id}/docker", wr_api_watch_docker, 0, 0,
      "docker readiness events (not implemented yet)" },
    { "POST", "/v1/sandboxes/{id}/processes", not_implemented, 0, 0,
      "start a process (not implemented yet)" },
    { "GET", "/v1/sandboxes/{id}/processes", not_implemented, 0, 0,
      "list processes (not implemented yet)" },
    { "GET", "/v1/sandboxes/{id}/processes/{pid}", not_implemented, 0, 0,
      "a process (not implemented yet)" },
    { "DELETE", "/v1/sandboxes/{id}/processes/{pid}", not_implemented, 0, 0,
      "forget an ended process (not implemented yet)" },
    { "POST", "/v1/sandboxes/{id}/processes/{pid}/wait", not_implemented, 0, 0,
      "wait for a process to end (not implemented yet)" },
    { "POST", "/v1/sandboxes/{id}/processes/{pid}/signal", not_implemented, 0, 0,
      "send a process a signal (not implemented yet)" },
    { "POST", "/v1/sandboxes/{id}/processes/{pid}/kill", not_implemented, 0, 0,
      "kill a process's group (not implemented yet)" },
    { "GET", "/v1/sandboxes/{id}/processes/{pid}/output", not_implemented, 0, 0,
      "a process's output (not implemented yet)" },
    { "POST", "/v1/sandboxes/{id}/processes/{pid}/stdin", not_implemented, 0, WR_API_MAX_STDIN,
      "write to a process's stdin (not implemented yet)" },
    { "GET", "/v1/sandboxes/{id}/files/content", not_implemented, 0, 0,
      "download a file (not implemented yet)" },
    { "PUT", "/v1/sandboxes/{id}/files/content", not_implemented, 0, WR_API_MAX_UPLOAD,
      "upload a file (not implemented yet)" },
    { "GET", "/v1/sandboxes/{id}/files/stat", not_implemented, 0, 0,
      "a file's information (not implemented yet)" },
    { "GET", "/v1/sandboxes/{id}/files/list", not_implemented, 0, 0,
      "list a directory (not implemented yet)" },
    { "POST", "/v1/sandboxes/{id}/files/mkdir", not_implemented, 0, 0,
      "make a directory (not implemented yet)" },
    { "POST", "/v1/sandboxes/{id}/files/remove", not_implemented, 0, 0,
      "remove a file or directory (not implemented yet)" },
    { "POST", "/v1/sandboxes/{id}/files/rename", not_implemented, 0, 0,
      "rename a file (not implemented yet)" },
    { "POST", "/v1/sandboxes/{id}/files/chmod", not_implemented, 0, 0,
      "change a file's mode (not implemented yet)" },
    { "POST", "/v1/sandboxes/{id}/files/chown", not_implemented, 0, 0,
      "change a file's owner (not implemented yet)" },
    { "POST", "/v1/sandboxes/{id}/files/find", not_implemented, 0, 0,
      "find a pattern in files (not implemented yet)" },
    { "POST", "/v1/sandboxes/{id}/files/replace", not_implemented, 0, 0,
      "replace a pattern in files (not implemented yet)" },
};

const wr_api_route_t *
wr_api_v1_routes (size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}

wr_api_router_t *
wr_api_v1_router (wr_api_v1_t *context, wr_error_t *err)
{
    size_t n;
    const wr_api_route_t *table = wr_api_v1_routes (&n);
    return wr_api_router_new (table, n, context, err);
}
