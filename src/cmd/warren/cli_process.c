/* warren exec, logs, ps, and the running of one command that run and exec
 * share (docs/cli.md). */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli_api.h"
#include "client_process.h"
#include "client_sandbox.h"
#include "json_reader.h"
#include "strv.h"
#include "xalloc.h"

enum { OPT_JSON = 1000, OPT_HELP, OPT_ENV, OPT_WORKDIR, OPT_USER };

static char *
base64 (const char *data, size_t len)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = xmalloc ((len + 2) / 3 * 4 + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t w = (uint32_t) (unsigned char) data[i] << 16;
        if (i + 1 < len)
            w |= (uint32_t) (unsigned char) data[i + 1] << 8;
        if (i + 2 < len)
            w |= (unsigned char) data[i + 2];
        out[n++] = abc[w >> 18];
        out[n++] = abc[(w >> 12) & 63];
        out[n++] = i + 1 < len ? abc[(w >> 6) & 63] : '=';
        out[n++] = i + 2 < len ? abc[w & 63] : '=';
    }
    out[n] = '\0';
    return out;
}

typedef struct {
    bool json;
    bool broken; /* our stdout is gone */
} print_t;

/* Output to our stdout and stderr, or as JSON lines on stdout. */
static int
print_output (void *data, wr_client_stream_t stream, int64_t offset, const char *bytes, size_t len,
              wr_error_t *err)
{
    print_t *p = data;
    if (p->json) {
        cleanup_free char *b64 = base64 (bytes, len);
        printf ("{\"stream\": \"%s\", \"offset\": %lld, \"data\": \"%s\"}\n",
                stream == WR_CLIENT_STDOUT ? "stdout" : "stderr", (long long) offset, b64);
        fflush (stdout);
        return 0;
    }
    int fd = stream == WR_CLIENT_STDOUT ? STDOUT_FILENO : STDERR_FILENO;
    if (cli_write_all (fd, bytes, len) < 0 && !p->broken) {
        p->broken = true; /* keep reading: the command still runs to its end */
    }
    return 0;
}

/* ---- stdin and signals, on threads of their own ---- */

typedef struct {
    wr_client_t *client;
    const char *sandbox, *pid;
} target_t;

static void *
forward_stdin (void *data)
{
    target_t *t = data;
    static char buf[65536];
    for (;;) {
        ssize_t n = read (STDIN_FILENO, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        cleanup_error wr_error_t err = NULL;
        if (wr_client_process_stdin (t->client, t->sandbox, t->pid, buf, n > 0 ? (size_t) n : 0,
                                     n <= 0, &err) < 0) {
            if (err->kind != WR_ERROR_NOT_FOUND)
                fprintf (stderr, "warren: stdin: %s\n", err->message);
            return NULL;
        }
        if (n <= 0)
            return NULL;
    }
}

/* The signal thread forwards to the process while it runs; once
 * cli_run_process returned (the caller may free the client), no more. */
static pthread_mutex_t forward_lock = PTHREAD_MUTEX_INITIALIZER;
static target_t forward_target;
static bool forwarding, remove_when_abandoned;

void
cli_run_remove_when_abandoned (bool yes)
{
    pthread_mutex_lock (&forward_lock);
    remove_when_abandoned = yes;
    pthread_mutex_unlock (&forward_lock);
}

/* The third signal: warren stops waiting, removing the sandbox first when
 * it is run's own.  A fourth one ends warren at once (the signals are no
 * longer blocked in this thread, and their action is the default). */
static void
abandon (const sigset_t *set, int sig)
{
    /* Held until _exit: the command's end (the removal ends it) must not
     * let cli_run_process return and warren exit under the removal. */
    pthread_mutex_lock (&forward_lock);
    if (!remove_when_abandoned || !forwarding) {
        fprintf (stderr, "warren: stopped waiting (the sandbox may still run the command)\n");
        _exit (128 + sig);
    }
    pthread_sigmask (SIG_UNBLOCK, set, NULL);
    fprintf (stderr, "warren: stopped waiting; removing sandbox %s\n", forward_target.sandbox);
    cleanup_error wr_error_t err = NULL;
    if (wr_client_sandbox_delete (forward_target.client, forward_target.sandbox, NULL, &err) < 0)
        fprintf (stderr, "warren: %s\nwarren: sandbox %s was not removed: warren rm %s\n",
                 err->message, forward_target.sandbox, forward_target.sandbox);
    _exit (128 + sig);
}

static void *
forward_signals (void *data)
{
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGINT);
    sigaddset (&set, SIGTERM);
    sigaddset (&set, SIGHUP);
    for (int count = 1;; count++) {
        int sig = 0;
        if (sigwait (&set, &sig) != 0)
            return NULL;
        if (count >= 3)
            abandon (&set, sig);
        cleanup_error wr_error_t err = NULL;
        pthread_mutex_lock (&forward_lock);
        if (forwarding && wr_client_process_signal (forward_target.client, forward_target.sandbox,
                                                    forward_target.pid, sig, true, &err) < 0)
            fprintf (stderr, "warren: forwarding signal %d: %s\n", sig, err->message);
        pthread_mutex_unlock (&forward_lock);
    }
}

