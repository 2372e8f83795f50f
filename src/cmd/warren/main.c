/* warren: the command line (see docs/cli.md).  It parses arguments, calls
 * libwarren and prints; the work is in the library. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cancel.h"
#include "cli_api.h"
#include "cli_cancel.h"
#include "catalog.h"
#include "cleanup.h"
#include "cli_env.h"
#include "cli_error.h"
#include "cli_store.h"
#include "digest.h"
#include "error.h"
#include "image_build_cmd.h"
#include "image_pull.h"
#include "image_ref.h"
#include "log.h"
#include "manifest.h"
#include "progress.h"
#include "registry.h"
#include "store.h"
#include "strv.h"
#include "xalloc.h"

#ifndef WARREN_VERSION
#define WARREN_VERSION "unknown"
#endif

#define EXIT_USAGE 2
#define DEFAULT_ROOT "/var/lib/warren"

static const char usage[] =
    "usage: warren [--root DIR] [--host ADDR] [--token-file FILE] [--log-format text|json]\n"
    "              [--debug] COMMAND ...\n"
    "\n"
    "Commands:\n"
    "  image pull [OPTIONS] REFERENCE   pull an image into the store and unpack its root\n"
    "  image ls                         list the images in the store\n"
    "  image inspect NAME               print an image's record and config as JSON\n"
    "  image rm NAME...                 remove images (their blobs go at the next prune)\n"
    "  image prune                      remove blobs and roots no image uses\n"
    "\n"
    "Global options:\n"
    "  --root DIR         state directory (default $WARREN_ROOT, else " DEFAULT_ROOT ")\n"
    "  --log-format FMT   text (default) or json\n"
    "  --debug            debug log lines\n"
    "\n"
    "Sandbox commands (run, create, exec, ls, inspect, rm, ps, logs, cp, docker-socket,\n"
    "docker) talk to warrend: see warren run --help.\n"
    "\n"
    "Options of image pull:\n"
    "  --mirror URL                 registry for docker.io images (default $WARREN_DOCKER_MIRROR)\n"
    "  --insecure-registry HOST     allow plain HTTP to HOST[:PORT] (repeatable)\n"
    "  --platform OS/ARCH[/VARIANT] platform to choose from an index (default: the host's)\n"
    "  --auth-config PATH           Docker-style config.json with credentials\n"
    "  --max-parallel N             layers downloaded at once (default 4)\n"
    "  --limit-rate RATE            bytes per second per download (suffix K, M or G)\n"
    "  --max-layer-size SIZE        uncompressed bytes a layer may hold (default 8G)\n"
    "  --max-image-size SIZE        uncompressed bytes of all the layers (default 16G)\n"
    "  --max-layer-entries N        tar entries a layer may hold (default 1000000)\n"
    "  --max-image-entries N        entries of all the layers (default 2000000)\n"
    "  --max-path-length N          bytes of an entry's path (default 4096)\n"
    "  --max-path-depth N           components of an entry's path (default 256)\n"
    "  --deadline DURATION          the whole pull's deadline, e.g. 10m (default: none)\n"
    "  --request-timeout DURATION   each request, and a stalled download (default 60s, 30s)\n"
    "  --quiet                      no progress bars or layer lines\n";

typedef struct {
    const char *root;
    char *store_dir;
} globals_t;

static int usage_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

static int
usage_error (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fputs ("warren: ", stderr);
    vfprintf (stderr, fmt, ap);
    fputs ("\n(see warren --help)\n", stderr);
    va_end (ap);
    return EXIT_USAGE;
}

/* The state directory, for the advice of warren_fail. */
static const char *state_dir;

static int
fail (wr_error_t *err)
{
    return warren_fail (err, state_dir);
}

static wr_store_t *
open_store (globals_t *g, wr_error_t *err)
{
    return cli_open_store (g->root, g->store_dir, err);
}

/* ---- pull ---- */

static void
announce (void *data, const char *digest, int64_t total)
{
    wr_progress_add (data, digest, total);
}

/* "1000", "500K", "20M", "1G" (powers of 1024, as curl's --limit-rate). */
static int
parse_rate (const char *text, int64_t *rate)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll (text, &end, 10);
    if (end == text || errno != 0 || n <= 0)
        return -1;
    int64_t unit = 1;
    if (*end == 'K' || *end == 'k')
        unit = 1024, end++;
    else if (*end == 'M' || *end == 'm')
        unit = 1024 * 1024, end++;
    else if (*end == 'G' || *end == 'g')
        unit = 1024 * 1024 * 1024, end++;
    if (*end != '\0' || n > INT64_MAX / unit)
        return -1;
    *rate = (int64_t) n * unit;
    return 0;
}

