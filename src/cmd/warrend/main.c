/* warrend: the sandbox service of one machine (docs/daemon.md, docs/api.md).
 * main parses the command line, the environment and the token file, starts
 * the library's API server and waits for SIGTERM or SIGINT; the work is in
 * the library. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_server.h"
#include "api_v1.h"
#include "children.h"
#include "cleanup.h"
#include "error.h"
#include "log.h"
#include "service.h"
#include "strv.h"
#include "xalloc.h"

#ifndef WARREN_LIBEXECDIR
#define WARREN_LIBEXECDIR "/usr/local/libexec/warren"
#endif
#ifndef WARREN_VERSION
#define WARREN_VERSION "unknown"
#endif

#define EXIT_USAGE 2
#define DEFAULT_ROOT "/var/lib/warren"
#define DEFAULT_RUN_DIR "/run/warren"
#define SOCKET_NAME "warrend.sock"
#define MIN_TOKEN_LENGTH 16
#define MAX_TOKEN_LENGTH 4096
/* Per-client limits (docs/daemon.md, "Limits"). */
#define DEFAULT_CLIENT_RATE 1000
#define DEFAULT_CLIENT_SANDBOXES 100
/* An hour to read why a sandbox ended. */
#define DEFAULT_KEEP_ENDED 3600
#define DEFAULT_SANDBOX_PROCESSES 256

static const char usage[] =
    "usage: warrend [OPTIONS]\n"
    "\n"
    "Serves warren's API (docs/api.md) in the foreground until SIGTERM or SIGINT.\n"
    "\n"
    "  --root DIR           state directory (default $WARREN_ROOT, else " DEFAULT_ROOT ")\n"
    "  --socket PATH        the API's unix socket (default DIR/run/" SOCKET_NAME " with --root or\n"
    "                       $WARREN_ROOT, else " DEFAULT_RUN_DIR "/" SOCKET_NAME ")\n"
    "  --group NAME         the socket's group (mode 0660; default: warrend's own group)\n"
    "  --listen HOST:PORT   also serve on TCP (HOST defaults to 127.0.0.1: give 0.0.0.0\n"
    "                       or [::] for every address); needs --token-file\n"
    "  --token-file FILE    the bearer token TCP clients must send (at least "
    "16 bytes)\n"
    "  --max-connections N  connections served at once (default 256)\n"
    "\n"
    "Limits per client (the peer's uid on the socket, its address on TCP; 0: none):\n"
    "  --client-rate N      requests a second (default 1000); more get 429\n"
    "  --client-burst N     requests at once above the rate (default: twice the rate)\n"
    "  --client-sandboxes N sandboxes at once (default 100)\n"
    "  --sandbox-processes N  processes started through the API running at once in\n"
    "                       each sandbox (default 256)\n"
    "\n"
    "Sandboxes:\n"
    "  --runsc PATH         runsc (default: on PATH)\n"
    "  --init PATH          warren-init (default: next to warrend, else " WARREN_LIBEXECDIR ")\n"
    "  --platform NAME      runsc's platform (default: runsc's own, systrap)\n"
    "  --cgroup-parent PATH the cgroup every sandbox's goes under (default /warren)\n"
    "  --max-lifetime SECS  the longest any sandbox lives (default: no limit)\n"
    "  --keep-ended SECS    how long a stopped or failed sandbox's record is kept\n"
    "                       (default 3600; 0: until warrend's database is removed)\n"
    "  --docker-io-mirror URL  where docker.io images come from (http://127.0.0.1:5000)\n"
    "  --insecure-registry HOST[:PORT]  a registry reached over plain HTTP (repeatable)\n"
    "  --auth-config FILE   registry credentials (Docker's config.json)\n"
    "  --port-address ADDR  where exposed sandbox ports listen (default 127.0.0.1)\n"
    "\n"
    "Egress (docs/daemon.md, \"Egress\"; without --uplink sandboxes have loopback only):\n"
    "  --uplink NS          where sandboxes' links go: `self` (warrend's own network\n"
    "                       namespace, the host's routes out) or a namespace's path\n"
    "  --sandbox-subnet CIDR  the sandboxes' addresses, a /30 each (default " WR_NET_POOL_DEFAULT
    ")\n"
    "  --dns ADDR           the resolver sandboxes get (default: the image's resolv.conf)\n"
    "  --egress-deny CIDR   never reachable, whatever a sandbox's policy (repeatable;\n"
    "                       default " WR_NET_DENY_DEFAULT "; `none`: nothing)\n"
    "  --nft-table NAME     warrend's nftables table (default " WR_NET_TABLE_DEFAULT
    "; one per warrend)\n"
    "\n"
    "  --log-format FMT     text (default) or json\n"
    "  --debug              debug log lines\n"
    "  --print-routes       print the API's routes (METHOD PATH) and exit\n"
    "  --version            print the version and exit\n";

