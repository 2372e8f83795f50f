#include "dockerd_plan.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "daemon_json.h"
#include "log.h"
#include "xalloc.h"

static bool
is_executable_file (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 && S_ISREG (st.st_mode) && access (path, X_OK) == 0;
}

static char *
search_path (const char *name, const char *path)
{
    for (const char *p = path; p && *p;) {
        const char *colon = strchr (p, ':');
        size_t n = colon ? (size_t) (colon - p) : strlen (p);
        if (n > 0) {
            cleanup_free char *candidate = xasprintf ("%.*s/%s", (int) n, p, name);
            if (is_executable_file (candidate))
                return steal_pointer (&candidate);
        }
        p = colon ? colon + 1 : NULL;
    }
    return NULL;
}

char *
find_executable (const char *name, const char *path_env)
{
    if (strchr (name, '/') != NULL)
        return is_executable_file (name) ? xstrdup (name) : NULL;
    char *found = search_path (name, path_env);
    return found ? found : search_path (name, DOCKERD_FALLBACK_PATH);
}

static const char *
base_name (const char *path)
{
    const char *slash = strrchr (path, '/');
    return slash ? slash + 1 : path;
}

bool
command_is_dockerd (char *const *command)
{
    if (command == NULL || command[0] == NULL)
        return false;
    const char *name = base_name (command[0]);
    return strcmp (name, "dockerd") == 0 || strcmp (name, "dockerd-entrypoint.sh") == 0;
}

/* --- dockerd's flags --- */

typedef struct {
    unsigned bit;
    const char *flag;
    char short_name; /* 0: none */
    const char *names[3]; /* the long flags and daemon.json keys that set the same thing */
    bool host_network_only; /* given only under runsc --network=host (or an unknown mode) */
} our_flag_t;

static const our_flag_t our_flags[] = {
    { DOCKERD_FLAG_HOST, "--host=unix://" DOCKER_DEFAULT_SOCKET, 'H', { "hosts", NULL }, false },
    /* runsc's host network refuses a bridge (`protocol not supported`);
     * netstack gives dockerd a working docker0.  --bip together with -b
     * is refused by dockerd. */
    { DOCKERD_FLAG_BRIDGE, "--bridge=none", 'b', { "bridge", "bip", NULL }, true },
    /* gVisor has no nft and no MASQUERADE: dockerd's own rules would fail
     * in every mode. */
    { DOCKERD_FLAG_IPTABLES, "--iptables=false", 0, { "iptables", NULL }, false },
    { DOCKERD_FLAG_IP6TABLES, "--ip6tables=false", 0, { "ip6tables", NULL }, false },
    /* runsc's host network forbids switching forwarding on; netstack
     * allows it and docker0 needs it. */
    { DOCKERD_FLAG_IP_FORWARD, "--ip-forward=false", 0, { "ip-forward", NULL }, true },
};
#define N_OUR_FLAGS (sizeof our_flags / sizeof our_flags[0])

/* Whether warren-init gives FLAG at all under NETWORK (before conflicts). */
static bool
flag_applies (const our_flag_t *flag, network_mode_t network)
{
    return !flag->host_network_only || network == NETWORK_HOST || network == NETWORK_UNKNOWN;
}

/* The daemon.json members warren-init reads, with dockerd's types for
 * them: dockerd refuses others too, but only after warren-init has acted
 * on them (mounted a tmpfs on a data root, waited on a socket). */
static const struct {
    const char *key;
    daemon_json_kind_t kind;
} daemon_json_keys[] = {
    { "hosts", DAEMON_JSON_STRING_ARRAY },
    { "bridge", DAEMON_JSON_STRING },
    { "bip", DAEMON_JSON_STRING },
    { "iptables", DAEMON_JSON_BOOLEAN },
    { "ip6tables", DAEMON_JSON_BOOLEAN },
    { "ip-forward", DAEMON_JSON_BOOLEAN },
    { "data-root", DAEMON_JSON_STRING },
    { "graph", DAEMON_JSON_STRING },
    { "registry-mirrors", DAEMON_JSON_STRING_ARRAY },
};

/* The value of option LONG_NAME (or -SHORT_NAME) at ARGS[*I], or NULL when
 * ARGS[*I] is another option.  Advances *I over a separate value. */
static const char *
option_value (char *const *args, size_t *i, const char *long_name, char short_name)
{
    const char *arg = args[*i];
    size_t n = strlen (long_name);
    if (arg[0] == '-' && arg[1] == '-' && strncmp (arg + 2, long_name, n) == 0) {
        if (arg[2 + n] == '=')
            return arg + 3 + n;
        if (arg[2 + n] == '\0')
            return args[*i + 1] ? args[++*i] : "";
    }
    if (short_name && arg[0] == '-' && arg[1] == short_name) {
        if (arg[2] == '\0')
            return args[*i + 1] ? args[++*i] : "";
        return arg[2] == '=' ? arg + 3 : arg + 2;
    }
    return NULL;
}

