#include "runtime_backend.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"
#include "log.h"
#include "strv.h"
#include "subprocess.h"
#include "xalloc.h"

/* Bumped whenever the cache file's meaning changes. */
#define PROBE_CACHE_MAGIC "warren-backend-probe 2"
/* A backend that does not answer `--version` within this long is broken. */
#define PROBE_TIMEOUT_MS 10000

const wr_backend_ops_t *
wr_backend_ops_find (const char *name, wr_error_t *err)
{
    static const wr_backend_ops_t *const all[] = { &wr_backend_runsc, &wr_backend_runc,
                                                   &wr_backend_crun, NULL };
    for (size_t i = 0; all[i] != NULL; i++)
        if (strcmp (all[i]->name, name) == 0)
            return all[i];
    wr_error_set (err, 0, "unknown backend `%s` (known: runsc, runc, crun)", name);
    return NULL;
}

wr_backend_t *
wr_backend_new (const wr_backend_ops_t *ops, const char *binary, const char *state_dir)
{
    wr_backend_t *backend = xzalloc (sizeof *backend);
    backend->ops = ops;
    backend->binary = xstrdup (binary != NULL ? binary : ops->default_binary);
    backend->state_dir = state_dir != NULL ? xstrdup (state_dir) : NULL;
    backend->info.rmem_default_in_every_netns = -1;
    return backend;
}

void
wr_backend_info_clear (wr_backend_info_t *info)
{
    free (info->path);
    free (info->version);
    free (info->spec_version);
    wr_strv_free (info->flags);
    wr_strv_free (info->commands);
    memset (info, 0, sizeof *info);
    info->rmem_default_in_every_netns = -1;
}

void
wr_backend_free (wr_backend_t *backend)
{
    if (backend == NULL)
        return;
    wr_backend_info_clear (&backend->info);
    free (backend->binary);
    free (backend->state_dir);
    free (backend->search_path);
    free (backend);
}

void
wr_backend_set_search_path (wr_backend_t *backend, const char *search_path)
{
    free (backend->search_path);
    backend->search_path =
        search_path != NULL && search_path[0] != '\0' ? xstrdup (search_path) : NULL;
}

void
wr_backend_set_log (wr_backend_t *backend, const wr_log_t *log)
{
    backend->log = log;
}

char *
wr_backend_default_state_dir (const char *warren_root)
{
    if (warren_root != NULL && warren_root[0] != '\0')
        return xasprintf ("%s/run", warren_root);
    return xstrdup ("/run/warren");
}

int
wr_backend_error_missing (const wr_backend_ops_t *ops, const char *binary, int errno_value,
                          wr_error_t *err)
{
    cleanup_free char *wanted = NULL;
    if (ops->minimum_release > 0)
        wanted = xasprintf ("install %s %d or newer", ops->name, ops->minimum_release);
    else
        wanted = xasprintf ("install %s", ops->name);
    const char *hint = ops->install_hint;
    if (strchr (binary, '/') == NULL)
        return wr_error_set (err, 0, "%s not found in PATH: %s%s%s%s", binary, wanted,
                             hint ? " (" : "", hint ? hint : "", hint ? ")" : "");
    if (errno_value == ENOENT)
        return wr_error_set (err, 0, "%s not found at `%s`: %s%s%s%s", ops->name, binary, wanted,
                             hint ? " (" : "", hint ? hint : "", hint ? ")" : "");
    return wr_error_set (err, errno_value, "cannot run %s at `%s`", ops->name, binary);
}

