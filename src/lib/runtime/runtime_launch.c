#include "runtime_launch.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "profile.h"
#include "runtime_probe.h"
#include "runtime_record.h"
#include "spec.h"
#include "strv.h"
#include "xalloc.h"

int
wr_runtime_find_init (const char *explicit, const char *self_exe, const char *libexecdir,
                      char **path, char **searched, wr_error_t *err)
{
    *path = NULL;
    if (searched != NULL)
        *searched = NULL;
    if (explicit != NULL) {
        if (access (explicit, X_OK) < 0)
            return wr_error_set (err, errno, "warren-init `%s`", explicit);
        /* It is bind-mounted into the sandbox, which needs an absolute path. */
        *path = realpath (explicit, NULL);
        if (*path == NULL)
            return wr_error_set (err, errno, "warren-init `%s`", explicit);
        return 0;
    }
    cleanup_strv char **candidates = NULL;
    if (self_exe != NULL) {
        cleanup_free char *copy = xstrdup (self_exe);
        const char *dir = dirname (copy);
        wr_strv_add_take (&candidates, xasprintf ("%s/warren-init", dir));
        wr_strv_add_take (&candidates, xasprintf ("%s/../warren-init/warren-init", dir));
    }
    if (libexecdir != NULL)
        wr_strv_add_take (&candidates, xasprintf ("%s/warren-init", libexecdir));
    for (size_t i = 0; candidates != NULL && candidates[i] != NULL; i++) {
        if (access (candidates[i], X_OK) == 0) {
            cleanup_free char *resolved = realpath (candidates[i], NULL);
            *path = resolved ? steal_pointer (&resolved) : xstrdup (candidates[i]);
            return 0;
        }
    }
    if (searched != NULL)
        *searched = wr_strv_join (candidates, ", ");
    return 0;
}

static int
apply_profile (const wr_profile_t *profile, wr_spec_t *spec, const wr_launch_request_t *request,
               const char *network_mode, wr_error_t *err)
{
    /* A profile that runs warren-init (init_args set: the docker profile)
     * needs it in the sandbox, so a missing one is an error here rather
     * than a sandbox that silently lacks it. */
    if (request->init_path == NULL && profile->init_args != NULL)
        return wr_error_set (err, 0,
                             "profile `%s` needs warren-init on the host, and it was not found "
                             "(looked in: %s): pass --init PATH or set WARREN_INIT",
                             profile->name,
                             request->init_searched ? request->init_searched : "nowhere");
    wr_profile_options_t options = {
        .init_host_path = request->init_path,
        .network_mode = network_mode,
    };
    if (wr_profile_apply (profile, spec, &options, err) < 0)
        return -1;
    return 0;
}

int
wr_runtime_launch_prepare (wr_backend_t *backend, const wr_launch_request_t *request,
                           char ***launch_flags, const char **profile_name, wr_error_t *err)
{
    const wr_backend_ops_t *ops = backend->ops;
    cleanup_free char *config = xasprintf ("%s/config.json", request->bundle);
    cleanup_spec wr_spec_t *spec = wr_spec_load (config, err);
    if (spec == NULL)
        return -1;
    const wr_profile_t *profile =
        wr_profile_select (spec, request->requested_profile, request->annotation_profiles, err);
    if (profile == NULL)
        return -1;
    /* Refused before anything is made or run. */
    if (wr_profile_check_backend (profile, ops->name, ops->is_sandbox, err) < 0)
        return -1;
    if (wr_backend_probe (backend, err) < 0)
        return -1;
    if (profile_name != NULL)
        *profile_name = profile->name;

    const char *network_mode = request->explicit_network;
    if (network_mode == NULL && ops->choose_network != NULL)
        network_mode = ops->choose_network (backend, spec);

    /* Only write config.json back when the profile changed it: the caller
     * owns the file, and an unchanged one needs no write (nor fsync). */
    cleanup_free char *before = wr_spec_to_string (spec);
    if (apply_profile (profile, spec, request, network_mode, err) < 0)
        return -1;
    cleanup_free char *after = wr_spec_to_string (spec);
    if (strcmp (before, after) != 0 && wr_spec_save (spec, config, err) < 0)
        return -1;

    wr_launch_t launch = {
        .spec = spec,
        .profile = profile,
        .network_mode = network_mode,
        .user_flags = request->user_flags,
        .command = request->command,
    };
    size_t first_flag = wr_strv_length (*launch_flags);
    if (ops->launch_flags != NULL && ops->launch_flags (backend, &launch, launch_flags, err) < 0)
        return -1;
    if (ops->before_launch != NULL && ops->before_launch (backend, &launch, err) < 0)
        return -1;
    if (request->record_path != NULL) {
        wr_runtime_record_t record = {
            .network_mode = (char *) network_mode,
            .flags = *launch_flags ? *launch_flags + first_flag : NULL,
        };
        if (wr_runtime_record_save (request->record_path, &record, err) < 0)
            return wr_error_prefix (err, "remember the container's flags");
    }
    wr_log_to (backend->log, WR_LOG_DEBUG, "launching", "backend", ops->name, "profile",
               profile->name, "network", network_mode ? network_mode : "", "bundle",
               request->bundle, NULL);
    return 0;
}

int
wr_runtime_launch_follow_up (wr_backend_t *backend, const char *command, const char *record_path,
                             const char *explicit_network, char *const *user_flags, char ***flags,
                             wr_error_t *err)
{
    if (record_path == NULL)
        return 0;
    wr_runtime_record_t record;
    int found = wr_runtime_record_load (record_path, &record, err);
    if (found <= 0)
        return found;
    for (size_t i = 0; record.flags[i] != NULL; i++) {
        cleanup_free char *name = wr_flag_name (record.flags[i]);
        if (name == NULL || !wr_flags_have (user_flags, name))
            wr_strv_add (flags, record.flags[i]);
    }
    int r = 0;
    /* delete: the record is forgotten by the caller once the container is
     * gone (a refused delete keeps it). */
    if (strcmp (command, "start") == 0 && backend->ops->before_launch != NULL) {
        wr_launch_t launch = {
            .network_mode = explicit_network ? explicit_network : record.network_mode,
            .user_flags = user_flags,
            .command = command,
        };
        if (wr_backend_probe (backend, err) < 0 ||
            backend->ops->before_launch (backend, &launch, err) < 0)
            r = -1;
    }
    wr_runtime_record_clear (&record);
    return r;
}
