/* What warren-runtime does for `create` and `run` before it hands the
 * bundle to the backend: apply the profile to config.json and work out the
 * backend's flags. */
#ifndef WARREN_RUNTIME_LAUNCH_H
#define WARREN_RUNTIME_LAUNCH_H

#include "error.h"
#include "runtime_backend.h"

typedef struct {
    const char *bundle; /* absolute bundle directory */
    const char *requested_profile; /* --profile, or NULL */
    const char *init_path; /* warren-init on the host, or NULL when not found */
    const char *init_searched; /* where it was looked for (for the error), or NULL */
    const char *explicit_network; /* the caller's --network=MODE, or NULL */
    char *const *user_flags; /* the caller's global flags, translated for the backend */
} wr_launch_request_t;

/* Probes the backend, loads BUNDLE/config.json, selects and applies the
 * profile, saves config.json when that changed it, appends the backend's
 * launch flags to *LAUNCH_FLAGS and runs the backend's before_launch step.
 * *PROFILE_NAME (when not NULL) gets the name of the profile applied. */
int wr_runtime_launch_prepare (wr_backend_t *backend, const wr_launch_request_t *request,
                               char ***launch_flags, const char **profile_name, wr_error_t *err);

/* Finds warren-init on the host.  EXPLICIT (from --init or $WARREN_INIT)
 * must exist when given.  Otherwise looks next to SELF_EXE, then in
 * ../warren-init/ relative to it (a meson build tree), then in LIBEXECDIR.
 * *PATH is NULL when it is nowhere; *SEARCHED (when not NULL) lists the
 * places looked at. */
int wr_runtime_find_init (const char *explicit, const char *self_exe, const char *libexecdir,
                          char **path, char **searched, wr_error_t *err);

#endif
