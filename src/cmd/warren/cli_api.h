/* What the commands that talk to warrend share (cli_sandbox.c,
 * cli_process.c, cli_files.c): where warrend is, the client, printing
 * JSON, failures with advice, and the flags every such command takes. */
#ifndef WARREN_CLI_API_H
#define WARREN_CLI_API_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "client.h"
#include "error.h"

/* Filled by main from its flags and the environment (main is the only
 * place that reads it). */
typedef struct {
    const char *host; /* a socket path or http://HOST:PORT */
    const char *token_file; /* NULL: TOKEN */
    const char *token; /* $WARREN_TOKEN, or NULL */
} cli_api_t;

/* Exit status of `warren run` and `warren exec` when warren itself failed
 * (not the command): as `docker run`. */
#define CLI_EXIT_WARREN 125
#define CLI_EXIT_USAGE 2

/* STATUS for run and exec: a usage error is CLI_EXIT_WARREN there, as
 * `docker run`'s, so it is not taken for the command's own status 2. */
int cli_run_status (int status);

extern const char cli_api_usage[];

/* The client for API, or NULL after printing why. */
wr_client_t *cli_client (const cli_api_t *api);

/* Prints "warren: MESSAGE" (and advice for a wrong token) and returns
 * STATUS. */
int cli_api_fail (wr_error_t *err, int status);

int cli_usage_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* After getopt_long returned '?' (with opterr 0): a usage error naming the
 * option of CMD it stopped at, unknown, missing its value or given one it
 * does not take.  SHORTS is the optstring. */
int cli_bad_option (const char *cmd, char *const *argv, const char *shorts);

/* TEXT from warrend made safe for a terminal: control bytes as '?', NULL
 * as "-" (in one of six rotating static buffers of 512 bytes). */
const char *cli_safe (const char *text);

/* O pretty-printed on stdout. */
void cli_print_json (json_object *o);

/* "512M", "1G", "1073741824", "512Mi": bytes; -1 when malformed. */
int64_t cli_parse_bytes (const char *text);

/* "3m ago"-style age of a time in milliseconds since the epoch. */
void cli_format_age_ms (int64_t ms, char *out, size_t size);

/* Writes all of LEN bytes to FD (EINTR and short writes handled). */
int cli_write_all (int fd, const void *data, size_t len);

/* The event callback of creates: prints events' messages (Docker readiness,
 * pulls) on stderr. */
int cli_print_event (void *data, json_object *event, wr_error_t *err);

/* The commands, each taking its own argv (argv[0] the command's name). */
/* Parses a command's own --json and --help before its operands: the index
 * of its first operand, or -1 with *STATUS the exit status (0 after
 * --help, the usage error's otherwise). */
int cli_simple_flags (int argc, char **argv, bool *json, int *status);

int cli_cmd_run (const cli_api_t *api, int argc, char **argv);
int cli_cmd_create (const cli_api_t *api, int argc, char **argv);
int cli_cmd_ls (const cli_api_t *api, int argc, char **argv);
int cli_cmd_inspect (const cli_api_t *api, int argc, char **argv);
int cli_cmd_rm (const cli_api_t *api, int argc, char **argv);
int cli_cmd_docker_socket (const cli_api_t *api, int argc, char **argv);
int cli_cmd_docker (const cli_api_t *api, int argc, char **argv);
int cli_cmd_exec (const cli_api_t *api, int argc, char **argv);
int cli_cmd_logs (const cli_api_t *api, int argc, char **argv);
int cli_cmd_ps (const cli_api_t *api, int argc, char **argv);
int cli_cmd_cp (const cli_api_t *api, int argc, char **argv);

/* Runs ARGV in SANDBOX: exec, stdout and stderr to ours as they come (with
 * STDIN_OPEN our stdin forwarded), SIGINT/SIGTERM/SIGHUP forwarded to it;
 * returns the command's exit status (128+N for a signal), or
 * CLI_EXIT_WARREN after printing warren's own failure. */
int cli_run_process (wr_client_t *client, const char *sandbox, char **argv, char **env,
                     const char *cwd, const char *user, bool stdin_open, bool json);

/* With YES, the third signal that makes cli_run_process's caller stop
 * waiting also removes the sandbox first (`warren run` without --keep: the
 * sandbox is run's own). */
void cli_run_remove_when_abandoned (bool yes);

#endif
