#include "docker_prepare.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"
#include "log.h"
#include "reaper.h"
#include "xalloc.h"

/* The v1 controllers dockerd (runc) uses, in gVisor's cgroupfs. */
static const char *const wanted_controllers[] = { "devices", "memory", "cpu",
                                                  "cpuacct", "cpuset", "pids" };
#define N_WANTED (sizeof wanted_controllers / sizeof wanted_controllers[0])

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *
unescape_octal (const char *start, size_t len)
{
    char *out = xmalloc (len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (start[i] == '\\' && i + 3 < len && start[i + 1] >= '0' && start[i + 1] <= '3' &&
            start[i + 2] >= '0' && start[i + 2] <= '7' && start[i + 3] >= '0' &&
            start[i + 3] <= '7') {
            out[o++] = (char) ((start[i + 1] - '0') * 64 + (start[i + 2] - '0') * 8 +
                               (start[i + 3] - '0'));
            i += 3;
        } else {
            out[o++] = start[i];
        }
    }
    out[o] = '\0';
    return out;
}

void
mount_table_free (mount_table_t *table)
{
    for (size_t i = 0; i < table->n; i++) {
        free (table->entries[i].mount_point);
        free (table->entries[i].mount_options);
        free (table->entries[i].fs_type);
        free (table->entries[i].super_options);
    }
    free (table->entries);
    table->entries = NULL;
    table->n = 0;
}

/* Splits a line into space-separated fields (at most MAX). */
static size_t
split_fields (const char *line, const char *end, const char **starts, size_t *lens, size_t max)
{
    size_t n = 0;
    const char *p = line;
    while (p < end && n < max) {
        while (p < end && *p == ' ')
            p++;
        if (p >= end)
            break;
        starts[n] = p;
        while (p < end && *p != ' ')
            p++;
        lens[n] = (size_t) (p - starts[n]);
        n++;
    }
    return n;
}

int
mount_table_parse (const char *mountinfo, mount_table_t *table, wr_error_t *err)
{
    table->entries = NULL;
    table->n = 0;
    size_t cap = 0;
    int line_no = 0;
    for (const char *line = mountinfo; *line;) {
        const char *end = strchr (line, '\n');
        if (end == NULL)
            end = line + strlen (line);
        line_no++;
        const char *starts[32];
        size_t lens[32];
        size_t n = split_fields (line, end, starts, lens, 32);
        if (n > 0) {
            /* id parent maj:min root mount-point options [optional...] - type source super */
            size_t dash = 6;
            while (dash < n && !(lens[dash] == 1 && starts[dash][0] == '-'))
                dash++;
            if (n < 7 || dash + 1 >= n) {
                mount_table_free (table);
                return wr_error_set (err, 0, "mountinfo line %d is malformed: `%.*s`", line_no,
                                     (int) (end - line), line);
            }
            if (table->n == cap) {
                cap = cap ? cap * 2 : 32;
                table->entries = xrealloc (table->entries, cap * sizeof *table->entries);
            }
            mount_entry_t *e = &table->entries[table->n++];
            e->mount_point = unescape_octal (starts[4], lens[4]);
            e->mount_options = xstrndup (starts[5], lens[5]);
            e->fs_type = xstrndup (starts[dash + 1], lens[dash + 1]);
            e->super_options =
                dash + 3 < n ? xstrndup (starts[dash + 3], lens[dash + 3]) : xstrdup ("");
        }
        line = *end ? end + 1 : end;
    }
    return 0;
}

int
mount_table_read (mount_table_t *table, wr_error_t *err)
{
    cleanup_free char *text = wr_read_file ("/proc/self/mountinfo", SIZE_MAX, NULL, err);
    if (text == NULL)
        return -1;
    return mount_table_parse (text, table, err);
}

const mount_entry_t *
mount_table_find (const mount_table_t *table, const char *path)
{
    for (size_t i = table->n; i-- > 0;)
        if (strcmp (table->entries[i].mount_point, path) == 0)
            return &table->entries[i];
    return NULL;
}

