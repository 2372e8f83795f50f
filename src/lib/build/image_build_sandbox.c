/* A build step's sandbox: runsc run on the step's bundle with the build's
 * network, its deadline and its cancellation (image_build_private.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "image_build_private.h"
#include "path_in_root.h"
#include "xalloc.h"

#define RESOLV_CONF "etc/resolv.conf"

int
wr_build_sandbox_network (wr_spec_t *spec, const wr_build_network_t *network, wr_error_t *err)
{
    if (network->resolv_conf != NULL) {
        static const char *const options[] = { "bind", "ro", NULL };
        const wr_mount_t m = { .destination = "/" RESOLV_CONF,
                               .type = "bind",
                               .source = network->resolv_conf,
                               .options = options };
        if (wr_spec_add_mount (spec, &m, err) < 0)
            return -1;
    }
    if (network->prepare != NULL && network->prepare (network->data, spec, err) < 0)
        return wr_error_prefix (err, "the step's network");
    return 0;
}

void
wr_build_sandbox_drop_mountpoints (const wr_build_network_t *network, int lower_fd, int upper_fd)
{
    if (network == NULL || network->resolv_conf == NULL)
        return;
    /* The image had none: an empty file in the upper directory is the
     * mount point runsc made for the bind, not something the step wrote
     * (it could not write a file mounted read-only over it). */
    cleanup_close int in_lower = wr_open_in_root (lower_fd, RESOLV_CONF, O_PATH, 0, NULL);
    if (in_lower >= 0)
        return;
    struct stat st;
    if (fstatat (upper_fd, RESOLV_CONF, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode) &&
        st.st_size == 0)
        unlinkat (upper_fd, RESOLV_CONF, 0);
}

/* Kills the sandbox's runsc and removes what is left of it. */
static void
kill_sandbox (const wr_build_sandbox_t *s, pid_t pid, int *status)
{
    kill (pid, SIGKILL);
    waitpid (pid, status, 0);
    char *del[] = { (char *) s->runsc, "--root", (char *) s->state, "delete", "-force",
                    (char *) s->id,    NULL };
    pid_t d = fork ();
    if (d == 0) {
        execv (s->runsc, del);
        _exit (127);
    }
    if (d > 0)
        waitpid (d, NULL, 0);
}

/* In the child: its streams, the network's setup, runsc.  A failure is
 * its errno on REPORT_FD (CLOEXEC: an exec that works closes it unread),
 * after a byte saying which part failed. */
static void
child (const wr_build_sandbox_t *s, char *const *argv, int report_fd)
{
    int null_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd >= 0)
        dup2 (null_fd, 0);
    dup2 (s->output_fd, 1);
    dup2 (s->output_fd, 2);
    char what = 's';
    int e = 0;
    if (s->network != NULL && s->network->child_setup != NULL)
        e = s->network->child_setup (s->network->data);
    if (e == 0) {
        what = 'x';
        execv (s->runsc, argv);
        e = errno;
    }
    unsigned char report[1 + sizeof e];
    report[0] = (unsigned char) what;
    memcpy (report + 1, &e, sizeof e);
    ssize_t n = write (report_fd, report, sizeof report);
    (void) n;
    _exit (127);
}

int
wr_build_sandbox_run (const wr_build_sandbox_t *s, int *status, wr_error_t *err)
{
    const char *network = s->network != NULL ? "--network=sandbox"
                          : s->no_network    ? "--network=none"
                                             : "--network=host";
    char *argv[] = { (char *) s->runsc, "--root", (char *) s->state, (char *) network,
                     "--overlay2=none", "run",    "--bundle",        (char *) s->dir,
                     (char *) s->id,    NULL };
    int report[2];
    if (pipe2 (report, O_CLOEXEC) < 0)
        return wr_error_set (err, errno, "run `%s`: a pipe", s->runsc);
    pid_t pid = fork ();
    if (pid < 0) {
        int e = errno;
        close (report[0]);
        close (report[1]);
        return wr_error_set (err, e, "run `%s`: fork", s->runsc);
    }
    if (pid == 0)
        child (s, argv, report[1]);
    close (report[1]);
    unsigned char got[1 + sizeof (int)];
    ssize_t n;
    do
        n = read (report[0], got, sizeof got);
    while (n < 0 && errno == EINTR);
    close (report[0]);
    if (n == (ssize_t) sizeof got) {
        int e;
        memcpy (&e, got + 1, sizeof e);
        waitpid (pid, status, 0);
        if (got[0] == 's')
            return wr_error_set (err, e, "sandbox `%s`: %s", s->id,
                                 s->network->child_setup_what != NULL
                                     ? s->network->child_setup_what
                                     : "the network's setup before runsc");
        return wr_error_set (err, e, "run `%s`", s->runsc);
    }
    time_t deadline = time (NULL) + s->timeout;
    for (;;) {
        pid_t w = waitpid (pid, status, WNOHANG);
        if (w == pid)
            return 0;
        if (w < 0 && errno != EINTR)
            return wr_error_set (err, errno, "wait for `%s`", s->runsc);
        bool stopped = wr_cancel_stopped (s->cancel);
        if (stopped || time (NULL) > deadline) {
            /* The sandbox is killed and removed: nothing of it is left. */
            kill_sandbox (s, pid, status);
            if (stopped) {
                cleanup_free char *what = xasprintf ("sandbox `%s`", s->id);
                return wr_cancel_check (s->cancel, what, err);
            }
            return wr_error_set (err, ETIMEDOUT, "sandbox `%s` ran longer than %d s", s->id,
                                 s->timeout);
        }
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        nanosleep (&ts, NULL);
    }
}
