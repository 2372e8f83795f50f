#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"
#include "json_type.h"
#include "xalloc.h"

struct wr_spec_s {
    json_object *root;
    char *name; /* the file name (or what the caller called the text), for errors */
};

/* The sets an added capability goes into.  Ambient stays as it is: a
 * capability there is raised in every process, which no profile wants. */
static const char *const capability_sets[] = { "bounding", "effective", "inheritable", "permitted",
                                               NULL };
/* Removing one also removes it from ambient, which must stay a subset of
 * permitted and inheritable. */
static const char *const all_capability_sets[] = { "bounding",  "effective", "inheritable",
                                                   "permitted", "ambient",   NULL };

/* A config.json bigger than this is not a config.json. */
#define MAX_SPEC_SIZE (64 * 1024 * 1024)

static void
spec_cleanup_json (json_object **o)
{
    if (*o != NULL)
        json_object_put (*o);
}
#define cleanup_json __attribute__ ((cleanup (spec_cleanup_json)))

static int
type_error (wr_spec_t *spec, const char *path, json_object *found, json_type wanted,
            wr_error_t *err)
{
    return wr_error_set (err, 0, "`%s`: `%s` must be %s, not %s", spec->name, path,
                         wr_json_type_phrase (wanted),
                         wr_json_type_phrase (json_object_get_type (found)));
}

/* Finds the value at PATH (dot-separated keys below the root).  A missing or
 * null value gives *out = NULL, or with CREATE a new empty object or array
 * (and any missing parents).  A value of the wrong type on the way is an
 * error that names its path. */
static int
lookup (wr_spec_t *spec, const char *path, json_type type, bool create, json_object **out,
        wr_error_t *err)
{
    json_object *current = spec->root;
    const char *p = path;

    *out = NULL;
    for (;;) {
        const char *dot = strchr (p, '.');
        size_t key_len = dot != NULL ? (size_t) (dot - p) : strlen (p);
        cleanup_free char *key = xstrndup (p, key_len);
        json_type wanted = dot != NULL ? json_type_object : type;
        json_object *child = NULL;

        json_object_object_get_ex (current, key, &child);
        if (child == NULL) {
            if (!create)
                return 0;
            child =
                wanted == json_type_array ? json_object_new_array () : json_object_new_object ();
            json_object_object_add (current, key, child);
        } else if (!json_object_is_type (child, wanted)) {
            cleanup_free char *sub = xstrndup (path, (size_t) (p - path) + key_len);
            return type_error (spec, sub, child, wanted, err);
        }
        if (dot == NULL) {
            *out = child;
            return 0;
        }
        current = child;
        p = dot + 1;
    }
}

/* Checks that every element of ARR (at PATH) is a string. */
static int
check_strings (wr_spec_t *spec, const char *path, json_object *arr, wr_error_t *err)
{
    size_t n = json_object_array_length (arr);
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx (arr, i);
        if (!json_object_is_type (item, json_type_string)) {
            cleanup_free char *item_path = xasprintf ("%s[%zu]", path, i);
            return type_error (spec, item_path, item, json_type_string, err);
        }
    }
    return 0;
}

/* Checks that element I of ARR (at PATH) is an object whose KEY is a string,
 * and returns that string. */
static int
object_key (wr_spec_t *spec, const char *path, json_object *arr, size_t i, const char *key,
            const char **value, wr_error_t *err)
{
    json_object *item = json_object_array_get_idx (arr, i);
    json_object *field = NULL;

    if (!json_object_is_type (item, json_type_object)) {
        cleanup_free char *item_path = xasprintf ("%s[%zu]", path, i);
        return type_error (spec, item_path, item, json_type_object, err);
    }
    json_object_object_get_ex (item, key, &field);
    if (!json_object_is_type (field, json_type_string)) {
        cleanup_free char *field_path = xasprintf ("%s[%zu].%s", path, i, key);
        return type_error (spec, field_path, field, json_type_string, err);
    }
    *value = json_object_get_string (field);
    return 0;
}

static bool
array_has_string (json_object *arr, const char *value)
{
    size_t n = json_object_array_length (arr);
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx (arr, i);
        if (json_object_is_type (item, json_type_string) &&
            strcmp (json_object_get_string (item), value) == 0)
            return true;
    }
    return false;
}