static const char *
limit_flag_name (int c)
{
    switch (c) {
    case 'L':
        return "max-layer-size";
    case 'I':
        return "max-image-size";
    case 'E':
        return "max-layer-entries";
    case 'F':
        return "max-image-entries";
    case 'P':
        return "max-path-length";
    default:
        return "max-path-depth";
    }
}

/* One of the unpack limits' flags (C, as in cmd_pull's table). */
static int
parse_limit (int c, const char *text, wr_unpack_limits_t *limits)
{
    unsigned long long value;
    if (c == 'L' || c == 'I') {
        int64_t bytes;
        if (parse_rate (text, &bytes) < 0 || bytes <= 0)
            return -1;
        value = (unsigned long long) bytes;
    } else {
        char *end = NULL;
        errno = 0;
        value = strtoull (text, &end, 10);
        if (end == text || *end != '\0' || errno != 0 || value == 0 || text[0] == '-')
            return -1;
    }
    switch (c) {
    case 'L':
        limits->layer_bytes = value;
        break;
    case 'I':
        limits->image_bytes = value;
        break;
    case 'E':
        limits->layer_entries = value;
        break;
    case 'F':
        limits->image_entries = value;
        break;
    case 'P':
        limits->path_length = (size_t) value;
        break;
    default:
        limits->path_depth = (size_t) value;
    }
    return 0;
}

/* "90", "90s", "500ms", "5m": milliseconds in *MS (more than 0, at most a day). */
static int
parse_duration (const char *text, int64_t *ms)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll (text, &end, 10);
    if (end == text || errno != 0 || n <= 0)
        return -1;
    long long scale = 1000;
    if (strcmp (end, "ms") == 0)
        scale = 1;
    else if (strcmp (end, "m") == 0)
        scale = 60 * 1000;
    else if (*end != '\0' && strcmp (end, "s") != 0)
        return -1;
    if (n > 24LL * 3600 * 1000 / scale)
        return -1;
    *ms = n * scale;
    return 0;
}

