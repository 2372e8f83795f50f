/* warrend's API, version 1: the route table under /v1 and its handlers.
 * docs/api.md describes each route and docs/openapi.json lists exactly
 * these (tests/unit/api/test_api_v1.c compares them). */
#ifndef WARREN_API_V1_H
#define WARREN_API_V1_H

#include <stddef.h>

#include "api_router.h"

typedef struct wr_sandbox_manager_s wr_sandbox_manager_t;

typedef struct {
    const char *version; /* warrend's version, in /v1/health and /v1/version */
    /* The sandboxes behind the sandbox, process and file routes; NULL:
     * they answer 503 (a warrend without a sandbox service). */
    wr_sandbox_manager_t *sandboxes;
} wr_api_v1_t;

/* The table, N entries; handlers take a wr_api_v1_t as their data. */
const wr_api_route_t *wr_api_v1_routes (size_t *n);

/* A router over the table with CONTEXT (which must outlive it). */
wr_api_router_t *wr_api_v1_router (wr_api_v1_t *context, wr_error_t *err);

#endif
