/* The routes of a sandbox's exposed ports (docs/api.md, "Ports"):
 * list, expose, and stop exposing one (sandbox_ports.h).  Their data is
 * the wr_api_v1_t. */
#ifndef WARREN_API_PORTS_H
#define WARREN_API_PORTS_H

#include "api_router.h"

int wr_api_list_ports (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err);
int wr_api_expose_port (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                        wr_error_t *err);
int wr_api_unexpose_port (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                          wr_error_t *err);

#endif
