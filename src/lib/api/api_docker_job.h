/* What the Docker routes share (docs/api.md, "Docker"): the checks before
 * the answer (the sandbox exists, has Docker, runs, and its dockerd
 * answers; errors then are the API's usual JSON errors), and the job that
 * does the work on a thread of its own and answers a stream of events:
 *
 *   {"event":"progress","id":"3f4d90098f5b","status":"Downloading","current":..,"total":..}
 *   {"event":"output","stream":"stdout","offset":0,"data":"BASE64"}
 *   {"event":"end","exit_code":0}
 *
 * ending with one end event, whose exit_code is not 0 on a failure, with
 * {"error": {"kind", "message"}} when dockerd (or warrend) said why.  The
 * stdout output events hold the text the docker CLI prints; a failure's
 * message is written to stderr as the CLI writes it ("Error response from
 * daemon: ..."). */
#ifndef WARREN_API_DOCKER_JOB_H
#define WARREN_API_DOCKER_JOB_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent_client.h"
#include "api_events.h"
#include "api_request.h"
#include "api_response.h"
#include "api_v1.h"
#include "docker_engine.h"
#include "error.h"

typedef struct wr_api_docker_job_s wr_api_docker_job_t;

/* The work: returns the exit status (0 or more), or -1 with *ERR (the end
 * event's error; the exit status is the job's FAILURE_EXIT). */
typedef int (*wr_api_docker_fn) (wr_api_docker_job_t *job, wr_error_t *err);

struct wr_api_docker_job_s {
    wr_api_v1_t *v1;
    char *sandbox_id;
    wr_agent_client_t *agent; /* a reference, for work in the sandbox */
    wr_docker_t *docker;
    json_object *body; /* the checked request (owned) */
    wr_api_docker_fn fn;
    int failure_exit; /* 1, as the docker CLI; 125 for run */
    wr_api_events_t *events;
    uint64_t offsets[3]; /* of the stdout and stderr output sent */
    json_object *end; /* members the work adds to the end event */
    /* dockerd refused the call that failed (its answer's error): kept here
     * when clean-up calls follow it (wr_docker_answered_error is the last
     * call's). */
    bool refused;
};

/* Checks REQ's sandbox (404; 400 without Docker or not running; 503 when
 * its dockerd does not answer), then answers RESP with the events of FN
 * run on a thread with BODY (taken, also on failure). */
int wr_api_docker_start (wr_api_v1_t *v1, wr_api_request_t *req, wr_api_response_t *resp,
                         json_object *body, wr_api_docker_fn fn, int failure_exit, wr_error_t *err);

/* The same, with CHECK (may be NULL) run on the job before the answer:
 * its error is the request's (a 400 before the stream). */
int wr_api_docker_start_checked (wr_api_v1_t *v1, wr_api_request_t *req, wr_api_response_t *resp,
                                 json_object *body, wr_api_docker_fn fn, int failure_exit,
                                 wr_api_docker_fn check, wr_error_t *err);

/* Sends EVENT (taken); -1 when the client is gone (the work should stop). */
int wr_api_docker_send (wr_api_docker_job_t *job, json_object *event);
/* An output event of LEN bytes on STREAM (1 stdout, 2 stderr). */
int wr_api_docker_output (wr_api_docker_job_t *job, int stream, const void *buf, size_t len);
int wr_api_docker_printf (wr_api_docker_job_t *job, int stream, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* Whether the client went away. */
bool wr_api_docker_gone (wr_api_docker_job_t *job);

/* Body readers shared by the routes ("request body: FIELD: ..."). */
const char *wr_api_docker_string (json_object *body, const char *key);
bool wr_api_docker_bool (json_object *body, const char *key, bool dflt);
/* An optional array of strings (NULL when absent; caller frees). */
int wr_api_docker_strings (json_object *body, const char *key, char ***out, wr_error_t *err);
/* An optional object of strings as ["KEY=VALUE", ...] (NULL when absent). */
int wr_api_docker_env (json_object *body, const char *key, json_object **out, wr_error_t *err);
/* An optional body: an empty one is {}. */
json_object *wr_api_docker_body (wr_api_request_t *req, const wr_api_field_t *fields,
                                 wr_error_t *err);

/* X-Registry-Auth's value for the body's optional "auth" object
 * ({username, password, serveraddress}); "e30=" ({}) without one. */
char *wr_api_docker_registry_auth (json_object *body);
/* Checks an "auth" member's fields. */
int wr_api_docker_check_auth (json_object *body, wr_error_t *err);

/* Work shared by the routes (api_docker_image.c): a request answered by
 * JSON lines of progress (pull, push), each a progress event and the CLI's
 * line on stdout; an error in the stream fails with ERROR_KIND. */
int wr_api_docker_progress_call (wr_api_docker_job_t *job, wr_docker_request_t *r, const char *what,
                                 wr_error_kind_t error_kind, wr_error_t *err);
/* Pulls IMAGE with the body's "auth", as `docker pull` prints it. */
int wr_api_docker_pull_image (wr_api_docker_job_t *job, const char *image, wr_error_t *err);
/* A request answered by a container's output (api_docker_container.c):
 * multiplexed, or RAW (a TTY's), as output events. */
int wr_api_docker_output_call (wr_api_docker_job_t *job, wr_docker_request_t *r, bool raw,
                               wr_error_t *err);
/* CONTAINER's logs as output events, until it ends when FOLLOW; TAIL:
 * the last lines only ("all" when NULL). */
int wr_api_docker_follow_logs (wr_api_docker_job_t *job, const char *container, bool follow,
                               const char *tail, wr_error_t *err);

#endif