static int usage_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

static int
usage_error (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fputs ("warrend: ", stderr);
    vfprintf (stderr, fmt, ap);
    fputs ("\n(see warrend --help)\n", stderr);
    va_end (ap);
    return EXIT_USAGE;
}

static int
fail (const wr_error_t err)
{
    wr_log (WR_LOG_ERROR, err != NULL ? err->message : "failed", NULL);
    return 1;
}

/* mkdir -p with MODE for the directories it makes. */
static int
make_dirs (const char *path, mode_t mode, wr_error_t *err)
{
    cleanup_free char *copy = xstrdup (path);
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir (copy, mode) < 0 && errno != EEXIST)
            return wr_error_set (err, errno, "mkdir `%s`", copy);
        *p = saved;
        if (saved == '\0')
            return 0;
    }
}

/* "HOST:PORT", "[V6]:PORT", ":PORT" or "PORT". */
static int
parse_listen (const char *value, char **host, unsigned short *port)
{
    const char *colon = strrchr (value, ':');
    const char *port_text = colon != NULL ? colon + 1 : value;
    if (colon == NULL || colon == value)
        *host = xstrdup ("127.0.0.1");
    else if (value[0] == '[' && colon[-1] == ']')
        *host = xstrndup (value + 1, (size_t) (colon - value - 2));
    else
        *host = xstrndup (value, (size_t) (colon - value));
    char *end = NULL;
    errno = 0;
    unsigned long n = strtoul (port_text, &end, 10);
    if (port_text[0] == '\0' || *end != '\0' || errno != 0 || n > 65535 || (*host)[0] == '\0')
        return -1;
    *port = (unsigned short) n;
    return 0;
}

static char *
read_token (const char *path, wr_error_t *err)
{
    cleanup_fclose FILE *f = fopen (path, "re");
    if (f == NULL) {
        wr_error_set (err, errno, "token file `%s`", path);
        return NULL;
    }
    cleanup_free char *buf = xzalloc (MAX_TOKEN_LENGTH + 2);
    size_t n = fread (buf, 1, MAX_TOKEN_LENGTH + 1, f);
    if (ferror (f)) {
        wr_error_set (err, errno, "token file `%s`: read", path);
        return NULL;
    }
    while (n > 0 && strchr (" \t\r\n", buf[n - 1]) != NULL)
        buf[--n] = '\0';
    if (n > MAX_TOKEN_LENGTH || strlen (buf) != n) {
        wr_error_set (err, 0, "token file `%s`: a token is one line of at most %d bytes", path,
                      MAX_TOKEN_LENGTH);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char) buf[i] <= ' ' || (unsigned char) buf[i] >= 0x7f) {
            wr_error_set (
                err, 0, "token file `%s`: the token must be printable ASCII without spaces", path);
            return NULL;
        }
    }
    if (n < MIN_TOKEN_LENGTH) {
        wr_error_set (err, 0, "token file `%s`: the token must have at least %d bytes (it has %zu)",
                      path, MIN_TOKEN_LENGTH, n);
        return NULL;
    }
    return steal_pointer (&buf);
}

static void
print_routes (void)
{
    size_t n;
    const wr_api_route_t *routes = wr_api_v1_routes (&n);
    for (size_t i = 0; i < n; i++)
        printf ("%s %s\n", routes[i].method, routes[i].pattern);
}

enum {
    OPT_ROOT = 256,
    OPT_SOCKET,
    OPT_GROUP,
    OPT_LISTEN,
    OPT_TOKEN_FILE,
    OPT_MAX_CONNECTIONS,
    OPT_LOG_FORMAT,
    OPT_DEBUG,
    OPT_PRINT_ROUTES,
    OPT_VERSION,
    OPT_HELP,
    OPT_RUNSC,
    OPT_INIT,
    OPT_PLATFORM,
    OPT_CGROUP_PARENT,
    OPT_MAX_LIFETIME,
    OPT_KEEP_ENDED,
    OPT_DOCKER_IO_MIRROR,
    OPT_INSECURE_REGISTRY,
    OPT_AUTH_CONFIG,
    OPT_PORT_ADDRESS,
    OPT_CLIENT_RATE,
    OPT_CLIENT_BURST,
    OPT_CLIENT_SANDBOXES,
    OPT_SANDBOX_PROCESSES,
    OPT_UPLINK,
    OPT_SANDBOX_SUBNET,
    OPT_DNS,
    OPT_EGRESS_DENY,
    OPT_NFT_TABLE,
};

