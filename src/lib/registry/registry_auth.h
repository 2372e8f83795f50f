/* The parts of registry authentication that read untrusted text:
 * WWW-Authenticate challenges (RFC 7235), the "auths" of a Docker-style
 * config.json, and a token service's answer.  Used by registry.c; public
 * so that they can be tested and fuzzed on their own. */
#ifndef WARREN_REGISTRY_AUTH_H
#define WARREN_REGISTRY_AUTH_H

#include <stddef.h>

#include "error.h"

/* Largest header, config.json and token answer accepted. */
#define WR_AUTH_MAX_HEADER (16 * 1024)
#define WR_AUTH_MAX_CONFIG (1024 * 1024)
#define WR_AUTH_MAX_TOKEN_ANSWER (1024 * 1024)

typedef struct {
    char *name; /* lower case */
    char *value; /* unquoted, escapes resolved */
} wr_auth_param_t;

typedef struct {
    char *scheme; /* lower case: "bearer", "basic", ... */
    char *token68; /* "Scheme token68" form; NULL when absent */
    wr_auth_param_t *params;
    size_t n_params;
} wr_auth_challenge_t;

/* Parses the value of one or more WWW-Authenticate headers (several
 * headers joined with ", "), e.g.
 *   Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"
 * Quoted strings may hold escaped quotes and commas; several challenges may
 * follow each other.  Errors say what is wrong and where. */
int wr_auth_parse_challenges (const char *header, wr_auth_challenge_t **challenges, size_t *count,
                              wr_error_t *err);
/* The value of parameter NAME (case-insensitive) of CHALLENGE, or NULL. */
const char *wr_auth_challenge_param (const wr_auth_challenge_t *challenge, const char *name);
/* The first challenge of scheme SCHEME (case-insensitive), or NULL. */
const wr_auth_challenge_t *wr_auth_find_challenge (const wr_auth_challenge_t *challenges,
                                                   size_t count, const char *scheme);
void wr_auth_challenges_free (wr_auth_challenge_t *challenges, size_t count);

typedef struct {
    char *host; /* wr_auth_normalize_host of the key */
    char *username;
    char *password;
} wr_auth_credential_t;

typedef struct {
    wr_auth_credential_t *items;
    size_t count;
} wr_auth_config_t;

/* "https://index.docker.io/v1/" -> "docker.io", "http://Host:5000/x" ->
 * "host:5000": no scheme, no path, lower case, Docker Hub's names folded
 * into "docker.io".  Caller frees. */
char *wr_auth_normalize_host (const char *key);

/* Parses the "auths" map of a Docker config.json: each entry has "auth"
 * (base64 of user:password) or "username" and "password".  Entries with
 * neither (credential helpers, identity tokens) are left out.  NAME is used
 * in errors. */
int wr_auth_config_parse (const char *data, size_t len, const char *name, wr_auth_config_t *config,
                          wr_error_t *err);
/* Reads PATH; a missing file gives an empty config. */
int wr_auth_config_load (const char *path, wr_auth_config_t *config, wr_error_t *err);
/* Where Docker keeps credentials: DOCKER_CONFIG/config.json, else
 * HOME/.docker/config.json (NULL when both are NULL or empty).  The caller
 * passes the values of $DOCKER_CONFIG and $HOME; the library reads no
 * environment.  Caller frees. */
char *wr_auth_config_default_path (const char *docker_config, const char *home);
/* The credentials for REGISTRY (host[:port] or a config key), or NULL. */
const wr_auth_credential_t *wr_auth_config_find (const wr_auth_config_t *config,
                                                 const char *registry);
void wr_auth_config_clear (wr_auth_config_t *config);

/* The token of a token service's JSON answer ("token", else
 * "access_token"); refused when it is empty or holds bytes that cannot go
 * in a header.  Caller frees *TOKEN. */
int wr_auth_parse_token_answer (const char *data, size_t len, const char *name, char **token,
                                wr_error_t *err);

/* "Basic base64(user:password)" for an Authorization header.  Caller frees. */
char *wr_auth_basic_header (const char *username, const char *password);

#endif
