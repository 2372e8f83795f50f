/* What a user asks for when creating a sandbox: the body of
 * POST /v1/sandboxes, parsed strictly (it is untrusted input).  Every
 * field is checked: unknown fields are refused by name, a wrong type names
 * the field's JSON path and both types, values are range-checked and sizes
 * bounded:
 *
 *   "sandbox spec: unknown field `cpus`"
 *   "sandbox spec: cpu: must be a number, not a string"
 *   "sandbox spec: env.1X: not a valid variable name"
 *
 * The fields, their defaults and their bounds are in docs/api.md
 * ("Sandboxes").  wr_sandbox_spec_to_json writes the form that parses back
 * to the same spec: warrend stores it and answers GET with it. */
#ifndef WARREN_SANDBOX_SPEC_H
#define WARREN_SANDBOX_SPEC_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "image_build.h"
#include "sandbox_policy.h"

#define WR_SANDBOX_NAME_MAX 63
#define WR_SANDBOX_KEEP_WARM_NEVER (-1)
#define WR_SANDBOX_KEEP_WARM_DEFAULT 600
/* At most this many ports exposed per sandbox. */
#define WR_SANDBOX_PORTS_MAX 64

/* The daemon's bounds; a field left 0 takes the default in brackets. */
typedef struct {
    size_t max_bytes; /* the JSON text [1 MiB] */
    double default_cpu; /* [1] */
    double max_cpu; /* [64]; the least is always 0.01 */
    int64_t default_memory; /* bytes [1 GiB] */
    int64_t min_memory; /* [64 MiB] */
    int64_t max_memory; /* [256 GiB] */
    int64_t max_pids; /* [1048576] */
    int64_t max_keep_warm_seconds; /* [30 days]; -1 (never) is always allowed */
} wr_sandbox_spec_limits_t;

typedef struct {
    char *key;
    char *value;
} wr_sandbox_label_t;

typedef struct {
    char *ref; /* the reference as given (checked with wr_image_ref_parse) */
    /* Build steps applied on top of REF (run, env, with_docker; copy is
     * refused: its source is a path on warrend's host; a Dockerfile's COPY
     * reads the uploaded context instead). */
    wr_build_step_t *steps;
    size_t n_steps;
    char *dockerfile; /* a Dockerfile's text, or NULL; never with steps */
    /* The build context of its COPY: a digest ("sha256:HEX") of an
     * uploaded archive (build_context.h), or NULL; only with a dockerfile. */
    char *context;
} wr_sandbox_image_t;

typedef struct {
    wr_sandbox_image_t image;
    double cpu; /* CPUs, 0.01 .. max_cpu */
    int64_t memory; /* bytes */
    bool docker_enabled;
    char **env; /* NAME=VALUE, in the order given; NULL when none */
    char *workdir; /* absolute, or NULL: the image's */
    char *name; /* or NULL */
    wr_sandbox_label_t *labels; /* in the order given */
    size_t n_labels;
    int64_t keep_warm_seconds; /* seconds idle before it expires, or -1: never */
    int64_t pids_limit; /* 0: not set (the daemon's default) */
    int *ports; /* sandbox ports exposed on the host at create (sandbox_ports.h) */
    size_t n_ports;
    wr_net_policy_t network; /* block_network and allow_list (sandbox_policy.h) */
} wr_sandbox_spec_t;

/* Parses LEN bytes of JSON into *OUT (cleared first; cleared again on
 * failure).  LIMITS may be NULL (all defaults).  Errors are of kind
 * INVALID, or LIMIT for a body over max_bytes. */
int wr_sandbox_spec_parse (const char *json, size_t len, const wr_sandbox_spec_limits_t *limits,
                           wr_sandbox_spec_t *out, wr_error_t *err);

/* The same fields from an object already parsed (the API's body reader);
 * NAME starts the messages ("request body"). */
int wr_sandbox_spec_from_object (json_object *obj, const wr_sandbox_spec_limits_t *limits,
                                 const char *name, wr_sandbox_spec_t *out, wr_error_t *err);

/* SPEC as a JSON object with every field (defaults written out); a new
 * reference. */
json_object *wr_sandbox_spec_to_object (const wr_sandbox_spec_t *spec);
/* The same as compact text; caller frees. */
char *wr_sandbox_spec_to_json (const wr_sandbox_spec_t *spec);

/* A name as the spec takes it: 1-63 of [a-z0-9-_.], starting with a
 * letter or digit, and not of the form of an id ("sb-" and 16 hex
 * digits).  Returns false and sets *ERR naming it otherwise. */
bool wr_sandbox_name_valid (const char *name, wr_error_t *err);

/* "512Mi", "1Gi", "512m", "2g", "1048576": bytes (every unit is a power of
 * 1024: k/K/Ki, m/M/Mi, g/G/Gi, t/T/Ti, optionally followed by "B").
 * -1 with an error quoting TEXT when it is not one, or overflows. */
int wr_sandbox_memory_parse (const char *text, int64_t *out, wr_error_t *err);

void wr_sandbox_spec_clear (wr_sandbox_spec_t *spec);

#endif
