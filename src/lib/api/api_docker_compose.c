/* Compose is no part of the Engine API: `docker compose ...` runs as a
 * process in the sandbox (its CLI plugin, when the image has it), its
 * output streamed as output events and its exit status the end's. */
#include <stdlib.h>
#include <string.h>

#include "api_docker.h"
#include "api_docker_job.h"
#include "api_sandbox_process.h"
#include "cleanup.h"
#include "json_reader.h"
#include "strv.h"
#include "xalloc.h"

#define POLL_MS 1000
static const char *const NAME = "request body";

/* Runs ARGV in the sandbox; its output as output events. */
static int
run_process (wr_api_docker_job_t *job, char **argv, const char *cwd, wr_error_t *err)
{
    wr_api_sandbox_process_t *p = wr_api_sandbox_process_start (job->agent, argv, cwd, err);
    if (p == NULL)
        return -1;
    int code = -1;
    for (;;) {
        wr_agent_item_t item;
        int exit_code = 0;
        int r = wr_api_sandbox_process_next (p, POLL_MS, &item, &exit_code, err);
        if (r == 0) {
            code = exit_code;
            break;
        }
        if (r < 0)
            break;
        int sent = wr_api_docker_output (job, item.channel == WR_AGENT_CHANNEL_STDERR ? 2 : 1,
                                         item.data, item.len);
        wr_agent_item_clear (&item);
        if (sent < 0 || wr_api_docker_gone (job)) {
            wr_error_set_kind (err, WR_ERROR_CANCELLED, 0, "the client went away");
            break;
        }
    }
    wr_api_sandbox_process_free (p);
    return code;
}

/* Whether the sandbox's docker has the compose plugin: `docker compose
 * version` exits 0.  A clear 400 otherwise, before the stream. */
static int
check_plugin (wr_api_docker_job_t *job, wr_error_t *err)
{
    char *argv[] = { "docker", "compose", "version", NULL };
    wr_api_sandbox_process_t *p = wr_api_sandbox_process_start (job->agent, argv, NULL, err);
    if (p == NULL)
        return wr_error_prefix (err, "sandbox `%s`: `docker compose version`", job->sandbox_id);
    int code = -1;
    char said[512] = "";
    size_t len = 0;
    int64_t deadline = 30000 / POLL_MS;
    for (int64_t i = 0; i < deadline; i++) {
        wr_agent_item_t item;
        int r = wr_api_sandbox_process_next (p, POLL_MS, &item, &code, err);
        if (r <= 0) {
            if (r < 0)
                code = -2;
            break;
        }
        size_t n = item.len < sizeof said - 1 - len ? item.len : sizeof said - 1 - len;
        memcpy (said + len, item.data, n);
        len += n;
        said[len] = '\0';
        wr_agent_item_clear (&item);
    }
    wr_api_sandbox_process_free (p);
    if (code == -2)
        return wr_error_prefix (err, "sandbox `%s`: `docker compose version`", job->sandbox_id);
    if (code != 0) {
        while (len > 0 && (said[len - 1] == '\n' || said[len - 1] == '\r'))
            said[--len] = '\0';
        for (size_t i = 0; i < len; i++)
            if ((unsigned char) said[i] < ' ' || (unsigned char) said[i] >= 0x7f)
                said[i] = ' ';
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "sandbox `%s` has no Docker Compose: its image has no `docker "
                                  "compose` plugin (`docker compose version` %s%s%s)",
                                  job->sandbox_id, code < 0 ? "did not end" : "failed",
                                  len > 0 ? ": " : "", said);
    }
    return 0;
}

static void
add_common (char ***argv, json_object *body)
{
    wr_strv_add (argv, "docker");
    wr_strv_add (argv, "compose");
    const char *file = wr_api_docker_string (body, "file");
    if (file != NULL) {
        wr_strv_add (argv, "-f");
        wr_strv_add (argv, file);
    }
    const char *project = wr_api_docker_string (body, "project");
    if (project != NULL) {
        wr_strv_add (argv, "-p");
        wr_strv_add (argv, project);
    }
}

