#include "api_events.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_response.h"
#include "cleanup.h"
#include "xalloc.h"

typedef struct event_line_s {
    struct event_line_s *next;
    size_t len;
    char text[];
} event_line_t;

struct wr_api_events_s {
    atomic_int refs;
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a line queued or read, or the state changed */
    event_line_t *head, *tail;
    size_t head_offset; /* bytes of HEAD already read */
    size_t queued;
    size_t max_queued;
    bool closed;
    bool cancelled;
};

wr_api_events_t *
wr_api_events_new (size_t max_queued)
{
    wr_api_events_t *events = xzalloc (sizeof *events);
    atomic_init (&events->refs, 1);
    pthread_mutex_init (&events->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init (&attr);
    pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
    pthread_cond_init (&events->changed, &attr);
    pthread_condattr_destroy (&attr);
    events->max_queued = max_queued > 0 ? max_queued : WR_API_EVENTS_DEFAULT_QUEUE;
    return events;
}

wr_api_events_t *
wr_api_events_ref (wr_api_events_t *events)
{
    atomic_fetch_add (&events->refs, 1);
    return events;
}

static void
drop_lines (wr_api_events_t *events)
{
    while (events->head != NULL) {
        event_line_t *next = events->head->next;
        free (events->head);
        events->head = next;
    }
    events->tail = NULL;
    events->head_offset = 0;
    events->queued = 0;
}

void
wr_api_events_unref (wr_api_events_t *events)
{
    if (events == NULL || atomic_fetch_sub (&events->refs, 1) != 1)
        return;
    drop_lines (events);
    pthread_cond_destroy (&events->changed);
    pthread_mutex_destroy (&events->lock);
    free (events);
}

static struct timespec
deadline_of (int timeout_ms)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Waits on CHANGED until DEADLINE (none when TIMEOUT_MS < 0); false when
 * it passed.  Called with the lock held. */
static bool
wait_changed (wr_api_events_t *events, int timeout_ms, const struct timespec *deadline)
{
    if (timeout_ms < 0) {
        pthread_cond_wait (&events->changed, &events->lock);
        return true;
    }
    return pthread_cond_timedwait (&events->changed, &events->lock, deadline) != ETIMEDOUT;
}

/* Queues LEN bytes of TEXT, and a newline after them when NEWLINE. */
static int
send_chunk (wr_api_events_t *events, const char *text, size_t len, bool newline, int timeout_ms,
            wr_error_t *err)
{
    event_line_t *line = xmalloc (sizeof *line + len + 2);
    memcpy (line->text, text, len);
    line->len = len;
    if (newline)
        line->text[line->len++] = '\n';
    line->text[line->len] = '\0';
    line->next = NULL;

    struct timespec deadline = deadline_of (timeout_ms < 0 ? 0 : timeout_ms);
    pthread_mutex_lock (&events->lock);
    while (!events->cancelled && !events->closed && events->queued > 0 &&
           events->queued + line->len > events->max_queued) {
        if (!wait_changed (events, timeout_ms, &deadline)) {
            pthread_mutex_unlock (&events->lock);
            free (line);
            return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                                      "event stream: the client read nothing for %d ms",
                                      timeout_ms);
        }
    }
    if (events->cancelled || events->closed) {
        bool closed = events->closed && !events->cancelled;
        pthread_mutex_unlock (&events->lock);
        free (line);
        return wr_error_set_kind (err, WR_ERROR_CANCELLED, 0, "event stream: %s",
                                  closed ? "closed" : "the client went away");
    }
    if (events->tail != NULL)
        events->tail->next = line;
    else
        events->head = line;
    events->tail = line;
    events->queued += line->len;
    pthread_cond_broadcast (&events->changed);
    pthread_mutex_unlock (&events->lock);
    return 0;
}

int
wr_api_events_send (wr_api_events_t *events, json_object *event, int timeout_ms, wr_error_t *err)
{
    /* One line per event: the plain form escapes newlines in strings. */
    cleanup_free char *text = xstrdup (json_object_to_json_string_ext (
        event, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put (event);
    return send_chunk (events, text, strlen (text), true, timeout_ms, err);
}

int
wr_api_events_send_error (wr_api_events_t *events, const wr_error_t error, int timeout_ms,
                          wr_error_t *err)
{
    wr_error_kind_t kind = wr_error_kind (error);
    cleanup_free char *body = wr_api_error_body (wr_error_kind_name (kind),
                                                 error != NULL ? error->message : "internal error");
    /* wr_api_error_body ends with a newline; the line gets its own. */
    body[strcspn (body, "\n")] = '\0';
    return send_chunk (events, body, strlen (body), true, timeout_ms, err);
}

int
wr_api_events_send_bytes (wr_api_events_t *events, const void *buf, size_t len, int timeout_ms,
                          wr_error_t *err)
{
    /* In pieces of at most a quarter of the queue, so that a large write
     * still moves while the reader drains. */
    size_t piece = events->max_queued / 4 > 0 ? events->max_queued / 4 : 1;
    for (size_t done = 0; done < len;) {
        size_t n = len - done < piece ? len - done : piece;
        if (send_chunk (events, (const char *) buf + done, n, false, timeout_ms, err) < 0)
            return -1;
        done += n;
    }
    return 0;
}

void
wr_api_events_close (wr_api_events_t *events)
{
    pthread_mutex_lock (&events->lock);
    events->closed = true;
    pthread_cond_broadcast (&events->changed);
    pthread_mutex_unlock (&events->lock);
}

void
wr_api_events_cancel (wr_api_events_t *events)
{
    pthread_mutex_lock (&events->lock);
    events->cancelled = true;
    drop_lines (events);
    pthread_cond_broadcast (&events->changed);
    pthread_mutex_unlock (&events->lock);
}

bool
wr_api_events_cancelled (wr_api_events_t *events)
{
    pthread_mutex_lock (&events->lock);
    bool cancelled = events->cancelled;
    pthread_mutex_unlock (&events->lock);
    return cancelled;
}

size_t
wr_api_events_queued (wr_api_events_t *events)
{
    pthread_mutex_lock (&events->lock);
    size_t queued = events->queued;
    pthread_mutex_unlock (&events->lock);
    return queued;
}

ssize_t
wr_api_events_read (wr_api_events_t *events, char *buf, size_t max, int timeout_ms)
{
    struct timespec deadline = deadline_of (timeout_ms < 0 ? 0 : timeout_ms);
    pthread_mutex_lock (&events->lock);
    while (!events->cancelled && events->head == NULL && !events->closed) {
        if (!wait_changed (events, timeout_ms, &deadline)) {
            pthread_mutex_unlock (&events->lock);
            return 0;
        }
    }
    if (events->cancelled || events->head == NULL) {
        pthread_mutex_unlock (&events->lock);
        return -1;
    }
    size_t done = 0;
    while (events->head != NULL && done < max) {
        event_line_t *line = events->head;
        size_t n = line->len - events->head_offset;
        if (n > max - done)
            n = max - done;
        memcpy (buf + done, line->text + events->head_offset, n);
        done += n;
        events->head_offset += n;
        events->queued -= n;
        if (events->head_offset == line->len) {
            events->head = line->next;
            if (events->head == NULL)
                events->tail = NULL;
            events->head_offset = 0;
            free (line);
        }
    }
    pthread_cond_broadcast (&events->changed);
    pthread_mutex_unlock (&events->lock);
    return (ssize_t) done;
}
