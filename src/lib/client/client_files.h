/* Files in a sandbox through warrend's API (docs/api.md, "FileInfo"):
 * uploads and downloads streamed (any size), stat, list, mkdir, remove,
 * rename, chmod, chown, find and replace.  Paths are paths inside the
 * sandbox; modes are octal (0644 is rw-r--r--). */
#ifndef WARREN_CLIENT_FILES_H
#define WARREN_CLIENT_FILES_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "client.h"
#include "error.h"

/* What the client reads of a FileInfo (PATH and FILE_TYPE point into its
 * JSON). */
typedef struct {
    const char *path, *file_type; /* file, directory, symlink, ... */
    int64_t size, mode, uid, gid, mtime_ms;
} wr_client_file_info_t;

/* INFO checked (path and file_type strings, mode 0 to 07777, size >= 0)
 * and read. */
int wr_client_file_info_read (json_object *info, wr_client_file_info_t *out, wr_error_t *err);

typedef struct {
    int mode; /* -1: warrend's default (0644) */
    int64_t uid, gid; /* -1: the default */
    bool parents; /* make missing parent directories */
    bool append;
} wr_client_upload_t;

/* PUT .../files/content?path=PATH: the bytes of FD from where it is to its
 * end, streamed (a regular file's size is sent as Content-Length, anything
 * else chunked).  OPTIONS may be NULL (all defaults).  *INFO (may be
 * NULL): the FileInfo of the file written. */
int wr_client_file_upload_fd (wr_client_t *client, const char *sandbox, const char *path, int fd,
                              const wr_client_upload_t *options, json_object **info,
                              wr_error_t *err);
/* The same from the file LOCAL on this host. */
int wr_client_file_upload_path (wr_client_t *client, const char *sandbox, const char *path,
                                const char *local, const wr_client_upload_t *options,
                                json_object **info, wr_error_t *err);

/* GET .../files/content: LENGTH bytes (-1: to the end) from OFFSET
 * written to FD as they come; *WRITTEN (may be NULL): how many. */
int wr_client_file_download_fd (wr_client_t *client, const char *sandbox, const char *path,
                                int64_t offset, int64_t length, int fd, int64_t *written,
                                wr_error_t *err);

/* GET .../files/stat. */
int wr_client_file_stat (wr_client_t *client, const char *sandbox, const char *path,
                         bool follow_symlinks, json_object **info, wr_error_t *err);
/* GET .../files/list: *ENTRIES, an array of FileInfo (caller puts);
 * LIMIT 0: warrend's default.  TRUNCATED may be NULL. */
int wr_client_file_list (wr_client_t *client, const char *sandbox, const char *path, bool recursive,
                         int64_t limit, json_object **entries, bool *truncated, wr_error_t *err);
/* MODE -1: the default. */
int wr_client_file_mkdir (wr_client_t *client, const char *sandbox, const char *path, int mode,
                          bool parents, wr_error_t *err);
int wr_client_file_remove (wr_client_t *client, const char *sandbox, const char *path,
                           bool recursive, wr_error_t *err);
int wr_client_file_rename (wr_client_t *client, const char *sandbox, const char *from,
                           const char *to, bool replace, wr_error_t *err);
int wr_client_file_chmod (wr_client_t *client, const char *sandbox, const char *path, int mode,
                          wr_error_t *err);
/* UID or GID -1: unchanged. */
int wr_client_file_chown (wr_client_t *client, const char *sandbox, const char *path, int64_t uid,
                          int64_t gid, bool follow_symlinks, wr_error_t *err);

typedef struct {
    const char *glob; /* only files whose name matches (NULL: all) */
    bool ignore_case;
    int64_t max_matches; /* 0: warrend's default */
} wr_client_find_t;

/* POST .../files/find: PATTERN (a regex) under PATH; *MATCHES, an array of
 * {"path", "line", "column", "text"} (each checked; caller puts).
 * OPTIONS and TRUNCATED may be NULL. */
int wr_client_file_find (wr_client_t *client, const char *sandbox, const char *path,
                         const char *pattern, const wr_client_find_t *options,
                         json_object **matches, bool *truncated, wr_error_t *err);
/* POST .../files/replace: *FILES and *REPLACEMENTS (may be NULL). */
int wr_client_file_replace (wr_client_t *client, const char *sandbox, const char *path,
                            const char *pattern, const char *replacement, const char *glob,
                            bool ignore_case, int64_t *files, int64_t *replacements,
                            wr_error_t *err);

#endif
