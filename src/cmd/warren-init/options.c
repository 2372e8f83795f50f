#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "xalloc.h"

/* --NAME VALUE or --NAME=VALUE: 1 and *VALUE set, 0 when ARG is another
 * option, -1 when the value is missing. */
static int
option_value (int argc, char **argv, int *i, const char *name, const char **value, wr_error_t *err)
{
    size_t len = strlen (name);
    const char *arg = argv[*i];
    if (strncmp (arg, name, len) != 0)
        return 0;
    if (arg[len] == '=') {
        *value = arg + len + 1;
    } else if (arg[len] == '\0') {
        if (*i + 1 >= argc)
            return wr_error_set (err, 0, "%s needs a value", name);
        *value = argv[++*i];
    } else {
        return 0;
    }
    if (**value == '\0')
        return wr_error_set (err, 0, "%s needs a value", name);
    return 1;
}

int
init_args_parse (int argc, char **argv, init_args_t *args, wr_error_t *err)
{
    memset (args, 0, sizeof *args);
    args->agent_root = "/";
    args->agent_spill_dir = "/run/warren-agent";
    args->registry_mirror_port = INIT_DEFAULT_REGISTRY_MIRROR_PORT;
    const char *port = NULL, *max_processes = NULL;
    int r;
    int i = 1;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp (arg, "--") == 0) {
            i++;
            break;
        }
        if (arg[0] != '-' || arg[1] == '\0')
            break;
        if ((r = option_value (argc, argv, &i, "--agent-socket", &args->agent_socket, err)) != 0 ||
            (r = option_value (argc, argv, &i, "--agent-root", &args->agent_root, err)) != 0 ||
            (r = option_value (argc, argv, &i, "--agent-spill-dir", &args->agent_spill_dir, err)) !=
                0 ||
            (r = option_value (argc, argv, &i, "--registry-mirror-port", &port, err)) != 0 ||
            (r = option_value (argc, argv, &i, "--agent-max-processes", &max_processes, err)) !=
                0 ||
            (r = option_value (argc, argv, &i, "--agent-user", &args->agent_user, err)) != 0) {
            if (r < 0)
                return -1;
            if (args->agent_user != NULL && strlen (args->agent_user) > 256)
                return wr_error_set (err, 0, "--agent-user: longer than 256 bytes");
            if (max_processes != NULL) {
                char *end = NULL;
                errno = 0;
                long v = strtol (max_processes, &end, 10);
                if (errno != 0 || end == max_processes || *end != '\0' || v < 0 || v > 1048576)
                    return wr_error_set (err, 0,
                                         "--agent-max-processes `%s`: expected a number from 0 "
                                         "(no limit) to 1048576",
                                         max_processes);
                args->agent_max_processes = (int) v;
                max_processes = NULL;
            }
            if (port != NULL) {
                char *end = NULL;
                errno = 0;
                long v = strtol (port, &end, 10);
                if (errno != 0 || *end != '\0' || v < 0 || v > 65535)
                    return wr_error_set (err, 0,
                                         "--registry-mirror-port `%s`: expected a port from 1 to "
                                         "65535, or 0 for none",
                                         port);
                args->registry_mirror_port = (int) v;
                port = NULL;
            }
            continue;
        }
        if (strcmp (arg, "--docker") == 0)
            args->docker = true;
        else if (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0)
            args->help = true;
        else if (strcmp (arg, "--version") == 0)
            args->version = true;
        else
            return wr_error_set (err, 0,
                                 "unknown option `%s` (usage: warren-init [--docker] "
                                 "[--agent-socket PATH] [--] COMMAND [ARG...]; put `--` before a "
                                 "command that starts "
                                 "with `-`)",
                                 arg);
    }
    args->command = i < argc ? &argv[i] : NULL;
    return 0;
}

const char *
network_mode_name (network_mode_t mode)
{
    switch (mode) {
    case NETWORK_HOST:
        return "host";
    case NETWORK_SANDBOX:
        return "sandbox";
    case NETWORK_NONE:
        return "none";
    case NETWORK_UNKNOWN:
        break;
    }
    return "unknown";
}

char **
split_words (const char *text)
{
    size_t n = 0;
    char **words = xzalloc (sizeof (char *));
    const char *p = text ? text : "";
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (*p == '\0')
            break;
        const char *start = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n')
            p++;
        words = xrealloc (words, (n + 2) * sizeof (char *));
        words[n++] = xstrndup (start, (size_t) (p - start));
        words[n] = NULL;
    }
    return words;
}

int
seconds_parse (const char *text, double *seconds, wr_error_t *err)
{
    char *end = NULL;
    errno = 0;
    double value = strtod (text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite (value) || value <= 0)
        return wr_error_set (err, 0, "`%s` is not a positive number of seconds", text);
    *seconds = value;
    return 0;
}

