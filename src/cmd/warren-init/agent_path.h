/* Paths of the agent's file requests (docs/agent-protocol.md, "Files"),
 * confined to a root directory.
 *
 * A path is resolved here, component by component, from a descriptor of
 * the root, without openat2 (gVisor may lack it): ".." never goes above
 * the root, an absolute symlink restarts from the root and a relative one
 * from its directory, at most AGENT_PATH_MAX_LINKS symlinks are followed
 * (then ELOOP).  What comes out is the directory holding the last
 * component and that component's name, for *at() calls that do not follow
 * it again.  So no path, whatever it holds, names anything outside the
 * root. */
#ifndef WARREN_INIT_AGENT_PATH_H
#define WARREN_INIT_AGENT_PATH_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

#define AGENT_PATH_MAX_LINKS 40

/* Follow a symlink in the last component too (inside the root). */
#define AGENT_PATH_FOLLOW 0x1u
/* Make missing directories on the way (mode 0755). */
#define AGENT_PATH_PARENTS 0x2u

typedef struct {
    int dir_fd; /* the directory holding NAME (O_PATH); -1 when cleared */
    char *name; /* the last component; "." when the path is a directory
                 * reached through "." or ".." or the root itself */
} agent_path_t;

/* Resolves PATH (as the client gave it: absolute or not, it starts at the
 * root) inside ROOT_FD.  The last component need not exist.  Errors say
 * WHAT and name PATH: "read `/srv/x`: No such file or directory", their
 * kind from agent_errno_kind. */
int agent_path_resolve (int root_fd, const char *path, unsigned flags, const char *what,
                        agent_path_t *out, wr_error_t *err);
void agent_path_clear (agent_path_t *path);
static inline void
agent_path_cleanup (agent_path_t *path)
{
    agent_path_clear (path);
}
#define cleanup_agent_path __attribute__ ((cleanup (agent_path_cleanup)))

/* Resolves PATH (following a last symlink inside the root) and opens it
 * with FLAGS | O_NOFOLLOW | O_CLOEXEC. */
int agent_path_open (int root_fd, const char *path, int flags, const char *what, wr_error_t *err);

/* Opens the directory RELATIVE (names found by reading directories, ""
 * for DIR_FD itself) under DIR_FD with FLAGS | O_DIRECTORY, following no
 * symlink on the way: for walking a tree below a resolved directory. */
int agent_open_beneath (int dir_fd, const char *relative, int flags);

/* The error kind of a failed file operation's errno: error.h's, and
 * invalid for the requests the file system refuses (ENOTDIR, EISDIR,
 * ELOOP, EPERM, EACCES, EROFS, EXDEV, ...). */
wr_error_kind_t agent_errno_kind (int errno_value);
/* Sets ERR to "WHAT `PATH`: strerror(ERRNO_VALUE)" with that kind (PATH
 * quoted when it is not printable ASCII) and returns -1. */
int agent_path_fail (wr_error_t *err, int errno_value, const char *what, const char *path);

#endif
