#include "digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

int
wr_digest_validate (const char *digest, wr_error_t *err)
{
    if (digest == NULL)
        return wr_error_set (err, 0, "missing digest");
    /* Quote at most a few dozen bytes of hostile input in messages. */
    const int shown = 80;
    if (strncmp (digest, "sha256:", 7) != 0)
        return wr_error_set (err, 0, "digest `%.*s`: only sha256 digests are supported", shown,
                             digest);
    const char *hex = digest + 7;
    size_t len = strlen (hex);
    if (len != WR_DIGEST_SHA256_HEX_LEN)
        return wr_error_set (err, 0, "digest `%.*s`: a sha256 digest has 64 hex digits, not %zu",
                             shown, digest, len);
    for (size_t i = 0; i < len; i++) {
        char c = hex[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return wr_error_set (err, 0,
                                 "digest `%.*s`: character %zu is not a lowercase hex digit", shown,
                                 digest, i + 8);
    }
    return 0;
}

const char *
wr_digest_hex (const char *digest)
{
    return digest + 7;
}

struct wr_sha256_s {
    EVP_MD_CTX *ctx;
};

wr_sha256_t *
wr_sha256_new (void)
{
    wr_sha256_t *sha = xmalloc (sizeof *sha);
    sha->ctx = EVP_MD_CTX_new ();
    if (sha->ctx == NULL || EVP_DigestInit_ex (sha->ctx, EVP_sha256 (), NULL) != 1)
        abort ();
    return sha;
}

void
wr_sha256_update (wr_sha256_t *sha, const void *data, size_t len)
{
    if (len > 0 && EVP_DigestUpdate (sha->ctx, data, len) != 1)
        abort ();
}

void
wr_sha256_final (wr_sha256_t *sha, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (EVP_DigestFinal_ex (sha->ctx, md, &md_len) != 1 || md_len != 32)
        abort ();
    memcpy (out, "sha256:", 7);
    for (unsigned int i = 0; i < md_len; i++)
        snprintf (out + 7 + 2 * i, 3, "%02x", md[i]);
}

void
wr_sha256_free (wr_sha256_t *sha)
{
    if (sha == NULL)
        return;
    EVP_MD_CTX_free (sha->ctx);
    free (sha);
}

void
wr_sha256_digest (const void *data, size_t len, char *out)
{
    wr_sha256_t *sha = wr_sha256_new ();
    wr_sha256_update (sha, data, len);
    wr_sha256_final (sha, out);
    wr_sha256_free (sha);
}
