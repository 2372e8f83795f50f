/* docker build of a context in the sandbox (uploaded there through the
 * files API): a directory, whose tar `tar` makes in the sandbox, or a tar
 * file, read by `cat`; either read through the agent is the body of
 * dockerd's /build, whose JSON lines become step events and the CLI's
 * output. */
#include <stdlib.h>
#include <string.h>

#include "api_docker.h"
#include "api_docker_job.h"
#include "api_sandbox_process.h"
#include "cleanup.h"
#include "docker_lines.h"
#include "docker_message.h"
#include "json_reader.h"
#include "quote.h"
#include "xalloc.h"

#define TAR_STDERR_MAX 4096
#define POLL_MS 1000

typedef struct {
    wr_api_docker_job_t *job;
    wr_api_sandbox_process_t *tar;
    wr_agent_item_t item;
    size_t used;
    bool tar_ended;
    int tar_exit;
    char stderr_text[TAR_STDERR_MAX + 1];
    size_t stderr_len;
    /* The build's progress. */
    char *step; /* "2/3 RUN make", the step running */
    char *image_id;
} build_t;

static ssize_t
read_context (void *data, char *buf, size_t max, wr_error_t *err)
{
    build_t *b = data;
    for (;;) {
        if (b->used < b->item.len) {
            size_t n = b->item.len - b->used;
            if (n > max)
                n = max;
            memcpy (buf, b->item.data + b->used, n);
            b->used += n;
            return (ssize_t) n;
        }
        wr_agent_item_clear (&b->item);
        b->used = 0;
        if (b->tar_ended)
            return 0;
        if (wr_api_docker_gone (b->job))
            return wr_error_set_kind (err, WR_ERROR_CANCELLED, 0, "the client went away");
        int r = wr_api_sandbox_process_next (b->tar, POLL_MS, &b->item, &b->tar_exit, err);
        if (r < 0)
            return wr_error_prefix (err, "reading the build context");
        if (r == 0) {
            b->tar_ended = true;
            if (b->tar_exit != 0)
                return wr_error_set_kind (
                    err, WR_ERROR_INVALID, 0, "the build context: %s exited with %d: %s",
                    wr_api_docker_string (b->job->body, "context_tar") != NULL ? "cat" : "tar",
                    b->tar_exit, b->stderr_text);
            return 0;
        }
        if (b->item.channel == WR_AGENT_CHANNEL_STDERR) {
            size_t n = b->item.len;
            if (n > TAR_STDERR_MAX - b->stderr_len)
                n = TAR_STDERR_MAX - b->stderr_len;
            memcpy (b->stderr_text + b->stderr_len, b->item.data, n);
            b->stderr_len += n;
            b->stderr_text[b->stderr_len] = '\0';
            wr_agent_item_clear (&b->item);
        }
    }
}

static int
on_line (void *data, json_object *obj, wr_error_t *err)
{
    build_t *b = data;
    wr_docker_message_t m;
    if (wr_docker_message_read (obj, &m, err) < 0)
        return -1;
    if (m.error != NULL) {
        if (b->step != NULL)
            return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "step %s: %s", b->step, m.error);
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "%s", m.error);
    }
    if (m.aux != NULL) {
        const char *id = wr_api_docker_string (m.aux, "ID");
        if (id != NULL) {
            free (b->image_id);
            b->image_id = xstrdup (id);
        }
    }
    int64_t step, steps;
    cleanup_free char *text = NULL;
    if (wr_docker_message_step (&m, &step, &steps, &text)) {
        free (b->step);
        b->step = xasprintf ("%lld/%lld (%s)", (long long) step, (long long) steps, text);
        json_object *event = json_object_new_object ();
        json_object_object_add (event, "event", json_object_new_string ("step"));
        json_object_object_add (event, "step", json_object_new_int64 (step));
        json_object_object_add (event, "steps", json_object_new_int64 (steps));
        json_object_object_add (event, "instruction", json_object_new_string (text));
        if (wr_api_docker_send (b->job, event) < 0)
            return wr_error_set_kind (err, WR_ERROR_CANCELLED, 0, "the client went away");
    }
    cleanup_free char *out = wr_docker_message_text (&m);
    if (out != NULL && wr_api_docker_output (b->job, 1, out, strlen (out)) < 0)
        return wr_error_set_kind (err, WR_ERROR_CANCELLED, 0, "the client went away");
    return 0;
}

