#include "dockerd_failure.h"

#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"

const char *
log_tail (const char *text, int max_lines)
{
    const char *end = text + strlen (text);
    if (end > text && end[-1] == '\n')
        end--;
    const char *p = end;
    int lines = 0;
    while (p > text) {
        if (p[-1] == '\n' && ++lines == max_lines)
            return p;
        p--;
    }
    return text;
}

const char *
dockerd_failure_advice (const char *log, bool timed_out)
{
    static const struct {
        const char *needle;
        const char *advice;
    } table[] = {
        { "Devices cgroup isn't mounted",
          "the sandbox has no devices cgroup: runsc before 20240729 (Debian 12's runsc 20221219) "
          "lacks it; install runsc 20240729 or newer (Debian: bookworm-backports)" },
        { "Failed to initialize nft",
          "iptables is the nft variant, which gVisor lacks: install the legacy variant "
          "(iptables-legacy) so warren-init can select it, and keep --iptables=false" },
        { "MASQUERADE", "dockerd's iptables rules need NAT that gVisor lacks: keep "
                        "--iptables=false (check WARREN_DOCKERD_ARGS and daemon.json); the "
                        "bridge itself works under runsc --network=sandbox" },
        { "NAT chain", "dockerd's iptables rules need NAT that gVisor lacks: keep "
                       "--iptables=false (check WARREN_DOCKERD_ARGS and daemon.json); the "
                       "bridge itself works under runsc --network=sandbox" },
        { "\"bridge\" network: inappropriate ioctl",
          "runsc --network=host cannot make dockerd's bridge: keep --bridge=none (check "
          "WARREN_DOCKERD_ARGS and daemon.json), or run the sandbox under "
          "runsc --network=sandbox where docker0 works" },
        { "ip_forward",
          "dockerd could not enable IP forwarding, which runsc --network=host forbids: set "
          "WARREN_NETWORK=host so warren-init passes --ip-forward=false" },
        { "pid file found",
          "another dockerd runs in this sandbox or its pid file is stale: stop it or remove "
          "/var/run/docker.pid" },
        { "address already in use",
          "something else listens on dockerd's socket: stop it or remove the stale socket" },
        { "specified both as a flag and in the configuration file",
          "an option is set both in daemon.json and as a flag (WARREN_DOCKERD_ARGS): keep one" },
        { "error initializing graphdriver",
          "the storage driver failed: keep the tmpfs on dockerd's data root "
          "(WARREN_DOCKER_TMPFS_SIZE, default 50%) so overlay2 works, or use storage-driver vfs" },
        { "unknown flag",
          "dockerd refuses one of its flags: check WARREN_DOCKERD_ARGS against `dockerd --help`" },
        { "operation not permitted",
          "dockerd lacks privileges in the sandbox: run it with warren's Docker profile "
          "(annotation dev.warren.profile=docker), which adds CAP_SYS_ADMIN, CAP_NET_ADMIN and "
          "the other capabilities dockerd needs" },
    };
    /* The cause is usually in the last lines ("failed to start daemon:
     * ..."); earlier lines hold warnings that may match too. */
    const char *last_lines = log ? log_tail (log, 3) : NULL;
    for (int pass = 0; pass < 2 && log; pass++) {
        const char *text = pass == 0 ? last_lines : log;
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
            if (strcasestr (text, table[i].needle) != NULL)
                return table[i].advice;
    }
    if (timed_out)
        return "dockerd is slow or stuck: read its log above, or give it longer with "
               "WARREN_DOCKERD_TIMEOUT (seconds)";
    return "read dockerd's log above for the cause";
}

char *
dockerd_read_log (const char *log_path, off_t offset)
{
    const off_t max = 64 * 1024;
    cleanup_close int fd = open (log_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat (fd, &st) < 0)
        return NULL;
    off_t start = offset;
    if (st.st_size - start > max)
        start = st.st_size - max;
    if (start > st.st_size)
        start = 0; /* the log was truncated meanwhile */
    size_t size = (size_t) (st.st_size - start);
    char *buf = xmalloc (size + 1);
    ssize_t n = pread (fd, buf, size, start);
    buf[n > 0 ? n : 0] = '\0';
    if (start > offset) {
        /* Cut the partial first line. */
        char *newline = strchr (buf, '\n');
        if (newline)
            memmove (buf, newline + 1, strlen (newline + 1) + 1);
    }
    return buf;
}
