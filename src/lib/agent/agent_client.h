/* warrend's end of the agent protocol (docs/agent-protocol.md): one client
 * per sandbox, shared by every thread that serves a request about it.
 *
 * wr_agent_client_connect connects to the agent's unix socket (trying again
 * while the socket does not exist yet or refuses, until the deadline: the
 * agent starts while warrend waits), makes the handshake and starts one
 * thread that reads and writes the socket.  A call is one stream: opened
 * with a request from any thread, it receives the agent's messages and data
 * frames in a queue of its own, bounded by the window warrend advertises,
 * and grants the agent more window only as its caller takes data out, so a
 * slow consumer slows its own stream and no other.
 *
 * Everything the agent sends is hostile.  A frame that breaks the protocol
 * (bad framing, a stream warrend never opened or that has ended, data over
 * the window or on the wrong channel, a reply that does not answer its
 * request) closes the connection: every call that has not received its
 * END fails with kind unavailable and a message naming the socket and what
 * was wrong, later calls fail at once, and the thread ends. */
#ifndef WARREN_AGENT_CLIENT_H
#define WARREN_AGENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_message.h"
#include "cancel.h"
#include "error.h"
#include "log.h"

typedef struct wr_agent_client_s wr_agent_client_t;
typedef struct wr_agent_call_s wr_agent_call_t;

/* Called on the client's thread when the agent opens a stream with
 * relay.open.  Return 0 to take CALL: answer it with
 * wr_agent_call_send_message (ok, without END), then move its bytes with
 * wr_agent_call_send and wr_agent_call_next from another thread (this
 * callback must not block), and free it.  Return -1 with *ERR to refuse:
 * the client answers with ERR as the stream's error. */
typedef int (*wr_agent_accept_fn) (void *data, wr_agent_call_t *call,
                                   const wr_agent_message_t *request, wr_error_t *err);

typedef struct {
    /* How long to keep trying to connect and to finish the handshake; 0:
     * 10 seconds. */
    int64_t connect_timeout_ms;
    /* Where the client's lines go (NULL: the standard log). */
    const wr_log_t *log;
    /* The window advertised in warrend's hello: how many bytes of data the
     * agent may send on a stream ahead of its reader (65536 to 2^31-1; 0:
     * 4 MiB). */
    uint32_t window;
    /* The hello's software (NULL: "warrend"). */
    const char *software;
    /* Agent-opened streams (relay.open); NULL: refused with an error of
     * kind unavailable. */
    wr_agent_accept_fn accept;
    void *accept_data;
} wr_agent_client_options_t;

#define WR_AGENT_DEFAULT_WINDOW (4u * 1024u * 1024u)

/* Connects to the agent listening on SOCKET_PATH.  Fails with kind
 * unavailable (ETIMEDOUT) when the deadline passes before the agent
 * answered, naming the socket and the last reason; with kind invalid when
 * the agent speaks no version this side does (its message, as sent to the
 * agent on stream 0). */
int wr_agent_client_connect (const char *socket_path, const wr_agent_client_options_t *opts,
                             wr_agent_client_t **out, wr_error_t *err);
/* The same over FD, a connected stream socket (taken: closed by the client,
 * or here on failure), named NAME in errors and logs: for a socket warrend
 * got otherwise, and for tests and fuzzing over a socketpair. */
int wr_agent_client_open (int fd, const char *name, const wr_agent_client_options_t *opts,
                          wr_agent_client_t **out, wr_error_t *err);
/* Closes the connection (when not yet closed): every waiting call wakes and
 * fails, later calls fail at once; joins the client's thread.  Safe from
 * any thread but the client's own (an accept callback), and more than
 * once. */
void wr_agent_client_close (wr_agent_client_t *client);
/* Closes and frees CLIENT.  Every call opened on it must be freed first. */
void wr_agent_client_free (wr_agent_client_t *client);
/* The version agreed and the agent's hello's software (or ""). */
unsigned wr_agent_client_version (const wr_agent_client_t *client);
const char *wr_agent_client_peer_software (const wr_agent_client_t *client);
/* 0 while the connection is up; else -1 with *ERR saying why it ended. */
int wr_agent_client_check (wr_agent_client_t *client, wr_error_t *err);

