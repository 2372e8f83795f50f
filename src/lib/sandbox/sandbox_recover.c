/* What a warrend finds when it starts: the sandboxes the previous one left.
 * Those that still run are adopted (their agent is connected again on first
 * use, a Docker-enabled one's at once on a thread of its own, for its
 * dockerd's relays; processes and output live in the agent, so they
 * survive), the dead
 * ones are marked failed with the reason, half-created ones are removed,
 * and whatever is on the host under warrend's names with no running
 * sandbox behind it is removed too. */
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json_reader.h"
#include "sandbox_destroy.h"
#include "sandbox_manager_private.h"
#include "sandbox_netns.h"
#include "strv.h"
#include "xalloc.h"

static bool
docker_enabled (const wr_sandbox_record_t *record)
{
    cleanup_json_reader json_object *spec =
        record->spec_json != NULL ? json_tokener_parse (record->spec_json) : NULL;
    json_object *v = NULL;
    return spec != NULL && json_object_object_get_ex (spec, "docker_enabled", &v) &&
           json_object_get_boolean (v);
}

static void
end_logged (wr_sandbox_manager_t *mgr, const char *id, wr_sandbox_state_t to, const char *reason)
{
    cleanup_error wr_error_t err = NULL;
    if (wr_sandbox_end (mgr, id, to, reason, &err) < 0)
        wr_log_to (mgr->log, WR_LOG_WARN, "recovery: cleaning up a sandbox failed", "sandbox", id,
                   "error", err->message, NULL);
}

static void
recover_one (wr_sandbox_manager_t *mgr, const wr_sandbox_record_t *r, char ***running)
{
    switch (r->state) {
    case WR_SANDBOX_CREATING:
    case WR_SANDBOX_STARTING:
        end_logged (mgr, r->id, WR_SANDBOX_FAILED, "warrend stopped while creating it");
        return;
    case WR_SANDBOX_STOPPING:
        end_logged (mgr, r->id, WR_SANDBOX_STOPPED,
                    r->reason != NULL ? r->reason : "warrend stopped while stopping it");
        return;
    case WR_SANDBOX_RUNNING:
        break;
    default:
        return;
    }
    wr_runsc_state_t state = WR_RUNSC_STATE_GONE;
    pid_t pid = 0;
    cleanup_error wr_error_t err = NULL;
    if (wr_sandbox_runsc_state (mgr->host, r->id, &state, &pid, &err) < 0) {
        wr_log_to (mgr->log, WR_LOG_WARN, "recovery: runsc state failed", "sandbox", r->id, "error",
                   err->message, NULL);
        state = WR_RUNSC_STATE_GONE;
    }
    if (state == WR_RUNSC_STATE_RUNNING && r->resources.agent_dir != NULL) {
        wr_sandbox_live_add (mgr, r->id, r->resources.agent_dir, pid, r->resources.cgroup,
                             docker_enabled (r));
        wr_strv_add (running, r->id);
        wr_sandbox_ports_restore (mgr, r->id);
        wr_sandbox_network_adopt (mgr, r);
        wr_log_to (mgr->log, WR_LOG_INFO, "recovery: adopted a running sandbox", "sandbox", r->id,
                   NULL);
        if (docker_enabled (r))
            wr_strv_add (&mgr->reconnect, r->id);
        return;
    }
    cleanup_free char *why = xasprintf ("runsc died while warrend was down (runsc says: %s)",
                                        wr_runsc_state_name (state));
    cleanup_free char *reason = wr_sandbox_death_reason (r->resources.cgroup, why);
    end_logged (mgr, r->id, WR_SANDBOX_FAILED, reason);
}

