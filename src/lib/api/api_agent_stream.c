#include "api_agent_stream.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api_agent.h"
#include "cleanup.h"
#include "xalloc.h"

/* How long a client may read nothing before the stream gives up. */
#define SEND_TIMEOUT_MS 60000
/* How often a wait for the agent looks whether the client is gone. */
#define POLL_MS 1000

typedef struct {
    wr_api_v1_t *v1;
    wr_agent_client_t *agent;
    wr_agent_call_t *call;
    wr_agent_item_t first;
    bool has_first;
    wr_api_events_t *events;
    bool output_events;
} stream_t;

static json_object *
output_event (const wr_agent_item_t *item)
{
    json_object *event = json_object_new_object ();
    json_object_object_add (event, "event", json_object_new_string ("output"));
    json_object_object_add (
        event, "stream",
        json_object_new_string (item->channel == WR_AGENT_CHANNEL_STDERR ? "stderr" : "stdout"));
    json_object_object_add (event, "offset", json_object_new_int64 ((int64_t) item->offset));
    size_t max = 4 * ((item->len + 2) / 3) + 1;
    cleanup_free char *b64 = xmalloc (max);
    int n = EVP_EncodeBlock ((unsigned char *) b64, item->data, (int) item->len);
    json_object_object_add (event, "data", json_object_new_string_len (b64, n));
    return event;
}

static json_object *
end_event (const wr_agent_message_t *msg)
{
    json_object *event = json_object_new_object ();
    json_object_object_add (event, "event", json_object_new_string ("end"));
    static const char *const keys[] = { "stdout_offset", "stderr_offset", "state",
                                        "exit_code",     "signal",        "core_dumped" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_object *value = wr_agent_message_get (msg, keys[i]);
        if (value != NULL)
            json_object_object_add (event, keys[i], json_object_get (value));
    }
    return event;
}

/* Moves ITEM to the client: 1 to go on, 0 at the stream's end, -1 when
 * the client is gone. */
static int
forward (stream_t *s, wr_agent_item_t *item)
{
    cleanup_error wr_error_t err = NULL;
    int r = 0;
    if (item->message == NULL) {
        if (item->len > 0) {
            if (s->output_events)
                r = wr_api_events_send (s->events, output_event (item), SEND_TIMEOUT_MS, &err);
            else
                r = wr_api_events_send_bytes (s->events, item->data, item->len, SEND_TIMEOUT_MS,
                                              &err);
        }
    } else if (item->message->type == WR_AGENT_MSG_ERROR) {
        cleanup_error wr_error_t agent_err = NULL;
        wr_agent_error_from (item->message, WR_AGENT_SIDE_AGENT, &agent_err);
        if (s->output_events)
            r = wr_api_events_send_error (s->events, agent_err, SEND_TIMEOUT_MS, &err);
        return r < 0 ? -1 : 0;
    } else if (item->message->type == WR_AGENT_MSG_OUTPUT_END && s->output_events) {
        r = wr_api_events_send (s->events, end_event (item->message), SEND_TIMEOUT_MS, &err);
    }
    if (r < 0)
        return -1;
    return item->end ? 0 : 1;
}

static void
run (stream_t *s)
{
    bool gone = false;
    if (s->has_first) {
        int r = forward (s, &s->first);
        wr_agent_item_clear (&s->first);
        if (r <= 0) {
            gone = r < 0;
            goto done;
        }
    }
    for (;;) {
        wr_agent_item_t item = { 0 };
        cleanup_error wr_error_t err = NULL;
        int r = wr_agent_call_next (s->call, POLL_MS, &item, &err);
        if (r == 0)
            break;
        if (r < 0) {
            if (err->errno_value == ETIMEDOUT && !wr_api_events_cancelled (s->events))
                continue;
            if (s->output_events && !wr_api_events_cancelled (s->events)) {
                cleanup_error wr_error_t send_err = NULL;
                wr_api_events_send_error (s->events, err, SEND_TIMEOUT_MS, &send_err);
            }
            gone = wr_api_events_cancelled (s->events);
            break;
        }
        r = forward (s, &item);
        wr_agent_item_clear (&item);
        if (r <= 0) {
            gone = r < 0;
            break;
        }
    }
done:
    if (gone) {
        cleanup_error wr_error_t err = NULL;
        wr_agent_call_cancel (s->call, POLL_MS, &err);
    }
    wr_api_events_close (s->events);
}

static void *
stream_thread (void *data)
{
    stream_t *s = data;
    run (s);
    wr_agent_call_free (s->call);
    wr_api_agent_release (s->v1, s->agent);
    wr_api_events_unref (s->events);
    free (s);
    return NULL;
}

int
wr_api_agent_stream_start (wr_api_v1_t *v1, wr_agent_client_t *agent, wr_agent_call_t *call,
                           wr_agent_item_t *first, wr_api_events_t *events, bool output_events,
                           wr_error_t *err)
{
    stream_t *s = xzalloc (sizeof *s);
    s->v1 = v1;
    s->agent = agent;
    s->call = call;
    if (first != NULL) {
        s->first = *first;
        s->has_first = true;
        memset (first, 0, sizeof *first);
    }
    s->events = wr_api_events_ref (events);
    s->output_events = output_events;
    pthread_attr_t attr;
    pthread_attr_init (&attr);
    pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    int rc = pthread_create (&thread, &attr, stream_thread, s);
    pthread_attr_destroy (&attr);
    if (rc != 0) {
        wr_agent_item_clear (&s->first);
        wr_agent_call_free (call);
        wr_api_agent_release (v1, agent);
        wr_api_events_close (events);
        wr_api_events_unref (events);
        free (s);
        return wr_error_set (err, rc, "start the thread of a stream from the agent");
    }
    return 0;
}

int
wr_api_agent_first (wr_agent_call_t *call, wr_agent_item_t *item, wr_error_t *err)
{
    memset (item, 0, sizeof *item);
    int r = wr_agent_call_next (call, WR_API_AGENT_DEADLINE_MS, item, err);
    if (r < 0)
        return -1;
    if (r == 0)
        return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                                  "the agent ended the stream without an answer");
    if (item->message != NULL && item->message->type == WR_AGENT_MSG_ERROR) {
        wr_agent_error_from (item->message, WR_AGENT_SIDE_AGENT, err);
        wr_agent_item_clear (item);
        return -1;
    }
    return 0;
}
