/* What the agent's file replies carry: file.info objects and text that
 * must be valid UTF-8 (warrend's decoder refuses anything else, so a file
 * name or a line that is not is left out or mended here, never sent). */
#ifndef WARREN_INIT_AGENT_FILE_INFO_H
#define WARREN_INIT_AGENT_FILE_INFO_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "agent_reply.h"

/* A file.info object (without "type") for PATH as ST says, with TARGET (a
 * symlink's, or NULL) when it is a valid path string. */
json_object *agent_file_info_object (const char *path, const struct stat *st, const char *target);

/* A file.info message for PATH, the file DIR_FD/NAME (not followed). */
wr_agent_message_t *agent_file_info_message (const char *path, int dir_fd, const char *name,
                                             wr_error_t *err);

/* Whether LEN bytes of TEXT are valid UTF-8 without a NUL. */
bool agent_utf8_valid (const char *text, size_t len);
/* A copy of at most MAX bytes of LEN bytes of TEXT, valid UTF-8: invalid
 * bytes and NULs become '?', the cut falls on a character's start. */
char *agent_utf8_mend (const char *text, size_t len, size_t max);
/* Whether TEXT can go in a path field: 1 to 4096 bytes of valid UTF-8. */
bool agent_path_sendable (const char *text);

/* Sends ERROR as the stream's error, its message made sendable (valid
 * UTF-8, at most 4096 bytes) first. */
void agent_files_reply_error (agent_reply_t *reply, const wr_error_t error);

/* A message is at most 1 MiB of JSON: batches of entries and matches are
 * sent before they could reach it (an estimate of their size, bytes). */
#define AGENT_BATCH_BYTES (640u * 1024u)
#define AGENT_BATCH_ITEMS 16384u
/* How much JSON a string of LEN bytes may take at most (\u00XX escapes). */
#define AGENT_JSON_COST(len) ((len) *6u + 16u)

#endif
