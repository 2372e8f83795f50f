/* warren-runtime: an OCI runtime with runc's command line that runs bundles
 * in gVisor sandboxes (see docs/runtime.md). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "log.h"
#include "runtime_args.h"
#include "runtime_backend.h"
#include "runtime_probe.h"
#include "runtime_features.h"
#include "runtime_config.h"
#include "runtime_launch.h"
#include "runtime_record.h"
#include "strv.h"
#include "subprocess.h"
#include "xalloc.h"

#ifndef WARREN_VERSION
#define WARREN_VERSION "unknown"
#endif
#ifndef WARREN_LIBEXECDIR
#define WARREN_LIBEXECDIR "/usr/local/libexec/warren"
#endif

static const char usage[] =
    "usage: warren-runtime [GLOBAL FLAGS] COMMAND [ARGS]\n"
    "\n"
    "An OCI runtime with runc's command line; runs bundles in gVisor (runsc).\n"
    "\n"
    "Commands: create, start, run, state, kill, delete, exec, ps, list, features,\n"
    "and any other command of the backend (passed on unchanged).\n"
    "\n"
    "Global flags (runc's): --root DIR, --log FILE, --log-format text|json, --debug,\n"
    "  --systemd-cgroup.  Any other global flag (e.g. --network=host) goes to the backend.\n"
    "warren's own:\n"
    "  --profile NAME          profile to apply (default: annotation dev.warren.profile,\n"
    "                          else `default`)\n"
    "  --backend NAME          runsc (default), runc or crun; env WARREN_BACKEND\n"
    "  --backend-binary PATH   the backend's binary; env WARREN_RUNSC\n"
    "  --init PATH             warren-init on the host; env WARREN_INIT\n"
    "  --annotation-profiles LIST  profiles the annotation may select (default:\n"
    "                          default,docker; or annotation_profiles in the config file)\n"
    "  --config PATH           config file (default " WR_RUNTIME_CONFIG_DEFAULT_PATH ")\n";

static void
setup_logging (const wr_runtime_args_t *args)
{
    if (args->debug)
        wr_log_set_level (WR_LOG_DEBUG);
    wr_log_format_t format = WR_LOG_TEXT;
    if (args->log_format != NULL && wr_log_parse_format (args->log_format, &format, NULL) == 0)
        wr_log_set_format (format);
    if (args->log != NULL) {
        wr_error_t err = NULL;
        if (wr_log_set_file (args->log, &err) < 0) {
            fprintf (stderr, "warren-runtime: %s\n", err->message);
            wr_error_free (&err);
        } else {
            wr_log_set_errors_to_stderr (true);
        }
    }
}

/* Runs BACKEND's `COMMAND [FLAG] ID` with the caller's global flags,
 * its output discarded; returns its exit code (-1: could not be run). */
static int
backend_quietly (wr_backend_t *backend, char *const *globals, const char *command, const char *flag,
                 const char *id)
{
    if (wr_backend_probe (backend, NULL) < 0) /* cached: finds the binary's path */
        return -1;
    cleanup_strv char **argv = NULL;
    wr_strv_add (&argv, backend->info.path);
    wr_strv_extend (&argv, globals);
    wr_strv_add (&argv, command);
    if (flag != NULL)
        wr_strv_add (&argv, flag);
    wr_strv_add (&argv, id);
    cleanup_free char *output = NULL;
    int status = 0;
    if (wr_subprocess_output (argv, 30000, &output, &status, NULL) < 0)
        return -1;
    return wr_subprocess_exit_code (status);
}

/* Removes warren's record of a container; a failure is logged, not fatal
 * (the container itself is gone). */
static void
forget_record (const char *record)
{
    cleanup_error wr_error_t err = NULL;
    if (wr_runtime_record_remove (record, &err) < 0)
        wr_log (WR_LOG_WARN, "cannot remove the container record", "error", err->message, NULL);
}

/* A create (or detached run) that failed leaves nothing: what runsc made of
 * the container, if anything, and warren's record of it. */
static void
clean_failed_create (wr_backend_t *backend, char *const *globals, const char *id,
                     const char *record)
{
    if (backend_quietly (backend, globals, "state", NULL, id) == 0) {
        wr_log (WR_LOG_INFO, "removing what the failed create left", "container", id, NULL);
        backend_quietly (backend, globals, "delete", "--force", id);
    }
    forget_record (record);
}

static int
fail (wr_error_t *err)
{
    wr_log (WR_LOG_ERROR, (*err)->message, NULL);
    return 1;
}

static void
print_version (wr_backend_t *backend)
{
    printf ("warren-runtime version %s\n", WARREN_VERSION);
    wr_error_t err = NULL;
    if (wr_backend_probe (backend, &err) < 0) {
        printf ("%s: %s\n", backend->ops->name, err->message);
        wr_error_free (&err);
        return;
    }
    if (backend->info.spec_version != NULL)
        printf ("spec: %s\n", backend->info.spec_version);
    printf ("backend: %s version %s (%s)\n", backend->ops->name,
            backend->info.version ? backend->info.version : "unknown", backend->info.path);
}

