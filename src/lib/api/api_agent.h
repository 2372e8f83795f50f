/* What the process and file routes share: the sandbox's agent of a
 * request, the strict reading of queries, modes and bodies copied into
 * agent messages, calls answered by one or several messages, and the API's
 * shapes of the agent's process and file.info objects (docs/api.md). */
#ifndef WARREN_API_AGENT_H
#define WARREN_API_AGENT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent_client.h"
#include "api_request.h"
#include "api_v1.h"
#include "error.h"

/* How long a request answered by one message may take. */
#define WR_API_AGENT_DEADLINE_MS 30000
/* How long a stream may wait for the agent's next item (find, list). */
#define WR_API_AGENT_ITEM_MS 300000

/* The agent of REQ's {id}: a reference, given back with
 * wr_api_agent_release. */
wr_agent_client_t *wr_api_agent_get (wr_api_v1_t *v1, const wr_api_request_t *req, wr_error_t *err);
void wr_api_agent_release (wr_api_v1_t *v1, wr_agent_client_t *agent);

/* An agent reference of a request, given back when it goes out of scope
 * (cleanup_agent_ref) or by hand with wr_api_agent_ref_clear. */
typedef struct {
    wr_api_v1_t *v1;
    wr_agent_client_t *agent;
} wr_api_agent_ref_t;

/* Sets REF to the agent of REQ's {id}. */
int wr_api_agent_ref (wr_api_v1_t *v1, const wr_api_request_t *req, wr_api_agent_ref_t *ref,
                      wr_error_t *err);
void wr_api_agent_ref_clear (wr_api_agent_ref_t *ref);
#define cleanup_agent_ref __attribute__ ((cleanup (wr_api_agent_ref_clear)))

/* Query NAME as a boolean ("true" or "false"; absent: DFLT). */
int wr_api_query_bool (const wr_api_request_t *req, const char *name, bool dflt, bool *out,
                       wr_error_t *err);
/* Query NAME as decimal digits from MIN to MAX; *PRESENT says whether it was
 * there (*OUT untouched when not). */
int wr_api_query_int (const wr_api_request_t *req, const char *name, int64_t min, int64_t max,
                      bool *present, int64_t *out, wr_error_t *err);
/* Query NAME as 1 to 5 octal digits, 0 to 07777. */
int wr_api_query_mode (const wr_api_request_t *req, const char *name, bool *present, int64_t *out,
                       wr_error_t *err);
/* Query NAME, required and not empty. */
const char *wr_api_query_required (const wr_api_request_t *req, const char *name, wr_error_t *err);

/* Replaces member "mode" of BODY, when a string of octal digits, with its
 * integer; checks it is 0 to 07777 ("request body: mode: ..."). */
int wr_api_body_mode (json_object *body, wr_error_t *err);

/* A message of TYPE with every member of BODY (checked already). */
wr_agent_message_t *wr_api_message_from (wr_agent_msg_type_t type, json_object *body);

/* Sends MSG and waits for its one answer (WR_API_AGENT_DEADLINE_MS). */
int wr_api_agent_request (wr_agent_client_t *agent, const wr_agent_message_t *msg,
                          wr_agent_message_t **reply, wr_error_t *err);
/* Sends MSG, answered by messages until END, and appends the members KEY
 * (arrays) of every one to *ITEMS (a new array); *TRUNCATED: one said
 * "truncated". */
int wr_api_agent_collect (wr_agent_client_t *agent, const wr_agent_message_t *msg, const char *key,
                          json_object **items, bool *truncated, wr_error_t *err);

/* Pipes REQ's body into CALL (a request with a body), END on the last
 * piece.  When the agent ended the stream early, its error is the one
 * returned. */
int wr_api_pipe_body (const wr_api_request_t *req, wr_agent_call_t *call, wr_error_t *err);

/* The API's Process of the agent's process object (docs/api.md). */
json_object *wr_api_process_json (json_object *process);
/* The API's FileInfo of the agent's file.info object: mode_octal added. */
json_object *wr_api_file_info_json (json_object *info);

#endif