bool
mount_options_have (const char *options, const char *option)
{
    size_t len = strlen (option);
    for (const char *p = options; p && *p;) {
        const char *comma = strchr (p, ',');
        size_t n = comma ? (size_t) (comma - p) : strlen (p);
        if (n == len && strncmp (p, option, len) == 0)
            return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

/* Whether /proc/filesystems lists NAME ("nodev\tcgroup" lines). */
static bool
filesystem_listed (const char *filesystems, const char *name)
{
    size_t len = strlen (name);
    for (const char *line = filesystems; line && *line;) {
        const char *end = strchr (line, '\n');
        if (end == NULL)
            end = line + strlen (line);
        const char *word = end;
        while (word > line && word[-1] != '\t' && word[-1] != ' ')
            word--;
        if ((size_t) (end - word) == len && strncmp (word, name, len) == 0)
            return true;
        line = *end ? end + 1 : end;
    }
    return false;
}

/* Looks CONTROLLER up in /proc/cgroups: returns whether it is enabled,
 * and its hierarchy id. */
static bool
controller_enabled (const char *proc_cgroups, const char *controller, int *hierarchy)
{
    *hierarchy = 0;
    size_t len = strlen (controller);
    for (const char *line = proc_cgroups; line && *line;) {
        const char *end = strchr (line, '\n');
        if (end == NULL)
            end = line + strlen (line);
        if (strncmp (line, controller, len) == 0 && (line[len] == '\t' || line[len] == ' ')) {
            int h = 0, count = 0, enabled = 0;
            if (sscanf (line + len, "%d %d %d", &h, &count, &enabled) == 3) {
                *hierarchy = h;
                return enabled != 0;
            }
            return false;
        }
        line = *end ? end + 1 : end;
    }
    return false;
}

static bool
controller_mounted_rw (const mount_table_t *mounts, const char *controller)
{
    for (size_t i = 0; i < mounts->n; i++) {
        const mount_entry_t *e = &mounts->entries[i];
        if (strcmp (e->fs_type, "cgroup") == 0 && !mount_options_have (e->mount_options, "ro") &&
            mount_options_have (e->super_options, controller))
            return true;
    }
    return false;
}

int
cgroup_plan_make (cgroups_mode_t requested, const char *filesystems, const char *proc_cgroups,
                  const mount_table_t *mounts, cgroup_plan_t *plan, wr_error_t *err)
{
    memset (plan, 0, sizeof *plan);
    plan->version = CGROUPS_NONE;
    if (requested == CGROUPS_NONE) {
        plan->reason = "WARREN_CGROUPS=none";
        return 0;
    }
    /* Unreadable /proc files: assume what gVisor has. */
    bool has_v1 = filesystems == NULL || filesystem_listed (filesystems, "cgroup");
    bool has_v2 = filesystems != NULL && filesystem_listed (filesystems, "cgroup2");

    const char *available[N_WANTED];
    size_t n_available = 0;
    bool any_hierarchy = false;
    for (size_t i = 0; i < N_WANTED; i++) {
        int hierarchy = 1;
        if (proc_cgroups == NULL ||
            controller_enabled (proc_cgroups, wanted_controllers[i], &hierarchy)) {
            available[n_available++] = wanted_controllers[i];
            any_hierarchy |= hierarchy != 0;
        }
    }
    const char *missing[N_WANTED];
    size_t n_missing = 0;
    for (size_t i = 0; i < n_available; i++)
        if (!controller_mounted_rw (mounts, available[i]))
            missing[n_missing++] = available[i];

    const mount_entry_t *top = mount_table_find (mounts, CGROUP_ROOT);
    bool top_rw = top != NULL && !mount_options_have (top->mount_options, "ro");
    bool v2_ready = top_rw && strcmp (top->fs_type, "cgroup2") == 0;
    bool v1_usable = has_v1 && n_available > 0;

    cgroups_mode_t version = requested;
    if (requested == CGROUPS_AUTO) {
        if (v2_ready) {
            plan->reason = "cgroup2 is already mounted on " CGROUP_ROOT;
            return 0;
        }
        /* On Linux a controller attached to cgroup2 shows hierarchy 0;
         * gVisor numbers its v1 hierarchies even before they are mounted. */
        if (v1_usable && (any_hierarchy || !has_v2))
            version = CGROUPS_V1;
        else if (has_v2)
            version = CGROUPS_V2;
        else if (v1_usable)
            version = CGROUPS_V1;
        else {
            plan->reason = "the sandbox has no cgroup filesystem";
            return 0;
        }
    }

    if (version == CGROUPS_V1) {
        if (!has_v1)
            return wr_error_set (err, 0,
                                 "cgroup v1 is wanted (WARREN_CGROUPS=v1) but /proc/filesystems "
                                 "has no `cgroup`");
        if (n_available == 0)
            return wr_error_set (err, 0,
                                 "/proc/cgroups lists none of the controllers dockerd uses "
                                 "(devices, memory, cpu, cpuacct, cpuset, pids)");
        if (n_missing == 0) {
            plan->reason = "the cgroup v1 controllers are already mounted";
            return 0;
        }
        plan->version = CGROUPS_V1;
        if (top_rw && strcmp (top->fs_type, "tmpfs") == 0) {
            for (size_t i = 0; i < n_missing; i++)
                plan->controllers[i] = missing[i];
        } else {
            /* The tmpfs hides whatever was below /sys/fs/cgroup (for
             * example a read-only cgroup mount from the spec). */
            plan->mount_tmpfs = true;
            for (size_t i = 0; i < n_available; i++)
                plan->controllers[i] = available[i];
        }
        plan->reason = "mounting cgroup v1 controllers";
        return 0;
    }

    /* CGROUPS_V2 */
    if (!has_v2)
        return wr_error_set (err, 0,
                             "cgroup v2 is wanted (WARREN_CGROUPS=v2) but /proc/filesystems has "
                             "no `cgroup2` (gVisor offers cgroup v1: use WARREN_CGROUPS=auto)");
    if (v2_ready) {
        plan->reason = "cgroup2 is already mounted on " CGROUP_ROOT;
        return 0;
    }
    plan->version = CGROUPS_V2;
    plan->reason = "mounting cgroup2";
    return 0;
}

static double
seconds_since (long long start_ms)
{
    return (double) (monotonic_ms () - start_ms) / 1000.0;
}

int
docker_prepare_cgroups (cgroups_mode_t requested, wr_error_t *err)
{
    long long start = monotonic_ms ();
    cleanup_free char *filesystems = wr_read_file ("/proc/filesystems", SIZE_MAX, NULL, NULL);
    cleanup_free char *proc_cgroups = wr_read_file ("/proc/cgroups", SIZE_MAX, NULL, NULL);
    mount_table_t mounts = { 0 };
    if (mount_table_read (&mounts, err) < 0)
        return -1;
    cgroup_plan_t plan;
    int r = cgroup_plan_make (requested, filesystems, proc_cgroups, &mounts, &plan, err);
    mount_table_free (&mounts);
    if (r < 0)
        return -1;
    if (plan.version == CGROUPS_NONE) {
        wr_log (strcmp (plan.reason, "the sandbox has no cgroup filesystem") == 0 ? WR_LOG_WARN
                                                                                  : WR_LOG_INFO,
                "cgroups not mounted", "reason", plan.reason, NULL);
        return 0;
    }
    const unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (plan.version == CGROUPS_V2) {
        if (mount ("cgroup2", CGROUP_ROOT, "cgroup2", flags, NULL) < 0)
            return wr_error_set (err, errno, "mount cgroup2 on `%s`", CGROUP_ROOT);
        cleanup_free char *took = xasprintf ("%.3fs", seconds_since (start));
        wr_log (WR_LOG_INFO, "cgroups mounted", "version", "v2", "path", CGROUP_ROOT, "took", took,
                NULL);
        return 0;
    }
    if (plan.mount_tmpfs) {
        if (wr_mkdir_p (CGROUP_ROOT, 0755, err) < 0)
            return -1;
        if (mount ("tmpfs", CGROUP_ROOT, "tmpfs", flags, "mode=0755") < 0)
            return wr_error_set (err, errno, "mount tmpfs on `%s`", CGROUP_ROOT);
    }
    char names[128] = "";
    for (size_t i = 0; plan.controllers[i] != NULL; i++) {
        const char *name = plan.controllers[i];
        cleanup_free char *path = xasprintf ("%s/%s", CGROUP_ROOT, name);
        if (wr_mkdir_p (path, 0755, err) < 0)
            return -1;
        if (mount (name, path, "cgroup", flags, name) < 0)
            return wr_error_set (err, errno, "mount cgroup controller `%s` on `%s`", name, path);
        if (names[0])
            strncat (names, ",", sizeof names - strlen (names) - 1);
        strncat (names, name, sizeof names - strlen (names) - 1);
    }
    cleanup_free char *took = xasprintf ("%.3fs", seconds_since (start));
    wr_log (WR_LOG_INFO, "cgroups mounted", "version", "v1", "controllers", names, "took", took,
            NULL);
    return 0;
}

uint64_t
meminfo_total_bytes (const char *meminfo)
{
    const char *p = meminfo ? strstr (meminfo, "MemTotal:") : NULL;
    if (p == NULL)
        return 0;
    unsigned long long kb = 0;
    if (sscanf (p, "MemTotal: %llu kB", &kb) != 1)
        return 0;
    return (uint64_t) kb * 1024;
}

int
docker_prepare_data_root (const char *data_root, const char *size_text, wr_error_t *err)
{
    long long start = monotonic_ms ();
    cleanup_free char *meminfo = wr_read_file ("/proc/meminfo", SIZE_MAX, NULL, NULL);
    uint64_t bytes;
    if (tmpfs_size_parse (size_text, meminfo_total_bytes (meminfo), &bytes, err) < 0)
        return wr_error_prefix (err, "WARREN_DOCKER_TMPFS_SIZE");
    if (bytes == 0) {
        wr_log (WR_LOG_INFO, "no tmpfs on docker's data root", "reason",
                "WARREN_DOCKER_TMPFS_SIZE disables it", "path", data_root, NULL);
        return 0;
    }
    mount_table_t mounts = { 0 };
    if (mount_table_read (&mounts, err) < 0)
        return -1;
    const mount_entry_t *existing = mount_table_find (&mounts, data_root);
    if (existing != NULL) {
        wr_log (WR_LOG_INFO, "docker's data root is a mount point already", "path", data_root,
                "type", existing->fs_type, NULL);
        mount_table_free (&mounts);
        return 0;
    }
    mount_table_free (&mounts);
    if (wr_mkdir_p (data_root, 0711, err) < 0)
        return -1;
    cleanup_free char *options = xasprintf ("size=%" PRIu64 ",mode=0711", bytes);
    if (mount ("tmpfs", data_root, "tmpfs", 0, options) < 0)
        return wr_error_set (err, errno, "mount tmpfs (%s) on `%s`", options, data_root);
    cleanup_free char *size = xasprintf ("%" PRIu64 "M", bytes >> 20);
    cleanup_free char *took = xasprintf ("%.3fs", seconds_since (start));
    wr_log (WR_LOG_INFO, "tmpfs mounted", "path", data_root, "size", size, "took", took, NULL);
    return 0;
}

/* Resolves TARGET, read from the link at LINK_PATH, to a path in the root. */
static char *
link_target_path (const char *link_path, const char *target)
{
    if (target[0] == '/')
        return xstrdup (target);
    const char *slash = strrchr (link_path, '/');
    return xasprintf ("%.*s/%s", (int) (slash - link_path), link_path, target);
}

static const char *
base_name (const char *path)
{
    const char *slash = strrchr (path, '/');
    return slash ? slash + 1 : path;
}

/* Follows the chain of links from PATH (in-root paths) to the first link
 * that points to an nft variant: Debian's /etc/alternatives/iptables ->
 * /usr/sbin/iptables-nft, Alpine's /sbin/iptables -> xtables-nft-multi.
 * *NFT_LINK is that link, NULL when the chain has none. */
static int
find_nft_link (const char *root, const char *path, char **nft_link, char **nft_target,
               wr_error_t *err)
{
    *nft_link = NULL;
    *nft_target = NULL;
    cleanup_free char *current = xstrdup (path);
    for (int depth = 0; depth < 16; depth++) {
        cleanup_free char *host_path = xasprintf ("%s%s", root, current);
        char target[PATH_MAX];
        ssize_t n = readlink (host_path, target, sizeof target - 1);
        if (n < 0 && (errno == EINVAL || errno == ENOENT))
            return 0; /* the end of the chain, or a dangling link */
        if (n < 0)
            return wr_error_set (err, errno, "read link `%s`", host_path);
        target[n] = '\0';
        cleanup_free char *next = link_target_path (current, target);
        if (strstr (base_name (next), "nft") != NULL) {
            *nft_link = steal_pointer (&current);
            *nft_target = steal_pointer (&next);
            return 0;
        }
        free (current);
        current = steal_pointer (&next);
    }
    return wr_error_set (err, ELOOP, "follow links from `%s%s`", root, path);
}

/* After LINK (/etc/alternatives/NAME) was pointed elsewhere by hand, tells
 * dpkg so, as `update-alternatives --set` would: NAME's entry in
 * /var/lib/dpkg/alternatives goes from "auto" to "manual", so a later
 * package upgrade or `update-alternatives --auto` run does not put the nft
 * variant back behind the sandbox's back.  Best effort: a failure is
 * logged, the switch itself stands. */
static void
alternatives_set_manual (const char *root, const char *link)
{
    static const char prefix[] = "/etc/alternatives/";
    if (strncmp (link, prefix, sizeof prefix - 1) != 0 || strchr (link + sizeof prefix - 1, '/'))
        return;
    cleanup_free char *db =
        xasprintf ("%s/var/lib/dpkg/alternatives/%s", root, link + sizeof prefix - 1);
    cleanup_close int fd = open (db, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return; /* not managed by dpkg */
    char buf[64 * 1024];
    ssize_t n = read (fd, buf, sizeof buf - 1);
    if (n < 5 || n == (ssize_t) sizeof buf - 1 || strncmp (buf, "auto\n", 5) != 0)
        return; /* manual already, or not a format known here */
    cleanup_free char *tmp = xasprintf ("%s.warren-init", db);
    cleanup_close int out = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = out >= 0 && write (out, "manual\n", 7) == 7 &&
              write (out, buf + 5, (size_t) n - 5) == n - 5 && rename (tmp, db) == 0;
    if (!ok) {
        wr_log (WR_LOG_WARN, "could not mark the alternative manual", "file", db, "error",
                strerror (errno), NULL);
        unlink (tmp);
    }
}

int
iptables_select_legacy (const char *root, int *switched, wr_error_t *err)
{
    /* Each name and its legacy variant, as Debian and Alpine name them. */
    static const char *const names[][2] = {
        { "iptables", "iptables-legacy" },
        { "iptables-save", "iptables-legacy-save" },
        { "iptables-restore", "iptables-legacy-restore" },
        { "ip6tables", "ip6tables-legacy" },
        { "ip6tables-save", "ip6tables-legacy-save" },
        { "ip6tables-restore", "ip6tables-legacy-restore" },
    };
    static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/local/sbin" };
    *switched = 0;
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            cleanup_free char *path = xasprintf ("%s/%s", dirs[d], names[i][0]);
            cleanup_free char *legacy = xasprintf ("%s/%s", dirs[d], names[i][1]);
            cleanup_free char *host_path = xasprintf ("%s%s", root, path);
            cleanup_free char *host_legacy = xasprintf ("%s%s", root, legacy);
            struct stat st;
            if (lstat (host_path, &st) < 0 || !S_ISLNK (st.st_mode) ||
                access (host_legacy, X_OK) < 0)
                continue;
            cleanup_free char *nft_link = NULL;
            cleanup_free char *nft_target = NULL;
            if (find_nft_link (root, path, &nft_link, &nft_target, err) < 0)
                return -1;
            if (nft_link == NULL)
                continue;
            /* Replace the link atomically: a half-done switch would leave
             * no iptables at all. */
            cleanup_free char *host_link = xasprintf ("%s%s", root, nft_link);
            cleanup_free char *tmp = xasprintf ("%s.warren-init", host_link);
            unlink (tmp);
            if (symlink (legacy, tmp) < 0)
                return wr_error_set (err, errno, "create link `%s`", tmp);
            if (rename (tmp, host_link) < 0) {
                int saved = errno;
                unlink (tmp);
                return wr_error_set (err, saved, "replace link `%s`", host_link);
            }
            wr_log (WR_LOG_DEBUG, "selected legacy iptables", "link", nft_link, "was", nft_target,
                    "now", legacy, NULL);
            alternatives_set_manual (root, nft_link);
            (*switched)++;
        }
    }
    return 0;
}