static int
exit_status (json_object *process, bool json)
{
    wr_client_process_t p;
    cleanup_error wr_error_t err = NULL;
    if (wr_client_process_read (process, &p, &err) < 0)
        return cli_api_fail (&err, CLI_EXIT_WARREN);
    if (json) {
        json_object *o = json_object_new_object ();
        json_object_object_add (o, "process", json_object_get (process));
        puts (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put (o);
    }
    if (strcmp (p.state, "exited") == 0)
        return (int) p.exit_code;
    if (strcmp (p.state, "signaled") == 0)
        return 128 + (int) p.signal;
    fprintf (stderr, "warren: process %s is %s, not ended\n", p.pid, p.state);
    return CLI_EXIT_WARREN;
}

static int follow (wr_client_t *client, const char *sandbox, const char *pid, bool json);

int
cli_run_process (wr_client_t *client, const char *sandbox, char **argv, char **env, const char *cwd,
                 const char *user, bool stdin_open, bool json)
{
    wr_client_exec_t exec = {
        .argv = (const char *const *) argv,
        .env = (const char *const *) env,
        .cwd = cwd,
        .user = user,
        .stdin_open = stdin_open,
    };
    cleanup_error wr_error_t err = NULL;
    cleanup_json_reader json_object *process = NULL;
    if (wr_client_process_exec (client, sandbox, &exec, &process, &err) < 0)
        return cli_api_fail (&err, CLI_EXIT_WARREN);
    wr_client_process_t p;
    wr_client_process_read (process, &p, &err);
    /* Kept until the next call: the stdin thread of exec -i may read it
     * until the program ends. */
    static char *pid;
    free (pid);
    pid = xstrdup (p.pid);
    target_t target = { .client = client, .sandbox = sandbox, .pid = pid };

    /* ^C, TERM and HUP go to the command (and the command's end ends us);
     * the third one stops warren. */
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGINT);
    sigaddset (&set, SIGTERM);
    sigaddset (&set, SIGHUP);
    pthread_sigmask (SIG_BLOCK, &set, NULL);
    pthread_mutex_lock (&forward_lock);
    forward_target = target;
    forwarding = true;
    static bool started;
    pthread_t signals, input;
    if (!started) {
        started = true;
        pthread_create (&signals, NULL, forward_signals, NULL);
        pthread_detach (signals);
    }
    pthread_mutex_unlock (&forward_lock);
    if (stdin_open) { /* warren exec -i: leaves with _exit, the thread still reading */
        pthread_create (&input, NULL, forward_stdin, &forward_target);
        pthread_detach (input);
    }
    int status = follow (client, sandbox, pid, json);
    pthread_mutex_lock (&forward_lock);
    forwarding = false;
    pthread_mutex_unlock (&forward_lock);
    return status;
}

/* The output of PID as it comes, then its end.  A stream that breaks
 * (warrend restarted, a proxy's timeout) is read again from where it
 * stopped: the output is kept, so nothing is lost or shown twice. */
static int
follow (wr_client_t *client, const char *sandbox, const char *pid, bool json)
{
    cleanup_error wr_error_t err = NULL;
    print_t printer = { .json = json };
    wr_client_output_options_t opts = { .streams = WR_CLIENT_BOTH, .follow = true };
    for (int attempt = 0;; attempt++) {
        wr_client_output_end_t end;
        int ret = wr_client_process_output (client, sandbox, pid, &opts, print_output, &printer,
                                            &end, &err);
        free (end.state);
        if (ret == 0)
            break;
        if (wr_error_kind (err) != WR_ERROR_UNAVAILABLE || attempt >= 5)
            return cli_api_fail (&err, CLI_EXIT_WARREN);
        fprintf (stderr, "warren: %s; reading the output again from where it stopped\n",
                 err->message);
        wr_error_free (&err);
        opts.stdout_offset = end.stdout_offset;
        opts.stderr_offset = end.stderr_offset;
        sleep (1);
    }
    json_object *ended = NULL;
    if (wr_client_process_wait (client, sandbox, pid, -1, &ended, &err) < 0)
        return cli_api_fail (&err, CLI_EXIT_WARREN);
    int status = exit_status (ended, json);
    json_object_put (ended);
    return status;
}

