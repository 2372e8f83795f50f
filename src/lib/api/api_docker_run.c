/* docker run: create (pulling the image first when dockerd has not got
 * it, as the CLI does), start, then either the container's id (detach) or
 * its output until it ends and its exit status; remove: deleted after. */
#include <stdlib.h>
#include <string.h>

#include "api_docker.h"
#include "api_docker_job.h"
#include "cleanup.h"
#include "json_reader.h"
#include "quote.h"
#include "strv.h"
#include "xalloc.h"

static const char *const NAME = "request body";

/* "HOST:CONTAINER[/PROTO]", "IP:HOST:CONTAINER[/PROTO]" or
 * "CONTAINER[/PROTO]" into EXPOSED and BINDINGS. */
static int
add_port (const char *spec, size_t index, json_object *exposed, json_object *bindings,
          wr_error_t *err)
{
    cleanup_free char *path = wr_json_path_index ("ports", index);
    cleanup_strv char **parts = wr_strv_split (spec, ":");
    size_t n = wr_strv_length (parts);
    if (n < 1 || n > 3 || spec[0] == '\0' || spec[strlen (spec) - 1] == ':')
        return wr_json_error (err, NAME, path,
                              "must be CONTAINER, HOST:CONTAINER or IP:HOST:CONTAINER");
    const char *container = parts[n - 1];
    cleanup_free char *port =
        strchr (container, '/') != NULL ? xstrdup (container) : xasprintf ("%s/tcp", container);
    size_t digits = strspn (port, "0123456789");
    const char *proto = port + digits;
    if (digits == 0 || digits > 5 || atoi (port) < 1 || atoi (port) > 65535 ||
        (strcmp (proto, "/tcp") != 0 && strcmp (proto, "/udp") != 0 &&
         strcmp (proto, "/sctp") != 0))
        return wr_json_error (err, NAME, path,
                              "the container's port must be 1 to 65535, then "
                              "/tcp, /udp or /sctp");
    json_object_object_add (exposed, port, json_object_new_object ());
    /* CONTAINER alone is published on a port dockerd picks (the CLI's -p 80). */
    const char *host = n >= 2 ? parts[n - 2] : "";
    if (strspn (host, "0123456789") != strlen (host) || strlen (host) > 5 ||
        (host[0] != '\0' && atoi (host) > 65535))
        return wr_json_error (err, NAME, path, "the host's port must be 0 to 65535");
    json_object *binding = json_object_new_object ();
    json_object_object_add (binding, "HostIp", json_object_new_string (n == 3 ? parts[0] : ""));
    json_object_object_add (binding, "HostPort", json_object_new_string (host));
    json_object *list = json_object_object_get (bindings, port);
    if (list == NULL) {
        list = json_object_new_array ();
        json_object_object_add (bindings, port, list);
    }
    json_object_array_add (list, binding);
    return 0;
}

/* The body of POST /containers/create, or NULL with *ERR (400s, checked
 * before the answer). */