static void
array_remove_string (json_object *arr, const char *value)
{
    for (size_t i = json_object_array_length (arr); i > 0; i--) {
        json_object *item = json_object_array_get_idx (arr, i - 1);
        if (json_object_is_type (item, json_type_string) &&
            strcmp (json_object_get_string (item), value) == 0)
            json_object_array_del_idx (arr, i - 1, 1);
    }
}

/* Compares two absolute paths, ignoring repeated and trailing slashes, so
 * "/sys/fs/cgroup/" names the same mount point as "/sys/fs/cgroup". */
static bool
same_path (const char *a, const char *b)
{
    for (;;) {
        while (a[0] == '/' && (a[1] == '/' || a[1] == '\0'))
            a++;
        while (b[0] == '/' && (b[1] == '/' || b[1] == '\0'))
            b++;
        if (*a != *b)
            return false;
        if (*a == '\0')
            return true;
        a++;
        b++;
    }
}

/* Parsing, loading and saving */

static void
text_position (const char *text, size_t offset, size_t *line, size_t *column)
{
    size_t line_start = 0;
    *line = 1;
    for (size_t i = 0; i < offset; i++) {
        if (text[i] == '\n') {
            (*line)++;
            line_start = i + 1;
        }
    }
    *column = offset - line_start + 1;
}

static int
parse_error (const char *text, size_t offset, const char *name, const char *what, wr_error_t *err)
{
    size_t line, column;
    text_position (text, offset, &line, &column);
    return wr_error_set (err, 0, "parse `%s`: line %zu, column %zu: %s", name, line, column, what);
}

