/* Build steps: parsed from the command line's forms, and described in a
 * canonical JSON text that their cache key hashes (a copy's source tree is
 * hashed into it, so a changed file misses the cache); with_docker()'s
 * script.  See image_build.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "image_build_private.h"
#include "path_in_root.h"
#include "strv.h"
#include "xalloc.h"

int
wr_build_step_parse (const char *kind, const char *arg, wr_build_step_t *step, wr_error_t *err)
{
    memset (step, 0, sizeof *step);
    if (strcmp (kind, "run") == 0) {
        if (arg == NULL || arg[0] == '\0')
            return wr_error_set (err, 0, "run: empty command");
        step->kind = WR_BUILD_RUN;
        wr_strv_add (&step->commands, arg);
    } else if (strcmp (kind, "env") == 0) {
        const char *eq = arg != NULL ? strchr (arg, '=') : NULL;
        if (eq == NULL || eq == arg)
            return wr_error_set (err, 0, "env `%s`: expected NAME=VALUE", arg ? arg : "");
        step->kind = WR_BUILD_ENV;
        wr_strv_add (&step->env, arg);
    } else if (strcmp (kind, "copy") == 0) {
        const char *colon = arg != NULL ? strrchr (arg, ':') : NULL;
        if (colon == NULL || colon == arg || colon[1] != '/')
            return wr_error_set (err, 0, "copy `%s`: expected SRC:/ABSOLUTE/DST", arg ? arg : "");
        step->kind = WR_BUILD_COPY;
        step->src = xstrndup (arg, (size_t) (colon - arg));
        step->dst = xstrdup (colon + 1);
    } else if (strcmp (kind, "with-docker") == 0 || strcmp (kind, "with_docker") == 0) {
        step->kind = WR_BUILD_WITH_DOCKER;
    } else {
        return wr_error_set (err, 0, "unknown build step `%s`", kind);
    }
    return 0;
}

void
wr_build_step_clear (wr_build_step_t *step)
{
    wr_strv_free (step->commands);
    wr_strv_free (step->env);
    free (step->src);
    free (step->dst);
    free (step->workdir);
    free (step->user);
    wr_strv_free (step->cmd);
    wr_strv_free (step->entrypoint);
    wr_strv_free (step->labels);
    wr_strv_free (step->expose);
    memset (step, 0, sizeof *step);
}

const char *
wr_build_apt_mirror (const wr_build_options_t *options)
{
    if (options != NULL && options->apt_mirror != NULL && options->apt_mirror[0] != '\0')
        return options->apt_mirror;
    return NULL;
}

/* The shell script of with_docker() on Debian and Ubuntu (nothing but
 * iptables-legacy selected when dockerd is there already).  Services are
 * not started while installing (policy-rc.d); package lists and the
 * mirror's source list do not stay in the image. */
char *
wr_build_with_docker_script (const char *mirror)
{
    cleanup_free char *apt_opts =
        mirror != NULL ? xstrdup ("-o Dir::Etc::SourceList=/tmp/warren-apt/sources.list "
                                  "-o Dir::Etc::SourceParts=/tmp/warren-apt/parts.d")
                       : xstrdup ("");
    cleanup_free char *setup = mirror != NULL ? xasprintf ("mkdir -p /tmp/warren-apt/parts.d\n"
                                                           "echo 'deb [trusted=yes] %s ./' > "
                                                           "/tmp/warren-apt/sources.list\n",
                                                           mirror)
                                              : xstrdup ("");
    return xasprintf ("set -e\n"
                      "if command -v dockerd >/dev/null 2>&1; then\n"
                      "  update-alternatives --set iptables /usr/sbin/iptables-legacy\n"
                      "  update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy\n"
                      "  exit 0\n"
                      "fi\n"
                      "export DEBIAN_FRONTEND=noninteractive\n"
                      "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d\n"
                      "chmod 755 /usr/sbin/policy-rc.d\n"
                      "%s"
                      "apt-get %s update\n"
                      "apt-get %s install -y --no-install-recommends "
                      "docker.io iptables ca-certificates\n"
                      "update-alternatives --set iptables /usr/sbin/iptables-legacy\n"
                      "update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy\n"
                      "rm -rf /usr/sbin/policy-rc.d /tmp/warren-apt /var/lib/apt/lists/* "
                      "/var/cache/apt/*.bin /var/cache/apt/archives/*.deb\n",
                      setup, apt_opts, apt_opts);
}

