/* warrend's state: ROOT/warrend.db (SQLite, WAL, foreign keys on), one row
 * per sandbox with its spec, its state and reason, its times and the host
 * resources it owns, so that a restarted warrend can adopt what still
 * runs and clean up what does not.
 *
 * The schema's version is PRAGMA user_version; opening a database runs
 * each missing migration in its own transaction, and refuses a database
 * newer than this code.
 *
 * Threads: one connection behind a mutex.  warrend's statements are a few
 * rows each and SQLite serialises writers anyway, so a connection per
 * thread would buy no concurrency worth having, while the mutex makes a
 * read-check-write (a state transition) atomic within the process without
 * holding a write transaction open; BEGIN IMMEDIATE makes it atomic
 * against other processes too (the CLI reading the same file).
 *
 * Times are milliseconds since the epoch; 0 means not set (NULL).  Every
 * error names the sandbox's id (or name). */
#ifndef WARREN_SANDBOX_DB_H
#define WARREN_SANDBOX_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "sandbox_spec.h"

#define WR_SANDBOX_DB_SCHEMA_VERSION 5
/* "sb-" and 16 lower-case hex digits. */
#define WR_SANDBOX_ID_LEN 19

typedef enum {
    WR_SANDBOX_CREATING = 0,
    WR_SANDBOX_STARTING,
    WR_SANDBOX_RUNNING,
    WR_SANDBOX_STOPPING,
    WR_SANDBOX_STOPPED,
    WR_SANDBOX_FAILED,
} wr_sandbox_state_t;
#define WR_SANDBOX_N_STATES 6

/* "creating", "starting", "running", "stopping", "stopped", "failed". */
const char *wr_sandbox_state_name (wr_sandbox_state_t state);
/* -1 with an INVALID error quoting TEXT when it names no state. */
int wr_sandbox_state_parse (const char *text, wr_sandbox_state_t *state, wr_error_t *err);
/* The transitions allowed: creating -> starting -> running -> stopping ->
 * stopped, creating -> stopped (an abandoned create), and any state but
 * stopped and failed -> failed. */
bool wr_sandbox_transition_valid (wr_sandbox_state_t from, wr_sandbox_state_t to);

/* What a sandbox holds on the host; NULL when it holds none of a kind. */
typedef struct {
    char *runsc_id; /* the runsc container id */
    char *bundle_dir;
    char *netns; /* the network namespace's name (ip netns) */
    char *cgroup; /* the cgroup's path */
    char *agent_dir; /* the directory of the agent's socket */
    char *address; /* its IPv4 address on its link (sandbox_net.h) */
} wr_sandbox_resources_t;

typedef struct {
    char *id; /* "sb-" + 16 hex digits */
    char *name; /* NULL when none; unique among the sandboxes that have not
                 * ended (an ended one gives its name back, and keeps it in
                 * its record) */
    char *client; /* who asked for it (api_server.h's "uid:0"), or NULL */
    wr_sandbox_label_t *labels;
    size_t n_labels;
    char *spec_json; /* wr_sandbox_spec_to_json's text */
    int64_t keep_warm_seconds; /* the current idle lifetime, -1: never */
    char *image_ref; /* as asked */
    char *manifest_digest; /* resolved, or NULL until then */
    char *root_id; /* the unpacked root, or NULL */
    wr_sandbox_state_t state;
    char *reason; /* why it stopped or failed, or NULL */
    int64_t created_ms, started_ms, ended_ms, last_activity_ms;
    int64_t expires_ms; /* 0: never */
    wr_sandbox_resources_t resources;
    char *network; /* its current network policy (wr_net_policy_to_json), or NULL: the spec's */
} wr_sandbox_record_t;

typedef struct wr_sandbox_db_s wr_sandbox_db_t;

/* Opens (creating it and ROOT if needed) ROOT/warrend.db.
 * MAX_LIFETIME_SECONDS is the daemon-wide bound on a sandbox's life from
 * its creation (0 or less: none), applied to every expiry computed.  A
 * file that is not a database, or a damaged one, fails naming it. */
wr_sandbox_db_t *wr_sandbox_db_open (const char *root, int64_t max_lifetime_seconds,
                                     wr_error_t *err);
void wr_sandbox_db_close (wr_sandbox_db_t *db);
/* "ROOT/warrend.db". */
const char *wr_sandbox_db_path (const wr_sandbox_db_t *db);

/* Records a new sandbox in state creating.  RECORD gives name, labels,
 * spec_json, keep_warm_seconds and image_ref (the rest may be unset); id
 * (a new random one when NULL), created_ms and last_activity_ms (now when
 * 0) and expires_ms are filled in.  A name already taken fails with kind
 * EXISTS naming the name and the sandbox holding it. */
int wr_sandbox_db_insert (wr_sandbox_db_t *db, wr_sandbox_record_t *record, wr_error_t *err);

/* The sandboxes one client (a record's CLIENT) may have at once, in any
 * state but stopped and failed: an insert over it fails with kind too_many
 * (checked and inserted in one transaction).  0: no limit. */
void wr_sandbox_db_set_client_limit (wr_sandbox_db_t *db, int64_t max);
/* Fails as that insert would for CLIENT now (NULL: never): for an early
 * answer; the insert checks again. */
int wr_sandbox_db_client_check (wr_sandbox_db_t *db, const char *client, wr_error_t *err);

/* The sandbox ID (or named NAME: the one holding the name, or else the
 * one that ended last with it) into *RECORD; kind NOT_FOUND when there is
 * none. */
