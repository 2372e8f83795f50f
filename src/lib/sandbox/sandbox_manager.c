#include "sandbox_manager.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "heap.h"
#include "sandbox_cgroup.h"
#include "sandbox_destroy.h"
#include "sandbox_json.h"
#include "sandbox_manager_private.h"
#include "strv.h"
#include "xalloc.h"

/* ---- live sandboxes ---- */

live_t *
wr_sandbox_live_find (wr_sandbox_manager_t *mgr, const char *id)
{
    for (live_t *l = mgr->live; l != NULL; l = l->next)
        if (strcmp (l->id, id) == 0)
            return l;
    return NULL;
}

void
wr_sandbox_live_add (wr_sandbox_manager_t *mgr, const char *id, const char *agent_dir, pid_t pid,
                     const char *cgroup, bool docker)
{
    live_t *l = xzalloc (sizeof *l);
    l->id = xstrdup (id);
    l->agent_socket = xasprintf ("%s/agent.sock", agent_dir);
    l->cgroup = cgroup != NULL ? xstrdup (cgroup) : NULL;
    l->pidfd = pid > 0 ? (int) syscall (SYS_pidfd_open, pid, 0) : -1;
    l->log_fields[0] = "sandbox";
    l->log_fields[1] = l->id;
    l->log = (wr_log_t){ .fields = l->log_fields, .parent = mgr->log };
    if (docker && mgr->mirror != NULL)
        l->relays = wr_sandbox_relays_new (mgr->mirror, id, mgr->log);
    pthread_mutex_lock (&mgr->lock);
    l->next = mgr->live;
    mgr->live = l;
    pthread_mutex_unlock (&mgr->lock);
    if (docker) {
        cleanup_free char *dir = wr_sandbox_dir (mgr->host, id);
        cleanup_free char *path = xasprintf ("%s/docker.sock", dir);
        cleanup_error wr_error_t err = NULL;
        wr_docker_socket_t *sock = wr_docker_socket_start (mgr, id, path, mgr->log, &err);
        if (sock == NULL)
            wr_log_to (mgr->log, WR_LOG_WARN, "no docker socket for the sandbox", "sandbox", id,
                       "error", err->message, NULL);
        pthread_mutex_lock (&mgr->lock);
        l->docker_socket = sock;
        pthread_mutex_unlock (&mgr->lock);
    }
}

static void
live_free (live_t *l)
{
    /* Relays hold calls of the clients: closed first, they end. */
    if (l->relays != NULL) {
        if (l->agent != NULL)
            wr_agent_client_close (l->agent);
        for (size_t i = 0; i < l->n_retired; i++)
            wr_agent_client_close (l->retired[i]);
        wr_sandbox_relays_free (l->relays);
    }
    if (l->agent != NULL)
        wr_agent_client_free (l->agent);
    for (size_t i = 0; i < l->n_retired; i++)
        wr_agent_client_free (l->retired[i]);
    free (l->retired);
    if (l->pidfd >= 0)
        close (l->pidfd);
    free (l->id);
    free (l->agent_socket);
    free (l->cgroup);
    free (l);
}

/* Unlinks L from the dead list (the lock held). */
static void
dead_unlink (wr_sandbox_manager_t *mgr, live_t *l)
{
    for (live_t **p = &mgr->dead; *p != NULL; p = &(*p)->next) {
        if (*p == l) {
            *p = l->next;
            return;
        }
    }
}

void
wr_sandbox_live_remove (wr_sandbox_manager_t *mgr, const char *id)
{
    pthread_mutex_lock (&mgr->lock);
    live_t **p = &mgr->live;
    while (*p != NULL && strcmp ((*p)->id, id) != 0)
        p = &(*p)->next;
    live_t *l = *p;
    if (l == NULL) {
        pthread_mutex_unlock (&mgr->lock);
        return;
    }
    /* Onto the dead list: found there by the releases of the agent
     * references still held, and freed by the last of them or here. */
    *p = l->next;
    l->next = mgr->dead;
    mgr->dead = l;
    l->deleting = true;
    l->removing = true;
    wr_docker_socket_t *sock = steal_pointer (&l->docker_socket);
    wr_sandbox_exposed_t *exposed = steal_pointer (&l->exposed);
    /* Calls in flight fail now. */
    if (l->agent != NULL)
        wr_agent_client_close (l->agent);
    pthread_mutex_unlock (&mgr->lock);
    if (sock != NULL)
        wr_docker_socket_stop (sock);
    wr_sandbox_ports_stop (exposed);
    pthread_mutex_lock (&mgr->lock);
    l->removing = false;
    bool unused = l->agent_refs == 0;
    if (unused)
        dead_unlink (mgr, l);
    pthread_mutex_unlock (&mgr->lock);
    if (unused)
        live_free (l);
}

