/* warren run, create, ls, inspect, rm, docker-socket, docker: sandboxes
 * through warrend's API (docs/cli.md). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli_api.h"
#include "client_sandbox.h"
#include "json_reader.h"
#include "strv.h"
#include "xalloc.h"

/* The options run and create share. */
typedef struct {
    wr_client_sandbox_spec_t spec;
    char **env, **labels;
    bool json, keep;
} create_opts_t;

enum {
    OPT_DOCKER = 1000,
    OPT_CPU,
    OPT_MEMORY,
    OPT_ENV,
    OPT_LABEL,
    OPT_NAME,
    OPT_WORKDIR,
    OPT_KEEP_WARM,
    OPT_JSON,
    OPT_KEEP,
    OPT_RM,
    OPT_HELP,
    OPT_STATE,
};

/* Parses run's or create's options up to IMAGE; returns optind, or -1 after
 * printing a usage error (*STATUS). */
static int
parse_create (int argc, char **argv, bool run, create_opts_t *o, int *status)
{
    static const struct option options[] = {
        { "docker", no_argument, NULL, OPT_DOCKER },
        { "cpu", required_argument, NULL, OPT_CPU },
        { "memory", required_argument, NULL, OPT_MEMORY },
        { "env", required_argument, NULL, OPT_ENV },
        { "label", required_argument, NULL, OPT_LABEL },
        { "name", required_argument, NULL, OPT_NAME },
        { "workdir", required_argument, NULL, OPT_WORKDIR },
        { "keep-warm", required_argument, NULL, OPT_KEEP_WARM },
        { "json", no_argument, NULL, OPT_JSON },
        { "keep", no_argument, NULL, OPT_KEEP },
        { "rm", no_argument, NULL, OPT_RM },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    const char *cmd = run ? "run" : "create";
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long (argc, argv, "+e:", options, NULL)) != -1) {
        switch (c) {
        case OPT_DOCKER:
            o->spec.docker_enabled = true;
            break;
        case OPT_CPU: {
            char *end = NULL;
            double cpu = strtod (optarg, &end);
            if (end == optarg || *end != '\0' || !(cpu > 0 && cpu <= 1024)) {
                *status = cli_usage_error ("--cpu `%s`: expected a number of CPUs, e.g. 0.5 or 2",
                                           optarg);
                return -1;
            }
            o->spec.cpu = cpu;
            break;
        }
        case OPT_MEMORY:
            o->spec.memory = cli_parse_bytes (optarg);
            if (o->spec.memory <= 0) {
                *status =
                    cli_usage_error ("--memory `%s`: expected bytes, e.g. 512M or 2G", optarg);
                return -1;
            }
            break;
        case 'e':
        case OPT_ENV:
        case OPT_LABEL:
            if (strchr (optarg, '=') == NULL || optarg[0] == '=') {
                *status = cli_usage_error ("--%s `%s`: expected KEY=VALUE",
                                           c == OPT_LABEL ? "label" : "env", optarg);
                return -1;
            }
            wr_strv_add (c == OPT_LABEL ? &o->labels : &o->env, optarg);
            break;
        case OPT_NAME:
            o->spec.name = optarg;
            break;
        case OPT_WORKDIR:
            o->spec.workdir = optarg;
            break;
        case OPT_KEEP_WARM: {
            char *end = NULL;
            long long n = strtoll (optarg, &end, 10);
            if (end == optarg || *end != '\0' || n < -1) {
                *status =
                    cli_usage_error ("--keep-warm `%s`: expected seconds (-1: never)", optarg);
                return -1;
            }
            o->spec.keep_warm_set = true;
            o->spec.keep_warm_seconds = n;
            break;
        }
        case OPT_JSON:
            o->json = true;
            break;
        case OPT_KEEP:
        case OPT_RM:
            if (!run) {
                *status = cli_usage_error ("create: --%s is an option of run",
                                           c == OPT_KEEP ? "keep" : "rm");
                return -1;
            }
            o->keep = c == OPT_KEEP;
            break;
        case OPT_HELP:
            fputs (cli_api_usage, stdout);
            *status = 0;
            return -1;
        default:
            *status = cli_bad_option (cmd, argv, "+e:");
            return -1;
        }
    }
    if (optind >= argc) {
        *status = cli_usage_error ("%s needs an IMAGE", cmd);
        return -1;
    }
    o->spec.image = argv[optind];
    o->spec.env = (const char *const *) o->env;
    o->spec.labels = (const char *const *) o->labels;
    return optind + 1;
}

static json_object *
create (wr_client_t *client, create_opts_t *o, wr_error_t *err)
{
    cleanup_json_reader json_object *body = wr_client_sandbox_spec_json (&o->spec, err);
    if (body == NULL)
        return NULL;
    json_object *sandbox = NULL;
    if (wr_client_sandbox_create (client, body, cli_print_event, NULL, &sandbox, err) < 0)
        return NULL;
    return sandbox;
}