static json_object *
create_body (json_object *body, wr_error_t *err)
{
    cleanup_json_reader json_object *create = json_object_new_object ();
    json_object *host = json_object_new_object ();
    json_object_object_add (create, "HostConfig", host);
    json_object_object_add (create, "Image",
                            json_object_new_string (wr_api_docker_string (body, "image")));
    json_object_object_add (create, "AttachStdout", json_object_new_boolean (true));
    json_object_object_add (create, "AttachStderr", json_object_new_boolean (true));
    json_object_object_add (create, "Tty", json_object_new_boolean (false));
    static const char *const arrays[][2] = { { "command", "Cmd" }, { "entrypoint", "Entrypoint" } };
    for (size_t i = 0; i < 2; i++) {
        cleanup_strv char **strings = NULL;
        if (wr_api_docker_strings (body, arrays[i][0], &strings, err) < 0)
            return NULL;
        if (strings != NULL)
            json_object_object_add (create, arrays[i][1],
                                    json_object_get (json_object_object_get (body, arrays[i][0])));
    }
    json_object *env = NULL;
    if (wr_api_docker_env (body, "env", &env, err) < 0)
        return NULL;
    if (env != NULL)
        json_object_object_add (create, "Env", env);
    static const char *const strings[][2] = { { "workdir", "WorkingDir" }, { "user", "User" } };
    for (size_t i = 0; i < 2; i++) {
        const char *s = wr_api_docker_string (body, strings[i][0]);
        if (s != NULL)
            json_object_object_add (create, strings[i][1], json_object_new_string (s));
    }
    cleanup_strv char **volumes = NULL;
    if (wr_api_docker_strings (body, "volumes", &volumes, err) < 0)
        return NULL;
    for (size_t i = 0; volumes != NULL && volumes[i] != NULL; i++) {
        cleanup_strv char **parts = wr_strv_split (volumes[i], ":");
        size_t n = wr_strv_length (parts);
        if (n < 2 || n > 3 || parts[1][0] != '/' || volumes[i][0] == ':') {
            cleanup_free char *path = wr_json_path_index ("volumes", i);
            return wr_json_error (err, NAME, path,
                                  "must be SOURCE:/PATH or SOURCE:/PATH:OPTIONS (a volume's "
                                  "name or a path in the sandbox)"),
                   NULL;
        }
    }
    if (volumes != NULL)
        json_object_object_add (host, "Binds",
                                json_object_get (json_object_object_get (body, "volumes")));
    cleanup_strv char **ports = NULL;
    if (wr_api_docker_strings (body, "ports", &ports, err) < 0)
        return NULL;
    if (ports != NULL) {
        json_object *exposed = json_object_new_object ();
        json_object *bindings = json_object_new_object ();
        json_object_object_add (create, "ExposedPorts", exposed);
        json_object_object_add (host, "PortBindings", bindings);
        for (size_t i = 0; ports[i] != NULL; i++)
            if (add_port (ports[i], i, exposed, bindings, err) < 0)
                return NULL;
    }
    const char *network = wr_api_docker_string (body, "network");
    if (network != NULL)
        json_object_object_add (host, "NetworkMode", json_object_new_string (network));
    return steal_pointer (&create);
}

static int
create_container (wr_api_docker_job_t *job, json_object *create, char **id, wr_error_t *err)
{
    const char *name = wr_api_docker_string (job->body, "name");
    cleanup_free char *ename = name != NULL ? wr_docker_escape (name) : NULL;
    cleanup_free char *path = ename != NULL ? xasprintf ("/containers/create?name=%s", ename)
                                            : xstrdup ("/containers/create");
    cleanup_json_reader json_object *answer = NULL;
    if (wr_docker_json (job->docker, "POST", path, create, &answer, err) < 0)
        return -1;
    const char *s = answer != NULL ? wr_api_docker_string (answer, "Id") : NULL;
    if (s == NULL)
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0,
                                  "dockerd created a container without an Id");
    *id = xstrdup (s);
    return 0;
}

static void
remove_container (wr_api_docker_job_t *job, const char *id)
{
    cleanup_free char *eid = wr_docker_escape (id);
    cleanup_free char *path = xasprintf ("/containers/%s?force=true", eid);
    cleanup_error wr_error_t err = NULL;
    /* The call before may have failed: its error is the job's. */
    job->refused = wr_docker_answered_error (job->docker);
    wr_docker_json (job->docker, "DELETE", path, NULL, NULL, &err);
}

