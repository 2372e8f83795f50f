/* The default profile: the spec as the caller wrote it.  No capabilities are
 * added, runsc gets no extra flags (no --net-raw) and no process is added:
 * every extra process costs a sandbox 25-40 ms to start on a 2-core
 * machine (bench/RESULTS.md), more than warren-runtime's whole budget.
 * Callers that want a reaping PID 1 use `docker run --init` or a profile
 * that injects warren-init. */
#include "profile.h"

#include <stddef.h>

static const wr_runsc_flag_t default_runsc_flags[] = {
    { { NULL }, NULL },
};

static int
apply_default (const wr_profile_t *profile, wr_spec_t *spec, const wr_profile_options_t *options,
               wr_error_t *err)
{
    return wr_profile_add_capabilities (profile, spec, err);
}

const wr_profile_t wr_profile_default = {
    .name = "default",
    .description = "the spec as given: nothing added",
    .capabilities = NULL,
    .runsc_flags = default_runsc_flags,
    .apply = apply_default,
    .init_args = NULL,
    .needs_sandbox = false,
};
