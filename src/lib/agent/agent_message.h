/* The control messages of the agent protocol (docs/agent-protocol.md): JSON
 * objects with a "type" member, carried in message frames, parsed strictly
 * (json-c's strict mode, valid UTF-8, no NUL, bounded depth and size),
 * checked against the schema of their type (unknown fields refused, types
 * and ranges checked, required fields present) and against the rules of
 * streams (who may send it, on which stream ids).
 *
 * A decoded message is valid, so its getters cannot fail.  Encoding checks
 * the same schema, so neither side sends what the other would refuse.
 * Like agent_frame.c this uses libc, json-c and core's error.c and
 * xalloc.c only, for the static warren-init. */
#ifndef WARREN_AGENT_MESSAGE_H
#define WARREN_AGENT_MESSAGE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent_frame.h"
#include "error.h"

typedef enum {
    /* the connection and every stream */
    WR_AGENT_MSG_HELLO,
    WR_AGENT_MSG_ERROR,
    WR_AGENT_MSG_OK,
    WR_AGENT_MSG_CANCEL,
    WR_AGENT_MSG_WINDOW,
    WR_AGENT_MSG_PING,
    WR_AGENT_MSG_PONG,
    /* processes */
    WR_AGENT_MSG_EXEC,
    WR_AGENT_MSG_STARTED,
    WR_AGENT_MSG_PROCESS_STATUS,
    WR_AGENT_MSG_PROCESS_WAIT,
    WR_AGENT_MSG_PROCESS,
    WR_AGENT_MSG_PROCESS_SIGNAL,
    WR_AGENT_MSG_PROCESS_KILL,
    WR_AGENT_MSG_PROCESS_RESIZE,
    WR_AGENT_MSG_PROCESS_LIST,
    WR_AGENT_MSG_PROCESSES,
    WR_AGENT_MSG_PROCESS_REMOVE,
    WR_AGENT_MSG_OUTPUT_READ,
    WR_AGENT_MSG_OUTPUT_END,
    WR_AGENT_MSG_STDIN,
    /* files */
    WR_AGENT_MSG_FILE_READ,
    WR_AGENT_MSG_FILE_WRITE,
    WR_AGENT_MSG_FILE_STAT,
    WR_AGENT_MSG_FILE_INFO,
    WR_AGENT_MSG_FILE_LIST,
    WR_AGENT_MSG_FILE_ENTRIES,
    WR_AGENT_MSG_FILE_MKDIR,
    WR_AGENT_MSG_FILE_REMOVE,
    WR_AGENT_MSG_FILE_RENAME,
    WR_AGENT_MSG_FILE_CHMOD,
    WR_AGENT_MSG_FILE_CHOWN,
    WR_AGENT_MSG_FILE_FIND,
    WR_AGENT_MSG_FILE_MATCHES,
    WR_AGENT_MSG_FILE_REPLACE,
    WR_AGENT_MSG_FILE_REPLACED,
    /* Docker in the sandbox */
    WR_AGENT_MSG_DOCKER_WATCH,
    WR_AGENT_MSG_DOCKER_WAITING,
    WR_AGENT_MSG_DOCKER_READY,
    WR_AGENT_MSG_DOCKER_FAILED,
    /* snapshots */
    WR_AGENT_MSG_CHECKPOINT_PREPARE,
    WR_AGENT_MSG_CHECKPOINT_RESUME,
    /* byte streams through the channel */
    WR_AGENT_MSG_TUNNEL_OPEN,
    WR_AGENT_MSG_RELAY_OPEN,
    WR_AGENT_MSG_COUNT
} wr_agent_msg_type_t;

/* "exec", "output.end", ...: the value of the "type" member. */
const char *wr_agent_msg_type_name (wr_agent_msg_type_t type);
/* -1 when NAME is no type of version 1. */
int wr_agent_msg_type_from_name (const char *name);

typedef struct {
    wr_agent_msg_type_t type;
    json_object *json; /* the whole object, "type" included */
} wr_agent_message_t;

/* A message of TYPE with no fields yet. */
wr_agent_message_t *wr_agent_message_new (wr_agent_msg_type_t type);
void wr_agent_message_free (wr_agent_message_t *msg);
static inline void
wr_agent_message_cleanup (wr_agent_message_t **msg)
{
    wr_agent_message_free (*msg);
}
#define cleanup_agent_message __attribute__ ((cleanup (wr_agent_message_cleanup)))

/* Setters (checked when the message is encoded). */
void wr_agent_message_set_string (wr_agent_message_t *msg, const char *key, const char *value);
void wr_agent_message_set_int (wr_agent_message_t *msg, const char *key, int64_t value);
void wr_agent_message_set_bool (wr_agent_message_t *msg, const char *key, bool value);
/* A NULL-terminated vector of strings as an array. */
void wr_agent_message_set_strv (wr_agent_message_t *msg, const char *key, char *const *strv);
/* Takes VALUE's reference. */
void wr_agent_message_set_json (wr_agent_message_t *msg, const char *key, json_object *value);

