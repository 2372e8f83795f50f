/* The bundle of a warrend sandbox (see sandbox_bundle.h). */
#include "sandbox_bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "cleanup.h"
#include "fs.h"
#include "profile.h"
#include "spec.h"
#include "strv.h"
#include "xalloc.h"

char **
wr_sandbox_agent_args (bool docker_enabled, int max_processes)
{
    char **args = NULL;
    wr_strv_add (&args, WR_INIT_SANDBOX_PATH);
    wr_strv_add (&args, "--agent-socket");
    wr_strv_add (&args, WR_SANDBOX_AGENT_SOCKET);
    if (max_processes > 0) {
        char n[16];
        snprintf (n, sizeof n, "%d", max_processes);
        wr_strv_add (&args, "--agent-max-processes");
        wr_strv_add (&args, n);
    }
    if (docker_enabled)
        wr_strv_add (&args, "--docker");
    return args;
}

int64_t
wr_sandbox_cpu_quota (double cpu)
{
    double exact = cpu * WR_SANDBOX_CPU_PERIOD;
    int64_t quota = (int64_t) exact;
    if ((double) quota < exact)
        quota++; /* rounded up */
    return quota < 1000 ? 1000 : quota;
}

static int
check_absolute (const char *what, const char *path, wr_error_t *err)
{
    if (path == NULL || path[0] != '/')
        return wr_error_set (err, 0, "%s `%s` is not an absolute path", what,
                             path != NULL ? path : "");
    return 0;
}

static int
check_options (const wr_sandbox_bundle_options_t *o, wr_error_t *err)
{
    if (o->id == NULL || o->id[0] == '\0')
        return wr_error_set (err, 0, "a sandbox bundle needs the sandbox's id");
    if (check_absolute ("warren-init", o->init_host_path, err) < 0 ||
        check_absolute ("the agent directory", o->agent_dir, err) < 0 ||
        check_absolute ("the network namespace", o->netns_path, err) < 0)
        return -1;
    if (!(o->cpu >= 0) || o->cpu > 1024)
        return wr_error_set (err, 0, "cpu %g is out of range (0 to 1024)", o->cpu);
    if (o->memory_bytes < 0 || o->pids_limit < 0)
        return wr_error_set (err, 0, "memory and pids limits must not be negative");
    if (o->cgroups_path != NULL && o->cgroups_path[0] != '/')
        return wr_error_set (err, 0, "cgroup path `%s` is not absolute", o->cgroups_path);
    return 0;
}

/* Everything of the sandbox's that the image's spec does not say. */
static int
make_sandbox_spec (wr_spec_t *spec, const wr_sandbox_bundle_options_t *o, const char *dir,
                   wr_error_t *err)
{
    const wr_profile_t *profile = o->docker_enabled ? &wr_profile_docker : &wr_profile_default;
    /* warren-init is mounted below, with the process args given: the
     * profile's injection would put "--" and the image's command after it. */
    const wr_profile_options_t profile_options = { .init_host_path = NULL,
                                                   .network_mode = "sandbox" };
    if (wr_profile_apply (profile, spec, &profile_options, err) < 0)
        return -1;

    static const char *const init_options[] = { "rbind", "ro", NULL };
    const wr_mount_t init_mount = { .destination = WR_INIT_SANDBOX_PATH,
                                    .type = "bind",
                                    .source = o->init_host_path,
                                    .options = init_options };
    static const char *const agent_options[] = { "rbind", "rw", NULL };
    const wr_mount_t agent_mount = { .destination = WR_SANDBOX_AGENT_DIR,
                                     .type = "bind",
                                     .source = o->agent_dir,
                                     .options = agent_options };
    if (wr_spec_add_mount (spec, &init_mount, err) < 0 ||
        wr_spec_add_mount (spec, &agent_mount, err) < 0)
        return -1;
    if (o->resolv_conf != NULL) {
        cleanup_free char *path = xasprintf ("%s/resolv.conf", dir);
        cleanup_close int fd =
            open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
            return wr_error_set (err, errno, "write `%s`", path);
        if (wr_write_all (fd, o->resolv_conf, strlen (o->resolv_conf), path, err) < 0)
            return -1;
        static const char *const resolv_options[] = { "bind", "ro", NULL };
        const wr_mount_t resolv_mount = { .destination = "/etc/resolv.conf",
                                          .type = "bind",
                                          .source = path,
                                          .options = resolv_options };
        if (wr_spec_add_mount (spec, &resolv_mount, err) < 0)
            return -1;
    }

    if (o->cpu > 0 &&
        wr_spec_set_cpu_quota (spec, wr_sandbox_cpu_quota (o->cpu), WR_SANDBOX_CPU_PERIOD, err) < 0)
        return -1;
    if (o->memory_bytes > 0 && wr_spec_set_memory_limit (spec, o->memory_bytes, err) < 0)
        return -1;
    if (o->pids_limit > 0 && wr_spec_set_pids_limit (spec, o->pids_limit, err) < 0)
        return -1;

    if (wr_spec_remove_namespace (spec, "network", err) < 0 ||
        wr_spec_add_namespace (spec, "network", o->netns_path, err) < 0)
        return -1;
    json_object *linux_ = NULL;
    if (!json_object_object_get_ex (wr_spec_root (spec), "linux", &linux_) ||
        !json_object_is_type (linux_, json_type_object))
        return wr_error_set (err, 0, "the sandbox's spec has no `linux` object");
    if (o->cgroups_path != NULL)
        json_object_object_add (linux_, "cgroupsPath", json_object_new_string (o->cgroups_path));
    else
        json_object_object_del (linux_, "cgroupsPath");

    if (wr_spec_set_annotation (spec, WR_SANDBOX_ANNOTATION_ID, o->id, err) < 0 ||
        (o->name != NULL &&
         wr_spec_set_annotation (spec, WR_SANDBOX_ANNOTATION_NAME, o->name, err) < 0) ||
        wr_spec_set_annotation (spec, WR_PROFILE_ANNOTATION, profile->name, err) < 0)
        return -1;
    return 0;
}

