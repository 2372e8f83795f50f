/* Build contexts: the tar archives clients upload for a Dockerfile's COPY
 * (warrend's POST /v1/contexts), kept unpacked in DIR/HEX, HEX the
 * sha256 of the tar.  An archive is untrusted: it is unpacked with the
 * layer unpacker (unpack.h: every path resolved inside the context, the
 * same limits as a layer, no owners kept, overlay attributes dropped) into
 * a temporary directory renamed into place only when whole, so a context
 * is there entirely or not at all.  The same archive twice is unpacked
 * once.  A context is removed when it was not uploaded or used for
 * WR_BUILD_CONTEXT_MAX_AGE seconds (swept at each upload). */
#ifndef WARREN_BUILD_CONTEXT_H
#define WARREN_BUILD_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "digest.h"
#include "error.h"
#include "log.h"
#include "unpack.h"

#define WR_BUILD_CONTEXT_MAX_AGE 3600

typedef struct {
    char digest[WR_DIGEST_MAX_LEN + 1]; /* "sha256:HEX" of the tar */
    unsigned long long bytes; /* the tar's size */
    bool existed; /* the same archive was there already */
} wr_build_context_info_t;

/* Reads a tar archive with READ_FN (the bytes it put in BUF, at most
 * MAX; 0 at the end; -1 with *ERR), hashing it as it comes into a
 * temporary file of DIR (made when missing), and adds it to DIR.  LIMITS
 * may be NULL (the layer defaults).  Errors name the archive by its
 * digest. */
typedef ssize_t (*wr_build_context_read_fn) (void *data, void *buf, size_t max, wr_error_t *err);
int wr_build_context_add (const char *dir, wr_build_context_read_fn read_fn, void *data,
                          const wr_unpack_limits_t *limits, wr_build_context_info_t *info,
                          const wr_log_t *log, wr_error_t *err);

/* The directory of context DIGEST ("sha256:HEX") in DIR, its time of use
 * renewed; NULL with an error of kind invalid (not such a digest) or
 * not_found (never uploaded, or removed as unused).  Caller frees. */
char *wr_build_context_find (const char *dir, const char *digest, wr_error_t *err);

/* Removes the contexts of DIR unused for MAX_AGE seconds, and temporary
 * directories as old (left by a killed warrend).  Returns how many went. */
int wr_build_context_sweep (const char *dir, int64_t max_age, const wr_log_t *log);

#endif
