/* libFuzzer target: what the registry client reads from the network or
 * from a user's files before trusting it.  The first byte picks the
 * parser: WWW-Authenticate challenges, the "auths" of a Docker
 * config.json, a token service's answer, or a registry's error body. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"
#include "registry_auth.h"
#include "registry_http.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
fuzz_challenges (const char *text)
{
    cleanup_error wr_error_t err = NULL;
    wr_auth_challenge_t *c = NULL;
    size_t n = 0;
    if (wr_auth_parse_challenges (text, &c, &n, &err) < 0) {
        if (err == NULL || c != NULL || n != 0)
            abort ();
        return;
    }
    for (size_t i = 0; i < n; i++) {
        /* Every challenge has a scheme; every parameter a name and value. */
        if (c[i].scheme == NULL || c[i].scheme[0] == '\0')
            abort ();
        for (size_t j = 0; j < c[i].n_params; j++)
            if (c[i].params[j].name == NULL || c[i].params[j].value == NULL)
                abort ();
        (void) wr_auth_challenge_param (&c[i], "realm");
    }
    (void) wr_auth_find_challenge (c, n, "bearer");
    wr_auth_challenges_free (c, n);
}

static void
fuzz_config (const char *data, size_t size)
{
    cleanup_error wr_error_t err = NULL;
    wr_auth_config_t config;
    if (wr_auth_config_parse (data, size, "fuzz.json", &config, &err) < 0)
        return;
    for (size_t i = 0; i < config.count; i++) {
        if (config.items[i].host == NULL || config.items[i].username == NULL ||
            config.items[i].password == NULL)
            abort ();
        if (wr_auth_config_find (&config, config.items[i].host) == NULL)
            abort ();
    }
    (void) wr_auth_config_find (&config, "docker.io");
    wr_auth_config_clear (&config);
}

static void
fuzz_token (const char *data, size_t size)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_free char *token = NULL;
    if (wr_auth_parse_token_answer (data, size, "fuzz", &token, &err) == 0) {
        /* What goes into a header line has no control bytes or spaces. */
        for (const char *p = token; *p; p++)
            if ((unsigned char) *p <= 0x20 || (unsigned char) *p >= 0x7f)
                abort ();
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t which = data[0] % 4;
    data++;
    size--;
    /* The header parser reads C strings (curl hands it lines). */
    cleanup_free char *text = xstrndup ((const char *) data, size);
    switch (which) {
    case 0:
        fuzz_challenges (text);
        break;
    case 1:
        fuzz_config ((const char *) data, size);
        break;
    case 2:
        fuzz_token ((const char *) data, size);
        break;
    default: {
        cleanup_free char *message = wr_http_registry_error ((const char *) data, size);
        (void) message;
        break;
    }
    }
    return 0;
}
