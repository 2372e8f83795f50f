/* Network namespaces of sandboxes (see sandbox_netns.h). */
#include "sandbox_netns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "children.h"
#include "cleanup.h"
#include "fs.h"
#include "strv.h"
#include "xalloc.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

char *
wr_netns_name (const char *sandbox_id)
{
    return xasprintf ("%s%.*s", WR_NETNS_PREFIX, WR_NETNS_SHORT_ID, sandbox_id);
}

int
wr_netns_is_mounted (const char *path)
{
    struct statfs st;
    return statfs (path, &st) == 0 && st.f_type == NSFS_MAGIC;
}

/* What the child reports through its pipe when a step fails. */
typedef struct {
    int step; /* index into child_steps */
    int errno_value;
} child_failure_t;

static const char *const child_steps[] = {
    "unshare(CLONE_NEWNET)",
    "open a socket to set lo up",
    "set lo up",
    "bind-mount /proc/self/ns/net",
};

/* The child: only async-signal-safe calls (warrend has threads). */
static void __attribute__ ((noreturn)) child_make_netns (const char *path, int report_fd)
{
    child_failure_t failure = { 0, 0 };
    struct ifreq ifr;
    int fd;
    if (unshare (CLONE_NEWNET) < 0) {
        failure.step = 0;
        goto fail;
    }
    fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        failure.step = 1;
        goto fail;
    }
    memset (&ifr, 0, sizeof ifr);
    memcpy (ifr.ifr_name, "lo", 3);
    if (ioctl (fd, SIOCGIFFLAGS, &ifr) < 0) {
        failure.step = 2;
        goto fail;
    }
    ifr.ifr_flags |= IFF_UP;
    if (ioctl (fd, SIOCSIFFLAGS, &ifr) < 0) {
        failure.step = 2;
        goto fail;
    }
    close (fd);
    /* The child shares the parent's mount namespace, so the parent (and
     * runsc, later) sees this mount. */
    if (mount ("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0) {
        failure.step = 3;
        goto fail;
    }
    _exit (0);
fail:
    failure.errno_value = errno;
    if (write (report_fd, &failure, sizeof failure) < 0)
        _exit (2);
    _exit (1);
}

int
wr_netns_create (const char *dir, const char *name, char **path_out, wr_error_t *err)
{
    if (name[0] == '\0' || strchr (name, '/') != NULL || strcmp (name, ".") == 0 ||
        strcmp (name, "..") == 0)
        return wr_error_set (err, 0, "network namespace name `%s` is not a file name", name);
    if (wr_mkdir_p (dir, 0755, err) < 0)
        return wr_error_prefix (err, "network namespace `%s`", name);
    cleanup_free char *path = xasprintf ("%s/%s", dir, name);
    cleanup_close int fd = open (path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0)
        return wr_error_set (err, errno, "network namespace `%s`: create `%s`", name, path);
    close (steal_fd (&fd));

    int pipe_fds[2];
    if (pipe2 (pipe_fds, O_CLOEXEC) < 0) {
        int e = errno;
        unlink (path);
        return wr_error_set (err, e, "network namespace `%s`: pipe", name);
    }
    pid_t pid = wr_children_fork ();
    if (pid < 0) {
        int e = errno;
        close (pipe_fds[0]);
        close (pipe_fds[1]);
        unlink (path);
        return wr_error_set (err, e, "network namespace `%s`: fork", name);
    }
    if (pid == 0) {
        close (pipe_fds[0]);
        child_make_netns (path, pipe_fds[1]);
    }
    close (pipe_fds[1]);
    child_failure_t failure = { -1, 0 };
    ssize_t n;
    do
        n = read (pipe_fds[0], &failure, sizeof failure);
    while (n < 0 && errno == EINTR);
    close (pipe_fds[0]);
    int status = 0;
    pid_t r;
    do
        r = waitpid (pid, &status, 0);
    while (r < 0 && errno == EINTR);
    wr_children_waited (pid);
    if (n == (ssize_t) sizeof failure && failure.step >= 0 &&
        failure.step < (int) (sizeof child_steps / sizeof child_steps[0])) {
        wr_netns_remove (path, NULL);
        return wr_error_set (err, failure.errno_value, "network namespace `%s`: %s", name,
                             child_steps[failure.step]);
    }
    if (r < 0 || !WIFEXITED (status) || WEXITSTATUS (status) != 0) {
        wr_netns_remove (path, NULL);
        return wr_error_set (err, 0, "network namespace `%s`: the child that makes it failed",
                             name);
    }
    if (path_out != NULL)
        *path_out = steal_pointer (&path);
    return 0;
}

int
wr_netns_remove (const char *path, wr_error_t *err)
{
    /* A namespace mounted twice on the same file (a retried create, say)
     * needs as many unmounts. */
    for (int i = 0; i < 16 && wr_netns_is_mounted (path); i++) {
        if (umount2 (path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
            return wr_error_set (err, errno, "network namespace `%s`: unmount", path);
    }
    if (wr_netns_is_mounted (path))
        return wr_error_set (err, EBUSY, "network namespace `%s`: still mounted", path);
    if (unlink (path) < 0 && errno != ENOENT)
        return wr_error_set (err, errno, "network namespace `%s`: remove", path);
    return 0;
}

static int
compare_strings (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

char **
wr_netns_list (const char *dir, const char *prefix, wr_error_t *err)
{
    if (prefix == NULL)
        prefix = WR_NETNS_PREFIX;
    char **names = xzalloc (sizeof (char *));
    cleanup_closedir DIR *d = opendir (dir);
    if (d == NULL) {
        if (errno == ENOENT)
            return names;
        int e = errno;
        wr_strv_free (names);
        wr_error_set (err, e, "list network namespaces in `%s`", dir);
        return NULL;
    }
    struct dirent *entry;
    size_t prefix_len = strlen (prefix);
    while ((entry = readdir (d)) != NULL) {
        if (strncmp (entry->d_name, prefix, prefix_len) == 0)
            wr_strv_add (&names, entry->d_name);
    }
    qsort (names, wr_strv_length (names), sizeof (char *), compare_strings);
    return names;
}
