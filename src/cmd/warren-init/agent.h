/* The agent of docs/agent-protocol.md inside warren-init: its state and
 * how its files share it.
 *
 * One thread, the loop (agent_conn.c), owns everything: it holds
 * agent->lock all the time except while it waits in poll().  Worker
 * threads (requests served through agent_reply.h) take the same lock for
 * each call and wake the loop through agent->wake_fd; they wait on
 * agent->cond, which the loop broadcasts whenever a window grows, a body
 * arrives, a stream is cancelled or a connection goes away. */
#ifndef WARREN_INIT_AGENT_H
#define WARREN_INIT_AGENT_H

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent_frame.h"
#include "agent_message.h"
#include "agent_output.h"
#include "error.h"
#include "reaper.h"

#define AGENT_WINDOW 4194304 /* the window this side grants in its hello */
#define AGENT_OUT_HIGH (4u << 20) /* a connection's queue above which sources wait */
#define AGENT_OUT_MAX (64u << 20) /* a peer that lets its queue grow past this is dropped */
#define AGENT_DATA_CHUNK (256u << 10) /* output and tunnel data frames */

typedef struct agent agent_t;
typedef struct agent_conn agent_conn_t;
typedef struct agent_stream agent_stream_t;
typedef struct agent_process agent_process_t;

typedef enum {
    STREAM_SIMPLE, /* answered at once; never kept */
    STREAM_WORKER, /* served on a worker thread (agent_reply.h) */
    STREAM_READER, /* output.read */
    STREAM_WAIT, /* process.wait */
    STREAM_STDIN, /* stdin */
    STREAM_TUNNEL, /* tunnel.open, and relay.open (agent_relay.c) */
    STREAM_DOCKER, /* docker.watch */
} stream_kind_t;

struct agent_stream {
    agent_stream_t *next; /* in its connection */
    agent_conn_t *conn;
    uint32_t id;
    stream_kind_t kind;
    int refs; /* the connection's list, and a worker while it runs */
    bool we_ended; /* our END is sent */
    bool peer_ended; /* the peer's END arrived */
    bool cancelled; /* cancel arrived, or the connection is gone */
    int64_t send_window; /* data bytes we may still send */
    int64_t recv_window; /* body bytes the peer may still send */
    uint64_t recv_offset; /* the next body offset expected */
    uint64_t send_offset; /* channel 0: the next offset we send */
    size_t unacked; /* body bytes consumed but not yet granted again */
    wr_agent_buf_t body; /* body bytes received, not yet consumed */
    wr_agent_message_t *request;
    /* READER, WAIT, STDIN */
    char *process_id;
    bool want[2]; /* READER: stdout, stderr */
    uint64_t offset[2]; /* READER: the next offset to send per channel */
    bool follow;
    bool stdin_close; /* STDIN */
    long long deadline_ms; /* WAIT: monotonic; -1 none */
    int fd; /* TUNNEL: the connection in the sandbox; -1 once closed */
    bool fd_write_shut;
    bool relay; /* TUNNEL: opened by us with relay.open (an even id) */
    bool relay_waiting; /* relay.open sent, warrend's ok not yet in */
};

struct agent_conn {
    agent_conn_t *next;
    agent_t *agent;
    int fd; /* -1 once closed */
    wr_agent_decoder_t *dec;
    unsigned version; /* 0 until the handshake is done */
    int64_t peer_window; /* the initial window of each stream */
    wr_agent_buf_t out;
    agent_stream_t *streams;
    uint32_t max_stream; /* the highest id the peer opened */
    uint32_t last_relay; /* the last (even) id we opened, 0: none */
    bool relays; /* its hello said it takes relay.open */
    bool closing; /* a protocol error: flush the error, then close */
    long long close_deadline_ms;
    int refs; /* the loop, and the streams of workers still running */
};

struct agent_process {
    agent_process_t *next;
    char id[16]; /* "p1", "p2"... */
    pid_t pid;
    char **argv;
    bool tty;
    int pty_fd; /* the terminal's master side, or -1 */
    int stdin_fd; /* a pipe (or the master), -1 when closed */
    int out_fd[2]; /* stdout and stderr pipes (a terminal: [0] is the master) */
    agent_output_t output[2];
    long long started_ms, ended_ms; /* since the epoch */
    bool exited;
    int status; /* wait status */
    long long drain_deadline_ms; /* monotonic: pipes held open after the exit are closed then */
};

typedef struct {
    const char *socket_path;
    const char *root; /* for file requests: "/" */
    const char *spill_dir;
    int registry_mirror_port; /* with --docker: the relay's loopback port; 0: none */
    int max_processes; /* running at once; 0: no limit */
    const char *default_user; /* an exec that names no user runs as this; NULL: the agent's */
} agent_options_t;

/* Docker's readiness as the loop measures it (agent_docker.c). */
typedef enum {
    AGENT_DOCKER_NONE, /* no --docker */
    AGENT_DOCKER_STARTING,
    AGENT_DOCKER_READY,
    AGENT_DOCKER_FAILED,
} agent_docker_state_t;