char *
wr_backend_find_binary (const wr_backend_ops_t *ops, const char *binary, const char *search_path,
                        wr_error_t *err)
{
    if (strchr (binary, '/') != NULL) {
        if (access (binary, X_OK) < 0) {
            wr_backend_error_missing (ops, binary, errno, err);
            return NULL;
        }
        if (binary[0] == '/')
            return xstrdup (binary);
        cleanup_free char *cwd = getcwd (NULL, 0);
        if (cwd == NULL) {
            wr_error_set (err, errno, "getcwd");
            return NULL;
        }
        return xasprintf ("%s/%s", cwd, binary);
    }
    const char *path = search_path != NULL && search_path[0] != '\0'
                           ? search_path
                           : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    cleanup_strv char **dirs = wr_strv_split (path, ":");
    for (size_t i = 0; dirs[i] != NULL; i++) {
        cleanup_free char *candidate = xasprintf ("%s/%s", dirs[i], binary);
        struct stat st;
        if (stat (candidate, &st) == 0 && S_ISREG (st.st_mode) && access (candidate, X_OK) == 0)
            return steal_pointer (&candidate);
    }
    wr_backend_error_missing (ops, binary, ENOENT, err);
    return NULL;
}

/* ---- parsing what backends print ---- */

int
wr_backend_parse_release (const char *version)
{
    if (version == NULL)
        return 0;
    for (const char *p = version; *p != '\0';) {
        if (!isdigit ((unsigned char) *p)) {
            p++;
            continue;
        }
        const char *start = p;
        while (isdigit ((unsigned char) *p))
            p++;
        if (p - start == 8)
            return atoi (start);
    }
    return 0;
}