/* ---- open and close ---- */

wr_sandbox_manager_t *
wr_sandbox_manager_open (const wr_sandbox_manager_options_t *options, wr_error_t *err)
{
    wr_sandbox_manager_t *mgr = xzalloc (sizeof *mgr);
    mgr->root = xstrdup (options->root);
    mgr->store = options->store;
    mgr->registry = options->registry;
    mgr->mirror = options->mirror;
    mgr->host = options->host;
    mgr->net = options->net;
    mgr->port_address = options->port_address != NULL ? xstrdup (options->port_address) : NULL;
    mgr->init_path = xstrdup (options->init_path);
    mgr->pull_deadline_ms =
        options->pull_deadline_ms > 0 ? options->pull_deadline_ms : 10 * 60 * 1000;
    mgr->log = options->log;
    pthread_mutex_init (&mgr->lock, NULL);
    pthread_mutex_init (&mgr->stop_lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init (&attr);
    pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
    pthread_cond_init (&mgr->stop_cond, &attr);
    pthread_condattr_destroy (&attr);
    static const double create_bounds[] = { 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64 };
    static const double exec_bounds[] = { 0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
                                          0.1,   0.25,  0.5,   1,    5 };
    wr_histogram_init (&mgr->create_seconds, "warren_sandbox_create_seconds",
                       "Time from a create request to a running sandbox.", create_bounds, 9);
    wr_histogram_init (&mgr->docker_ready_seconds, "warren_sandbox_docker_ready_seconds",
                       "Time from dockerd's start to its first answer, as warren-init measured it.",
                       create_bounds, 9);
    wr_histogram_init (&mgr->exec_seconds, "warren_exec_seconds",
                       "Round trip of an exec through the API, to the process started.",
                       exec_bounds, 11);
    mgr->max_processes = options->max_processes_per_sandbox;
    mgr->keep_ended_ms = options->keep_ended_seconds > 0 ? options->keep_ended_seconds * 1000 : 0;
    mgr->db = wr_sandbox_db_open (options->root, options->max_lifetime_seconds, err);
    if (mgr->db != NULL)
        wr_sandbox_db_set_client_limit (mgr->db, options->max_sandboxes_per_client);
    if (mgr->db == NULL || wr_sandbox_recover (mgr, err) < 0 ||
        wr_sandbox_watch_start (mgr, err) < 0 || wr_sandbox_reconnect_start (mgr, err) < 0) {
        wr_sandbox_manager_close (mgr);
        return NULL;
    }
    return mgr;
}

void
wr_sandbox_manager_close (wr_sandbox_manager_t *mgr)
{
    if (mgr == NULL)
        return;
    wr_sandbox_watch_stop (mgr);
    wr_sandbox_reconnect_stop (mgr);
    /* The sandboxes keep running: only warrend's side goes. */
    for (;;) {
        pthread_mutex_lock (&mgr->lock);
        live_t *l = mgr->live;
        cleanup_free char *id = l != NULL ? xstrdup (l->id) : NULL;
        pthread_mutex_unlock (&mgr->lock);
        if (id == NULL)
            break;
        wr_sandbox_live_remove (mgr, id);
    }
    while (mgr->dead != NULL) {
        live_t *l = mgr->dead;
        mgr->dead = l->next;
        live_free (l);
    }
    if (mgr->db != NULL)
        wr_sandbox_db_close (mgr->db);
    pthread_cond_destroy (&mgr->stop_cond);
    pthread_mutex_destroy (&mgr->stop_lock);
    pthread_mutex_destroy (&mgr->lock);
    free (mgr->root);
    free (mgr->port_address);
    free (mgr->init_path);
    free (mgr);
}

/* ---- reading ---- */

/* The record of ID, an id or a name. */
int
wr_sandbox_lookup (wr_sandbox_manager_t *mgr, const char *id, wr_sandbox_record_t *record,
                   wr_error_t *err)
{
    if (strncmp (id, "sb-", 3) == 0)
        return wr_sandbox_db_get (mgr->db, id, record, err);
    if (wr_sandbox_db_get_by_name (mgr->db, id, record, NULL) == 0)
        return 0;
    return wr_sandbox_db_get (mgr->db, id, record, err);
}

static json_object *
record_json (wr_sandbox_manager_t *mgr, const wr_sandbox_record_t *record)
{
    cleanup_free char *socket = NULL;
    json_object *ports = NULL;
    pthread_mutex_lock (&mgr->lock);
    live_t *l = record->state == WR_SANDBOX_RUNNING ? wr_sandbox_live_find (mgr, record->id) : NULL;
    if (l != NULL && l->docker_socket != NULL)
        socket = xstrdup (wr_docker_socket_path (l->docker_socket));
    ports = wr_sandbox_ports_json_locked (mgr, l);
    pthread_mutex_unlock (&mgr->lock);
    json_object *o = wr_sandbox_record_json (record, socket);
    json_object_object_add (o, "ports", ports);
    wr_net_policy_t policy = { 0 };
    if (wr_sandbox_policy_of (record, &policy, NULL) == 0)
        wr_net_policy_add_json (&policy, o);
    wr_net_policy_clear (&policy);
    json_object_object_add (o, "address",
                            record->resources.address != NULL
                                ? json_object_new_string (record->resources.address)
                                : NULL);
    json_object_object_add (o, "egress", json_object_new_boolean (mgr->net != NULL));
    return o;
}

json_object *
wr_sandbox_manager_get (wr_sandbox_manager_t *mgr, const char *id, wr_error_t *err)
{
    wr_sandbox_record_t record = { 0 };
    if (wr_sandbox_lookup (mgr, id, &record, err) < 0)
        return NULL;
    json_object *o = record_json (mgr, &record);
    wr_sandbox_record_clear (&record);
    return o;
}

json_object *
wr_sandbox_manager_list (wr_sandbox_manager_t *mgr, const wr_sandbox_filter_t *filter,
                         wr_error_t *err)
{
    wr_sandbox_record_t *records = NULL;
    size_t n = 0;
    if (wr_sandbox_db_list (mgr->db, filter, &records, &n, err) < 0)
        return NULL;
    json_object *list = json_object_new_array ();
    for (size_t i = 0; i < n; i++)
        json_object_array_add (list, record_json (mgr, &records[i]));
    wr_sandbox_records_free (records, n);
    json_object *o = json_object_new_object ();
    json_object_object_add (o, "sandboxes", list);
    return o;
}

json_object *
wr_sandbox_manager_set_lifetime (wr_sandbox_manager_t *mgr, const char *id,
                                 int64_t keep_warm_seconds, wr_error_t *err)
{
    wr_sandbox_record_t record = { 0 };
    if (wr_sandbox_lookup (mgr, id, &record, err) < 0)
        return NULL;
    cleanup_free char *sid = xstrdup (record.id);
    wr_sandbox_record_clear (&record);
    if (wr_sandbox_db_set_expiry (mgr->db, sid, keep_warm_seconds, err) < 0)
        return NULL;
    return wr_sandbox_manager_get (mgr, sid, err);
}

/* ---- ending ---- */

char *
wr_sandbox_death_reason (const char *cgroup, const char *default_reason)
{
    int64_t kills = 0;
    if (cgroup != NULL &&
        wr_cgroup_read_int ("memory", cgroup, "memory.oom_control", "oom_kill", &kills, NULL) ==
            0 &&
        kills > 0)
        return xstrdup ("out of memory");
    return xstrdup (default_reason);
}

int
wr_sandbox_end (wr_sandbox_manager_t *mgr, const char *id, wr_sandbox_state_t to,
                const char *reason, wr_error_t *err)
{
    wr_sandbox_record_t record = { 0 };
    if (wr_sandbox_db_get (mgr->db, id, &record, err) < 0)
        return -1;
    wr_sandbox_state_t from = record.state;
    cleanup_free char *address = steal_pointer (&record.resources.address);
    wr_sandbox_record_clear (&record);
    if (from == WR_SANDBOX_STOPPED || from == WR_SANDBOX_FAILED)
        return 0;
    if (from == WR_SANDBOX_RUNNING &&
        wr_sandbox_db_set_state (mgr->db, id, WR_SANDBOX_STOPPING, NULL, 0, err) < 0)
        return -1;
    wr_sandbox_live_remove (mgr, id);
    wr_sandbox_db_port_remove (mgr->db, id, 0, NULL);
    cleanup_error wr_error_t destroy_err = NULL;
    int destroyed = wr_sandbox_destroy (mgr->host, id, &destroy_err);
    wr_sandbox_network_release (mgr, id, address);
    if (destroyed < 0) {
        /* Recorded as failed: what is left is named, for the operator and
         * the next recovery. */
        cleanup_free char *why =
            xasprintf ("%s; removing it failed: %s", reason, destroy_err->message);
        wr_sandbox_db_set_state (mgr->db, id, WR_SANDBOX_FAILED, why, 0, NULL);
        wr_error_propagate (err, &destroy_err);
        return -1;
    }
    /* A sandbox deleted before it ran: one still creating may be stopped,
     * one already starting can only fail (sandbox_db's transitions). */
    if (from == WR_SANDBOX_STARTING && to == WR_SANDBOX_STOPPED)
        to = WR_SANDBOX_FAILED;
    wr_log_to (mgr->log, WR_LOG_INFO, "sandbox ended", "sandbox", id, "state",
               wr_sandbox_state_name (to), "reason", reason, NULL);
    return wr_sandbox_db_set_state (mgr->db, id, to, reason, 0, err);
}

json_object *
wr_sandbox_manager_delete (wr_sandbox_manager_t *mgr, const char *id, wr_error_t *err)
{
    wr_sandbox_record_t record = { 0 };
    if (wr_sandbox_lookup (mgr, id, &record, err) < 0)
        return NULL;
    cleanup_free char *sid = xstrdup (record.id);
    wr_sandbox_record_clear (&record);
    if (wr_sandbox_end (mgr, sid, WR_SANDBOX_STOPPED, "deleted", err) < 0)
        return NULL;
    return wr_sandbox_manager_get (mgr, sid, err);
}

/* ---- agents ---- */

/* The id of the running sandbox ID (an id or a name): from memory when ID
 * is a live sandbox's id (every exec and file call comes here: no database
 * read for them), else from the database, which also says why it is not
 * running. */
char *
wr_sandbox_running_id (wr_sandbox_manager_t *mgr, const char *id, wr_error_t *err)
{
    pthread_mutex_lock (&mgr->lock);
    bool live = wr_sandbox_live_find (mgr, id) != NULL;
    pthread_mutex_unlock (&mgr->lock);
    if (live)
        return xstrdup (id);
    wr_sandbox_record_t record = { 0 };
    if (wr_sandbox_lookup (mgr, id, &record, err) < 0)
        return NULL;
    char *sid = xstrdup (record.id);
    wr_sandbox_state_t state = record.state;
    wr_sandbox_record_clear (&record);
    if (state != WR_SANDBOX_RUNNING) {
        wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0, "sandbox `%s` is %s, not running", sid,
                           wr_sandbox_state_name (state));
        free (sid);
        return NULL;
    }
    return sid;
}

