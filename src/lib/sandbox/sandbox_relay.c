#include "sandbox_relay.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cancel.h"
#include "cleanup.h"
#include "xalloc.h"

/* How long a relay waits for either side before it gives up: dockerd keeps
 * idle connections open, and a relay costs a thread. */
#define RELAY_IDLE_MS (5 * 60 * 1000)
/* How long it waits for the agent's END after its own. */
#define RELAY_LINGER_MS 5000

struct wr_sandbox_relays_s {
    wr_mirror_t *mirror;
    char *sandbox_id;
    const char *fields[3];
    wr_log_t log;
    wr_cancel_t *cancel; /* requested by wr_sandbox_relays_free */
    pthread_mutex_t lock;
    pthread_cond_t done;
    unsigned running;
    unsigned long total;
    bool stopping;
};

typedef struct {
    wr_sandbox_relays_t *relays;
    wr_agent_call_t *call;
} relay_t;

/* ---- the adapter ---- */

static int
errno_of (const wr_error_t err)
{
    if (err != NULL && err->errno_value != 0)
        return err->errno_value;
    return err != NULL && err->kind == WR_ERROR_CANCELLED ? ECANCELED : ECONNRESET;
}

static ssize_t
relay_read (void *data, void *buf, size_t len)
{
    wr_sandbox_relay_stream_t *s = data;
    while (s->item.len == s->used) {
        if (s->eof)
            return 0;
        wr_agent_item_clear (&s->item);
        s->used = 0;
        cleanup_error wr_error_t err = NULL;
        int r = wr_agent_call_next (s->call, s->idle_timeout_ms, &s->item, &err);
        if (r < 0) {
            errno = errno_of (err);
            return -1;
        }
        if (r == 0) {
            s->eof = true;
            return 0;
        }
        if (s->item.end)
            s->eof = true;
        if (s->item.message != NULL) {
            /* An error: the agent gave the relay up (its connection in the
             * sandbox broke). */
            bool is_error = s->item.message->type == WR_AGENT_MSG_ERROR;
            wr_agent_item_clear (&s->item);
            if (is_error) {
                s->eof = true;
                errno = ECONNRESET;
                return -1;
            }
            continue;
        }
        if (s->item.channel != WR_AGENT_CHANNEL_BODY) {
            wr_agent_item_clear (&s->item);
            continue;
        }
    }
    size_t n = s->item.len - s->used;
    if (n > len)
        n = len;
    memcpy (buf, s->item.data + s->used, n);
    s->used += n;
    return (ssize_t) n;
}

static ssize_t
relay_write (void *data, const void *buf, size_t len)
{
    wr_sandbox_relay_stream_t *s = data;
    cleanup_error wr_error_t err = NULL;
    if (wr_agent_call_send (s->call, buf, len, false, s->idle_timeout_ms, &err) < 0) {
        errno = errno_of (err);
        return -1;
    }
    return (ssize_t) len;
}

wr_mirror_conn_t
wr_sandbox_relay_conn (wr_sandbox_relay_stream_t *state, wr_agent_call_t *call,
                       int64_t idle_timeout_ms)
{
    memset (state, 0, sizeof *state);
    state->call = call;
    state->idle_timeout_ms = idle_timeout_ms;
    return (wr_mirror_conn_t){ .read = relay_read, .write = relay_write, .data = state };
}

void
wr_sandbox_relay_stream_clear (wr_sandbox_relay_stream_t *state)
{
    wr_agent_item_clear (&state->item);
    state->used = 0;
}

/* ---- the relays ---- */

wr_sandbox_relays_t *
wr_sandbox_relays_new (wr_mirror_t *mirror, const char *sandbox_id, const wr_log_t *log)
{
    wr_sandbox_relays_t *relays = xzalloc (sizeof *relays);
    relays->mirror = mirror;
    relays->sandbox_id = xstrdup (sandbox_id);
    relays->fields[0] = "sandbox";
    relays->fields[1] = relays->sandbox_id;
    relays->log = (wr_log_t){ .parent = log, .fields = relays->fields };
    relays->cancel = wr_cancel_new (NULL, 0, NULL, NULL);
    pthread_mutex_init (&relays->lock, NULL);
    pthread_cond_init (&relays->done, NULL);
    return relays;
}

void
wr_sandbox_relays_free (wr_sandbox_relays_t *relays)
{
    if (relays == NULL)
        return;
    pthread_mutex_lock (&relays->lock);
    relays->stopping = true;
    wr_cancel_request (relays->cancel);
    while (relays->running > 0)
        pthread_cond_wait (&relays->done, &relays->lock);
    pthread_mutex_unlock (&relays->lock);
    wr_cancel_free (relays->cancel);
    pthread_cond_destroy (&relays->done);
    pthread_mutex_destroy (&relays->lock);
    free (relays->sandbox_id);
    free (relays);
}

unsigned
wr_sandbox_relays_running (wr_sandbox_relays_t *relays)
{
    pthread_mutex_lock (&relays->lock);
    unsigned n = relays->running;
    pthread_mutex_unlock (&relays->lock);
    return n;
}