/* The agent runs as root, whoever the image's User is: it serves files
 * anywhere, starts processes as any user and prepares dockerd.  The
 * image's User (as the bundle resolved it, uid:gid) becomes the agent's
 * --agent-user, so what a client starts runs as the image says. */
static int
agent_as_root (wr_spec_t *spec, wr_error_t *err)
{
    json_object *process = NULL, *user = NULL, *uid = NULL, *gid = NULL;
    if (!json_object_object_get_ex (wr_spec_root (spec), "process", &process) ||
        !json_object_object_get_ex (process, "user", &user) ||
        !json_object_object_get_ex (user, "uid", &uid) ||
        !json_object_object_get_ex (user, "gid", &gid))
        return wr_error_set (err, 0, "the sandbox's spec has no process.user");
    int64_t u = json_object_get_int64 (uid), g = json_object_get_int64 (gid);
    if (u == 0 && g == 0)
        return 0;
    cleanup_free char *as = xasprintf ("%lld:%lld", (long long) u, (long long) g);
    size_t n = wr_spec_args_count (spec);
    cleanup_free const char **args = xzalloc ((n + 2) * sizeof *args);
    for (size_t i = 0; i < n; i++)
        args[i] = wr_spec_arg (spec, i);
    args[n] = "--agent-user";
    args[n + 1] = as;
    if (wr_spec_set_args (spec, args, n + 2, err) < 0)
        return -1;
    json_object_object_add (user, "uid", json_object_new_int64 (0));
    json_object_object_add (user, "gid", json_object_new_int64 (0));
    json_object_object_del (user, "additionalGids");
    return 0;
}

int
wr_sandbox_bundle_create (wr_store_t *store, const wr_image_record_t *record,
                          const wr_image_config_t *config, const char *dir,
                          const wr_sandbox_bundle_options_t *options, wr_error_t *err)
{
    if (check_options (options, err) < 0)
        return wr_error_prefix (err, "sandbox `%s`", options->id ? options->id : "");
    cleanup_strv char **agent_args = NULL;
    const char *const *args = options->args;
    if (args == NULL) {
        agent_args = wr_sandbox_agent_args (options->docker_enabled, options->max_processes);
        args = (const char *const *) agent_args;
    }
    const wr_bundle_options_t bundle_options = {
        .args = args,
        .env = options->env,
        .cwd = options->cwd,
        .hostname = options->hostname,
        .host_network = false,
    };
    if (wr_bundle_create (store, record, config, dir, &bundle_options, err) < 0)
        return wr_error_prefix (err, "sandbox `%s`", options->id);
    cleanup_free char *config_path = xasprintf ("%s/config.json", dir);
    cleanup_spec wr_spec_t *spec = wr_spec_load (config_path, err);
    if (spec == NULL || make_sandbox_spec (spec, options, dir, err) < 0 ||
        (options->args == NULL && agent_as_root (spec, err) < 0) ||
        wr_spec_save (spec, config_path, err) < 0) {
        wr_bundle_destroy (dir, NULL);
        return wr_error_prefix (err, "sandbox `%s`", options->id);
    }
    return 0;
}
