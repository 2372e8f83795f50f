/* Removing everything a sandbox owns on the host, and finding what is
 * left (sandbox_destroy.c): for deletes, failed launches, recovery after a
 * crash, and tests that count leaks. */
#ifndef WARREN_SANDBOX_DESTROY_H
#define WARREN_SANDBOX_DESTROY_H

#include <stddef.h>

#include "error.h"
#include "sandbox_runsc.h"

/* Removes, in this order, each step tolerating what is already gone:
 * runsc's container (`runsc delete -force`), the cgroup in every
 * hierarchy (killing what is still in it), the network namespace, the
 * bundle (its overlay unmounted) and ROOT/sandboxes/ID.  Every step is
 * tried even when one fails; the error is the first failure.  Safe to call
 * again, and on a sandbox that never fully existed. */
int wr_sandbox_destroy (const wr_sandbox_host_t *host, const char *id, wr_error_t *err);

/* What exists on the host under warrend's names (each a sorted,
 * NULL-terminated vector). */
typedef struct {
    char **containers; /* runsc containers in ROOT/runsc */
    char **netns; /* warren-* network namespaces in NETNS_DIR */
    char **cgroups; /* cgroups under CGROUP_PARENT (in any hierarchy) */
    char **mounts; /* mount points under ROOT or NETNS_DIR */
    char **dirs; /* sandbox directories in ROOT/sandboxes */
} wr_sandbox_leftovers_t;

int wr_sandbox_leftovers (const wr_sandbox_host_t *host, wr_sandbox_leftovers_t *leftovers,
                          wr_error_t *err);
/* How many things LEFTOVERS lists in all. */
size_t wr_sandbox_leftovers_count (const wr_sandbox_leftovers_t *leftovers);
void wr_sandbox_leftovers_clear (wr_sandbox_leftovers_t *leftovers);

#endif
