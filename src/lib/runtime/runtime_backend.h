/* OCI runtime backends behind one table of functions: runsc (gVisor), and
 * runc/crun for comparison and for hosts without gVisor.
 *
 * warren-runtime parses runc's command line, applies a profile to the
 * bundle, then asks the backend for the argument vector to run and execs it. */
#ifndef WARREN_RUNTIME_BACKEND_H
#define WARREN_RUNTIME_BACKEND_H

#include <stdbool.h>

#include "error.h"
#include "log.h"
#include "profile.h"
#include "spec.h"

typedef struct wr_backend_s wr_backend_t;

/* What the backend learned about the installed binary. */
typedef struct {
    char *path; /* absolute path of the binary */
    char *version; /* as printed, e.g. "0.0~20240729.0" */
    int release; /* runsc: the date, e.g. 20240729; 0 when unknown */
    char **flags; /* NULL-terminated list of supported global flags (no "--") */
    char **commands; /* NULL-terminated list of its commands ("create", ...) */
    char *spec_version; /* the OCI spec version it implements; NULL when not printed */
    /* runsc: 1 when /proc/sys/net/core/rmem_default exists in a network
     * namespace other than the initial one (Linux 6.8 and newer), 0 when it
     * does not, -1 when that could not be checked. */
    int rmem_default_in_every_netns;
} wr_backend_info_t;

/* What create/run is about to start. */
typedef struct {
    wr_spec_t *spec;
    const wr_profile_t *profile;
    const char *network_mode; /* chosen by choose_network; "host", "sandbox", "none" */
    /* The global flags the caller gave for the backend (after translation),
     * NULL-terminated, may be NULL: launch_flags adds no flag whose name is
     * already there, so the caller's choice wins. */
    char *const *user_flags;
    /* "create", "run", or "start" (after create: then spec and profile are
     * NULL and network_mode is what create chose). */
    const char *command;
} wr_launch_t;

typedef struct {
    const char *name; /* "runsc", "runc", "crun" */
    /* Containers get a kernel of their own (gVisor's), not the host's. */
    bool is_sandbox;
    const char *default_binary; /* looked up in PATH */
    int minimum_release; /* 0: no minimum */
    const char *install_hint; /* how to install it, for error messages */
    /* Fills info (version, flags). Called once; results may be cached. */
    int (*probe) (wr_backend_t *backend, wr_backend_info_t *info, wr_error_t *err);
    /* Picks the network mode for the spec (NULL when not applicable). */
    const char *(*choose_network) (wr_backend_t *backend, wr_spec_t *spec);
    /* Appends backend-specific global flags for create/run to ARGV. */
    int (*launch_flags) (wr_backend_t *backend, const wr_launch_t *launch, char ***argv,
                         wr_error_t *err);
    /* Runs in the warren-runtime process just before it execs the backend
     * for create, run and start (e.g. the runsc rmem_default workaround).
     * The backend must have been probed.  May be NULL. */
    int (*before_launch) (wr_backend_t *backend, const wr_launch_t *launch, wr_error_t *err);
    /* Rewrites one of runc's global flags for this backend: appends zero or
     * more arguments to ARGV.  NAME has no dashes; VALUE is NULL for a flag
     * given without a value.  NULL: passed on as --NAME[=VALUE]. */
    void (*translate_global) (const char *name, const char *value, char ***argv);
} wr_backend_ops_t;

extern const wr_backend_ops_t wr_backend_runsc;
extern const wr_backend_ops_t wr_backend_runc;
extern const wr_backend_ops_t wr_backend_crun;

struct wr_backend_s {
    const wr_backend_ops_t *ops;
    char *binary; /* as given (--backend-binary) or default_binary */
    char *state_dir; /* where probe results are cached; may be NULL */
    char
        *search_path; /* where a binary without '/' is looked for ($PATH's form); NULL: the usual */
    wr_backend_info_t info;
    bool probed;
    bool probe_cached; /* the last probe came from the cache */
    const wr_log_t *log; /* wr_backend_set_log; NULL: the standard log */
};

/* Finds the ops for NAME ("runsc", "runc", "crun"). */
const wr_backend_ops_t *wr_backend_ops_find (const char *name, wr_error_t *err);
wr_backend_t *wr_backend_new (const wr_backend_ops_t *ops, const char *binary,
                              const char *state_dir);
void wr_backend_free (wr_backend_t *backend);
/* The directories (colon-separated, as $PATH) where a binary named without
 * a '/' is looked for; main passes $PATH.  NULL: the usual system ones. */
void wr_backend_set_search_path (wr_backend_t *backend, const char *search_path);
/* Where the backend's lines (probes, flags, launches) go; NULL, the
 * default: the standard log.  LOG must outlive the backend. */
void wr_backend_set_log (wr_backend_t *backend, const wr_log_t *log);

static inline void
wr_backend_cleanup (wr_backend_t **backend)
{
    wr_backend_free (*backend);
}
#define cleanup_backend __attribute__ ((cleanup (wr_backend_cleanup)))
bool wr_backend_supports_flag (wr_backend_t *backend, const char *flag);
bool wr_backend_supports_command (wr_backend_t *backend, const char *command);

/* Where probe results are cached: WARREN_ROOT/run (main passes
 * $WARREN_ROOT), else /run/warren. */
char *wr_backend_default_state_dir (const char *warren_root);
/* The absolute path of BINARY: itself when it holds a '/', else the first
 * executable of that name in SEARCH_PATH (colon-separated; NULL: the usual
 * system directories).  NULL (and *err) when there is none. */
char *wr_backend_find_binary (const wr_backend_ops_t *ops, const char *binary,
                              const char *search_path, wr_error_t *err);
/* The error for a backend binary that could not be found or run. */
int wr_backend_error_missing (const wr_backend_ops_t *ops, const char *binary, int errno_value,
                              wr_error_t *err);

/* The name of a flag argument: "--net-raw=false" and "-net-raw" give
 * "net-raw"; NULL when ARG is not a flag. Caller frees. */
char *wr_flag_name (const char *arg);
/* Whether one of FLAGS (arguments like "--network=host") sets flag NAME. */
bool wr_flags_have (char *const *flags, const char *name);
/* Appends "--SPELLING" for the first spelling of FLAG the backend
 * supports (nothing when it supports none). A spelling may carry a value
 * ("name=value"); only the name is looked up. Returns whether it added one. */
bool wr_backend_add_supported_flag (wr_backend_t *backend, const wr_runsc_flag_t *flag,
                                    char ***argv);

void wr_backend_info_clear (wr_backend_info_t *info);

#endif