int
cli_cmd_exec (const cli_api_t *api, int argc, char **argv)
{
    static const struct option options[] = {
        { "interactive", no_argument, NULL, 'i' },
        { "env", required_argument, NULL, OPT_ENV },
        { "workdir", required_argument, NULL, OPT_WORKDIR },
        { "user", required_argument, NULL, OPT_USER },
        { "json", no_argument, NULL, OPT_JSON },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    bool interactive = false, json = false;
    cleanup_strv char **env = NULL;
    const char *cwd = NULL, *user = NULL;
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long (argc, argv, "+ie:w:u:", options, NULL)) != -1) {
        switch (c) {
        case 'i':
            interactive = true;
            break;
        case 'e':
        case OPT_ENV:
            if (strchr (optarg, '=') == NULL || optarg[0] == '=')
                return cli_run_status (cli_usage_error ("--env `%s`: expected KEY=VALUE", optarg));
            wr_strv_add (&env, optarg);
            break;
        case 'w':
        case OPT_WORKDIR:
            cwd = optarg;
            break;
        case 'u':
        case OPT_USER:
            user = optarg;
            break;
        case OPT_JSON:
            json = true;
            break;
        case OPT_HELP:
            fputs (cli_api_usage, stdout);
            return 0;
        default:
            return cli_run_status (cli_bad_option ("exec", argv, "+ie:w:u:"));
        }
    }
    if (optind >= argc)
        return cli_run_status (
            cli_usage_error ("exec needs a sandbox ID and a command: warren exec ID -- CMD..."));
    const char *id = argv[optind++];
    if (optind < argc && strcmp (argv[optind], "--") == 0)
        optind++;
    if (optind >= argc)
        return cli_run_status (cli_usage_error ("exec needs a command: warren exec ID -- CMD..."));
    wr_client_t *client = cli_client (api);
    if (client == NULL)
        return CLI_EXIT_WARREN;
    int status = cli_run_process (client, id, argv + optind, env, cwd, user, interactive, json);
    /* The stdin thread may still be reading: leave without freeing under it. */
    fflush (stdout);
    _exit (status);
}

int
cli_cmd_logs (const cli_api_t *api, int argc, char **argv)
{
    static const struct option options[] = {
        { "follow", no_argument, NULL, 'f' },
        { "json", no_argument, NULL, OPT_JSON },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    bool follow = false, json = false;
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long (argc, argv, "+f", options, NULL)) != -1) {
        if (c == 'f')
            follow = true;
        else if (c == OPT_JSON)
            json = true;
        else if (c == OPT_HELP) {
            fputs (cli_api_usage, stdout);
            return 0;
        } else
            return cli_bad_option ("logs", argv, "+f");
    }
    if (optind + 2 != argc)
        return cli_usage_error ("logs takes a sandbox ID and a process PID");
    wr_client_t *client = cli_client (api);
    if (client == NULL)
        return 1;
    print_t printer = { .json = json };
    wr_client_output_options_t opts = { .streams = WR_CLIENT_BOTH, .follow = follow };
    cleanup_error wr_error_t err = NULL;
    wr_client_output_end_t end;
    int ret = wr_client_process_output (client, argv[optind], argv[optind + 1], &opts, print_output,
                                        &printer, &end, &err);
    wr_client_free (client);
    if (ret < 0)
        return cli_api_fail (&err, 1);
    free (end.state);
    return 0;
}

int
cli_cmd_ps (const cli_api_t *api, int argc, char **argv)
{
    bool json = false;
    int status = 0;
    int first = cli_simple_flags (argc, argv, &json, &status);
    if (first < 0)
        return status;
    if (first + 1 != argc)
        return cli_usage_error ("ps takes one sandbox ID");
    wr_client_t *client = cli_client (api);
    if (client == NULL)
        return 1;
    cleanup_error wr_error_t err = NULL;
    json_object *list = NULL;
    int ret = wr_client_process_list (client, argv[first], &list, &err);
    wr_client_free (client);
    if (ret < 0)
        return cli_api_fail (&err, 1);
    if (json) {
        cli_print_json (list);
        json_object_put (list);
        return 0;
    }
    printf ("%-8s  %-7s  %-8s  %-6s  %-10s  %s\n", "PID", "OS PID", "STATE", "EXIT", "STARTED",
            "COMMAND");
    for (size_t i = 0; i < json_object_array_length (list); i++) {
        json_object *o = json_object_array_get_idx (list, i);
        wr_client_process_t p;
        wr_client_process_read (o, &p, &err);
        char exit_text[16] = "-", age[32];
        if (strcmp (p.state, "exited") == 0)
            snprintf (exit_text, sizeof exit_text, "%lld", (long long) p.exit_code);
        else if (strcmp (p.state, "signaled") == 0)
            snprintf (exit_text, sizeof exit_text, "sig %lld", (long long) p.signal);
        cli_format_age_ms (p.started_ms, age, sizeof age);
        cleanup_strv char **words = NULL;
        json_object *argv_json = NULL;
        if (json_object_object_get_ex (o, "argv", &argv_json) &&
            json_object_is_type (argv_json, json_type_array))
            for (size_t j = 0; j < json_object_array_length (argv_json); j++) {
                json_object *w = json_object_array_get_idx (argv_json, j);
                if (json_object_is_type (w, json_type_string))
                    wr_strv_add (&words, json_object_get_string (w));
            }
        cleanup_free char *command = words != NULL ? wr_strv_join (words, " ") : xstrdup ("-");
        for (char *q = command; *q != '\0'; q++)
            if ((unsigned char) *q < 0x20 || *q == 0x7f)
                *q = '?';
        printf ("%-8s  %-7lld  %-8s  %-6s  %-10s  %s\n", p.pid, (long long) p.os_pid, p.state,
                exit_text, age, command);
    }
    json_object_put (list);
    return 0;
}
