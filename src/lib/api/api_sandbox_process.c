#include "api_sandbox_process.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api_agent.h"
#include "cleanup.h"
#include "xalloc.h"

struct wr_api_sandbox_process_s {
    wr_agent_client_t *agent;
    char *process_id;
    wr_agent_call_t *output;
    bool ended;
};

static void
forget (wr_api_sandbox_process_t *p)
{
    cleanup_error wr_error_t err = NULL;
    if (!p->ended) {
        cleanup_agent_message wr_agent_message_t *kill =
            wr_agent_message_new (WR_AGENT_MSG_PROCESS_KILL);
        wr_agent_message_set_string (kill, "process_id", p->process_id);
        cleanup_agent_message wr_agent_message_t *reply = NULL;
        wr_api_agent_request (p->agent, kill, &reply, &err);
        cleanup_agent_message wr_agent_message_t *wait =
            wr_agent_message_new (WR_AGENT_MSG_PROCESS_WAIT);
        wr_agent_message_set_string (wait, "process_id", p->process_id);
        wr_agent_message_set_int (wait, "timeout_ms", 5000);
        cleanup_agent_message wr_agent_message_t *waited = NULL;
        cleanup_error wr_error_t wait_err = NULL;
        wr_agent_client_request (p->agent, wait, 10000, &waited, &wait_err);
    }
    cleanup_agent_message wr_agent_message_t *remove =
        wr_agent_message_new (WR_AGENT_MSG_PROCESS_REMOVE);
    wr_agent_message_set_string (remove, "process_id", p->process_id);
    cleanup_agent_message wr_agent_message_t *reply = NULL;
    cleanup_error wr_error_t remove_err = NULL;
    wr_api_agent_request (p->agent, remove, &reply, &remove_err);
}

void
wr_api_sandbox_process_free (wr_api_sandbox_process_t *p)
{
    if (p == NULL)
        return;
    if (p->output != NULL)
        wr_agent_call_free (p->output);
    if (p->process_id != NULL)
        forget (p);
    free (p->process_id);
    free (p);
}

wr_api_sandbox_process_t *
wr_api_sandbox_process_start (wr_agent_client_t *agent, char **argv, const char *cwd,
                              wr_error_t *err)
{
    wr_agent_exec_t exec = { .argv = argv, .cwd = (char *) cwd };
    cleanup_agent_message wr_agent_message_t *msg = wr_agent_exec_new (&exec);
    cleanup_agent_message wr_agent_message_t *started = NULL;
    if (wr_api_agent_request (agent, msg, &started, err) < 0)
        return NULL;
    const char *id = wr_agent_message_string (started, "process_id");
    if (id == NULL) {
        wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                           "the agent started a process without an id");
        return NULL;
    }
    wr_api_sandbox_process_t *p = xzalloc (sizeof *p);
    p->agent = agent;
    p->process_id = xstrdup (id);
    cleanup_agent_message wr_agent_message_t *read =
        wr_agent_message_new (WR_AGENT_MSG_OUTPUT_READ);
    wr_agent_message_set_string (read, "process_id", id);
    wr_agent_message_set_string (read, "stream", "both");
    wr_agent_message_set_bool (read, "follow", true);
    p->output = wr_agent_call_open (agent, read, false, NULL, err);
    if (p->output == NULL) {
        wr_api_sandbox_process_free (p);
        return NULL;
    }
    return p;
}

int
wr_api_sandbox_process_next (wr_api_sandbox_process_t *p, int timeout_ms, wr_agent_item_t *item,
                             int *exit_code, wr_error_t *err)
{
    memset (item, 0, sizeof *item);
    cleanup_error wr_error_t next_err = NULL;
    int r = wr_agent_call_next (p->output, timeout_ms, item, &next_err);
    if (r < 0) {
        if (next_err->errno_value == ETIMEDOUT) {
            memset (item, 0, sizeof *item);
            return 1;
        }
        return wr_error_propagate (err, &next_err);
    }
    if (r == 0)
        return wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                                  "the agent ended a process's output without its end");
    if (item->message == NULL)
        return 1;
    wr_agent_message_t *m = item->message;
    int ret;
    if (m->type == WR_AGENT_MSG_ERROR) {
        wr_agent_error_from (m, WR_AGENT_SIDE_AGENT, err);
        ret = -1;
    } else if (m->type == WR_AGENT_MSG_OUTPUT_END) {
        p->ended = true;
        const char *state = wr_agent_message_string (m, "state");
        if (state != NULL && strcmp (state, "signaled") == 0)
            *exit_code = 128 + (int) wr_agent_message_int (m, "signal", 0);
        else
            *exit_code = (int) wr_agent_message_int (m, "exit_code", 1);
        ret = 0;
    } else {
        ret = wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                                 "the agent answered an output read with an unexpected message");
    }
    wr_agent_item_clear (item);
    return ret;
}
