/* Starting a process for exec (docs/agent-protocol.md): its user from
 * /etc/passwd (parsed here: the static warren-init has no NSS), its
 * environment, its own process group or, on a terminal, its own session
 * with the terminal as its controlling tty.
 *
 * A clone with vfork's semantics (CLONE_VM | CLONE_VFORK, on a stack of
 * its own) rather than fork: gVisor makes a fork copy the agent's address
 * space, which cost about 17 ms an exec (bench/RESULTS.md, exec).  Not
 * posix_spawn, which can set neither the user and group nor a controlling
 * terminal (TIOCSCTTY).  The child shares the agent's memory until it
 * execs: it makes raw system calls only (glibc's setuid and friends would
 * signal the agent's threads), starts with every signal blocked and puts
 * every caught one back to its default before it unblocks them, and
 * reports a failed step's errno in that shared memory. */
#ifndef WARREN_INIT_AGENT_SPAWN_H
#define WARREN_INIT_AGENT_SPAWN_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* USER as exec gives it: "name", "uid" or "uid:gid", looked up in
 * PASSWD_PATH (/etc/passwd) for a name, and for a uid alone its group
 * (the uid itself when it has no entry). */
int agent_user_lookup (const char *passwd_path, const char *user, uid_t *uid, gid_t *gid,
                       wr_error_t *err);

/* ENVIRON with the KEY=VALUE entries of EXTRA added or replacing; the
 * caller frees the vector and its strings. */
char **agent_env_merge (char *const *environ_, char *const *extra);

typedef struct {
    char *const *argv; /* argv[0] searched in PATH when it has no '/' */
    char *const *env;
    const char *cwd; /* NULL: warren-init's */
    bool set_user;
    uid_t uid;
    gid_t gid;
    int stdin_fd, stdout_fd, stderr_fd; /* for a terminal: ignored */
    const char *tty_path; /* a terminal's slave side, or NULL */
    const sigset_t *mask; /* the signal mask of the process */
} agent_spawn_t;

/* The child's pid, in its own process group (with a terminal: its own
 * session); -1 when the exec failed (err carries its errno) and the child
 * is already reaped. */
pid_t agent_spawn (const agent_spawn_t *spawn, wr_error_t *err);

#endif
