/* What test_api_processes and test_api_files share: the real agent
 * (warren-init-test, argv[1]) with --agent-socket and --agent-root in a
 * temporary directory, a wr_agent_client to it, a real wr_api_server on a
 * unix socket with the v1 routes whose agent callback hands out that
 * client (sandbox "sb1"; any other id is not found), and libcurl. */
#ifndef TEST_AGENT_FIXTURE_H
#define TEST_AGENT_FIXTURE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "histogram.h"

typedef struct {
    char dir[64];
    char root[128]; /* the agent's root */
    char api_sock[128];
} fixture_t;

extern fixture_t fx;
extern const char *warren_init_path;

/* The exec round trips the routes observed. */
extern wr_histogram_t exec_histogram;
/* The agent references the routes hold now (handlers, streams). */
int fixture_agent_refs (void);
/* Waits up to MS for the routes to give every reference back. */
bool fixture_refs_released (int ms);

int fixture_setup (void **state);
int fixture_teardown (void **state);

/* An answer: status, body (NUL-terminated), a header asked for. */
typedef struct {
    long status;
    char *body;
    size_t len;
    char *header_value; /* of HEADER given to http () */
} answer_t;

void answer_clear (answer_t *a);
/* METHOD PATH (under http://warrend) with BODY (may be NULL); HEADER: a
 * response header to keep ("X-Warren-Offset"), or NULL. */
void http (const char *method, const char *path, const char *body, size_t len, const char *header,
           answer_t *out);
/* http () with a JSON answer parsed; asserts STATUS. */
json_object *http_json (const char *method, const char *path, const char *body, long status);

#endif