static json_object *
string_array (char *const *strv)
{
    json_object *a = json_object_new_array ();
    for (size_t i = 0; strv != NULL && strv[i] != NULL; i++)
        json_object_array_add (a, json_object_new_string (strv[i]));
    return a;
}

/* A config step's changes, only those it makes. */
static json_object *
describe_config (const wr_build_step_t *step)
{
    json_object *c = json_object_new_object ();
    if (step->workdir != NULL)
        json_object_object_add (c, "workdir", json_object_new_string (step->workdir));
    if (step->user != NULL)
        json_object_object_add (c, "user", json_object_new_string (step->user));
    if (step->set_entrypoint)
        json_object_object_add (c, "entrypoint",
                                step->entrypoint != NULL ? string_array (step->entrypoint) : NULL);
    if (step->set_cmd)
        json_object_object_add (c, "cmd", step->cmd != NULL ? string_array (step->cmd) : NULL);
    if (step->labels != NULL)
        json_object_object_add (c, "labels", string_array (step->labels));
    if (step->expose != NULL)
        json_object_object_add (c, "expose", string_array (step->expose));
    return c;
}

static int
cmp_str (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Adds the names, types, modes and contents under PATH to SHA. */
static int
hash_tree (wr_sha256_t *sha, int dir_fd, const char *path, const char *name, wr_error_t *err)
{
    struct stat st;
    if (fstatat (dir_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return wr_error_set (err, errno, "copy: `%s`", name);
    char head[64];
    int n = snprintf (head, sizeof head, "%o %lld ", (unsigned) st.st_mode,
                      (long long) (S_ISREG (st.st_mode) ? st.st_size : 0));
    wr_sha256_update (sha, name, strlen (name) + 1);
    wr_sha256_update (sha, head, (size_t) n);
    if (S_ISLNK (st.st_mode)) {
        char target[4096];
        ssize_t len = readlinkat (dir_fd, path, target, sizeof target);
        if (len < 0)
            return wr_error_set (err, errno, "copy: read symlink `%s`", name);
        wr_sha256_update (sha, target, (size_t) len);
    } else if (S_ISREG (st.st_mode)) {
        cleanup_close int fd = openat (dir_fd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return wr_error_set (err, errno, "copy: open `%s`", name);
        cleanup_free char *buf = xmalloc (WR_BUILD_COPY_BUFFER);
        ssize_t got;
        while ((got = read (fd, buf, WR_BUILD_COPY_BUFFER)) > 0)
            wr_sha256_update (sha, buf, (size_t) got);
        if (got < 0)
            return wr_error_set (err, errno, "copy: read `%s`", name);
    } else if (S_ISDIR (st.st_mode)) {
        cleanup_close int fd =
            openat (dir_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return wr_error_set (err, errno, "copy: open `%s`", name);
        cleanup_closedir DIR *dir = fdopendir (fd);
        if (dir == NULL)
            return wr_error_set (err, errno, "copy: open `%s`", name);
        fd = -1;
        cleanup_strv char **names = NULL;
        struct dirent *de;
        while ((de = readdir (dir)) != NULL)
            if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
                wr_strv_add (&names, de->d_name);
        size_t count = wr_strv_length (names);
        if (count > 1)
            qsort (names, count, sizeof *names, cmp_str);
        for (size_t i = 0; i < count; i++) {
            cleanup_free char *child = xasprintf ("%s/%s", name, names[i]);
            if (hash_tree (sha, dirfd (dir), names[i], child, err) < 0)
                return -1;
        }
    }
    return 0;
}

int
wr_build_copy_source (const wr_build_step_t *step, const wr_build_options_t *options, int *dir_fd,
                      const char **name, wr_error_t *err)
{
    *dir_fd = -1;
    *name = step->src;
    const char *context = options != NULL ? options->context_dir : NULL;
    if (context == NULL)
        return 0;
    cleanup_close int root_fd = open (context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        return wr_error_set (err, errno, "copy: open the build context `%s`", context);
    if (strcmp (step->src, ".") == 0) {
        *dir_fd = steal_fd (&root_fd);
        return 0;
    }
    *dir_fd = wr_open_parent_in_root (root_fd, step->src, false, name, err);
    if (*dir_fd < 0)
        return wr_error_prefix (err, "copy: `%s` in the build context", step->src);
    return 0;
}

char *
wr_build_step_describe (const wr_build_step_t *step, const wr_build_options_t *options,
                        wr_error_t *err)
{
    json_object *o = json_object_new_object ();
    switch (step->kind) {
    case WR_BUILD_RUN: {
        json_object *a = json_object_new_array ();
        for (size_t i = 0; step->commands != NULL && step->commands[i] != NULL; i++)
            json_object_array_add (a, json_object_new_string (step->commands[i]));
        json_object_object_add (o, "run", a);
        /* Only a Dockerfile's RUN has build-time variables; other run
         * steps keep the description (and cache key) they had. */
        if (step->env != NULL)
            json_object_object_add (o, "run_env", string_array (step->env));
        break;
    }
    case WR_BUILD_ENV: {
        json_object *a = json_object_new_array ();
        for (size_t i = 0; step->env != NULL && step->env[i] != NULL; i++)
            json_object_array_add (a, json_object_new_string (step->env[i]));
        json_object_object_add (o, "env", a);
        break;
    }
    case WR_BUILD_COPY: {
        int dir_fd = -1;
        const char *name = NULL;
        if (wr_build_copy_source (step, options, &dir_fd, &name, err) < 0) {
            json_object_put (o);
            return NULL;
        }
        wr_sha256_t *sha = wr_sha256_new ();
        int r = hash_tree (sha, dir_fd >= 0 ? dir_fd : AT_FDCWD, name, step->src, err);
        if (dir_fd >= 0)
            close (dir_fd);
        char digest[WR_DIGEST_MAX_LEN + 1];
        wr_sha256_final (sha, digest);
        wr_sha256_free (sha);
        if (r < 0) {
            json_object_put (o);
            return NULL;
        }
        json_object *c = json_object_new_object ();
        json_object_object_add (c, "dst", json_object_new_string (step->dst));
        json_object_object_add (c, "content", json_object_new_string (digest));
        json_object_object_add (o, "copy", c);
        break;
    }
    case WR_BUILD_WITH_DOCKER: {
        json_object *c = json_object_new_object ();
        const char *mirror = wr_build_apt_mirror (options);
        json_object_object_add (c, "apt_mirror",
                                mirror != NULL ? json_object_new_string (mirror) : NULL);
        cleanup_free char *script = wr_build_with_docker_script (mirror);
        json_object_object_add (c, "script", json_object_new_string (script));
        json_object_object_add (o, "with_docker", c);
        break;
    }
    case WR_BUILD_CONFIG:
        json_object_object_add (o, "config", describe_config (step));
        break;
    }
    char *text = xstrdup (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put (o);
    return text;
}

void
wr_build_cache_key (const char *parent_manifest_digest, const char *description,
                    char out[WR_DIGEST_MAX_LEN + 1])
{
    wr_sha256_t *sha = wr_sha256_new ();
    wr_sha256_update (sha, parent_manifest_digest, strlen (parent_manifest_digest));
    wr_sha256_update (sha, "\n", 1);
    wr_sha256_update (sha, description, strlen (description));
    wr_sha256_final (sha, out);
    wr_sha256_free (sha);
}
