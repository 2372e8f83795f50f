/* The file routes of docs/api.md (Routes, FileInfo): downloads and uploads
 * streamed through the agent, stat, list, mkdir, remove, rename, chmod,
 * chown, find and replace (docs/agent-protocol.md, Files).  Every path is
 * the sandbox's, resolved and confined by the agent.  Handlers take the
 * wr_api_v1_t as their data. */
#ifndef WARREN_API_FILES_H
#define WARREN_API_FILES_H

#include "api_router.h"

/* The largest upload taken. */
#define WR_API_MAX_UPLOAD ((size_t) 1 << 30)

int wr_api_file_download (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                          wr_error_t *err);
/* A WR_API_ROUTE_STREAM_BODY route: the body is piped to the agent. */
int wr_api_file_upload (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                        wr_error_t *err);
int wr_api_file_stat (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err);
int wr_api_file_list (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err);
int wr_api_file_mkdir (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err);
int wr_api_file_remove (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                        wr_error_t *err);
int wr_api_file_rename (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                        wr_error_t *err);
int wr_api_file_chmod (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err);
int wr_api_file_chown (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err);
int wr_api_file_find (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err);
int wr_api_file_replace (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                         wr_error_t *err);

#endif
