/* POST /v1/contexts (see api_contexts.h). */
#include "api_contexts.h"

#include <json-c/json.h>

#include "api_v1.h"
#include "sandbox_manager.h"

typedef struct {
    const wr_api_request_t *req;
    size_t offset;
} body_t;

static ssize_t
read_body (void *data, void *buf, size_t max, wr_error_t *err)
{
    body_t *b = data;
    return wr_api_request_body_read (b->req, buf, max, &b->offset, err);
}

int
wr_api_upload_context (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    wr_sandbox_manager_t *mgr = wr_api_v1_manager (data, err);
    if (mgr == NULL)
        return -1;
    body_t body = { .req = req };
    wr_build_context_info_t info;
    if (wr_sandbox_manager_add_context (mgr, read_body, &body, &info, err) < 0)
        return -1;
    json_object *o = json_object_new_object ();
    json_object_object_add (o, "context", json_object_new_string (info.digest));
    json_object_object_add (o, "bytes", json_object_new_int64 ((int64_t) info.bytes));
    wr_api_response_json (resp, info.existed ? 200 : 201, o);
    return 0;
}
