/* warren-init --agent-socket PATH: the agent of docs/agent-protocol.md
 * (see "The agent in warren-init" there). */
#ifndef WARREN_INIT_AGENT_MAIN_H
#define WARREN_INIT_AGENT_MAIN_H

#include "options.h"
#include "reaper.h"

/* Serves the agent on ARGS->agent_socket until SIGTERM (no command) or
 * until the command exits; with --docker, starts dockerd first.  Returns
 * warren-init's exit code. */
int agent_main (const init_args_t *args, reaper_t *reaper);

#endif
