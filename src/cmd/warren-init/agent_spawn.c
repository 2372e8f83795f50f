#include "agent_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"

static bool
parse_id (const char *text, size_t len, unsigned long *out)
{
    if (len == 0 || len > 10)
        return false;
    unsigned long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        v = v * 10 + (unsigned long) (text[i] - '0');
    }
    if (v > 0xfffffffeUL)
        return false;
    *out = v;
    return true;
}

/* Finds the passwd line whose name is NAME (or, when NAME is NULL, whose
 * uid is UID): its uid and gid.  1 found, 0 not, -1 unreadable. */
static int
passwd_find (const char *path, const char *name, unsigned long uid, unsigned long *out_uid,
             unsigned long *out_gid, wr_error_t *err)
{
    cleanup_fclose FILE *f = fopen (path, "re");
    if (f == NULL)
        return errno == ENOENT ? 0 : wr_error_set (err, errno, "open `%s`", path);
    char line[4096];
    while (fgets (line, sizeof line, f)) {
        /* name:password:uid:gid:gecos:home:shell */
        char *fields[4];
        char *p = line;
        int n = 0;
        for (; n < 4; n++) {
            fields[n] = p;
            char *colon = strchr (p, ':');
            if (colon == NULL)
                break;
            *colon = '\0';
            p = colon + 1;
        }
        if (n < 4)
            continue;
        unsigned long u, g;
        char *gid_end = fields[3] + strcspn (fields[3], ":\n");
        if (!parse_id (fields[2], strlen (fields[2]), &u) ||
            !parse_id (fields[3], (size_t) (gid_end - fields[3]), &g))
            continue;
        if (name ? strcmp (fields[0], name) == 0 : u == uid) {
            *out_uid = u;
            *out_gid = g;
            return 1;
        }
    }
    return 0;
}

int
agent_user_lookup (const char *passwd_path, const char *user, uid_t *uid, gid_t *gid,
                   wr_error_t *err)
{
    const char *colon = strchr (user, ':');
    unsigned long u = 0, g = 0;
    if (colon) {
        if (!parse_id (user, (size_t) (colon - user), &u) ||
            !parse_id (colon + 1, strlen (colon + 1), &g))
            return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                      "user `%s`: expected a name, a uid or uid:gid", user);
        *uid = (uid_t) u;
        *gid = (gid_t) g;
        return 0;
    }
    bool numeric = parse_id (user, strlen (user), &u);
    unsigned long found_uid, found_gid;
    int r = passwd_find (passwd_path, numeric ? NULL : user, u, &found_uid, &found_gid, err);
    if (r < 0)
        return -1;
    if (r == 0 && !numeric)
        return wr_error_set_kind (err, WR_ERROR_NOT_FOUND, 0, "no user `%s` in %s", user,
                                  passwd_path);
    *uid = (uid_t) (r ? found_uid : u);
    *gid = (gid_t) (r ? found_gid : u);
    return 0;
}

char **
agent_env_merge (char *const *environ_, char *const *extra)
{
    size_t n = 0, m = 0;
    for (; environ_ && environ_[n]; n++)
        ;
    for (; extra && extra[m]; m++)
        ;
    char **env = xzalloc ((n + m + 1) * sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t key = strcspn (environ_[i], "=");
        bool replaced = false;
        for (size_t j = 0; j < m && !replaced; j++)
            replaced = strncmp (extra[j], environ_[i], key + 1) == 0;
        if (!replaced)
            env[k++] = xstrdup (environ_[i]);
    }
    for (size_t j = 0; j < m; j++)
        env[k++] = xstrdup (extra[j]);
    env[k] = NULL;
    return env;
}

static int
put_fd (int from, int to)
{
    if (from == to) {
        int flags = fcntl (to, F_GETFD);
        return flags < 0 ? -1 : fcntl (to, F_SETFD, flags & ~FD_CLOEXEC);
    }
    return dup2 (from, to) < 0 ? -1 : 0;
}

static void __attribute__ ((noreturn)) child (const agent_spawn_t *spawn, int error_pipe)
{
    if (spawn->tty_path) {
        if (setsid () < 0)
            goto fail;
        int fd = open (spawn->tty_path, O_RDWR);
        if (fd < 0 || ioctl (fd, TIOCSCTTY, 0) < 0 || put_fd (fd, 0) < 0 || put_fd (fd, 1) < 0 ||
            put_fd (fd, 2) < 0)
            goto fail;
        if (fd > 2)
            close (fd);
    } else {
        setpgid (0, 0);
        if (put_fd (spawn->stdin_fd, 0) < 0 || put_fd (spawn->stdout_fd, 1) < 0 ||
            put_fd (spawn->stderr_fd, 2) < 0)
            goto fail;
    }
    if (spawn->cwd && chdir (spawn->cwd) < 0)
        goto fail;
    if (spawn->set_user &&
        (setgroups (1, &spawn->gid) < 0 || setgid (spawn->gid) < 0 || setuid (spawn->uid) < 0))
        goto fail;
    sigprocmask (SIG_SETMASK, spawn->mask, NULL);
    execvpe (spawn->argv[0], spawn->argv, spawn->env);
fail:;
    int saved = errno;
    (void) !write (error_pipe, &saved, sizeof saved);
    _exit (127);
}

pid_t
agent_spawn (const agent_spawn_t *spawn, wr_error_t *err)
{
    int pipe_fds[2];
    if (pipe2 (pipe_fds, O_CLOEXEC) < 0)
        return wr_error_set (err, errno, "pipe");
    cleanup_close int read_end = pipe_fds[0];
    cleanup_close int write_end = pipe_fds[1];
    pid_t pid = fork ();
    if (pid < 0)
        return wr_error_set (err, errno, "fork to run `%s`", spawn->argv[0]);
    if (pid == 0)
        child (spawn, write_end);
    if (spawn->tty_path == NULL)
        setpgid (pid, pid); /* both sides: no race with a signal to the group */
    close (steal_fd (&write_end));
    int child_errno = 0;
    ssize_t n;
    do
        n = read (read_end, &child_errno, sizeof child_errno);
    while (n < 0 && errno == EINTR);
    if (n == sizeof child_errno) {
        /* PID 1's reaper may take it first: then ECHILD, which is fine. */
        while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
            ;
        return wr_error_set (err, child_errno, "run `%s`", spawn->argv[0]);
    }
    return pid;
}
