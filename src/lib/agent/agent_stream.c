/* The rules every frame the agent sends is held to, past the decoder's and
 * the schemas': it is on a stream that is open and that its sender may
 * send on, data stays within the window, on the channels its request
 * reads, in order, and a message answers the request that opened its
 * stream.  Anything else is a protocol error, and the connection closes. */
#include <stdlib.h>
#include <string.h>

#include "agent_client_private.h"
#include "cleanup.h"
#include "quote.h"
#include "xalloc.h"

static const char *const channel_names[] = { "body", "stdout", "stderr" };

static const char *
frame_what (const wr_agent_frame_t *frame)
{
    return frame->type == WR_AGENT_FRAME_DATA ? "data" : "message";
}

/* Whether REPLY answers a request of type REQUEST (ANSWERED: an answer
 * came already); *MANY: more may follow it. */
static bool
reply_fits (wr_agent_msg_type_t request, wr_agent_msg_type_t reply, bool answered, bool *many)
{
    *many = false;
    switch (request) {
    case WR_AGENT_MSG_EXEC:
        /* With wait (version 3) the process follows its started. */
        *many = reply == WR_AGENT_MSG_STARTED && !answered;
        return (reply == WR_AGENT_MSG_STARTED && !answered) ||
               (reply == WR_AGENT_MSG_PROCESS && answered);
    case WR_AGENT_MSG_PROCESS_STATUS:
    case WR_AGENT_MSG_PROCESS_WAIT:
        return reply == WR_AGENT_MSG_PROCESS;
    case WR_AGENT_MSG_PROCESS_LIST:
        return reply == WR_AGENT_MSG_PROCESSES;
    case WR_AGENT_MSG_OUTPUT_READ:
        return reply == WR_AGENT_MSG_OUTPUT_END;
    case WR_AGENT_MSG_FILE_READ:
    case WR_AGENT_MSG_FILE_WRITE:
    case WR_AGENT_MSG_FILE_STAT:
        return reply == WR_AGENT_MSG_FILE_INFO;
    case WR_AGENT_MSG_FILE_LIST:
        *many = true;
        return reply == WR_AGENT_MSG_FILE_ENTRIES;
    case WR_AGENT_MSG_FILE_FIND:
        *many = true;
        return reply == WR_AGENT_MSG_FILE_MATCHES;
    case WR_AGENT_MSG_FILE_REPLACE:
        return reply == WR_AGENT_MSG_FILE_REPLACED;
    case WR_AGENT_MSG_DOCKER_WATCH:
        *many = reply == WR_AGENT_MSG_DOCKER_WAITING;
        return reply == WR_AGENT_MSG_DOCKER_WAITING || reply == WR_AGENT_MSG_DOCKER_READY ||
               reply == WR_AGENT_MSG_DOCKER_FAILED;
    case WR_AGENT_MSG_PING:
        return reply == WR_AGENT_MSG_PONG;
    case WR_AGENT_MSG_PROCESS_SIGNAL:
    case WR_AGENT_MSG_PROCESS_KILL:
    case WR_AGENT_MSG_PROCESS_RESIZE:
    case WR_AGENT_MSG_PROCESS_REMOVE:
    case WR_AGENT_MSG_STDIN:
    case WR_AGENT_MSG_FILE_MKDIR:
    case WR_AGENT_MSG_FILE_REMOVE:
    case WR_AGENT_MSG_FILE_RENAME:
    case WR_AGENT_MSG_FILE_CHMOD:
    case WR_AGENT_MSG_FILE_CHOWN:
    case WR_AGENT_MSG_CHECKPOINT_PREPARE:
    case WR_AGENT_MSG_CHECKPOINT_RESUME:
    case WR_AGENT_MSG_TUNNEL_OPEN:
        return reply == WR_AGENT_MSG_OK;
    default:
        return false;
    }
}

/* The channels CALL may receive data on now, as a bit mask. */
static unsigned
data_channels (const wr_agent_call_t *call)
{
    if (call->agent_opened)
        return 1u << WR_AGENT_CHANNEL_BODY;
    switch (call->request) {
    case WR_AGENT_MSG_OUTPUT_READ:
        return (1u << WR_AGENT_CHANNEL_STDOUT) | (1u << WR_AGENT_CHANNEL_STDERR);
    case WR_AGENT_MSG_FILE_READ:
    case WR_AGENT_MSG_TUNNEL_OPEN:
        /* after file.info, or ok */
        return call->answered ? 1u << WR_AGENT_CHANNEL_BODY : 0;
    default:
        return 0;
    }
}

