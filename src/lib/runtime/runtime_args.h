/* warren-runtime's command line: runc's, plus a few flags of warren's own.
 *
 *   warren-runtime [GLOBAL FLAGS] COMMAND [COMMAND FLAGS AND ARGUMENTS]
 *
 * Global flags are of three kinds: warren's own (--profile, --backend,
 * --backend-binary, --init), consumed here; runc's (--root, --log,
 * --log-format, --debug, --systemd-cgroup, --criu, --rootless), translated
 * for the backend; and any other, passed to the backend as given (Docker's
 * runtimeArgs such as --network=host or --platform=ptrace).  The command and
 * its arguments are passed on unchanged. */
#ifndef WARREN_RUNTIME_ARGS_H
#define WARREN_RUNTIME_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "runtime_backend.h"

/* The name under which warren-runtime uses the docker profile by default. */
#define WR_RUNTIME_DOCKER_NAME "warren-runtime-docker"

typedef struct {
    char *name; /* without leading dashes */
    char *value; /* NULL for a flag without a value */
    bool runc; /* one of runc's global flags (translated), else passed as given */
    char *given; /* unknown flags: the argument to pass on */
} wr_global_flag_t;

typedef struct {
    /* warren's own flags; NULL when not given */
    char *profile;
    char *backend;
    char *backend_binary;
    char *init;
    char *annotation_profiles; /* "default,docker": what annotations may select */
    char *config; /* warren-runtime's config file */
    bool profile_from_name; /* profile set because argv[0] is warren-runtime-docker */
    /* runc's flags, as the last occurrence set them */
    char *root;
    char *log;
    char *log_format;
    bool debug;
    bool systemd_cgroup;
    bool help;
    bool version;
    /* every global flag for the backend, in the order given */
    wr_global_flag_t *globals;
    size_t n_globals;
    char *command; /* NULL when none was given */
    char **command_args; /* what follows the command; never NULL */
} wr_runtime_args_t;

int wr_runtime_args_parse (wr_runtime_args_t *args, int argc, char *const *argv, wr_error_t *err);
void wr_runtime_args_clear (wr_runtime_args_t *args);
#define cleanup_runtime_args __attribute__ ((cleanup (wr_runtime_args_clear)))

/* Whether COMMAND is one that starts a container (create, run): those get
 * the profile and the backend's launch flags. */
bool wr_runtime_command_launches (const char *command);

/* The backend to use: --backend, else FALLBACK (main passes
 * $WARREN_BACKEND; NULL or empty: none), else "runsc". */
const char *wr_runtime_args_backend_name (const wr_runtime_args_t *args, const char *fallback);
/* Its binary: --backend-binary, else RUNSC_FALLBACK for runsc (main passes
 * $WARREN_RUNSC), else NULL (the backend's default, found in the search
 * path). */
const char *wr_runtime_args_backend_binary (const wr_runtime_args_t *args,
                                            const wr_backend_ops_t *ops,
                                            const char *runsc_fallback);

/* The global flags for the backend, translated by OPS (NULL-terminated). */
char **wr_runtime_args_backend_globals (const wr_runtime_args_t *args, const wr_backend_ops_t *ops);
/* The value of the last --network=MODE global flag, or NULL. */
const char *wr_runtime_args_network (const wr_runtime_args_t *args);

/* For create and run: the bundle directory (--bundle/-b, else the current
 * directory) as an absolute path. */
char *wr_runtime_args_bundle (const wr_runtime_args_t *args, wr_error_t *err);
/* The container ID: the first argument after the command's flags, or NULL. */
const char *wr_runtime_args_container_id (const wr_runtime_args_t *args);
/* Whether the command's flags (before the container ID) include --NAME or
 * -ALIAS (ALIAS may be NULL), e.g. run's --detach/-d. */
bool wr_runtime_args_command_flag (const wr_runtime_args_t *args, const char *name,
                                   const char *alias);

#endif