static char *
line_after (const char *output, const char *marker, bool line_start)
{
    for (const char *line = output; line != NULL && *line != '\0';) {
        const char *end = strchr (line, '\n');
        size_t len = end ? (size_t) (end - line) : strlen (line);
        const char *hit = NULL;
        if (line_start) {
            if (len >= strlen (marker) && strncmp (line, marker, strlen (marker)) == 0)
                hit = line;
        } else {
            cleanup_free char *copy = xstrndup (line, len);
            char *found = strstr (copy, marker);
            if (found != NULL)
                hit = line + (found - copy);
        }
        if (hit != NULL) {
            const char *value = hit + strlen (marker);
            size_t vlen = len - (size_t) (value - line);
            while (vlen > 0 && isspace ((unsigned char) value[vlen - 1]))
                vlen--;
            while (vlen > 0 && isspace ((unsigned char) *value)) {
                value++;
                vlen--;
            }
            return vlen > 0 ? xstrndup (value, vlen) : NULL;
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

char *
wr_backend_parse_version (const char *output)
{
    /* Only the first line: "runsc version 0.0~20240729.0". */
    const char *end = strchr (output, '\n');
    cleanup_free char *first = end ? xstrndup (output, (size_t) (end - output)) : xstrdup (output);
    return line_after (first, "version ", false);
}

char *
wr_backend_parse_spec_version (const char *output)
{
    return line_after (output, "spec:", true);
}

static bool
is_flag_char (char c)
{
    return isalnum ((unsigned char) c) || c == '-' || c == '_' || c == '.';
}

char **
wr_backend_parse_flags (const char *output)
{
    char **flags = xzalloc (sizeof (char *));
    for (const char *line = output; line != NULL && *line != '\0';) {
        const char *end = strchr (line, '\n');
        const char *p = line;
        if (*p == ' ' || *p == '\t') {
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p == '-') {
                p++;
                if (*p == '-')
                    p++;
                const char *name = p;
                while (is_flag_char (*p))
                    p++;
                if (p > name && isalnum ((unsigned char) *name)) {
                    cleanup_free char *flag = xstrndup (name, (size_t) (p - name));
                    if (!wr_strv_contains (flags, flag))
                        wr_strv_add (&flags, flag);
                }
            }
        }
        line = end ? end + 1 : NULL;
    }
    return flags;
}

char **
wr_backend_parse_commands (const char *output)
{
    char **commands = xzalloc (sizeof (char *));
    bool in_commands = false;
    for (const char *line = output; line != NULL && *line != '\0';) {
        const char *end = strchr (line, '\n');
        size_t len = end ? (size_t) (end - line) : strlen (line);
        cleanup_free char *copy = xstrndup (line, len);
        if (len > 0 && !isspace ((unsigned char) copy[0])) {
            /* A section header such as "Subcommands:" or "COMMANDS:". */
            while (len > 0 && isspace ((unsigned char) copy[len - 1]))
                copy[--len] = '\0';
            in_commands = len > 0 && copy[len - 1] == ':' && strcasestr (copy, "command") != NULL;
        } else if (in_commands && len > 0) {
            char *p = copy;
            while (isspace ((unsigned char) *p))
                p++;
            char *name = p;
            while (islower ((unsigned char) *p) || isdigit ((unsigned char) *p) || *p == '-')
                p++;
            if (p > name && islower ((unsigned char) *name)) {
                *p = '\0';
                if (!wr_strv_contains (commands, name))
                    wr_strv_add (&commands, name);
            }
        }
        line = end ? end + 1 : NULL;
    }
    return commands;
}

char *
wr_backend_run (const char *binary, const char *const *args, int *status, wr_error_t *err)
{
    cleanup_strv char **argv = NULL;
    wr_strv_add (&argv, binary);
    for (size_t i = 0; args[i] != NULL; i++)
        wr_strv_add (&argv, args[i]);
    char *output = NULL;
    if (wr_subprocess_output (argv, PROBE_TIMEOUT_MS, &output, status, err) < 0)
        return NULL;
    return output;
}

int
wr_backend_probe_version (wr_backend_info_t *info, wr_error_t *err)
{
    int status = 0;
    static const char *const version_args[] = { "--version", NULL };
    cleanup_free char *output = wr_backend_run (info->path, version_args, &status, err);
    if (output == NULL)
        return -1;
    if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
        return wr_error_set (err, 0, "`%s --version` failed: %s", info->path, output);
    info->version = wr_backend_parse_version (output);
    info->spec_version = wr_backend_parse_spec_version (output);
    return 0;
}

/* ---- flags ---- */

char *
wr_flag_name (const char *arg)
{
    if (arg[0] != '-' || arg[1] == '\0')
        return NULL;
    const char *name = arg + 1;
    if (*name == '-')
        name++;
    if (*name == '\0' || *name == '-')
        return NULL;
    return xstrndup (name, strcspn (name, "="));
}

bool
wr_flags_have (char *const *flags, const char *name)
{
    for (size_t i = 0; flags != NULL && flags[i] != NULL; i++) {
        cleanup_free char *flag = wr_flag_name (flags[i]);
        if (flag != NULL && strcmp (flag, name) == 0)
            return true;
    }
    return false;
}

bool
wr_backend_supports_flag (wr_backend_t *backend, const char *flag)
{
    return wr_strv_contains (backend->info.flags, flag);
}

bool
wr_backend_supports_command (wr_backend_t *backend, const char *command)
{
    return wr_strv_contains (backend->info.commands, command);
}

bool
wr_backend_add_supported_flag (wr_backend_t *backend, const wr_runsc_flag_t *flag, char ***argv)
{
    for (size_t i = 0; i < 3 && flag->spellings[i] != NULL; i++) {
        const char *spelling = flag->spellings[i];
        cleanup_free char *name = xstrndup (spelling, strcspn (spelling, "="));
        if (wr_backend_supports_flag (backend, name)) {
            wr_strv_add_take (argv, xasprintf ("--%s", spelling));
            return true;
        }
    }
    return false;
}

/* ---- the probe cache ---- */

typedef struct {
    struct stat st;
    char boot_id[64];
} binary_key_t;

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

static int
binary_key (const char *path, binary_key_t *key, wr_error_t *err)
{
    if (stat (path, &key->st) < 0)
        return wr_error_set (err, errno, "stat `%s`", path);
    /* The kernel is part of what the runsc probe found out (whether the
     * rmem_default workaround is needed), so a reboot invalidates it too. */
    read_boot_id (key->boot_id, sizeof key->boot_id);
    return 0;
}

static char *
cache_path (wr_backend_t *backend, const char *binary_path)
{
    /* FNV-1a of the binary's path: one cache file per binary. The path is
     * also stored inside and compared, so a collision only costs a probe. */
    uint64_t hash = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *) binary_path; *p; p++) {
        hash ^= *p;
        hash *= 1099511628211ULL;
    }
    return xasprintf ("%s/backend-%s-%016llx.probe", backend->state_dir, backend->ops->name,
                      (unsigned long long) hash);
}

