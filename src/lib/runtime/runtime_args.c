#include "runtime_args.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "strv.h"
#include "xalloc.h"

typedef enum {
    KIND_BOOL,
    KIND_VALUE,
} flag_kind_t;

typedef enum {
    OWNER_WARREN, /* consumed */
    OWNER_RUNC, /* translated for the backend */
    OWNER_SELF, /* --help, --version: answered here */
} flag_owner_t;

typedef struct {
    const char *name;
    const char *alias;
    flag_kind_t kind;
    flag_owner_t owner;
} global_flag_spec_t;

static const global_flag_spec_t global_flags[] = {
    { "profile", NULL, KIND_VALUE, OWNER_WARREN },
    { "backend", NULL, KIND_VALUE, OWNER_WARREN },
    { "backend-binary", NULL, KIND_VALUE, OWNER_WARREN },
    { "init", NULL, KIND_VALUE, OWNER_WARREN },
    { "annotation-profiles", NULL, KIND_VALUE, OWNER_WARREN },
    { "config", NULL, KIND_VALUE, OWNER_WARREN },
    { "root", NULL, KIND_VALUE, OWNER_RUNC },
    { "log", NULL, KIND_VALUE, OWNER_RUNC },
    { "log-format", NULL, KIND_VALUE, OWNER_RUNC },
    { "criu", NULL, KIND_VALUE, OWNER_RUNC },
    { "rootless", NULL, KIND_VALUE, OWNER_RUNC },
    { "debug", NULL, KIND_BOOL, OWNER_RUNC },
    { "systemd-cgroup", NULL, KIND_BOOL, OWNER_RUNC },
    { "help", "h", KIND_BOOL, OWNER_SELF },
    { "version", "v", KIND_BOOL, OWNER_SELF },
    { NULL, NULL, 0, 0 },
};

/* Commands of runc and runsc.  An unknown global flag written as
 * `--flag value` takes the next argument as its value unless that is one of
 * these (then the flag is a switch and the argument the command). */
static const char *const known_commands[] = {
    "checkpoint",
    "create",
    "delete",
    "do",
    "events",
    "exec",
    "features",
    "flags",
    "help",
    "kill",
    "list",
    "pause",
    "port-forward",
    "ps",
    "restore",
    "resume",
    "run",
    "spec",
    "start",
    "state",
    "update",
    "wait",
    "debug",
    "install",
    "mitigate",
    "nvproxy",
    "trace",
    "uninstall",
    "usage",
    "export-metrics",
    "metric-metadata",
    "metric-server",
    "read-control",
    "write-control",
    "symbolize",
    NULL,
};

static bool
is_known_command (const char *s)
{
    for (size_t i = 0; known_commands[i] != NULL; i++)
        if (strcmp (known_commands[i], s) == 0)
            return true;
    return false;
}

static const global_flag_spec_t *
find_global (const char *name)
{
    for (size_t i = 0; global_flags[i].name != NULL; i++)
        if (strcmp (global_flags[i].name, name) == 0 ||
            (global_flags[i].alias != NULL && strcmp (global_flags[i].alias, name) == 0))
            return &global_flags[i];
    return NULL;
}

static void
add_global (wr_runtime_args_t *args, const char *name, const char *value, bool runc, char *given)
{
    args->globals = xrealloc (args->globals, (args->n_globals + 1) * sizeof *args->globals);
    wr_global_flag_t *g = &args->globals[args->n_globals++];
    g->name = xstrdup (name);
    g->value = value ? xstrdup (value) : NULL;
    g->runc = runc;
    g->given = given;
}

static void
set_string (char **field, const char *value)
{
    free (*field);
    *field = xstrdup (value);
}

static int
parse_bool (const char *flag, const char *value, bool *out, wr_error_t *err)
{
    if (value == NULL || strcmp (value, "true") == 0 || strcmp (value, "1") == 0)
        *out = true;
    else if (strcmp (value, "false") == 0 || strcmp (value, "0") == 0)
        *out = false;
    else
        return wr_error_set (err, 0, "invalid boolean value `%s` for flag --%s", value, flag);
    return 0;
}