int
cli_cmd_create (const cli_api_t *api, int argc, char **argv)
{
    create_opts_t o = { 0 };
    int status = 0;
    int next = parse_create (argc, argv, false, &o, &status);
    /* Freed when the command returns (clang calls them unused). */
    cleanup_strv char **env = o.env, **labels = o.labels;
    (void) env;
    (void) labels;
    if (next < 0)
        return status;
    if (next != argc)
        return cli_usage_error ("create takes one IMAGE (run runs a command)");
    wr_client_t *client = cli_client (api);
    if (client == NULL)
        return 1;
    cleanup_error wr_error_t err = NULL;
    json_object *sandbox = create (client, &o, &err);
    wr_client_free (client);
    if (sandbox == NULL)
        return cli_api_fail (&err, 1);
    wr_client_sandbox_t view;
    wr_client_sandbox_read (sandbox, &view, &err);
    if (o.json)
        cli_print_json (sandbox);
    else
        puts (cli_safe (view.id));
    json_object_put (sandbox);
    return 0;
}

int
cli_cmd_run (const cli_api_t *api, int argc, char **argv)
{
    create_opts_t o = { 0 };
    int status = 0;
    int next = parse_create (argc, argv, true, &o, &status);
    /* Freed when the command returns (clang calls them unused). */
    cleanup_strv char **env = o.env, **labels = o.labels;
    (void) env;
    (void) labels;
    if (next < 0)
        return cli_run_status (status);
    if (next < argc && strcmp (argv[next], "--") == 0)
        next++;
    if (next >= argc)
        return cli_run_status (cli_usage_error ("run needs a command: warren run IMAGE -- CMD..."));
    wr_client_t *client = cli_client (api);
    if (client == NULL)
        return CLI_EXIT_WARREN;
    cleanup_error wr_error_t err = NULL;
    json_object *sandbox = create (client, &o, &err);
    if (sandbox == NULL) {
        wr_client_free (client);
        return cli_api_fail (&err, CLI_EXIT_WARREN);
    }
    wr_client_sandbox_t view;
    wr_client_sandbox_read (sandbox, &view, &err);
    cleanup_free char *id = xstrdup (view.id);
    json_object_put (sandbox);
    cli_run_remove_when_abandoned (!o.keep);
    status = cli_run_process (client, id, argv + next, NULL, NULL, NULL, false, o.json);
    if (o.keep) {
        fprintf (stderr, "warren: kept sandbox %s (warren rm %s removes it)\n", id, id);
    } else if (wr_client_sandbox_delete (client, id, NULL, &err) < 0) {
        cli_api_fail (&err, 1);
        fprintf (stderr, "warren: sandbox %s was not removed: warren rm %s\n", id, id);
        if (status == 0)
            status = CLI_EXIT_WARREN;
    }
    wr_client_free (client);
    return status;
}

int
cli_cmd_ls (const cli_api_t *api, int argc, char **argv)
{
    static const struct option options[] = {
        { "state", required_argument, NULL, OPT_STATE },
        { "label", required_argument, NULL, OPT_LABEL },
        { "name", required_argument, NULL, OPT_NAME },
        { "json", no_argument, NULL, OPT_JSON },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    wr_client_sandbox_filter_t filter = { 0 };
    cleanup_strv char **labels = NULL;
    bool json = false;
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long (argc, argv, "+", options, NULL)) != -1) {
        switch (c) {
        case OPT_STATE:
            filter.state = optarg;
            break;
        case OPT_NAME:
            filter.name = optarg;
            break;
        case OPT_LABEL:
            if (strchr (optarg, '=') == NULL)
                return cli_usage_error ("--label `%s`: expected KEY=VALUE", optarg);
            wr_strv_add (&labels, optarg);
            break;
        case OPT_JSON:
            json = true;
            break;
        case OPT_HELP:
            fputs (cli_api_usage, stdout);
            return 0;
        default:
            return cli_bad_option ("ls", argv, "+");
        }
    }
    if (optind != argc)
        return cli_usage_error ("ls takes no arguments");
    filter.labels = (const char *const *) labels;
    wr_client_t *client = cli_client (api);
    if (client == NULL)
        return 1;
    cleanup_error wr_error_t err = NULL;
    json_object *list = NULL;
    int ret = wr_client_sandbox_list (client, &filter, &list, &err);
    wr_client_free (client);
    if (ret < 0)
        return cli_api_fail (&err, 1);
    if (json) {
        cli_print_json (list);
        json_object_put (list);
        return 0;
    }
    size_t n = json_object_array_length (list);
    int name_w = 4, image_w = 5;
    for (size_t i = 0; i < n; i++) {
        wr_client_sandbox_t v;
        wr_client_sandbox_read (json_object_array_get_idx (list, i), &v, &err);
        if (v.name != NULL && (int) strlen (v.name) > name_w)
            name_w = (int) strlen (v.name);
        if (v.image != NULL && (int) strlen (v.image) > image_w)
            image_w = (int) strlen (v.image);
    }
    printf ("%-20s  %-*s  %-8s  %-*s  %-6s  %s\n", "ID", name_w, "NAME", "STATE", image_w, "IMAGE",
            "DOCKER", "CREATED");
    for (size_t i = 0; i < n; i++) {
        wr_client_sandbox_t v;
        wr_client_sandbox_read (json_object_array_get_idx (list, i), &v, &err);
        char age[32];
        cli_format_age_ms (v.created_ms, age, sizeof age);
        printf ("%-20s  %-*s  %-8s  %-*s  %-6s  %s\n", cli_safe (v.id), name_w, cli_safe (v.name),
                cli_safe (v.state), image_w, cli_safe (v.image), v.docker_enabled ? "yes" : "no",
                age);
        if (v.reason != NULL)
            printf ("%-20s  (%s)\n", "", cli_safe (v.reason));
    }
    json_object_put (list);
    return 0;
}