wr_spec_t *
wr_spec_parse (const char *text, size_t len, const char *name, wr_error_t *err)
{
    cleanup_json json_object *root = NULL;
    enum json_tokener_error error;
    size_t end;

    if (len > INT_MAX || len > MAX_SPEC_SIZE) {
        wr_error_set (err, 0, "parse `%s`: %zu bytes is too large for a config.json", name, len);
        return NULL;
    }

    json_tokener *tok = json_tokener_new ();
    if (tok == NULL)
        abort ();
    /* Strict: no comments, trailing commas or unquoted names, which runc and
     * runsc would reject anyway. */
    json_tokener_set_flags (tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex (tok, text, (int) len);
    error = json_tokener_get_error (tok);
    end = json_tokener_get_parse_end (tok);
    if (end > len)
        end = len;
    if (error == json_tokener_continue) {
        /* json-c ends a top-level number or literal only when it sees the
         * byte after it: give it the terminating NUL. */
        root = json_tokener_parse_ex (tok, "", 1);
        error = json_tokener_get_error (tok);
        if (error != json_tokener_success)
            error = json_tokener_continue;
        end = len;
    }
    json_tokener_free (tok);

    if (error == json_tokener_continue) {
        parse_error (text, end, name, json_tokener_error_desc (json_tokener_error_parse_eof), err);
        return NULL;
    }
    if (error != json_tokener_success) {
        parse_error (text, end, name, json_tokener_error_desc (error), err);
        return NULL;
    }
    for (size_t i = end; i < len; i++) {
        if (strchr (" \t\r\n", text[i]) == NULL || text[i] == '\0') {
            parse_error (text, i, name, "unexpected data after the document", err);
            return NULL;
        }
    }
    if (!json_object_is_type (root, json_type_object)) {
        wr_error_set (err, 0, "parse `%s`: the top level must be an object, not %s", name,
                      wr_json_type_phrase (json_object_get_type (root)));
        return NULL;
    }

    wr_spec_t *spec = xzalloc (sizeof *spec);
    spec->root = steal_pointer (&root);
    spec->name = xstrdup (name);
    return spec;
}

wr_spec_t *
wr_spec_load (const char *path, wr_error_t *err)
{
    size_t len = 0;
    cleanup_free char *buf = wr_read_file (path, MAX_SPEC_SIZE, &len, err);
    if (buf == NULL)
        return NULL;
    return wr_spec_parse (buf, len, path, err);
}

char *
wr_spec_to_string (wr_spec_t *spec)
{
    const char *text = json_object_to_json_string_ext (
        spec->root,
        JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    return xasprintf ("%s\n", text);
}

static int
write_temporary (const char *tmp, int fd, mode_t mode, const char *text, wr_error_t *err)
{
    if (fchmod (fd, mode) < 0)
        return wr_error_set (err, errno, "chmod `%s`", tmp);
    if (wr_write_all (fd, text, strlen (text), tmp, err) < 0)
        return -1;
    if (fsync (fd) < 0)
        return wr_error_set (err, errno, "fsync `%s`", tmp);
    return 0;
}

int
wr_spec_save (wr_spec_t *spec, const char *path, wr_error_t *err)
{
    cleanup_free char *text = wr_spec_to_string (spec);
    /* The temporary file sits next to PATH so that rename() is atomic. */
    cleanup_free char *tmp = xasprintf ("%s.tmp-XXXXXX", path);
    cleanup_close int fd = -1;
    struct stat st;
    mode_t mode = 0644;

    if (stat (path, &st) == 0)
        mode = st.st_mode & 07777;

    fd = mkostemp (tmp, O_CLOEXEC);
    if (fd < 0)
        return wr_error_set (err, errno, "create a temporary file for `%s`", path);
    if (write_temporary (tmp, fd, mode, text, err) < 0) {
        unlink (tmp);
        return -1;
    }
    if (close (steal_fd (&fd)) < 0) {
        wr_error_set (err, errno, "close `%s`", tmp);
        unlink (tmp);
        return -1;
    }
    if (rename (tmp, path) < 0) {
        wr_error_set (err, errno, "rename `%s` to `%s`", tmp, path);
        unlink (tmp);
        return -1;
    }

    /* Make the rename itself durable. */
    const char *slash = strrchr (path, '/');
    cleanup_free char *dir = slash == NULL   ? xstrdup (".")
                             : slash == path ? xstrdup ("/")
                                             : xstrndup (path, (size_t) (slash - path));
    cleanup_close int dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0 || fsync (dir_fd) < 0)
        return wr_error_set (err, errno, "fsync directory `%s`", dir);
    return 0;
}

void
wr_spec_free (wr_spec_t *spec)
{
    if (spec == NULL)
        return;
    json_object_put (spec->root);
    free (spec->name);
    free (spec);
}

struct json_object *
wr_spec_root (wr_spec_t *spec)
{
    return spec->root;
}

/* Capabilities */

static bool
valid_capability (const char *cap)
{
    return cap != NULL && strncmp (cap, "CAP_", 4) == 0 && cap[4] != '\0';
}

int
wr_spec_add_capability (wr_spec_t *spec, const char *cap, wr_error_t *err)
{
    if (!valid_capability (cap))
        return wr_error_set (err, 0,
                             "`%s`: invalid capability `%s` (expected a name like CAP_CHOWN)",
                             spec->name, cap != NULL ? cap : "(null)");
    for (const char *const *set = capability_sets; *set != NULL; set++) {
        cleanup_free char *path = xasprintf ("process.capabilities.%s", *set);
        json_object *arr = NULL;
        if (lookup (spec, path, json_type_array, true, &arr, err) < 0)
            return -1;
        if (check_strings (spec, path, arr, err) < 0)
            return -1;
        if (!array_has_string (arr, cap))
            json_object_array_add (arr, json_object_new_string (cap));
    }
    return 0;
}

int
wr_spec_remove_capability (wr_spec_t *spec, const char *cap, wr_error_t *err)
{
    for (const char *const *set = all_capability_sets; *set != NULL; set++) {
        cleanup_free char *path = xasprintf ("process.capabilities.%s", *set);
        json_object *arr = NULL;
        if (lookup (spec, path, json_type_array, false, &arr, err) < 0)
            return -1;
        if (arr == NULL)
            continue;
        if (check_strings (spec, path, arr, err) < 0)
            return -1;
        array_remove_string (arr, cap);
    }
    return 0;
}

bool
wr_spec_has_capability (wr_spec_t *spec, const char *set, const char *cap)
{
    cleanup_free char *path = xasprintf ("process.capabilities.%s", set);
    json_object *arr = NULL;
    if (lookup (spec, path, json_type_array, false, &arr, NULL) < 0 || arr == NULL)
        return false;
    return array_has_string (arr, cap);
}

/* Mounts */

/* Index of the first mount at DESTINATION in ARR, or -1.  Checks the shape of
 * every mount before it. */
static int
find_mount (wr_spec_t *spec, json_object *arr, const char *destination, size_t start,
            ssize_t *index, wr_error_t *err)
{
    size_t n = json_object_array_length (arr);
    *index = -1;
    for (size_t i = start; i < n; i++) {
        const char *dest;
        if (object_key (spec, "mounts", arr, i, "destination", &dest, err) < 0)
            return -1;
        if (same_path (dest, destination)) {
            *index = (ssize_t) i;
            return 0;
        }
    }
    return 0;
}

static void
add_string_field (json_object *obj, const char *key, const char *value)
{
    if (value != NULL)
        json_object_object_add (obj, key, json_object_new_string (value));
}

int
wr_spec_add_mount (wr_spec_t *spec, const wr_mount_t *mount, wr_error_t *err)
{
    json_object *arr = NULL;
    ssize_t index;

    if (mount->destination == NULL || mount->destination[0] != '/')
        return wr_error_set (err, 0, "`%s`: mount destination `%s` is not an absolute path",
                             spec->name, mount->destination != NULL ? mount->destination : "");
    if (lookup (spec, "mounts", json_type_array, true, &arr, err) < 0)
        return -1;
    if (find_mount (spec, arr, mount->destination, 0, &index, err) < 0)
        return -1;

    /* The field order runc and Docker write. */
    json_object *m = json_object_new_object ();
    add_string_field (m, "destination", mount->destination);
    add_string_field (m, "type", mount->type);
    add_string_field (m, "source", mount->source);
    if (mount->options != NULL) {
        json_object *options = json_object_new_array ();
        for (const char *const *o = mount->options; *o != NULL; o++)
            json_object_array_add (options, json_object_new_string (*o));
        json_object_object_add (m, "options", options);
    }

    if (index < 0) {
        json_object_array_add (arr, m);
        return 0;
    }
    /* Replace in place, so the order of the other mounts stays as it was, and
     * drop any later mount at the same place. */
    json_object_array_put_idx (arr, (size_t) index, m);
    for (;;) {
        ssize_t again;
        if (find_mount (spec, arr, mount->destination, (size_t) index + 1, &again, err) < 0)
            return -1;
        if (again < 0)
            return 0;
        json_object_array_del_idx (arr, (size_t) again, 1);
    }
}

bool
wr_spec_has_mount (wr_spec_t *spec, const char *destination)
{
    json_object *arr = NULL;
    ssize_t index;
    if (lookup (spec, "mounts", json_type_array, false, &arr, NULL) < 0 || arr == NULL)
        return false;
    if (find_mount (spec, arr, destination, 0, &index, NULL) < 0)
        return false;
    return index >= 0;
}

int
wr_spec_remove_mount (wr_spec_t *spec, const char *destination, wr_error_t *err)
{
    json_object *arr = NULL;
    ssize_t index;
    if (lookup (spec, "mounts", json_type_array, false, &arr, err) < 0)
        return -1;
    if (arr == NULL)
        return 0;
    for (;;) {
        if (find_mount (spec, arr, destination, 0, &index, err) < 0)
            return -1;
        if (index < 0)
            return 0;
        json_object_array_del_idx (arr, (size_t) index, 1);
    }
}

int
wr_spec_remove_mount_option (wr_spec_t *spec, const char *destination, const char *option,
                             wr_error_t *err)
{
    json_object *arr = NULL;
    ssize_t index = -1;
    if (lookup (spec, "mounts", json_type_array, false, &arr, err) < 0)
        return -1;
    if (arr == NULL)
        return 0;
    for (;;) {
        if (find_mount (spec, arr, destination, (size_t) (index + 1), &index, err) < 0)
            return -1;
        if (index < 0)
            return 0;
        json_object *m = json_object_array_get_idx (arr, (size_t) index);
        json_object *options = NULL;
        json_object_object_get_ex (m, "options", &options);
        if (options == NULL)
            continue;
        cleanup_free char *path = xasprintf ("mounts[%zd].options", index);
        if (!json_object_is_type (options, json_type_array))
            return type_error (spec, path, options, json_type_array, err);
        if (check_strings (spec, path, options, err) < 0)
            return -1;
        array_remove_string (options, option);
    }
}

/* process.env */

/* Whether ENTRY ("NAME=value", or a bare "NAME") sets NAME. */
static bool
env_entry_matches (const char *entry, const char *name, bool need_value)
{
    size_t len = strlen (name);
    if (strncmp (entry, name, len) != 0)
        return false;
    return entry[len] == '=' || (!need_value && entry[len] == '\0');
}

const char *
wr_spec_get_env (wr_spec_t *spec, const char *name)
{
    json_object *arr = NULL;
    const char *value = NULL;
    if (lookup (spec, "process.env", json_type_array, false, &arr, NULL) < 0 || arr == NULL)
        return NULL;
    /* When a name is set twice the last one wins, as in execve's callers. */
    size_t n = json_object_array_length (arr);
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx (arr, i);
        if (!json_object_is_type (item, json_type_string))
            continue;
        const char *entry = json_object_get_string (item);
        if (env_entry_matches (entry, name, true))
            value = entry + strlen (name) + 1;
    }
    return value;
}

