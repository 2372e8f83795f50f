/* libFuzzer target: warren-init's path resolution (agent_path.c).  The
 * paths of file requests are the user's, and the tree they are resolved in
 * is the sandbox's, so both are hostile: here any path (the input, cut at
 * its first NUL) is resolved, with and without following its last
 * component, in a fixed temporary tree full of symlinks that point up, to
 * the host's root, to a canary next to the root, in loops.  Whatever
 * resolves must be a directory under the root, and its last name a plain
 * name that is not the canary. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_path.h"
#include "cleanup.h"
#include "error.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int root_fd = -1;
static struct stat root_st, canary_st, base_st;

static void
make_tree (void)
{
    char base[] = "/tmp/fuzz-agent-path-XXXXXX";
    if (mkdtemp (base) == NULL)
        abort ();
    char path[256];
    snprintf (path, sizeof path, "%s/canary", base);
    int fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || fstat (fd, &canary_st) < 0)
        abort ();
    close (fd);
    char canary[256];
    snprintf (canary, sizeof canary, "%s", path);
    snprintf (path, sizeof path, "%s/root", base);
    if (mkdir (path, 0755) < 0)
        abort ();
    root_fd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0 || fstat (root_fd, &root_st) < 0 || stat (base, &base_st) < 0)
        abort ();
    const char *dirs[] = { "a", "a/b", "a/b/c", "etc" };
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
        if (mkdirat (root_fd, dirs[i], 0755) < 0)
            abort ();
    const char *files[] = { "etc/passwd", "a/file" };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        int f = openat (root_fd, files[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (f < 0)
            abort ();
        close (f);
    }
    struct {
        const char *target, *name;
    } links[] = {
        { "/", "to-root" },
        { "..", "up" },
        { "../../../..", "a/b/way-up" },
        { "/etc", "to-etc" },
        { canary, "to-canary" },
        { "../canary", "next-to-root" },
        { "loop", "loop" },
        { "ping", "pong" },
        { "pong", "ping" },
        { "b/c/../..", "a/back" },
        { "/a/b", "abs-b" },
        { "file/x", "a/through-file" },
        { "", "empty" },
        { "../../canary", "a/b/c/canary-rel" },
    };
    for (size_t i = 0; i < sizeof links / sizeof *links; i++)
        if (links[i].target[0] != '\0' && symlinkat (links[i].target, root_fd, links[i].name) < 0)
            abort ();
}

/* Whether directory FD is ROOT or under it: walked up through "..". */
static bool
under_root (int fd)
{
    int cur = fcntl (fd, F_DUPFD_CLOEXEC, 0);
    for (int depth = 0; cur >= 0 && depth < 4096; depth++) {
        struct stat st;
        if (fstat (cur, &st) < 0)
            break;
        if (st.st_dev == root_st.st_dev && st.st_ino == root_st.st_ino) {
            close (cur);
            return true;
        }
        int up = openat (cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct stat up_st;
        if (up < 0 || fstat (up, &up_st) < 0 ||
            (up_st.st_dev == st.st_dev && up_st.st_ino == st.st_ino)) {
            if (up >= 0)
                close (up);
            break; /* the host's "/" without meeting the root */
        }
        close (cur);
        cur = up;
    }
    if (cur >= 0)
        close (cur);
    return false;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (root_fd < 0)
        make_tree ();
    if (size > 8192)
        return 0;
    cleanup_free char *path = xmalloc (size + 1);
    memcpy (path, data, size);
    path[size] = '\0';
    for (unsigned flags = 0; flags <= AGENT_PATH_FOLLOW; flags += AGENT_PATH_FOLLOW) {
        cleanup_agent_path agent_path_t p = { -1, NULL };
        cleanup_error wr_error_t err = NULL;
        int r = agent_path_resolve (root_fd, path, flags, "fuzz", &p, &err);
        if (r < 0) {
            if (err == NULL || err->message == NULL || p.dir_fd >= 0 || p.name != NULL)
                __builtin_trap ();
            continue;
        }
        if (err != NULL || p.dir_fd < 0 || p.name == NULL || p.name[0] == '\0' ||
            strchr (p.name, '/') != NULL || strcmp (p.name, "..") == 0)
            __builtin_trap ();
        if (!under_root (p.dir_fd))
            __builtin_trap ();
        struct stat st;
        if (fstatat (p.dir_fd, p.name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            if ((st.st_dev == canary_st.st_dev && st.st_ino == canary_st.st_ino) ||
                (st.st_dev == base_st.st_dev && st.st_ino == base_st.st_ino))
                __builtin_trap ();
            /* Followed, nothing is a symlink any more. */
            if ((flags & AGENT_PATH_FOLLOW) && S_ISLNK (st.st_mode))
                __builtin_trap ();
        }
    }
    return 0;
}
