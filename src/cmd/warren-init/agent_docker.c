/* docker.watch in --docker mode: the agent starts dockerd itself (the
 * preparation of main.c's Docker mode: cgroups, the data root's tmpfs,
 * the legacy iptables) and measures its readiness in the loop, with the
 * non-blocking GET /_ping of ping.h, so requests are served meanwhile. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "docker_prepare.h"
#include "daemon_json.h"
#include "dockerd.h"
#include "log.h"
#include "ping.h"
#include "xalloc.h"

#define PING_INTERVAL_MS 50
#define LOG_LINES 50

struct agent_docker {
    agent_docker_state_t state;
    docker_config_t config;
    dockerd_plan_t plan;
    dockerd_t dockerd;
    ping_t ping;
    long long next_ping_ms, deadline_ms; /* monotonic */
    long long took_ms;
    bool exited;
    int status;
    char *message; /* why it failed */
    char mirror[64]; /* config.registry_mirror's text */
};

/* The merged daemon.json of the plan (dockerd_plan.h). */
static int
write_merged_config (const char *text, wr_error_t *err)
{
    const char *path = DOCKER_MERGED_CONFIG;
    if (mkdir ("/run/warren-init", 0755) < 0 && errno != EEXIST)
        return wr_error_set (err, errno, "create /run/warren-init");
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return wr_error_set (err, errno, "create `%s`", path);
    size_t len = strlen (text);
    ssize_t n = write (fd, text, len);
    int saved = errno;
    if (close (fd) < 0 && n == (ssize_t) len)
        return wr_error_set (err, errno, "write `%s`", path);
    if (n != (ssize_t) len)
        return wr_error_set (err, n < 0 ? saved : EIO, "write `%s`", path);
    return 0;
}

static const char *
get_env (const char *name)
{
    return getenv (name);
}

int
agent_docker_start (agent_t *agent, wr_error_t *err)
{
    struct agent_docker *d = xzalloc (sizeof *d);
    d->ping.fd = -1;
    agent->docker = d;
    d->state = AGENT_DOCKER_FAILED;
    if (docker_config_load (get_env, &d->config, err) < 0)
        return -1;
    if (agent->options.registry_mirror_port > 0) {
        snprintf (d->mirror, sizeof d->mirror, "http://127.0.0.1:%d",
                  agent->options.registry_mirror_port);
        d->config.registry_mirror = d->mirror;
    }
    if (getenv ("PATH") == NULL)
        setenv ("PATH", DOCKERD_FALLBACK_PATH, 1);
    cleanup_free char *path = find_executable ("dockerd", getenv ("PATH"));
    if (path == NULL)
        return wr_error_set_kind (err, WR_ERROR_NOT_FOUND, 0, "no dockerd in this image");
    cleanup_free char *daemon_json = NULL;
    if (daemon_json_load (dockerd_config_file (d->config.extra_args), &daemon_json, err) < 0 ||
        dockerd_plan_make (&d->config, path, daemon_json, 0, &d->plan, err) < 0 ||
        docker_prepare_cgroups (d->config.cgroups, err) < 0 ||
        docker_prepare_data_root (d->plan.data_root, d->config.tmpfs_size, err) < 0 ||
        (d->plan.merged_config != NULL && write_merged_config (d->plan.merged_config, err) < 0))
        return -1;
    int switched = 0;
    cleanup_error wr_error_t ipt = NULL;
    if (iptables_select_legacy ("", &switched, &ipt) < 0)
        wr_log (WR_LOG_WARN, "could not select the legacy iptables", "error", ipt->message, NULL);
    if (dockerd_start (agent->reaper, &d->plan, &d->dockerd, err) < 0)
        return -1;
    d->state = AGENT_DOCKER_STARTING;
    d->deadline_ms = d->dockerd.started_ms + (long long) (d->config.ready_timeout * 1000);
    d->next_ping_ms = monotonic_ms ();
    return 0;
}

static void
fail (struct agent_docker *d, char *message)
{
    ping_close (&d->ping);
    d->state = AGENT_DOCKER_FAILED;
    free (d->message);
    d->message = message;
    wr_log (WR_LOG_ERROR, message, "log", d->plan.log_path, NULL);
}

void
agent_docker_on_exit (agent_t *agent, pid_t pid, int status)
{
    struct agent_docker *d = agent->docker;
    if (d == NULL || d->dockerd.pid != pid || d->exited)
        return;
    d->exited = true;
    d->status = status;
    char how[96];
    if (d->state != AGENT_DOCKER_FAILED)
        fail (d, xasprintf ("dockerd %s%s", describe_status (status, how, sizeof how),
                            d->state == AGENT_DOCKER_READY ? "" : " before it answered"));
}

