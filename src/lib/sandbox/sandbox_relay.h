/* The relays of one sandbox: connections the nested dockerd makes to the
 * registry mirror the agent offers it (docs/agent-protocol.md, relay.open),
 * served by warrend's mirror (mirror.h).
 *
 * The agent opens a stream for each connection; the agent client hands it
 * to wr_sandbox_relay_accept (its accept callback, with the relays as
 * data), which answers ok and serves the stream with wr_mirror_serve on a
 * detached thread of its own, through an adapter that reads the agent's
 * data frames and writes warrend's.  A relay ends when either side ends
 * its stream, the agent's connection breaks, or the relays are freed. */
#ifndef WARREN_SANDBOX_RELAY_H
#define WARREN_SANDBOX_RELAY_H

#include "agent_client.h"
#include "error.h"
#include "log.h"
#include "mirror.h"

typedef struct wr_sandbox_relays_s wr_sandbox_relays_t;

/* Relays of sandbox SANDBOX_ID (copied, in their log lines) to MIRROR,
 * which must outlive them.  LOG may be NULL. */
wr_sandbox_relays_t *wr_sandbox_relays_new (wr_mirror_t *mirror, const char *sandbox_id,
                                            const wr_log_t *log);
/* Stops every relay still running (their upstream requests are cancelled)
 * and waits for their threads.  Close the agent clients whose calls they
 * serve first (wr_agent_client_close), so that they stop waiting on the
 * agent; free those clients only after this. */
void wr_sandbox_relays_free (wr_sandbox_relays_t *relays);
/* Relays running now, and since wr_sandbox_relays_new. */
unsigned wr_sandbox_relays_running (wr_sandbox_relays_t *relays);
unsigned long wr_sandbox_relays_total (wr_sandbox_relays_t *relays);

/* A wr_agent_accept_fn (agent_client.h); DATA: the relays.  Takes a
 * relay.open with target registry-mirror; refuses any other target (kind
 * invalid) and every relay once the relays are being freed (kind
 * unavailable). */
int wr_sandbox_relay_accept (void *data, wr_agent_call_t *call, const wr_agent_message_t *request,
                             wr_error_t *err);

/* Appends MIRROR's counters (warren_mirror_*_total) in Prometheus text
 * format to *TEXT (malloc'ed or NULL); nothing for a NULL mirror. */
void wr_sandbox_relay_metrics (wr_mirror_t *mirror, char **text);

/* The byte stream of relay CALL as a mirror connection (for tests of the
 * adapter): reads take the agent's data frames (0 at its END), writes
 * send data frames.  STATE must outlive CONN's use; clear it after. */
typedef struct {
    wr_agent_call_t *call;
    wr_agent_item_t item; /* the data frame being read */
    size_t used; /* bytes of ITEM already read */
    bool eof;
    int64_t idle_timeout_ms; /* a read waits at most this (-1: no limit) */
} wr_sandbox_relay_stream_t;

wr_mirror_conn_t wr_sandbox_relay_conn (wr_sandbox_relay_stream_t *state, wr_agent_call_t *call,
                                        int64_t idle_timeout_ms);
void wr_sandbox_relay_stream_clear (wr_sandbox_relay_stream_t *state);

#endif