/* Activity is written at most this often per sandbox: a lifetime counts
 * from the last call give or take this, and a busy sandbox costs no
 * database write per call. */
#define TOUCH_INTERVAL_MS 1000

wr_agent_client_t *
wr_sandbox_manager_agent (wr_sandbox_manager_t *mgr, const char *id, wr_error_t *err)
{
    cleanup_free char *sid = wr_sandbox_running_id (mgr, id, err);
    if (sid == NULL)
        return NULL;
    int64_t now = wr_monotonic_ms ();
    pthread_mutex_lock (&mgr->lock);
    live_t *l = wr_sandbox_live_find (mgr, sid);
    bool touch = l != NULL && (l->touched_ms == 0 || now - l->touched_ms >= TOUCH_INTERVAL_MS);
    if (touch)
        l->touched_ms = now;
    pthread_mutex_unlock (&mgr->lock);
    if (touch)
        wr_sandbox_db_touch (mgr->db, sid, 0, NULL);
    pthread_mutex_lock (&mgr->lock);
    l = wr_sandbox_live_find (mgr, sid);
    if (l == NULL) {
        pthread_mutex_unlock (&mgr->lock);
        wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                           "sandbox `%s`: warrend has no connection to it", sid);
        return NULL;
    }
    if (l->agent != NULL && wr_agent_client_check (l->agent, NULL) < 0) {
        /* Broken (the agent restarted, or misbehaved): retired, and freed
         * once no caller holds it. */
        l->retired = xrealloc (l->retired, (l->n_retired + 1) * sizeof *l->retired);
        l->retired[l->n_retired++] = steal_pointer (&l->agent);
    }
    if (l->agent == NULL) {
        cleanup_free char *path = xstrdup (l->agent_socket);
        /* The client keeps the log: L's lives as long as its clients. */
        wr_agent_client_options_t opts = { .connect_timeout_ms = 15000,
                                           .log = &l->log,
                                           .accept = l->relays ? wr_sandbox_relay_accept : NULL,
                                           .accept_data = l->relays };
        /* A reference taken before the lock is let go pins L, and with it
         * the relays the new client may hand streams to, while it connects:
         * a delete meanwhile moves L to the dead list but cannot free it. */
        l->agent_refs++;
        pthread_mutex_unlock (&mgr->lock);
        wr_agent_client_t *client = NULL;
        int r = wr_agent_client_connect (path, &opts, &client, err);
        pthread_mutex_lock (&mgr->lock);
        if (r == 0 && (l->deleting || l->agent != NULL)) {
            /* Deleted meanwhile, or another thread was quicker.  A relay
             * may already hold a call of CLIENT: closed and retired, it is
             * freed with L, after the relays (live_free). */
            wr_agent_client_close (client);
            l->retired = xrealloc (l->retired, (l->n_retired + 1) * sizeof *l->retired);
            l->retired[l->n_retired++] = client;
        } else if (r == 0) {
            l->agent = client;
        }
        if (r < 0 || l->deleting) {
            bool unused = --l->agent_refs == 0 && l->deleting && !l->removing;
            if (unused)
                dead_unlink (mgr, l);
            pthread_mutex_unlock (&mgr->lock);
            if (unused)
                live_free (l);
            if (r == 0)
                wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0, "sandbox `%s` is being deleted",
                                   sid);
            return NULL;
        }
        /* The pinning reference is the caller's. */
        wr_agent_client_t *agent = l->agent;
        pthread_mutex_unlock (&mgr->lock);
        return agent;
    }
    l->agent_refs++;
    wr_agent_client_t *agent = l->agent;
    pthread_mutex_unlock (&mgr->lock);
    return agent;
}

