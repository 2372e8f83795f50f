/* The runc and crun backends: the same command line, run on the host
 * kernel.  For comparison with runsc and for hosts without gVisor; runsc
 * flags a profile asks for do not apply and are left out. */
#include "runtime_backend.h"
#include "runtime_probe.h"

#include <stdlib.h>
#include <sys/wait.h>

#include "cleanup.h"
#include "log.h"
#include "strv.h"
#include "xalloc.h"

static int
runc_like_probe (wr_backend_t *backend, wr_backend_info_t *info, wr_error_t *err)
{
    if (wr_backend_probe_version (info, err) < 0)
        return -1;
    info->release = 0;

    int status = 0;
    static const char *const help_args[] = { "--help", NULL };
    cleanup_free char *help_out = wr_backend_run (info->path, help_args, &status, err);
    if (help_out == NULL)
        return -1;
    info->flags = wr_backend_parse_flags (help_out);
    info->commands = wr_backend_parse_commands (help_out);
    return 0;
}

static const char *
runc_like_choose_network (wr_backend_t *backend, wr_spec_t *spec)
{
    return NULL;
}

static int
runc_like_launch_flags (wr_backend_t *backend, const wr_launch_t *launch, char ***argv,
                        wr_error_t *err)
{
    const wr_runsc_flag_t *flags = launch->profile ? launch->profile->runsc_flags : NULL;
    if (flags != NULL && flags[0].spellings[0] != NULL)
        wr_log_to (backend->log, WR_LOG_DEBUG,
                   "runsc flags of the profile do not apply to this backend", "backend",
                   backend->ops->name, "profile", launch->profile->name, NULL);
    return 0;
}

const wr_backend_ops_t wr_backend_runc = {
    .name = "runc",
    .is_sandbox = false,
    .default_binary = "runc",
    .minimum_release = 0,
    .install_hint = "apt-get install runc",
    .probe = runc_like_probe,
    .choose_network = runc_like_choose_network,
    .launch_flags = runc_like_launch_flags,
    .before_launch = NULL,
    .translate_global = NULL,
};

const wr_backend_ops_t wr_backend_crun = {
    .name = "crun",
    .is_sandbox = false,
    .default_binary = "crun",
    .minimum_release = 0,
    .install_hint = "apt-get install crun",
    .probe = runc_like_probe,
    .choose_network = runc_like_choose_network,
    .launch_flags = runc_like_launch_flags,
    .before_launch = NULL,
    .translate_global = NULL,
};
