/* Image configs (the JSON blob a manifest's "config" points at): the parts
 * a sandbox's spec is made from.  Untrusted like the manifest itself. */
#include <string.h>

#include "cleanup.h"
#include "digest.h"
#include "json_reader.h"
#include "manifest.h"
#include "quote.h"
#include "strv.h"
#include "xalloc.h"

#define QUOTE_MAX 100

/* Entrypoint and Cmd: an array of strings, or (as Docker also accepts) a
 * single string. */
static int
parse_command (json_object *obj, const char *key, const char *name, const char *path, char ***out,
               wr_error_t *err)
{
    json_object *value = NULL;
    int found = wr_json_member (obj, key, false, name, path, &value, err);
    if (found <= 0)
        return found;
    cleanup_free char *child = wr_json_path_key (path, key);
    if (json_object_is_type (value, json_type_string)) {
        const char *s = NULL;
        if (wr_json_string (value, name, child, &s, err) < 0)
            return -1;
        wr_strv_add (out, s);
        return 0;
    }
    return wr_json_string_array (value, name, child, out, err);
}

static int
parse_env (json_object *obj, const char *name, const char *path, char ***out, wr_error_t *err)
{
    json_object *value = NULL;
    int found = wr_json_member (obj, "Env", false, name, path, &value, err);
    if (found <= 0)
        return found;
    cleanup_free char *child = wr_json_path_key (path, "Env");
    if (wr_json_string_array (value, name, child, out, err) < 0)
        return -1;
    for (size_t i = 0; (*out)[i] != NULL; i++) {
        const char *eq = strchr ((*out)[i], '=');
        if (eq == NULL || eq == (*out)[i]) {
            cleanup_free char *item = wr_json_path_index (child, i);
            cleanup_free char *quoted = wr_quote ((*out)[i], QUOTE_MAX);
            return wr_json_error (err, name, item, "`%s` is not NAME=VALUE", quoted);
        }
    }
    return 0;
}

static const char *const port_protocols[] = { "tcp", "udp", "sctp" };
#define PORT_COUNT 65536

/* "PORT" (tcp) or "PORT/PROTO" into *PORT and *PROTOCOL (an index into
 * port_protocols); -1 when it is neither. */
static int
parse_port (const char *key, unsigned long *port, size_t *protocol)
{
    size_t digits = strspn (key, "0123456789");
    if (digits == 0 || digits > 5 || key[0] == '0')
        return -1;
    *port = strtoul (key, NULL, 10);
    if (*port >= PORT_COUNT)
        return -1;
    const char *proto = key + digits;
    if (proto[0] == '\0') {
        *protocol = 0;
        return 0;
    }
    for (size_t i = 0; i < sizeof port_protocols / sizeof port_protocols[0]; i++) {
        if (proto[0] == '/' && strcmp (proto + 1, port_protocols[i]) == 0) {
            *protocol = i;
            return 0;
        }
    }
    return -1;
}

static int
parse_exposed_ports (json_object *obj, const char *name, const char *path, char ***out,
                     wr_error_t *err)
{
    json_object *value = NULL;
    int found = wr_json_member (obj, "ExposedPorts", false, name, path, &value, err);
    if (found <= 0)
        return found;
    cleanup_free char *child = wr_json_path_key (path, "ExposedPorts");
    if (wr_json_expect (value, json_type_object, name, child, err) < 0)
        return -1;
    size_t n = (size_t) json_object_object_length (value), count = 0;
    *out = xzalloc ((n + 1) * sizeof **out);
    /* "80" and "80/tcp" are one port: a bit per port and protocol keeps
     * the first (a list search would be quadratic in a hostile config). */
    cleanup_free unsigned char *seen =
        xzalloc (sizeof port_protocols / sizeof port_protocols[0] * PORT_COUNT / 8);
    json_object_object_foreach (value, key, port_value)
    {
        (void) port_value;
        unsigned long port;
        size_t protocol;
        if (parse_port (key, &port, &protocol) < 0) {
            cleanup_free char *quoted = wr_quote (key, QUOTE_MAX);
            return wr_json_error (err, name, child,
                                  "`%s` is not PORT or PORT/PROTOCOL (a port from 1 to 65535; "
                                  "tcp, udp or sctp)",
                                  quoted);
        }
        size_t bit = protocol * PORT_COUNT + port;
        if (seen[bit / 8] & (1u << (bit % 8)))
            continue;
        seen[bit / 8] |= (unsigned char) (1u << (bit % 8));
        (*out)[count++] = xasprintf ("%lu/%s", port, port_protocols[protocol]);
    }
    return 0;
}