int
wr_spec_set_env (wr_spec_t *spec, const char *name, const char *value, wr_error_t *err)
{
    json_object *arr = NULL;
    bool replaced = false;

    if (name == NULL || name[0] == '\0' || strchr (name, '=') != NULL)
        return wr_error_set (err, 0, "`%s`: invalid environment variable name `%s`", spec->name,
                             name != NULL ? name : "");
    if (lookup (spec, "process.env", json_type_array, true, &arr, err) < 0)
        return -1;
    if (check_strings (spec, "process.env", arr, err) < 0)
        return -1;

    cleanup_free char *entry = xasprintf ("%s=%s", name, value != NULL ? value : "");
    for (size_t i = 0; i < json_object_array_length (arr);) {
        const char *current = json_object_get_string (json_object_array_get_idx (arr, i));
        if (!env_entry_matches (current, name, false)) {
            i++;
            continue;
        }
        if (replaced) {
            json_object_array_del_idx (arr, i, 1);
            continue;
        }
        if (strcmp (current, entry) != 0)
            json_object_array_put_idx (arr, i, json_object_new_string (entry));
        replaced = true;
        i++;
    }
    if (!replaced)
        json_object_array_add (arr, json_object_new_string (entry));
    return 0;
}

/* process.args */

size_t
wr_spec_args_count (wr_spec_t *spec)
{
    json_object *arr = NULL;
    if (lookup (spec, "process.args", json_type_array, false, &arr, NULL) < 0 || arr == NULL)
        return 0;
    return json_object_array_length (arr);
}

