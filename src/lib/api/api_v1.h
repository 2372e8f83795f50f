/* warrend's API, version 1: the route table under /v1 and its handlers.
 * docs/api.md describes each route and docs/openapi.json lists exactly
 * these (tests/unit/api/test_api_v1.c compares them). */
#ifndef WARREN_API_V1_H
#define WARREN_API_V1_H

#include <stddef.h>

#include "agent_client.h"
#include "api_router.h"
#include "histogram.h"

typedef struct {
    const char *version; /* warrend's version, in /v1/health and /v1/version */
    /* The agent of sandbox SANDBOX_ID (an id or a name, the client's text):
     * a reference the routes give back with RELEASE once their call on it
     * is freed (a stream's producer thread may hold it after the handler
     * returned).  Not found: NULL with kind not_found naming the sandbox.
     * NULL AGENT: the process and file routes answer unavailable. */
    wr_agent_client_t *(*agent) (void *ctx, const char *sandbox_id, wr_error_t *err);
    void (*release) (void *ctx, wr_agent_client_t *agent);
    void *agent_ctx;
    /* Observed with each exec's round trip (exec sent to started
     * received), when not NULL. */
    wr_histogram_t *exec_histogram;
} wr_api_v1_t;

/* The table, N entries; handlers take a wr_api_v1_t as their data. */
const wr_api_route_t *wr_api_v1_routes (size_t *n);

/* A router over the table with CONTEXT (which must outlive it). */
wr_api_router_t *wr_api_v1_router (wr_api_v1_t *context, wr_error_t *err);

#endif
