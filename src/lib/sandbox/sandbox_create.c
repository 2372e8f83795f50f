/* Creating a sandbox: the record, the image, the host's part (bundle,
 * network namespace, runsc), the agent, and Docker's readiness, with an
 * event for each step.  A failure at any step removes what was made and
 * leaves the record failed with the reason. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "build_context.h"
#include "dockerfile.h"
#include "fs.h"
#include "image_build.h"
#include "image_pull.h"
#include "runtime_backend.h"
#include "manifest.h"
#include "sandbox_bundle.h"
#include "sandbox_destroy.h"
#include "sandbox_json.h"
#include "sandbox_manager_private.h"
#include "xalloc.h"

typedef struct {
    wr_sandbox_manager_t *mgr;
    wr_sandbox_event_fn on_event;
    void *data;
    const char *id;
    bool creating; /* a create (whose Docker-ready time /metrics counts), not a watch */
} creation_t;

static void
emit (creation_t *c, json_object *event)
{
    if (c->on_event != NULL)
        c->on_event (event, c->data);
    else
        json_object_put (event);
}

static void
emit_state (creation_t *c, const char *state)
{
    json_object *e = json_object_new_object ();
    json_object_object_add (e, "event", json_object_new_string ("state"));
    json_object_object_add (e, "state", json_object_new_string (state));
    json_object_object_add (e, "id", json_object_new_string (c->id));
    emit (c, e);
}

static void
emit_message (creation_t *c, const char *event, const char *message, const char *key, int64_t value)
{
    json_object *e = json_object_new_object ();
    json_object_object_add (e, "event", json_object_new_string (event));
    if (key != NULL)
        json_object_object_add (e, key, json_object_new_int64 (value));
    json_object_object_add (e, "message", json_object_new_string (message));
    emit (c, e);
}

/* ---- the image ---- */

static void
on_announce (void *data, const char *digest, int64_t total)
{
    creation_t *c = data;
    json_object *e = json_object_new_object ();
    json_object_object_add (e, "event", json_object_new_string ("pull"));
    json_object_object_add (e, "layer", json_object_new_string (digest));
    json_object_object_add (e, "total", json_object_new_int64 (total));
    emit (c, e);
}

/* IMAGE's config into *CONFIG, and IMAGE recorded as the sandbox's. */
static int
use_image (creation_t *c, const wr_image_record_t *image, wr_image_config_t *config,
           wr_error_t *err)
{
    wr_sandbox_manager_t *mgr = c->mgr;
    cleanup_free char *data = NULL;
    size_t len = 0;
    if (wr_store_read_blob (mgr->store, image->config_digest, WR_CONFIG_MAX_SIZE, &data, &len,
                            err) < 0 ||
        wr_image_config_parse (data, len, image->name, config, err) < 0)
        return -1;
    return wr_sandbox_db_set_image (mgr->db, c->id, image->manifest_digest, image->root_id, err);
}

static int
pull_image (creation_t *c, const char *reference, const wr_cancel_t *cancel,
            wr_image_record_t *image, wr_image_config_t *config, wr_error_t *err)
{
    wr_sandbox_manager_t *mgr = c->mgr;
    const char *fields[] = { "sandbox", c->id, NULL };
    wr_log_t log = { .fields = fields, .parent = mgr->log };
    wr_pull_options_t opts = {
        .announce = on_announce,
        .progress_data = c,
        .log = &log,
        .cancel = cancel,
        .deadline_ms = mgr->pull_deadline_ms,
    };
    wr_pull_result_t result = { 0 };
    if (wr_image_pull_ex (mgr->store, mgr->registry, reference, &opts, image, &result, err) < 0)
        return -1;
    cleanup_free char *text =
        xasprintf ("%s: %zu of %zu layers fetched (%llu bytes)%s", reference, result.layers_fetched,
                   result.layers_total, (unsigned long long) result.bytes_fetched,
                   result.up_to_date ? ", up to date" : "");
    emit_message (c, "pulled", text, "layers_fetched", (int64_t) result.layers_fetched);
    return use_image (c, image, config, err);
}

