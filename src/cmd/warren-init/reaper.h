/* Process management for PID 1: every signal is blocked and read from a
 * signalfd, every zombie is reaped, and the children warren-init started
 * itself are watched so that their exit status is not lost. */
#ifndef WARREN_INIT_REAPER_H
#define WARREN_INIT_REAPER_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

#define REAPER_MAX_WATCHED 4
#define REAPER_MAX_SIGNALS 16

typedef struct {
    pid_t pid;
    bool exited;
    int status; /* wait status, valid when exited */
} reaper_child_t;

typedef struct {
    int signal_fd;
    sigset_t saved_mask; /* restored in children before exec */
    reaper_child_t watched[REAPER_MAX_WATCHED];
    size_t n_watched;
    /* Called with every child reaped (the agent's processes), or NULL. */
    void (*on_exit) (pid_t pid, int status, void *data);
    void *on_exit_data;
} reaper_t;

/* Blocks all signals, opens the signalfd and, when not PID 1, becomes a
 * child subreaper so that orphans are still reaped here. */
int reaper_init (reaper_t *reaper, wr_error_t *err);
void reaper_close (reaper_t *reaper);

typedef struct {
    char *const *argv; /* argv[0] is searched in PATH when it has no '/' */
    int stdin_fd; /* -1: inherit */
    int stdout_fd; /* -1: inherit */
    int stderr_fd; /* -1: inherit */
    /* setsid(): no terminal signals reach it (for dockerd). */
    bool new_session;
    /* Own process group, made the terminal's foreground group when stdin
     * is a terminal, so that ^C reaches it and not warren-init. */
    bool foreground;
} spawn_options_t;

/* Starts a watched child with the original signal mask.  When the exec
 * fails the error carries its errno (ENOENT, EACCES...) and the child is
 * already reaped. */
pid_t reaper_spawn (reaper_t *reaper, const spawn_options_t *options, wr_error_t *err);

/* Waits up to TIMEOUT_MS (-1: no limit) for a signal, or for EXTRA_FD (when
 * >= 0) to become readable.  Reaps every exited child.  Signals other than
 * SIGCHLD are stored in SIGNALS (at most REAPER_MAX_SIGNALS, *N_SIGNALS
 * set). *EXTRA_READY tells whether EXTRA_FD is readable. */
int reaper_poll (reaper_t *reaper, int extra_fd, int timeout_ms, int *signals, size_t *n_signals,
                 bool *extra_ready, wr_error_t *err);

/* The watched child PID, or NULL when PID is not watched. */
const reaper_child_t *reaper_child (const reaper_t *reaper, pid_t pid);

/* Waits until the watched child PID exits or TIMEOUT_MS passes (-1: no
 * limit).  Signals that arrive meanwhile are given to ON_SIGNAL (may be
 * NULL).  Returns 1 when it exited, 0 on timeout. */
int reaper_wait_child (reaper_t *reaper, pid_t pid, int timeout_ms,
                       void (*on_signal) (int signo, void *data), void *data, wr_error_t *err);

/* Pure helpers. */
/* Whether a signal warren-init receives is passed on to its child. */
bool signal_should_forward (int signo);
/* The exit code for a wait status: the exit code, or 128+N for signal N. */
int exit_code_from_status (int status);
/* "exited with status 1", "was killed by signal 9 (SIGKILL)" into BUF. */
const char *describe_status (int status, char *buf, size_t size);

/* Milliseconds of CLOCK_MONOTONIC. */
long long monotonic_ms (void);

#endif
