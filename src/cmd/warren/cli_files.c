/* warren cp SRC DST: one side is ID:PATH, a path in a sandbox; files are
 * streamed both ways, modes kept (docs/cli.md). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli_api.h"
#include "client_files.h"
#include "json_reader.h"
#include "xalloc.h"

enum { OPT_JSON = 1000, OPT_HELP, OPT_PARENTS };

/* "ID:PATH" into *ID and *PATH (copies): true.  An ID has no '/', so
 * "./a:b" and "/a:b" are local paths. */
static bool
remote (const char *arg, char **id, char **path)
{
    const char *colon = strchr (arg, ':');
    if (colon == NULL || colon == arg || memchr (arg, '/', (size_t) (colon - arg)) != NULL)
        return false;
    *id = xstrndup (arg, (size_t) (colon - arg));
    *path = xstrdup (colon[1] != '\0' ? colon + 1 : "/");
    return true;
}

static char *
base_name (const char *path)
{
    cleanup_free char *copy = xstrdup (path);
    return xstrdup (basename (copy));
}

/* DIR/NAME, without doubling DIR's trailing '/'. */
static char *
join (const char *dir, const char *name)
{
    size_t len = strlen (dir);
    return len > 0 && dir[len - 1] == '/' ? xasprintf ("%s%s", dir, name)
                                          : xasprintf ("%s/%s", dir, name);
}

/* Whether PATH in sandbox ID is missing (the sandbox itself answering). */
static bool
missing_in (wr_client_t *client, const char *id, const char *path)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_json_reader json_object *root = NULL, *info = NULL;
    if (wr_client_file_stat (client, id, "/", true, &root, &err) < 0)
        return false;
    return wr_client_file_stat (client, id, path, true, &info, &err) < 0 &&
           wr_error_kind (err) == WR_ERROR_NOT_FOUND;
}

static int
upload (wr_client_t *client, const char *local, const char *id, const char *path, bool parents,
        bool json)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_close int fd =
        strcmp (local, "-") == 0 ? dup (STDIN_FILENO) : open (local, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        wr_error_set (&err, errno, "cp: %s", local);
        return cli_api_fail (&err, 1);
    }
    struct stat st;
    if (fstat (fd, &st) < 0) {
        wr_error_set (&err, errno, "cp: %s", local);
        return cli_api_fail (&err, 1);
    }
    if (S_ISDIR (st.st_mode)) {
        fprintf (stderr,
                 "warren: cp: %s is a directory: cp copies one file (pipe a tar "
                 "through `warren exec -i ID -- tar x`)\n",
                 local);
        return 1;
    }
    cleanup_free char *target = NULL;
    size_t plen = strlen (path);
    if (plen > 0 && path[plen - 1] == '/') {
        cleanup_free char *name = base_name (strcmp (local, "-") == 0 ? "stdin" : local);
        target = xasprintf ("%s%s", path, name);
    } else {
        cleanup_json_reader json_object *info = NULL;
        wr_client_file_info_t v;
        cleanup_error wr_error_t stat_err = NULL;
        if (wr_client_file_stat (client, id, path, true, &info, &stat_err) == 0 &&
            wr_client_file_info_read (info, &v, &stat_err) == 0 &&
            strcmp (v.file_type, "directory") == 0) {
            cleanup_free char *name = base_name (local);
            target = join (path, name);
        } else {
            target = xstrdup (path);
        }
    }
    wr_client_upload_t opts = {
        .mode = S_ISREG (st.st_mode) ? (int) (st.st_mode & 07777) : -1,
        .uid = -1,
        .gid = -1,
        .parents = parents,
    };
    cleanup_json_reader json_object *info = NULL;
    if (wr_client_file_upload_fd (client, id, target, fd, &opts, &info, &err) < 0) {
        cli_api_fail (&err, 1);
        cleanup_free char *copy = xstrdup (target);
        const char *dir = dirname (copy);
        if (!parents && wr_error_kind (err) == WR_ERROR_NOT_FOUND && missing_in (client, id, dir))
            fprintf (stderr,
                     "warren: cp: sandbox %s has no directory %s (--parents makes missing "
                     "directories)\n",
                     id, dir);
        return 1;
    }
    if (json)
        cli_print_json (info);
    return 0;
}