/* ---- build steps ---- */

/* The build's log lines as `build` events: the message and its fields. */
static void
build_line (void *data, wr_log_level_t level, const char *msg, const char *const *fields)
{
    creation_t *c = data;
    json_object *e = json_object_new_object ();
    json_object_object_add (e, "event", json_object_new_string ("build"));
    json_object_object_add (e, "message", json_object_new_string (msg));
    for (size_t i = 0; fields != NULL && fields[i] != NULL && fields[i + 1] != NULL; i += 2)
        if (strcmp (fields[i], "sandbox") != 0 && strcmp (fields[i], "message") != 0 &&
            strcmp (fields[i], "event") != 0)
            json_object_object_add (e, fields[i], json_object_new_string (fields[i + 1]));
    (void) level;
    emit (c, e);
}

/* The last bytes (at most 4 KiB) of what FD holds, for an error. */
static char *
output_tail (int fd)
{
    off_t end = lseek (fd, 0, SEEK_END);
    off_t from = end > 4096 ? end - 4096 : 0;
    char buf[4097];
    ssize_t n = end > 0 ? pread (fd, buf, (size_t) (end - from), from) : 0;
    buf[n > 0 ? n : 0] = '\0';
    return xstrdup (buf);
}

/* Builds SPEC's steps (or its Dockerfile's, read again now that the base's
 * environment is known) on top of *IMAGE (pulled, root unpacked), in step
 * sandboxes on NETWORK (the sandbox's own; without one, no network at
 * all), and replaces *IMAGE and *CONFIG with the result.  Its name is
 * derived from the base and the steps, so the same create again finds
 * every step in the build cache. */
static int
build_image (creation_t *c, const wr_sandbox_image_t *spec_image,
             const wr_sandbox_build_network_t *network, const wr_cancel_t *cancel,
             wr_image_record_t *image, wr_image_config_t *config, wr_error_t *err)
{
    wr_sandbox_manager_t *mgr = c->mgr;
    cleanup_free char *runsc = wr_backend_find_binary (
        mgr->host->runsc->ops, mgr->host->runsc->binary, mgr->host->runsc->search_path, err);
    if (runsc == NULL)
        return -1;
    wr_sandbox_image_t only_steps = *spec_image;
    only_steps.ref = NULL;
    wr_sandbox_spec_t described = { .image = only_steps };
    cleanup_free char *steps_json = wr_sandbox_spec_to_json (&described);
    char key[WR_DIGEST_MAX_LEN + 1];
    wr_build_cache_key (image->manifest_digest, steps_json, key);
    const char *hex = strchr (key, ':') != NULL ? strchr (key, ':') + 1 : key;
    cleanup_free char *name = xasprintf ("warrend.local/build:%.16s", hex);
    /* The steps' output: kept in an unnamed file, its end in the error. */
    cleanup_free char *dir = xasprintf ("%s/sandboxes", mgr->root);
    wr_mkdir_p (dir, 0700, NULL);
    cleanup_close int out = open (dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (out < 0)
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, errno,
                                  "a file for the build's output "
                                  "in `%s`: %s",
                                  dir, strerror (errno));
    const char *fields[] = { "sandbox", c->id, NULL };
    wr_log_t events = { .write = build_line, .data = c, .level = WR_LOG_INFO };
    wr_log_t log = { .fields = fields, .parent = &events };
    wr_build_options_t bopts = {
        .runsc = runsc,
        .output_fd = out,
        .no_network = true,
        .network = network->active ? &network->network : NULL,
        .log = &log,
        .cancel = cancel,
    };
    cleanup_free char *context = NULL;
    if (spec_image->context != NULL) {
        cleanup_free char *contexts = wr_sandbox_contexts_dir (mgr);
        context = wr_build_context_find (contexts, spec_image->context, err);
        if (context == NULL)
            return wr_error_prefix (err, "image.context");
        bopts.context_dir = context;
    }
    const wr_build_step_t *steps = spec_image->steps;
    size_t n_steps = spec_image->n_steps;
    wr_dockerfile_t df = { 0 };
    if (spec_image->dockerfile != NULL) {
        if (wr_dockerfile_parse (spec_image->dockerfile, strlen (spec_image->dockerfile),
                                 config->env, &df, err) < 0)
            return wr_error_prefix (err, "image.dockerfile");
        steps = df.steps;
        n_steps = df.n_steps;
        cleanup_free char *text = xasprintf ("Dockerfile: FROM %s, %zu steps", df.from, df.n_steps);
        emit_message (c, "build", text, NULL, 0);
    }
    wr_image_record_t built = { 0 };
    wr_build_result_t result = { 0 };
    int built_rc =
        wr_image_build (mgr->store, image, steps, n_steps, name, &bopts, &built, &result, err);
    wr_dockerfile_clear (&df);
    if (built_rc < 0) {
        cleanup_free char *tail = output_tail (out);
        if (err == NULL || *err == NULL || tail[0] == '\0')
            return wr_error_prefix (err, "build");
        cleanup_free char *msg =
            xasprintf ("build: %s; its last output:\n%s", (*err)->message, tail);
        wr_error_kind_t kind = (*err)->kind;
        int errno_value = (*err)->errno_value;
        wr_error_free (err);
        return wr_error_set_kind (err, kind, errno_value, "%s", msg);
    }
    cleanup_free char *text =
        xasprintf ("%s: %zu steps run, %zu cached, %zu layers added", name, result.steps_run,
                   result.steps_cached, result.layers_added);
    emit_message (c, "built", text, "steps_run", (int64_t) result.steps_run);
    wr_image_record_clear (image);
    *image = built;
    wr_image_config_clear (config);
    return use_image (c, image, config, err);
}

