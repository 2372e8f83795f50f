/* A sandbox's limits on the host (see sandbox_limits.h). */
#include "sandbox_limits.h"

#include <stddef.h>

#include "sandbox_cgroup.h"

int64_t
wr_sandbox_host_pids_limit (int64_t pids)
{
    if (pids <= 0)
        return 0;
    if (pids > INT64_MAX - WR_SANDBOX_PIDS_OVERHEAD)
        return INT64_MAX;
    return pids + WR_SANDBOX_PIDS_OVERHEAD;
}

/* FILE (cgroup v1) or V2_FILE (cgroup v2) of CONTROLLER, KEY as in
 * wr_cgroup_read_int; FALLBACK when neither has it. */
static int
read_either (const char *controller, const char *path, const char *file, const char *v2_file,
             const char *key, const char *v2_key, int64_t fallback, int64_t *value, wr_error_t *err)
{
    wr_error_t first = NULL;
    if (wr_cgroup_read_int (controller, path, file, key, value, &first) == 0)
        return 0;
    if (v2_file != NULL &&
        wr_cgroup_read_int (controller, path, v2_file, v2_key, value, NULL) == 0) {
        wr_error_free (&first);
        return 0;
    }
    if (fallback != INT64_MIN && wr_error_kind (first) == WR_ERROR_NOT_FOUND) {
        wr_error_free (&first);
        *value = fallback;
        return 0;
    }
    return wr_error_propagate (err, &first);
}

int
wr_sandbox_limits_read (const char *path, wr_sandbox_limits_t *l, wr_error_t *err)
{
    if (read_either ("memory", path, "memory.limit_in_bytes", "memory.max", NULL, NULL, INT64_MIN,
                     &l->memory_limit, err) < 0 ||
        read_either ("memory", path, "memory.max_usage_in_bytes", NULL, NULL, NULL, -1,
                     &l->memory_max_usage, err) < 0 ||
        read_either ("memory", path, "memory.oom_control", "memory.events", "oom_kill", "oom_kill",
                     -1, &l->oom_kills, err) < 0 ||
        read_either ("pids", path, "pids.max", NULL, NULL, NULL, INT64_MIN, &l->pids_max, err) <
            0 ||
        read_either ("pids", path, "pids.current", NULL, NULL, NULL, INT64_MIN, &l->pids_current,
                     err) < 0 ||
        read_either ("pids", path, "pids.events", NULL, "max", NULL, 0, &l->pids_limit_hits, err) <
            0)
        return -1;
    /* cgroup v2 puts both in cpu.max ("max 100000"); v1 has two files. */
    if (read_either ("cpu", path, "cpu.cfs_quota_us", NULL, NULL, NULL, -1, &l->cpu_quota, err) <
            0 ||
        read_either ("cpu", path, "cpu.cfs_period_us", NULL, NULL, NULL, -1, &l->cpu_period, err) <
            0)
        return -1;
    return 0;
}

const char *
wr_sandbox_limits_reason (const wr_sandbox_limits_t *l)
{
    if (l->pids_limit_hits > 0)
        return "pids limit reached";
    if (l->oom_kills > 0)
        return "out of memory";
    return NULL;
}