static int
feed (void *data, const char *buf, size_t len, wr_error_t *err)
{
    return wr_docker_lines_feed (data, buf, len, err);
}

static char *
build_path (json_object *body)
{
    char *path = xstrdup ("/build?rm=1");
    const char *keys[][2] = { { "dockerfile", "dockerfile" },
                              { "tag", "t" },
                              { "target", "target" } };
    for (size_t i = 0; i < 3; i++) {
        const char *value = wr_api_docker_string (body, keys[i][0]);
        if (value == NULL)
            continue;
        cleanup_free char *escaped = wr_docker_escape (value);
        char *next = xasprintf ("%s&%s=%s", path, keys[i][1], escaped);
        free (path);
        path = next;
    }
    if (wr_api_docker_bool (body, "no_cache", false)) {
        char *next = xasprintf ("%s&nocache=1", path);
        free (path);
        path = next;
    }
    json_object *args = json_object_object_get (body, "build_args");
    if (args != NULL) {
        cleanup_free char *escaped =
            wr_docker_escape (json_object_to_json_string_ext (args, JSON_C_TO_STRING_PLAIN));
        char *next = xasprintf ("%s&buildargs=%s", path, escaped);
        free (path);
        path = next;
    }
    return path;
}

static int
do_build (wr_api_docker_job_t *job, wr_error_t *err)
{
    const char *context = wr_api_docker_string (job->body, "context");
    const char *tar = wr_api_docker_string (job->body, "context_tar");
    char *dir_argv[] = { "tar", "-C", (char *) context, "-cf", "-", ".", NULL };
    char *tar_argv[] = { "cat", "--", (char *) tar, NULL };
    build_t b = { .job = job };
    b.tar = wr_api_sandbox_process_start (job->agent, tar != NULL ? tar_argv : dir_argv, NULL, err);
    if (b.tar == NULL)
        return wr_error_prefix (err, "the build context `%s`", tar != NULL ? tar : context);
    cleanup_free char *path = build_path (job->body);
    wr_docker_lines_t lines;
    wr_docker_lines_init (&lines, "dockerd's build", 0, on_line, &b);
    wr_docker_request_t r = {
        .method = "POST",
        .path = path,
        .read = read_context,
        .read_data = &b,
        .content_type = "application/x-tar",
        .on_data = feed,
        .data = &lines,
    };
    int ret = wr_docker_call (job->docker, &r, NULL, NULL, err);
    if (ret == 0)
        ret = wr_docker_lines_end (&lines, err);
    if (ret == 0 && b.image_id != NULL) {
        job->end = json_object_new_object ();
        json_object_object_add (job->end, "image_id", json_object_new_string (b.image_id));
    }
    wr_docker_lines_clear (&lines);
    wr_agent_item_clear (&b.item);
    wr_api_sandbox_process_free (b.tar);
    free (b.step);
    free (b.image_id);
    return ret;
}

int
wr_api_docker_build (wr_api_request_t *req, wr_api_response_t *resp, void *data, wr_error_t *err)
{
    static const wr_api_field_t fields[] = {
        { "context", json_type_string, false },    { "context_tar", json_type_string, false },
        { "dockerfile", json_type_string, false }, { "tag", json_type_string, false },
        { "target", json_type_string, false },     { "build_args", json_type_object, false },
        { "no_cache", json_type_boolean, false },  { NULL, 0, false },
    };
    json_object *body = wr_api_request_json (req, fields, err);
    if (body == NULL)
        return -1;
    const char *context = wr_api_docker_string (body, "context");
    const char *tar = wr_api_docker_string (body, "context_tar");
    if ((context == NULL) == (tar == NULL)) {
        json_object_put (body);
        return wr_json_error (err, "request body", "",
                              "give one of context (a directory) and context_tar (a tar file)");
    }
    const char *path = context != NULL ? context : tar;
    if (path[0] != '/' || strlen (path) > 4096) {
        json_object_put (body);
        return wr_json_error (err, "request body", context != NULL ? "context" : "context_tar",
                              "must be an absolute path in the sandbox (at most 4096 bytes)");
    }
    json_object *args = json_object_object_get (body, "build_args");
    if (args != NULL) {
        json_object_object_foreach (args, key, value)
        {
            (void) key;
            if (value == NULL || !json_object_is_type (value, json_type_string)) {
                json_object_put (body);
                return wr_json_error (err, "request body", "build_args", "values must be strings");
            }
        }
    }
    return wr_api_docker_start (data, req, resp, body, do_build, 1, err);
}
