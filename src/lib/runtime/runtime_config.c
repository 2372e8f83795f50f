#include "runtime_config.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "fs.h"
#include "profile.h"
#include "strv.h"
#include "xalloc.h"

/* Config files are small; a bigger one is a mistake. */
#define MAX_CONFIG_BYTES (64 * 1024)

static int
add_profile (char ***list, const char *name, const char *source, wr_error_t *err)
{
    cleanup_error wr_error_t find_err = NULL;
    if (wr_profile_find (name, &find_err) == NULL)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "%s: %s", source, find_err->message);
    wr_strv_add (list, name);
    return 0;
}

char **
wr_runtime_config_parse_profiles (const char *list, const char *name, wr_error_t *err)
{
    cleanup_strv char **out = xzalloc (sizeof (char *));
    cleanup_strv char **parts = wr_strv_split (list, ",");
    for (size_t i = 0; parts != NULL && parts[i] != NULL; i++) {
        if (parts[i][0] == '\0')
            continue;
        if (add_profile (&out, parts[i], name, err) < 0)
            return NULL;
    }
    return steal_pointer (&out);
}

int
wr_runtime_config_load (const char *path, wr_runtime_config_t *config, wr_error_t *err)
{
    memset (config, 0, sizeof *config);
    wr_error_t read_err = NULL;
    size_t n = 0;
    cleanup_free char *data = wr_read_file (path, MAX_CONFIG_BYTES, &n, &read_err);
    if (data == NULL) {
        /* No configuration file: the defaults. */
        if (wr_error_kind (read_err) == WR_ERROR_NOT_FOUND) {
            wr_error_free (&read_err);
            return 0;
        }
        return wr_error_propagate (err, &read_err);
    }
    json_tokener *tok = json_tokener_new ();
    json_object *root = json_tokener_parse_ex (tok, data, (int) n);
    enum json_tokener_error jerr = json_tokener_get_error (tok);
    json_tokener_free (tok);
    if (root == NULL || jerr != json_tokener_success) {
        json_object_put (root);
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "`%s`: not valid JSON: %s", path,
                                  json_tokener_error_desc (jerr));
    }
    int ret = -1;
    if (!json_object_is_type (root, json_type_object)) {
        wr_error_set_kind (err, WR_ERROR_INVALID, 0, "`%s`: expected a JSON object", path);
        goto out;
    }
    json_object_object_foreach (root, key, value)
    {
        if (strcmp (key, "annotation_profiles") != 0) {
            wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                               "`%s`: unknown field \"%s\" (known: annotation_profiles)", path,
                               key);
            goto out;
        }
        if (!json_object_is_type (value, json_type_array)) {
            wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                               "`%s`: \"annotation_profiles\" must be an array of profile names",
                               path);
            goto out;
        }
        cleanup_strv char **list = xzalloc (sizeof (char *));
        cleanup_free char *source = xasprintf ("`%s`: annotation_profiles", path);
        for (size_t i = 0; i < json_object_array_length (value); i++) {
            json_object *item = json_object_array_get_idx (value, i);
            if (!json_object_is_type (item, json_type_string)) {
                wr_error_set_kind (err, WR_ERROR_INVALID, 0, "%s[%zu]: expected a string", source,
                                   i);
                goto out;
            }
            if (add_profile (&list, json_object_get_string (item), source, err) < 0)
                goto out;
        }
        wr_strv_free (config->annotation_profiles);
        config->annotation_profiles = steal_pointer (&list);
    }
    ret = 0;
out:
    json_object_put (root);
    if (ret < 0)
        wr_runtime_config_clear (config);
    return ret;
}

void
wr_runtime_config_clear (wr_runtime_config_t *config)
{
    wr_strv_free (config->annotation_profiles);
    config->annotation_profiles = NULL;
}
