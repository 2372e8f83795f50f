#include "cli_env.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "registry_auth.h"
#include "strv.h"
#include "xalloc.h"

static const char *
nonempty_env (const char *name)
{
    const char *value = getenv (name);
    return value != NULL && value[0] != '\0' ? value : NULL;
}

void
cli_env_registry_defaults (wr_registry_options_t *reg, char **auth_path)
{
    reg->docker_io_mirror = nonempty_env ("WARREN_DOCKER_MIRROR");
    *auth_path = wr_auth_config_default_path (getenv ("DOCKER_CONFIG"), getenv ("HOME"));
    reg->auth_config = *auth_path;
}

static char *
find_in_path (const char *name)
{
    const char *path = nonempty_env ("PATH");
    cleanup_strv char **dirs = wr_strv_split (path != NULL ? path : "/usr/bin:/bin", ":");
    for (size_t i = 0; dirs != NULL && dirs[i] != NULL; i++) {
        cleanup_free char *candidate = xasprintf ("%s/%s", dirs[i], name);
        struct stat st;
        if (stat (candidate, &st) == 0 && S_ISREG (st.st_mode) && access (candidate, X_OK) == 0)
            return steal_pointer (&candidate);
    }
    return NULL;
}

void
cli_env_build_defaults (wr_build_options_t *build, char **runsc_path)
{
    build->apt_mirror = nonempty_env ("WARREN_APT_MIRROR");
    *runsc_path = find_in_path ("runsc");
    build->runsc = *runsc_path;
}
