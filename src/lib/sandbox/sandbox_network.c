/* The manager's part in sandboxes' egress: each sandbox's policy (the
 * spec's, until a PATCH changes it), its address and rules at create, a
 * change on a running sandbox, its rules again after a restart, and their
 * removal at its end.  The mechanics are sandbox_net.h's. */
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json_reader.h"
#include "sandbox_manager_private.h"
#include "sandbox_net.h"
#include "xalloc.h"

int
wr_sandbox_policy_of (const wr_sandbox_record_t *r, wr_net_policy_t *out, wr_error_t *err)
{
    if (r->network != NULL)
        return wr_net_policy_parse (r->network, out, err);
    memset (out, 0, sizeof *out);
    cleanup_json_reader json_object *spec =
        r->spec_json != NULL ? json_tokener_parse (r->spec_json) : NULL;
    if (spec == NULL)
        return 0;
    return wr_net_policy_from_object (spec, "the sandbox's spec", out, err) < 0 ? -1 : 0;
}

int
wr_sandbox_network_reserve (wr_sandbox_manager_t *mgr, const char *id,
                            const wr_net_policy_t *policy, uint32_t *address, wr_error_t *err)
{
    *address = 0;
    if (mgr->net == NULL)
        return 0;
    if (wr_sandbox_net_reserve (mgr->net, id, policy, address, err) < 0)
        return -1;
    char text[16];
    wr_sandbox_net_address_text (*address, text);
    wr_sandbox_resources_t res = { .address = text };
    if (wr_sandbox_db_set_resources (mgr->db, id, &res, err) < 0) {
        wr_sandbox_net_release (mgr->net, id, text, NULL);
        return -1;
    }
    return 0;
}

void
wr_sandbox_network_release (wr_sandbox_manager_t *mgr, const char *id, const char *address)
{
    if (mgr->net == NULL || address == NULL)
        return;
    cleanup_error wr_error_t err = NULL;
    if (wr_sandbox_net_release (mgr->net, id, address, &err) < 0)
        wr_log_to (mgr->log, WR_LOG_WARN, "removing a sandbox's link and rules failed", "sandbox",
                   id, "error", err->message, NULL);
}

void
wr_sandbox_network_adopt (wr_sandbox_manager_t *mgr, const wr_sandbox_record_t *r)
{
    if (r->resources.address == NULL)
        return;
    if (mgr->net == NULL) {
        wr_log_to (mgr->log, WR_LOG_WARN,
                   "recovery: the sandbox had egress, but this warrend has no --uplink: its "
                   "link keeps the rules the last warrend gave it",
                   "sandbox", r->id, NULL);
        return;
    }
    wr_net_policy_t policy = { 0 };
    cleanup_error wr_error_t err = NULL;
    if (wr_sandbox_policy_of (r, &policy, &err) < 0 ||
        wr_sandbox_net_adopt (mgr->net, r->id, r->resources.address, &policy, &err) < 0)
        /* Its link is then dropped by the table's catch-all: closed, not open. */
        wr_log_to (mgr->log, WR_LOG_ERROR,
                   "recovery: the sandbox's network rules could not be restored; its traffic "
                   "is dropped",
                   "sandbox", r->id, "error", err->message, NULL);
    wr_net_policy_clear (&policy);
}

json_object *
wr_sandbox_manager_set_network (wr_sandbox_manager_t *mgr, const char *id,
                                const wr_net_policy_t *policy, wr_error_t *err)
{
    cleanup_free char *sid = wr_sandbox_running_id (mgr, id, err);
    if (sid == NULL)
        return NULL;
    wr_sandbox_record_t record = { 0 };
    if (wr_sandbox_db_get (mgr->db, sid, &record, err) < 0)
        return NULL;
    int rc = 0;
    if (mgr->net != NULL && record.resources.address != NULL)
        rc = wr_sandbox_net_apply (mgr->net, sid, record.resources.address, policy, err);
    wr_sandbox_record_clear (&record);
    if (rc < 0)
        return NULL;
    cleanup_free char *text = wr_net_policy_to_json (policy);
    if (wr_sandbox_db_set_network (mgr->db, sid, text, err) < 0)
        return NULL;
    wr_log_to (mgr->log, WR_LOG_INFO, "sandbox network changed", "sandbox", sid, "network",
               wr_net_policy_mode (policy), NULL);
    return wr_sandbox_manager_get (mgr, sid, err);
}
