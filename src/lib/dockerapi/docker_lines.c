#include "docker_lines.h"

#include <stdlib.h>
#include <string.h>

#include "json_reader.h"
#include "xalloc.h"

void
wr_docker_lines_init (wr_docker_lines_t *l, const char *what, size_t max_line, wr_docker_line_fn fn,
                      void *data)
{
    *l = (wr_docker_lines_t){
        .max_line = max_line > 0 ? max_line : WR_DOCKER_MAX_LINE,
        .what = what,
        .fn = fn,
        .data = data,
    };
}

static int
parse_line (wr_docker_lines_t *l, const char *line, size_t len, wr_error_t *err)
{
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    size_t start = 0;
    while (start < len && (line[start] == ' ' || line[start] == '\t'))
        start++;
    if (start == len)
        return 0;
    json_object *obj =
        wr_json_parse_object (line + start, len - start, l->max_line, "a line", l->what, err);
    if (obj == NULL)
        return wr_error_prefix (err, "line %zu", l->lines + 1);
    l->lines++;
    int r = l->fn (l->data, obj, err);
    json_object_put (obj);
    return r < 0 ? -1 : 0;
}

int
wr_docker_lines_feed (wr_docker_lines_t *l, const void *buf, size_t len, wr_error_t *err)
{
    const char *p = buf;
    while (len > 0) {
        const char *nl = memchr (p, '\n', len);
        size_t piece = nl != NULL ? (size_t) (nl - p) : len;
        if (l->len + piece > l->max_line)
            return wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                                      "%s: line %zu is longer than %zu bytes", l->what,
                                      l->lines + 1, l->max_line);
        if (nl != NULL && l->len == 0) {
            /* A whole line in BUF: parsed where it is. */
            if (parse_line (l, p, piece, err) < 0)
                return -1;
        } else {
            if (l->len + piece + 1 > l->cap) {
                l->cap = (l->len + piece + 1) * 2;
                if (l->cap > l->max_line + 1)
                    l->cap = l->max_line + 1;
                l->buf = xrealloc (l->buf, l->cap);
            }
            memcpy (l->buf + l->len, p, piece);
            l->len += piece;
            if (nl != NULL) {
                size_t n = l->len;
                l->len = 0;
                if (parse_line (l, l->buf, n, err) < 0)
                    return -1;
            }
        }
        if (nl == NULL)
            break;
        p += piece + 1;
        len -= piece + 1;
    }
    return 0;
}

int
wr_docker_lines_end (wr_docker_lines_t *l, wr_error_t *err)
{
    size_t n = l->len;
    l->len = 0;
    return n > 0 ? parse_line (l, l->buf, n, err) : 0;
}

void
wr_docker_lines_clear (wr_docker_lines_t *l)
{
    free (l->buf);
    l->buf = NULL;
    l->len = l->cap = 0;
}
