/* The cache of backend probes: one file per binary under the backend's
 * state directory, valid while the binary (path, size, mtime, inode,
 * device) and the kernel's boot id stay the same. */
#include "runtime_probe_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"
#include "hash.h"
#include "strv.h"
#include "xalloc.h"

/* Bumped whenever the cache file's meaning changes. */
#define PROBE_CACHE_MAGIC "warren-backend-probe 2"

static void
read_boot_id (char *out, size_t size)
{
    out[0] = '\0';
    cleanup_close int fd = open ("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read (fd, out, size - 1);
    if (n < 0)
        n = 0;
    out[n] = '\0';
    out[strcspn (out, "\n")] = '\0';
}

int
wr_probe_key (const char *path, wr_probe_key_t *key, wr_error_t *err)
{
    if (stat (path, &key->st) < 0)
        return wr_error_set (err, errno, "stat `%s`", path);
    /* The kernel is part of what the runsc probe found out (whether the
     * rmem_default workaround is needed), so a reboot invalidates it too. */
    read_boot_id (key->boot_id, sizeof key->boot_id);
    return 0;
}

char *
wr_probe_cache_path (wr_backend_t *backend, const char *binary_path)
{
    /* FNV-1a of the binary's path: one cache file per binary. The path is
     * also stored inside and compared, so a collision only costs a probe. */
    uint64_t hash = wr_fnv1a_64 (binary_path);
    return xasprintf ("%s/backend-%s-%016llx.probe", backend->state_dir, backend->ops->name,
                      (unsigned long long) hash);
}

static char *
key_line (const wr_probe_key_t *key)
{
    return xasprintf ("%lld %lld.%09ld %llu %llu %s", (long long) key->st.st_size,
                      (long long) key->st.st_mtim.tv_sec, key->st.st_mtim.tv_nsec,
                      (unsigned long long) key->st.st_ino, (unsigned long long) key->st.st_dev,
                      key->boot_id[0] ? key->boot_id : "-");
}

/* Reads the cache file into INFO when it describes exactly this binary. */
bool
wr_probe_cache_read (wr_backend_t *backend, const char *file, const char *binary_path,
                     const wr_probe_key_t *key, wr_backend_info_t *info)
{
    cleanup_fclose FILE *f = fopen (file, "re");
    if (f == NULL)
        return false;
    cleanup_free char *expected_key = key_line (key);
    cleanup_free char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int seen = 0;
    wr_backend_info_t found = { .rmem_default_in_every_netns = -1 };
    bool ok = true;
    /* backend, path and key must all be there and match. */
    int matched = 0;
    while (ok && (len = getline (&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        char *value = strchr (line, ' ');
        if (value == NULL) {
            ok = false;
            break;
        }
        *value++ = '\0';
        if (seen == 0) {
            ok = strcmp (line, "warren-backend-probe") == 0 &&
                 strcmp (value, &PROBE_CACHE_MAGIC[strlen ("warren-backend-probe ")]) == 0;
        } else if (strcmp (line, "backend") == 0) {
            ok = strcmp (value, backend->ops->name) == 0;
            matched++;
        } else if (strcmp (line, "path") == 0) {
            ok = strcmp (value, binary_path) == 0;
            matched++;
        } else if (strcmp (line, "key") == 0) {
            ok = strcmp (value, expected_key) == 0;
            matched++;
        } else if (strcmp (line, "version") == 0) {
            free (found.version);
            found.version = value[0] ? xstrdup (value) : NULL;
        } else if (strcmp (line, "spec") == 0) {
            free (found.spec_version);
            found.spec_version = value[0] ? xstrdup (value) : NULL;
        } else if (strcmp (line, "release") == 0) {
            found.release = atoi (value);
        } else if (strcmp (line, "rmem") == 0) {
            found.rmem_default_in_every_netns = atoi (value);
        } else if (strcmp (line, "flags") == 0) {
            wr_strv_free (found.flags);
            found.flags = wr_strv_split (value, " ");
        } else if (strcmp (line, "commands") == 0) {
            wr_strv_free (found.commands);
            found.commands = wr_strv_split (value, " ");
        } else if (strcmp (line, "end") == 0) {
            seen = -1;
            break;
        }
        seen++;
    }
    /* "end" guards against a file cut short. */
    if (!ok || seen != -1 || matched != 3 || found.flags == NULL || found.commands == NULL) {
        wr_backend_info_clear (&found);
        return false;
    }
    found.path = xstrdup (binary_path);
    wr_backend_info_clear (info);
    *info = found;
    return true;
}

int
wr_probe_cache_write (wr_backend_t *backend, const char *file, const wr_probe_key_t *key,
                      const wr_backend_info_t *info, wr_error_t *err)
{
    if (wr_mkdir_p (backend->state_dir, 0700, err) < 0)
        return -1;
    cleanup_free char *key_text = key_line (key);
    cleanup_free char *flags = wr_strv_join (info->flags, " ");
    cleanup_free char *commands = wr_strv_join (info->commands, " ");
    cleanup_free char *text =
        xasprintf ("%s\nbackend %s\npath %s\nkey %s\nversion %s\nspec %s\nrelease %d\nrmem %d\n"
                   "commands %s\nflags %s\nend .\n",
                   PROBE_CACHE_MAGIC, backend->ops->name, info->path, key_text,
                   info->version ? info->version : "", info->spec_version ? info->spec_version : "",
                   info->release, info->rmem_default_in_every_netns, commands, flags);
    cleanup_free char *tmp = xasprintf ("%s.%d.tmp", file, (int) getpid ());
    cleanup_close int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return wr_error_set (err, errno, "create `%s`", tmp);
    if (wr_write_all (fd, text, strlen (text), tmp, err) < 0) {
        unlink (tmp);
        return -1;
    }
    /* No fsync: a cache lost in a crash is simply probed again, and the
     * "end" line tells a torn file from a whole one. */
    if (rename (tmp, file) < 0) {
        int e = errno;
        unlink (tmp);
        return wr_error_set (err, e, "rename `%s` to `%s`", tmp, file);
    }
    return 0;
}
