/* A sandbox's limits as the host enforces them (sandbox_limits.c): read
 * from its cgroup, and the reason a sandbox died of when a limit killed it.
 *
 * What gVisor (runsc 20240729, systrap) does with linux.resources, measured
 * on cgroup v1 (docs/daemon.md, "How a sandbox runs on the host"):
 *   - memory: the cgroup's limit applies to the whole sandbox, and the
 *     sandbox sees it as its memory (`free`, /proc/meminfo MemTotal);
 *   - cpu: the CFS quota applies to the sandbox's host threads; `nproc`
 *     inside shows the host's CPUs;
 *   - pids: the cgroup counts the sandbox's host threads (about 28 for an
 *     idle sandbox, one more per process inside under systrap); when a
 *     fork inside reaches the limit the Sentry cannot make a thread and the
 *     whole sandbox dies: pids.events counts it, and that is the reason.
 * The cgroup is gone after `runsc delete`: read the reason first. */
#ifndef WARREN_SANDBOX_LIMITS_H
#define WARREN_SANDBOX_LIMITS_H

#include <stdint.h>

#include "error.h"

/* The host threads of an idle sandbox (Sentry, gofer, their Go runtimes)
 * that count against its pids limit, rounded up: the pids limit asked for
 * is the sandbox's own processes plus this. */
#define WR_SANDBOX_PIDS_OVERHEAD 64

typedef struct {
    int64_t memory_limit; /* bytes; INT64_MAX or the kernel's huge value: none */
    int64_t memory_max_usage; /* bytes, v1 only (-1 when unknown) */
    int64_t oom_kills; /* processes the kernel killed for memory (-1 when unknown) */
    int64_t pids_max; /* INT64_MAX: none */
    int64_t pids_current;
    int64_t pids_limit_hits; /* forks refused at pids_max */
    int64_t cpu_quota; /* microseconds per period; -1: none */
    int64_t cpu_period;
} wr_sandbox_limits_t;

/* The host pids limit for a sandbox whose processes may number PIDS
 * (0: none). */
int64_t wr_sandbox_host_pids_limit (int64_t pids);

/* Reads the limits and counters of cgroup PATH ("/warren/ID"). */
int wr_sandbox_limits_read (const char *path, wr_sandbox_limits_t *limits, wr_error_t *err);

/* "pids limit reached", "out of memory", or NULL when LIMITS show neither:
 * why a sandbox that stopped by itself stopped. */
const char *wr_sandbox_limits_reason (const wr_sandbox_limits_t *limits);

#endif