static int
download (wr_client_t *client, const char *id, const char *path, const char *local, bool json)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_json_reader json_object *info = NULL;
    wr_client_file_info_t v;
    if (wr_client_file_stat (client, id, path, true, &info, &err) < 0 ||
        wr_client_file_info_read (info, &v, &err) < 0)
        return cli_api_fail (&err, 1);
    if (strcmp (v.file_type, "file") != 0) {
        fprintf (stderr, "warren: cp: %s:%s is a %s: cp copies one file\n", id, path, v.file_type);
        return 1;
    }
    bool to_stdout = strcmp (local, "-") == 0;
    cleanup_free char *target = xstrdup (local);
    struct stat st;
    if (!to_stdout && stat (local, &st) == 0 && S_ISDIR (st.st_mode)) {
        cleanup_free char *name = base_name (path);
        free (target);
        target = join (local, name);
    }
    /* Written beside the target and renamed over it once whole. */
    cleanup_free char *tmp = to_stdout ? NULL : xasprintf ("%s.warren-cp-XXXXXX", target);
    cleanup_close int fd = to_stdout ? dup (STDOUT_FILENO) : mkostemp (tmp, O_CLOEXEC);
    if (fd < 0) {
        wr_error_set (&err, errno, "cp: %s", target);
        return cli_api_fail (&err, 1);
    }
    int64_t written = 0;
    int ret = wr_client_file_download_fd (client, id, path, 0, -1, fd, &written, &err);
    if (ret == 0 && !to_stdout && fchmod (fd, (mode_t) v.mode) < 0)
        ret = wr_error_set (&err, errno, "cp: setting the mode of %s", target);
    if (ret == 0 && !to_stdout && rename (tmp, target) < 0)
        ret = wr_error_set (&err, errno, "cp: %s", target);
    if (ret < 0) {
        if (!to_stdout)
            unlink (tmp);
        return cli_api_fail (&err, 1);
    }
    if (json && !to_stdout) {
        json_object *o = json_object_new_object ();
        json_object_object_add (o, "path", json_object_new_string (target));
        json_object_object_add (o, "size", json_object_new_int64 (written));
        json_object_object_add (o, "mode", json_object_new_int64 (v.mode));
        cli_print_json (o);
        json_object_put (o);
    }
    return 0;
}

int
cli_cmd_cp (const cli_api_t *api, int argc, char **argv)
{
    static const struct option options[] = {
        { "parents", no_argument, NULL, OPT_PARENTS },
        { "json", no_argument, NULL, OPT_JSON },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    bool json = false, parents = false;
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long (argc, argv, "+", options, NULL)) != -1) {
        if (c == OPT_JSON)
            json = true;
        else if (c == OPT_PARENTS)
            parents = true;
        else if (c == OPT_HELP) {
            fputs (cli_api_usage, stdout);
            return 0;
        } else
            return cli_bad_option ("cp", argv, "+");
    }
    if (optind + 2 != argc)
        return cli_usage_error ("cp takes SRC and DST, one of them ID:PATH");
    cleanup_free char *src_id = NULL, *src_path = NULL, *dst_id = NULL, *dst_path = NULL;
    bool src_remote = remote (argv[optind], &src_id, &src_path);
    bool dst_remote = remote (argv[optind + 1], &dst_id, &dst_path);
    if (src_remote == dst_remote)
        return cli_usage_error ("cp: %s", src_remote ? "both sides are in sandboxes (copy "
                                                       "through a local file)"
                                                     : "neither side is ID:PATH");
    wr_client_t *client = cli_client (api);
    if (client == NULL)
        return 1;
    int status = src_remote ? download (client, src_id, src_path, argv[optind + 1], json)
                            : upload (client, argv[optind], dst_id, dst_path, parents, json);
    wr_client_free (client);
    return status;
}