/* ---- Docker ---- */

static char *
seconds_text (int64_t ms)
{
    return xasprintf ("%.1fs", (double) ms / 1000.0);
}

/* Waits for the sandbox's dockerd through the agent's docker.watch. */
static int
wait_for_docker (creation_t *c, wr_agent_client_t *agent, const wr_cancel_t *cancel,
                 wr_error_t *err)
{
    cleanup_agent_message wr_agent_message_t *watch =
        wr_agent_message_new (WR_AGENT_MSG_DOCKER_WATCH);
    cleanup_agent_call wr_agent_call_t *call =
        wr_agent_call_open (agent, watch, false, cancel, err);
    if (call == NULL)
        return -1;
    for (;;) {
        wr_agent_item_t item = { 0 };
        /* The agent has its own deadline for dockerd (and says so in
         * docker.waiting); this one only guards against a silent agent. */
        int r = wr_agent_call_next (call, 120000, &item, err);
        if (r <= 0) {
            if (r == 0)
                wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0,
                                   "the agent ended the docker watch without an answer");
            return -1;
        }
        if (item.message == NULL) {
            wr_agent_item_clear (&item);
            continue;
        }
        wr_agent_message_t *m = item.message;
        int rc = 1;
        if (m->type == WR_AGENT_MSG_DOCKER_WAITING) {
            int64_t timeout_ms = wr_agent_message_int (m, "timeout_ms", 30000);
            cleanup_free char *text =
                xasprintf ("Waiting for Docker daemon to be ready (timeout: %llds)...",
                           (long long) ((timeout_ms + 999) / 1000));
            emit_message (c, "docker.waiting", text, "timeout_ms", timeout_ms);
        } else if (m->type == WR_AGENT_MSG_DOCKER_READY) {
            int64_t took = wr_agent_message_int (m, "took_ms", 0);
            cleanup_free char *secs = seconds_text (took);
            cleanup_free char *text = xasprintf ("Docker daemon is ready (took %s)", secs);
            emit_message (c, "docker.ready", text, "took_ms", took);
            if (c->creating)
                wr_histogram_observe (&c->mgr->docker_ready_seconds, (double) took / 1000.0);
            rc = 0;
        } else if (m->type == WR_AGENT_MSG_DOCKER_FAILED) {
            const char *message = wr_agent_message_string (m, "message");
            const char *log = wr_agent_message_string (m, "log");
            cleanup_free char *how = NULL;
            if (wr_agent_message_has (m, "exit_code"))
                how = xasprintf ("; it exited with status %lld",
                                 (long long) wr_agent_message_int (m, "exit_code", 0));
            else if (wr_agent_message_has (m, "signal"))
                how = xasprintf ("; it was killed by signal %lld",
                                 (long long) wr_agent_message_int (m, "signal", 0));
            wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0, "docker daemon failed: %s%s%s%s",
                               message != NULL ? message : "", how != NULL ? how : "",
                               log != NULL ? "; its last lines:\n" : "", log != NULL ? log : "");
            rc = -1;
        } else if (m->type == WR_AGENT_MSG_ERROR) {
            wr_agent_error_from (m, WR_AGENT_SIDE_AGENT, err);
            rc = -1;
        }
        wr_agent_item_clear (&item);
        if (rc <= 0)
            return rc;
    }
}

