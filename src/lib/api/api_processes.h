/* The process routes of docs/api.md (Routes, Process): exec, list, status,
 * forget, wait, signal, kill, output and stdin, each one or a few calls on
 * the sandbox's agent (docs/agent-protocol.md, Processes).  Handlers take
 * the wr_api_v1_t as their data. */
#ifndef WARREN_API_PROCESSES_H
#define WARREN_API_PROCESSES_H

#include "api_router.h"

/* The largest stdin body taken by one request. */
#define WR_API_MAX_STDIN ((size_t) 64 << 20)

int wr_api_process_exec (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                         wr_error_t *err);
int wr_api_process_list (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                         wr_error_t *err);
int wr_api_process_get (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                        wr_error_t *err);
int wr_api_process_remove (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                           wr_error_t *err);
int wr_api_process_wait (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                         wr_error_t *err);
int wr_api_process_signal (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                           wr_error_t *err);
int wr_api_process_kill (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                         wr_error_t *err);
/* Raw bytes of one stream (X-Warren-Offset), or output events. */
int wr_api_process_output (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                           wr_error_t *err);
/* A WR_API_ROUTE_STREAM_BODY route: the body is piped to the agent. */
int wr_api_process_stdin (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                          wr_error_t *err);

#endif
