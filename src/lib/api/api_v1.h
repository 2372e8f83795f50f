/* warrend's API, version 1: the route table under /v1 and its handlers.
 * docs/api.md describes each route and docs/openapi.json lists exactly
 * these (tests/unit/api/test_api_v1.c compares them). */
#ifndef WARREN_API_V1_H
#define WARREN_API_V1_H

#include <stddef.h>

#include "agent_client.h"
#include "api_router.h"
#include "histogram.h"

typedef struct wr_sandbox_manager_s wr_sandbox_manager_t;

typedef struct {
    const char *version; /* warrend's version, in /v1/health and /v1/version */
    /* The sandboxes behind the sandbox, process and file routes; NULL:
     * they answer 503 (a warrend without a sandbox service). */
    wr_sandbox_manager_t *sandboxes;
    /* The agent of sandbox SANDBOX_ID (an id or a name, the client's text)
     * for the process and file routes, when set (tests; else they ask
     * SANDBOXES, wr_sandbox_manager_agent): a reference the routes give
     * back with RELEASE once their call on it is freed (a stream's producer
     * thread may hold it after the handler returned).  Not found: NULL with
     * kind not_found naming the sandbox.  Neither AGENT nor SANDBOXES: they
     * answer 503. */
    wr_agent_client_t *(*agent) (void *ctx, const char *sandbox_id, wr_error_t *err);
    void (*release) (void *ctx, wr_agent_client_t *agent);
    void *agent_ctx;
    /* Observed with each exec's round trip (exec sent to started
     * received), when not NULL; else SANDBOXES records it
     * (wr_sandbox_manager_observe_exec, warren_exec_seconds). */
    wr_histogram_t *exec_histogram;
} wr_api_v1_t;

/* The sandbox manager of DATA (a wr_api_v1_t), or NULL with kind
 * unavailable for a warrend without a sandbox service. */
wr_sandbox_manager_t *wr_api_v1_manager (void *data, wr_error_t *err);

/* The table, N entries; handlers take a wr_api_v1_t as their data. */
const wr_api_route_t *wr_api_v1_routes (size_t *n);

/* A router over the table with CONTEXT (which must outlive it). */
wr_api_router_t *wr_api_v1_router (wr_api_v1_t *context, wr_error_t *err);

#endif
