/* See api_ports.h. */
#include "api_ports.h"

#include <stdlib.h>
#include <string.h>

#include "api_request.h"
#include "api_response.h"
#include "api_v1.h"
#include "json_reader.h"
#include "sandbox_ports.h"

int
wr_api_list_ports (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    wr_sandbox_manager_t *mgr = wr_api_v1_manager (data, err);
    if (mgr == NULL)
        return -1;
    json_object *o = wr_sandbox_manager_ports (mgr, wr_api_request_param (req, "id"), err);
    if (o == NULL)
        return -1;
    wr_api_response_json (resp, 200, o);
    return 0;
}

static const wr_api_field_t expose_fields[] = {
    { "port", json_type_int, true },
    { "host_port", json_type_int, false },
    { NULL, json_type_null, false },
};

int
wr_api_expose_port (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    wr_sandbox_manager_t *mgr = wr_api_v1_manager (data, err);
    if (mgr == NULL)
        return -1;
    cleanup_json_reader json_object *body = wr_api_request_json (req, expose_fields, err);
    if (body == NULL)
        return -1;
    int64_t port = json_object_get_int64 (json_object_object_get (body, "port"));
    json_object *h = json_object_object_get (body, "host_port");
    int64_t host_port = h != NULL ? json_object_get_int64 (h) : 0;
    if (port < 1 || port > 65535)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "request body: port: %lld is not a port (1 to 65535)",
                                  (long long) port);
    if (host_port < 0 || host_port > 65535)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "request body: host_port: %lld is not a port (1 to 65535, or 0 "
                                  "for any)",
                                  (long long) host_port);
    json_object *o = wr_sandbox_manager_expose (mgr, wr_api_request_param (req, "id"), (int) port,
                                                (int) host_port, err);
    if (o == NULL)
        return -1;
    wr_api_response_json (resp, 201, o);
    return 0;
}

int
wr_api_unexpose_port (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    wr_sandbox_manager_t *mgr = wr_api_v1_manager (data, err);
    if (mgr == NULL)
        return -1;
    const char *text = wr_api_request_param (req, "port");
    char *end = NULL;
    long port = strtol (text, &end, 10);
    if (end == text || *end != '\0' || port < 1 || port > 65535)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "`%.16s` is not a port (1 to 65535)",
                                  text);
    if (wr_sandbox_manager_unexpose (mgr, wr_api_request_param (req, "id"), (int) port, err) < 0)
        return -1;
    json_object *o = wr_sandbox_manager_ports (mgr, wr_api_request_param (req, "id"), err);
    if (o == NULL)
        return -1;
    wr_api_response_json (resp, 200, o);
    return 0;
}
