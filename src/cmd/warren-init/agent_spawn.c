#include "agent_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
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

/* What the child reads (the parent's memory: CLONE_VM) and the one thing
 * it writes back: the errno of the step that failed. */
typedef struct {
    const agent_spawn_t *spawn;
    volatile int failed_errno;
} child_args_t;

/* In the child, raw system calls only, besides sigaction and execvpe
 * (which neither lock nor allocate): it runs on the parent's memory with
 * the parent thread's TLS, so nothing that locks, allocates, or (glibc's
 * setuid/setgid/setgroups) signals the parent's other threads. */
static long __attribute__ ((no_sanitize ("address", "undefined"))) child_put_fd (int from, int to)
{
    if (from == to) {
        long flags = syscall (SYS_fcntl, to, F_GETFD);
        return flags < 0 ? -1 : syscall (SYS_fcntl, to, F_SETFD, flags & ~FD_CLOEXEC);
    }
    return syscall (SYS_dup3, from, to, 0);
}

static int __attribute__ ((no_sanitize ("address", "undefined"))) child_main (void *data)
{
    child_args_t *args = data;
    const agent_spawn_t *spawn = args->spawn;
    /* Every signal is blocked (the parent blocked them all before clone);
     * no handler of the parent's may run here, on its memory, once they
     * are unblocked: back to the default.  glibc refuses its own two
     * (SIGCANCEL, SIGSETXID), sent only to the parent's threads. */
    for (int signo = 1; signo < NSIG; signo++) {
        struct sigaction sa;
        if (sigaction (signo, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL &&
            sa.sa_handler != SIG_IGN) {
            sa.sa_handler = SIG_DFL;
            sa.sa_flags = 0;
            sigaction (signo, &sa, NULL);
        }
    }
    if (spawn->tty_path) {
        if (syscall (SYS_setsid) < 0)
            goto fail;
        long fd = syscall (SYS_openat, AT_FDCWD, spawn->tty_path, O_RDWR);
        if (fd < 0 || syscall (SYS_ioctl, fd, TIOCSCTTY, 0) < 0 || child_put_fd ((int) fd, 0) < 0 ||
            child_put_fd ((int) fd, 1) < 0 || child_put_fd ((int) fd, 2) < 0)
            goto fail;
        if (fd > 2)
            syscall (SYS_close, fd);
    } else {
        syscall (SYS_setpgid, 0, 0);
        if (child_put_fd (spawn->stdin_fd, 0) < 0 || child_put_fd (spawn->stdout_fd, 1) < 0 ||
            child_put_fd (spawn->stderr_fd, 2) < 0)
            goto fail;
    }
    if (spawn->cwd && syscall (SYS_chdir, spawn->cwd) < 0)
        goto fail;
    if (spawn->set_user &&
        (syscall (SYS_setgroups, 1, &spawn->gid) < 0 || syscall (SYS_setgid, spawn->gid) < 0 ||
         syscall (SYS_setuid, spawn->uid) < 0))
        goto fail;
    syscall (SYS_rt_sigprocmask, SIG_SETMASK, spawn->mask, NULL, _NSIG / 8);
    /* glibc's execvpe searches PATH in a buffer on this stack (at most
     * PATH_MAX + NAME_MAX), without malloc. */
    execvpe (spawn->argv[0], spawn->argv, spawn->env);
fail:
    args->failed_errno = errno ? errno : EINVAL;
    _exit (127);
}

/* 64 KiB, the PATH search's buffer and, for a script without #!, the
 * argument vector execvpe gives /bin/sh. */
static size_t
child_stack_size (char *const *argv)
{
    size_t argc = 0;
    for (; argv[argc]; argc++)
        ;
    size_t page = (size_t) sysconf (_SC_PAGESIZE);
    size_t size = 64 * 1024 + PATH_MAX + NAME_MAX + (argc + 3) * sizeof (char *);
    return (size + page - 1) / page * page;
}

pid_t
agent_spawn (const agent_spawn_t *spawn, wr_error_t *err)
{
    size_t page = (size_t) sysconf (_SC_PAGESIZE);
    size_t size = child_stack_size (spawn->argv);
    /* The lowest page is a guard: an overflow faults instead of writing
     * into whatever lies below. */
    char *stack = mmap (NULL, size + page, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED)
        return wr_error_set (err, errno, "map a stack to run `%s`", spawn->argv[0]);
    mprotect (stack, page, PROT_NONE);
    child_args_t args = { .spawn = spawn };
    /* Every signal blocked, glibc's own too (sigprocmask would leave
     * them), so that the child starts with none deliverable. */
    sigset_t all, old;
    memset (&all, 0xff, sizeof all);
    syscall (SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, _NSIG / 8);
    /* vfork's semantics: this thread waits until the child has exec'd or
     * exited; no copy of the address space, which gVisor pays dearly for
     * (bench/RESULTS.md, exec). */
    pid_t pid = clone (child_main, stack + size + page, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
    int clone_errno = errno;
    syscall (SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, _NSIG / 8);
    munmap (stack, size + page);
    if (pid < 0)
        return wr_error_set (err, clone_errno, "clone to run `%s`", spawn->argv[0]);
    if (args.failed_errno != 0) {
        /* PID 1's reaper may take it first: then ECHILD, which is fine. */
        while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
            ;
        return wr_error_set (err, args.failed_errno, "run `%s`", spawn->argv[0]);
    }
    return pid;
}
