/* A process the Docker routes run in the sandbox through its agent (tar
 * of a build's context, `docker compose`): started, its output read as it
 * comes (both streams, followed), and at the end its exit status; freed,
 * it is killed when still running and forgotten by the agent (its kept
 * output with it). */
#ifndef WARREN_API_SANDBOX_PROCESS_H
#define WARREN_API_SANDBOX_PROCESS_H

#include <stdbool.h>
#include <stddef.h>

#include "agent_client.h"
#include "error.h"

typedef struct wr_api_sandbox_process_s wr_api_sandbox_process_t;

/* Starts ARGV (in CWD, may be NULL) with AGENT, which must outlive it. */
wr_api_sandbox_process_t *wr_api_sandbox_process_start (wr_agent_client_t *agent, char **argv,
                                                        const char *cwd, wr_error_t *err);
/* The next piece of output: 1 with *ITEM (a data item: CHANNEL 1 stdout,
 * 2 stderr; clear it), 0 at the end with *EXIT_CODE (128+N for a signal),
 * -1 with *ERR.  Waits at most TIMEOUT_MS for the piece: then 1 with an
 * empty item, so the caller can look whether to give up. */
int wr_api_sandbox_process_next (wr_api_sandbox_process_t *p, int timeout_ms, wr_agent_item_t *item,
                                 int *exit_code, wr_error_t *err);
void wr_api_sandbox_process_free (wr_api_sandbox_process_t *p);

#endif
