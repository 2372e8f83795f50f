/* Content digests ("sha256:<64 hex>") and streaming SHA-256 (OpenSSL).
 *
 * A digest string is untrusted until wr_digest_validate() accepts it: only
 * then may it become part of a path. */
#ifndef WARREN_DIGEST_H
#define WARREN_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define WR_DIGEST_SHA256_HEX_LEN 64
/* "sha256:" + 64 hex digits */
#define WR_DIGEST_MAX_LEN (7 + WR_DIGEST_SHA256_HEX_LEN)

/* Accepts only "sha256:" followed by exactly 64 lowercase hex digits; the
 * error names the digest (quoted, truncated) and what is wrong with it. */
int wr_digest_validate (const char *digest, wr_error_t *err);
/* The hex part of a valid digest (points into DIGEST). */
const char *wr_digest_hex (const char *digest);

typedef struct wr_sha256_s wr_sha256_t;
wr_sha256_t *wr_sha256_new (void);
void wr_sha256_update (wr_sha256_t *sha, const void *data, size_t len);
/* Writes "sha256:<hex>" into OUT (at least WR_DIGEST_MAX_LEN + 1 bytes). */
void wr_sha256_final (wr_sha256_t *sha, char *out);
void wr_sha256_free (wr_sha256_t *sha);
/* The digest of DATA as "sha256:<hex>" in OUT. */
void wr_sha256_digest (const void *data, size_t len, char *out);

#endif
