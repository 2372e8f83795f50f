#include <stdlib.h>
#include <string.h>

#include "api_docker.h"
#include "api_docker_job.h"
#include "cleanup.h"
#include "docker_lines.h"
#include "docker_message.h"
#include "json_reader.h"
#include "strv.h"
#include "xalloc.h"

/* ---- progress streams (pull, push) ---- */

typedef struct {
    wr_api_docker_job_t *job;
    const char *what;
    wr_error_kind_t error_kind; /* of an error in the stream */
} progress_t;

static int
on_progress (void *data, json_object *obj, wr_error_t *err)
{
    progress_t *p = data;
    wr_docker_message_t m;
    if (wr_docker_message_read (obj, &m, err) < 0)
        return -1;
    if (m.error != NULL)
        return wr_error_set_kind (err, p->error_kind, 0, "%s", m.error);
    json_object *event = json_object_new_object ();
    json_object_object_add (event, "event", json_object_new_string ("progress"));
    if (m.id != NULL)
        json_object_object_add (event, "id", json_object_new_string (m.id));
    if (m.status != NULL)
        json_object_object_add (event, "status", json_object_new_string (m.status));
    if (m.current >= 0)
        json_object_object_add (event, "current", json_object_new_int64 (m.current));
    if (m.total >= 0)
        json_object_object_add (event, "total", json_object_new_int64 (m.total));
    if (m.aux != NULL)
        json_object_object_add (event, "aux", json_object_get (m.aux));
    if (wr_api_docker_send (p->job, event) < 0)
        return wr_error_set_kind (err, WR_ERROR_CANCELLED, 0, "%s: the client went away", p->what);
    cleanup_free char *text = wr_docker_message_text (&m);
    if (text != NULL && wr_api_docker_output (p->job, 1, text, strlen (text)) < 0)
        return wr_error_set_kind (err, WR_ERROR_CANCELLED, 0, "%s: the client went away", p->what);
    return 0;
}

static int
feed_lines (void *data, const char *buf, size_t len, wr_error_t *err)
{
    return wr_docker_lines_feed (data, buf, len, err);
}

int
wr_api_docker_progress_call (wr_api_docker_job_t *job, wr_docker_request_t *r, const char *what,
                             wr_error_kind_t error_kind, wr_error_t *err)
{
    progress_t p = { .job = job, .what = what, .error_kind = error_kind };
    wr_docker_lines_t lines;
    wr_docker_lines_init (&lines, what, 0, on_progress, &p);
    r->on_data = feed_lines;
    r->data = &lines;
    int ret = wr_docker_call (job->docker, r, NULL, NULL, err);
    if (ret == 0)
        ret = wr_docker_lines_end (&lines, err);
    wr_docker_lines_clear (&lines);
    return ret;
}

/* IMAGE as NAME and TAG (or a digest in NAME): "busybox" is busybox and
 * latest, "a:5000/b:v1" a:5000/b and v1. */
static void
split_reference (const char *image, char **name, char **tag)
{
    const char *at = strchr (image, '@');
    const char *slash = strrchr (image, '/');
    const char *colon = strrchr (image, ':');
    if (at != NULL) {
        *name = xstrdup (image);
        *tag = NULL;
    } else if (colon != NULL && (slash == NULL || colon > slash)) {
        *name = xstrndup (image, (size_t) (colon - image));
        *tag = xstrdup (colon + 1);
    } else {
        *name = xstrdup (image);
        *tag = xstrdup ("latest");
    }
}

/* The reference the docker CLI prints after a pull:
 * docker.io/library/busybox:latest for busybox. */
