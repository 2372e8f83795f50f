/* The bytes of the agent's processes: their stdout and stderr read from
 * pipes into agent_output_t, output.read streams (following or not) paced
 * by their windows, and stdin requests written to the process. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "log.h"
#include "xalloc.h"

void
agent_process_io_start (agent_t *agent, agent_stream_t *s, agent_process_t *p)
{
    (void) agent;
    const wr_agent_message_t *req = s->request;
    s->process_id = xstrdup (p->id);
    if (req->type == WR_AGENT_MSG_STDIN) {
        s->kind = STREAM_STDIN;
        s->stdin_close = wr_agent_message_bool (req, "close", false);
        if (p->stdin_fd < 0)
            agent_send_error (s, WR_ERROR_INVALID, 0,
                              "process %s has no stdin to write to (exec it with stdin, and "
                              "not after a close)",
                              p->id);
        return;
    }
    s->kind = STREAM_READER;
    const char *which = wr_agent_message_string (req, "stream");
    s->want[0] = strcmp (which, "stderr") != 0;
    s->want[1] = strcmp (which, "stdout") != 0;
    s->offset[0] = (uint64_t) wr_agent_message_int (req, "stdout_offset", 0);
    s->offset[1] = (uint64_t) wr_agent_message_int (req, "stderr_offset", 0);
    s->follow = wr_agent_message_bool (req, "follow", false);
    for (int i = 0; i < 2; i++)
        if (s->offset[i] > p->output[i].total)
            agent_send_error (s, WR_ERROR_INVALID, 0,
                              "%s_offset %llu is beyond the %llu bytes process %s wrote so far",
                              i ? "stderr" : "stdout", (unsigned long long) s->offset[i],
                              (unsigned long long) p->output[i].total, p->id);
}

static void
close_out (agent_process_t *p, int i)
{
    if (p->out_fd[i] >= 0)
        close (p->out_fd[i]);
    p->out_fd[i] = -1;
}

static void
read_out (agent_process_t *p, int i)
{
    static uint8_t buf[65536];
    for (int rounds = 0; rounds < 16 && p->out_fd[i] >= 0; rounds++) {
        ssize_t n = read (p->out_fd[i], buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            /* EOF, or EIO from a terminal whose last holder is gone. */
            close_out (p, i);
            return;
        }
        cleanup_error wr_error_t err = NULL;
        if (agent_output_append (&p->output[i], buf, (size_t) n, &err) < 0)
            wr_log (WR_LOG_WARN, "agent: process output", "process", p->id, "error", err->message,
                    NULL);
    }
}

static bool
stdin_pending (agent_t *agent, const agent_process_t *p)
{
    for (agent_conn_t *c = agent->conns; c; c = c->next)
        for (agent_stream_t *s = c->streams; s; s = s->next)
            if (s->kind == STREAM_STDIN && s->body.len > 0 && strcmp (s->process_id, p->id) == 0)
                return true;
    return false;
}

size_t
agent_process_poll_fds (agent_t *agent, struct pollfd *fds, size_t cap, long long now, int *timeout)
{
    size_t n = 0;
    for (agent_process_t *p = agent->processes; p; p = p->next) {
        if (p->exited && (p->out_fd[0] >= 0 || p->out_fd[1] >= 0)) {
            long long left = p->drain_deadline_ms - now;
            if (left <= 0) {
                /* Whatever is in the pipes now, then they close. */
                for (int i = 0; i < 2; i++) {
                    read_out (p, i);
                    close_out (p, i);
                }
            } else if (*timeout < 0 || left < *timeout) {
                *timeout = (int) left;
            }
        }
        for (int i = 0; i < 2 && n < cap; i++)
            if (p->out_fd[i] >= 0)
                fds[n++] = (struct pollfd){ .fd = p->out_fd[i], .events = POLLIN };
        if (p->stdin_fd >= 0 && n < cap && stdin_pending (agent, p))
            fds[n++] = (struct pollfd){ .fd = p->stdin_fd, .events = POLLOUT };
    }
    return n;
}