/* A number from 0 to MAX for OPTION, or -1 after its usage error. */
static long long
count_option (const char *option, const char *value, long long max)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll (value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || n < 0 || n > max) {
        usage_error ("--%s: not a number from 0 to %lld: %s", option, max, value);
        return -1;
    }
    return n;
}

int
main (int argc, char **argv)
{
    static const struct option options[] = {
        { "root", required_argument, NULL, OPT_ROOT },
        { "socket", required_argument, NULL, OPT_SOCKET },
        { "group", required_argument, NULL, OPT_GROUP },
        { "listen", required_argument, NULL, OPT_LISTEN },
        { "token-file", required_argument, NULL, OPT_TOKEN_FILE },
        { "max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS },
        { "log-format", required_argument, NULL, OPT_LOG_FORMAT },
        { "debug", no_argument, NULL, OPT_DEBUG },
        { "print-routes", no_argument, NULL, OPT_PRINT_ROUTES },
        { "version", no_argument, NULL, OPT_VERSION },
        { "help", no_argument, NULL, OPT_HELP },
        { "runsc", required_argument, NULL, OPT_RUNSC },
        { "init", required_argument, NULL, OPT_INIT },
        { "platform", required_argument, NULL, OPT_PLATFORM },
        { "cgroup-parent", required_argument, NULL, OPT_CGROUP_PARENT },
        { "max-lifetime", required_argument, NULL, OPT_MAX_LIFETIME },
        { "keep-ended", required_argument, NULL, OPT_KEEP_ENDED },
        { "docker-io-mirror", required_argument, NULL, OPT_DOCKER_IO_MIRROR },
        { "insecure-registry", required_argument, NULL, OPT_INSECURE_REGISTRY },
        { "auth-config", required_argument, NULL, OPT_AUTH_CONFIG },
        { "port-address", required_argument, NULL, OPT_PORT_ADDRESS },
        { "client-rate", required_argument, NULL, OPT_CLIENT_RATE },
        { "client-burst", required_argument, NULL, OPT_CLIENT_BURST },
        { "client-sandboxes", required_argument, NULL, OPT_CLIENT_SANDBOXES },
        { "sandbox-processes", required_argument, NULL, OPT_SANDBOX_PROCESSES },
        { "uplink", required_argument, NULL, OPT_UPLINK },
        { "sandbox-subnet", required_argument, NULL, OPT_SANDBOX_SUBNET },
        { "dns", required_argument, NULL, OPT_DNS },
        { "egress-deny", required_argument, NULL, OPT_EGRESS_DENY },
        { "nft-table", required_argument, NULL, OPT_NFT_TABLE },
        { NULL, 0, NULL, 0 },
    };
    const char *root = NULL, *socket_path = NULL, *group = NULL, *listen = NULL, *token_file = NULL;
    unsigned max_connections = 0;
    long long client_rate = DEFAULT_CLIENT_RATE, client_burst = -1;
    service_options_t service_options = {
        .libexecdir = WARREN_LIBEXECDIR,
        .max_sandboxes_per_client = DEFAULT_CLIENT_SANDBOXES,
        .keep_ended_seconds = DEFAULT_KEEP_ENDED,
        .max_processes_per_sandbox = DEFAULT_SANDBOX_PROCESSES,
    };
    long long count;
    cleanup_strv char **insecure = NULL;
    cleanup_strv char **deny = NULL;
    bool deny_given = false;
    cleanup_error wr_error_t err = NULL;
    int opt;
    while ((opt = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case OPT_ROOT:
            root = optarg;
            break;
        case OPT_SOCKET:
            socket_path = optarg;
            break;
        case OPT_GROUP:
            group = optarg;
            break;
        case OPT_LISTEN:
            listen = optarg;
            break;
        case OPT_TOKEN_FILE:
            token_file = optarg;
            break;
        case OPT_MAX_CONNECTIONS: {
            char *end = NULL;
            unsigned long n = strtoul (optarg, &end, 10);
            if (*end != '\0' || n == 0 || n > 65536)
                return usage_error ("--max-connections: not a number from 1 to 65536: %s", optarg);
            max_connections = (unsigned) n;
            break;
        }
        case OPT_LOG_FORMAT: {
            wr_log_format_t format;
            if (wr_log_parse_format (optarg, &format, &err) < 0)
                return usage_error ("%s", err->message);
            wr_log_set_format (format);
            break;
        }
        case OPT_DEBUG:
            wr_log_set_level (WR_LOG_DEBUG);
            break;
        case OPT_RUNSC:
            service_options.runsc = optarg;
            break;
        case OPT_INIT:
            service_options.init = optarg;
            break;
        case OPT_PLATFORM:
            service_options.platform = optarg;
            break;
        case OPT_CGROUP_PARENT:
            if (optarg[0] != '/' || strstr (optarg, "..") != NULL)
                return usage_error ("--cgroup-parent: an absolute cgroup path: %s", optarg);
            service_options.cgroup_parent = optarg;
            break;
        case OPT_MAX_LIFETIME: {
            char *end = NULL;
            long long n = strtoll (optarg, &end, 10);
            if (*end != '\0' || n < 1)
                return usage_error ("--max-lifetime: a number of seconds: %s", optarg);
            service_options.max_lifetime_seconds = n;
            break;
        }
        case OPT_DOCKER_IO_MIRROR:
            service_options.docker_io_mirror = optarg;
            break;
        case OPT_INSECURE_REGISTRY:
            wr_strv_add (&insecure, optarg);
            break;
        case OPT_PORT_ADDRESS: {
            unsigned char addr[16];
            if (inet_pton (AF_INET, optarg, addr) != 1 && inet_pton (AF_INET6, optarg, addr) != 1)
                return usage_error ("--port-address: an IPv4 or IPv6 address: %s", optarg);
            service_options.port_address = optarg;
            break;
        }
        case OPT_AUTH_CONFIG:
            service_options.auth_config = optarg;
            break;
        case OPT_CLIENT_RATE:
            if ((client_rate = count_option ("client-rate", optarg, 1000000)) < 0)
                return EXIT_USAGE;
            break;
        case OPT_CLIENT_BURST:
            if ((client_burst = count_option ("client-burst", optarg, 1000000)) < 0)
                return EXIT_USAGE;
            break;
        case OPT_KEEP_ENDED:
            if ((count = count_option ("keep-ended", optarg, INT32_MAX)) < 0)
                return EXIT_USAGE;
            service_options.keep_ended_seconds = count;
            break;
        case OPT_CLIENT_SANDBOXES:
            if ((count = count_option ("client-sandboxes", optarg, 1000000)) < 0)
                return EXIT_USAGE;
            service_options.max_sandboxes_per_client = count;
            break;
        case OPT_SANDBOX_PROCESSES:
            if ((count = count_option ("sandbox-processes", optarg, 1048576)) < 0)
                return EXIT_USAGE;
            service_options.max_processes_per_sandbox = (int) count;
            break;
        case OPT_UPLINK:
            if (strcmp (optarg, "self") != 0 && optarg[0] != '/')
                return usage_error ("--uplink: `self` or a network namespace's absolute path: %s",
                                    optarg);
            service_options.uplink = optarg;
            break;
        case OPT_SANDBOX_SUBNET:
            service_options.sandbox_subnet = optarg;
            break;
        case OPT_DNS:
            service_options.dns = optarg;
            break;
        case OPT_EGRESS_DENY: {
            deny_given = true;
            if (strcmp (optarg, "none") == 0)
                break;
            wr_cidr_t cidr;
            if (wr_cidr_parse (optarg, &cidr, &err) < 0)
                return usage_error ("--egress-deny: %s", err->message);
            wr_strv_add (&deny, optarg);
            break;
        }
        case OPT_NFT_TABLE: {
            size_t n = strlen (optarg);
            if (n == 0 || n > 32 || strspn (optarg, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
                return usage_error ("--nft-table: 1 to 32 of a-z, 0-9 and `_`: %s", optarg);
            service_options.nft_table = optarg;
            break;
        }
        case OPT_PRINT_ROUTES:
            print_routes ();
            return 0;
        case OPT_VERSION:
            printf ("warrend %s\n", WARREN_VERSION);
            return 0;
        case 'h':
        case OPT_HELP:
            fputs (usage, stdout);
            return 0;
        default:
            return usage_error ("unknown option");
        }
    }
    if (optind < argc)
        return usage_error ("unexpected argument: %s", argv[optind]);
    if (listen != NULL && token_file == NULL)
        return usage_error ("--listen needs --token-file: TCP clients must send a bearer token");
    if (token_file != NULL && listen == NULL)
        return usage_error ("--token-file is for --listen");

    bool root_given = root != NULL;
    if (root == NULL) {
        const char *env_root = getenv ("WARREN_ROOT");
        root_given = env_root != NULL && env_root[0] != '\0';
        root = root_given ? env_root : DEFAULT_ROOT;
    }
    cleanup_free char *run_dir =
        root_given ? xasprintf ("%s/run", root) : xstrdup (DEFAULT_RUN_DIR);
    cleanup_free char *default_socket = xasprintf ("%s/%s", run_dir, SOCKET_NAME);
    if (socket_path == NULL)
        socket_path = default_socket;

    if (client_burst == 0 && client_rate > 0)
        return usage_error ("--client-burst: at least 1 with a --client-rate");
    wr_api_server_options_t server_options = {
        .socket_path = socket_path,
        .max_connections = max_connections,
        .client_rate = (double) client_rate,
        .client_burst = (unsigned) (client_burst >= 0 ? client_burst : 2 * client_rate),
    };
    if (group != NULL) {
        struct group *gr = getgrnam (group);
        if (gr == NULL)
            return usage_error ("--group: no such group: %s", group);
        server_options.set_socket_group = true;
        server_options.socket_group = gr->gr_gid;
    }
    cleanup_free char *host = NULL;
    cleanup_free char *token = NULL;
    if (listen != NULL) {
        unsigned short port = 0;
        if (parse_listen (listen, &host, &port) < 0)
            return usage_error ("--listen: not HOST:PORT: %s", listen);
        token = read_token (token_file, &err);
        if (token == NULL)
            return fail (err);
        server_options.tcp_host = host;
        server_options.tcp_port = port;
        server_options.token = token;
    }

    if (make_dirs (root, 0711, &err) < 0)
        return fail (err);
    cleanup_free char *socket_dir = xstrdup (socket_path);
    char *slash = strrchr (socket_dir, '/');
    if (slash != NULL && slash != socket_dir) {
        *slash = '\0';
        if (make_dirs (socket_dir, 0755, &err) < 0)
            return fail (err);
    }

    /* Every thread the server starts inherits this mask, so the signals
     * come to sigwait below. */
    sigset_t stop_signals;
    sigemptyset (&stop_signals);
    sigaddset (&stop_signals, SIGTERM);
    sigaddset (&stop_signals, SIGINT);
    pthread_sigmask (SIG_BLOCK, &stop_signals, NULL);
    signal (SIGPIPE, SIG_IGN);
    /* The sandboxes' runsc processes are orphaned when `runsc create`
     * exits: warrend adopts and reaps them (children.h). */
    if (wr_children_reaper_start (&err) < 0)
        return fail (err);

    cleanup_free char *self = realpath ("/proc/self/exe", NULL);
    service_options.root = root;
    service_options.self_exe = self;
    service_options.search_path = getenv ("PATH");
    service_options.insecure_registries = insecure;
    static char *const no_deny[] = { NULL };
    if (deny_given)
        service_options.egress_deny = deny != NULL ? deny : (char **) no_deny;
    if (service_options.uplink == NULL &&
        (service_options.sandbox_subnet != NULL || service_options.dns != NULL || deny_given ||
         service_options.nft_table != NULL))
        return usage_error ("--sandbox-subnet, --dns, --egress-deny and --nft-table need --uplink");
    service_t *service = service_start (&service_options, &err);
    if (service == NULL)
        return fail (err);
    wr_api_v1_t v1 = { .version = WARREN_VERSION, .sandboxes = service_manager (service) };
    wr_api_router_t *router = wr_api_v1_router (&v1, &err);
    if (router == NULL) {
        service_stop (service);
        return fail (err);
    }
    server_options.router = router;
    wr_api_server_t *server = wr_api_server_start (&server_options, &err);
    if (server == NULL) {
        wr_api_router_free (router);
        service_stop (service);
        return fail (err);
    }
    char tcp[300] = "none";
    if (host != NULL)
        snprintf (tcp, sizeof tcp, strchr (host, ':') != NULL ? "[%s]:%u" : "%s:%u", host,
                  (unsigned) wr_api_server_tcp_port (server));
    wr_log (WR_LOG_INFO, "warrend is serving", "version", WARREN_VERSION, "root", root, "socket",
            socket_path, "tcp", tcp, NULL);

    int sig = 0;
    sigwait (&stop_signals, &sig);
    wr_log (WR_LOG_INFO, "warrend is stopping", "signal", strsignal (sig), NULL);
    wr_api_server_stop (server);
    wr_api_router_free (router);
    service_stop (service);
    wr_children_reaper_stop ();
    wr_log (WR_LOG_INFO, "warrend stopped", NULL);
    return 0;
}
