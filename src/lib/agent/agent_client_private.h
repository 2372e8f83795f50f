/* What agent_client.c (the connection and its thread), agent_stream.c (the
 * rules every frame the agent sends is checked against) and agent_call.c
 * (calls) share.  One mutex guards the whole client; each call has a
 * condition of its own (its queue, its window), and the client one for
 * room in the outgoing buffer. */
#ifndef WARREN_AGENT_CLIENT_PRIVATE_H
#define WARREN_AGENT_CLIENT_PRIVATE_H

#include <pthread.h>

#include "agent_client.h"

/* Messages a call may hold that its caller has not taken (data is bounded
 * by the window): past this, the client stops reading the socket until the
 * caller takes some. */
#define WR_AGENT_CALL_MESSAGES_MAX (4u * 1024u * 1024u)
/* Data senders wait while the outgoing buffer holds more than this. */
#define WR_AGENT_OUT_HIGH (2u * 1024u * 1024u)
/* An agent that lets the outgoing buffer grow past this does not read:
 * the connection is closed. */
#define WR_AGENT_OUT_MAX (64u * 1024u * 1024u)
/* Streams the agent may have open at once (relays). */
#define WR_AGENT_AGENT_STREAMS_MAX 64
#define WR_AGENT_READ_SIZE (256u * 1024u)

typedef struct wr_agent_item_node_s {
    wr_agent_item_t item;
    size_t message_bytes;
    struct wr_agent_item_node_s *next;
} wr_agent_item_node_t;

struct wr_agent_call_s {
    wr_agent_client_t *client;
    wr_agent_call_t *next; /* in client->calls */
    uint32_t stream;
    wr_agent_msg_type_t request; /* the message that opened the stream */
    bool agent_opened; /* an even stream the agent opened (relay.open) */
    const wr_cancel_t *cancel;
    pthread_cond_t cond;
    wr_agent_item_node_t *head, *tail;
    size_t queued_messages; /* payload bytes of queued messages */
    bool answered; /* a first reply message arrived */
    bool answered_once; /* a reply that comes once only (not file.entries, docker.waiting) came */
    bool agent_end; /* the agent's END arrived */
    bool end_taken; /* the caller took the item with END */
    bool our_end; /* warrend sent END */
    bool cancel_sent;
    bool orphan; /* its caller freed it before the agent's END */
    int64_t recv_avail; /* data bytes the agent may still send */
    int64_t ungranted; /* bytes the caller took and the agent was not given back */
    int64_t send_avail; /* data bytes warrend may still send */
    uint64_t send_offset;
    uint64_t next_offset[WR_AGENT_CHANNEL_MAX + 1];
    bool offset_seen[WR_AGENT_CHANNEL_MAX + 1];
};

struct wr_agent_client_s {
    char *path;
    const wr_log_t *log;
    wr_agent_accept_fn accept;
    void *accept_data;
    uint32_t window; /* warrend's, in its hello */
    uint32_t peer_window; /* the agent's */
    unsigned version;
    char *peer_software;
    int fd;
    int wake[2]; /* a pipe that wakes the thread */
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t lock;
    pthread_cond_t out_cond;
    wr_agent_buf_t out;
    wr_agent_decoder_t *dec;
    uint8_t *rbuf;
    wr_agent_call_t *calls;
    uint32_t next_stream; /* the next odd id */
    uint32_t last_agent_stream;
    unsigned agent_streams;
    bool closing;
    wr_error_t failure; /* why the connection ended; NULL while it is up */
    bool held; /* HELD_FRAME waits for room in its call's queue */
    wr_agent_frame_t held_frame;
};

/* All with CLIENT->lock held. */

/* Ends the connection because of *WHY (taken): every waiter wakes. */
void wr_agent_client_fail_locked (wr_agent_client_t *client, wr_error_t *why);
/* Sets *ERR from the client's failure (kind unavailable); -1. */
int wr_agent_client_failed_error (const wr_agent_client_t *client, wr_error_t *err);
/* Appends a frame to the outgoing buffer and wakes the thread. */
int wr_agent_client_queue_message_locked (wr_agent_client_t *client, uint32_t stream, uint8_t flags,
                                          const wr_agent_message_t *msg, wr_error_t *err);
int wr_agent_client_queue_data_locked (wr_agent_client_t *client, uint32_t stream, uint8_t flags,
                                       uint64_t offset, const void *data, size_t len,
                                       wr_error_t *err);
/* Waits on COND until DEADLINE_MS (monotonic; -1: none) or, with CANCEL, a
 * slice of it; false when the deadline passed. */
bool wr_agent_client_wait_locked (wr_agent_client_t *client, pthread_cond_t *cond,
                                  int64_t deadline_ms, const wr_cancel_t *cancel);
void wr_agent_client_wake_locked (wr_agent_client_t *client);

wr_agent_call_t *wr_agent_call_find_locked (wr_agent_client_t *client, uint32_t stream);
/* A call on STREAM, linked into the client. */
wr_agent_call_t *wr_agent_call_new_locked (wr_agent_client_t *client, uint32_t stream,
                                           wr_agent_msg_type_t request, bool agent_opened);
/* Unlinks and frees CALL and what it holds. */
void wr_agent_call_destroy_locked (wr_agent_call_t *call);
/* Queues ITEM (taken); MESSAGE_BYTES: the payload of a message, counted
 * against WR_AGENT_CALL_MESSAGES_MAX. */
void wr_agent_call_push_locked (wr_agent_call_t *call, wr_agent_item_t *item, size_t message_bytes);
/* The caller took (or the client dropped) N bytes of CALL's data: grants
 * the agent more window once half of it was taken. */
void wr_agent_call_consumed_locked (wr_agent_call_t *call, size_t n);

/* Takes one frame from the agent: 1 when done with, 0 when it must wait for
 * room in its call's queue (the thread holds it and reads no more), -1 on a
 * protocol error (*ERR says what).  May drop the lock to call the accept
 * callback. */
int wr_agent_stream_frame_locked (wr_agent_client_t *client, const wr_agent_frame_t *frame,
                                  wr_error_t *err);

#endif
