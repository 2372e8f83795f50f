/* The agent's processes: exec, the registry of "p1", "p2"..., their state
 * and exit, signals, terminals, and the requests about them answered at
 * once.  Their output and stdin are agent_process_io.c. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "agent.h"
#include "agent_spawn.h"
#include "cleanup.h"
#include "log.h"
#include "xalloc.h"

extern char **environ;

agent_process_t *
agent_process_find (agent_t *agent, const char *id)
{
    for (agent_process_t *p = agent->processes; p; p = p->next)
        if (strcmp (p->id, id) == 0)
            return p;
    return NULL;
}

bool
agent_process_ended (const agent_process_t *p)
{
    return p->exited && p->out_fd[0] < 0 && p->out_fd[1] < 0;
}

void
agent_process_exit_set (const agent_process_t *p, json_object *obj)
{
    wr_agent_exit_t exit = { .state = WR_AGENT_RUNNING };
    if (p->exited && WIFEXITED (p->status)) {
        exit.state = WR_AGENT_EXITED;
        exit.exit_code = WEXITSTATUS (p->status);
    } else if (p->exited && WIFSIGNALED (p->status)) {
        exit.state = WR_AGENT_SIGNALED;
        exit.signal = WTERMSIG (p->status);
        exit.core_dumped = WCOREDUMP (p->status);
    }
    wr_agent_exit_set (obj, &exit);
}

static void
process_fill (const agent_process_t *p, json_object *obj)
{
    json_object_object_add (obj, "process_id", json_object_new_string (p->id));
    json_object_object_add (obj, "pid", json_object_new_int64 (p->pid));
    json_object *argv = json_object_new_array ();
    for (char **a = p->argv; *a; a++)
        json_object_array_add (argv, json_object_new_string (*a));
    json_object_object_add (obj, "argv", argv);
    json_object_object_add (obj, "tty", json_object_new_boolean (p->tty));
    agent_process_exit_set (p, obj);
    json_object_object_add (obj, "started_ms", json_object_new_int64 (p->started_ms));
    if (p->exited)
        json_object_object_add (obj, "ended_ms", json_object_new_int64 (p->ended_ms));
}

void
agent_process_send (agent_stream_t *s, const agent_process_t *p)
{
    wr_agent_message_t *msg = wr_agent_message_new (WR_AGENT_MSG_PROCESS);
    process_fill (p, msg->json);
    agent_send (s, msg, true);
}

static void
close_fd (int *fd)
{
    if (*fd >= 0)
        close (*fd);
    *fd = -1;
}

static void
process_free (agent_process_t *p)
{
    close_fd (&p->stdin_fd);
    close_fd (&p->out_fd[0]);
    close_fd (&p->out_fd[1]);
    close_fd (&p->pty_fd);
    agent_output_clear (&p->output[0]);
    agent_output_clear (&p->output[1]);
    cleanup_strv_fn (&p->argv);
    free (p);
}

void
agent_process_free_all (agent_t *agent)
{
    while (agent->processes) {
        agent_process_t *p = agent->processes;
        agent->processes = p->next;
        process_free (p);
    }
}

void
agent_process_kill_all (agent_t *agent)
{
    for (agent_process_t *p = agent->processes; p; p = p->next)
        if (!p->exited)
            kill (-p->pid, SIGKILL);
}

void
agent_process_on_exit (agent_t *agent, pid_t pid, int status)
{
    if (pid == agent->main_pid) {
        agent->main_exited = true;
        agent->main_status = status;
    }
    agent_docker_on_exit (agent, pid, status);
    for (agent_process_t *p = agent->processes; p; p = p->next) {
        if (p->pid == pid && !p->exited) {
            p->exited = true;
            p->status = status;
            p->ended_ms = agent_now_ms ();
            /* A child of it may hold the pipes open: give them a second. */
            p->drain_deadline_ms = p->ended_ms + 1000;
        }
    }
}

static int
open_pipe (int fds[2], wr_error_t *err)
{
    if (pipe2 (fds, O_CLOEXEC) < 0)
        return wr_error_set (err, errno, "pipe");
    return 0;
}

static int
open_tty (agent_process_t *p, unsigned rows, unsigned cols, char *path, size_t size,
          wr_error_t *err)
{
    p->pty_fd = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (p->pty_fd < 0)
        return wr_error_set (err, errno, "open a terminal (posix_openpt)");
    struct winsize ws = { .ws_row = (unsigned short) rows, .ws_col = (unsigned short) cols };
    if (grantpt (p->pty_fd) < 0 || unlockpt (p->pty_fd) < 0 ||
        ptsname_r (p->pty_fd, path, size) != 0 || ioctl (p->pty_fd, TIOCSWINSZ, &ws) < 0)
        return wr_error_set (err, errno, "set up the terminal");
    return 0;
}

