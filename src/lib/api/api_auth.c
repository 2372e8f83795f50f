#include "api_auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

bool
wr_api_token_equal (const char *a, size_t len_a, const char *b, size_t len_b)
{
    unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];
    SHA256 ((const unsigned char *) a, len_a, da);
    SHA256 ((const unsigned char *) b, len_b, db);
    /* The digests differ whenever the inputs do (the lengths included). */
    return CRYPTO_memcmp (da, db, sizeof da) == 0 && len_a == len_b;
}

wr_api_auth_t
wr_api_auth_check (const char *authorization, const char *token)
{
    if (authorization == NULL)
        return WR_API_AUTH_MISSING;
    if (strncasecmp (authorization, "Bearer ", 7) != 0)
        return WR_API_AUTH_MALFORMED;
    const char *given = authorization + 7;
    while (*given == ' ')
        given++;
    size_t len = strlen (given);
    while (len > 0 && (given[len - 1] == ' ' || given[len - 1] == '\t'))
        len--;
    if (len == 0)
        return WR_API_AUTH_MALFORMED;
    if (!wr_api_token_equal (given, len, token, strlen (token)))
        return WR_API_AUTH_WRONG;
    return WR_API_AUTH_OK;
}

const char *
wr_api_auth_message (wr_api_auth_t result)
{
    switch (result) {
    case WR_API_AUTH_OK:
        return "authorized";
    case WR_API_AUTH_MISSING:
        return "this listener needs a bearer token: send `Authorization: Bearer TOKEN`";
    case WR_API_AUTH_MALFORMED:
        return "the Authorization header must be `Bearer TOKEN`";
    case WR_API_AUTH_WRONG:
        return "the bearer token is wrong";
    }
    return "unauthorized";
}
