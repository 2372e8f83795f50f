/* Bearer tokens on the TCP listener.  The comparison takes the same time
 * whatever the bytes and the length of what the client sent: both sides
 * are hashed (SHA-256) and the digests compared without an early exit, so
 * timing tells an attacker neither a prefix nor the token's length. */
#ifndef WARREN_API_AUTH_H
#define WARREN_API_AUTH_H

#include <stdbool.h>
#include <stddef.h>

/* Whether A (LEN_A bytes) equals B (LEN_B bytes), in constant time. */
bool wr_api_token_equal (const char *a, size_t len_a, const char *b, size_t len_b);

typedef enum {
    WR_API_AUTH_OK,
    WR_API_AUTH_MISSING, /* no Authorization header */
    WR_API_AUTH_MALFORMED, /* not "Bearer TOKEN" */
    WR_API_AUTH_WRONG,
} wr_api_auth_t;

/* Checks an Authorization header value (NULL: absent) against TOKEN. */
wr_api_auth_t wr_api_auth_check (const char *authorization, const char *token);

/* What a 401 says for each failure. */
const char *wr_api_auth_message (wr_api_auth_t result);

#endif