static bool
release_in (live_t *l, wr_agent_client_t *agent)
{
    if (l->agent == agent) {
        l->agent_refs--;
        return true;
    }
    for (size_t i = 0; i < l->n_retired; i++) {
        if (l->retired[i] == agent) {
            l->agent_refs--;
            return true;
        }
    }
    return false;
}

void
wr_sandbox_manager_release (wr_sandbox_manager_t *mgr, wr_agent_client_t *agent)
{
    if (agent == NULL)
        return;
    pthread_mutex_lock (&mgr->lock);
    for (live_t *l = mgr->live; l != NULL; l = l->next) {
        if (release_in (l, agent)) {
            pthread_mutex_unlock (&mgr->lock);
            return;
        }
    }
    for (live_t *l = mgr->dead; l != NULL; l = l->next) {
        if (release_in (l, agent)) {
            if (l->agent_refs == 0 && !l->removing) {
                dead_unlink (mgr, l);
                pthread_mutex_unlock (&mgr->lock);
                live_free (l);
                return;
            }
            break;
        }
    }
    pthread_mutex_unlock (&mgr->lock);
}

/* ---- metrics ---- */

void
wr_sandbox_manager_observe_exec (wr_sandbox_manager_t *mgr, double seconds)
{
    wr_histogram_observe (&mgr->exec_seconds, seconds);
}

char *
wr_sandbox_manager_metrics (wr_sandbox_manager_t *mgr)
{
    const char *names[WR_SANDBOX_N_STATES];
    uint64_t counts[WR_SANDBOX_N_STATES];
    if (wr_sandbox_db_count_states (mgr->db, counts, NULL) < 0)
        memset (counts, 0, sizeof counts);
    for (size_t i = 0; i < WR_SANDBOX_N_STATES; i++)
        names[i] = wr_sandbox_state_name ((wr_sandbox_state_t) i);
    char *text = NULL;
    wr_metric_write_labelled (&text, "warren_sandboxes", "gauge",
                              "Sandboxes warrend knows, by state.", "state", names, counts,
                              WR_SANDBOX_N_STATES);
    wr_histogram_write (&mgr->create_seconds, &text);
    wr_histogram_write (&mgr->docker_ready_seconds, &text);
    wr_histogram_write (&mgr->exec_seconds, &text);
    wr_sandbox_relay_metrics (mgr->mirror, &text);
    wr_metric_write_gauge (&text, "warren_heap_bytes",
                           "Bytes warrend's allocator has handed out and not had back.",
                           wr_heap_in_use ());
    return text;
}