const char *
wr_spec_arg (wr_spec_t *spec, size_t index)
{
    json_object *arr = NULL;
    if (lookup (spec, "process.args", json_type_array, false, &arr, NULL) < 0 || arr == NULL)
        return NULL;
    if (index >= json_object_array_length (arr))
        return NULL;
    json_object *item = json_object_array_get_idx (arr, index);
    if (!json_object_is_type (item, json_type_string))
        return NULL;
    return json_object_get_string (item);
}

int
wr_spec_prepend_args (wr_spec_t *spec, const char *const *args, size_t count, wr_error_t *err)
{
    json_object *process = NULL, *old = NULL;
    if (lookup (spec, "process.args", json_type_array, true, &old, err) < 0)
        return -1;
    if (check_strings (spec, "process.args", old, err) < 0)
        return -1;
    if (lookup (spec, "process", json_type_object, false, &process, err) < 0)
        return -1;

    /* json-c 0.16 cannot insert at the front of an array: build a new one. */
    json_object *args_array = json_object_new_array ();
    for (size_t i = 0; i < count; i++)
        json_object_array_add (args_array, json_object_new_string (args[i]));
    size_t n = json_object_array_length (old);
    for (size_t i = 0; i < n; i++)
        json_object_array_add (args_array, json_object_get (json_object_array_get_idx (old, i)));
    json_object_object_add (process, "args", args_array);
    return 0;
}

