/* A stand-in for agent_files.c (branch agent-files): every file request is
 * answered `unavailable`.  Delete this file, and its line in meson.build,
 * when the real one lands. */
#include "agent_files.h"

void
agent_files_serve (const char *root, const wr_agent_message_t *req, agent_reply_t *reply)
{
    (void) root;
    cleanup_error wr_error_t err = NULL;
    wr_error_set_kind (&err, WR_ERROR_UNAVAILABLE, 0, "%s is not served by this warren-init yet",
                       wr_agent_msg_type_name (req->type));
    agent_reply_error (reply, err);
}