static int
cmd_pull (globals_t *g, int argc, char **argv)
{
    static const struct option options[] = {
        { "mirror", required_argument, NULL, 'm' },
        { "insecure-registry", required_argument, NULL, 'i' },
        { "platform", required_argument, NULL, 'p' },
        { "auth-config", required_argument, NULL, 'a' },
        { "max-parallel", required_argument, NULL, 'j' },
        { "limit-rate", required_argument, NULL, 'l' },
        { "max-layer-size", required_argument, NULL, 'L' },
        { "max-image-size", required_argument, NULL, 'I' },
        { "max-layer-entries", required_argument, NULL, 'E' },
        { "max-image-entries", required_argument, NULL, 'F' },
        { "max-path-length", required_argument, NULL, 'P' },
        { "max-path-depth", required_argument, NULL, 'D' },
        { "deadline", required_argument, NULL, 'T' },
        { "request-timeout", required_argument, NULL, 'R' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    wr_registry_options_t reg = { 0 };
    int64_t deadline_ms = 0;
    cleanup_free char *auth_path = NULL;
    cli_env_registry_defaults (&reg, &auth_path);
    cleanup_strv char **insecure = NULL;
    const char *platform = NULL;
    wr_unpack_limits_t limits = { 0 };
    bool quiet = false;
    int c;
    optind = 0; /* glibc: start over (main parsed its own options) */
    while ((c = getopt_long (argc, argv, "+q", options, NULL)) != -1) {
        switch (c) {
        case 'm':
            reg.docker_io_mirror = optarg;
            break;
        case 'i':
            wr_strv_add (&insecure, optarg);
            break;
        case 'p':
            platform = optarg;
            break;
        case 'a':
            reg.auth_config = optarg;
            break;
        case 'j': {
            char *end = NULL;
            long n = strtol (optarg, &end, 10);
            if (end == optarg || *end != '\0' || n < 1 || n > 64)
                return usage_error ("--max-parallel `%s`: expected a number from 1 to 64", optarg);
            reg.max_parallel = (int) n;
            break;
        }
        case 'l':
            if (parse_rate (optarg, &reg.max_bytes_per_second) < 0)
                return usage_error (
                    "--limit-rate `%s`: expected bytes per second, e.g. 500K or 20M", optarg);
            break;
        case 'L':
        case 'I':
        case 'E':
        case 'F':
        case 'P':
        case 'D':
            if (parse_limit (c, optarg, &limits) < 0)
                return usage_error ("--%s `%s`: expected a positive number%s", limit_flag_name (c),
                                    optarg,
                                    c == 'L' || c == 'I' ? " of bytes, e.g. 512M or 8G" : "");
            break;
        case 'T':
            if (parse_duration (optarg, &deadline_ms) < 0)
                return usage_error ("--deadline `%s`: expected a duration, e.g. 90s, 500ms or 10m",
                                    optarg);
            break;
        case 'R':
            if (parse_duration (optarg, &reg.request_timeout_ms) < 0)
                return usage_error (
                    "--request-timeout `%s`: expected a duration, e.g. 60s, 500ms or 2m", optarg);
            /* A request that trickles is held to the same bound. */
            reg.stall_timeout_ms = reg.request_timeout_ms;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            fputs (usage, stdout);
            return 0;
        default:
            return usage_error ("image pull: bad option");
        }
    }
    if (optind + 1 != argc)
        return usage_error ("image pull takes one REFERENCE");
    const char *reference = argv[optind];
    reg.insecure_registries = (const char *const *) insecure;

    cleanup_error wr_error_t err = NULL;
    if (platform != NULL) {
        cleanup_free char *os = NULL, *arch = NULL, *variant = NULL;
        if (wr_platform_parse (platform, &os, &arch, &variant, &err) < 0) {
            fprintf (stderr, "warren: --platform: %s\n", err->message);
            return EXIT_USAGE;
        }
    }
    wr_store_t *store = open_store (g, &err);
    if (store == NULL)
        return fail (&err);
    wr_registry_t *registry = wr_registry_new (&reg, &err);
    if (registry == NULL) {
        wr_store_close (store);
        return fail (&err);
    }
    wr_progress_t *progress = NULL;
    cleanup_cancel wr_cancel_t *cancel = wr_cancel_new (NULL, 0, NULL, &err);
    if (cancel == NULL) {
        wr_registry_free (registry);
        wr_store_close (store);
        return fail (&err);
    }
    wr_pull_options_t opts = {
        .platform = platform, .limits = limits, .cancel = cancel, .deadline_ms = deadline_ms
    };
    /* ^C or a TERM stops the pull cleanly: downloads and the unpack stop
     * within a second and nothing half-made is kept (partial downloads
     * stay in ingest/ for the next pull). */
    cli_cancel_signals_t signals;
    cli_cancel_on_signals (cancel, &signals);
    if (!quiet) {
        wr_progress_options_t popts;
        wr_progress_options_default (&popts, STDERR_FILENO);
        progress = wr_progress_new (&popts);
        opts.progress = wr_progress_update;
        opts.announce = announce;
        opts.progress_data = progress;
    }
    wr_image_record_t record = { 0 };
    wr_pull_result_t result;
    int ret = wr_image_pull_ex (store, registry, reference, &opts, &record, &result, &err);
    cli_cancel_signals_restore (&signals);
    if (ret == 0)
        wr_progress_finish (progress);
    wr_progress_free (progress);
    wr_registry_free (registry);
    wr_store_close (store);
    if (ret < 0)
        return fail (&err);
    printf ("%s %s%s\n", record.name, record.manifest_digest,
            result.up_to_date ? " (up to date)" : "");
    wr_image_record_clear (&record);
    return 0;
}

/* ---- ls ---- */

static void
format_age (int64_t created, char *out, size_t size)
{
    int64_t age = (int64_t) time (NULL) - created;
    if (created <= 0) {
        snprintf (out, size, "-");
    } else if (age < 60) {
        snprintf (out, size, "%s", "less than a minute ago");
    } else if (age < 3600) {
        int64_t m = age / 60;
        snprintf (out, size, "%" PRId64 " minute%s ago", m, m == 1 ? "" : "s");
    } else if (age < 2 * 86400) {
        int64_t h = age / 3600;
        snprintf (out, size, "%" PRId64 " hour%s ago", h, h == 1 ? "" : "s");
    } else {
        snprintf (out, size, "%" PRId64 " days ago", age / 86400);
    }
}

static const char *
short_hex (const char *digest)
{
    static __thread char out[13];
    const char *colon = digest != NULL ? strchr (digest, ':') : NULL;
    snprintf (out, sizeof out, "%s", colon != NULL ? colon + 1 : (digest ? digest : "-"));
    return out;
}

static int
cmd_ls (globals_t *g, int argc, char **argv)
{
    if (argc > 1 && strcmp (argv[1], "--help") == 0) {
        fputs (usage, stdout);
        return 0;
    }
    if (argc != 1)
        return usage_error ("image ls takes no arguments");
    cleanup_error wr_error_t err = NULL;
    wr_store_t *store = open_store (g, &err);
    if (store == NULL)
        return fail (&err);
    wr_catalog_entry_t *entries = NULL;
    size_t count = 0;
    int ret = wr_catalog_list (store, &entries, &count, &err);
    wr_store_close (store);
    if (ret < 0)
        return fail (&err);
    size_t name_width = strlen ("NAME");
    for (size_t i = 0; i < count; i++)
        if (strlen (entries[i].familiar_name) > name_width)
            name_width = strlen (entries[i].familiar_name);
    printf ("%-*s  %-12s  %9s  %s\n", (int) name_width, "NAME", "DIGEST", "SIZE", "CREATED");
    for (size_t i = 0; i < count; i++) {
        const wr_image_record_t *record = &entries[i].record;
        char size[16], age[48];
        wr_progress_format_bytes (record->size > 0 ? (uint64_t) record->size : 0, size,
                                  sizeof size);
        format_age (record->created, age, sizeof age);
        printf ("%-*s  %-12s  %9s  %s\n", (int) name_width, entries[i].familiar_name,
                short_hex (record->manifest_digest), size, age);
    }
    wr_catalog_entries_free (entries, count);
    return 0;
}

/* ---- inspect ---- */

static int
cmd_inspect (globals_t *g, int argc, char **argv)
{
    if (argc != 2)
        return usage_error ("image inspect takes one NAME");
    cleanup_error wr_error_t err = NULL;
    wr_store_t *store = open_store (g, &err);
    if (store == NULL)
        return fail (&err);
    wr_image_record_t record = { 0 };
    json_object *o = NULL;
    int ret = wr_catalog_find (store, argv[1], &record, &err);
    if (ret == 0)
        ret = wr_catalog_inspect_json (store, &record, &o, &err);
    wr_image_record_clear (&record);
    wr_store_close (store);
    if (ret < 0)
        return fail (&err);
    puts (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put (o);
    return 0;
}

/* ---- rm, prune ---- */

static int
cmd_rm (globals_t *g, int argc, char **argv)
{
    if (argc < 2)
        return usage_error ("image rm takes one or more NAMEs");
    cleanup_error wr_error_t err = NULL;
    wr_store_t *store = open_store (g, &err);
    if (store == NULL)
        return fail (&err);
    int status = 0;
    for (int i = 1; i < argc; i++) {
        cleanup_free char *removed = NULL;
        if (wr_catalog_remove (store, argv[i], &removed, &err) == 0) {
            printf ("removed %s\n", removed);
        } else {
            fail (&err);
            wr_error_free (&err);
            status = 1;
        }
    }
    wr_store_close (store);
    return status;
}

static int
cmd_prune (globals_t *g, int argc, char **argv)
{
    if (argc != 1)
        return usage_error ("image prune takes no arguments");
    cleanup_error wr_error_t err = NULL;
    wr_store_t *store = open_store (g, &err);
    if (store == NULL)
        return fail (&err);
    wr_prune_stats_t stats = { 0 };
    int ret = wr_store_prune (store, &stats, &err);
    wr_store_close (store);
    if (ret < 0)
        return fail (&err);
    char freed[16];
    wr_progress_format_bytes (stats.bytes_freed, freed, sizeof freed);
    printf ("removed %zu blobs, %zu roots, %zu partial downloads; freed %s\n", stats.blobs_removed,
            stats.roots_removed, stats.partials_removed, freed);
    if (stats.roots_in_use > 0)
        printf ("kept %zu roots of removed images: mounted bundles use them (warren image "
                "unbundle, then prune again)\n",
                stats.roots_in_use);
    return 0;
}

static int
cmd_image (globals_t *g, int argc, char **argv)
{
    if (argc < 2)
        return usage_error ("image needs a command: pull, ls, inspect, rm or prune");
    const char *cmd = argv[1];
    argc--, argv++;
    if (strcmp (cmd, "pull") == 0)
        return cmd_pull (g, argc, argv);
    if (strcmp (cmd, "ls") == 0 || strcmp (cmd, "list") == 0)
        return cmd_ls (g, argc, argv);
    if (strcmp (cmd, "inspect") == 0)
        return cmd_inspect (g, argc, argv);
    if (strcmp (cmd, "rm") == 0)
        return cmd_rm (g, argc, argv);
    if (strcmp (cmd, "prune") == 0)
        return cmd_prune (g, argc, argv);
    if (strcmp (cmd, "build") == 0)
        return warren_cmd_image_build (g->root, g->store_dir, argc, argv);
    if (strcmp (cmd, "bundle") == 0)
        return warren_cmd_image_bundle (g->root, g->store_dir, argc, argv);
    if (strcmp (cmd, "unbundle") == 0)
        return warren_cmd_image_unbundle (argc, argv);
    if (strcmp (cmd, "push") == 0)
        return warren_cmd_image_push (g->root, g->store_dir, argc, argv);
    return usage_error ("unknown image command `%s` (pull, ls, inspect, rm or prune)", cmd);
}

int
main (int argc, char **argv)
{
    static const struct option options[] = {
        { "root", required_argument, NULL, 'r' },
        { "log-format", required_argument, NULL, 'f' },
        { "debug", no_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'v' },
        { "host", required_argument, NULL, 'H' },
        { "token-file", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 },
    };
    globals_t g = { 0 };
    const char *env_root = getenv ("WARREN_ROOT");
    bool root_given = env_root != NULL && env_root[0] != '\0';
    g.root = root_given ? env_root : DEFAULT_ROOT;
    /* Where warrend is: the only place the environment is read for it. */
    cli_api_t api = { 0 };
    api.host = getenv ("WARREN_HOST");
    api.token_file = getenv ("WARREN_TOKEN_FILE");
    api.token = getenv ("WARREN_TOKEN");
    if (api.host != NULL && api.host[0] == '\0')
        api.host = NULL;
    if (api.token_file != NULL && api.token_file[0] == '\0')
        api.token_file = NULL;
    if (api.token != NULL && api.token[0] == '\0')
        api.token = NULL;
    int c;
    while ((c = getopt_long (argc, argv, "+h", options, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (optarg[0] == '\0')
                return usage_error ("--root needs a directory");
            g.root = optarg;
            root_given = true;
            break;
        case 'H':
            if (optarg[0] == '\0')
                return usage_error ("--host needs a socket path or http://HOST:PORT");
            api.host = optarg;
            break;
        case 't':
            api.token_file = optarg;
            break;
        case 'f': {
            wr_log_format_t format;
            cleanup_error wr_error_t err = NULL;
            if (wr_log_parse_format (optarg, &format, &err) < 0)
                return usage_error ("--log-format: %s", err->message);
            wr_log_set_format (format);
            break;
        }
        case 'd':
            wr_log_set_level (WR_LOG_DEBUG);
            break;
        case 'h':
            fputs (usage, stdout);
            fputs ("\n", stdout);
            fputs (cli_api_usage, stdout);
            return 0;
        case 'v':
            printf ("warren version %s\n", WARREN_VERSION);
            return 0;
        default:
            return usage_error ("bad option");
        }
    }
    if (optind >= argc)
        return usage_error ("no command given");
    cleanup_free char *store_dir = xasprintf ("%s/store", g.root);
    g.store_dir = store_dir;
    state_dir = g.root;
    const char *cmd = argv[optind];
    if (strcmp (cmd, "image") == 0)
        return cmd_image (&g, argc - optind, argv + optind);
    cleanup_free char *root_socket = NULL;
    if (api.host == NULL) {
        root_socket = root_given ? xasprintf ("%s/run/warrend.sock", g.root) : NULL;
        api.host = root_socket != NULL ? root_socket : "/run/warren/warrend.sock";
    }
    static const struct {
        const char *name;
        int (*fn) (const cli_api_t *api, int argc, char **argv);
    } api_commands[] = {
        { "run", cli_cmd_run },         { "create", cli_cmd_create },
        { "exec", cli_cmd_exec },       { "ls", cli_cmd_ls },
        { "inspect", cli_cmd_inspect }, { "rm", cli_cmd_rm },
        { "ps", cli_cmd_ps },           { "logs", cli_cmd_logs },
        { "cp", cli_cmd_cp },           { "docker-socket", cli_cmd_docker_socket },
        { "docker", cli_cmd_docker },
    };
    for (size_t i = 0; i < sizeof api_commands / sizeof api_commands[0]; i++)
        if (strcmp (cmd, api_commands[i].name) == 0)
            return api_commands[i].fn (&api, argc - optind, argv + optind);
    if (strcmp (cmd, "help") == 0) {
        fputs (usage, stdout);
        return 0;
    }
    return usage_error ("unknown command `%s`", cmd);
}
