#include "api_v1.h"

#include <microhttpd.h>

#include "api_contexts.h"
#include "api_docker.h"
#include "api_files.h"
#include "api_ports.h"
#include "api_processes.h"
#include "api_sandboxes.h"

static int
get_health (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    wr_api_v1_t *v1 = data;
    json_object *body = json_object_new_object ();
    json_object_object_add (body, "status", json_object_new_string ("ok"));
    json_object_object_add (body, "version", json_object_new_string (v1->version));
    wr_api_response_json (resp, 200, body);
    return 0;
}

static int
get_version (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    wr_api_v1_t *v1 = data;
    json_object *body = json_object_new_object ();
    json_object_object_add (body, "version", json_object_new_string (v1->version));
    json_object *apis = json_object_new_array ();
    json_object_array_add (apis, json_object_new_string ("v1"));
    json_object_object_add (body, "api_versions", apis);
    json_object_object_add (body, "libmicrohttpd", json_object_new_string (MHD_get_version ()));
    wr_api_response_json (resp, 200, body);
    return 0;
}

wr_sandbox_manager_t *
wr_api_v1_manager (void *data, wr_error_t *err)
{
    wr_api_v1_t *v1 = data;
    if (v1->sandboxes == NULL)
        wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                           "this warrend runs no sandbox service (started without one)");
    return v1->sandboxes;
}

