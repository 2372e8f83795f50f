/* The default profile: the spec as the caller wrote it.  No capabilities are
 * added and runsc gets no extra flags (no --net-raw).  When warren-init is
 * available it becomes PID 1, only to reap zombies and forward signals. */
#include "profile.h"

#include <stddef.h>

static const wr_runsc_flag_t default_runsc_flags[] = {
    { { NULL }, NULL },
};

static int
apply_default (const wr_profile_t *profile, wr_spec_t *spec, const wr_profile_options_t *options,
               wr_error_t *err)
{
    if (wr_profile_add_capabilities (profile, spec, err) < 0)
        return -1;
    if (options->init_host_path != NULL &&
        wr_profile_inject_init (spec, options->init_host_path, profile->init_args, err) < 0)
        return -1;
    return 0;
}

const wr_profile_t wr_profile_default = {
    .name = "default",
    .description = "the spec as given; warren-init as PID 1 to reap zombies",
    .capabilities = NULL,
    .runsc_flags = default_runsc_flags,
    .apply = apply_default,
    .init_args = NULL,
};
