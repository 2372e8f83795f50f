/* The route table: a method and a path pattern per route, with {name}
 * segments for parameters ("/v1/sandboxes/{id}/processes/{pid}").  A path
 * matches a pattern when it has the same number of segments, each literal
 * segment equal and each parameter segment not empty; routes are tried in
 * table order.  A path no pattern matches is a 404; a path some pattern
 * matches but not with this method is a 405, with the methods that would
 * do in Allow. */
#ifndef WARREN_API_ROUTER_H
#define WARREN_API_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "api_request.h"
#include "api_response.h"
#include "error.h"

/* Answers a request: fills RESP and returns 0, or returns -1 with *ERR,
 * which the server turns into the error's JSON answer. */
typedef int (*wr_api_handler_fn) (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                                  wr_error_t *err);

enum {
    /* Answers on TCP without the bearer token (the health check). */
    WR_API_ROUTE_PUBLIC = 1 << 0,
    /* The body is not gathered first: the handler runs on a thread of its
     * own as soon as the request is routed and reads the body as it comes
     * (wr_api_request_body_read), up to max_body bytes, so an upload of
     * any size takes no more memory than the queue between them. */
    WR_API_ROUTE_STREAM_BODY = 1 << 1,
};

typedef struct {
    const char *method; /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *pattern;
    wr_api_handler_fn handler;
    unsigned flags;
    /* The largest body taken, in bytes; 0: WR_API_MAX_JSON_BODY. */
    size_t max_body;
    const char *summary; /* one line, for --print-routes and the docs */
} wr_api_route_t;

typedef struct wr_api_router_s wr_api_router_t;

/* Limits of what a path may be, checked before any matching. */
#define WR_API_MAX_PATH 4096
#define WR_API_MAX_SEGMENTS 32

/* A router over N ROUTES (not copied: they must outlive it), whose handlers
 * get DATA.  Fails when a pattern is malformed (not starting with '/', an
 * empty segment, a parameter not {name}, more than WR_API_MAX_PARAMS
 * parameters, a name twice) or a method and pattern are there twice. */
wr_api_router_t *wr_api_router_new (const wr_api_route_t *routes, size_t n, void *data,
                                    wr_error_t *err);
void wr_api_router_free (wr_api_router_t *router);

void *wr_api_router_data (const wr_api_router_t *router);
size_t wr_api_router_count (const wr_api_router_t *router);
const wr_api_route_t *wr_api_router_route (const wr_api_router_t *router, size_t i);

typedef enum {
    WR_API_MATCH_FOUND,
    WR_API_MATCH_NO_PATH, /* 404 */
    WR_API_MATCH_NO_METHOD, /* 405 */
} wr_api_match_t;

/* Finds the route of METHOD and PATH (without the query).  FOUND: *ROUTE
 * and PARAMS (values copied, freed with wr_api_params_clear) are set.
 * NO_METHOD: *ALLOW (when not NULL) gets the allowed methods, "GET, DELETE"
 * (caller frees). */
wr_api_match_t wr_api_router_match (const wr_api_router_t *router, const char *method,
                                    const char *path, const wr_api_route_t **route,
                                    wr_api_params_t *params, char **allow);

#endif
