/* The agent's answer to one request on one stream (docs/agent-protocol.md),
 * as the code serving a request sees it.
 *
 * A request that can take long or move many bytes (file.read, file.write,
 * file.list, file.find, file.replace) is served by a function that runs on a
 * worker thread of its own and talks to its stream only through these
 * calls; the connection's loop (agent_conn.c) does the framing, the windows
 * and the END flags.  So the serving code is plain sequential code, and one
 * slow request never holds up the others on the connection.
 *
 * Every call may block (agent_reply_data while the peer's window is used up;
 * agent_reply_body until the peer sends more) and fails, with kind
 * cancelled, once the peer cancelled the stream or the connection is gone:
 * the serving code then stops and returns. */
#ifndef WARREN_INIT_AGENT_REPLY_H
#define WARREN_INIT_AGENT_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "agent_message.h"
#include "error.h"

typedef struct agent_reply agent_reply_t;

/* Sends MSG (taking it: it is freed whether or not this succeeds) on the
 * request's stream; END ends the agent's half of the stream. */
int agent_reply_message (agent_reply_t *reply, wr_agent_message_t *msg, bool end, wr_error_t *err);

/* Sends N bytes of BUF as data frames of channel 0 (split into frames of at
 * most 1 MiB, offsets counted from 0 over the whole reply), waiting while
 * the peer's window is used up.  END sets END on the last frame (N may be 0
 * to send an empty last frame). */
int agent_reply_data (agent_reply_t *reply, const void *buf, size_t n, bool end, wr_error_t *err);

/* For a request with a body (file.write): copies up to CAP bytes of the
 * body into BUF, waiting until some are there.  Returns how many, 0 once the
 * body has ended (the peer's END), -1 on error (cancelled, the connection
 * gone, or a body that broke the protocol). */
ssize_t agent_reply_body (agent_reply_t *reply, void *buf, size_t cap, wr_error_t *err);

/* Sends ERR as the stream's error message, with END. */
void agent_reply_error (agent_reply_t *reply, const wr_error_t error);

/* Whether the peer cancelled the stream (or the connection is gone). */
bool agent_reply_cancelled (agent_reply_t *reply);

#endif
