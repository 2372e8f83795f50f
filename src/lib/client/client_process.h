/* Processes in a sandbox through warrend's API (docs/api.md, "Process"):
 * exec, get, list, wait, signal, kill, remove, their output (from any
 * offset, following) and their stdin. */
#ifndef WARREN_CLIENT_PROCESS_H
#define WARREN_CLIENT_PROCESS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "error.h"

typedef struct {
    const char *const *argv; /* required, NULL-ended, not empty */
    const char *const *env; /* "KEY=VALUE", NULL-ended; NULL for none */
    const char *cwd; /* NULL: the sandbox's workdir */
    const char *user; /* name, uid or uid:gid; NULL: the image's */
    bool stdin_open; /* keep stdin open for wr_client_process_stdin */
    bool tty; /* a terminal of TTY_ROWS x TTY_COLS (0: 24 x 80) */
    int tty_rows, tty_cols;
} wr_client_exec_t;

/* What the client reads of a Process (pointers into its JSON). */
typedef struct {
    const char *pid; /* "p7" */
    const char *state; /* running, exited, signaled */
    int64_t os_pid;
    int64_t exit_code; /* exited */
    int64_t signal; /* signaled */
    bool core_dumped;
    int64_t started_ms, ended_ms;
} wr_client_process_t;

/* PROCESS checked (pid and state strings, an exited one's exit_code, a
 * signaled one's signal) and read. */
int wr_client_process_read (json_object *process, wr_client_process_t *out, wr_error_t *err);

/* POST /v1/sandboxes/{id}/processes.  *PROCESS: the Process (caller puts). */
int wr_client_process_exec (wr_client_t *client, const char *sandbox, const wr_client_exec_t *exec,
                            json_object **process, wr_error_t *err);
/* GET .../processes/{pid}. */
int wr_client_process_get (wr_client_t *client, const char *sandbox, const char *pid,
                           json_object **process, wr_error_t *err);
/* GET .../processes: the array of Process objects (caller puts). */
int wr_client_process_list (wr_client_t *client, const char *sandbox, json_object **processes,
                            wr_error_t *err);
/* POST .../processes/{pid}/wait: the Process once it ended; TIMEOUT_MS < 0
 * waits as long as it takes, else warrend answers UNAVAILABLE after it. */
int wr_client_process_wait (wr_client_t *client, const char *sandbox, const char *pid,
                            int64_t timeout_ms, json_object **process, wr_error_t *err);
/* POST .../signal {"signal": SIGNAL, "group": GROUP}. */
int wr_client_process_signal (wr_client_t *client, const char *sandbox, const char *pid, int signal,
                              bool group, wr_error_t *err);
/* POST .../kill: SIGKILL to its process group. */
int wr_client_process_kill (wr_client_t *client, const char *sandbox, const char *pid,
                            wr_error_t *err);
/* DELETE .../processes/{pid}: forget an ended process and its output. */
int wr_client_process_remove (wr_client_t *client, const char *sandbox, const char *pid,
                              wr_error_t *err);

typedef enum {
    WR_CLIENT_STDOUT = 1,
    WR_CLIENT_STDERR = 2,
    WR_CLIENT_BOTH = 3,
} wr_client_stream_t;

/* LEN bytes of STREAM (STDOUT or STDERR) at OFFSET of that stream.  -1
 * (with *ERR) stops the read. */
typedef int (*wr_client_output_fn) (void *data, wr_client_stream_t stream, int64_t offset,
                                    const char *bytes, size_t len, wr_error_t *err);

typedef struct {
    wr_client_stream_t streams; /* 0: BOTH */
    int64_t stdout_offset, stderr_offset;
    bool follow; /* keep reading while the process runs */
} wr_client_output_options_t;

/* Where a read of the output stopped. */
typedef struct {
    int64_t stdout_offset, stderr_offset; /* the next byte of each */
    /* With BOTH, the "end" event: the process's state then ("running" when
     * not following), its exit code or signal.  STATE is a copy (the
     * caller frees it; NULL without an end event). */
    char *state;
    int64_t exit_code, signal;
} wr_client_output_end_t;

/* GET .../processes/{pid}/output: every byte to ON_DATA as it comes (one
 * stream: raw bytes from the offset of X-Warren-Offset; BOTH: the output
 * events, base64 decoded, offsets checked to follow on).  END may be NULL;
 * when given the caller frees END->state. */
int wr_client_process_output (wr_client_t *client, const char *sandbox, const char *pid,
                              const wr_client_output_options_t *options,
                              wr_client_output_fn on_data, void *data, wr_client_output_end_t *end,
                              wr_error_t *err);

/* POST .../processes/{pid}/stdin: LEN bytes of BYTES written to its stdin;
 * CLOSE closes it after. */
int wr_client_process_stdin (wr_client_t *client, const char *sandbox, const char *pid,
                             const void *bytes, size_t len, bool close, wr_error_t *err);

#endif
