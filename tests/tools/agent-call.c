/* agent-call SOCKET COMMAND [ARG...]: connects to the agent on SOCKET (the
 * warren-init of a sandbox, docs/agent-protocol.md) as warrend would, runs
 * COMMAND there, copies its stdout and stderr here, prints how it ended on
 * stderr ("agent-call: exited 0") and exits with its exit code (128+N for
 * signal N). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "agent_client.h"

static int
fail (ac_t *c, const char *what)
{
    fprintf (stderr, "agent-call: %s: %s\n", what, c->err ? c->err->message : "failed");
    return 125;
}

int
main (int argc, char **argv)
{
    if (argc < 3) {
        fprintf (stderr, "usage: agent-call SOCKET COMMAND [ARG...]\n");
        return 2;
    }
    ac_t c;
    if (ac_connect (&c, argv[1]) < 0)
        return fail (&c, "connect");
    wr_agent_exec_t ex = { .argv = argv + 2 };
    if (ac_send (&c, 1, wr_agent_exec_new (&ex), true) < 0 || ac_next (&c, 30000) != 1)
        return fail (&c, "exec");
    wr_agent_message_t *msg = ac_message (&c);
    if (msg == NULL || msg->type != WR_AGENT_MSG_STARTED) {
        fprintf (stderr, "agent-call: exec: %s\n",
                 msg ? json_object_to_json_string (msg->json) : c.err->message);
        return 125;
    }
    wr_agent_message_t *read = wr_agent_message_new (WR_AGENT_MSG_OUTPUT_READ);
    wr_agent_message_set_string (read, "process_id", wr_agent_message_string (msg, "process_id"));
    wr_agent_message_set_string (read, "stream", "both");
    wr_agent_message_set_bool (read, "follow", true);
    wr_agent_message_free (msg);
    if (ac_send (&c, 3, read, true) < 0)
        return fail (&c, "output.read");
    for (;;) {
        if (ac_next (&c, 600000) != 1)
            return fail (&c, "read");
        if (c.frame.stream != 3)
            continue;
        if (c.frame.type == WR_AGENT_FRAME_DATA) {
            int fd = c.frame.channel == WR_AGENT_CHANNEL_STDERR ? 2 : 1;
            if (write (fd, c.frame.payload, c.frame.length) < 0)
                return 125;
            uint32_t n = c.frame.length;
            if (n > 0) {
                wr_agent_message_t *w = wr_agent_message_new (WR_AGENT_MSG_WINDOW);
                wr_agent_message_set_int (w, "bytes", n);
                if (ac_send (&c, 3, w, false) < 0)
                    return fail (&c, "window");
            }
            continue;
        }
        msg = ac_message (&c);
        if (msg == NULL)
            return fail (&c, "decode");
        if (msg->type != WR_AGENT_MSG_OUTPUT_END) {
            fprintf (stderr, "agent-call: %s\n", json_object_to_json_string (msg->json));
            return 125;
        }
        wr_agent_exit_t exit;
        wr_agent_exit_get (msg->json, &exit);
        wr_agent_message_free (msg);
        ac_close (&c);
        if (exit.state == WR_AGENT_EXITED) {
            fprintf (stderr, "agent-call: exited %d\n", exit.exit_code);
            return exit.exit_code;
        }
        fprintf (stderr, "agent-call: signaled %d\n", exit.signal);
        return 128 + exit.signal;
    }
}