static int
apply_known (wr_runtime_args_t *args, const global_flag_spec_t *spec, const char *value,
             wr_error_t *err)
{
    const char *name = spec->name;
    if (spec->owner == OWNER_SELF) {
        bool on = false;
        if (parse_bool (name, value, &on, err) < 0)
            return -1;
        if (strcmp (name, "help") == 0)
            args->help = on;
        else
            args->version = on;
        return 0;
    }
    if (spec->owner == OWNER_WARREN) {
        if (strcmp (name, "profile") == 0) {
            set_string (&args->profile, value);
            args->profile_from_name = false;
        } else if (strcmp (name, "backend") == 0) {
            set_string (&args->backend, value);
        } else if (strcmp (name, "backend-binary") == 0) {
            set_string (&args->backend_binary, value);
        } else if (strcmp (name, "annotation-profiles") == 0) {
            set_string (&args->annotation_profiles, value);
        } else if (strcmp (name, "config") == 0) {
            set_string (&args->config, value);
        } else {
            set_string (&args->init, value);
        }
        return 0;
    }
    /* runc's flags */
    if (spec->kind == KIND_BOOL) {
        bool on = false;
        if (parse_bool (name, value, &on, err) < 0)
            return -1;
        if (strcmp (name, "debug") == 0)
            args->debug = on;
        else
            args->systemd_cgroup = on;
        /* A switch turned off is the same as not given. */
        if (on)
            add_global (args, name, NULL, true, NULL);
        return 0;
    }
    if (strcmp (name, "root") == 0)
        set_string (&args->root, value);
    else if (strcmp (name, "log") == 0)
        set_string (&args->log, value);
    else if (strcmp (name, "log-format") == 0)
        set_string (&args->log_format, value);
    add_global (args, name, value, true, NULL);
    return 0;
}

int
wr_runtime_args_parse (wr_runtime_args_t *args, int argc, char *const *argv, wr_error_t *err)
{
    memset (args, 0, sizeof *args);
    args->command_args = xzalloc (sizeof (char *));
    if (argc > 0 && argv[0] != NULL) {
        cleanup_free char *copy = xstrdup (argv[0]);
        if (strcmp (basename (copy), WR_RUNTIME_DOCKER_NAME) == 0) {
            args->profile = xstrdup ("docker");
            args->profile_from_name = true;
        }
    }

    int i = 1;
    while (i < argc) {
        const char *arg = argv[i];
        if (strcmp (arg, "--") == 0) {
            i++;
            break;
        }
        if (arg[0] != '-' || arg[1] == '\0')
            break;
        const char *body = arg + 1;
        if (*body == '-')
            body++;
        const char *eq = strchr (body, '=');
        cleanup_free char *name = eq ? xstrndup (body, (size_t) (eq - body)) : xstrdup (body);
        const char *inline_value = eq ? eq + 1 : NULL;
        const global_flag_spec_t *spec = find_global (name);
        i++;

        if (spec != NULL) {
            const char *value = inline_value;
            if (spec->kind == KIND_VALUE && value == NULL) {
                if (i >= argc)
                    return wr_error_set (err, 0, "flag needs an argument: --%s", spec->name);
                value = argv[i++];
            }
            if (apply_known (args, spec, value, err) < 0)
                return -1;
            continue;
        }

        /* Someone else's flag: passed on.  Without "=VALUE", the next
         * argument is its value unless it looks like a flag or a command. */
        if (inline_value == NULL && i < argc && argv[i][0] != '-' && !is_known_command (argv[i])) {
            size_t dashes = (size_t) (body - arg);
            add_global (args, name, argv[i], false,
                        xasprintf ("%.*s%s=%s", (int) dashes, "--", name, argv[i]));
            i++;
        } else {
            add_global (args, name, inline_value, false, xstrdup (arg));
        }
    }

    if (i < argc) {
        args->command = xstrdup (argv[i++]);
        for (; i < argc; i++)
            wr_strv_add (&args->command_args, argv[i]);
    }
    return 0;
}

void
wr_runtime_args_clear (wr_runtime_args_t *args)
{
    free (args->profile);
    free (args->annotation_profiles);
    free (args->config);
    free (args->backend);
    free (args->backend_binary);
    free (args->init);
    free (args->root);
    free (args->log);
    free (args->log_format);
    for (size_t i = 0; i < args->n_globals; i++) {
        free (args->globals[i].name);
        free (args->globals[i].value);
        free (args->globals[i].given);
    }
    free (args->globals);
    free (args->command);
    wr_strv_free (args->command_args);
    memset (args, 0, sizeof *args);
}

bool
wr_runtime_command_launches (const char *command)
{
    return command != NULL && (strcmp (command, "create") == 0 || strcmp (command, "run") == 0);
}

const char *
wr_runtime_args_backend_name (const wr_runtime_args_t *args, const char *fallback)
{
    if (args->backend != NULL)
        return args->backend;
    if (fallback != NULL && fallback[0] != '\0')
        return fallback;
    return "runsc";
}

const char *
wr_runtime_args_backend_binary (const wr_runtime_args_t *args, const wr_backend_ops_t *ops,
                                const char *runsc_fallback)
{
    if (args->backend_binary != NULL)
        return args->backend_binary;
    if (ops == &wr_backend_runsc && runsc_fallback != NULL && runsc_fallback[0] != '\0')
        return runsc_fallback;
    return NULL;
}