static const wr_api_route_t routes[] = {
    { "GET", "/v1/health", get_health, WR_API_ROUTE_PUBLIC, 0,
      "whether warrend answers (no token needed)" },
    { "GET", "/v1/version", get_version, 0, 0, "warrend's version and API versions" },
    { "GET", "/metrics", wr_api_get_metrics, 0, 0, "prometheus metrics" },
    { "POST", "/v1/contexts", wr_api_upload_context, WR_API_ROUTE_STREAM_BODY, WR_API_MAX_CONTEXT,
      "upload a build context (a tar) for a Dockerfile's COPY" },
    { "GET", "/v1/sandboxes", wr_api_list_sandboxes, 0, 0, "list sandboxes" },
    { "POST", "/v1/sandboxes", wr_api_create_sandbox, 0, 0, "create a sandbox" },
    { "GET", "/v1/sandboxes/{id}", wr_api_get_sandbox, 0, 0, "a sandbox" },
    { "PATCH", "/v1/sandboxes/{id}", wr_api_update_sandbox, 0, 0, "change a sandbox's lifetime" },
    { "DELETE", "/v1/sandboxes/{id}", wr_api_delete_sandbox, 0, 0, "delete a sandbox" },
    { "GET", "/v1/sandboxes/{id}/docker", wr_api_watch_docker, 0, 0, "docker readiness events" },
    { "POST", "/v1/sandboxes/{id}/docker/pull", wr_api_docker_pull, 0, 0, "docker pull" },
    { "POST", "/v1/sandboxes/{id}/docker/push", wr_api_docker_push, 0, 0, "docker push" },
    { "POST", "/v1/sandboxes/{id}/docker/login", wr_api_docker_login, 0, 0,
      "docker login (checks the credentials)" },
    { "POST", "/v1/sandboxes/{id}/docker/build", wr_api_docker_build, 0, 0,
      "docker build of a directory in the sandbox" },
    { "POST", "/v1/sandboxes/{id}/docker/tag", wr_api_docker_tag, 0, 0, "docker tag" },
    { "POST", "/v1/sandboxes/{id}/docker/rmi", wr_api_docker_rmi, 0, 0, "docker rmi" },
    { "GET", "/v1/sandboxes/{id}/docker/images", wr_api_docker_images, 0, 0, "docker images" },
    { "POST", "/v1/sandboxes/{id}/docker/run", wr_api_docker_run, 0, 0, "docker run" },
    { "GET", "/v1/sandboxes/{id}/docker/ps", wr_api_docker_ps, 0, 0, "docker ps" },
    { "POST", "/v1/sandboxes/{id}/docker/logs", wr_api_docker_logs, 0, 0, "docker logs" },
    { "POST", "/v1/sandboxes/{id}/docker/exec", wr_api_docker_exec, 0, 0, "docker exec" },
    { "POST", "/v1/sandboxes/{id}/docker/stop", wr_api_docker_stop, 0, 0, "docker stop" },
    { "POST", "/v1/sandboxes/{id}/docker/rm", wr_api_docker_rm, 0, 0, "docker rm" },
    { "POST", "/v1/sandboxes/{id}/docker/volume/create", wr_api_docker_volume_create, 0, 0,
      "docker volume create" },
    { "POST", "/v1/sandboxes/{id}/docker/volume/rm", wr_api_docker_volume_rm, 0, 0,
      "docker volume rm" },
    { "GET", "/v1/sandboxes/{id}/docker/volume/ls", wr_api_docker_volume_ls, 0, 0,
      "docker volume ls" },
    { "POST", "/v1/sandboxes/{id}/docker/compose/up", wr_api_docker_compose_up, 0, 0,
      "docker compose up" },
    { "POST", "/v1/sandboxes/{id}/docker/compose/down", wr_api_docker_compose_down, 0, 0,
      "docker compose down" },
    { "POST", "/v1/sandboxes/{id}/docker/compose/ps", wr_api_docker_compose_ps, 0, 0,
      "docker compose ps" },
    { "POST", "/v1/sandboxes/{id}/docker/compose/logs", wr_api_docker_compose_logs, 0, 0,
      "docker compose logs" },
    { "GET", "/v1/sandboxes/{id}/ports", wr_api_list_ports, 0, 0, "a sandbox's exposed ports" },
    { "POST", "/v1/sandboxes/{id}/ports", wr_api_expose_port, 0, 0, "expose a sandbox port" },
    { "DELETE", "/v1/sandboxes/{id}/ports/{port}", wr_api_unexpose_port, 0, 0,
      "stop exposing a sandbox port" },
    { "POST", "/v1/sandboxes/{id}/processes", wr_api_process_exec, 0, 0, "start a process" },
    { "GET", "/v1/sandboxes/{id}/processes", wr_api_process_list, 0, 0, "list processes" },
    { "GET", "/v1/sandboxes/{id}/processes/{pid}", wr_api_process_get, 0, 0, "a process" },
    { "DELETE", "/v1/sandboxes/{id}/processes/{pid}", wr_api_process_remove, 0, 0,
      "forget an ended process" },
    { "POST", "/v1/sandboxes/{id}/processes/{pid}/wait", wr_api_process_wait, 0, 0,
      "wait for a process to end" },
    { "POST", "/v1/sandboxes/{id}/processes/{pid}/signal", wr_api_process_signal, 0, 0,
      "send a process a signal" },
    { "POST", "/v1/sandboxes/{id}/processes/{pid}/kill", wr_api_process_kill, 0, 0,
      "kill a process's group" },
    { "GET", "/v1/sandboxes/{id}/processes/{pid}/output", wr_api_process_output, 0, 0,
      "a process's output" },
    { "POST", "/v1/sandboxes/{id}/processes/{pid}/stdin", wr_api_process_stdin,
      WR_API_ROUTE_STREAM_BODY, WR_API_MAX_STDIN, "write to a process's stdin" },
    { "GET", "/v1/sandboxes/{id}/files/content", wr_api_file_download, 0, 0, "download a file" },
    { "PUT", "/v1/sandboxes/{id}/files/content", wr_api_file_upload, WR_API_ROUTE_STREAM_BODY,
      WR_API_MAX_UPLOAD, "upload a file" },
    { "GET", "/v1/sandboxes/{id}/files/stat", wr_api_file_stat, 0, 0, "a file's information" },
    { "GET", "/v1/sandboxes/{id}/files/list", wr_api_file_list, 0, 0, "list a directory" },
    { "POST", "/v1/sandboxes/{id}/files/mkdir", wr_api_file_mkdir, 0, 0, "make a directory" },
    { "POST", "/v1/sandboxes/{id}/files/remove", wr_api_file_remove, 0, 0,
      "remove a file or directory" },
    { "POST", "/v1/sandboxes/{id}/files/rename", wr_api_file_rename, 0, 0, "rename a file" },
    { "POST", "/v1/sandboxes/{id}/files/chmod", wr_api_file_chmod, 0, 0, "change a file's mode" },
    { "POST", "/v1/sandboxes/{id}/files/chown", wr_api_file_chown, 0, 0, "change a file's owner" },
    { "POST", "/v1/sandboxes/{id}/files/find", wr_api_file_find, 0, 0, "find a pattern in files" },
    { "POST", "/v1/sandboxes/{id}/files/replace", wr_api_file_replace, 0, 0,
      "replace a pattern in files" },
};

const wr_api_route_t *
wr_api_v1_routes (size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}

wr_api_router_t *
wr_api_v1_router (wr_api_v1_t *context, wr_error_t *err)
{
    size_t n;
    const wr_api_route_t *table = wr_api_v1_routes (&n);
    return wr_api_router_new (table, n, context, err);
}
