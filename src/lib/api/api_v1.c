#include "api_v1.h"

#include <microhttpd.h>

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

/* Sandboxes come next, behind these routes. */
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
    { "GET", "/v1/sandboxes", not_implemented, 0, 0, "list sandboxes (not implemented yet)" },
    { "POST", "/v1/sandboxes", not_implemented, 0, 0, "create a sandbox (not implemented yet)" },
    { "GET", "/v1/sandboxes/{id}", not_implemented, 0, 0, "a sandbox (not implemented yet)" },
    { "DELETE", "/v1/sandboxes/{id}", not_implemented, 0, 0,
      "delete a sandbox (not implemented yet)" },
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
