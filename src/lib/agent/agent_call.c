/* Calls: one stream each, used by the thread that opened it (or took it
 * from the accept callback) while the client's thread fills its queue. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent_client_private.h"
#include "cleanup.h"
#include "xalloc.h"

void
wr_agent_item_clear (wr_agent_item_t *item)
{
    wr_agent_message_free (item->message);
    free (item->data);
    memset (item, 0, sizeof *item);
}

wr_agent_call_t *
wr_agent_call_find_locked (wr_agent_client_t *client, uint32_t stream)
{
    for (wr_agent_call_t *c = client->calls; c != NULL; c = c->next)
        if (c->stream == stream)
            return c;
    return NULL;
}

wr_agent_call_t *
wr_agent_call_new_locked (wr_agent_client_t *client, uint32_t stream, wr_agent_msg_type_t request,
                          bool agent_opened)
{
    wr_agent_call_t *call = xzalloc (sizeof *call);
    call->client = client;
    call->stream = stream;
    call->request = request;
    call->agent_opened = agent_opened;
    call->recv_avail = client->window;
    call->send_avail = client->peer_window;
    pthread_condattr_t attr;
    pthread_condattr_init (&attr);
    pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
    pthread_cond_init (&call->cond, &attr);
    pthread_condattr_destroy (&attr);
    call->next = client->calls;
    client->calls = call;
    return call;
}

static void
drop_items_locked (wr_agent_call_t *call)
{
    while (call->head != NULL) {
        wr_agent_item_node_t *node = call->head;
        call->head = node->next;
        if (node->item.message == NULL)
            wr_agent_call_consumed_locked (call, node->item.len);
        wr_agent_item_clear (&node->item);
        free (node);
    }
    call->tail = NULL;
    call->queued_messages = 0;
    if (call->client->held)
        wr_agent_client_wake_locked (call->client);
}

void
wr_agent_call_destroy_locked (wr_agent_call_t *call)
{
    wr_agent_client_t *client = call->client;
    for (wr_agent_call_t **p = &client->calls; *p != NULL; p = &(*p)->next)
        if (*p == call) {
            *p = call->next;
            break;
        }
    drop_items_locked (call);
    pthread_cond_destroy (&call->cond);
    free (call);
}

void
wr_agent_call_push_locked (wr_agent_call_t *call, wr_agent_item_t *item, size_t message_bytes)
{
    wr_agent_item_node_t *node = xzalloc (sizeof *node);
    node->item = *item;
    node->message_bytes = message_bytes;
    memset (item, 0, sizeof *item);
    call->queued_messages += message_bytes;
    if (call->tail != NULL)
        call->tail->next = node;
    else
        call->head = node;
    call->tail = node;
    pthread_cond_broadcast (&call->cond);
}

void
wr_agent_call_consumed_locked (wr_agent_call_t *call, size_t n)
{
    call->ungranted += (int64_t) n;
    if (call->agent_end || call->ungranted < call->client->window / 2)
        return;
    cleanup_agent_message wr_agent_message_t *w = wr_agent_message_new (WR_AGENT_MSG_WINDOW);
    wr_agent_message_set_int (w, "bytes", call->ungranted);
    if (wr_agent_client_queue_message_locked (call->client, call->stream, 0, w, NULL) == 0) {
        call->recv_avail += call->ungranted;
        call->ungranted = 0;
    }
}

/* One wait on COND for CALL: -1 with *ERR when the connection failed, the
 * call's token stopped or DEADLINE passed (WHAT says what was waited for). */
static int
wait_once (wr_agent_call_t *call, pthread_cond_t *cond, int64_t deadline, int64_t timeout_ms,
           const char *what, wr_error_t *err)
{
    wr_agent_client_t *client = call->client;
    if (client->failure != NULL)
        return wr_agent_client_failed_error (client, err);
    if (wr_cancel_check (call->cancel, NULL, err) < 0)
        return wr_error_prefix (err, "the agent at `%s`: stream %u (%s)", client->path,
                                call->stream, wr_agent_msg_type_name (call->request));
    if (deadline >= 0 && wr_monotonic_ms () >= deadline)
        return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, ETIMEDOUT,
                                  "the agent at `%s`: no %s on stream %u (%s) within %lld ms",
                                  client->path, what, call->stream,
                                  wr_agent_msg_type_name (call->request), (long long) timeout_ms);
    wr_agent_client_wait_locked (client, cond, deadline, call->cancel);
    return 0;
}

