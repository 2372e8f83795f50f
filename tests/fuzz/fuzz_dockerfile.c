/* libFuzzer target: Dockerfiles, sent by clients in a create body.  A
 * Dockerfile read must give a valid base reference and steps that stay
 * within the limits and describe themselves; reading it again (with a base
 * environment or not) gives the same steps' kinds and lines; an error names
 * a line (or the whole file) in printable ASCII (the client's text is
 * quoted) and leaves nothing behind. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "dockerfile.h"
#include "error.h"
#include "image_build.h"
#include "image_ref.h"
#include "quote.h"
#include "strv.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check (bool ok)
{
    if (!ok)
        abort ();
}

static void
check_pairs (char *const *pairs)
{
    for (size_t i = 0; pairs != NULL && pairs[i] != NULL; i++) {
        const char *eq = strchr (pairs[i], '=');
        check (eq != NULL && eq != pairs[i]);
    }
}

static void
check_steps (const wr_dockerfile_t *df)
{
    check (df->from != NULL && df->from_line >= 1);
    wr_image_ref_t ref = { 0 };
    check (wr_image_ref_parse (df->from, &ref, NULL) == 0);
    wr_image_ref_clear (&ref);
    check (df->n_steps < WR_DOCKERFILE_MAX_INSTRUCTIONS);
    for (size_t i = 0; i < df->n_steps; i++) {
        const wr_build_step_t *s = &df->steps[i];
        check (df->step_lines[i] > df->from_line);
        /* (A COPY of several sources is a step per source, on one line.) */
        check (i == 0 || df->step_lines[i] >= df->step_lines[i - 1]);
        check (s->kind == WR_BUILD_RUN || s->kind == WR_BUILD_ENV || s->kind == WR_BUILD_CONFIG ||
               s->kind == WR_BUILD_COPY);
        if (s->kind == WR_BUILD_COPY) {
            /* Inside the context: relative, no `..`; described only
             * against a context (the build's), never the fuzzer's host. */
            check (s->src != NULL && s->src[0] != '\0' && s->src[0] != '/');
            check (strcmp (s->src, "..") != 0 && strncmp (s->src, "../", 3) != 0 &&
                   strstr (s->src, "/../") == NULL);
            check (s->dst != NULL && s->dst[0] != '\0');
            continue;
        }
        if (s->kind == WR_BUILD_RUN) {
            check (wr_strv_length (s->commands) == 1 && s->commands[0][0] != '\0');
            check (strlen (s->commands[0]) <= WR_DOCKERFILE_MAX_LINE);
        }
        if (s->kind == WR_BUILD_ENV)
            check (s->env != NULL && s->env[0] != NULL);
        check_pairs (s->env);
        check_pairs (s->labels);
        check (s->workdir == NULL || (s->workdir[0] != '\0' && strlen (s->workdir) <= 4096));
        cleanup_free char *description = wr_build_step_describe (s, NULL, NULL);
        check (description != NULL);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    const char *text = (const char *) data;
    wr_dockerfile_t df = { 0 };
    cleanup_error wr_error_t err = NULL;
    if (wr_dockerfile_parse (text, size, NULL, &df, &err) < 0) {
        check (err != NULL && err->message[0] != '\0');
        check (wr_is_printable_ascii (err->message));
        check (strncmp (err->message, "line ", 5) == 0 ||
               strncmp (err->message, "the Dockerfile is ", 18) == 0 ||
               strncmp (err->message, "no FROM instruction", 19) == 0);
        check (err->kind == WR_ERROR_INVALID || err->kind == WR_ERROR_LIMIT);
        check (df.from == NULL && df.steps == NULL && df.n_steps == 0);
        return 0;
    }
    check (err == NULL);
    check_steps (&df);
    /* With a base environment only values change, never the shape. */
    char *base_env[] = { "PATH=/usr/bin:/bin", "HOME=/root", "X=$X${X}", NULL };
    wr_dockerfile_t again = { 0 };
    cleanup_error wr_error_t again_err = NULL;
    if (wr_dockerfile_parse (text, size, base_env, &again, &again_err) == 0) {
        check_steps (&again);
        check (again.n_steps == df.n_steps);
        for (size_t i = 0; i < df.n_steps; i++) {
            check (again.steps[i].kind == df.steps[i].kind);
            check (again.step_lines[i] == df.step_lines[i]);
        }
    } else {
        /* Only a longer substituted value may fail where none did. */
        check (again_err->kind == WR_ERROR_LIMIT || again_err->kind == WR_ERROR_INVALID);
    }
    wr_dockerfile_clear (&again);
    wr_dockerfile_clear (&df);
    return 0;
}