char **
wr_runtime_args_backend_globals (const wr_runtime_args_t *args, const wr_backend_ops_t *ops)
{
    char **out = xzalloc (sizeof (char *));
    for (size_t i = 0; i < args->n_globals; i++) {
        const wr_global_flag_t *g = &args->globals[i];
        if (!g->runc)
            wr_strv_add (&out, g->given);
        else if (ops->translate_global != NULL)
            ops->translate_global (g->name, g->value, &out);
        else if (g->value != NULL)
            wr_strv_add_take (&out, xasprintf ("--%s=%s", g->name, g->value));
        else
            wr_strv_add_take (&out, xasprintf ("--%s", g->name));
    }
    return out;
}

const char *
wr_runtime_args_network (const wr_runtime_args_t *args)
{
    const char *network = NULL;
    for (size_t i = 0; i < args->n_globals; i++)
        if (!args->globals[i].runc && strcmp (args->globals[i].name, "network") == 0 &&
            args->globals[i].value != NULL)
            network = args->globals[i].value;
    return network;
}

/* Flags of runc's and runsc's container commands (create, run, exec, ...)
 * that take a value, so that the container ID after them is found. */
static bool
command_flag_takes_value (const char *name)
{
    static const char *const names[] = {
        "bundle",
        "b",
        "console-socket",
        "pid-file",
        "preserve-fds",
        "user-log",
        "panic-log",
        "process",
        "p",
        "cwd",
        "env",
        "e",
        "user",
        "u",
        "additional-gids",
        "g",
        "cap",
        "c",
        "process-label",
        "apparmor",
        "cgroup",
        "internal-pid-file",
        "image-path",
        "work-path",
        "signal",
        "s",
        "format",
        "f",
        "interval",
        "pid",
        NULL,
    };
    for (size_t i = 0; names[i] != NULL; i++)
        if (strcmp (names[i], name) == 0)
            return true;
    return false;
}

/* Walks the command's flags; returns the index of the first argument after
 * them, sets *BUNDLE to the --bundle value (not copied) if given, and
 * *FOUND when flag NAME (or ALIAS) is among them. */
static size_t
scan_command_flags (char *const *cargs, const char **bundle, const char *name_wanted,
                    const char *alias_wanted, bool *found)
{
    size_t i = 0;
    *bundle = NULL;
    if (found != NULL)
        *found = false;
    while (cargs[i] != NULL) {
        const char *arg = cargs[i];
        if (strcmp (arg, "--") == 0)
            return i + 1;
        if (arg[0] != '-' || arg[1] == '\0')
            return i;
        const char *body = arg + 1;
        if (*body == '-')
            body++;
        const char *eq = strchr (body, '=');
        cleanup_free char *name = eq ? xstrndup (body, (size_t) (eq - body)) : xstrdup (body);
        i++;
        const char *value = eq ? eq + 1 : NULL;
        if (value == NULL && command_flag_takes_value (name) && cargs[i] != NULL)
            value = cargs[i++];
        if (value != NULL && (strcmp (name, "bundle") == 0 || strcmp (name, "b") == 0))
            *bundle = value;
        if (found != NULL && ((name_wanted != NULL && strcmp (name, name_wanted) == 0) ||
                              (alias_wanted != NULL && strcmp (name, alias_wanted) == 0)))
            *found = value == NULL || strcmp (value, "false") != 0;
    }
    return i;
}

char *
wr_runtime_args_bundle (const wr_runtime_args_t *args, wr_error_t *err)
{
    const char *bundle = NULL;
    scan_command_flags (args->command_args, &bundle, NULL, NULL, NULL);
    if (bundle != NULL && bundle[0] == '/')
        return xstrdup (bundle);
    cleanup_free char *cwd = getcwd (NULL, 0);
    if (cwd == NULL) {
        wr_error_set (err, errno, "find the bundle: getcwd");
        return NULL;
    }
    if (bundle == NULL || strcmp (bundle, "") == 0 || strcmp (bundle, ".") == 0)
        return steal_pointer (&cwd);
    return xasprintf ("%s/%s", cwd, bundle);
}

const char *
wr_runtime_args_container_id (const wr_runtime_args_t *args)
{
    const char *bundle = NULL;
    size_t i = scan_command_flags (args->command_args, &bundle, NULL, NULL, NULL);
    return args->command_args[i];
}

bool
wr_runtime_args_command_flag (const wr_runtime_args_t *args, const char *name, const char *alias)
{
    const char *bundle = NULL;
    bool found = false;
    scan_command_flags (args->command_args, &bundle, name, alias, &found);
    return found;
}