static int64_t
deadline_of (int64_t timeout_ms)
{
    return timeout_ms >= 0 ? wr_monotonic_ms () + timeout_ms : -1;
}

wr_agent_call_t *
wr_agent_call_open (wr_agent_client_t *client, const wr_agent_message_t *request, bool body,
                    const wr_cancel_t *cancel, wr_error_t *err)
{
    pthread_mutex_lock (&client->lock);
    wr_agent_call_t *call = NULL;
    uint32_t id = client->next_stream;
    if (client->failure != NULL) {
        wr_agent_client_failed_error (client, err);
    } else if (id > UINT32_MAX - 2) {
        wr_error_set_kind (err, WR_ERROR_LIMIT, 0, "the agent at `%s`: out of stream ids",
                           client->path);
    } else if (wr_agent_client_queue_message_locked (client, id, body ? 0 : WR_AGENT_FLAG_END,
                                                     request, err) == 0) {
        client->next_stream += 2;
        call = wr_agent_call_new_locked (client, id, request->type, false);
        call->our_end = !body;
        call->cancel = cancel;
    }
    pthread_mutex_unlock (&client->lock);
    return call;
}

uint32_t
wr_agent_call_stream (const wr_agent_call_t *call)
{
    return call->stream;
}

static int
ended_error (const wr_agent_call_t *call, const char *what, wr_error_t *err)
{
    return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                              "the agent at `%s`: stream %u (%s): %s has ended", call->client->path,
                              call->stream, wr_agent_msg_type_name (call->request), what);
}

int
wr_agent_call_send (wr_agent_call_t *call, const void *data, size_t len, bool end,
                    int64_t timeout_ms, wr_error_t *err)
{
    wr_agent_client_t *client = call->client;
    int64_t deadline = deadline_of (timeout_ms);
    const uint8_t *p = data;
    int r = 0;
    bool bytestream = call->agent_opened || call->request == WR_AGENT_MSG_TUNNEL_OPEN;
    pthread_mutex_lock (&client->lock);
    if (call->our_end)
        r = ended_error (call, "warrend's half", err);
    for (bool done = false; r == 0 && !done;) {
        /* A tunnel's or relay's directions end apart, but the agent grants no
         * window after its END; any other request's answer ends it. */
        if (call->agent_end && (!bytestream || (len > 0 && call->send_avail <= 0))) {
            r = wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                                   "the agent at `%s`: stream %u (%s): the agent ended it "
                                   "before its body was sent",
                                   client->path, call->stream,
                                   wr_agent_msg_type_name (call->request));
            break;
        }
        if (len > 0 && call->send_avail <= 0) {
            r = wait_once (call, &call->cond, deadline, timeout_ms, "window", err);
            continue;
        }
        if (client->out.len > WR_AGENT_OUT_HIGH) {
            r = wait_once (call, &client->out_cond, deadline, timeout_ms, "room to send", err);
            continue;
        }
        size_t n = len;
        if (n > WR_AGENT_MAX_PAYLOAD)
            n = WR_AGENT_MAX_PAYLOAD;
        if ((int64_t) n > call->send_avail)
            n = (size_t) call->send_avail;
        bool last = n == len;
        if (n == 0 && !end)
            break;
        r = wr_agent_client_queue_data_locked (client, call->stream,
                                               last && end ? WR_AGENT_FLAG_END : 0,
                                               call->send_offset, p, n, err);
        if (r < 0)
            break;
        call->send_offset += n;
        call->send_avail -= (int64_t) n;
        p += n;
        len -= n;
        if (last && end)
            call->our_end = true;
        done = last;
    }
    pthread_mutex_unlock (&client->lock);
    return r;
}

int
wr_agent_call_send_message (wr_agent_call_t *call, const wr_agent_message_t *msg, bool end,
                            wr_error_t *err)
{
    wr_agent_client_t *client = call->client;
    pthread_mutex_lock (&client->lock);
    int r;
    if (call->our_end)
        r = ended_error (call, "warrend's half", err);
    else
        r = wr_agent_client_queue_message_locked (client, call->stream, end ? WR_AGENT_FLAG_END : 0,
                                                  msg, err);
    if (r == 0 && end)
        call->our_end = true;
    pthread_mutex_unlock (&client->lock);
    return r;
}

