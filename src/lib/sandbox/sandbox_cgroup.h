/* The host cgroups of sandboxes (sandbox_cgroup.c).
 *
 * runsc makes the spec's linux.cgroupsPath in every cgroup hierarchy
 * mounted on the host (cgroup v1 here: one per controller, plus
 * name=systemd; a cgroup2 mount too when there is one), puts the sandbox's
 * host processes in it, applies linux.resources there, and removes it at
 * `runsc delete`; it leaves the parents it made (measured with 20240729).
 * warrend gives each sandbox PARENT/ID, so what is under PARENT is warrend's
 * and a recovery finds it there. */
#ifndef WARREN_SANDBOX_CGROUP_H
#define WARREN_SANDBOX_CGROUP_H

#include <stdint.h>

#include "error.h"

/* The mount points of the host's cgroup hierarchies (types cgroup and
 * cgroup2), from /proc/self/mountinfo, sorted. */
char **wr_cgroup_mounts (wr_error_t *err);

/* The directory of cgroup PATH ("/warren/ID") in the hierarchy holding
 * CONTROLLER ("pids", "memory", "cpu"; on cgroup2 the unified one), or NULL
 * (with an error of kind not_found) when no hierarchy holds it. */
char *wr_cgroup_dir (const char *controller, const char *path, wr_error_t *err);

/* Removes cgroup PATH from every hierarchy.  Processes still in it (a
 * sandbox whose runsc could not be deleted) are sent SIGKILL first; a
 * hierarchy without PATH is skipped, so this can be called again. */
int wr_cgroup_remove (const char *path, wr_error_t *err);

/* The names of the cgroups directly under PARENT in any hierarchy, sorted
 * and without duplicates (empty when PARENT exists nowhere). */
char **wr_cgroup_children (const char *parent, wr_error_t *err);

/* The first line of FILE of cgroup PATH in CONTROLLER's hierarchy as an
 * integer ("max" is INT64_MAX), or of the line starting KEY + ' ' when
 * KEY is not NULL (memory.stat, pids.events, memory.oom_control). */
int wr_cgroup_read_int (const char *controller, const char *path, const char *file, const char *key,
                        int64_t *value, wr_error_t *err);

#endif
