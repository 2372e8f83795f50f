/* What warren-runtime does for `create` and `run` before it hands the
 * bundle to the backend: apply the profile to config.json and work out the
 * backend's flags. */
#ifndef WARREN_RUNTIME_LAUNCH_H
#define WARREN_RUNTIME_LAUNCH_H

#include "error.h"
#include "runtime_backend.h"

typedef struct {
    const char *command; /* "create" or "run" */
    const char *bundle; /* absolute bundle directory */
    const char *requested_profile; /* --profile, or NULL */
    /* Profiles the dev.warren.profile annotation may select
     * (NULL-terminated; NULL: wr_profile_annotation_default_allowed). */
    const char *const *annotation_profiles;
    const char *init_path; /* warren-init on the host, or NULL when not found */
    const char *init_searched; /* where it was looked for (for the error), or NULL */
    const char *explicit_network; /* the caller's --network=MODE, or NULL */
    char *const *user_flags; /* the caller's global flags, translated for the backend */
    /* Where to remember the launch flags for the container's later
     * commands (see runtime_record.h), or NULL. */
    const char *record_path;
} wr_launch_request_t;

/* Probes the backend, loads BUNDLE/config.json, selects and applies the
 * profile, saves config.json when that changed it, appends the backend's
 * launch flags to *LAUNCH_FLAGS and runs the backend's before_launch step.
 * *PROFILE_NAME (when not NULL) gets the name of the profile applied. */
int wr_runtime_launch_prepare (wr_backend_t *backend, const wr_launch_request_t *request,
                               char ***launch_flags, const char **profile_name, wr_error_t *err);

/* For a command on a container made by create (start, exec, kill, delete,
 * ...): appends the launch flags create chose and the caller did not give
 * again to *FLAGS, and for `start` runs the backend's before_launch step
 * with the network mode create chose (EXPLICIT_NETWORK, the caller's
 * --network, wins).  Nothing happens when RECORD_PATH holds no record.
 * (After `delete`, the caller forgets the record with
 * wr_runtime_record_remove once the container is gone.) */
int wr_runtime_launch_follow_up (wr_backend_t *backend, const char *command,
                                 const char *record_path, const char *explicit_network,
                                 char *const *user_flags, char ***flags, wr_error_t *err);

/* Finds warren-init on the host.  EXPLICIT (from --init or $WARREN_INIT)
 * must exist when given.  Otherwise looks next to SELF_EXE, then in
 * ../warren-init/ relative to it (a meson build tree), then in LIBEXECDIR.
 * *PATH is NULL when it is nowhere; *SEARCHED (when not NULL) lists the
 * places looked at. */
int wr_runtime_find_init (const char *explicit, const char *self_exe, const char *libexecdir,
                          char **path, char **searched, wr_error_t *err);

#endif