/* Spawns what EX says into P (its id set); fills *ERR on failure. */
static int
process_start (agent_t *agent, agent_process_t *p, const wr_agent_exec_t *ex, wr_error_t *err)
{
    agent_spawn_t spawn = { .argv = ex->argv, .cwd = ex->cwd, .mask = &agent->reaper->saved_mask };
    const char *user = ex->user != NULL ? ex->user : agent->options.default_user;
    if (user != NULL && agent_user_lookup ("/etc/passwd", user, &spawn.uid, &spawn.gid, err) < 0)
        return -1;
    spawn.set_user = user != NULL;
    cleanup_strv char **env = agent_env_merge (environ, ex->env);
    spawn.env = env;
    char tty_path[128];
    cleanup_close int in_child = -1, out_child = -1, err_child = -1;
    if (ex->tty) {
        if (open_tty (p, ex->rows, ex->cols, tty_path, sizeof tty_path, err) < 0)
            return -1;
        spawn.tty_path = tty_path;
        p->out_fd[0] = fcntl (p->pty_fd, F_DUPFD_CLOEXEC, 3);
        if (ex->stdin)
            p->stdin_fd = fcntl (p->pty_fd, F_DUPFD_CLOEXEC, 3);
    } else {
        int fds[2];
        if (ex->stdin) {
            if (open_pipe (fds, err) < 0)
                return -1;
            in_child = fds[0];
            p->stdin_fd = fds[1];
        } else {
            in_child = open ("/dev/null", O_RDONLY | O_CLOEXEC);
            if (in_child < 0)
                return wr_error_set (err, errno, "open /dev/null");
        }
        if (open_pipe (fds, err) < 0)
            return -1;
        p->out_fd[0] = fds[0];
        out_child = fds[1];
        if (open_pipe (fds, err) < 0)
            return -1;
        p->out_fd[1] = fds[0];
        err_child = fds[1];
        spawn.stdin_fd = in_child;
        spawn.stdout_fd = out_child;
        spawn.stderr_fd = err_child;
    }
    for (int i = 0; i < 2; i++)
        if (p->out_fd[i] >= 0)
            fcntl (p->out_fd[i], F_SETFL, O_NONBLOCK);
    if (p->stdin_fd >= 0)
        fcntl (p->stdin_fd, F_SETFL, O_NONBLOCK);
    p->pid = agent_spawn (&spawn, err);
    if (p->pid < 0)
        return -1;
    p->started_ms = agent_now_ms ();
    return 0;
}

static void
spill_path (agent_t *agent, const agent_process_t *p, const char *which, char *buf, size_t size)
{
    snprintf (buf, size, "%s/%s.%s", agent->options.spill_dir, p->id, which);
}

/* Processes started through the agent that have not exited. */
static int
running_count (const agent_t *agent)
{
    int n = 0;
    for (const agent_process_t *p = agent->processes; p != NULL; p = p->next)
        n += !p->exited;
    return n;
}

void
agent_process_exec (agent_t *agent, agent_stream_t *s)
{
    if (agent->options.max_processes > 0 && running_count (agent) >= agent->options.max_processes) {
        cleanup_error wr_error_t limit = NULL;
        wr_error_set_kind (&limit, WR_ERROR_TOO_MANY, 0,
                           "%d processes started through the agent run already, the most this "
                           "sandbox runs at once: wait for one to end or kill one",
                           agent->options.max_processes);
        agent_send (s, wr_agent_error_new (limit), true);
        return;
    }
    wr_agent_exec_t ex;
    wr_agent_exec_from (s->request, &ex);
    if (ex.wait && s->conn->version < 3) {
        agent_send_error (s, WR_ERROR_INVALID, 0,
                          "exec: wait is a field of protocol version 3; this connection speaks %u",
                          s->conn->version);
        wr_agent_exec_clear (&ex);
        return;
    }
    agent_process_t *p = xzalloc (sizeof *p);
    p->pty_fd = p->stdin_fd = p->out_fd[0] = p->out_fd[1] = -1;
    p->tty = ex.tty;
    snprintf (p->id, sizeof p->id, "p%u", ++agent->next_process);
    cleanup_error wr_error_t err = NULL;
    for (int i = 0; i < 2; i++) {
        char path[4200];
        spill_path (agent, p, i ? "stderr" : "stdout", path, sizeof path);
        agent_output_init (&p->output[i], path, 0);
    }
    if (process_start (agent, p, &ex, &err) < 0) {
        wr_error_kind_t kind = err->errno_value == ENOENT ? WR_ERROR_NOT_FOUND
                               : err->errno_value ? wr_error_kind_of_errno (err->errno_value)
                                                  : wr_error_kind (err);
        wr_error_retag (&err, kind);
        agent_send (s, wr_agent_error_new (err), true);
        process_free (p);
        wr_agent_exec_clear (&ex);
        return;
    }
    size_t n = 0;
    for (; ex.argv[n]; n++)
        ;
    p->argv = xzalloc ((n + 1) * sizeof (char *));
    for (size_t i = 0; i < n; i++)
        p->argv[i] = xstrdup (ex.argv[i]);
    bool wait = ex.wait;
    int64_t wait_timeout_ms = ex.wait_timeout_ms;
    wr_agent_exec_clear (&ex);
    p->next = agent->processes;
    agent->processes = p;
    wr_agent_message_t *msg = wr_agent_message_new (WR_AGENT_MSG_STARTED);
    if (s->conn->version >= 2) {
        /* All of it, as process.status would answer: one round trip less. */
        process_fill (p, msg->json);
    } else {
        wr_agent_message_set_string (msg, "process_id", p->id);
        wr_agent_message_set_int (msg, "pid", p->pid);
    }
    agent_send (s, msg, !wait);
    if (wait) {
        /* The stream goes on as a process.wait's (agent_process_tick). */
        s->kind = STREAM_WAIT;
        s->process_id = xstrdup (p->id);
        s->deadline_ms = wait_timeout_ms > 0 ? agent_now_ms () + wait_timeout_ms : -1;
    }
}