static char *
full_reference (const char *name, const char *tag)
{
    const char *slash = strchr (name, '/');
    bool has_domain = slash != NULL && (memchr (name, '.', (size_t) (slash - name)) != NULL ||
                                        memchr (name, ':', (size_t) (slash - name)) != NULL ||
                                        strncmp (name, "localhost/", 10) == 0);
    const char *sep = tag == NULL ? "" : ":";
    if (tag == NULL)
        tag = "";
    if (has_domain)
        return xasprintf ("%s%s%s", name, sep, tag);
    if (slash == NULL)
        return xasprintf ("docker.io/library/%s%s%s", name, sep, tag);
    return xasprintf ("docker.io/%s%s%s", name, sep, tag);
}

int
wr_api_docker_pull_image (wr_api_docker_job_t *job, const char *image, wr_error_t *err)
{
    cleanup_free char *name = NULL, *tag = NULL;
    split_reference (image, &name, &tag);
    cleanup_free char *ename = wr_docker_escape (name);
    cleanup_free char *etag = tag != NULL ? wr_docker_escape (tag) : NULL;
    cleanup_free char *path = etag != NULL
                                  ? xasprintf ("/images/create?fromImage=%s&tag=%s", ename, etag)
                                  : xasprintf ("/images/create?fromImage=%s", ename);
    cleanup_free char *auth = wr_api_docker_registry_auth (job->body);
    cleanup_free char *what = xasprintf ("pull of %s", image);
    wr_docker_request_t r = { .method = "POST", .path = path, .registry_auth = auth };
    if (wr_api_docker_progress_call (job, &r, what, WR_ERROR_UNAVAILABLE, err) < 0)
        return -1;
    cleanup_free char *full = full_reference (name, tag);
    return wr_api_docker_printf (job, 1, "%s\n", full) < 0 ? -1 : 0;
}

static int
do_pull (wr_api_docker_job_t *job, wr_error_t *err)
{
    return wr_api_docker_pull_image (job, wr_api_docker_string (job->body, "image"), err);
}

static int
check_image (json_object *body, const char *key, wr_error_t *err)
{
    const char *image = wr_api_docker_string (body, key);
    if (image == NULL || image[0] == '\0' || strlen (image) > 1024)
        return wr_json_error (err, "request body", key, "must be 1 to 1024 bytes");
    for (const char *c = image; *c != '\0'; c++)
        if ((unsigned char) *c <= ' ' || (unsigned char) *c >= 0x7f)
            return wr_json_error (err, "request body", key,
                                  "must be printable ASCII without spaces");
    return 0;
}

int
wr_api_docker_pull (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "image", json_type_string, true },
        { "auth", json_type_object, false },
        { NULL, 0, false },
    };
    json_object *body = wr_api_request_json (req, fields, err);
    if (body == NULL)
        return -1;
    if (check_image (body, "image", err) < 0 || wr_api_docker_check_auth (body, err) < 0) {
        json_object_put (body);
        return -1;
    }
    return wr_api_docker_start (data, req, resp, body, do_pull, 1, err);
}

/* ---- push ---- */

static int
do_push (wr_api_docker_job_t *job, wr_error_t *err)
{
    const char *image = wr_api_docker_string (job->body, "image");
    cleanup_free char *name = NULL, *tag = NULL;
    split_reference (image, &name, &tag);
    cleanup_free char *ename = wr_docker_escape (name);
    cleanup_free char *etag = wr_docker_escape (tag != NULL ? tag : "latest");
    cleanup_free char *path = xasprintf ("/images/%s/push?tag=%s", ename, etag);
    cleanup_free char *auth = wr_api_docker_registry_auth (job->body);
    cleanup_free char *what = xasprintf ("push of %s", image);
    wr_docker_request_t r = { .method = "POST", .path = path, .registry_auth = auth };
    return wr_api_docker_progress_call (job, &r, what, WR_ERROR_UNAVAILABLE, err);
}

int
wr_api_docker_push (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "image", json_type_string, true },
        { "auth", json_type_object, false },
        { NULL, 0, false },
    };
    json_object *body = wr_api_request_json (req, fields, err);
    if (body == NULL)
        return -1;
    if (check_image (body, "image", err) < 0 || wr_api_docker_check_auth (body, err) < 0) {
        json_object_put (body);
        return -1;
    }
    return wr_api_docker_start (data, req, resp, body, do_push, 1, err);
}

