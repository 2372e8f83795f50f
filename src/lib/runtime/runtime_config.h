/* warren-runtime's config file: what the operator of a machine decides
 * once for every container (today: which profiles the dev.warren.profile
 * annotation may select).
 *
 *   {"annotation_profiles": ["default", "docker"]}
 *
 * A missing file means the defaults; anything else that is not this shape
 * is an error naming the file and the field. */
#ifndef WARREN_RUNTIME_CONFIG_H
#define WARREN_RUNTIME_CONFIG_H

#include <stdbool.h>

#include "error.h"

#define WR_RUNTIME_CONFIG_DEFAULT_PATH "/etc/warren/runtime.json"

typedef struct {
    /* NULL-terminated profile names; NULL: not set (the defaults) */
    char **annotation_profiles;
} wr_runtime_config_t;

int wr_runtime_config_load (const char *path, wr_runtime_config_t *config, wr_error_t *err);
/* "default,docker" (empty: none) into a NULL-terminated list of known
 * profile names; NAME names the source in errors. */
char **wr_runtime_config_parse_profiles (const char *list, const char *name, wr_error_t *err);
void wr_runtime_config_clear (wr_runtime_config_t *config);
#define cleanup_runtime_config __attribute__ ((cleanup (wr_runtime_config_clear)))

#endif
