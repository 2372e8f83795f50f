#include "digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quote.h"
#include "xalloc.h"

int
wr_digest_validate (const char *digest, wr_error_t *err)
{
    if (digest == NULL)
        return wr_error_set (err, 0, "missing digest");
    const char *hex = digest + 7;
    size_t len = strncmp (digest, "sha256:", 7) == 0 ? strlen (hex) : 0;
    size_t bad = 0;
    for (size_t i = 0; len == WR_DIGEST_SHA256_HEX_LEN && i < len && bad == 0; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            bad = i + 8;
    if (len == WR_DIGEST_SHA256_HEX_LEN && bad == 0)
        return 0;
    /* Hostile input: at most 80 bytes of it, quoted. */
    char *quoted = wr_quote (digest, 80);
    if (strncmp (digest, "sha256:", 7) != 0)
        wr_error_set (err, 0, "digest `%s`: only sha256 digests are supported", quoted);
    else if (len != WR_DIGEST_SHA256_HEX_LEN)
        wr_error_set (err, 0, "digest `%s`: a sha256 digest has 64 hex digits, not %zu", quoted,
                      len);
    else
        wr_error_set (err, 0, "digest `%s`: character %zu is not a lowercase hex digit", quoted,
                      bad);
    free (quoted);
    return -1;
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