static void
add_services (char ***argv, json_object *body)
{
    json_object *services = json_object_object_get (body, "services");
    size_t n = services != NULL && json_object_is_type (services, json_type_array)
                   ? json_object_array_length (services)
                   : 0;
    if (n > 0)
        wr_strv_add (argv, "--");
    for (size_t i = 0; i < n; i++)
        wr_strv_add (argv, json_object_get_string (json_object_array_get_idx (services, i)));
}

static int
do_compose (wr_api_docker_job_t *job, wr_error_t *err)
{
    json_object *body = job->body;
    const char *what = wr_api_docker_string (body, "_command");
    cleanup_strv char **argv = NULL;
    add_common (&argv, body);
    wr_strv_add (&argv, what);
    if (strcmp (what, "up") == 0) {
        if (wr_api_docker_bool (body, "detach", true))
            wr_strv_add (&argv, "--detach");
        if (wr_api_docker_bool (body, "build", false))
            wr_strv_add (&argv, "--build");
        add_services (&argv, body);
    } else if (strcmp (what, "down") == 0) {
        if (wr_api_docker_bool (body, "volumes", false))
            wr_strv_add (&argv, "--volumes");
    } else if (strcmp (what, "ps") == 0) {
        wr_strv_add (&argv, "--all");
        add_services (&argv, body);
    } else {
        wr_strv_add (&argv, "--no-color");
        if (wr_api_docker_bool (body, "follow", false))
            wr_strv_add (&argv, "--follow");
        add_services (&argv, body);
    }
    return run_process (job, argv, wr_api_docker_string (body, "project_dir"), err);
}

static int
compose (wr_api_request_t *req, wr_api_response_t *resp, void *data, const char *command,
         const wr_api_field_t *fields, wr_error_t *err)
{
    json_object *body = wr_api_docker_body (req, fields, err);
    if (body == NULL)
        return -1;
    cleanup_strv char **services = NULL;
    const char *dir = wr_api_docker_string (body, "project_dir");
    if (wr_api_docker_strings (body, "services", &services, err) < 0 ||
        (dir != NULL && dir[0] != '/' &&
         wr_json_error (err, NAME, "project_dir", "must be an absolute path in the sandbox") < 0)) {
        json_object_put (body);
        return -1;
    }
    for (size_t i = 0; services != NULL && services[i] != NULL; i++)
        if (services[i][0] == '\0' || services[i][0] == '-') {
            json_object_put (body);
            cleanup_free char *path = wr_json_path_index ("services", i);
            return wr_json_error (err, NAME, path, "must be a service's name");
        }
    json_object_object_add (body, "_command", json_object_new_string (command));
    return wr_api_docker_start_checked (data, req, resp, body, do_compose, 1, check_plugin, err);
}

#define COMMON_FIELDS                                                                              \
    { "file", json_type_string, false }, { "project", json_type_string, false },                   \
    {                                                                                              \
        "project_dir", json_type_string, false                                                     \
    }

int
wr_api_docker_compose_up (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                          wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        COMMON_FIELDS,
        { "services", json_type_array, false },
        { "detach", json_type_boolean, false },
        { "build", json_type_boolean, false },
        { NULL, 0, false },
    };
    return compose (req, resp, data, "up", fields, err);
}

int
wr_api_docker_compose_down (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                            wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        COMMON_FIELDS,
        { "volumes", json_type_boolean, false },
        { NULL, 0, false },
    };
    return compose (req, resp, data, "down", fields, err);
}

int
wr_api_docker_compose_ps (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                          wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        COMMON_FIELDS,
        { "services", json_type_array, false },
        { NULL, 0, false },
    };
    return compose (req, resp, data, "ps", fields, err);
}

int
wr_api_docker_compose_logs (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                            wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        COMMON_FIELDS,
        { "services", json_type_array, false },
        { "follow", json_type_boolean, false },
        { NULL, 0, false },
    };
    return compose (req, resp, data, "logs", fields, err);
}
