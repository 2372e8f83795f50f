/* A stream from the agent to a client: a thread that moves an agent call's
 * data frames into a response's stream, either raw (a download, one output
 * stream) or as output events ({"event":"output",...} per data frame, then
 * {"event":"end",...} from output.end; docs/api.md, Process).  When the
 * client goes away (a send fails), the call is cancelled; the thread frees
 * the call and gives the agent back. */
#ifndef WARREN_API_AGENT_STREAM_H
#define WARREN_API_AGENT_STREAM_H

#include <stdbool.h>

#include "agent_client.h"
#include "api_events.h"
#include "api_v1.h"

/* Takes CALL, AGENT (a reference from V1) and FIRST (an item already
 * received, or NULL; its contents taken) whatever the result, and a
 * reference of EVENTS. */
int wr_api_agent_stream_start (wr_api_v1_t *v1, wr_agent_client_t *agent, wr_agent_call_t *call,
                               wr_agent_item_t *first, wr_api_events_t *events, bool output_events,
                               wr_error_t *err);

/* The first item of CALL that is not a data frame's absence: waits for it
 * and turns an error message into *ERR (the agent's kind and message). */
int wr_api_agent_first (wr_agent_call_t *call, wr_agent_item_t *item, wr_error_t *err);

#endif