int
tmpfs_size_parse (const char *text, uint64_t mem_total, uint64_t *bytes, wr_error_t *err)
{
    if (strcmp (text, "0") == 0 || strcasecmp (text, "none") == 0 ||
        strcasecmp (text, "off") == 0) {
        *bytes = 0;
        return 0;
    }
    if (!isdigit ((unsigned char) text[0]))
        goto invalid;
    char *end = NULL;
    errno = 0;
    unsigned long long number = strtoull (text, &end, 10);
    if (errno != 0)
        goto invalid;
    if (strcmp (end, "%") == 0) {
        if (number == 0 || number > 100)
            return wr_error_set (err, 0, "tmpfs size `%s`: a percentage must be from 1%% to 100%%",
                                 text);
        if (mem_total == 0)
            return wr_error_set (err, 0,
                                 "tmpfs size `%s`: the sandbox's memory size is unknown; give "
                                 "a size such as `2g`",
                                 text);
        /* Exact, and without overflow for any memory size. */
        *bytes = mem_total / 100 * number + mem_total % 100 * number / 100;
        return 0;
    }
    uint64_t unit = 1;
    switch (tolower ((unsigned char) *end)) {
    case '\0':
        break;
    case 'k':
        unit = 1ULL << 10;
        end++;
        break;
    case 'm':
        unit = 1ULL << 20;
        end++;
        break;
    case 'g':
        unit = 1ULL << 30;
        end++;
        break;
    case 't':
        unit = 1ULL << 40;
        end++;
        break;
    default:
        goto invalid;
    }
    if (unit > 1 &&
        (strcasecmp (end, "i") == 0 || strcasecmp (end, "ib") == 0 || strcasecmp (end, "b") == 0))
        end += strlen (end);
    if (*end != '\0')
        goto invalid;
    if (number > UINT64_MAX / unit)
        goto invalid;
    *bytes = number * unit;
    return 0;

invalid:
    return wr_error_set (err, 0,
                         "tmpfs size `%s` is not valid: use a percentage of memory (`50%%`), "
                         "bytes with an optional k, m, g or t suffix (`4g`), or `none`",
                         text);
}

static const char *
env_or (const char *(*get_env) (const char *), const char *name, const char *fallback)
{
    const char *value = get_env (name);
    return value != NULL && value[0] != '\0' ? value : fallback;
}

int
docker_config_load (const char *(*get_env) (const char *name), docker_config_t *config,
                    wr_error_t *err)
{
    memset (config, 0, sizeof *config);
    config->extra_args = split_words (NULL);

    const char *network = env_or (get_env, "WARREN_NETWORK", NULL);
    if (network == NULL)
        config->network = NETWORK_UNKNOWN;
    else if (strcmp (network, "host") == 0)
        config->network = NETWORK_HOST;
    else if (strcmp (network, "sandbox") == 0)
        config->network = NETWORK_SANDBOX;
    else if (strcmp (network, "none") == 0)
        config->network = NETWORK_NONE;
    else
        return wr_error_set (err, 0, "WARREN_NETWORK=`%s`: expected `host`, `sandbox` or `none`",
                             network);

    const char *cgroups = env_or (get_env, "WARREN_CGROUPS", "auto");
    if (strcmp (cgroups, "auto") == 0)
        config->cgroups = CGROUPS_AUTO;
    else if (strcmp (cgroups, "v1") == 0)
        config->cgroups = CGROUPS_V1;
    else if (strcmp (cgroups, "v2") == 0)
        config->cgroups = CGROUPS_V2;
    else if (strcmp (cgroups, "none") == 0)
        config->cgroups = CGROUPS_NONE;
    else
        return wr_error_set (err, 0, "WARREN_CGROUPS=`%s`: expected `auto`, `v1`, `v2` or `none`",
                             cgroups);

    config->tmpfs_size = env_or (get_env, "WARREN_DOCKER_TMPFS_SIZE", DOCKER_DEFAULT_TMPFS_SIZE);
    /* Checked now so that a typo fails before anything is mounted; the
     * percentage is resolved later against the real memory size. */
    uint64_t ignored;
    if (tmpfs_size_parse (config->tmpfs_size, 1 << 20, &ignored, err) < 0)
        return wr_error_prefix (err, "WARREN_DOCKER_TMPFS_SIZE");

    config->ready_timeout = DOCKER_DEFAULT_READY_TIMEOUT;
    const char *timeout = env_or (get_env, "WARREN_DOCKERD_TIMEOUT", NULL);
    if (timeout != NULL && seconds_parse (timeout, &config->ready_timeout, err) < 0)
        return wr_error_prefix (err, "WARREN_DOCKERD_TIMEOUT");

    config->stop_timeout = DOCKER_DEFAULT_STOP_TIMEOUT;
    const char *stop_timeout = env_or (get_env, "WARREN_DOCKERD_STOP_TIMEOUT", NULL);
    if (stop_timeout != NULL && seconds_parse (stop_timeout, &config->stop_timeout, err) < 0)
        return wr_error_prefix (err, "WARREN_DOCKERD_STOP_TIMEOUT");

    cleanup_strv_fn (&config->extra_args);
    config->extra_args = split_words (get_env ("WARREN_DOCKERD_ARGS"));

    config->log_path = env_or (get_env, "WARREN_DOCKERD_LOG", DOCKER_DEFAULT_LOG);
    if (config->log_path[0] != '/')
        return wr_error_set (err, 0, "WARREN_DOCKERD_LOG=`%s`: must be an absolute path",
                             config->log_path);
    return 0;
}

void
docker_config_free (docker_config_t *config)
{
    cleanup_strv_fn (&config->extra_args);
    config->extra_args = NULL;
}
