/* The Docker-in-Docker profile: what dockerd needs to run inside a gVisor
 * sandbox.
 *
 * Everything it loosens stays inside the sandbox: capabilities, /sys,
 * /proc/sys and device nodes all belong to gVisor's own kernel (the Sentry),
 * not to the host's, so dockerd gets the rights it needs without the host
 * kernel ever seeing a privileged container. */
#include "profile.h"

#include <stddef.h>

static const char *const docker_capabilities[] = {
    "CAP_AUDIT_WRITE", "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FOWNER",
    "CAP_FSETID",      "CAP_KILL",    "CAP_MKNOD",        "CAP_NET_BIND_SERVICE",
    "CAP_NET_ADMIN",   "CAP_NET_RAW", "CAP_SETFCAP",      "CAP_SETGID",
    "CAP_SETPCAP",     "CAP_SETUID",  "CAP_SYS_ADMIN",    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",  NULL,
};

static const wr_runsc_flag_t docker_runsc_flags[] = {
    { { "net-raw", NULL }, "dockerd's networking and ping in nested containers use raw sockets" },
    { { "allow-packet-socket-write", "TESTONLY-allow-packet-endpoint-write", NULL },
      "Docker 28 and newer write to packet sockets" },
    { { NULL }, NULL },
};

static const char *const docker_init_args[] = { "--docker", NULL };

/* Docker mounts these read-only; dockerd mounts cgroups below /sys/fs/cgroup
 * and writes to /sys, so they must be writable (in the sandbox's kernel). */
static const char *const writable_mounts[] = { "/sys", "/sys/fs/cgroup", NULL };

static int
apply_docker (const wr_profile_t *profile, wr_spec_t *spec, const wr_profile_options_t *options,
              wr_error_t *err)
{
    if (wr_profile_add_capabilities (profile, spec, err) < 0)
        return -1;

    /* Device rules only restrict the sandbox's own device cgroup, and dockerd
     * needs to manage that cgroup for its containers. */
    if (wr_spec_clear_device_rules (spec, err) < 0)
        return -1;

    for (const char *const *m = writable_mounts; *m != NULL; m++) {
        if (wr_spec_remove_mount_option (spec, *m, "ro", err) < 0)
            return -1;
    }

    /* Masked and read-only paths hide parts of /proc and /sys from a
     * container on a shared kernel.  Here they are paths of gVisor's kernel,
     * which nothing else shares, and dockerd must write /proc/sys (IP
     * forwarding, sysctls of its containers). */
    if (wr_spec_clear_masked_paths (spec, err) < 0)
        return -1;
    if (wr_spec_clear_readonly_paths (spec, err) < 0)
        return -1;

    if (options->init_host_path != NULL &&
        wr_profile_inject_init (spec, options->init_host_path, profile->init_args, err) < 0)
        return -1;

    /* warren-init picks dockerd's flags for the sandbox's network mode. */
    if (options->network_mode != NULL &&
        wr_spec_set_env (spec, "WARREN_NETWORK", options->network_mode, err) < 0)
        return -1;
    return 0;
}

const wr_profile_t wr_profile_docker = {
    .name = "docker",
    .description = "Docker in the sandbox: dockerd's capabilities, writable /sys and cgroups, "
                   "no device rules or masked paths, warren-init --docker as PID 1",
    .capabilities = docker_capabilities,
    .runsc_flags = docker_runsc_flags,
    .apply = apply_docker,
    .init_args = docker_init_args,
    .needs_sandbox = true,
};