void
agent_process_events (agent_t *agent, struct pollfd *fds, size_t n, long long now)
{
    (void) now;
    for (size_t k = 0; k < n; k++) {
        if (fds[k].revents == 0 || !(fds[k].events & POLLIN))
            continue;
        for (agent_process_t *p = agent->processes; p; p = p->next)
            for (int i = 0; i < 2; i++)
                if (p->out_fd[i] == fds[k].fd)
                    read_out (p, i);
    }
}

static void
reader_tick (agent_process_t *p, agent_stream_t *s)
{
    static uint8_t buf[AGENT_DATA_CHUNK];
    bool sent = true;
    while (sent && agent_stream_can_send (s)) {
        sent = false;
        for (int i = 0; i < 2 && agent_stream_can_send (s); i++) {
            if (!s->want[i] || s->offset[i] >= p->output[i].total)
                continue;
            size_t n = sizeof buf;
            if ((int64_t) n > s->send_window)
                n = (size_t) s->send_window;
            cleanup_error wr_error_t err = NULL;
            ssize_t r = agent_output_read (&p->output[i], s->offset[i], buf, n, &err);
            if (r < 0) {
                agent_send (s, wr_agent_error_new (err), true);
                return;
            }
            agent_send_data (s, (uint8_t) (i + 1), s->offset[i], buf, (size_t) r, false);
            s->offset[i] += (uint64_t) r;
            sent = true;
        }
    }
    for (int i = 0; i < 2; i++)
        if (s->want[i] && s->offset[i] < p->output[i].total)
            return;
    if (s->follow && !agent_process_ended (p))
        return;
    wr_agent_message_t *msg = wr_agent_message_new (WR_AGENT_MSG_OUTPUT_END);
    wr_agent_message_set_int (msg, "stdout_offset", (int64_t) s->offset[0]);
    wr_agent_message_set_int (msg, "stderr_offset", (int64_t) s->offset[1]);
    agent_process_exit_set (p, msg->json);
    agent_send (s, msg, true);
}

static void
stdin_tick (agent_process_t *p, agent_stream_t *s)
{
    while (s->body.len > 0 && p->stdin_fd >= 0) {
        ssize_t n = write (p->stdin_fd, s->body.data, s->body.len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) {
            agent_send_error (s, wr_error_kind_of_errno (errno), errno,
                              "write to the stdin of process %s", p->id);
            return;
        }
        wr_agent_buf_consume (&s->body, (size_t) n);
        agent_stream_consumed (s, (size_t) n);
    }
    if (p->stdin_fd < 0) {
        agent_send_error (s, WR_ERROR_INVALID, 0, "the stdin of process %s is closed", p->id);
        return;
    }
    if (!s->peer_ended)
        return;
    if (s->stdin_close) {
        if (p->tty) {
            /* A terminal has no end of its own: ^D (its VEOF). */
            (void) !write (p->stdin_fd, "\x04", 1);
        }
        close (p->stdin_fd);
        p->stdin_fd = -1;
    }
    agent_send (s, wr_agent_message_new (WR_AGENT_MSG_OK), true);
}

void
agent_process_tick (agent_t *agent, agent_stream_t *s, long long now, int *timeout)
{
    agent_process_t *p = agent_process_find (agent, s->process_id);
    if (p == NULL) {
        agent_send_error (s, WR_ERROR_NOT_FOUND, 0, "process %s was removed", s->process_id);
        return;
    }
    switch (s->kind) {
    case STREAM_READER:
        reader_tick (p, s);
        break;
    case STREAM_STDIN:
        stdin_tick (p, s);
        break;
    case STREAM_WAIT:
        if (p->exited) {
            agent_process_send (s, p);
            break;
        }
        if (s->deadline_ms >= 0 && now >= s->deadline_ms) {
            agent_send_error (s, WR_ERROR_UNAVAILABLE, 0, "process %s still runs", p->id);
            break;
        }
        if (s->deadline_ms >= 0 && (*timeout < 0 || s->deadline_ms - now < *timeout))
            *timeout = (int) (s->deadline_ms - now);
        break;
    default:
        break;
    }
}
