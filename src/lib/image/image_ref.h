/* Image references, normalised the way Docker normalises them:
 * "ubuntu:22.04" is docker.io/library/ubuntu:22.04, "localhost:5000/a/b@sha256:..."
 * keeps its host and port, a reference without tag or digest gets "latest". */
#ifndef WARREN_IMAGE_REF_H
#define WARREN_IMAGE_REF_H

#include "error.h"

#define WR_DOCKER_HUB "docker.io"

typedef struct {
    char *registry; /* "docker.io", "127.0.0.1:5000", "[::1]:5000" */
    char *repository; /* "library/ubuntu" */
    char *tag; /* "22.04"; NULL when only a digest was given */
    char *digest; /* "sha256:..."; NULL when not given */
} wr_image_ref_t;

/* Parses and normalises TEXT.  Errors name the reference and the rule it
 * breaks (upper case in a repository, a bad tag, a bad digest, too long).
 * docker.io, index.docker.io and registry-1.docker.io all become
 * "docker.io".  On failure *REF is left cleared. */
int wr_image_ref_parse (const char *text, wr_image_ref_t *ref, wr_error_t *err);
/* "registry/repository:tag@digest" (the parts that are set). Caller frees. */
char *wr_image_ref_string (const wr_image_ref_t *ref);
/* The short form Docker shows ("ubuntu:22.04" for docker.io/library/...);
 * it keeps "docker.io/" where the short form would parse differently
 * ("docker.io/localhost/x"). */
char *wr_image_ref_familiar (const wr_image_ref_t *ref);
/* The normalised string of TEXT ("busybox" gives
 * "docker.io/library/busybox:latest"), or a copy of TEXT when it does not
 * parse (a name in the store may be looked up as typed).  Caller frees. */
char *wr_image_ref_normalize_text (const char *text);
/* What to ask the registry for: the digest when set, else the tag. */
const char *wr_image_ref_reference (const wr_image_ref_t *ref);
void wr_image_ref_clear (wr_image_ref_t *ref);

#endif
