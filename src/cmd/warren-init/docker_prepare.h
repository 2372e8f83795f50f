/* What the sandbox needs before dockerd can start: cgroup controllers, a
 * tmpfs under dockerd's data root (overlay2 does not work on gVisor's root
 * filesystem, only the slow vfs driver does) and the legacy iptables
 * (gVisor has no nftables).  Each step is idempotent: it skips what is
 * already in place, so warren-init can run again in the same sandbox. */
#ifndef WARREN_INIT_DOCKER_PREPARE_H
#define WARREN_INIT_DOCKER_PREPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "options.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

/* One line of /proc/self/mountinfo (octal escapes decoded). */
typedef struct {
    char *mount_point;
    char *mount_options; /* per-mount: "rw,nosuid" */
    char *fs_type;
    char *super_options; /* per-superblock: "rw,devices" */
} mount_entry_t;

typedef struct {
    mount_entry_t *entries;
    size_t n;
} mount_table_t;

int mount_table_parse (const char *mountinfo, mount_table_t *table, wr_error_t *err);
int mount_table_read (mount_table_t *table, wr_error_t *err);
void mount_table_free (mount_table_t *table);
/* The mount on top at exactly PATH, or NULL when PATH is not a mount point. */
const mount_entry_t *mount_table_find (const mount_table_t *table, const char *path);
/* Whether OPTIONS (comma-separated) holds OPTION. */
bool mount_options_have (const char *options, const char *option);

#define CGROUP_MAX_CONTROLLERS 8

/* What to mount for cgroups; made from the sandbox's state by a pure
 * function so that the choice is tested. */
typedef struct {
    cgroups_mode_t version; /* V1, V2, or NONE: nothing to mount */
    bool mount_tmpfs; /* v1: a tmpfs on /sys/fs/cgroup first */
    const char *controllers[CGROUP_MAX_CONTROLLERS + 1]; /* v1: to mount */
    const char *reason; /* why: "already mounted", "no cgroup filesystem"... */
} cgroup_plan_t;

/* FILESYSTEMS is /proc/filesystems, PROC_CGROUPS is /proc/cgroups (either
 * may be NULL when unreadable).  A requested version the sandbox lacks is
 * an error. */
int cgroup_plan_make (cgroups_mode_t requested, const char *filesystems, const char *proc_cgroups,
                      const mount_table_t *mounts, cgroup_plan_t *plan, wr_error_t *err);

/* Mounts the cgroups as the plan says; logs what it did. */
int docker_prepare_cgroups (cgroups_mode_t requested, wr_error_t *err);

/* Mounts a tmpfs of SIZE_TEXT (see tmpfs_size_parse) on DATA_ROOT unless
 * it is a mount point already or the size says "none". */
int docker_prepare_data_root (const char *data_root, const char *size_text, wr_error_t *err);

/* Where a name (iptables, ip6tables...) resolves to the nft variant and a
 * NAME-legacy sits beside it, points the last link of the chain (for
 * Debian /etc/alternatives/NAME) at NAME-legacy.  ROOT is prefixed to
 * every path ("" in the sandbox, a test directory in unit tests).
 * *SWITCHED counts the links changed.  A switched Debian alternative is
 * marked "manual" in dpkg's database, as update-alternatives --set does. */
int iptables_select_legacy (const char *root, int *switched, wr_error_t *err);

/* The MemTotal line of /proc/meminfo in bytes, or 0. */
uint64_t meminfo_total_bytes (const char *meminfo);

#endif