static int
do_run (wr_api_docker_job_t *job, wr_error_t *err)
{
    const char *image = wr_api_docker_string (job->body, "image");
    cleanup_json_reader json_object *create = create_body (job->body, err);
    if (create == NULL)
        return -1;
    cleanup_free char *id = NULL;
    cleanup_error wr_error_t create_err = NULL;
    if (create_container (job, create, &id, &create_err) < 0) {
        if (wr_error_kind (create_err) != WR_ERROR_NOT_FOUND ||
            strstr (create_err->message, "No such image") == NULL)
            return wr_error_propagate (err, &create_err);
        /* As the CLI: pull, then create again. */
        cleanup_free char *shown = strchr (image, ':') != NULL || strchr (image, '@') != NULL
                                       ? xstrdup (image)
                                       : xasprintf ("%s:latest", image);
        if (wr_api_docker_printf (job, 2, "Unable to find image '%s' locally\n", shown) < 0 ||
            wr_api_docker_pull_image (job, image, err) < 0 ||
            create_container (job, create, &id, err) < 0)
            return -1;
    }
    json_object *result = json_object_new_object ();
    json_object_object_add (result, "id", json_object_new_string (id));
    const char *name = wr_api_docker_string (job->body, "name");
    if (name != NULL)
        json_object_object_add (result, "name", json_object_new_string (name));
    job->end = json_object_new_object ();
    json_object_object_add (job->end, "container", result);
    bool remove = wr_api_docker_bool (job->body, "remove", false);
    cleanup_free char *eid = wr_docker_escape (id);
    cleanup_free char *start = xasprintf ("/containers/%s/start", eid);
    if (wr_docker_json (job->docker, "POST", start, NULL, NULL, err) < 0) {
        if (remove)
            remove_container (job, id);
        return -1;
    }
    if (wr_api_docker_bool (job->body, "detach", false))
        return wr_api_docker_printf (job, 1, "%s\n", id) < 0 ? -1 : 0;
    int ret = wr_api_docker_follow_logs (job, id, true, NULL, err);
    cleanup_json_reader json_object *waited = NULL;
    if (ret == 0) {
        cleanup_free char *wait = xasprintf ("/containers/%s/wait", eid);
        wr_docker_request_t r = { .method = "POST", .path = wait };
        ret = wr_docker_call (job->docker, &r, NULL, &waited, err);
    }
    if (ret == 0) {
        json_object *code = waited != NULL ? json_object_object_get (waited, "StatusCode") : NULL;
        if (code == NULL || !json_object_is_type (code, json_type_int))
            ret = wr_error_set_kind (err, WR_ERROR_INTERNAL, 0,
                                     "dockerd's wait answered no StatusCode");
        else
            ret = json_object_get_int64 (code) >= 0 && json_object_get_int64 (code) <= 255
                      ? (int) json_object_get_int64 (code)
                      : 1;
    }
    /* A client gone: the container is left as it is, as documented. */
    if (remove && !wr_api_docker_gone (job))
        remove_container (job, id);
    return ret;
}

int
wr_api_docker_run (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "image", json_type_string, true },      { "command", json_type_array, false },
        { "entrypoint", json_type_array, false }, { "name", json_type_string, false },
        { "detach", json_type_boolean, false },   { "remove", json_type_boolean, false },
        { "volumes", json_type_array, false },    { "env", json_type_object, false },
        { "ports", json_type_array, false },      { "network", json_type_string, false },
        { "workdir", json_type_string, false },   { "user", json_type_string, false },
        { "auth", json_type_object, false },      { NULL, 0, false },
    };
    json_object *body = wr_api_request_json (req, fields, err);
    if (body == NULL)
        return -1;
    const char *image = wr_api_docker_string (body, "image");
    json_object *create = NULL;
    if (image[0] == '\0') {
        wr_json_error (err, NAME, "image", "must not be empty");
    } else if (wr_api_docker_check_auth (body, err) == 0) {
        /* Every field checked now: a 400, not a failed stream. */
        create = create_body (body, err);
    }
    if (create == NULL) {
        json_object_put (body);
        return -1;
    }
    json_object_put (create);
    return wr_api_docker_start (data, req, resp, body, do_run, 125, err);
}