/* The last value of an option in ARGS, or NULL. */
static const char *
last_option_value (char *const *args, const char *long_name, char short_name)
{
    const char *found = NULL;
    for (size_t i = 0; args[i]; i++) {
        const char *v = option_value (args, &i, long_name, short_name);
        if (v)
            found = v;
    }
    return found;
}

const char *
dockerd_config_file (char *const *extra_args)
{
    const char *v = last_option_value (extra_args, "config-file", 0);
    return v && *v ? v : DOCKER_DEFAULT_CONFIG;
}

/* The first "unix://PATH" in TEXT, a flag's value. */
static char *
unix_socket_in (const char *text, size_t len)
{
    static const char scheme[] = "unix://";
    for (size_t i = 0; i + sizeof scheme - 1 <= len; i++) {
        if (strncmp (text + i, scheme, sizeof scheme - 1) == 0) {
            const char *start = text + i + sizeof scheme - 1;
            size_t n = 0;
            while (start + n < text + len && start[n] != '"' && start[n] != ',' && start[n] != ' ')
                n++;
            return n > 0 ? xstrndup (start, n) : xstrdup (DOCKER_DEFAULT_SOCKET);
        }
    }
    return NULL;
}

/* The first unix socket of daemon.json's "hosts" (checked to be an array
 * of strings), or NULL. */
static char *
daemon_json_unix_socket (json_object *json)
{
    json_object *hosts = NULL;
    if (json == NULL || !json_object_object_get_ex (json, "hosts", &hosts) ||
        !json_object_is_type (hosts, json_type_array))
        return NULL;
    for (size_t i = 0; i < json_object_array_length (hosts); i++) {
        const char *host = json_object_get_string (json_object_array_get_idx (hosts, i));
        if (host != NULL && strncmp (host, "unix://", 7) == 0)
            return xstrdup (host[7] ? host + 7 : DOCKER_DEFAULT_SOCKET);
    }
    return NULL;
}

static bool
extra_args_set (char *const *extra, const our_flag_t *flag)
{
    for (size_t i = 0; extra[i]; i++) {
        for (size_t k = 0; flag->names[k]; k++) {
            /* "hosts" is daemon.json's key; the flag is --host. */
            const char *name = strcmp (flag->names[k], "hosts") == 0 ? "host" : flag->names[k];
            size_t j = i;
            const char *v = option_value (extra, &j, name, k == 0 ? flag->short_name : 0);
            if (v == NULL)
                continue;
            /* A tcp host next to ours is fine; a unix one replaces ours. */
            if (flag->bit == DOCKERD_FLAG_HOST && strncmp (v, "unix://", 7) != 0)
                continue;
            return true;
        }
    }
    return false;
}

/* daemon.json (JSON, with registry-mirrors) with MIRROR first among its
 * registry-mirrors, as text. */
static char *
merge_mirror (json_object *json, const char *mirror)
{
    cleanup_json json_object *copy = NULL;
    if (json_object_deep_copy (json, &copy, NULL) < 0)
        return NULL;
    json_object *theirs = NULL;
    json_object_object_get_ex (json, "registry-mirrors", &theirs);
    json_object *mirrors = json_object_new_array ();
    json_object_array_add (mirrors, json_object_new_string (mirror));
    for (size_t i = 0; theirs && i < json_object_array_length (theirs); i++) {
        const char *m = json_object_get_string (json_object_array_get_idx (theirs, i));
        if (m != NULL && strcmp (m, mirror) != 0)
            json_object_array_add (mirrors, json_object_new_string (m));
    }
    json_object_object_add (copy, "registry-mirrors", mirrors);
    return xstrdup (json_object_to_json_string_ext (copy, JSON_C_TO_STRING_PRETTY |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE));
}