/* ---- login ---- */

static int
do_login (wr_api_docker_job_t *job, wr_error_t *err)
{
    json_object *auth = json_object_new_object ();
    json_object_object_add (auth, "username",
                            json_object_new_string (wr_api_docker_string (job->body, "username")));
    json_object_object_add (auth, "password",
                            json_object_new_string (wr_api_docker_string (job->body, "password")));
    const char *registry = wr_api_docker_string (job->body, "registry");
    if (registry != NULL)
        json_object_object_add (auth, "serveraddress", json_object_new_string (registry));
    cleanup_json_reader json_object *answer = NULL;
    int r = wr_docker_json (job->docker, "POST", "/auth", auth, &answer, err);
    json_object_put (auth);
    if (r < 0)
        return -1;
    const char *status = answer != NULL ? wr_api_docker_string (answer, "Status") : NULL;
    return wr_api_docker_printf (job, 1, "%s\n", status != NULL ? status : "Login Succeeded") < 0
               ? -1
               : 0;
}

int
wr_api_docker_login (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "username", json_type_string, true },
        { "password", json_type_string, true },
        { "registry", json_type_string, false },
        { NULL, 0, false },
    };
    json_object *body = wr_api_request_json (req, fields, err);
    if (body == NULL)
        return -1;
    return wr_api_docker_start (data, req, resp, body, do_login, 1, err);
}

/* ---- tag, rmi ---- */

static int
do_tag (wr_api_docker_job_t *job, wr_error_t *err)
{
    cleanup_free char *name = NULL, *tag = NULL;
    split_reference (wr_api_docker_string (job->body, "target"), &name, &tag);
    cleanup_free char *source = wr_docker_escape (wr_api_docker_string (job->body, "source"));
    cleanup_free char *repo = wr_docker_escape (name);
    cleanup_free char *etag = wr_docker_escape (tag != NULL ? tag : "latest");
    cleanup_free char *path = xasprintf ("/images/%s/tag?repo=%s&tag=%s", source, repo, etag);
    return wr_docker_json (job->docker, "POST", path, NULL, NULL, err);
}

int
wr_api_docker_tag (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "source", json_type_string, true },
        { "target", json_type_string, true },
        { NULL, 0, false },
    };
    json_object *body = wr_api_request_json (req, fields, err);
    if (body == NULL)
        return -1;
    if (check_image (body, "source", err) < 0 || check_image (body, "target", err) < 0) {
        json_object_put (body);
        return -1;
    }
    if (strchr (wr_api_docker_string (body, "target"), '@') != NULL) {
        json_object_put (body);
        return wr_json_error (err, "request body", "target", "a tag cannot be a digest");
    }
    return wr_api_docker_start (data, req, resp, body, do_tag, 1, err);
}

static int
do_rmi (wr_api_docker_job_t *job, wr_error_t *err)
{
    cleanup_free char *image = wr_docker_escape (wr_api_docker_string (job->body, "image"));
    cleanup_free char *path =
        xasprintf ("/images/%s?force=%s", image,
                   wr_api_docker_bool (job->body, "force", false) ? "true" : "false");
    cleanup_json_reader json_object *answer = NULL;
    if (wr_docker_json (job->docker, "DELETE", path, NULL, &answer, err) < 0)
        return -1;
    /* [{"Untagged": ...}, {"Deleted": ...}], printed as the CLI does. */
    size_t n = answer != NULL && json_object_is_type (answer, json_type_array)
                   ? json_object_array_length (answer)
                   : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx (answer, i);
        if (!json_object_is_type (item, json_type_object))
            continue;
        const char *untagged = wr_api_docker_string (item, "Untagged");
        const char *deleted = wr_api_docker_string (item, "Deleted");
        if (untagged != NULL && wr_api_docker_printf (job, 1, "Untagged: %s\n", untagged) < 0)
            return -1;
        if (deleted != NULL && wr_api_docker_printf (job, 1, "Deleted: %s\n", deleted) < 0)
            return -1;
    }
    return 0;
}

