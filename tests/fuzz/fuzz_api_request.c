/* libFuzzer target: what a client sends warrend's API.  The input is
 * "METHOD PATH\n" then a body: the path goes through the router (v1's
 * table and one with parameters), the body through the strict JSON body
 * reader and the field checks.  Nothing may crash or leak; a refused body
 * has an INVALID or LIMIT error whose message is printable ASCII (hostile
 * text is quoted), and its JSON error answer parses back; a matched route
 * has non-empty parameters without '/', a 405 has its Allow. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_request.h"
#include "api_response.h"
#include "api_router.h"
#include "api_v1.h"
#include "cleanup.h"
#include "error.h"
#include "json_reader.h"
#include "quote.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check (bool ok)
{
    if (!ok)
        abort ();
}

static int
handler (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    return 0;
}

static const wr_api_route_t param_routes[] = {
    { "GET", "/v1/sandboxes/{id}/processes/{pid}", handler, 0, 0, NULL },
    { "POST", "/v1/sandboxes/{id}/processes/{pid}/signal", handler, 0, 0, NULL },
    { "GET", "/v1/sandboxes/{id}/files/{path}", handler, 0, 0, NULL },
    { "PUT", "/v1/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}", handler, 0, 0, NULL },
};

static const wr_api_field_t fields[] = {
    { "image", json_type_string, true },
    { "cpu", json_type_double, false },
    { "memory", json_type_int, false },
    { "docker_enabled", json_type_boolean, false },
    { "env", json_type_object, false },
    { "argv", json_type_array, false },
    { NULL, 0, false },
};

static void
route (const wr_api_router_t *router, const char *method, const char *path)
{
    const wr_api_route_t *found = NULL;
    wr_api_params_t params;
    char *allow = NULL;
    wr_api_match_t match = wr_api_router_match (router, method, path, &found, &params, &allow);
    if (match == WR_API_MATCH_FOUND) {
        check (found != NULL && strcmp (found->method, method) == 0);
        for (size_t i = 0; i < params.n; i++) {
            check (params.values[i][0] != '\0' && strchr (params.values[i], '/') == NULL);
            check (strlen (params.values[i]) <= WR_API_MAX_PARAM);
            check (wr_api_params_get (&params, params.names[i]) != NULL);
        }
        wr_api_params_clear (&params);
    } else {
        check (found == NULL && params.n == 0);
        check ((match == WR_API_MATCH_NO_METHOD) == (allow != NULL));
    }
    free (allow);
}

static void
check_error_answer (const wr_error_t err)
{
    check (err != NULL && err->message[0] != '\0');
    check (wr_is_printable_ascii (err->message));
    check (wr_error_kind (err) == WR_ERROR_INVALID || wr_error_kind (err) == WR_ERROR_LIMIT);
    wr_api_response_t resp = { 0 };
    wr_api_response_error (&resp, err);
    check (resp.status == 400 || resp.status == 413);
    cleanup_error wr_error_t again = NULL;
    cleanup_json_reader json_object *obj =
        wr_json_parse_object (resp.body, resp.body_len, 65536, "an answer", "answer", &again);
    check (obj != NULL);
    wr_api_response_clear (&resp);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static wr_api_router_t *v1_router, *param_router;
    static wr_api_v1_t v1 = { .version = "fuzz" };
    if (v1_router == NULL) {
        v1_router = wr_api_v1_router (&v1, NULL);
        param_router = wr_api_router_new (param_routes,
                                          sizeof param_routes / sizeof param_routes[0], NULL, NULL);
        check (v1_router != NULL && param_router != NULL);
    }
    const char *text = (const char *) data;
    const char *newline = memchr (text, '\n', size);
    size_t line_len = newline != NULL ? (size_t) (newline - text) : size;
    cleanup_free char *line = xstrndup (text, line_len);
    const char *body = newline != NULL ? newline + 1 : "";
    size_t body_len = newline != NULL ? size - line_len - 1 : 0;

    char *space = strchr (line, ' ');
    const char *method = "GET", *path = line;
    if (space != NULL) {
        *space = '\0';
        method = line;
        path = space + 1;
    }
    route (v1_router, method, path);
    route (param_router, method, path);

    /* Small limit too, so the size check is reached. */
    size_t limits[] = { WR_API_MAX_JSON_BODY, 64 };
    for (size_t i = 0; i < 2; i++) {
        cleanup_error wr_error_t err = NULL;
        cleanup_json_reader json_object *obj =
            wr_api_parse_json_body (body, body_len, limits[i], &err);
        if (obj == NULL) {
            check_error_answer (err);
            continue;
        }
        check (err == NULL && json_object_is_type (obj, json_type_object));
        if (wr_api_json_check_fields (obj, fields, "request body", "", &err) < 0) {
            check_error_answer (err);
            continue;
        }
        json_object *image = json_object_object_get (obj, "image");
        check (image != NULL && json_object_is_type (image, json_type_string));
    }
    return 0;
}