/* Getters of a decoded (so valid) message: the value, or DEFAULT / NULL
 * when the field is absent. */
bool wr_agent_message_has (const wr_agent_message_t *msg, const char *key);
const char *wr_agent_message_string (const wr_agent_message_t *msg, const char *key);
int64_t wr_agent_message_int (const wr_agent_message_t *msg, const char *key, int64_t dflt);
bool wr_agent_message_bool (const wr_agent_message_t *msg, const char *key, bool dflt);
/* A copy of an array of strings (caller frees each and the vector). */
char **wr_agent_message_strv (const wr_agent_message_t *msg, const char *key);
json_object *wr_agent_message_get (const wr_agent_message_t *msg, const char *key);

/* Checks MSG against its type's schema and the stream rules for a message
 * sent by FROM on STREAM, then appends it as a frame of VERSION to BUF. */
int wr_agent_message_encode (wr_agent_buf_t *buf, unsigned version, uint32_t stream, uint8_t flags,
                             wr_agent_side_t from, const wr_agent_message_t *msg, wr_error_t *err);

/* The message in FRAME, sent by FROM: parsed and checked.  Errors (kind
 * invalid, limit for sizes) name the sender, the type, the stream and the
 * JSON path of the field:
 *   "the agent's started message on stream 3: pid: must be an integer, not a string" */
wr_agent_message_t *wr_agent_message_decode (const wr_agent_frame_t *frame, wr_agent_side_t from,
                                             wr_error_t *err);

/* The handshake.  Both sides send a hello first, with the versions they
 * speak and the software they are; each uses the highest version both
 * speak.  A hello may carry fields a newer version added: they are
 * ignored, so that any two versions can always tell each other apart. */
wr_agent_message_t *wr_agent_hello_new (const char *software);
/* The version to use with a peer whose hello is HELLO (from PEER): the
 * highest both speak.  -1 (kind invalid) when there is none, with a message
 * naming both sides' versions; send it as an error on stream 0 and close. */
int wr_agent_negotiate (const wr_agent_message_t *hello, wr_agent_side_t peer, unsigned *version,
                        wr_error_t *err);

/* An error message from ERROR: its kind's name, its message, its errno. */
wr_agent_message_t *wr_agent_error_new (const wr_error_t error);
/* Sets *OUT from an error message sent by FROM: its kind and "the agent: MESSAGE". */
int wr_agent_error_from (const wr_agent_message_t *msg, wr_agent_side_t from, wr_error_t *out);
/* The kind called NAME (as wr_error_kind_name spells it); -1 if none. */
int wr_agent_error_kind_from_name (const char *name);

/* exec's fields. */
typedef struct {
    char **argv; /* NULL-terminated, at least one */
    char **env; /* "KEY=VALUE", NULL-terminated; NULL for none */
    char *cwd; /* NULL: the sandbox's working directory */
    char *user; /* "name", "uid" or "uid:gid"; NULL: the sandbox's user */
    bool stdin; /* keep stdin open for stdin messages */
    bool tty; /* run on a terminal of ROWS x COLS */
    unsigned rows, cols;
    /* Protocol version 3: after started, the stream stays open and ends
     * with the process message once it ended (as process.wait answers),
     * or an unavailable error after WAIT_TIMEOUT_MS (0: none). */
    bool wait;
    int64_t wait_timeout_ms;
} wr_agent_exec_t;

wr_agent_message_t *wr_agent_exec_new (const wr_agent_exec_t *exec);
/* From a decoded exec message; clear OUT with wr_agent_exec_clear. */
void wr_agent_exec_from (const wr_agent_message_t *msg, wr_agent_exec_t *out);
void wr_agent_exec_clear (wr_agent_exec_t *exec);

/* How a process is, or how it ended, exactly. */
typedef enum {
    WR_AGENT_RUNNING,
    WR_AGENT_EXITED, /* EXIT_CODE is its exit status, 0 to 255 */
    WR_AGENT_SIGNALED, /* SIGNAL killed it */
} wr_agent_state_t;

typedef struct {
    wr_agent_state_t state;
    int exit_code;
    int signal;
    bool core_dumped;
} wr_agent_exit_t;

/* Sets "state", "exit_code", "signal" and "core_dumped" of a process,
 * processes entry or output.end message. */
void wr_agent_exit_set (json_object *obj, const wr_agent_exit_t *exit);
/* From such an object (decoded, so consistent). */
void wr_agent_exit_get (json_object *obj, wr_agent_exit_t *out);

#endif