/* config.Labels: an object of strings (Docker's map[string]string). */
static int
parse_labels (json_object *obj, const char *name, const char *path, char ***out, wr_error_t *err)
{
    json_object *value = NULL;
    int found = wr_json_member (obj, "Labels", false, name, path, &value, err);
    if (found <= 0)
        return found;
    cleanup_free char *child = wr_json_path_key (path, "Labels");
    if (wr_json_expect (value, json_type_object, name, child, err) < 0)
        return -1;
    size_t n = (size_t) json_object_object_length (value), count = 0;
    if (n == 0)
        return 0;
    *out = xzalloc ((2 * n + 1) * sizeof **out);
    json_object_object_foreach (value, key, label)
    {
        const char *s = NULL;
        if (wr_json_string (label, name, "", &s, NULL) < 0) {
            /* The key is untrusted: quoted in the path. */
            cleanup_free char *quoted = wr_quote (key, QUOTE_MAX);
            cleanup_free char *label_path = wr_json_path_key (child, quoted);
            return wr_json_string (label, name, label_path, &s, err);
        }
        (*out)[count++] = xstrdup (key);
        (*out)[count++] = xstrdup (s);
    }
    return 0;
}

/* Member KEY as a string, NULL when absent, null or empty. */
static int
optional_string (json_object *obj, const char *key, const char *name, const char *path, char **out,
                 wr_error_t *err)
{
    if (wr_json_member_string (obj, key, false, name, path, out, err) < 0)
        return -1;
    if (*out != NULL && (*out)[0] == '\0') {
        free (*out);
        *out = NULL;
    }
    return 0;
}

static int
parse_rootfs (json_object *root, const char *name, char ***out, wr_error_t *err)
{
    json_object *rootfs = NULL;
    if (wr_json_member (root, "rootfs", true, name, "", &rootfs, err) < 0 ||
        wr_json_expect (rootfs, json_type_object, name, "rootfs", err) < 0)
        return -1;
    cleanup_free char *type = NULL;
    if (wr_json_member_string (rootfs, "type", true, name, "rootfs", &type, err) < 0)
        return -1;
    if (strcmp (type, "layers") != 0) {
        cleanup_free char *quoted = wr_quote (type, QUOTE_MAX);
        return wr_json_error (err, name, "rootfs.type", "must be \"layers\", not `%s`", quoted);
    }
    json_object *diff_ids = NULL;
    if (wr_json_member (rootfs, "diff_ids", true, name, "rootfs", &diff_ids, err) < 0 ||
        wr_json_string_array (diff_ids, name, "rootfs.diff_ids", out, err) < 0)
        return -1;
    for (size_t i = 0; (*out)[i] != NULL; i++) {
        cleanup_free char *path = wr_json_path_index ("rootfs.diff_ids", i);
        if (wr_json_check_digest ((*out)[i], name, path, err) < 0)
            return -1;
    }
    return 0;
}

static int
parse_config (json_object *root, const char *name, wr_image_config_t *config, wr_error_t *err)
{
    if (wr_json_member_string (root, "architecture", true, name, "", &config->architecture, err) <
            0 ||
        wr_json_member_string (root, "os", true, name, "", &config->os, err) < 0 ||
        optional_string (root, "variant", name, "", &config->variant, err) < 0)
        return -1;

    json_object *run = NULL;
    int found = wr_json_member (root, "config", false, name, "", &run, err);
    if (found < 0)
        return -1;
    if (found > 0) {
        if (wr_json_expect (run, json_type_object, name, "config", err) < 0 ||
            parse_env (run, name, "config", &config->env, err) < 0 ||
            parse_command (run, "Entrypoint", name, "config", &config->entrypoint, err) < 0 ||
            parse_command (run, "Cmd", name, "config", &config->cmd, err) < 0 ||
            optional_string (run, "WorkingDir", name, "config", &config->working_dir, err) < 0 ||
            optional_string (run, "User", name, "config", &config->user, err) < 0 ||
            parse_exposed_ports (run, name, "config", &config->exposed_ports, err) < 0 ||
            parse_labels (run, name, "config", &config->labels, err) < 0)
            return -1;
    }
    return parse_rootfs (root, name, &config->diff_ids, err);
}

int
wr_image_config_parse (const char *data, size_t len, const char *name, wr_image_config_t *config,
                       wr_error_t *err)
{
    memset (config, 0, sizeof *config);
    if (name == NULL)
        name = "image config";
    cleanup_json_reader json_object *root =
        wr_json_parse_object (data, len, WR_CONFIG_MAX_SIZE, "an image config", name, err);
    if (root == NULL)
        return -1;
    if (parse_config (root, name, config, err) < 0) {
        wr_image_config_clear (config);
        return -1;
    }
    return 0;
}

void
wr_image_config_clear (wr_image_config_t *config)
{
    if (config == NULL)
        return;
    free (config->architecture);
    free (config->os);
    wr_strv_free (config->env);
    wr_strv_free (config->entrypoint);
    wr_strv_free (config->cmd);
    free (config->working_dir);
    free (config->user);
    wr_strv_free (config->exposed_ports);
    wr_strv_free (config->diff_ids);
    free (config->variant);
    wr_strv_free (config->labels);
    memset (config, 0, sizeof *config);
}
