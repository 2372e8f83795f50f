#include "runtime_features.h"

#include <json-c/json.h>
#include <string.h>

#include "xalloc.h"

/* What runsc does with a spec, from gVisor's sources (runsc/container and
 * runsc/specutils): it runs the prestart, createRuntime, poststart and
 * poststop hooks, and skips createContainer and startContainer hooks with a
 * warning; these are the mount options its bind-mount validation accepts
 * ("shared" and "rshared" are refused). */
static const char *const runsc_hooks[] = { "prestart", "createRuntime", "poststart", "poststop",
                                           NULL };
static const char *const runsc_mount_options[] = {
    "acl",           "async",      "atime",    "bind",
    "defaults",      "dev",        "diratime", "dirsync",
    "exec",          "iversion",   "loud",     "mand",
    "noacl",         "noatime",    "nodev",    "nodiratime",
    "noexec",        "noiversion", "nomand",   "norelatime",
    "nostrictatime", "nosuid",     "rbind",    "relatime",
    "remount",       "ro",         "rw",       "silent",
    "strictatime",   "suid",       "sync",     "private",
    "rprivate",      "slave",      "rslave",   "unbindable",
    "runbindable",   NULL,
};
static const char *const linux_namespaces[] = { "cgroup", "ipc",  "mount", "network",
                                                "pid",    "user", "uts",   NULL };
/* Linux's capabilities up to CAP_CHECKPOINT_RESTORE (40), all of which
 * gVisor knows by name. */
static const char *const linux_capabilities[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
    NULL,
};

static json_object *
string_array (const char *const *items)
{
    json_object *array = json_object_new_array ();
    for (size_t i = 0; items[i] != NULL; i++)
        json_object_array_add (array, json_object_new_string (items[i]));
    return array;
}

char *
wr_runtime_features_json (wr_backend_t *backend, const char *warren_version)
{
    const wr_backend_info_t *info = &backend->info;
    json_object *root = json_object_new_object ();
    json_object_object_add (root, "ociVersionMin", json_object_new_string ("1.0.0"));
    json_object_object_add (
        root, "ociVersionMax",
        json_object_new_string (info->spec_version ? info->spec_version : "1.0.0"));
    json_object_object_add (root, "hooks", string_array (runsc_hooks));
    json_object_object_add (root, "mountOptions", string_array (runsc_mount_options));

    json_object *linux_obj = json_object_new_object ();
    json_object_object_add (linux_obj, "namespaces", string_array (linux_namespaces));
    json_object_object_add (linux_obj, "capabilities", string_array (linux_capabilities));
    json_object *cgroup = json_object_new_object ();
    json_object_object_add (cgroup, "v1", json_object_new_boolean (1));
    json_object_object_add (cgroup, "v2", json_object_new_boolean (1));
    json_object_object_add (
        cgroup, "systemd",
        json_object_new_boolean (wr_backend_supports_flag (backend, "systemd-cgroup")));
    json_object_object_add (cgroup, "systemdUser", json_object_new_boolean (0));
    json_object_object_add (linux_obj, "cgroup", cgroup);
    json_object_object_add (root, "linux", linux_obj);

    json_object *annotations = json_object_new_object ();
    json_object_object_add (annotations, "dev.warren.runtime.version",
                            json_object_new_string (warren_version));
    json_object_object_add (annotations, "dev.warren.backend",
                            json_object_new_string (backend->ops->name));
    if (info->version != NULL)
        json_object_object_add (annotations, "dev.warren.backend.version",
                                json_object_new_string (info->version));
    json_object_object_add (root, "annotations", annotations);

    const char *text = json_object_to_json_string_ext (
        root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *out = xasprintf ("%s\n", text);
    json_object_put (root);
    return out;
}