int
cli_cmd_inspect (const cli_api_t *api, int argc, char **argv)
{
    bool json = false;
    int status = 0;
    int next = cli_simple_flags (argc, argv, &json, &status);
    if (next < 0)
        return status;
    if (next + 1 != argc)
        return cli_usage_error ("inspect takes one sandbox ID");
    wr_client_t *client = cli_client (api);
    if (client == NULL)
        return 1;
    cleanup_error wr_error_t err = NULL;
    json_object *sandbox = NULL;
    int ret = wr_client_sandbox_get (client, argv[next], &sandbox, &err);
    wr_client_free (client);
    if (ret < 0)
        return cli_api_fail (&err, 1);
    cli_print_json (sandbox);
    json_object_put (sandbox);
    return 0;
}

int
cli_cmd_rm (const cli_api_t *api, int argc, char **argv)
{
    bool json = false;
    int status = 0;
    int next = cli_simple_flags (argc, argv, &json, &status);
    if (next < 0)
        return status;
    if (next >= argc)
        return cli_usage_error ("rm takes one or more sandbox IDs");
    wr_client_t *client = cli_client (api);
    if (client == NULL)
        return 1;
    json_object *removed = json_object_new_array ();
    for (int i = next; i < argc; i++) {
        cleanup_error wr_error_t err = NULL;
        json_object *sandbox = NULL;
        if (wr_client_sandbox_delete (client, argv[i], &sandbox, &err) < 0) {
            status = cli_api_fail (&err, 1);
            continue;
        }
        wr_client_sandbox_t v;
        wr_client_sandbox_read (sandbox, &v, &err);
        if (!json)
            printf ("removed %s\n", cli_safe (v.id));
        json_object_array_add (removed, sandbox);
    }
    if (json)
        cli_print_json (removed);
    json_object_put (removed);
    wr_client_free (client);
    return status;
}

/* The Docker socket of sandbox ID (a copy), or NULL after printing why. */
static char *
docker_socket (const cli_api_t *api, const char *id)
{
    wr_client_t *client = cli_client (api);
    if (client == NULL)
        return NULL;
    cleanup_error wr_error_t err = NULL;
    cleanup_json_reader json_object *sandbox = NULL;
    int ret = wr_client_sandbox_get (client, id, &sandbox, &err);
    wr_client_free (client);
    if (ret < 0) {
        cli_api_fail (&err, 1);
        return NULL;
    }
    wr_client_sandbox_t v;
    wr_client_sandbox_read (sandbox, &v, &err);
    if (v.docker_socket == NULL) {
        fprintf (stderr,
                 "warren: sandbox %s has no Docker socket: it was created without --docker\n",
                 v.id);
        return NULL;
    }
    return xstrdup (v.docker_socket);
}

int
cli_cmd_docker_socket (const cli_api_t *api, int argc, char **argv)
{
    bool json = false;
    int status = 0;
    int next = cli_simple_flags (argc, argv, &json, &status);
    if (next < 0)
        return status;
    if (next + 1 != argc)
        return cli_usage_error ("docker-socket takes one sandbox ID");
    cleanup_free char *path = docker_socket (api, argv[next]);
    if (path == NULL)
        return 1;
    if (json) {
        json_object *o = json_object_new_object ();
        json_object_object_add (o, "docker_socket", json_object_new_string (path));
        cli_print_json (o);
        json_object_put (o);
    } else {
        puts (path);
    }
    return 0;
}

int
cli_cmd_docker (const cli_api_t *api, int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error ("docker takes a sandbox ID and the docker CLI's arguments");
    cleanup_free char *path = docker_socket (api, argv[1]);
    if (path == NULL)
        return 1;
    cleanup_free char *host = xasprintf ("unix://%s", path);
    char **args = xzalloc (sizeof *args * (size_t) (argc + 3));
    args[0] = (char *) "docker";
    args[1] = (char *) "-H";
    args[2] = host;
    for (int i = 2; i < argc; i++)
        args[i + 1] = argv[i];
    fflush (stdout);
    execvp ("docker", args);
    fprintf (stderr, "warren: running docker: %s (is the docker CLI installed?)\n",
             strerror (errno));
    free (args);
    return 127;
}
