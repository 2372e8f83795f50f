/* Starting the real agent (warren-init --agent-socket) outside gVisor for
 * tests: its socket DIR/agent.sock, its file root ROOT, its spilled output
 * in DIR/spill; stdin from /dev/null.  Header-only, like agent_client.h. */
#ifndef WARREN_TESTS_AGENT_START_H
#define WARREN_TESTS_AGENT_START_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Forks and execs WARREN_INIT as an agent, with the options in MORE
 * (NULL-terminated, or NULL) after its own; SOCK (SOCK_SIZE bytes) gets
 * its socket's path.  Returns its pid, or -1 when fork failed. */
static inline pid_t
agent_start_with (const char *warren_init, const char *dir, const char *root, char *sock,
                  size_t sock_size, char *const *more)
{
    char spill[512];
    snprintf (sock, sock_size, "%s/agent.sock", dir);
    snprintf (spill, sizeof spill, "%s/spill", dir);
    char *argv[16] = { (char *) warren_init, "--agent-socket",    sock, "--agent-root",
                       (char *) root,        "--agent-spill-dir", spill };
    size_t n = 7;
    for (size_t i = 0; more != NULL && more[i] != NULL && n < 15; i++)
        argv[n++] = more[i];
    argv[n] = NULL;
    pid_t pid = fork ();
    if (pid == 0) {
        int null_fd = open ("/dev/null", O_RDWR);
        dup2 (null_fd, 0);
        execv (warren_init, argv);
        _exit (127);
    }
    return pid;
}

static inline pid_t
agent_start (const char *warren_init, const char *dir, const char *root, char *sock,
             size_t sock_size)
{
    return agent_start_with (warren_init, dir, root, sock, sock_size, NULL);
}

/* SIGTERM to the agent started as PID, and its wait status. */
static inline int
agent_stop (pid_t pid)
{
    int status = 0;
    kill (pid, SIGTERM);
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

#endif
