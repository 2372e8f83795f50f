/* A stream of events (pull progress, build steps, Docker readiness) sent
 * as newline-delimited JSON, one object per line, from the thread doing
 * the work to the connection reading them.
 *
 * The queue between them is bounded (in bytes): a producer that outruns its
 * client waits (back-pressure) instead of growing memory, and gives up when
 * the client goes away or the server stops (CANCELLED) or when the client
 * reads nothing within its deadline (UNAVAILABLE).  The stream is shared
 * by reference: the producer holds one, the response another.
 *
 *   wr_api_events_t *events = wr_api_events_new (0);
 *   start_worker (wr_api_events_ref (events));     // sends, then closes
 *   wr_api_response_events (resp, events);
 *
 * All functions are thread-safe. */
#ifndef WARREN_API_EVENTS_H
#define WARREN_API_EVENTS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

typedef struct wr_api_events_s wr_api_events_t;

/* The default bound of the queue: 256 KiB of events not yet read. */
#define WR_API_EVENTS_DEFAULT_QUEUE (256 * 1024)

/* A new stream with one reference; MAX_QUEUED bytes may wait unread (0:
 * the default).  An event larger than that is still sent, alone. */
wr_api_events_t *wr_api_events_new (size_t max_queued);
wr_api_events_t *wr_api_events_ref (wr_api_events_t *events);
void wr_api_events_unref (wr_api_events_t *events);

/* Queues EVENT (an object; the reference is taken) as one line, waiting
 * while the queue is full for at most TIMEOUT_MS (negative: no deadline).
 * Fails CANCELLED when the stream was cancelled or closed, UNAVAILABLE when
 * the deadline passed. */
int wr_api_events_send (wr_api_events_t *events, json_object *event, int timeout_ms,
                        wr_error_t *err);
/* Sends {"error": {"kind": ..., "message": ...}}: how a stream reports
 * that the work failed after its 200 went out. */
int wr_api_events_send_error (wr_api_events_t *events, const wr_error_t error, int timeout_ms,
                              wr_error_t *err);
/* Queues LEN raw bytes of BUF (no newline added), for streams of bytes:
 * a download, a process's output, a request's body on its way to a
 * handler.  Waits like wr_api_events_send. */
int wr_api_events_send_bytes (wr_api_events_t *events, const void *buf, size_t len, int timeout_ms,
                              wr_error_t *err);
/* The producer is done: the reader gets what is queued, then the end. */
void wr_api_events_close (wr_api_events_t *events);

/* Reads up to MAX bytes of queued lines into BUF (a line may be split
 * across reads), waiting at most TIMEOUT_MS (negative: no deadline) for
 * one.  Returns the number of bytes, 0 when the deadline passed with
 * nothing to read, -1 at the end of the stream (closed and drained, or
 * cancelled). */
ssize_t wr_api_events_read (wr_api_events_t *events, char *buf, size_t max, int timeout_ms);
/* The reader is gone (or the server stops): queued events are dropped and
 * senders fail from now on. */
void wr_api_events_cancel (wr_api_events_t *events);
bool wr_api_events_cancelled (wr_api_events_t *events);
/* Bytes queued and not yet read (for tests of back-pressure). */
size_t wr_api_events_queued (wr_api_events_t *events);

#endif
