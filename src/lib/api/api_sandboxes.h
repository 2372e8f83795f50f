/* The sandbox routes of /v1 (docs/api.md, "Sandbox"): list, create (with
 * its events), get, change the lifetime, delete, Docker readiness, and
 * /metrics.  Their data is the wr_api_v1_t, whose sandbox manager answers
 * them. */
#ifndef WARREN_API_SANDBOXES_H
#define WARREN_API_SANDBOXES_H

#include "api_request.h"
#include "api_response.h"

int wr_api_list_sandboxes (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                           wr_error_t *err);
int wr_api_create_sandbox (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                           wr_error_t *err);
int wr_api_get_sandbox (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                        wr_error_t *err);
int wr_api_update_sandbox (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                           wr_error_t *err);
int wr_api_delete_sandbox (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                           wr_error_t *err);
int wr_api_watch_docker (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                         wr_error_t *err);
int wr_api_get_metrics (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                        wr_error_t *err);

#endif