/* ---- the whole ---- */

static int
start_sandbox (creation_t *c, const wr_sandbox_spec_t *spec, const wr_cancel_t *cancel,
               wr_error_t *err)
{
    wr_sandbox_manager_t *mgr = c->mgr;
    emit_state (c, "creating");
    wr_image_record_t image = { 0 };
    wr_image_config_t config = { 0 };
    int rc = pull_image (c, spec->image.ref, cancel, &image, &config, err);
    /* The address and rules first: the build's steps use them. */
    uint32_t address = 0;
    if (rc == 0)
        rc = wr_sandbox_network_reserve (mgr, c->id, &spec->network, &address, err);
    if (rc == 0 && (spec->image.n_steps > 0 || spec->image.dockerfile != NULL)) {
        wr_sandbox_build_network_t network;
        rc = wr_sandbox_build_network_open (mgr, c->id, address, &spec->network, &network, err);
        if (rc == 0)
            rc = build_image (c, &spec->image, &network, cancel, &image, &config, err);
        wr_sandbox_build_network_close (&network);
    }
    if (rc == 0)
        rc = wr_sandbox_db_set_state (mgr->db, c->id, WR_SANDBOX_STARTING, NULL, 0, err);
    wr_sandbox_launched_t launched = { 0 };
    cleanup_free char *resolv = wr_sandbox_net_resolv_conf (mgr->net, &spec->network);
    if (rc == 0) {
        emit_state (c, "starting");
        wr_sandbox_bundle_options_t bo = {
            .id = c->id,
            .name = spec->name,
            .env = (const char *const *) spec->env,
            .cwd = spec->workdir,
            .cpu = spec->cpu,
            .memory_bytes = spec->memory,
            .pids_limit = spec->pids_limit,
            .max_processes = mgr->max_processes,
            .docker_enabled = spec->docker_enabled,
            .init_host_path = mgr->init_path,
            .address = address,
            .uplink_fd = mgr->net != NULL ? wr_sandbox_net_uplink_fd (mgr->net) : -1,
            .resolv_conf = resolv,
        };
        rc = wr_sandbox_launch (mgr->host, mgr->store, &image, &config, &bo, &launched, err);
    }
    wr_image_config_clear (&config);
    wr_image_record_clear (&image);
    if (rc < 0)
        return -1;
    cleanup_free char *agent_dir = xasprintf ("%s/agent", launched.dir);
    wr_sandbox_resources_t res = {
        .runsc_id = launched.container_id,
        .bundle_dir = launched.dir,
        .netns = launched.netns_path,
        .cgroup = launched.cgroup_path,
        .agent_dir = agent_dir,
    };
    rc = wr_sandbox_db_set_resources (mgr->db, c->id, &res, err);
    if (rc == 0)
        wr_sandbox_live_add (mgr, c->id, agent_dir, launched.pid, launched.cgroup_path,
                             spec->docker_enabled);
    wr_sandbox_launched_clear (&launched);
    if (rc < 0)
        return -1;
    /* The sandbox must be running for the agent to be handed out. */
    if (wr_sandbox_db_set_state (mgr->db, c->id, WR_SANDBOX_RUNNING, NULL, 0, err) < 0)
        return -1;
    wr_agent_client_t *agent = wr_sandbox_manager_agent (mgr, c->id, err);
    if (agent == NULL)
        return wr_error_prefix (err, "the sandbox's agent did not answer");
    rc = spec->docker_enabled ? wait_for_docker (c, agent, cancel, err) : 0;
    wr_sandbox_manager_release (mgr, agent);
    if (rc == 0)
        rc = wr_sandbox_ports_apply (mgr, c->id, spec->ports, spec->n_ports, err);
    return rc;
}