static void
agent_ended_locked (wr_agent_call_t *call)
{
    call->agent_end = true;
    if (call->agent_opened && call->client->agent_streams > 0)
        call->client->agent_streams--;
    pthread_cond_broadcast (&call->cond);
    if (call->orphan)
        wr_agent_call_destroy_locked (call);
}

static int
data_frame (wr_agent_call_t *call, const wr_agent_frame_t *frame, wr_error_t *err)
{
    uint8_t ch = frame->channel;
    if ((data_channels (call) & (1u << ch)) == 0)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "data on channel %s of stream %u, which answers %s and "
                                  "carries none there%s",
                                  channel_names[ch], call->stream,
                                  wr_agent_msg_type_name (call->request),
                                  call->answered ? "" : " before its answer");
    bool seen = call->offset_seen[ch] || ch == WR_AGENT_CHANNEL_BODY;
    if (seen && frame->offset != call->next_offset[ch])
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "data on channel %s of stream %u at offset %llu, not %llu "
                                  "where the last ended",
                                  channel_names[ch], call->stream,
                                  (unsigned long long) frame->offset,
                                  (unsigned long long) call->next_offset[ch]);
    if ((int64_t) frame->length > call->recv_avail)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "%u bytes of data on stream %u, over its window (%lld left)",
                                  frame->length, call->stream, (long long) call->recv_avail);
    call->recv_avail -= frame->length;
    call->offset_seen[ch] = true;
    call->next_offset[ch] = frame->offset + frame->length;
    bool end = (frame->flags & WR_AGENT_FLAG_END) != 0;
    if (call->orphan) {
        wr_agent_call_consumed_locked (call, frame->length);
    } else {
        wr_agent_item_t item = {
            .channel = ch, .offset = frame->offset, .len = frame->length, .end = end
        };
        if (frame->length > 0) {
            item.data = xmalloc (frame->length);
            memcpy (item.data, frame->payload, frame->length);
        }
        wr_agent_call_push_locked (call, &item, 0);
    }
    if (end)
        agent_ended_locked (call);
    return 1;
}

static int
message_frame (wr_agent_call_t *call, const wr_agent_frame_t *frame, wr_error_t *err)
{
    cleanup_agent_message wr_agent_message_t *msg =
        wr_agent_message_decode (frame, WR_AGENT_SIDE_AGENT, err);
    if (msg == NULL)
        return -1;
    bool end = (frame->flags & WR_AGENT_FLAG_END) != 0;
    bool many = false;
    switch (msg->type) {
    case WR_AGENT_MSG_WINDOW:
        /* Grants past 2^62 bytes mean nothing more (and cannot overflow). */
        call->send_avail += wr_agent_message_int (msg, "bytes", 0);
        if (call->send_avail > (INT64_C (1) << 62))
            call->send_avail = INT64_C (1) << 62;
        pthread_cond_broadcast (&call->cond);
        if (!end)
            return 1;
        wr_agent_message_free (msg);
        msg = NULL; /* an empty item carries the END */
        break;
    case WR_AGENT_MSG_ERROR:
        break;
    case WR_AGENT_MSG_CANCEL:
        if (!call->agent_opened)
            return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                      "a cancel message on stream %u, which warrend opened",
                                      call->stream);
        break;
    default:
        if (call->agent_opened || !reply_fits (call->request, msg->type, call->answered, &many))
            return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                      "a %s message on stream %u, which does not answer %s",
                                      wr_agent_msg_type_name (msg->type), call->stream,
                                      wr_agent_msg_type_name (call->request));
        /* After the one answer that comes once, nothing more (a waiting may
         * precede a ready; entries come in batches). */
        if (call->answered_once)
            return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                      "a %s message on stream %u after its answer",
                                      wr_agent_msg_type_name (msg->type), call->stream);
        call->answered = true;
        call->answered_once = !many;
        break;
    }
    if (!call->orphan) {
        wr_agent_item_t item = { .message = steal_pointer (&msg), .end = end };
        wr_agent_call_push_locked (call, &item, frame->length);
    }
    if (end)
        agent_ended_locked (call);
    return 1;
}

/* Refuses a stream the agent opened with ERROR; drops what it sends on it
 * until its END. */
static void
refuse_locked (wr_agent_call_t *call, const wr_error_t error)
{
    cleanup_agent_message wr_agent_message_t *e = wr_agent_error_new (error);
    wr_agent_client_queue_message_locked (call->client, call->stream, WR_AGENT_FLAG_END, e, NULL);
    call->our_end = true;
    call->orphan = true;
    if (call->agent_end)
        wr_agent_call_destroy_locked (call);
}

