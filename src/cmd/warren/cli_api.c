#include "cli_api.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"

#ifndef WARREN_VERSION
#define WARREN_VERSION "unknown"
#endif

const char cli_api_usage[] =
    "Sandboxes (through warrend, see docs/cli.md):\n"
    "  run [OPTIONS] IMAGE -- CMD...   create a sandbox, run CMD in it, remove it; exits "
    "with CMD's status\n"
    "  create [OPTIONS] IMAGE          create a sandbox and print its id\n"
    "  exec [-i] ID -- CMD...          run CMD in a sandbox; exits with its status\n"
    "  ls [--state S] [--label K=V]    list sandboxes\n"
    "  inspect ID                      print a sandbox as JSON\n"
    "  rm ID...                        stop and remove sandboxes\n"
    "  ps ID                           list a sandbox's processes\n"
    "  logs [-f] ID PID                print a process's output\n"
    "  cp SRC DST                      copy a file in or out (one side is ID:PATH)\n"
    "  docker-socket ID                print the path of a sandbox's Docker socket\n"
    "  docker ID ARGS...               run the docker CLI against a sandbox's dockerd\n"
    "\n"
    "Options of run and create:\n"
    "  --docker           Docker in the sandbox (its own dockerd)\n"
    "  --cpu N            CPUs (e.g. 0.5, 2)\n"
    "  --memory SIZE      memory, e.g. 512M or 2G\n"
    "  --env K=V          an environment variable (repeatable)\n"
    "  --label K=V        a label (repeatable)\n"
    "  --name NAME        a name, usable instead of the id\n"
    "  --workdir DIR      the working directory\n"
    "  --keep-warm SECS   idle lifetime (-1: never expires)\n"
    "  --keep / --rm      run: keep the sandbox afterwards, or remove it (the default)\n"
    "  --json             JSON on stdout (every sandbox command takes it)\n"
    "\n"
    "Where warrend is:\n"
    "  --host ADDR        its socket path or http://HOST:PORT (default $WARREN_HOST, else\n"
    "                     ROOT/run/warrend.sock with --root or $WARREN_ROOT, else\n"
    "                     /run/warren/warrend.sock)\n"
    "  --token-file FILE  the bearer token for TCP (default $WARREN_TOKEN_FILE, or the\n"
    "                     token in $WARREN_TOKEN)\n";

int
cli_usage_error (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fputs ("warren: ", stderr);
    vfprintf (stderr, fmt, ap);
    fputs ("\n(see warren --help)\n", stderr);
    va_end (ap);
    return CLI_EXIT_USAGE;
}

/* Whether cli_client was given a token: a refusal's advice differs. */
static bool token_given;

int
cli_api_fail (wr_error_t *err, int status)
{
    fprintf (stderr, "warren: %s\n", *err != NULL ? (*err)->message : "failed");
    if (*err != NULL && (*err)->errno_value == EACCES && (*err)->kind == WR_ERROR_INVALID)
        fputs (token_given ? "warren: warrend refused the token: give the right one with "
                             "--token-file FILE (or $WARREN_TOKEN_FILE)\n"
                           : "warren: warrend needs a token on this listener: give it with "
                             "--token-file FILE (or $WARREN_TOKEN_FILE, or $WARREN_TOKEN)\n",
               stderr);
    return status;
}

int
cli_run_status (int status)
{
    return status == CLI_EXIT_USAGE ? CLI_EXIT_WARREN : status;
}

int
cli_bad_option (const char *cmd, char *const *argv, const char *shorts)
{
    /* A long option's error always moves optind past its word; a short
     * one's only at the end of its word, so for it optopt alone counts
     * (our long options' values are 1000 and above, or a letter of one
     * without a value). */
    const char *word = optind > 0 ? argv[optind - 1] : "";
    const char *eq = strchr (word, '=');
    if (strncmp (word, "--", 2) == 0 && (optopt == 0 || optopt >= 256 || eq != NULL)) {
        int len = eq != NULL ? (int) (eq - word) : (int) strlen (word);
        if (optopt == 0)
            return cli_usage_error ("%s: unknown option `%.*s`", cmd, len, word);
        if (eq != NULL)
            return cli_usage_error ("%s: option `%.*s` takes no value", cmd, len, word);
        return cli_usage_error ("%s: option `%s` needs a value", cmd, word);
    }
    const char *known = optopt > 0 && optopt < 256 ? strchr (shorts, optopt) : NULL;
    if (known != NULL && known[1] == ':')
        return cli_usage_error ("%s: option `-%c` needs a value", cmd, optopt);
    if (optopt > 0 && optopt < 256)
        return cli_usage_error ("%s: unknown option `-%c`", cmd, optopt);
    return cli_usage_error ("%s: bad option", cmd);
}

