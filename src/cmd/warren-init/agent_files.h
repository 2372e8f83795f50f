/* The agent's file requests (docs/agent-protocol.md, "Files"). */
#ifndef WARREN_INIT_AGENT_FILES_H
#define WARREN_INIT_AGENT_FILES_H

#include "agent_message.h"
#include "agent_reply.h"

/* Serves REQ, a decoded file.* request (file.read, file.write, file.stat,
 * file.list, file.mkdir, file.remove, file.rename, file.chmod, file.chown,
 * file.find, file.replace), on the calling (worker) thread, and sends its
 * whole answer through REPLY: its messages and data, the last with END, or
 * an error (which carries END).  Every path is confined to ROOT ("/" in a
 * sandbox): see agent_path.h. */
void agent_files_serve (const char *root, const wr_agent_message_t *req, agent_reply_t *reply);

#endif