int
wr_sandbox_manager_client_check (wr_sandbox_manager_t *mgr, const char *client, wr_error_t *err)
{
    return wr_sandbox_db_client_check (mgr->db, client, err);
}

json_object *
wr_sandbox_manager_create (wr_sandbox_manager_t *mgr, json_object *body, const char *client,
                           wr_sandbox_event_fn on_event, void *data, const wr_cancel_t *cancel,
                           wr_error_t *err)
{
    int64_t started = wr_monotonic_ms ();
    wr_sandbox_spec_t spec = { 0 };
    if (wr_sandbox_spec_from_object (body, &mgr->limits, "request body", &spec, err) < 0)
        return NULL;
    cleanup_free char *spec_json = wr_sandbox_spec_to_json (&spec);
    wr_sandbox_record_t record = {
        .name = spec.name,
        .client = (char *) client,
        .labels = spec.labels,
        .n_labels = spec.n_labels,
        .spec_json = spec_json,
        .keep_warm_seconds = spec.keep_warm_seconds,
        .image_ref = spec.image.ref,
    };
    if (wr_sandbox_db_insert (mgr->db, &record, err) < 0) {
        wr_sandbox_spec_clear (&spec);
        return NULL;
    }
    cleanup_free char *id = record.id; /* the only field the insert allocated */
    creation_t c = { .mgr = mgr, .on_event = on_event, .data = data, .id = id, .creating = true };
    wr_log_to (mgr->log, WR_LOG_INFO, "creating a sandbox", "sandbox", id, "image", spec.image.ref,
               NULL);
    int rc = start_sandbox (&c, &spec, cancel, err);
    wr_sandbox_spec_clear (&spec);
    if (rc < 0) {
        wr_log_to (mgr->log, WR_LOG_WARN, "creating the sandbox failed", "sandbox", id, "error",
                   (*err)->message, NULL);
        cleanup_error wr_error_t end_err = NULL;
        if (wr_sandbox_end (mgr, id, WR_SANDBOX_FAILED, (*err)->message, &end_err) < 0)
            wr_log_to (mgr->log, WR_LOG_ERROR, "cleaning up a failed sandbox failed", "sandbox", id,
                       "error", end_err->message, NULL);
        return wr_error_prefix (err, "sandbox `%s`", id), NULL;
    }
    wr_histogram_observe (&mgr->create_seconds, (double) (wr_monotonic_ms () - started) / 1000.0);
    wr_log_to (mgr->log, WR_LOG_INFO, "sandbox running", "sandbox", id, NULL);
    return wr_sandbox_manager_get (mgr, id, err);
}

int
wr_sandbox_manager_watch_docker (wr_sandbox_manager_t *mgr, const char *id,
                                 wr_sandbox_event_fn on_event, void *data,
                                 const wr_cancel_t *cancel, wr_error_t *err)
{
    wr_agent_client_t *agent = wr_sandbox_manager_agent (mgr, id, err);
    if (agent == NULL)
        return -1;
    creation_t c = { .mgr = mgr, .on_event = on_event, .data = data, .id = id };
    int rc = wait_for_docker (&c, agent, cancel, err);
    wr_sandbox_manager_release (mgr, agent);
    return rc;
}