int
dockerd_plan_make (const docker_config_t *config, const char *dockerd_path, const char *daemon_json,
                   unsigned dropped, dockerd_plan_t *plan, wr_error_t *err)
{
    memset (plan, 0, sizeof *plan);
    char *const *extra = config->extra_args;
    plan->dockerd_path = xstrdup (dockerd_path);
    plan->config_file = xstrdup (dockerd_config_file (extra));
    plan->log_path = xstrdup (config->log_path);
    plan->dropped = dropped;

    cleanup_json json_object *json =
        daemon_json ? daemon_json_parse (daemon_json, strlen (daemon_json), err) : NULL;
    if (daemon_json != NULL && json == NULL)
        return wr_error_prefix (err, "read dockerd's configuration `%s`", plan->config_file);
    for (size_t i = 0; i < sizeof daemon_json_keys / sizeof daemon_json_keys[0]; i++)
        if (daemon_json_check (json, daemon_json_keys[i].key, daemon_json_keys[i].kind, err) < 0)
            return wr_error_prefix (err, "read dockerd's configuration `%s`", plan->config_file);

    for (size_t f = 0; f < N_OUR_FLAGS; f++) {
        const our_flag_t *flag = &our_flags[f];
        if (!flag_applies (flag, config->network))
            continue;
        for (size_t k = 0; flag->names[k]; k++)
            if (daemon_json_has (json, flag->names[k]))
                plan->dropped |= flag->bit;
        if (extra_args_set (extra, flag))
            plan->dropped |= flag->bit;
    }

    /* Where dockerd listens: a unix host of the user's, else ours. */
    const char *host_flag = NULL;
    for (size_t i = 0; extra[i] && plan->socket_path == NULL; i++) {
        host_flag = option_value (extra, &i, "host", 'H');
        if (host_flag)
            plan->socket_path = unix_socket_in (host_flag, strlen (host_flag));
    }
    if (plan->socket_path == NULL)
        plan->socket_path = daemon_json_unix_socket (json);
    if (plan->socket_path == NULL)
        plan->socket_path = xstrdup (DOCKER_DEFAULT_SOCKET);

    /* Where the tmpfs goes. */
    const char *data_root = last_option_value (extra, "data-root", 0);
    if (data_root == NULL)
        data_root = last_option_value (extra, "graph", 'g');
    if (data_root && *data_root)
        plan->data_root = xstrdup (data_root);
    for (size_t k = 0; k < 2 && plan->data_root == NULL; k++) {
        const char *v = daemon_json_string (json, k == 0 ? "data-root" : "graph");
        if (v && *v)
            plan->data_root = xstrdup (v);
    }
    if (plan->data_root == NULL)
        plan->data_root = xstrdup (DOCKER_DEFAULT_DATA_ROOT);

    cleanup_free char *mirror_flag = NULL;
    if (config->registry_mirror != NULL) {
        /* dockerd refuses the flag next to the member, even a null one. */
        if (daemon_json_has (json, "registry-mirrors")) {
            plan->merged_config = merge_mirror (json, config->registry_mirror);
            if (plan->merged_config == NULL)
                return wr_error_set (err, 0, "copy dockerd's configuration `%s`",
                                     plan->config_file);
        } else {
            mirror_flag = xasprintf ("--registry-mirror=%s", config->registry_mirror);
        }
    }

    size_t n_extra = 0;
    while (extra[n_extra])
        n_extra++;
    plan->argv = xzalloc ((3 + N_OUR_FLAGS + n_extra) * sizeof (char *));
    size_t n = 0;
    plan->argv[n++] = xstrdup (dockerd_path);
    if (mirror_flag != NULL)
        plan->argv[n++] = steal_pointer (&mirror_flag);
    if (plan->merged_config != NULL)
        plan->argv[n++] = xstrdup ("--config-file=" DOCKER_MERGED_CONFIG);
    for (size_t f = 0; f < N_OUR_FLAGS; f++) {
        const our_flag_t *flag = &our_flags[f];
        if ((plan->dropped & flag->bit) || !flag_applies (flag, config->network))
            continue;
        plan->argv[n++] = xstrdup (flag->flag);
    }
    for (size_t i = 0; i < n_extra; i++) {
        if (plan->merged_config != NULL) {
            /* The user's --config-file is replaced by our copy of it. */
            size_t j = i;
            if (option_value (extra, &j, "config-file", 0) != NULL) {
                i = j;
                continue;
            }
        }
        plan->argv[n++] = xstrdup (extra[i]);
    }
    plan->argv[n] = NULL;
    return 0;
}

void
dockerd_plan_free (dockerd_plan_t *plan)
{
    cleanup_strv_fn (&plan->argv);
    free (plan->dockerd_path);
    free (plan->config_file);
    free (plan->socket_path);
    free (plan->data_root);
    free (plan->log_path);
    free (plan->merged_config);
    memset (plan, 0, sizeof *plan);
}

unsigned
dockerd_unknown_flag (const char *log)
{
    static const char marker[] = "unknown flag: --";
    for (const char *p = log ? strstr (log, marker) : NULL; p; p = strstr (p + 1, marker)) {
        const char *name = p + sizeof marker - 1;
        size_t n = 0;
        while (name[n] && (isalnum ((unsigned char) name[n]) || name[n] == '-'))
            n++;
        for (size_t f = 0; f < N_OUR_FLAGS; f++) {
            const char *ours = our_flags[f].flag + 2;
            if (strncmp (ours, name, n) == 0 && (ours[n] == '=' || ours[n] == '\0'))
                return our_flags[f].bit;
        }
    }
    return 0;
}

const char *
dockerd_flag_text (unsigned bit)
{
    for (size_t f = 0; f < N_OUR_FLAGS; f++)
        if (our_flags[f].bit == bit)
            return our_flags[f].flag;
    return "?";
}
