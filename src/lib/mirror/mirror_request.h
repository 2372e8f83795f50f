/* What a sandbox's dockerd sends the mirror (untrusted: a sandbox can send
 * anything): the head of one HTTP/1.1 request, bounded (a line of 8 KiB,
 * 64 header lines, 32 KiB in all), and its target read as a route of the
 * distribution API: /v2/, /v2/NAME/manifests/REFERENCE,
 * /v2/NAME/blobs/DIGEST, with NAME checked against the distribution
 * spec's grammar. */
#ifndef WARREN_MIRROR_REQUEST_H
#define WARREN_MIRROR_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define WR_MIRROR_MAX_LINE 8192
#define WR_MIRROR_MAX_HEADERS 64
#define WR_MIRROR_MAX_HEAD (32 * 1024)
/* The distribution spec's limit on a repository name. */
#define WR_MIRROR_MAX_NAME 255

typedef struct {
    char method[16]; /* as sent ("GET"); any token of up to 15 bytes */
    char *path; /* the target without its query, starting with '/' */
    int minor; /* HTTP/1.MINOR (0 or 1) */
    bool keep_alive; /* the connection stays open after the answer */
    bool has_body; /* a Content-Length other than 0, or a Transfer-Encoding */
    char *accept; /* every Accept header's value, joined with ", "; NULL: none */
} wr_mirror_request_t;

/* Parses the head at the start of BUF (LEN bytes).  1: a whole head, of
 * *HEAD_LEN bytes, is in *REQ (clear it with wr_mirror_request_clear); 0:
 * not yet (read more; LEN is within the limits); -1: refused, with
 * *STATUS (400 malformed, 414 a line too long, 431 too many or too large
 * headers, 505 not HTTP/1.x) and *ERR saying what was wrong (hostile text
 * quoted). */
int wr_mirror_request_parse (const char *buf, size_t len, wr_mirror_request_t *req,
                             size_t *head_len, int *status, wr_error_t *err);
void wr_mirror_request_clear (wr_mirror_request_t *req);

typedef enum {
    WR_MIRROR_ROUTE_BASE, /* /v2/ */
    WR_MIRROR_ROUTE_MANIFEST, /* /v2/NAME/manifests/REFERENCE */
    WR_MIRROR_ROUTE_BLOB, /* /v2/NAME/blobs/DIGEST */
} wr_mirror_route_kind_t;

typedef struct {
    wr_mirror_route_kind_t kind;
    char *name; /* "library/nginx"; NULL for BASE */
    char *reference; /* a tag or a digest (a blob's: always a digest) */
    bool by_digest; /* REFERENCE is a digest (checked with wr_digest_validate) */
} wr_mirror_route_t;

/* Reads PATH as a route.  -1 with *STATUS and *CODE (the distribution
 * spec's error code: 404 UNSUPPORTED for a path the mirror does not
 * serve, 400 NAME_INVALID, TAG_INVALID or DIGEST_INVALID) and *ERR. */
int wr_mirror_route_parse (const char *path, wr_mirror_route_t *route, int *status,
                           const char **code, wr_error_t *err);
void wr_mirror_route_clear (wr_mirror_route_t *route);

/* NAME is a repository name of the distribution spec:
 * [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* components joined with '/', at most
 * 255 bytes. */
bool wr_mirror_name_valid (const char *name);

/* Whether ACCEPT (a request's joined Accept values; NULL or empty: any)
 * takes MEDIA_TYPE: listed (parameters ignored), or a wildcard. */
bool wr_mirror_accepts (const char *accept, const char *media_type);

#endif
