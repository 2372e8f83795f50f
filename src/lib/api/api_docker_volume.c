#include <stdlib.h>
#include <string.h>

#include "api_docker.h"
#include "api_docker_job.h"
#include "cleanup.h"
#include "json_reader.h"
#include "xalloc.h"

static int
do_create (wr_api_docker_job_t *job, wr_error_t *err)
{
    json_object *create = json_object_new_object ();
    const char *name = wr_api_docker_string (job->body, "name");
    if (name != NULL)
        json_object_object_add (create, "Name", json_object_new_string (name));
    const char *driver = wr_api_docker_string (job->body, "driver");
    if (driver != NULL)
        json_object_object_add (create, "Driver", json_object_new_string (driver));
    json_object *labels = json_object_object_get (job->body, "labels");
    if (labels != NULL)
        json_object_object_add (create, "Labels", json_object_get (labels));
    cleanup_json_reader json_object *answer = NULL;
    int r = wr_docker_json (job->docker, "POST", "/volumes/create", create, &answer, err);
    json_object_put (create);
    if (r < 0)
        return -1;
    const char *made = answer != NULL ? wr_api_docker_string (answer, "Name") : NULL;
    return wr_api_docker_printf (job, 1, "%s\n", made != NULL ? made : "") < 0 ? -1 : 0;
}

int
wr_api_docker_volume_create (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                             wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "name", json_type_string, false },
        { "driver", json_type_string, false },
        { "labels", json_type_object, false },
        { NULL, 0, false },
    };
    json_object *body = wr_api_docker_body (req, fields, err);
    if (body == NULL)
        return -1;
    json_object *labels = json_object_object_get (body, "labels");
    if (labels != NULL) {
        json_object_object_foreach (labels, key, value)
        {
            (void) key;
            if (value == NULL || !json_object_is_type (value, json_type_string)) {
                json_object_put (body);
                return wr_json_error (err, "request body", "labels", "values must be strings");
            }
        }
    }
    return wr_api_docker_start (data, req, resp, body, do_create, 1, err);
}

static int
do_rm (wr_api_docker_job_t *job, wr_error_t *err)
{
    const char *name = wr_api_docker_string (job->body, "name");
    cleanup_free char *ename = wr_docker_escape (name);
    cleanup_free char *path =
        xasprintf ("/volumes/%s?force=%s", ename,
                   wr_api_docker_bool (job->body, "force", false) ? "true" : "false");
    if (wr_docker_json (job->docker, "DELETE", path, NULL, NULL, err) < 0)
        return -1;
    return wr_api_docker_printf (job, 1, "%s\n", name) < 0 ? -1 : 0;
}

int
wr_api_docker_volume_rm (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                         wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "name", json_type_string, true },
        { "force", json_type_boolean, false },
        { NULL, 0, false },
    };
    json_object *body = wr_api_request_json (req, fields, err);
    if (body == NULL)
        return -1;
    const char *name = wr_api_docker_string (body, "name");
    if (name[0] == '\0' || strlen (name) > 256) {
        json_object_put (body);
        return wr_json_error (err, "request body", "name", "must be 1 to 256 bytes");
    }
    return wr_api_docker_start (data, req, resp, body, do_rm, 1, err);
}

static int
do_ls (wr_api_docker_job_t *job, wr_error_t *err)
{
    cleanup_json_reader json_object *answer = NULL;
    if (wr_docker_json (job->docker, "GET", "/volumes", NULL, &answer, err) < 0)
        return -1;
    json_object *given = answer != NULL && json_object_is_type (answer, json_type_object)
                             ? json_object_object_get (answer, "Volumes")
                             : NULL;
    size_t n = given != NULL && json_object_is_type (given, json_type_array)
                   ? json_object_array_length (given)
                   : 0;
    if (wr_api_docker_printf (job, 1, "%-16s %s\n", "DRIVER", "VOLUME NAME") < 0)
        return -1;
    json_object *list = json_object_new_array ();
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx (given, i);
        if (!json_object_is_type (item, json_type_object))
            continue;
        const char *name = wr_api_docker_string (item, "Name");
        const char *driver = wr_api_docker_string (item, "Driver");
        const char *mountpoint = wr_api_docker_string (item, "Mountpoint");
        json_object *v = json_object_new_object ();
        json_object_object_add (v, "name", json_object_new_string (name != NULL ? name : ""));
        json_object_object_add (v, "driver", json_object_new_string (driver != NULL ? driver : ""));
        json_object_object_add (v, "mountpoint",
                                json_object_new_string (mountpoint != NULL ? mountpoint : ""));
        json_object_array_add (list, v);
        if (wr_api_docker_printf (job, 1, "%-16s %s\n", driver != NULL ? driver : "",
                                  name != NULL ? name : "") < 0) {
            json_object_put (list);
            return -1;
        }
    }
    json_object *event = json_object_new_object ();
    json_object_object_add (event, "event", json_object_new_string ("result"));
    json_object_object_add (event, "volumes", list);
    return wr_api_docker_send (job, event);
}

int
wr_api_docker_volume_ls (wr_api_request_t *req, wr_api_response_t *resp, void *data,
                         wr_error_t *err)
{
    return wr_api_docker_start (data, req, resp, json_object_new_object (), do_ls, 1, err);
}
