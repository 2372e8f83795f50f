/* The OCI runtime spec (`config.json`) of a bundle.
 *
 * The document is kept as a json-c tree, so every field warren does not know
 * survives a load and a save unchanged.  The helpers below edit the parts a
 * profile needs; each creates missing parents (`process`, `linux`,
 * `linux.resources`, ...) and is idempotent: applying the same edit twice
 * gives the same document. */
#ifndef WARREN_SPEC_H
#define WARREN_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct json_object;
typedef struct wr_spec_s wr_spec_t;

/* Loads PATH.  A malformed document gives an error naming the file, the
 * line and column, and what json-c found wrong there. */
wr_spec_t *wr_spec_load (const char *path, wr_error_t *err);
/* Parses TEXT; NAME is used in error messages in place of a file name. */
wr_spec_t *wr_spec_parse (const char *text, size_t len, const char *name, wr_error_t *err);
/* Writes the spec to PATH atomically (temporary file, fsync, rename). */
int wr_spec_save (wr_spec_t *spec, const char *path, wr_error_t *err);
/* The document as pretty-printed JSON with a final newline; caller frees. */
char *wr_spec_to_string (wr_spec_t *spec);
void wr_spec_free (wr_spec_t *spec);
struct json_object *wr_spec_root (wr_spec_t *spec);

static inline void
wr_spec_cleanup (wr_spec_t **spec)
{
    if (*spec != NULL)
        wr_spec_free (*spec);
}
#define cleanup_spec __attribute__ ((cleanup (wr_spec_cleanup)))

/* Capabilities: "CAP_SYS_ADMIN" style names.  add/remove act on the
 * bounding, effective, inheritable and permitted sets, without duplicates. */
int wr_spec_add_capability (wr_spec_t *spec, const char *cap, wr_error_t *err);
int wr_spec_remove_capability (wr_spec_t *spec, const char *cap, wr_error_t *err);
/* SET is "bounding", "effective", "inheritable", "permitted" or "ambient". */
bool wr_spec_has_capability (wr_spec_t *spec, const char *set, const char *cap);

/* Mounts.  Adding a mount replaces any mount with the same destination. */
typedef struct {
    const char *destination;
    const char *type; /* "bind", "tmpfs", ... */
    const char *source;
    const char *const *options; /* NULL-terminated, may be NULL */
} wr_mount_t;
int wr_spec_add_mount (wr_spec_t *spec, const wr_mount_t *mount, wr_error_t *err);
bool wr_spec_has_mount (wr_spec_t *spec, const char *destination);
int wr_spec_remove_mount (wr_spec_t *spec, const char *destination, wr_error_t *err);
/* Removes option OPTION (for example "ro") from the mount at DESTINATION. */
int wr_spec_remove_mount_option (wr_spec_t *spec, const char *destination, const char *option,
                                 wr_error_t *err);

/* process.env: get returns NULL when NAME is not set; set replaces. */
const char *wr_spec_get_env (wr_spec_t *spec, const char *name);
int wr_spec_set_env (wr_spec_t *spec, const char *name, const char *value, wr_error_t *err);

/* process.args */
size_t wr_spec_args_count (wr_spec_t *spec);
const char *wr_spec_arg (wr_spec_t *spec, size_t index);
int wr_spec_prepend_args (wr_spec_t *spec, const char *const *args, size_t count, wr_error_t *err);
/* Replaces process.args with ARGS (COUNT strings). */
int wr_spec_set_args (wr_spec_t *spec, const char *const *args, size_t count, wr_error_t *err);

/* annotations: get returns NULL when KEY is not set. */
const char *wr_spec_get_annotation (wr_spec_t *spec, const char *key);
int wr_spec_set_annotation (wr_spec_t *spec, const char *key, const char *value, wr_error_t *err);

/* linux.namespaces; TYPE is "network", "mount", ...  has_namespace sets
 * *path to the namespace's path, or NULL when the sandbox makes a new one. */
bool wr_spec_has_namespace (wr_spec_t *spec, const char *type, const char **path);
int wr_spec_add_namespace (wr_spec_t *spec, const char *type, const char *path, wr_error_t *err);
int wr_spec_remove_namespace (wr_spec_t *spec, const char *type, wr_error_t *err);

/* linux.resources */
int wr_spec_clear_device_rules (wr_spec_t *spec, wr_error_t *err);
int wr_spec_set_memory_limit (wr_spec_t *spec, int64_t bytes, wr_error_t *err);
int wr_spec_set_cpu_quota (wr_spec_t *spec, int64_t quota, uint64_t period, wr_error_t *err);
int wr_spec_set_pids_limit (wr_spec_t *spec, int64_t limit, wr_error_t *err);

/* process.rlimits; TYPE is "RLIMIT_NOFILE" style.  Replaces an existing one. */
int wr_spec_set_rlimit (wr_spec_t *spec, const char *type, uint64_t soft, uint64_t hard,
                        wr_error_t *err);

/* linux.maskedPaths and linux.readonlyPaths */
int wr_spec_clear_masked_paths (wr_spec_t *spec, wr_error_t *err);
int wr_spec_clear_readonly_paths (wr_spec_t *spec, wr_error_t *err);

#endif