static char *
key_line (const binary_key_t *key)
{
    return xasprintf ("%lld %lld.%09ld %llu %llu %s", (long long) key->st.st_size,
                      (long long) key->st.st_mtim.tv_sec, key->st.st_mtim.tv_nsec,
                      (unsigned long long) key->st.st_ino, (unsigned long long) key->st.st_dev,
                      key->boot_id[0] ? key->boot_id : "-");
}

/* Reads the cache file into INFO when it describes exactly this binary. */
static bool
cache_read (wr_backend_t *backend, const char *file, const char *binary_path,
            const binary_key_t *key, wr_backend_info_t *info)
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

static int
cache_write (wr_backend_t *backend, const char *file, const binary_key_t *key,
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

static bool
has_newline (const char *s)
{
    return s != NULL && strchr (s, '\n') != NULL;
}

int
wr_backend_probe (wr_backend_t *backend, wr_error_t *err)
{
    if (backend->probed)
        return 0;
    const wr_backend_ops_t *ops = backend->ops;
    cleanup_free char *path =
        wr_backend_find_binary (ops, backend->binary, backend->search_path, err);
    if (path == NULL)
        return -1;
    binary_key_t key;
    if (binary_key (path, &key, err) < 0)
        return -1;

    cleanup_free char *file = NULL;
    if (backend->state_dir != NULL) {
        file = cache_path (backend, path);
        backend->probe_cached = cache_read (backend, file, path, &key, &backend->info);
    }
    if (!backend->probe_cached) {
        wr_backend_info_clear (&backend->info);
        backend->info.path = xstrdup (path);
        if (ops->probe (backend, &backend->info, err) < 0)
            return wr_error_prefix (err, "probe %s at `%s`", ops->name, path);
        if (backend->info.flags == NULL)
            backend->info.flags = xzalloc (sizeof (char *));
        if (backend->info.commands == NULL)
            backend->info.commands = xzalloc (sizeof (char *));
        if (file != NULL && !has_newline (backend->info.version) &&
            !has_newline (backend->info.spec_version) && !has_newline (path)) {
            wr_error_t cache_err = NULL;
            if (cache_write (backend, file, &key, &backend->info, &cache_err) < 0) {
                wr_log_to (backend->log, WR_LOG_DEBUG, "cannot cache the backend probe", "error",
                           cache_err->message, NULL);
                wr_error_free (&cache_err);
            }
        }
    }
    backend->probed = true;

    const wr_backend_info_t *info = &backend->info;
    if (ops->minimum_release > 0 && info->release > 0 && info->release < ops->minimum_release) {
        return wr_error_set (
            err, 0,
            "%s at `%s` is release %d (%s version %s); warren needs release %d "
            "or newer%s%s%s",
            ops->name, path, info->release, ops->name, info->version ? info->version : "?",
            ops->minimum_release, ops->install_hint ? " (" : "",
            ops->install_hint ? ops->install_hint : "", ops->install_hint ? ")" : "");
    }
    if (ops->minimum_release > 0 && info->release == 0)
        wr_log_to (backend->log, WR_LOG_DEBUG, "cannot tell the backend's release from its version",
                   "backend", ops->name, "version", info->version ? info->version : "", NULL);
    return 0;
}
