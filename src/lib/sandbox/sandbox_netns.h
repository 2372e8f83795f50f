/* A network namespace per sandbox, made and removed without the `ip` tool
 * (sandbox_netns.c).
 *
 * The namespace is kept alive by a bind mount of its nsfs file on
 * DIR/NAME (as `ip netns add` does under /run/netns), so it outlives the
 * child that made it and runsc can join it by path (the spec's
 * linux.namespaces network entry).  It has loopback only, up: gVisor's
 * network stack takes its interfaces from the namespace and has no
 * loopback when lo is down. */
#ifndef WARREN_SANDBOX_NETNS_H
#define WARREN_SANDBOX_NETNS_H

#include "error.h"

/* Every namespace warrend makes is named WR_NETNS_PREFIX + a short id. */
#define WR_NETNS_PREFIX "warren-"
/* How many characters of a sandbox id the name keeps. */
#define WR_NETNS_SHORT_ID 12

/* "warren-" + the first WR_NETNS_SHORT_ID characters of SANDBOX_ID; caller
 * frees. */
char *wr_netns_name (const char *sandbox_id);

/* Makes a new network namespace with lo up and bind-mounts it on DIR/NAME
 * (DIR is made when missing).  *PATH (when not NULL) gets DIR/NAME.  An
 * existing DIR/NAME is an error of kind exists.  Nothing is left behind on
 * failure.  Needs CAP_SYS_ADMIN. */
int wr_netns_create (const char *dir, const char *name, char **path, wr_error_t *err);

/* Unmounts PATH (when it is mounted) and removes the file.  A missing
 * PATH is not an error, so it can be called again after a crash. */
int wr_netns_remove (const char *path, wr_error_t *err);

/* The names in DIR that start with PREFIX (NULL: WR_NETNS_PREFIX), sorted,
 * as a NULL-terminated vector (empty when DIR is missing): the leftovers a
 * recovery removes.  Caller frees with wr_strv_free. */
char **wr_netns_list (const char *dir, const char *prefix, wr_error_t *err);

/* Whether PATH is a mounted network namespace (an nsfs file). */
int wr_netns_is_mounted (const char *path);

#endif
