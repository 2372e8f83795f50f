/* libFuzzer target: what warren-init parses from inside the sandbox.  The
 * image is the user's, so its /etc/docker/daemon.json, the dockerd it
 * ships (its HTTP answers and its log) are all untrusted input. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cleanup.h"
#include "daemon_json.h"
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

    /* daemon.json: json-c's parse and warren-init's checks on it (the
     * members it reads and their types), then a plan from it. */
    {
        cleanup_error wr_error_t err = NULL;
        cleanup_json json_object *config = daemon_json_parse (text, size, &err);
        if ((config == NULL) == (err == NULL) ||
            (config != NULL && !json_object_is_type (config, json_type_object)))
            __builtin_trap ();
    }
    char *no_args[] = { NULL };
    for (int network = NETWORK_HOST; network <= NETWORK_SANDBOX; network++) {
        docker_config_t config = { .network = (network_mode_t) network,
                                   .extra_args = no_args,
                                   .log_path = "/var/log/dockerd.log" };
        cleanup_error wr_error_t err = NULL;
        dockerd_plan_t plan;
        int r = dockerd_plan_make (&config, "/usr/bin/dockerd", text, 0, &plan, &err);
        if (r == 0 &&
            (plan.socket_path == NULL || plan.socket_path[0] == '\0' || plan.data_root == NULL ||
             plan.data_root[0] == '\0' || plan.argv == NULL || plan.argv[0] == NULL))
            __builtin_trap ();
        if (r < 0 && (err == NULL || strstr (err->message, DOCKER_DEFAULT_CONFIG) == NULL))
            __builtin_trap ();
        dockerd_plan_free (&plan);
    }

    const char *tail = log_tail (text, 20);
    if (tail != NULL && (tail < text || tail > text + size))
        __builtin_trap ();
    (void) dockerd_unknown_flag (text);
    (void) dockerd_failure_advice (text, size % 2 == 0);
    return 0;
}