static void
process_remove (agent_t *agent, agent_stream_t *s, agent_process_t *p)
{
    if (!p->exited) {
        agent_send_error (s, WR_ERROR_INVALID, 0, "process %s is still running", p->id);
        return;
    }
    for (agent_process_t **q = &agent->processes; *q; q = &(*q)->next) {
        if (*q == p) {
            *q = p->next;
            break;
        }
    }
    process_free (p);
    agent_send (s, wr_agent_message_new (WR_AGENT_MSG_OK), true);
}

static void
process_list (agent_t *agent, agent_stream_t *s)
{
    json_object *arr = json_object_new_array ();
    for (agent_process_t *p = agent->processes; p; p = p->next) {
        json_object *obj = json_object_new_object ();
        process_fill (p, obj);
        json_object_array_add (arr, obj);
    }
    wr_agent_message_t *msg = wr_agent_message_new (WR_AGENT_MSG_PROCESSES);
    wr_agent_message_set_json (msg, "processes", arr);
    agent_send (s, msg, true);
}

void
agent_process_request (agent_t *agent, agent_stream_t *s)
{
    const wr_agent_message_t *req = s->request;
    if (req->type == WR_AGENT_MSG_PROCESS_LIST) {
        process_list (agent, s);
        return;
    }
    const char *id = wr_agent_message_string (req, "process_id");
    agent_process_t *p = agent_process_find (agent, id);
    if (p == NULL) {
        if (req->type == WR_AGENT_MSG_STDIN)
            s->kind = STREAM_STDIN; /* its body may follow: ignored */
        agent_send_error (s, WR_ERROR_NOT_FOUND, 0, "no process %s", id);
        return;
    }
    switch (req->type) {
    case WR_AGENT_MSG_PROCESS_STATUS:
        agent_process_send (s, p);
        break;
    case WR_AGENT_MSG_PROCESS_WAIT:
        if (p->exited) {
            agent_process_send (s, p);
            break;
        }
        s->kind = STREAM_WAIT;
        s->process_id = xstrdup (id);
        if (wr_agent_message_has (req, "timeout_ms"))
            s->deadline_ms = agent_now_ms () + wr_agent_message_int (req, "timeout_ms", 0);
        break;
    case WR_AGENT_MSG_PROCESS_SIGNAL:
    case WR_AGENT_MSG_PROCESS_KILL: {
        bool kill_ = req->type == WR_AGENT_MSG_PROCESS_KILL;
        int signo = kill_ ? SIGKILL : (int) wr_agent_message_int (req, "signal", SIGTERM);
        bool group = kill_ || wr_agent_message_bool (req, "group", false);
        /* An ended process's pid may belong to another by now. */
        if (!p->exited && kill (group ? -p->pid : p->pid, signo) < 0) {
            agent_send_error (s, wr_error_kind_of_errno (errno), errno,
                              "send signal %d to process %s (pid %d)", signo, p->id, (int) p->pid);
            break;
        }
        agent_send (s, wr_agent_message_new (WR_AGENT_MSG_OK), true);
        break;
    }
    case WR_AGENT_MSG_PROCESS_RESIZE: {
        struct winsize ws = { .ws_row = (unsigned short) wr_agent_message_int (req, "rows", 24),
                              .ws_col = (unsigned short) wr_agent_message_int (req, "cols", 80) };
        if (p->pty_fd < 0) {
            agent_send_error (s, WR_ERROR_INVALID, 0, "process %s has no terminal", p->id);
            break;
        }
        if (ioctl (p->pty_fd, TIOCSWINSZ, &ws) < 0) {
            agent_send_error (s, WR_ERROR_INTERNAL, errno, "resize the terminal of %s", p->id);
            break;
        }
        agent_send (s, wr_agent_message_new (WR_AGENT_MSG_OK), true);
        break;
    }
    case WR_AGENT_MSG_PROCESS_REMOVE:
        process_remove (agent, s, p);
        break;
    case WR_AGENT_MSG_OUTPUT_READ:
    case WR_AGENT_MSG_STDIN:
        agent_process_io_start (agent, s, p);
        break;
    default:
        agent_send_error (s, WR_ERROR_INVALID, 0, "not a process request");
        break;
    }
}
