/* The route of build contexts (docs/api.md, "Build contexts"): a tar
 * archive uploaded for a create's Dockerfile COPY (build_context.h).  Its
 * data is the wr_api_v1_t. */
#ifndef WARREN_API_CONTEXTS_H
#define WARREN_API_CONTEXTS_H

#include "api_router.h"

/* The largest archive taken. */
#define WR_API_MAX_CONTEXT ((size_t) 1 << 30)

int wr_api_upload_context (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                           wr_error_t *err);

#endif
