/* Building images in steps on top of an image in the store.
 *
 *   run_commands([...])  each command (sh -c) in a runsc sandbox
 *                        (--network=host, none, or gVisor's own stack in
 *                        the caller's namespace) on the previous root; the
 *                        sandbox's changes become one new layer
 *   env({...})           the config's Env only, no layer
 *   copy(src, dst)       host files (or, with a build context, files of
 *                        the context) into the image, as a new layer
 *   config               the config's WorkingDir, User, Cmd, Entrypoint,
 *                        Labels or ExposedPorts (a Dockerfile's
 *                        instructions, dockerfile.h); no layer, except a
 *                        new WorkingDir missing from the root is made
 *   with_docker()        Debian/Ubuntu: docker.io, iptables and
 *                        ca-certificates from the distribution,
 *                        iptables-legacy selected; an image that has
 *                        dockerd already only gets iptables-legacy
 *                        selected (nothing is installed)
 *
 * A sandbox runs on a bundle (bundle.h) whose root is an overlay of the
 * previous root, so nothing is copied; its upper directory becomes the
 * layer (layer_diff.h).  Every step's result is cached under
 * sha256(parent manifest digest + "\n" + the step's canonical description)
 * in the build_cache table of the store's database, so a repeated build
 * does no work.  A result is an OCI manifest and config in the store; the
 * new root is unpacked once per chain id, like a pulled one. */
#ifndef WARREN_IMAGE_BUILD_H
#define WARREN_IMAGE_BUILD_H

#include <stdbool.h>
#include <stddef.h>

#include "cancel.h"
#include "digest.h"
#include "error.h"
#include "log.h"
#include "spec.h"
#include "store.h"

typedef enum {
    WR_BUILD_RUN,
    WR_BUILD_ENV,
    WR_BUILD_COPY,
    WR_BUILD_WITH_DOCKER,
    WR_BUILD_CONFIG,
} wr_build_step_kind_t;

typedef struct {
    wr_build_step_kind_t kind;
    char **commands; /* RUN: shell commands, run in order; each must exit 0 */
    /* ENV: NAME=VALUE entries.  RUN: NAME=VALUE entries set for its
     * commands only, after the image's (a Dockerfile's ARGs); may be NULL. */
    char **env;
    /* COPY: a host file or directory; with the options' context_dir, a
     * path inside the context ("." for all of it). */
    char *src;
    /* COPY: a path in the image, relative to the WorkingDir when not
     * absolute.  A file goes into it, as NAME, when it ends with `/` or is
     * a directory of the image already; a directory's contents go into it. */
    char *dst;
    /* CONFIG: what it changes; NULL (or false) leaves a field as it is. */
    char *workdir; /* relative: to the current WorkingDir; made when missing */
    char *user; /* USER[:GROUP] */
    bool set_cmd; /* Cmd becomes CMD: NULL removes it, {NULL} is [] */
    char **cmd;
    bool set_entrypoint; /* the same for Entrypoint */
    char **entrypoint;
    char **labels; /* KEY=VALUE entries added to Labels */
    char **expose; /* "PORT/PROTO" entries added to ExposedPorts */
} wr_build_step_t;

/* The step sandboxes' network when the caller gives them one (warrend: the
 * sandbox's own namespace and link, so a step reaches what the sandbox
 * may reach and nothing else).  They run with runsc --network=sandbox:
 * gVisor's network stack over the namespace's interfaces. */
typedef struct {
    /* Before each step's runsc, in the caller's thread, on the step's
     * SPEC: put the network namespace into it and ready the namespace
     * (runsc takes the addresses of the interfaces it takes over, so they
     * are given back here). */
    int (*prepare) (void *data, wr_spec_t *spec, wr_error_t *err);
    /* In the child between fork and exec, async-signal-safe calls only:
     * 0, or an errno that fails the step with CHILD_SETUP_WHAT in its
     * error.  May be NULL. */
    int (*child_setup) (void *data);
    const char *child_setup_what;
    void *data;
    /* A host file bound read-only on /etc/resolv.conf in each step's
     * sandbox; an empty file a mount point made for it is not part of the
     * layer.  NULL: the image's own. */
    const char *resolv_conf;
} wr_build_network_t;

typedef struct {
    const char *runsc; /* runsc's path; NULL: /usr/bin/runsc */
    /* with_docker: a flat apt repository ("http://127.0.0.1:8080/") used
     * instead of the image's sources while installing; NULL: the image's
     * own sources.  (The CLI fills it from $WARREN_APT_MIRROR.) */
    const char *apt_mirror;
    int output_fd; /* where the sandboxes' output goes; 0 means stderr */
    /* The step sandboxes get no network at all (runsc --network=none:
     * loopback only, in a namespace of their own) instead of the host's
     * (the CLI's default).  warrend's users' steps must never reach the
     * host's services: it gives them the sandbox's NETWORK below, or,
     * without an uplink, sets this. */
    bool no_network;
    /* A network of the caller's (above); when set, no_network is not
     * read. */
    const wr_build_network_t *network;
    /* COPY sources are paths inside this directory (a client's build
     * context, build_context.h), resolved in it: no `..` or symlink leads
     * out.  NULL: they are host paths (the CLI's --copy). */
    const char *context_dir;
    int step_timeout; /* seconds a sandbox may run (0: 3600) */
    const wr_log_t *log; /* the build's lines; NULL: the standard log */
    /* Stops the build from another thread: checked before each step and
     * every 50 ms while a step runs, whose sandbox is then killed and
     * removed (runsc delete --force) and its bundle unmounted and removed;
     * the build fails with a WR_ERROR_CANCELLED error (unavailable when a
     * deadline of the token passed).  May be NULL. */
    const wr_cancel_t *cancel;
} wr_build_options_t;

typedef struct {
    size_t steps_run;
    size_t steps_cached;
    size_t layers_added;
} wr_build_result_t;

/* Parses a step from the command line's forms: "run" with CMD, "env" with
 * "K=V", "copy" with "SRC:DST", "with-docker" with NULL.  The step owns
 * copies; clear it with wr_build_step_clear. */
int wr_build_step_parse (const char *kind, const char *arg, wr_build_step_t *step, wr_error_t *err);
void wr_build_step_clear (wr_build_step_t *step);

/* The canonical description of STEP (JSON), what its cache key hashes.
 * A copy's includes a digest of the source's names, modes and contents. */
char *wr_build_step_describe (const wr_build_step_t *step, const wr_build_options_t *options,
                              wr_error_t *err);
/* sha256(PARENT_MANIFEST_DIGEST + "\n" + DESCRIPTION) into OUT. */
void wr_build_cache_key (const char *parent_manifest_digest, const char *description,
                         char out[WR_DIGEST_MAX_LEN + 1]);

/* Builds NAME from the image BASE (in STORE, root unpacked) with STEPS, and
 * records it; OUT (may be NULL) gets its record. */
int wr_image_build (wr_store_t *store, const wr_image_record_t *base, const wr_build_step_t *steps,
                    size_t n_steps, const char *name, const wr_build_options_t *options,
                    wr_image_record_t *out, wr_build_result_t *result, wr_error_t *err);

#endif