int
wr_agent_call_next (wr_agent_call_t *call, int64_t timeout_ms, wr_agent_item_t *item,
                    wr_error_t *err)
{
    wr_agent_client_t *client = call->client;
    int64_t deadline = deadline_of (timeout_ms);
    memset (item, 0, sizeof *item);
    pthread_mutex_lock (&client->lock);
    int r = 0;
    for (;;) {
        /* A call the agent ended gets all it was sent; any other fails
         * with the connection. */
        if (client->failure != NULL && !call->agent_end) {
            r = wr_agent_client_failed_error (client, err);
            break;
        }
        wr_agent_item_node_t *node = call->head;
        if (node != NULL) {
            call->head = node->next;
            if (call->head == NULL)
                call->tail = NULL;
            *item = node->item;
            call->queued_messages -= node->message_bytes;
            free (node);
            if (item->message == NULL && client->failure == NULL)
                wr_agent_call_consumed_locked (call, item->len);
            if (client->held)
                wr_agent_client_wake_locked (client);
            if (item->end)
                call->end_taken = true;
            r = 1;
            break;
        }
        if (call->end_taken)
            break;
        if ((r = wait_once (call, &call->cond, deadline, timeout_ms, "answer", err)) < 0)
            break;
    }
    pthread_mutex_unlock (&client->lock);
    return r;
}

/* Tells the agent warrend gives up on CALL: cancel on a stream warrend
 * opened, an error of kind cancelled on one the agent did. */
static void
give_up_locked (wr_agent_call_t *call)
{
    if (call->agent_end || call->cancel_sent || (call->agent_opened && call->our_end))
        return;
    call->cancel_sent = true;
    cleanup_agent_message wr_agent_message_t *msg = NULL;
    if (call->agent_opened) {
        cleanup_error wr_error_t e = NULL;
        wr_error_set_kind (&e, WR_ERROR_CANCELLED, 0, "warrend closed the relay");
        msg = wr_agent_error_new (e);
    } else {
        msg = wr_agent_message_new (WR_AGENT_MSG_CANCEL);
    }
    uint8_t flags = call->our_end && !call->agent_opened ? 0 : WR_AGENT_FLAG_END;
    wr_agent_client_queue_message_locked (call->client, call->stream, flags, msg, NULL);
    call->our_end = true;
}

int
wr_agent_call_cancel (wr_agent_call_t *call, int64_t timeout_ms, wr_error_t *err)
{
    wr_agent_client_t *client = call->client;
    int64_t deadline = deadline_of (timeout_ms);
    int r = 0;
    pthread_mutex_lock (&client->lock);
    give_up_locked (call);
    for (;;) {
        drop_items_locked (call);
        if (call->agent_end)
            break;
        if ((r = wait_once (call, &call->cond, deadline, timeout_ms, "end after a cancel", err)) <
            0)
            break;
    }
    if (r == 0)
        call->end_taken = true;
    pthread_mutex_unlock (&client->lock);
    return r;
}

void
wr_agent_call_free (wr_agent_call_t *call)
{
    if (call == NULL)
        return;
    wr_agent_client_t *client = call->client;
    pthread_mutex_lock (&client->lock);
    if (call->agent_end) {
        /* Its body unfinished: end warrend's half too. */
        if (!call->our_end)
            wr_agent_client_queue_data_locked (client, call->stream, WR_AGENT_FLAG_END,
                                               call->send_offset, NULL, 0, NULL);
        wr_agent_call_destroy_locked (call);
    } else {
        /* The client's now: it drops what comes until the agent's END. */
        give_up_locked (call);
        drop_items_locked (call);
        call->orphan = true;
        call->cancel = NULL;
    }
    pthread_mutex_unlock (&client->lock);
}

int
wr_agent_client_request (wr_agent_client_t *client, const wr_agent_message_t *msg,
                         int64_t deadline_ms, wr_agent_message_t **reply, wr_error_t *err)
{
    *reply = NULL;
    cleanup_agent_call wr_agent_call_t *call = wr_agent_call_open (client, msg, false, NULL, err);
    if (call == NULL)
        return -1;
    wr_agent_item_t item;
    int r = wr_agent_call_next (call, deadline_ms, &item, err);
    if (r < 0)
        return -1;
    if (r == 0 || item.message == NULL) {
        wr_agent_item_clear (&item);
        return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                                  "the agent at `%s`: stream %u (%s) ended without an answer",
                                  client->path, call->stream, wr_agent_msg_type_name (msg->type));
    }
    if (item.message->type == WR_AGENT_MSG_ERROR) {
        wr_agent_error_from (item.message, WR_AGENT_SIDE_AGENT, err);
        wr_agent_item_clear (&item);
        return -1;
    }
    *reply = steal_pointer (&item.message);
    wr_agent_item_clear (&item);
    return 0;
}
