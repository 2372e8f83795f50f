/* The file requests agent_files_serve dispatches to, one file each.  Each
 * sends its answer through REPLY, the last message or data frame with END,
 * and returns 0; or returns -1 with ERR, having sent no END, and the
 * caller sends ERR as the stream's error.  ROOT_FD is an O_PATH descriptor
 * of the root every path is confined to. */
#ifndef WARREN_INIT_AGENT_FILE_OPS_H
#define WARREN_INIT_AGENT_FILE_OPS_H

#include "agent_message.h"
#include "agent_reply.h"
#include "error.h"

/* agent_file_io.c */
int agent_file_read (int root_fd, const wr_agent_message_t *req, agent_reply_t *reply,
                     wr_error_t *err);
int agent_file_write (int root_fd, const wr_agent_message_t *req, agent_reply_t *reply,
                      wr_error_t *err);
/* agent_file_list.c */
int agent_file_list (int root_fd, const wr_agent_message_t *req, agent_reply_t *reply,
                     wr_error_t *err);
/* agent_file_find.c */
int agent_file_find (int root_fd, const wr_agent_message_t *req, agent_reply_t *reply,
                     wr_error_t *err);
int agent_file_replace (int root_fd, const wr_agent_message_t *req, agent_reply_t *reply,
                        wr_error_t *err);

/* A temporary file next to NAME in DIR_FD (mode 0600, O_WRONLY): its
 * descriptor, its name in *TMP (caller frees); -1 with errno. */
int agent_temp_open (int dir_fd, const char *name, char **tmp);

/* Removes NAME in DIR_FD and, when it is a directory, all it holds,
 * following no symlink and holding two directories open whatever the
 * depth.  PATH names it in errors. */
int agent_remove_tree (int dir_fd, const char *name, const char *path, agent_reply_t *reply,
                       wr_error_t *err);

#endif
