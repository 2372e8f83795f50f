/* What the warren command takes from its environment.  The library reads
 * none: these fill its option structs before a command's flags do. */
#ifndef WARREN_CLI_ENV_H
#define WARREN_CLI_ENV_H

#include "image_build.h"
#include "registry.h"

/* $WARREN_DOCKER_MIRROR as the docker.io mirror, and Docker's credentials
 * file ($DOCKER_CONFIG/config.json or ~/.docker/config.json).  The path
 * is kept in *AUTH_PATH (the caller frees it); a flag may replace both. */
void cli_env_registry_defaults (wr_registry_options_t *reg, char **auth_path);
/* $WARREN_APT_MIRROR, and runsc as found in $PATH (*RUNSC_PATH, freed by
 * the caller; left NULL when not found, so the library's default holds). */
void cli_env_build_defaults (wr_build_options_t *build, char **runsc_path);

#endif