/* Removes what no running sandbox owns. */
static void
remove_leftovers (wr_sandbox_manager_t *mgr, char *const *running)
{
    wr_sandbox_leftovers_t left = { 0 };
    cleanup_error wr_error_t err = NULL;
    if (wr_sandbox_leftovers (mgr->host, &left, &err) < 0) {
        wr_log_to (mgr->log, WR_LOG_WARN, "recovery: listing leftovers failed", "error",
                   err->message, NULL);
        return;
    }
    cleanup_strv char **ids = NULL;
    char **lists[] = { left.containers, left.dirs, left.cgroups };
    for (size_t l = 0; l < 3; l++)
        for (size_t i = 0; lists[l] != NULL && lists[l][i] != NULL; i++)
            if (!wr_strv_contains (running, lists[l][i]) && !wr_strv_contains (ids, lists[l][i]))
                wr_strv_add (&ids, lists[l][i]);
    for (size_t i = 0; ids != NULL && ids[i] != NULL; i++) {
        if (wr_sandbox_check_id (ids[i], NULL) < 0)
            continue;
        cleanup_error wr_error_t derr = NULL;
        wr_log_to (mgr->log, WR_LOG_INFO, "recovery: removing a leftover sandbox", "sandbox",
                   ids[i], NULL);
        if (wr_sandbox_destroy (mgr->host, ids[i], &derr) < 0)
            wr_log_to (mgr->log, WR_LOG_WARN, "recovery: removing a leftover failed", "sandbox",
                       ids[i], "error", derr->message, NULL);
    }
    for (size_t i = 0; left.netns != NULL && left.netns[i] != NULL; i++) {
        bool owned = false;
        for (size_t r = 0; running != NULL && running[r] != NULL && !owned; r++) {
            cleanup_free char *name = wr_netns_name (running[r]);
            owned = strcmp (name, left.netns[i]) == 0;
        }
        if (owned)
            continue;
        cleanup_free char *path = xasprintf ("%s/%s", mgr->host->netns_dir, left.netns[i]);
        cleanup_error wr_error_t nerr = NULL;
        if (wr_netns_remove (path, &nerr) < 0)
            wr_log_to (mgr->log, WR_LOG_WARN, "recovery: removing a network namespace failed",
                       "netns", path, "error", nerr->message, NULL);
    }
    wr_sandbox_leftovers_clear (&left);
}

int
wr_sandbox_recover (wr_sandbox_manager_t *mgr, wr_error_t *err)
{
    wr_sandbox_record_t *records = NULL;
    size_t n = 0;
    if (wr_sandbox_db_list (mgr->db, NULL, &records, &n, err) < 0)
        return -1;
    cleanup_strv char **running = NULL;
    for (size_t i = 0; i < n; i++)
        recover_one (mgr, &records[i], &running);
    wr_sandbox_records_free (records, n);
    remove_leftovers (mgr, running);
    return 0;
}

/* ---- connecting to adopted Docker-enabled sandboxes ---- */

static bool
stopping (wr_sandbox_manager_t *mgr)
{
    pthread_mutex_lock (&mgr->stop_lock);
    bool stop = mgr->stopping;
    pthread_mutex_unlock (&mgr->stop_lock);
    return stop;
}

static void *
reconnect (void *data)
{
    wr_sandbox_manager_t *mgr = data;
    for (size_t i = 0; mgr->reconnect[i] != NULL && !stopping (mgr); i++) {
        cleanup_error wr_error_t err = NULL;
        wr_agent_client_t *agent = wr_sandbox_manager_agent (mgr, mgr->reconnect[i], &err);
        if (agent != NULL) {
            wr_sandbox_manager_release (mgr, agent);
            wr_log_to (mgr->log, WR_LOG_INFO, "recovery: connected to the agent, relays served",
                       "sandbox", mgr->reconnect[i], NULL);
        } else {
            wr_log_to (mgr->log, WR_LOG_WARN, "recovery: cannot connect to the agent", "sandbox",
                       mgr->reconnect[i], "error", err->message, NULL);
        }
    }
    return NULL;
}

int
wr_sandbox_reconnect_start (wr_sandbox_manager_t *mgr, wr_error_t *err)
{
    if (mgr->reconnect == NULL)
        return 0;
    int rc = pthread_create (&mgr->reconnecter, NULL, reconnect, mgr);
    if (rc != 0)
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, rc,
                                  "cannot start connecting to recovered sandboxes: %s",
                                  strerror (rc));
    mgr->reconnecting = true;
    return 0;
}

void
wr_sandbox_reconnect_stop (wr_sandbox_manager_t *mgr)
{
    if (mgr->reconnecting)
        pthread_join (mgr->reconnecter, NULL);
    mgr->reconnecting = false;
    wr_strv_free (steal_pointer (&mgr->reconnect));
}