int
main (int argc, char **argv)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_runtime_args wr_runtime_args_t args = { 0 };
    int parsed = wr_runtime_args_parse (&args, argc, argv, &err);
    setup_logging (&args);
    if (parsed < 0)
        return fail (&err);
    if (args.log_format != NULL) {
        wr_log_format_t format;
        if (wr_log_parse_format (args.log_format, &format, &err) < 0)
            return fail (&err);
    }

    /* The library reads no environment: what warren-runtime takes from it
     * is read here. */
    const wr_backend_ops_t *ops =
        wr_backend_ops_find (wr_runtime_args_backend_name (&args, getenv ("WARREN_BACKEND")), &err);
    if (ops == NULL)
        return fail (&err);
    cleanup_free char *state_dir = wr_backend_default_state_dir (getenv ("WARREN_ROOT"));
    cleanup_backend wr_backend_t *backend = wr_backend_new (
        ops, wr_runtime_args_backend_binary (&args, ops, getenv ("WARREN_RUNSC")), state_dir);
    wr_backend_set_search_path (backend, getenv ("PATH"));

    if (args.version) {
        print_version (backend);
        return 0;
    }

    if (args.help || args.command == NULL ||
        (strcmp (args.command, "help") == 0 && args.command_args[0] == NULL)) {
        fputs (usage, args.help || args.command != NULL ? stdout : stderr);
        return args.help || args.command != NULL ? 0 : 1;
    }

    cleanup_strv char **globals = wr_runtime_args_backend_globals (&args, ops);
    cleanup_strv char **exec_argv = NULL;
    wr_strv_add (&exec_argv, backend->binary);
    wr_strv_extend (&exec_argv, globals);
    const char *exec_path = backend->binary;

    /* create and run may remember their flags for the container's later
     * commands, which get them back (see runtime_record.h). */
    const char *id = wr_runtime_args_container_id (&args);
    cleanup_free char *record = wr_runtime_record_path (state_dir, args.root, id);
    const char *explicit_network = wr_runtime_args_network (&args);
    bool watched_create = false;

    if (wr_runtime_command_launches (args.command)) {
        cleanup_free char *bundle = wr_runtime_args_bundle (&args, &err);
        if (bundle == NULL)
            return fail (&err);
        cleanup_free char *self = realpath ("/proc/self/exe", NULL);
        cleanup_free char *init = NULL;
        cleanup_free char *searched = NULL;
        const char *init_env = getenv ("WARREN_INIT");
        const char *explicit_init =
            args.init ? args.init : (init_env && init_env[0] ? init_env : NULL);
        if (wr_runtime_find_init (explicit_init, self, WARREN_LIBEXECDIR, &init, &searched, &err) <
            0)
            return fail (&err);
        /* A run that is not detached is over (and deleted) when runsc exits. */
        bool remembers = strcmp (args.command, "create") == 0 ||
                         wr_runtime_args_command_flag (&args, "detach", "d");
        /* What annotations may select: --annotation-profiles, else the
         * config file's annotation_profiles, else the library's default. */
        cleanup_runtime_config wr_runtime_config_t config = { 0 };
        if (wr_runtime_config_load (args.config ? args.config : WR_RUNTIME_CONFIG_DEFAULT_PATH,
                                    &config, &err) < 0)
            return fail (&err);
        cleanup_strv char **flag_profiles = NULL;
        if (args.annotation_profiles != NULL) {
            flag_profiles = wr_runtime_config_parse_profiles (args.annotation_profiles,
                                                              "--annotation-profiles", &err);
            if (flag_profiles == NULL)
                return fail (&err);
        }
        wr_launch_request_t request = {
            .command = args.command,
            .bundle = bundle,
            .requested_profile = args.profile,
            .annotation_profiles =
                (const char *const *) (flag_profiles != NULL ? flag_profiles
                                                             : config.annotation_profiles),
            .init_path = init,
            .init_searched = searched,
            .explicit_network = explicit_network,
            .user_flags = globals,
            .record_path = remembers ? record : NULL,
        };
        if (wr_runtime_launch_prepare (backend, &request, &exec_argv, NULL, &err) < 0)
            return fail (&err);
        exec_path = backend->info.path;
        watched_create = remembers && id != NULL;
    } else if (strcmp (args.command, "features") == 0 && ops == &wr_backend_runsc) {
        if (wr_backend_probe (backend, &err) < 0)
            return fail (&err);
        if (!wr_backend_supports_command (backend, "features")) {
            cleanup_free char *json = wr_runtime_features_json (backend, WARREN_VERSION);
            fputs (json, stdout);
            return 0;
        }
        exec_path = backend->info.path;
    } else if (wr_runtime_launch_follow_up (backend, args.command, record, explicit_network,
                                            globals, &exec_argv, &err) < 0) {
        return fail (&err);
    }

    wr_strv_add (&exec_argv, args.command);
    wr_strv_extend (&exec_argv, args.command_args);
    /* create and delete are waited for, not exec'd, so that what they leave
     * behind when they fail can be cleaned up. */
    bool watched_delete = strcmp (args.command, "delete") == 0 && id != NULL;
    if (watched_create || watched_delete) {
        int status = 0;
        if (wr_subprocess_run (exec_path, exec_argv, &status, &err) < 0)
            return fail (&err);
        int code = wr_subprocess_exit_code (status);
        if (watched_create && code != 0)
            clean_failed_create (backend, globals, id, record);
        /* A refused delete (a running container without --force) keeps
         * the record; one of a container that is gone forgets it. */
        if (watched_delete &&
            (code == 0 || backend_quietly (backend, globals, "state", NULL, id) > 0))
            forget_record (record);
        return code;
    }
    if (strchr (exec_path, '/') != NULL)
        execv (exec_path, exec_argv);
    else
        execvp (exec_path, exec_argv);
    wr_backend_error_missing (ops, exec_path, errno, &err);
    return fail (&err);
}
