/* libFuzzer target: warrend's client of the agent protocol (agent_client.h)
 * taking what a hostile agent sends.  The input is everything the agent
 * sends after its hello, over a socketpair, while warrend has three calls
 * open (file.read on stream 1, output.read on stream 3, stdin with a body
 * on stream 5) and accepts relays the agent opens.  Whatever the bytes,
 * every call ends (completed or failed with the connection), the client's
 * thread ends, and nothing leaks or is read out of bounds (the sanitizers
 * watch). */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_client.h"
#include "cleanup.h"
#include "error.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define INPUT_MAX (256 * 1024)
#define MAX_RELAYS 64

static pthread_mutex_t relay_lock = PTHREAD_MUTEX_INITIALIZER;
static wr_agent_call_t *relays[MAX_RELAYS];
static int nrelays;

static int
take_relay (void *data, wr_agent_call_t *call, const wr_agent_message_t *request, wr_error_t *err)
{
    (void) data;
    (void) request;
    pthread_mutex_lock (&relay_lock);
    int r = -1;
    if (nrelays < MAX_RELAYS) {
        relays[nrelays++] = call;
        r = 0;
    }
    pthread_mutex_unlock (&relay_lock);
    if (r < 0)
        wr_error_set_kind (err, WR_ERROR_LIMIT, 0, "too many relays");
    return r;
}

typedef struct {
    int fd;
    const uint8_t *data;
    size_t size;
} writer_t;

static void *
write_all (void *arg)
{
    writer_t *w = arg;
    size_t off = 0;
    while (off < w->size) {
        ssize_t n = send (w->fd, w->data + off, w->size - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        off += (size_t) n;
    }
    shutdown (w->fd, SHUT_WR);
    return NULL;
}

static void
send_hello (int fd)
{
    static const char json[] = "{\"type\":\"hello\",\"versions\":[1],\"window\":65536}";
    wr_agent_frame_t frame = { .version = 1,
                               .type = WR_AGENT_FRAME_MESSAGE,
                               .length = sizeof json - 1,
                               .payload = (const uint8_t *) json };
    cleanup_agent_buf wr_agent_buf_t buf = { 0 };
    if (wr_agent_frame_encode (&buf, &frame, NULL) == 0 &&
        send (fd, buf.data, buf.len, MSG_NOSIGNAL) < 0) {
    }
}

static wr_agent_message_t *
request (wr_agent_msg_type_t type)
{
    wr_agent_message_t *m = wr_agent_message_new (type);
    if (type == WR_AGENT_MSG_FILE_READ) {
        wr_agent_message_set_string (m, "path", "/f");
    } else {
        wr_agent_message_set_string (m, "process_id", "p1");
        if (type == WR_AGENT_MSG_OUTPUT_READ) {
            wr_agent_message_set_string (m, "stream", "both");
            wr_agent_message_set_bool (m, "follow", true);
        }
    }
    return m;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size > INPUT_MAX)
        return 0;
    int sv[2];
    if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        abort ();
    send_hello (sv[1]);
    static const wr_log_t quiet = { .write = NULL, .level = WR_LOG_ERROR + 1 };
    wr_agent_client_options_t opts = {
        .connect_timeout_ms = 2000, .window = 65536, .log = &quiet, .accept = take_relay
    };
    wr_agent_client_t *client = NULL;
    if (wr_agent_client_open (sv[0], "fuzz", &opts, &client, NULL) < 0)
        abort ();
    static const wr_agent_msg_type_t types[] = { WR_AGENT_MSG_FILE_READ, WR_AGENT_MSG_OUTPUT_READ,
                                                 WR_AGENT_MSG_STDIN };
    wr_agent_call_t *calls[3];
    bool done[3] = { false, false, false };
    for (int i = 0; i < 3; i++) {
        cleanup_agent_message wr_agent_message_t *m = request (types[i]);
        calls[i] = wr_agent_call_open (client, m, types[i] == WR_AGENT_MSG_STDIN, NULL, NULL);
        if (calls[i] == NULL)
            abort ();
    }
    if (wr_agent_call_send (calls[2], "input\n", 6, true, 0, NULL) < 0) {
        /* no window yet, or the connection is gone: fine */
    }

    writer_t w = { .fd = sv[1], .data = data, .size = size };
    pthread_t writer;
    if (pthread_create (&writer, NULL, write_all, &w) != 0)
        abort ();
    /* Take from every call in turn (one call's unread messages may hold up
     * the others) until each has ended or failed: the end of the input
     * closes the connection, so they all do. */
    for (int left = 3; left > 0;) {
        for (int i = 0; i < 3; i++) {
            if (done[i])
                continue;
            wr_agent_item_t item;
            cleanup_error wr_error_t err = NULL;
            int r = wr_agent_call_next (calls[i], 1, &item, &err);
            if (r == 1) {
                wr_agent_item_clear (&item);
                continue;
            }
            if (r < 0 && err->errno_value == ETIMEDOUT)
                continue; /* a timeout: nothing yet */
            done[i] = true;
            left--;
        }
    }
    pthread_join (writer, NULL);
    wr_agent_client_close (client);
    for (int i = 0; i < 3; i++)
        wr_agent_call_free (calls[i]);
    for (int i = 0; i < nrelays; i++)
        wr_agent_call_free (relays[i]);
    nrelays = 0;
    wr_agent_client_free (client);
    close (sv[1]);
    return 0;
}
