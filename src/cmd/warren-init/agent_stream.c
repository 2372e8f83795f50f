/* Requests served on worker threads (agent_reply.h): each gets a detached
 * thread that talks to its stream under the agent's lock, waiting on the
 * agent's condition for the window, the queue and the body. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_files.h"
#include "agent_reply.h"
#include "log.h"
#include "xalloc.h"

struct agent_reply {
    agent_t *agent;
    agent_stream_t *stream;
};

void
agent_stream_unref (agent_stream_t *stream)
{
    if (--stream->refs > 0)
        return;
    agent_conn_t *conn = stream->conn;
    wr_agent_buf_clear (&stream->body);
    wr_agent_message_free (stream->request);
    free (stream->process_id);
    free (stream);
    agent_conn_unref (conn);
}

static bool
gone (const agent_stream_t *s)
{
    return s->cancelled || s->we_ended || s->conn->fd < 0 || s->conn->closing;
}

static int
gone_error (const agent_stream_t *s, wr_error_t *err)
{
    return wr_error_set_kind (err, WR_ERROR_CANCELLED, 0,
                              s->cancelled ? "stream %u was cancelled"
                                           : "stream %u is over (its connection closed)",
                              s->id);
}

int
agent_reply_message (agent_reply_t *reply, wr_agent_message_t *msg, bool end, wr_error_t *err)
{
    agent_t *agent = reply->agent;
    pthread_mutex_lock (&agent->lock);
    agent_stream_t *s = reply->stream;
    /* Messages are small: they wait only for a queue over its bound. */
    while (!gone (s) && s->conn->out.len >= AGENT_OUT_HIGH)
        pthread_cond_wait (&agent->cond, &agent->lock);
    int r = 0;
    if (gone (s)) {
        wr_agent_message_free (msg);
        r = gone_error (s, err);
    } else {
        agent_send (s, msg, end);
        agent_wake (agent);
    }
    pthread_mutex_unlock (&agent->lock);
    return r;
}

int
agent_reply_data (agent_reply_t *reply, const void *buf, size_t n, bool end, wr_error_t *err)
{
    agent_t *agent = reply->agent;
    const uint8_t *p = buf;
    pthread_mutex_lock (&agent->lock);
    agent_stream_t *s = reply->stream;
    int r = 0;
    do {
        while (!gone (s) &&
               !(agent_stream_can_send (s) || (n == 0 && s->conn->out.len < AGENT_OUT_HIGH)))
            pthread_cond_wait (&agent->cond, &agent->lock);
        if (gone (s)) {
            r = gone_error (s, err);
            break;
        }
        size_t chunk = n;
        if (chunk > WR_AGENT_MAX_PAYLOAD)
            chunk = WR_AGENT_MAX_PAYLOAD;
        if ((int64_t) chunk > s->send_window)
            chunk = (size_t) s->send_window;
        bool last = end && chunk == n;
        agent_send_data (s, WR_AGENT_CHANNEL_BODY, s->send_offset, p, chunk, last);
        s->send_offset += chunk;
        p += chunk;
        n -= chunk;
        agent_wake (agent);
    } while (n > 0);
    pthread_mutex_unlock (&agent->lock);
    return r;
}

ssize_t
agent_reply_body (agent_reply_t *reply, void *buf, size_t cap, wr_error_t *err)
{
    agent_t *agent = reply->agent;
    pthread_mutex_lock (&agent->lock);
    agent_stream_t *s = reply->stream;
    while (!gone (s) && s->body.len == 0 && !s->peer_ended)
        pthread_cond_wait (&agent->cond, &agent->lock);
    ssize_t r;
    if (gone (s)) {
        r = gone_error (s, err);
    } else {
        size_t n = s->body.len < cap ? s->body.len : cap;
        memcpy (buf, s->body.data, n);
        wr_agent_buf_consume (&s->body, n);
        agent_stream_consumed (s, n);
        agent_wake (agent);
        r = (ssize_t) n;
    }
    pthread_mutex_unlock (&agent->lock);
    return r;
}

void
agent_reply_error (agent_reply_t *reply, const wr_error_t error)
{
    agent_t *agent = reply->agent;
    pthread_mutex_lock (&agent->lock);
    agent_send (reply->stream, wr_agent_error_new (error), true);
    agent_wake (agent);
    pthread_mutex_unlock (&agent->lock);
}

bool
agent_reply_cancelled (agent_reply_t *reply)
{
    pthread_mutex_lock (&reply->agent->lock);
    bool r = reply->stream->cancelled || reply->stream->conn->fd < 0;
    pthread_mutex_unlock (&reply->agent->lock);
    return r;
}

static void *
worker_main (void *data)
{
    agent_reply_t *reply = data;
    agent_t *agent = reply->agent;
    agent_stream_t *s = reply->stream;
    /* The request and the root do not change while the stream lives. */
    agent_files_serve (agent->options.root, s->request, reply);
    pthread_mutex_lock (&agent->lock);
    if (!s->we_ended) {
        if (s->cancelled)
            agent_send_error (s, WR_ERROR_CANCELLED, 0, "stream %u was cancelled", s->id);
        else
            agent_send_error (s, WR_ERROR_INTERNAL, 0, "the agent ended %s without an answer",
                              wr_agent_msg_type_name (s->request->type));
    }
    agent_stream_unref (s);
    agent_wake (agent);
    pthread_mutex_unlock (&agent->lock);
    free (reply);
    return NULL;
}

void
agent_worker_start (agent_stream_t *stream)
{
    agent_t *agent = stream->conn->agent;
    stream->kind = STREAM_WORKER;
    agent_reply_t *reply = xzalloc (sizeof *reply);
    reply->agent = agent;
    reply->stream = stream;
    stream->refs++;
    pthread_attr_t attr;
    pthread_attr_init (&attr);
    pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    int r = pthread_create (&thread, &attr, worker_main, reply);
    pthread_attr_destroy (&attr);
    if (r != 0) {
        stream->refs--;
        free (reply);
        agent_send_error (stream, WR_ERROR_LIMIT, r, "start a thread for %s",
                          wr_agent_msg_type_name (stream->request->type));
    }
}
