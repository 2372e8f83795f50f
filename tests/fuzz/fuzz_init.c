/* libFuzzer target: what warren-init parses from inside the sandbox.  The
 * image is the user's, so its /etc/docker/daemon.json, the dockerd it
 * ships (its HTTP answers and its log) are all untrusted input. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cleanup.h"
#include "dockerd.h"
#include "error.h"
#include "ping.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    cleanup_free char *text = xmalloc (size + 1);
    memcpy (text, data, size);
    text[size] = '\0';

    for (int eof = 0; eof <= 1; eof++) {
        cleanup_error wr_error_t err = NULL;
        http_response_t response;
        if (http_response_parse (text, size, eof, &response, &err) == 1 && response.body_len > 0 &&
            (response.body < text || response.body + response.body_len > text + size))
            __builtin_trap ();
    }

    static const char *const keys[] = { "bridge", "data-root", "hosts", "iptables", NULL };
    for (const char *const *key = keys; *key != NULL; key++) {
        const char *value = NULL;
        size_t len = 0;
        cleanup_error wr_error_t err = NULL;
        if (json_top_level_member (text, *key, &value, &len, &err) > 0 &&
            (value < text || value + len > text + size))
            __builtin_trap ();
    }

    const char *tail = log_tail (text, 20);
    if (tail != NULL && (tail < text || tail > text + size))
        __builtin_trap ();
    (void) dockerd_unknown_flag (text);
    (void) dockerd_failure_advice (text, size % 2 == 0);
    return 0;
}
