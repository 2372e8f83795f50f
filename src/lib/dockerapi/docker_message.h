/* One message of dockerd's progress streams (pull, push, build): its
 * fields read with their types checked (dockerd's text is untrusted), the
 * line the docker CLI prints for it when its output is not a terminal
 * ("latest: Pulling from library/busybox", "3f4d90098f5b: Pull complete",
 * "Step 2/3 : RUN make"), and a build step's number. */
#ifndef WARREN_DOCKER_MESSAGE_H
#define WARREN_DOCKER_MESSAGE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

typedef struct {
    const char *id; /* a layer or a tag, or NULL; these point into the object read */
    const char *status;
    const char *stream; /* build output, with its newlines */
    const char *error; /* the failure dockerd reports, or NULL */
    json_object *aux; /* build's {"ID": ...}, push's {"Tag", "Digest", "Size"}, or NULL */
    int64_t current, total; /* progressDetail; -1 when absent */
} wr_docker_message_t;

/* Reads OBJ (which must outlive *M).  Refuses (INVALID) members of the
 * wrong type; unknown members are ignored. */
int wr_docker_message_read (json_object *obj, wr_docker_message_t *m, wr_error_t *err);

/* The text the CLI prints for M (with its newline), or NULL when it
 * prints nothing (a progress bar, an aux message, an error).  Caller
 * frees. */
char *wr_docker_message_text (const wr_docker_message_t *m);

/* A build's "Step N/M : INSTRUCTION" line: true with *STEP, *STEPS and
 * *TEXT (the instruction, a copy the caller frees, without the newline). */
bool wr_docker_message_step (const wr_docker_message_t *m, int64_t *step, int64_t *steps,
                             char **text);

#endif