static char *
read_token (const char *path, wr_error_t *err)
{
    cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        wr_error_set (err, errno, "the token file %s", path);
        return NULL;
    }
    char buf[4200];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read (fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t) n;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                       buf[len - 1] == '\t'))
        len--;
    buf[len] = '\0';
    if (len == 0 || len > 4096) {
        wr_error_set_kind (err, WR_ERROR_INVALID, 0, "the token file %s: %s", path,
                           len == 0 ? "empty" : "longer than 4096 bytes");
        return NULL;
    }
    return xstrdup (buf);
}

wr_client_t *
cli_client (const cli_api_t *api)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_free char *token = NULL;
    if (api->token_file != NULL) {
        token = read_token (api->token_file, &err);
        if (token == NULL) {
            cli_api_fail (&err, 1);
            return NULL;
        }
    } else if (api->token != NULL) {
        token = xstrdup (api->token);
    }
    token_given = token != NULL;
    wr_client_options_t opts = {
        .host = api->host,
        .token = token,
        .user_agent = "warren/" WARREN_VERSION,
    };
    wr_client_t *client = wr_client_new (&opts, &err);
    if (client == NULL)
        cli_api_fail (&err, 1);
    return client;
}

void
cli_print_json (json_object *o)
{
    puts (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
}

int64_t
cli_parse_bytes (const char *text)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll (text, &end, 10);
    if (end == text || errno != 0 || n <= 0)
        return -1;
    int64_t unit = 1;
    switch (*end) {
    case 'K':
    case 'k':
        unit = 1024, end++;
        break;
    case 'M':
    case 'm':
        unit = 1024 * 1024, end++;
        break;
    case 'G':
    case 'g':
        unit = 1024LL * 1024 * 1024, end++;
        break;
    default:
        break;
    }
    if (unit > 1 && (*end == 'i' || *end == 'B'))
        end++;
    if (*end != '\0' || n > INT64_MAX / unit)
        return -1;
    return (int64_t) n * unit;
}

void
cli_format_age_ms (int64_t ms, char *out, size_t size)
{
    int64_t age = (int64_t) time (NULL) - ms / 1000;
    if (ms <= 0)
        snprintf (out, size, "-");
    else if (age < 60)
        snprintf (out, size, "%" PRId64 "s ago", age < 0 ? 0 : age);
    else if (age < 3600)
        snprintf (out, size, "%" PRId64 "m ago", age / 60);
    else if (age < 2 * 86400)
        snprintf (out, size, "%" PRId64 "h ago", age / 3600);
    else
        snprintf (out, size, "%" PRId64 " days ago", age / 86400);
}

int
cli_write_all (int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write (fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

int
cli_print_event (void *data, json_object *event, wr_error_t *err)
{
    json_object *message = NULL, *name = NULL;
    if (!json_object_object_get_ex (event, "event", &name) ||
        strcmp (json_object_get_string (name), "sandbox") == 0)
        return 0;
    if (json_object_object_get_ex (event, "message", &message) &&
        json_object_is_type (message, json_type_string)) {
        /* Hostile bytes stay off the terminal. */
        cleanup_free char *text = xstrdup (json_object_get_string (message));
        for (char *p = text; *p != '\0'; p++)
            if ((unsigned char) *p < 0x20 || *p == 0x7f)
                *p = '?';
        fprintf (stderr, "%s\n", text);
    }
    return 0;
}

/* TEXT from warrend for the terminal: control bytes as '?' (a copy in a
 * rotating buffer, enough for one line of the table). */
const char *
cli_safe (const char *text)
{
    static char bufs[6][512];
    static int next;
    if (text == NULL)
        return "-";
    char *out = bufs[next++ % 6];
    snprintf (out, sizeof bufs[0], "%s", text);
    for (char *p = out; *p != '\0'; p++)
        if ((unsigned char) *p < 0x20 || *p == 0x7f)
            *p = '?';
    return out;
}

int
cli_simple_flags (int argc, char **argv, bool *json, int *status)
{
    enum { FLAG_JSON = 1000, FLAG_HELP };
    static const struct option options[] = {
        { "json", no_argument, NULL, FLAG_JSON },
        { "help", no_argument, NULL, FLAG_HELP },
        { NULL, 0, NULL, 0 },
    };
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long (argc, argv, "+", options, NULL)) != -1) {
        if (c == FLAG_JSON) {
            *json = true;
        } else if (c == FLAG_HELP) {
            fputs (cli_api_usage, stdout);
            *status = 0;
            return -1;
        } else {
            *status = cli_bad_option (argv[0], argv, "+");
            return -1;
        }
    }
    return optind;
}