int
wr_spec_set_args (wr_spec_t *spec, const char *const *args, size_t count, wr_error_t *err)
{
    json_object *process = NULL;
    if (lookup (spec, "process", json_type_object, true, &process, err) < 0)
        return -1;
    json_object *args_array = json_object_new_array ();
    for (size_t i = 0; i < count; i++)
        json_object_array_add (args_array, json_object_new_string (args[i]));
    json_object_object_add (process, "args", args_array);
    return 0;
}

/* annotations */

const char *
wr_spec_get_annotation (wr_spec_t *spec, const char *key)
{
    json_object *annotations = NULL, *value = NULL;
    if (lookup (spec, "annotations", json_type_object, false, &annotations, NULL) < 0 ||
        annotations == NULL)
        return NULL;
    if (!json_object_object_get_ex (annotations, key, &value) ||
        !json_object_is_type (value, json_type_string))
        return NULL;
    return json_object_get_string (value);
}

int
wr_spec_set_annotation (wr_spec_t *spec, const char *key, const char *value, wr_error_t *err)
{
    json_object *annotations = NULL;
    if (lookup (spec, "annotations", json_type_object, true, &annotations, err) < 0)
        return -1;
    json_object_object_add (annotations, key, json_object_new_string (value != NULL ? value : ""));
    return 0;
}

/* linux.namespaces */

static int
find_namespace (wr_spec_t *spec, json_object *arr, const char *type, size_t start, ssize_t *index,
                wr_error_t *err)
{
    size_t n = json_object_array_length (arr);
    *index = -1;
    for (size_t i = start; i < n; i++) {
        const char *t;
        if (object_key (spec, "linux.namespaces", arr, i, "type", &t, err) < 0)
            return -1;
        if (strcmp (t, type) == 0) {
            *index = (ssize_t) i;
            return 0;
        }
    }
    return 0;
}

bool
wr_spec_has_namespace (wr_spec_t *spec, const char *type, const char **path)
{
    json_object *arr = NULL, *ns_path = NULL;
    ssize_t index;
    if (path != NULL)
        *path = NULL;
    if (lookup (spec, "linux.namespaces", json_type_array, false, &arr, NULL) < 0 || arr == NULL)
        return false;
    if (find_namespace (spec, arr, type, 0, &index, NULL) < 0 || index < 0)
        return false;
    json_object *ns = json_object_array_get_idx (arr, (size_t) index);
    if (path != NULL && json_object_object_get_ex (ns, "path", &ns_path) &&
        json_object_is_type (ns_path, json_type_string))
        *path = json_object_get_string (ns_path);
    return true;
}

int
wr_spec_add_namespace (wr_spec_t *spec, const char *type, const char *path, wr_error_t *err)
{
    json_object *arr = NULL;
    ssize_t index;
    if (lookup (spec, "linux.namespaces", json_type_array, true, &arr, err) < 0)
        return -1;
    if (find_namespace (spec, arr, type, 0, &index, err) < 0)
        return -1;

    json_object *ns = json_object_new_object ();
    add_string_field (ns, "type", type);
    add_string_field (ns, "path", path);
    if (index < 0) {
        json_object_array_add (arr, ns);
        return 0;
    }
    json_object_array_put_idx (arr, (size_t) index, ns);
    for (;;) {
        ssize_t again;
        if (find_namespace (spec, arr, type, (size_t) index + 1, &again, err) < 0)
            return -1;
        if (again < 0)
            return 0;
        json_object_array_del_idx (arr, (size_t) again, 1);
    }
}

int
wr_spec_remove_namespace (wr_spec_t *spec, const char *type, wr_error_t *err)
{
    json_object *arr = NULL;
    ssize_t index;
    if (lookup (spec, "linux.namespaces", json_type_array, false, &arr, err) < 0)
        return -1;
    if (arr == NULL)
        return 0;
    for (;;) {
        if (find_namespace (spec, arr, type, 0, &index, err) < 0)
            return -1;
        if (index < 0)
            return 0;
        json_object_array_del_idx (arr, (size_t) index, 1);
    }
}