unsigned long
wr_sandbox_relays_total (wr_sandbox_relays_t *relays)
{
    pthread_mutex_lock (&relays->lock);
    unsigned long n = relays->total;
    pthread_mutex_unlock (&relays->lock);
    return n;
}

/* Ends warrend's half and waits a little for the agent's, so that the
 * stream closes cleanly (wr_agent_call_free would cancel it otherwise). */
static void
relay_finish (wr_agent_call_t *call)
{
    if (wr_agent_call_send (call, NULL, 0, true, RELAY_LINGER_MS, NULL) < 0)
        return;
    for (;;) {
        wr_agent_item_t item;
        int r = wr_agent_call_next (call, RELAY_LINGER_MS, &item, NULL);
        if (r <= 0)
            return;
        wr_agent_item_clear (&item);
    }
}

static void *
relay_thread (void *data)
{
    relay_t *relay = data;
    wr_sandbox_relays_t *relays = relay->relays;
    wr_sandbox_relay_stream_t state;
    wr_mirror_conn_t conn = wr_sandbox_relay_conn (&state, relay->call, RELAY_IDLE_MS);
    cleanup_error wr_error_t err = NULL;
    if (wr_mirror_serve (relays->mirror, &conn, &relays->log, relays->cancel, &err) < 0 &&
        !wr_cancel_stopped (relays->cancel))
        wr_log_to (&relays->log, WR_LOG_DEBUG, "relay: the connection ended with an error", "error",
                   err->message, NULL);
    wr_sandbox_relay_stream_clear (&state);
    relay_finish (relay->call);
    wr_agent_call_free (relay->call);
    free (relay);
    pthread_mutex_lock (&relays->lock);
    relays->running--;
    pthread_cond_broadcast (&relays->done);
    pthread_mutex_unlock (&relays->lock);
    return NULL;
}

int
wr_sandbox_relay_accept (void *data, wr_agent_call_t *call, const wr_agent_message_t *request,
                         wr_error_t *err)
{
    wr_sandbox_relays_t *relays = data;
    const char *target = wr_agent_message_string (request, "target");
    if (target == NULL || strcmp (target, "registry-mirror") != 0)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "sandbox `%s`: warrend relays to `registry-mirror` only, not "
                                  "`%s`",
                                  relays->sandbox_id, target ? target : "");
    pthread_mutex_lock (&relays->lock);
    if (relays->stopping) {
        pthread_mutex_unlock (&relays->lock);
        return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                                  "sandbox `%s`: warrend is closing its relays",
                                  relays->sandbox_id);
    }
    relays->running++;
    relays->total++;
    pthread_mutex_unlock (&relays->lock);

    cleanup_agent_message wr_agent_message_t *ok = wr_agent_message_new (WR_AGENT_MSG_OK);
    relay_t *relay = xzalloc (sizeof *relay);
    relay->relays = relays;
    relay->call = call;
    pthread_attr_t attr;
    pthread_attr_init (&attr);
    pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    int e = 0;
    if (wr_agent_call_send_message (call, ok, false, err) < 0 ||
        (e = pthread_create (&thread, &attr, relay_thread, relay)) != 0) {
        pthread_attr_destroy (&attr);
        if (e != 0)
            wr_error_set (err, e, "sandbox `%s`: start a relay's thread", relays->sandbox_id);
        free (relay);
        pthread_mutex_lock (&relays->lock);
        relays->running--;
        pthread_cond_broadcast (&relays->done);
        pthread_mutex_unlock (&relays->lock);
        return -1;
    }
    pthread_attr_destroy (&attr);
    return 0;
}

static void
counter (char **text, const char *name, const char *help, uint64_t value)
{
    char *line = xasprintf ("%s# HELP %s %s\n# TYPE %s counter\n%s %llu\n", *text ? *text : "",
                            name, help, name, name, (unsigned long long) value);
    free (*text);
    *text = line;
}

void
wr_sandbox_relay_metrics (wr_mirror_t *mirror, char **text)
{
    if (mirror == NULL)
        return;
    wr_mirror_stats_t st;
    wr_mirror_stats (mirror, &st);
    counter (text, "warren_mirror_connections_total",
             "Connections to the registry mirror relayed from sandboxes.", st.connections);
    counter (text, "warren_mirror_requests_total", "Requests the registry mirror answered.",
             st.requests);
    counter (text, "warren_mirror_manifests_upstream_total",
             "Manifests the registry mirror fetched from upstream.", st.manifests_upstream);
    counter (text, "warren_mirror_blobs_fetched_total",
             "Blobs the registry mirror downloaded from upstream.", st.blobs_fetched);
    counter (text, "warren_mirror_blobs_from_store_total",
             "Blobs the registry mirror served from the content store.", st.blobs_from_store);
    counter (text, "warren_mirror_bytes_served_total",
             "Bytes of manifests and blobs the registry mirror served.", st.bytes_served);
}
