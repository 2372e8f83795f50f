/* OCI runtime backends behind one table of functions: runsc (gVisor), and
 * runc/crun for comparison and for hosts without gVisor.
 *
 * warren-runtime parses runc's command line, applies a profile to the
 * bundle, then asks the backend for the argument vector to run and execs it. */
#ifndef WARREN_RUNTIME_BACKEND_H
#define WARREN_RUNTIME_BACKEND_H

#include <stdbool.h>

#include "error.h"
#include "profile.h"
#include "spec.h"

typedef struct wr_backend_s wr_backend_t;

/* What the backend learned about the installed binary. */
typedef struct {
    char *path; /* absolute path of the binary */
    char *version; /* as printed, e.g. "0.0~20240729.0" */
    int release; /* runsc: the date, e.g. 20240729; 0 when unknown */
    char **flags; /* NULL-terminated list of supported global flags (no "--") */
} wr_backend_info_t;

/* What create/run is about to start. */
typedef struct {
    wr_spec_t *spec;
    const wr_profile_t *profile;
    const char *network_mode; /* chosen by choose_network; "host", "sandbox", "none" */
} wr_launch_t;

typedef struct {
    const char *name; /* "runsc", "runc", "crun" */
    const char *default_binary; /* looked up in PATH */
    int minimum_release; /* 0: no minimum */
    /* Fills info (version, flags). Called once; results may be cached. */
    int (*probe) (wr_backend_t *backend, wr_backend_info_t *info, wr_error_t *err);
    /* Picks the network mode for the spec (NULL when not applicable). */
    const char *(*choose_network) (wr_backend_t *backend, wr_spec_t *spec);
    /* Appends backend-specific global flags for create/run to ARGV. */
    int (*launch_flags) (wr_backend_t *backend, const wr_launch_t *launch, char ***argv,
                         wr_error_t *err);
    /* Runs in the warren-runtime process just before it execs the backend
     * for create/run (e.g. the runsc rmem_default workaround). May be NULL. */
    int (*before_launch) (wr_backend_t *backend, const wr_launch_t *launch, wr_error_t *err);
} wr_backend_ops_t;

extern const wr_backend_ops_t wr_backend_runsc;
extern const wr_backend_ops_t wr_backend_runc;
extern const wr_backend_ops_t wr_backend_crun;

struct wr_backend_s {
    const wr_backend_ops_t *ops;
    char *binary; /* as given (--backend-binary) or default_binary */
    char *state_dir; /* where probe results are cached; may be NULL */
    wr_backend_info_t info;
    bool probed;
};

/* Finds the ops for NAME ("runsc", "runc", "crun"). */
const wr_backend_ops_t *wr_backend_ops_find (const char *name, wr_error_t *err);
wr_backend_t *wr_backend_new (const wr_backend_ops_t *ops, const char *binary,
                              const char *state_dir);
void wr_backend_free (wr_backend_t *backend);
/* Probes once (cached by binary path, size and mtime under state_dir); fails
 * with a message naming the version needed when the binary is missing or
 * too old. */
int wr_backend_probe (wr_backend_t *backend, wr_error_t *err);
bool wr_backend_supports_flag (wr_backend_t *backend, const char *flag);

#endif
