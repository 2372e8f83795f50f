/* Probing a backend binary: running it, reading what it prints (version,
 * flags, commands), and checking the release warren needs.  The results
 * are cached (runtime_probe_cache.c). */
#include "runtime_probe.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cleanup.h"
#include "log.h"
#include "runtime_probe_cache.h"
#include "strv.h"
#include "subprocess.h"
#include "xalloc.h"

/* A backend that does not answer `--version` within this long is broken. */
#define PROBE_TIMEOUT_MS 10000

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

static bool
has_newline (const char *s)
{
    return s != NULL && strchr (s, '\n') != NULL;
}

static int
probe_locked (wr_backend_t *backend, wr_error_t *err)
{
    if (backend->probed)
        return 0;
    const wr_backend_ops_t *ops = backend->ops;
    cleanup_free char *path =
        wr_backend_find_binary (ops, backend->binary, backend->search_path, err);
    if (path == NULL)
        return -1;
    wr_probe_key_t key;
    if (wr_probe_key (path, &key, err) < 0)
        return -1;

    cleanup_free char *file = NULL;
    /* What a probe that failed its checks left. */
    wr_backend_info_clear (&backend->info);
    if (backend->state_dir != NULL) {
        file = wr_probe_cache_path (backend, path);
        backend->probe_cached = wr_probe_cache_read (backend, file, path, &key, &backend->info);
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
            if (wr_probe_cache_write (backend, file, &key, &backend->info, &cache_err) < 0) {
                wr_log_to (backend->log, WR_LOG_DEBUG, "cannot cache the backend probe", "error",
                           cache_err->message, NULL);
                wr_error_free (&cache_err);
            }
        }
    }
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
    /* Only now: a backend too old is refused again at the next call. */
    backend->probed = true;
    return 0;
}

/* One lock for every backend: a daemon's sandboxes are created on many
 * threads at once, and the first of them probes for all. */
static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;

int
wr_backend_probe (wr_backend_t *backend, wr_error_t *err)
{
    pthread_mutex_lock (&probe_lock);
    int rc = probe_locked (backend, err);
    pthread_mutex_unlock (&probe_lock);
    return rc;
}