struct agent {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int wake_fd; /* an eventfd: a worker queued something */
    int listen_fd; /* -1 while checkpointing */
    int relay_fd; /* the registry mirror's loopback port (agent_relay.c), or -1 */
    agent_options_t options;
    reaper_t *reaper;
    agent_conn_t *conns;
    agent_process_t *processes;
    unsigned next_process;
    bool stop; /* SIGTERM */
    pid_t main_pid; /* the command given on the command line, or -1 */
    bool main_exited;
    int main_status;
    struct agent_docker *docker; /* NULL without --docker */
};

/* agent_conn.c */
int agent_listen (agent_t *agent, wr_error_t *err);
void agent_unlisten (agent_t *agent);
/* Serves until SIGTERM or, with a main command, until it exits.  Returns
 * warren-init's exit code. */
int agent_run (agent_t *agent);
/* Queues a message on STREAM (END: the last); drops it when the stream
 * has ended.  Logs and closes the connection on an encoding failure. */
void agent_send (agent_stream_t *stream, wr_agent_message_t *msg, bool end);
void agent_send_error (agent_stream_t *stream, wr_error_kind_t kind, int errno_value,
                       const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));
void agent_send_data (agent_stream_t *stream, uint8_t channel, uint64_t offset, const void *data,
                      size_t n, bool end);
/* Whether a source may queue data on STREAM now (window and queue). */
bool agent_stream_can_send (const agent_stream_t *stream);
/* Gives the peer back N consumed body bytes of STREAM's window. */
void agent_stream_consumed (agent_stream_t *stream, size_t n);
void agent_wake (agent_t *agent);

/* A new stream ID of CONN (its first reference is the connection's list),
 * with REQUEST (taken; may be NULL). */
agent_stream_t *agent_stream_open (agent_conn_t *conn, uint32_t id, wr_agent_message_t *request,
                                   bool end);

/* agent_stream.c: requests served on worker threads. */
void agent_worker_start (agent_stream_t *stream);
void agent_stream_unref (agent_stream_t *stream);
void agent_conn_unref (agent_conn_t *conn);

/* agent_process.c */
void agent_process_exec (agent_t *agent, agent_stream_t *stream);
void agent_process_request (agent_t *agent, agent_stream_t *stream);
agent_process_t *agent_process_find (agent_t *agent, const char *id);
/* Whether its output is complete: exited and both pipes at their end. */
bool agent_process_ended (const agent_process_t *p);
void agent_process_exit_set (const agent_process_t *p, json_object *obj);
/* Answers S with P's process message (END). */
void agent_process_send (agent_stream_t *s, const agent_process_t *p);
/* agent_process_io.c: output.read and stdin streams of P. */
void agent_process_io_start (agent_t *agent, agent_stream_t *s, agent_process_t *p);
void agent_process_on_exit (agent_t *agent, pid_t pid, int status);
/* Poll entries for the processes' pipes; then their events. */
size_t agent_process_poll_fds (agent_t *agent, struct pollfd *fds, size_t cap, long long now,
                               int *timeout);
void agent_process_events (agent_t *agent, struct pollfd *fds, size_t n, long long now);
/* The streams of processes (readers, waits, stdin) after every turn. */
void agent_process_tick (agent_t *agent, agent_stream_t *stream, long long now, int *timeout);
void agent_process_free_all (agent_t *agent);
void agent_process_kill_all (agent_t *agent);

/* agent_docker.c */
int agent_docker_start (agent_t *agent, wr_error_t *err);
void agent_docker_watch (agent_t *agent, agent_stream_t *stream);
size_t agent_docker_poll_fds (agent_t *agent, struct pollfd *fds, size_t cap, long long now,
                              int *timeout);
void agent_docker_events (agent_t *agent, struct pollfd *fds, size_t n, long long now);
void agent_docker_tick (agent_t *agent, agent_stream_t *stream);
void agent_docker_on_exit (agent_t *agent, pid_t pid, int status);
void agent_docker_stop (agent_t *agent);
/* Marks Docker as failed with ERROR (its start failed). */
void agent_docker_fail_start (agent_t *agent, const wr_error_t error);

/* agent_tunnel.c */
void agent_tunnel_open (agent_t *agent, agent_stream_t *stream);
size_t agent_tunnel_poll_fd (agent_stream_t *stream, struct pollfd *fd);
void agent_tunnel_event (agent_stream_t *stream, short revents);
void agent_tunnel_tick (agent_stream_t *stream);
void agent_tunnel_close (agent_stream_t *stream);

/* agent_relay.c: the registry mirror's port, relayed to warrend. */
int agent_relay_listen (agent_t *agent, int port, wr_error_t *err);
void agent_relay_unlisten (agent_t *agent);
/* A connection on the port: relayed on a new stream of the newest
 * connection, or closed when there is none. */
void agent_relay_accept (agent_t *agent);
/* Warrend's answer (ok or error) on relay stream S. */
void agent_relay_answer (agent_stream_t *s, const wr_agent_message_t *msg, bool end);

/* Realtime milliseconds since the epoch. */
long long agent_now_ms (void);

#endif
