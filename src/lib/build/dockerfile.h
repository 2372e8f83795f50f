/* A Dockerfile read strictly into a base image reference and build steps
 * (image_build.h), for warrend to build without Docker.
 *
 * One stage: FROM IMAGE once (no AS NAME, no flags, not scratch), with only
 * ARG before it.  Then, each instruction one step:
 *
 *   RUN CMD | RUN ["EXE", "ARG", ...]   a run step (the exec form is run
 *                          by sh -c with each word single-quoted); the ARGs
 *                          in scope are set for it, as Docker does
 *   ENV K=V ... | ENV K V  an env step
 *   WORKDIR, USER, CMD, ENTRYPOINT, LABEL, EXPOSE   a config step
 *   ARG NAME[=DEFAULT] ... no step: a variable for the instructions after
 *
 * $NAME and ${NAME} (and ${NAME:-WORD}, ${NAME:+WORD}) are replaced where
 * Docker replaces them: in FROM (the ARGs before FROM only), ENV, ARG,
 * LABEL, EXPOSE, USER and WORKDIR; never in RUN, CMD and ENTRYPOINT, whose
 * shell sees the variables.  A name is looked up in the ENV values (those
 * of BASE_ENV, the base image's, and the Dockerfile's), then in the ARGs;
 * an unset one is empty.  Quotes and backslashes work as in Docker's
 * words.  A build takes no build arguments: an ARG has its default.
 *
 *   COPY SRC... DST        a copy step per source, SRC a path inside the
 *                          build context (normalised: a leading `/` dropped,
 *                          no `..`, no wildcards; "." for all of it), DST as
 *                          written (image_build.h says what it means)
 *
 * ADD is refused (its URLs and archive unpacking are not done).  Lines end with
 * a backslash to continue; `#` lines are comments (inside a continued
 * instruction too); parser directives are ignored, but an `escape` other
 * than a backslash is refused.  Every error begins "line N: INSTRUCTION:"
 * and says what is allowed. */
#ifndef WARREN_DOCKERFILE_H
#define WARREN_DOCKERFILE_H

#include <stddef.h>

#include "error.h"
#include "image_build.h"

#define WR_DOCKERFILE_MAX_BYTES (256 * 1024)
#define WR_DOCKERFILE_MAX_LINE 65536 /* bytes of a line, and of an instruction */
#define WR_DOCKERFILE_MAX_INSTRUCTIONS 256
#define WR_DOCKERFILE_MAX_VALUE 65536 /* bytes of a value after substitution */

typedef struct {
    char *from; /* the base image's reference, its ARGs replaced */
    size_t from_line;
    wr_build_step_t *steps;
    size_t *step_lines; /* the line of each step's instruction */
    size_t n_steps;
} wr_dockerfile_t;

/* Reads the LEN bytes of TEXT into *OUT.  BASE_ENV (NAME=VALUE, may be
 * NULL) is the base image's environment, for the substitutions; without
 * it (a check before the base is pulled) its names are unset.  Errors are
 * of kind invalid (limit for the limits above). */
int wr_dockerfile_parse (const char *text, size_t len, char *const *base_env, wr_dockerfile_t *out,
                         wr_error_t *err);
void wr_dockerfile_clear (wr_dockerfile_t *df);

#endif
