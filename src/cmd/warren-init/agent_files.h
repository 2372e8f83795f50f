/* File requests (file.*, docs/agent-protocol.md), served on a worker
 * thread with paths confined to ROOT ("/" in a sandbox).  REQ is the
 * decoded request; everything goes back through REPLY (agent_reply.h). */
#ifndef WARREN_INIT_AGENT_FILES_H
#define WARREN_INIT_AGENT_FILES_H

#include "agent_message.h"
#include "agent_reply.h"

void agent_files_serve (const char *root, const wr_agent_message_t *req, agent_reply_t *reply);

#endif