size_t
agent_docker_poll_fds (agent_t *agent, struct pollfd *fds, size_t cap, long long now, int *timeout)
{
    (void) now;
    struct agent_docker *d = agent->docker;
    if (d == NULL || d->state != AGENT_DOCKER_STARTING || cap == 0)
        return 0;
    long long mono = monotonic_ms ();
    if (mono >= d->deadline_ms) {
        fail (d, xasprintf ("dockerd is still running after %gs but does not answer GET /_ping "
                            "on %s (WARREN_DOCKERD_TIMEOUT)",
                            d->config.ready_timeout, d->plan.socket_path));
        return 0;
    }
    if (d->ping.fd < 0 && mono >= d->next_ping_ms) {
        cleanup_error wr_error_t err = NULL;
        if (ping_start (&d->ping, d->plan.socket_path, &err) < 0)
            d->next_ping_ms = mono + PING_INTERVAL_MS;
    }
    if (d->ping.fd >= 0) {
        fds[0] = (struct pollfd){ .fd = d->ping.fd, .events = POLLIN };
        return 1;
    }
    long long left = d->next_ping_ms - mono;
    if (*timeout < 0 || left < *timeout)
        *timeout = left > 0 ? (int) left : 0;
    return 0;
}

void
agent_docker_events (agent_t *agent, struct pollfd *fds, size_t n, long long now)
{
    (void) now;
    struct agent_docker *d = agent->docker;
    if (d == NULL || n == 0 || fds[0].revents == 0 || d->ping.fd != fds[0].fd)
        return;
    cleanup_error wr_error_t err = NULL;
    switch (ping_read (&d->ping, &err)) {
    case PING_PENDING:
        return;
    case PING_READY:
        ping_close (&d->ping);
        d->state = AGENT_DOCKER_READY;
        d->took_ms = monotonic_ms () - d->dockerd.started_ms;
        wr_log (WR_LOG_INFO, "docker daemon is ready", "socket", d->plan.socket_path, NULL);
        return;
    case PING_FAILED:
        ping_close (&d->ping);
        d->next_ping_ms = monotonic_ms () + PING_INTERVAL_MS;
        return;
    }
}

static void
send_failed (struct agent_docker *d, agent_stream_t *s)
{
    wr_agent_message_t *msg = wr_agent_message_new (WR_AGENT_MSG_DOCKER_FAILED);
    wr_agent_message_set_string (msg, "message", d->message ? d->message : "dockerd failed");
    if (d->exited && WIFEXITED (d->status))
        wr_agent_message_set_int (msg, "exit_code", WEXITSTATUS (d->status));
    else if (d->exited && WIFSIGNALED (d->status))
        wr_agent_message_set_int (msg, "signal", WTERMSIG (d->status));
    cleanup_free char *log =
        d->plan.log_path ? dockerd_read_log (d->plan.log_path, d->dockerd.log_offset) : NULL;
    json_object *lines = json_object_new_array ();
    for (const char *line = log ? log_tail (log, LOG_LINES) : NULL; line && *line;) {
        const char *end = strchrnul (line, '\n');
        size_t len = (size_t) (end - line) < 4096 ? (size_t) (end - line) : 4096;
        /* Cut at a character's start, so the line stays UTF-8. */
        while (len > 0 && len < (size_t) (end - line) && ((unsigned char) line[len] & 0xc0) == 0x80)
            len--;
        json_object_array_add (lines, json_object_new_string_len (line, (int) len));
        line = *end ? end + 1 : end;
    }
    wr_agent_message_set_json (msg, "log", lines);
    agent_send (s, msg, true);
}

void
agent_docker_watch (agent_t *agent, agent_stream_t *s)
{
    struct agent_docker *d = agent->docker;
    if (d == NULL) {
        agent_send_error (s, WR_ERROR_NOT_FOUND, 0, "this sandbox has no Docker (no --docker)");
        return;
    }
    s->kind = STREAM_DOCKER;
    if (d->state == AGENT_DOCKER_STARTING) {
        wr_agent_message_t *msg = wr_agent_message_new (WR_AGENT_MSG_DOCKER_WAITING);
        long long left = d->deadline_ms - monotonic_ms ();
        wr_agent_message_set_int (msg, "timeout_ms", left > 0 ? left : 0);
        agent_send (s, msg, false);
    }
    agent_docker_tick (agent, s);
}

void
agent_docker_tick (agent_t *agent, agent_stream_t *s)
{
    struct agent_docker *d = agent->docker;
    /* Answered already (the stream lingers until the connection drops
     * it): nothing more to say. */
    if (s->we_ended || d == NULL)
        return;
    if (d->state == AGENT_DOCKER_READY) {
        wr_agent_message_t *msg = wr_agent_message_new (WR_AGENT_MSG_DOCKER_READY);
        wr_agent_message_set_int (msg, "took_ms", d->took_ms);
        agent_send (s, msg, true);
    } else if (d->state == AGENT_DOCKER_FAILED) {
        send_failed (d, s);
    }
}

void
agent_docker_fail_start (agent_t *agent, const wr_error_t error)
{
    if (agent->docker)
        fail (agent->docker, xstrdup (error->message));
}

void
agent_docker_stop (agent_t *agent)
{
    struct agent_docker *d = agent->docker;
    if (d == NULL)
        return;
    if (d->dockerd.pid > 0 && !d->exited)
        dockerd_stop (agent->reaper, d->dockerd.pid, d->config.stop_timeout, d->plan.log_path,
                      d->dockerd.log_offset);
    ping_close (&d->ping);
    dockerd_plan_free (&d->plan);
    docker_config_free (&d->config);
    free (d->message);
    free (d);
    agent->docker = NULL;
}
