#include "docker_message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_reader.h"
#include "xalloc.h"

static const char *const NAME = "dockerd's message";

static int
optional_string (json_object *obj, const char *key, const char **out, wr_error_t *err)
{
    json_object *v = NULL;
    *out = NULL;
    if (wr_json_member (obj, key, false, NAME, "", &v, err) < 0)
        return -1;
    if (v == NULL)
        return 0;
    return wr_json_string (v, NAME, key, out, err);
}

int
wr_docker_message_read (json_object *obj, wr_docker_message_t *m, wr_error_t *err)
{
    *m = (wr_docker_message_t){ .current = -1, .total = -1 };
    if (optional_string (obj, "id", &m->id, err) < 0 ||
        optional_string (obj, "status", &m->status, err) < 0 ||
        optional_string (obj, "stream", &m->stream, err) < 0 ||
        optional_string (obj, "error", &m->error, err) < 0)
        return -1;
    json_object *v = NULL;
    if (m->error == NULL) {
        /* errorDetail alone (dockerd always sends both; be lenient). */
        if (wr_json_member (obj, "errorDetail", false, NAME, "", &v, err) < 0)
            return -1;
        if (v != NULL) {
            if (wr_json_expect (v, json_type_object, NAME, "errorDetail", err) < 0)
                return -1;
            json_object *msg = NULL;
            if (wr_json_member (v, "message", false, NAME, "errorDetail", &msg, err) < 0)
                return -1;
            if (msg != NULL &&
                wr_json_string (msg, NAME, "errorDetail.message", &m->error, err) < 0)
                return -1;
        }
    }
    if (wr_json_member (obj, "progressDetail", false, NAME, "", &v, err) < 0)
        return -1;
    if (v != NULL) {
        if (wr_json_expect (v, json_type_object, NAME, "progressDetail", err) < 0)
            return -1;
        json_object *n = NULL;
        if (wr_json_member (v, "current", false, NAME, "progressDetail", &n, err) < 0 ||
            (n != NULL && wr_json_int64 (n, NAME, "progressDetail.current", &m->current, err) < 0))
            return -1;
        if (wr_json_member (v, "total", false, NAME, "progressDetail", &n, err) < 0 ||
            (n != NULL && wr_json_int64 (n, NAME, "progressDetail.total", &m->total, err) < 0))
            return -1;
    }
    if (wr_json_member (obj, "aux", false, NAME, "", &v, err) < 0)
        return -1;
    if (v != NULL) {
        if (wr_json_expect (v, json_type_object, NAME, "aux", err) < 0)
            return -1;
        m->aux = v;
    }
    return 0;
}

char *
wr_docker_message_text (const wr_docker_message_t *m)
{
    if (m->error != NULL || m->aux != NULL)
        return NULL;
    /* The CLI draws no progress bar when its output is not a terminal. */
    if (m->current > 0 || m->total > 0)
        return NULL;
    if (m->stream != NULL)
        return m->stream[0] != '\0' ? xstrdup (m->stream) : NULL;
    if (m->status == NULL)
        return NULL;
    if (m->id != NULL && m->id[0] != '\0')
        return xasprintf ("%s: %s\n", m->id, m->status);
    return xasprintf ("%s\n", m->status);
}

static bool
digits (const char **p, int64_t *out)
{
    const char *s = *p;
    int64_t n = 0;
    size_t count = 0;
    while (*s >= '0' && *s <= '9' && count < 9) {
        n = n * 10 + (*s - '0');
        s++;
        count++;
    }
    if (count == 0)
        return false;
    *out = n;
    *p = s;
    return true;
}

bool
wr_docker_message_step (const wr_docker_message_t *m, int64_t *step, int64_t *steps, char **text)
{
    const char *s = m->stream;
    if (s == NULL || strncmp (s, "Step ", 5) != 0)
        return false;
    s += 5;
    if (!digits (&s, step) || *s++ != '/' || !digits (&s, steps) || strncmp (s, " : ", 3) != 0)
        return false;
    s += 3;
    size_t len = strcspn (s, "\n");
    *text = xstrndup (s, len);
    return true;
}
