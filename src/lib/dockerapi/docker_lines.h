/* dockerd's streams of JSON messages (pull, push, build, load): one object
 * per line, lines ending in "\n" or "\r\n", read however the transfer cuts
 * them.  Untrusted: a line is at most MAX_LINE bytes, must be one JSON
 * object (json_reader's strict parse), and empty lines are skipped. */
#ifndef WARREN_DOCKER_LINES_H
#define WARREN_DOCKER_LINES_H

#include <json-c/json.h>
#include <stddef.h>

#include "error.h"

/* The default longest line: 1 MiB (dockerd's are a few hundred bytes). */
#define WR_DOCKER_MAX_LINE (1024 * 1024)

/* Called with each object (borrowed: take a reference to keep it); a
 * negative return stops the stream with *ERR. */
typedef int (*wr_docker_line_fn) (void *data, json_object *obj, wr_error_t *err);

typedef struct {
    char *buf;
    size_t len, cap;
    size_t max_line;
    size_t lines; /* objects handed on */
    const char *what; /* the stream in errors ("pull of busybox"), trusted */
    wr_docker_line_fn fn;
    void *data;
} wr_docker_lines_t;

/* MAX_LINE 0: WR_DOCKER_MAX_LINE. */
void wr_docker_lines_init (wr_docker_lines_t *l, const char *what, size_t max_line,
                           wr_docker_line_fn fn, void *data);
/* Feeds LEN bytes; every complete line is parsed and handed to the
 * callback.  Errors: LIMIT (a line too long), INVALID (not an object), or
 * the callback's. */
int wr_docker_lines_feed (wr_docker_lines_t *l, const void *buf, size_t len, wr_error_t *err);
/* The stream ended: a last line without its newline is parsed too. */
int wr_docker_lines_end (wr_docker_lines_t *l, wr_error_t *err);
void wr_docker_lines_clear (wr_docker_lines_t *l);

#endif