static inline void
wr_agent_client_cleanup (wr_agent_client_t **client)
{
    if (*client != NULL)
        wr_agent_client_free (*client);
}
#define cleanup_agent_client __attribute__ ((cleanup (wr_agent_client_cleanup)))

/* What a call receives: one message or one data frame from the agent. */
typedef struct {
    wr_agent_message_t *message; /* a message (owned by the item), or NULL for data */
    uint8_t channel; /* data: wr_agent_channel_t */
    uint64_t offset; /* data: the position of DATA's first byte in its channel */
    uint8_t *data; /* data: LEN bytes (owned by the item) */
    size_t len;
    bool end; /* the agent's last frame on the stream */
} wr_agent_item_t;

void wr_agent_item_clear (wr_agent_item_t *item);

/* Opens a stream with REQUEST (any request warrend sends).  BODY: the
 * request has a body (file.write, stdin, tunnel.open), sent with
 * wr_agent_call_send, whose last piece carries END; otherwise the request
 * carries END itself.  CANCEL (may be NULL; must outlive the call) stops
 * every wait of the call when it is cancelled or its deadline passes. */
wr_agent_call_t *wr_agent_call_open (wr_agent_client_t *client, const wr_agent_message_t *request,
                                     bool body, const wr_cancel_t *cancel, wr_error_t *err);
/* Frees CALL.  When the agent has not ended the stream yet, it is
 * cancelled and what the agent still sends on it is dropped. */
void wr_agent_call_free (wr_agent_call_t *call);
uint32_t wr_agent_call_stream (const wr_agent_call_t *call);

/* Sends LEN bytes of DATA as data frames of channel 0 (offsets counted
 * from 0 over the call), waiting while the agent's window is used up, at
 * most TIMEOUT_MS (-1: no limit but the call's token).  END ends warrend's
 * half of the stream (LEN may be 0). */
int wr_agent_call_send (wr_agent_call_t *call, const void *data, size_t len, bool end,
                        int64_t timeout_ms, wr_error_t *err);
/* Sends MSG (an answer on a stream the agent opened: ok, error, window is
 * the client's own business). */
int wr_agent_call_send_message (wr_agent_call_t *call, const wr_agent_message_t *msg, bool end,
                                wr_error_t *err);

/* The next item the agent sent on the stream, waiting at most TIMEOUT_MS
 * (-1: no limit but the call's token; 0: do not wait).  1 with *ITEM set
 * (clear it with wr_agent_item_clear); 0 once the item with END was taken;
 * -1 when the connection failed (kind unavailable), the wait timed out
 * (kind unavailable, ETIMEDOUT) or the token stopped it.  An error message
 * from the agent is an item like any other. */
int wr_agent_call_next (wr_agent_call_t *call, int64_t timeout_ms, wr_agent_item_t *item,
                        wr_error_t *err);

/* Cancels a stream warrend opened and drops what the agent sends until its
 * END (at most TIMEOUT_MS); then wr_agent_call_next returns 0. */
int wr_agent_call_cancel (wr_agent_call_t *call, int64_t timeout_ms, wr_error_t *err);

static inline void
wr_agent_call_cleanup (wr_agent_call_t **call)
{
    if (*call != NULL)
        wr_agent_call_free (*call);
}
#define cleanup_agent_call __attribute__ ((cleanup (wr_agent_call_cleanup)))

/* A request answered by one message (ok, started, process, file.info,
 * processes, pong, ...): sends MSG, waits at most DEADLINE_MS (-1: no
 * limit) for the first message and sets *REPLY to it.  An error reply
 * fails with its kind and "the agent: MESSAGE" (wr_agent_error_from).  A
 * stream the answer did not end is cancelled. */
int wr_agent_client_request (wr_agent_client_t *client, const wr_agent_message_t *msg,
                             int64_t deadline_ms, wr_agent_message_t **reply, wr_error_t *err);

#endif