/* A frame on an even stream not open yet: the agent's request. */
static int
agent_request (wr_agent_client_t *client, const wr_agent_frame_t *frame, wr_error_t *err)
{
    uint32_t id = frame->stream;
    if (id <= client->last_agent_stream)
        return wr_error_set_kind (
            err, WR_ERROR_INVALID, 0, "a %s frame on stream %u, which %s", frame_what (frame), id,
            id == client->last_agent_stream ? "has ended" : "is below the agent's last");
    if (frame->type != WR_AGENT_FRAME_MESSAGE)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "data on stream %u, which the agent never opened", id);
    cleanup_agent_message wr_agent_message_t *msg =
        wr_agent_message_decode (frame, WR_AGENT_SIDE_AGENT, err);
    if (msg == NULL)
        return -1;
    if (msg->type != WR_AGENT_MSG_PING && msg->type != WR_AGENT_MSG_RELAY_OPEN)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "a %s message on stream %u, which the agent never opened",
                                  wr_agent_msg_type_name (msg->type), id);
    client->last_agent_stream = id;
    bool end = (frame->flags & WR_AGENT_FLAG_END) != 0;
    if (msg->type == WR_AGENT_MSG_PING && end) {
        cleanup_agent_message wr_agent_message_t *pong = wr_agent_message_new (WR_AGENT_MSG_PONG);
        wr_agent_client_queue_message_locked (client, id, WR_AGENT_FLAG_END, pong, NULL);
        return 1;
    }
    if (client->agent_streams >= WR_AGENT_AGENT_STREAMS_MAX)
        return wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                                  "the agent opened stream %u with %u of its streams open, the "
                                  "most it may",
                                  id, client->agent_streams);
    wr_agent_call_t *call = wr_agent_call_new_locked (client, id, msg->type, true);
    client->agent_streams++;
    if (end) {
        call->agent_end = true;
        client->agent_streams--;
    }
    cleanup_error wr_error_t why = NULL;
    if (msg->type == WR_AGENT_MSG_PING) {
        wr_error_set_kind (&why, WR_ERROR_INVALID, 0, "a ping has no body");
    } else if (client->accept == NULL) {
        wr_error_set_kind (&why, WR_ERROR_UNAVAILABLE, 0, "warrend takes no relay here");
    } else {
        pthread_mutex_unlock (&client->lock);
        int r = client->accept (client->accept_data, call, msg, &why);
        pthread_mutex_lock (&client->lock);
        if (r == 0)
            return 1; /* the call is its taker's now */
        if (why == NULL)
            wr_error_set_kind (&why, WR_ERROR_UNAVAILABLE, 0, "warrend refused the relay");
    }
    refuse_locked (call, why);
    return 1;
}

int
wr_agent_stream_frame_locked (wr_agent_client_t *client, const wr_agent_frame_t *frame,
                              wr_error_t *err)
{
    uint32_t id = frame->stream;
    if (id == 0) {
        /* The decoder lets only messages through here, the schemas only an
         * error (a hello was the first frame). */
        cleanup_agent_message wr_agent_message_t *msg =
            wr_agent_message_decode (frame, WR_AGENT_SIDE_AGENT, err);
        if (msg == NULL)
            return -1;
        if (msg->type != WR_AGENT_MSG_ERROR)
            return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "a %s message on stream 0",
                                      wr_agent_msg_type_name (msg->type));
        cleanup_free char *text = wr_quote (wr_agent_message_string (msg, "message"), 4096);
        return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                                  "the agent ended the connection: %s (%s)", text,
                                  wr_agent_message_string (msg, "kind"));
    }
    wr_agent_call_t *call = wr_agent_call_find_locked (client, id);
    if (call == NULL) {
        if (id % 2 == 0)
            return agent_request (client, frame, err);
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "a %s frame on stream %u, which %s",
                                  frame_what (frame), id,
                                  id < client->next_stream ? "has ended" : "warrend never opened");
    }
    if (call->agent_end)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "a %s frame on stream %u after the agent's END on it",
                                  frame_what (frame), id);
    if (frame->type == WR_AGENT_FRAME_DATA)
        return data_frame (call, frame, err);
    if (!call->orphan && call->head != NULL &&
        call->queued_messages + frame->length > WR_AGENT_CALL_MESSAGES_MAX)
        return 0; /* wait for its caller to take some */
    return message_frame (call, frame, err);
}