/* linux.resources */

/* Removes KEY from the object at PATH; nothing to do when PATH is absent. */
static int
remove_key (wr_spec_t *spec, const char *path, const char *key, wr_error_t *err)
{
    json_object *obj = NULL;
    if (lookup (spec, path, json_type_object, false, &obj, err) < 0)
        return -1;
    if (obj != NULL)
        json_object_object_del (obj, key);
    return 0;
}

/* The rules are removed rather than replaced by an empty list: runc, crun
 * and runsc treat both the same, and removing them does not invent a
 * `linux.resources` in a spec that had none. */
int
wr_spec_clear_device_rules (wr_spec_t *spec, wr_error_t *err)
{
    return remove_key (spec, "linux.resources", "devices", err);
}

int
wr_spec_set_memory_limit (wr_spec_t *spec, int64_t bytes, wr_error_t *err)
{
    json_object *memory = NULL;
    if (lookup (spec, "linux.resources.memory", json_type_object, true, &memory, err) < 0)
        return -1;
    json_object_object_add (memory, "limit", json_object_new_int64 (bytes));
    return 0;
}

int
wr_spec_set_cpu_quota (wr_spec_t *spec, int64_t quota, uint64_t period, wr_error_t *err)
{
    json_object *cpu = NULL;
    if (lookup (spec, "linux.resources.cpu", json_type_object, true, &cpu, err) < 0)
        return -1;
    json_object_object_add (cpu, "quota", json_object_new_int64 (quota));
    json_object_object_add (cpu, "period", json_object_new_uint64 (period));
    return 0;
}

int
wr_spec_set_pids_limit (wr_spec_t *spec, int64_t limit, wr_error_t *err)
{
    json_object *pids = NULL;
    if (lookup (spec, "linux.resources.pids", json_type_object, true, &pids, err) < 0)
        return -1;
    json_object_object_add (pids, "limit", json_object_new_int64 (limit));
    return 0;
}

/* process.rlimits */

int
wr_spec_set_rlimit (wr_spec_t *spec, const char *type, uint64_t soft, uint64_t hard,
                    wr_error_t *err)
{
    json_object *arr = NULL;
    size_t n;
    ssize_t index = -1;

    if (type == NULL || strncmp (type, "RLIMIT_", 7) != 0 || type[7] == '\0')
        return wr_error_set (err, 0,
                             "`%s`: invalid rlimit `%s` (expected a name like RLIMIT_NOFILE)",
                             spec->name, type != NULL ? type : "");
    if (lookup (spec, "process.rlimits", json_type_array, true, &arr, err) < 0)
        return -1;
    n = json_object_array_length (arr);
    for (size_t i = 0; i < n; i++) {
        const char *t;
        if (object_key (spec, "process.rlimits", arr, i, "type", &t, err) < 0)
            return -1;
        if (strcmp (t, type) == 0 && index < 0)
            index = (ssize_t) i;
    }

    json_object *rlimit = json_object_new_object ();
    add_string_field (rlimit, "type", type);
    json_object_object_add (rlimit, "hard", json_object_new_uint64 (hard));
    json_object_object_add (rlimit, "soft", json_object_new_uint64 (soft));
    if (index < 0) {
        json_object_array_add (arr, rlimit);
        return 0;
    }
    json_object_array_put_idx (arr, (size_t) index, rlimit);
    for (size_t i = json_object_array_length (arr); i > (size_t) index + 1; i--) {
        const char *t;
        if (object_key (spec, "process.rlimits", arr, i - 1, "type", &t, err) < 0)
            return -1;
        if (strcmp (t, type) == 0)
            json_object_array_del_idx (arr, i - 1, 1);
    }
    return 0;
}

/* linux.maskedPaths and linux.readonlyPaths: removed, for the same reason as
 * the device rules. */

int
wr_spec_clear_masked_paths (wr_spec_t *spec, wr_error_t *err)
{
    return remove_key (spec, "linux", "maskedPaths", err);
}

int
wr_spec_clear_readonly_paths (wr_spec_t *spec, wr_error_t *err)
{
    return remove_key (spec, "linux", "readonlyPaths", err);
}