int wr_sandbox_db_get (wr_sandbox_db_t *db, const char *id, wr_sandbox_record_t *record,
                       wr_error_t *err);
int wr_sandbox_db_get_by_name (wr_sandbox_db_t *db, const char *name, wr_sandbox_record_t *record,
                               wr_error_t *err);

/* What a list keeps; every field set must match (labels all of them). */
typedef struct {
    bool has_state;
    wr_sandbox_state_t state;
    const char *name; /* or NULL */
    const wr_sandbox_label_t *labels;
    size_t n_labels;
} wr_sandbox_filter_t;

/* The sandboxes matching FILTER (NULL: all), oldest first.  Free with
 * wr_sandbox_records_free. */
int wr_sandbox_db_list (wr_sandbox_db_t *db, const wr_sandbox_filter_t *filter,
                        wr_sandbox_record_t **records, size_t *count, wr_error_t *err);
/* How many sandboxes are in each state: COUNTS[WR_SANDBOX_RUNNING] the
 * running ones, and so on. */
int wr_sandbox_db_count_states (wr_sandbox_db_t *db, uint64_t counts[WR_SANDBOX_N_STATES],
                                wr_error_t *err);
/* The running sandboxes whose expires_ms <= NOW_MS (0: now), oldest first. */
int wr_sandbox_db_list_expired (wr_sandbox_db_t *db, int64_t now_ms, wr_sandbox_record_t **records,
                                size_t *count, wr_error_t *err);

/* Moves ID to state TO with REASON (may be NULL), at NOW_MS (0: now): an
 * invalid transition fails with kind INVALID naming both states.  Running
 * sets started_ms and counts as activity (expires_ms recomputed); stopped
 * and failed set ended_ms and clear expires_ms. */
int wr_sandbox_db_set_state (wr_sandbox_db_t *db, const char *id, wr_sandbox_state_t to,
                             const char *reason, int64_t now_ms, wr_error_t *err);
/* Records what the image resolved to (NULL leaves a field as it is). */
int wr_sandbox_db_set_image (wr_sandbox_db_t *db, const char *id, const char *manifest_digest,
                             const char *root_id, wr_error_t *err);
/* Records host resources: a NULL field leaves the column as it is, ""
 * clears it. */
int wr_sandbox_db_set_resources (wr_sandbox_db_t *db, const char *id,
                                 const wr_sandbox_resources_t *resources, wr_error_t *err);
/* Records ID's current network policy (wr_net_policy_to_json's text). */
int wr_sandbox_db_set_network (wr_sandbox_db_t *db, const char *id, const char *policy_json,
                               wr_error_t *err);
/* API activity on ID at NOW_MS (0: now): last_activity_ms = NOW_MS and
 * expires_ms = the earlier of NOW_MS + keep_warm_seconds (unless -1) and
 * created_ms + the daemon's max lifetime (unless none); 0 when neither. */
int wr_sandbox_db_touch (wr_sandbox_db_t *db, const char *id, int64_t now_ms, wr_error_t *err);
/* Changes ID's idle lifetime to KEEP_WARM_SECONDS (-1: never) and
 * recomputes expires_ms from its last activity, as above.  Only a sandbox
 * that has not ended. */
int wr_sandbox_db_set_expiry (wr_sandbox_db_t *db, const char *id, int64_t keep_warm_seconds,
                              wr_error_t *err);
/* Removes ID's row; kind NOT_FOUND when there is none. */
int wr_sandbox_db_delete (wr_sandbox_db_t *db, const char *id, wr_error_t *err);
/* Removes, with their labels and ports, the records of the sandboxes that
 * ended (stopped or failed) at ENDED_BEFORE_MS or before; *FORGOTTEN (may
 * be NULL) gets how many.  A sandbox that has not ended is never removed. */
int wr_sandbox_db_forget_ended (wr_sandbox_db_t *db, int64_t ended_before_ms, size_t *forgotten,
                                wr_error_t *err);

/* The expiry rule above, for a sandbox created at CREATED_MS and last
 * active at ACTIVITY_MS: 0 for never. */
int64_t wr_sandbox_expiry_ms (int64_t created_ms, int64_t activity_ms, int64_t keep_warm_seconds,
                              int64_t max_lifetime_seconds);

/* A sandbox port exposed on warrend's host (sandbox_db_ports.c). */
typedef struct {
    int port; /* in the sandbox */
    int host_port; /* on the daemon's port address */
} wr_sandbox_port_t;

/* Records PORT of sandbox ID as exposed on HOST_PORT: kind exists when
 * the sandbox has PORT exposed already, or HOST_PORT is another's. */
int wr_sandbox_db_port_add (wr_sandbox_db_t *db, const char *id, int port, int host_port,
                            wr_error_t *err);
/* Forgets PORT of ID (kind not found when it is not exposed); PORT 0:
 * every port of ID (none is no error). */
int wr_sandbox_db_port_remove (wr_sandbox_db_t *db, const char *id, int port, wr_error_t *err);
/* ID's exposed ports, by port; *PORTS malloc'ed (NULL when none). */
int wr_sandbox_db_ports (wr_sandbox_db_t *db, const char *id, wr_sandbox_port_t **ports,
                         size_t *count, wr_error_t *err);

void wr_sandbox_resources_clear (wr_sandbox_resources_t *resources);
void wr_sandbox_record_clear (wr_sandbox_record_t *record);
void wr_sandbox_records_free (wr_sandbox_record_t *records, size_t count);

#endif