int
wr_api_docker_rmi (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "image", json_type_string, true },
        { "force", json_type_boolean, false },
        { NULL, 0, false },
    };
    json_object *body = wr_api_request_json (req, fields, err);
    if (body == NULL)
        return -1;
    if (check_image (body, "image", err) < 0) {
        json_object_put (body);
        return -1;
    }
    return wr_api_docker_start (data, req, resp, body, do_rmi, 1, err);
}

/* ---- images ---- */

static const char *
first_string (json_object *array)
{
    if (array == NULL || !json_object_is_type (array, json_type_array) ||
        json_object_array_length (array) == 0)
        return NULL;
    json_object *s = json_object_array_get_idx (array, 0);
    return json_object_is_type (s, json_type_string) ? json_object_get_string (s) : NULL;
}

static int
do_images (wr_api_docker_job_t *job, wr_error_t *err)
{
    cleanup_json_reader json_object *answer = NULL;
    if (wr_docker_json (job->docker, "GET", "/images/json", NULL, &answer, err) < 0)
        return -1;
    if (answer == NULL || !json_object_is_type (answer, json_type_array))
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0,
                                  "dockerd answered the list of images with no array");
    json_object *images = json_object_new_array ();
    if (wr_api_docker_printf (job, 1, "%-40s %-20s %-12s %s\n", "REPOSITORY", "TAG", "IMAGE ID",
                              "SIZE") < 0) {
        json_object_put (images);
        return -1;
    }
    size_t n = json_object_array_length (answer);
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx (answer, i);
        if (!json_object_is_type (item, json_type_object))
            continue;
        const char *id = wr_api_docker_string (item, "Id");
        json_object *tags = json_object_object_get (item, "RepoTags");
        json_object *image = json_object_new_object ();
        json_object_object_add (image, "id", json_object_new_string (id != NULL ? id : ""));
        json_object *tag_list = json_object_new_array ();
        size_t nt = tags != NULL && json_object_is_type (tags, json_type_array)
                        ? json_object_array_length (tags)
                        : 0;
        for (size_t t = 0; t < nt; t++) {
            json_object *tag = json_object_array_get_idx (tags, t);
            if (json_object_is_type (tag, json_type_string))
                json_object_array_add (tag_list, json_object_get (tag));
        }
        json_object_object_add (image, "tags", tag_list);
        json_object *size = json_object_object_get (item, "Size");
        int64_t bytes = size != NULL ? json_object_get_int64 (size) : 0;
        json_object_object_add (image, "size", json_object_new_int64 (bytes));
        json_object *created = json_object_object_get (item, "Created");
        json_object_object_add (
            image, "created",
            json_object_new_int64 (created != NULL ? json_object_get_int64 (created) : 0));
        json_object_array_add (images, image);
        const char *short_id = id != NULL && strncmp (id, "sha256:", 7) == 0 ? id + 7 : id;
        const char *first = first_string (tags);
        cleanup_free char *repo = NULL, *tag = NULL;
        if (first != NULL)
            split_reference (first, &repo, &tag);
        if (wr_api_docker_printf (job, 1, "%-40s %-20s %-12.12s %.1fMB\n",
                                  repo != NULL ? repo : "<none>", tag != NULL ? tag : "<none>",
                                  short_id != NULL ? short_id : "", (double) bytes / 1e6) < 0) {
            json_object_put (images);
            return -1;
        }
    }
    json_object *event = json_object_new_object ();
    json_object_object_add (event, "event", json_object_new_string ("result"));
    json_object_object_add (event, "images", images);
    return wr_api_docker_send (job, event);
}

int
wr_api_docker_images (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    return wr_api_docker_start (data, req, resp, json_object_new_object (), do_images, 1, err);
}
