#include "agent_message.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json_type.h"
#include "quote.h"
#include "xalloc.h"

/* How deep a message may nest: the deepest of version 1 is 4 (a list's
 * entries, an entry, its fields). */
#define MAX_DEPTH 8
#define MAX_STRING (64 * 1024)
#define MAX_PATH_BYTES 4096
#define MAX_ARG (128 * 1024) /* Linux's MAX_ARG_STRLEN */
#define MAX_ITEMS 4096
#define MAX_ENTRIES 16384
#define MAX_ID 64

typedef enum {
    F_STRING, /* at most MAX bytes (MAX_STRING when 0), no NUL */
    F_PATH, /* a non-empty string of at most 4096 bytes, no NUL */
    F_ID, /* 1 to 64 of [A-Za-z0-9._-] */
    F_INT, /* an integer from MIN to MAX */
    F_BOOL,
    F_ENUM, /* one of CHOICES */
    F_STRV, /* at most MAX items (MAX_ITEMS when 0), each a string of ITEM bytes */
    F_ENV, /* an F_STRV whose items are KEY=VALUE with a non-empty KEY */
    F_INTS, /* 1 to MAX integers from 1 to 255 (versions) */
    F_OBJECT, /* an object of schema SUB */
    F_OBJECTS, /* an array of at most MAX objects of schema SUB */
} field_kind_t;

typedef struct schema_s schema_t;

typedef struct {
    const char *name;
    field_kind_t kind;
    bool required;
    int64_t min, max;
    int64_t item; /* F_STRV: bytes of an item */
    const char *const *choices;
    const schema_t *sub;
} field_t;

struct schema_s {
    const field_t *fields; /* ends with a NULL name */
    /* Checks across fields, after each field was checked. */
    int (*check) (json_object *obj, const char *name, const char *path, wr_error_t *err);
};

/* Who opens a stream with a message, and which streams it may be on. */
typedef enum {
    ON_CONNECTION, /* stream 0 only */
    ON_ANY, /* stream 0 or any stream */
    REQUEST, /* opens a stream: odd ids from warrend, even from the agent */
    ON_STREAM, /* a reply or control message on a stream already open */
} placement_t;

#define FROM_HOST (1u << WR_AGENT_SIDE_HOST)
#define FROM_AGENT (1u << WR_AGENT_SIDE_AGENT)
#define FROM_BOTH (FROM_HOST | FROM_AGENT)

typedef struct {
    const char *name;
    unsigned from;
    placement_t placement;
    bool open; /* takes fields it does not know (hello only) */
    bool end; /* must carry the END flag */
    schema_t schema;
} msg_spec_t;

static const char *const kind_names[] = { "internal",  "not_found", "exists",
                                          "invalid",   "limit",     "unavailable",
                                          "cancelled", "too_many",  NULL };
static const char *const states[] = { "running", "exited", "signaled", NULL };
static const char *const output_streams[] = { "stdout", "stderr", "both", NULL };
static const char *const file_types[] = { "file",   "directory", "symlink", "fifo",
                                          "socket", "char",      "block",   NULL };
static const char *const tunnel_targets[] = { "docker", "tcp", NULL };
static const char *const relay_targets[] = { "registry-mirror", NULL };

#define END_FIELDS                                                                                 \
    {                                                                                              \
        NULL, 0, false, 0, 0, 0, NULL, NULL                                                        \
    }
#define STR(n, req, mx)                                                                            \
    {                                                                                              \
        n, F_STRING, req, 0, mx, 0, NULL, NULL                                                     \
    }
#define PATHF(n, req)                                                                              \
    {                                                                                              \
        n, F_PATH, req, 0, 0, 0, NULL, NULL                                                        \
    }
#define IDF(n, req)                                                                                \
    {                                                                                              \
        n, F_ID, req, 0, 0, 0, NULL, NULL                                                          \
    }
#define INT(n, req, mn, mx)                                                                        \
    {                                                                                              \
        n, F_INT, req, mn, mx, 0, NULL, NULL                                                       \
    }
#define BOOLF(n)                                                                                   \
    {                                                                                              \
        n, F_BOOL, false, 0, 0, 0, NULL, NULL                                                      \
    }
#define ENUM(n, req, c)                                                                            \
    {                                                                                              \
        n, F_ENUM, req, 0, 0, 0, c, NULL                                                           \
    }
#define STRV(n, req, mn, mx, it)                                                                   \
    {                                                                                              \
        n, F_STRV, req, mn, mx, it, NULL, NULL                                                     \
    }
#define OBJ(n, req, s)                                                                             \
    {                                                                                              \
        n, F_OBJECT, req, 0, 0, 0, NULL, s                                                         \
    }
#define OBJS(n, req, mx, s)                                                                        \
    {                                                                                              \
        n, F_OBJECTS, req, 0, mx, 0, NULL, s                                                       \
    }

#define OFFSET_MAX INT64_MAX
#define U32_MAX ((int64_t) UINT32_MAX)
#define MS_MAX ((int64_t) INT32_MAX)

static int check_exit (json_object *obj, const char *name, const char *path, wr_error_t *err);
static int check_docker_failed (json_object *obj, const char *name, const char *path,
                                wr_error_t *err);
static int check_tunnel (json_object *obj, const char *name, const char *path, wr_error_t *err);

static const field_t no_fields[] = { END_FIELDS };

static const field_t hello_fields[] = {
    { "versions", F_INTS, true, 1, 32, 0, NULL, NULL },
    STR ("software", false, 256),
    INT ("window", false, 65536, INT32_MAX),
    BOOLF ("relays"),
    END_FIELDS,
};
static const field_t error_fields[] = {
    ENUM ("kind", true, kind_names),
    STR ("message", true, 4096),
    INT ("errno", false, 0, 4095),
    END_FIELDS,
};
static const field_t window_fields[] = { INT ("bytes", true, 1, INT32_MAX), END_FIELDS };

static const field_t tty_fields[] = {
    INT ("rows", true, 1, 65535),
    INT ("cols", true, 1, 65535),
    END_FIELDS,
};
static const schema_t tty_schema = { tty_fields, NULL };
static const field_t exec_fields[] = {
    STRV ("argv", true, 1, MAX_ITEMS, MAX_ARG),
    { "env", F_ENV, false, 0, MAX_ITEMS, MAX_ARG, NULL, NULL },
    PATHF ("cwd", false),
    STR ("user", false, 256),
    BOOLF ("stdin"),
    OBJ ("tty", false, &tty_schema),
    BOOLF ("wait"),
    INT ("timeout_ms", false, 1, 86400000),
    END_FIELDS,
};
static const field_t started_fields[] = {
    IDF ("process_id", true),
    INT ("pid", true, 1, INT32_MAX),
    END_FIELDS,
};
static const field_t process_id_fields[] = { IDF ("process_id", true), END_FIELDS };
static const field_t wait_fields[] = {
    IDF ("process_id", true),
    INT ("timeout_ms", false, 0, MS_MAX),
    END_FIELDS,
};
static const field_t process_fields[] = {
    IDF ("process_id", true),
    INT ("pid", true, 1, INT32_MAX),
    STRV ("argv", true, 1, MAX_ITEMS, MAX_ARG),
    BOOLF ("tty"),
    ENUM ("state", true, states),
    INT ("exit_code", false, 0, 255),
    INT ("signal", false, 1, 64),
    BOOLF ("core_dumped"),
    INT ("started_ms", false, 0, INT64_MAX),
    INT ("ended_ms", false, 0, INT64_MAX),
    END_FIELDS,
};
static const schema_t process_schema = { process_fields, check_exit };
static const field_t processes_fields[] = {
    OBJS ("processes", true, MAX_ITEMS, &process_schema),
    END_FIELDS,
};
static const field_t signal_fields[] = {
    IDF ("process_id", true),
    INT ("signal", true, 1, 64),
    BOOLF ("group"),
    END_FIELDS,
};
static const field_t resize_fields[] = {
    IDF ("process_id", true),
    INT ("rows", true, 1, 65535),
    INT ("cols", true, 1, 65535),
    END_FIELDS,
};
static const field_t output_read_fields[] = {
    IDF ("process_id", true),
    ENUM ("stream", true, output_streams),
    INT ("stdout_offset", false, 0, OFFSET_MAX),
    INT ("stderr_offset", false, 0, OFFSET_MAX),
    BOOLF ("follow"),
    END_FIELDS,
};
static const field_t output_end_fields[] = {
    INT ("stdout_offset", true, 0, OFFSET_MAX),
    INT ("stderr_offset", true, 0, OFFSET_MAX),
    ENUM ("state", true, states),
    INT ("exit_code", false, 0, 255),
    INT ("signal", false, 1, 64),
    BOOLF ("core_dumped"),
    END_FIELDS,
};
static const field_t stdin_fields[] = {
    IDF ("process_id", true),
    BOOLF ("close"),
    END_FIELDS,
};
static const field_t file_read_fields[] = {
    PATHF ("path", true),
    INT ("offset", false, 0, OFFSET_MAX),
    INT ("length", false, 0, OFFSET_MAX),
    END_FIELDS,
};
static const field_t file_write_fields[] = {
    PATHF ("path", true),
    INT ("mode", false, 0, 07777),
    INT ("uid", false, 0, U32_MAX),
    INT ("gid", false, 0, U32_MAX),
    INT ("size", false, 0, OFFSET_MAX),
    BOOLF ("append"),
    BOOLF ("parents"),
    END_FIELDS,
};
static const field_t file_stat_fields[] = {
    PATHF ("path", true),
    BOOLF ("follow_symlinks"),
    END_FIELDS,
};
static const field_t file_info_fields[] = {
    PATHF ("path", true),
    ENUM ("file_type", true, file_types),
    INT ("size", true, 0, OFFSET_MAX),
    INT ("mode", true, 0, 07777),
    INT ("uid", true, 0, U32_MAX),
    INT ("gid", true, 0, U32_MAX),
    INT ("mtime_ms", false, INT64_MIN, INT64_MAX),
    PATHF ("target", false),
    END_FIELDS,
};
static const schema_t file_info_schema = { file_info_fields, NULL };
static const field_t file_list_fields[] = {
    PATHF ("path", true),
    BOOLF ("recursive"),
    INT ("limit", false, 1, 1000000),
    END_FIELDS,
};
static const field_t file_entries_fields[] = {
    OBJS ("entries", true, MAX_ENTRIES, &file_info_schema),
    BOOLF ("truncated"),
    END_FIELDS,
};
static const field_t file_mkdir_fields[] = {
    PATHF ("path", true),
    INT ("mode", false, 0, 07777),
    BOOLF ("parents"),
    END_FIELDS,
};
static const field_t file_remove_fields[] = {
    PATHF ("path", true),
    BOOLF ("recursive"),
    END_FIELDS,
};
static const field_t file_rename_fields[] = {
    PATHF ("from", true),
    PATHF ("to", true),
    BOOLF ("replace"),
    END_FIELDS,
};
static const field_t file_chmod_fields[] = {
    PATHF ("path", true),
    INT ("mode", true, 0, 07777),
    END_FIELDS,
};
static const field_t file_chown_fields[] = {
    PATHF ("path", true),
    INT ("uid", true, 0, U32_MAX),
    INT ("gid", true, 0, U32_MAX),
    BOOLF ("follow_symlinks"),
    END_FIELDS,
};
static const field_t file_find_fields[] = {
    PATHF ("path", true),
    STR ("pattern", true, 4096),
    STR ("glob", false, 4096),
    BOOLF ("ignore_case"),
    INT ("max_matches", false, 1, 1000000),
    END_FIELDS,
};
static const field_t match_fields[] = {
    PATHF ("path", true),
    INT ("line", true, 1, INT64_MAX),
    INT ("column", true, 1, INT64_MAX),
    STR ("text", true, 4096),
    END_FIELDS,
};
static const schema_t match_schema = { match_fields, NULL };
static const field_t file_matches_fields[] = {
    OBJS ("matches", true, MAX_ENTRIES, &match_schema),
    BOOLF ("truncated"),
    END_FIELDS,
};
static const field_t file_replace_fields[] = {
    PATHF ("path", true),      STR ("pattern", true, 4096), STR ("replacement", true, MAX_STRING),
    STR ("glob", false, 4096), BOOLF ("ignore_case"),       END_FIELDS,
};
static const field_t file_replaced_fields[] = {
    INT ("files", true, 0, INT64_MAX),
    INT ("replacements", true, 0, INT64_MAX),
    END_FIELDS,
};
static const field_t docker_waiting_fields[] = { INT ("timeout_ms", true, 0, MS_MAX), END_FIELDS };
static const field_t docker_ready_fields[] = { INT ("took_ms", true, 0, MS_MAX), END_FIELDS };
static const field_t docker_failed_fields[] = {
    STR ("message", true, 4096),
    INT ("exit_code", false, 0, 255),
    INT ("signal", false, 1, 64),
    STRV ("log", false, 0, 200, 4096),
    END_FIELDS,
};
static const field_t tunnel_fields[] = {
    ENUM ("target", true, tunnel_targets),
    INT ("port", false, 1, 65535),
    END_FIELDS,
};
static const field_t relay_fields[] = { ENUM ("target", true, relay_targets), END_FIELDS };

#define MSG(name, from, placement, end, fields, check)                                             \
    {                                                                                              \
        name, from, placement, false, end,                                                         \
        {                                                                                          \
            fields, check                                                                          \
        }                                                                                          \
    }

static const msg_spec_t specs[WR_AGENT_MSG_COUNT] = {
    [WR_AGENT_MSG_HELLO] = { "hello",
                             FROM_BOTH,
                             ON_CONNECTION,
                             true,
                             false,
                             { hello_fields, NULL } },
    [WR_AGENT_MSG_ERROR] = MSG ("error", FROM_BOTH, ON_ANY, true, error_fields, NULL),
    [WR_AGENT_MSG_OK] = MSG ("ok", FROM_BOTH, ON_STREAM, false, no_fields, NULL),
    [WR_AGENT_MSG_CANCEL] = MSG ("cancel", FROM_BOTH, ON_STREAM, false, no_fields, NULL),
    [WR_AGENT_MSG_WINDOW] = MSG ("window", FROM_BOTH, ON_STREAM, false, window_fields, NULL),
    [WR_AGENT_MSG_PING] = MSG ("ping", FROM_BOTH, REQUEST, false, no_fields, NULL),
    [WR_AGENT_MSG_PONG] = MSG ("pong", FROM_BOTH, ON_STREAM, true, no_fields, NULL),
    [WR_AGENT_MSG_EXEC] = MSG ("exec", FROM_HOST, REQUEST, false, exec_fields, NULL),
    [WR_AGENT_MSG_STARTED] = MSG ("started", FROM_AGENT, ON_STREAM, false, started_fields, NULL),
    [WR_AGENT_MSG_PROCESS_STATUS] =
        MSG ("process.status", FROM_HOST, REQUEST, false, process_id_fields, NULL),
    [WR_AGENT_MSG_PROCESS_WAIT] =
        MSG ("process.wait", FROM_HOST, REQUEST, false, wait_fields, NULL),
    [WR_AGENT_MSG_PROCESS] =
        MSG ("process", FROM_AGENT, ON_STREAM, true, process_fields, check_exit),
    [WR_AGENT_MSG_PROCESS_SIGNAL] =
        MSG ("process.signal", FROM_HOST, REQUEST, false, signal_fields, NULL),
    [WR_AGENT_MSG_PROCESS_KILL] =
        MSG ("process.kill", FROM_HOST, REQUEST, false, process_id_fields, NULL),
    [WR_AGENT_MSG_PROCESS_RESIZE] =
        MSG ("process.resize", FROM_HOST, REQUEST, false, resize_fields, NULL),
    [WR_AGENT_MSG_PROCESS_LIST] = MSG ("process.list", FROM_HOST, REQUEST, false, no_fields, NULL),
    [WR_AGENT_MSG_PROCESSES] =
        MSG ("processes", FROM_AGENT, ON_STREAM, true, processes_fields, NULL),
    [WR_AGENT_MSG_PROCESS_REMOVE] =
        MSG ("process.remove", FROM_HOST, REQUEST, false, process_id_fields, NULL),
    [WR_AGENT_MSG_OUTPUT_READ] =
        MSG ("output.read", FROM_HOST, REQUEST, false, output_read_fields, NULL),
    [WR_AGENT_MSG_OUTPUT_END] =
        MSG ("output.end", FROM_AGENT, ON_STREAM, true, output_end_fields, check_exit),
    [WR_AGENT_MSG_STDIN] = MSG ("stdin", FROM_HOST, REQUEST, false, stdin_fields, NULL),
    [WR_AGENT_MSG_FILE_READ] = MSG ("file.read", FROM_HOST, REQUEST, false, file_read_fields, NULL),
    [WR_AGENT_MSG_FILE_WRITE] =
        MSG ("file.write", FROM_HOST, REQUEST, false, file_write_fields, NULL),
    [WR_AGENT_MSG_FILE_STAT] = MSG ("file.stat", FROM_HOST, REQUEST, false, file_stat_fields, NULL),
    [WR_AGENT_MSG_FILE_INFO] =
        MSG ("file.info", FROM_AGENT, ON_STREAM, false, file_info_fields, NULL),
    [WR_AGENT_MSG_FILE_LIST] = MSG ("file.list", FROM_HOST, REQUEST, false, file_list_fields, NULL),
    [WR_AGENT_MSG_FILE_ENTRIES] =
        MSG ("file.entries", FROM_AGENT, ON_STREAM, false, file_entries_fields, NULL),
    [WR_AGENT_MSG_FILE_MKDIR] =
        MSG ("file.mkdir", FROM_HOST, REQUEST, false, file_mkdir_fields, NULL),
    [WR_AGENT_MSG_FILE_REMOVE] =
        MSG ("file.remove", FROM_HOST, REQUEST, false, file_remove_fields, NULL),
    [WR_AGENT_MSG_FILE_RENAME] =
        MSG ("file.rename", FROM_HOST, REQUEST, false, file_rename_fields, NULL),
    [WR_AGENT_MSG_FILE_CHMOD] =
        MSG ("file.chmod", FROM_HOST, REQUEST, false, file_chmod_fields, NULL),
    [WR_AGENT_MSG_FILE_CHOWN] =
        MSG ("file.chown", FROM_HOST, REQUEST, false, file_chown_fields, NULL),
    [WR_AGENT_MSG_FILE_FIND] = MSG ("file.find", FROM_HOST, REQUEST, false, file_find_fields, NULL),
    [WR_AGENT_MSG_FILE_MATCHES] =
        MSG ("file.matches", FROM_AGENT, ON_STREAM, false, file_matches_fields, NULL),
    [WR_AGENT_MSG_FILE_REPLACE] =
        MSG ("file.replace", FROM_HOST, REQUEST, false, file_replace_fields, NULL),
    [WR_AGENT_MSG_FILE_REPLACED] =
        MSG ("file.replaced", FROM_AGENT, ON_STREAM, true, file_replaced_fields, NULL),
    [WR_AGENT_MSG_DOCKER_WATCH] = MSG ("docker.watch", FROM_HOST, REQUEST, false, no_fields, NULL),
    [WR_AGENT_MSG_DOCKER_WAITING] =
        MSG ("docker.waiting", FROM_AGENT, ON_STREAM, false, docker_waiting_fields, NULL),
    [WR_AGENT_MSG_DOCKER_READY] =
        MSG ("docker.ready", FROM_AGENT, ON_STREAM, true, docker_ready_fields, NULL),
    [WR_AGENT_MSG_DOCKER_FAILED] = MSG ("docker.failed", FROM_AGENT, ON_STREAM, true,
                                        docker_failed_fields, check_docker_failed),
    [WR_AGENT_MSG_CHECKPOINT_PREPARE] =
        MSG ("checkpoint.prepare", FROM_HOST, REQUEST, false, no_fields, NULL),
    [WR_AGENT_MSG_CHECKPOINT_RESUME] =
        MSG ("checkpoint.resume", FROM_HOST, REQUEST, false, no_fields, NULL),
    [WR_AGENT_MSG_TUNNEL_OPEN] =
        MSG ("tunnel.open", FROM_HOST, REQUEST, false, tunnel_fields, check_tunnel),
    [WR_AGENT_MSG_RELAY_OPEN] = MSG ("relay.open", FROM_AGENT, REQUEST, false, relay_fields, NULL),
};

const char *
wr_agent_msg_type_name (wr_agent_msg_type_t type)
{
    if ((unsigned) type >= WR_AGENT_MSG_COUNT)
        return "unknown";
    return specs[type].name;
}

int
wr_agent_msg_type_from_name (const char *name)
{
    for (int i = 0; i < WR_AGENT_MSG_COUNT; i++)
        if (strcmp (specs[i].name, name) == 0)
            return i;
    return -1;
}

/* "the agent" or "warrend", and their possessives. */
static const char *
side_name (wr_agent_side_t side)
{
    return side == WR_AGENT_SIDE_AGENT ? "the agent" : "warrend";
}

static const char *
side_owner (wr_agent_side_t side)
{
    return side == WR_AGENT_SIDE_AGENT ? "the agent's" : "warrend's";
}

static int field_error (wr_error_t *err, const char *name, const char *path, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

static int
field_error (wr_error_t *err, const char *name, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    cleanup_free char *what = xvasprintf (fmt, ap);
    va_end (ap);
    if (path == NULL || path[0] == '\0')
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "%s: %s", name, what);
    return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "%s: %s: %s", name, path, what);
}

static char *
path_key (const char *parent, const char *key)
{
    if (parent == NULL || parent[0] == '\0')
        return xstrdup (key);
    return xasprintf ("%s.%s", parent, key);
}

static int
expect_type (json_object *v, json_type type, const char *name, const char *path, wr_error_t *err)
{
    if (json_object_is_type (v, type))
        return 0;
    return field_error (err, name, path, "must be %s, not %s", wr_json_type_phrase (type),
                        wr_json_type_phrase (json_object_get_type (v)));
}

static int
check_string (json_object *v, int64_t max, bool nonempty, const char *name, const char *path,
              wr_error_t *err)
{
    if (expect_type (v, json_type_string, name, path, err) < 0)
        return -1;
    const char *s = json_object_get_string (v);
    size_t len = (size_t) json_object_get_string_len (v);
    if (strlen (s) != len)
        return field_error (err, name, path, "must not contain a NUL character");
    if (nonempty && len == 0)
        return field_error (err, name, path, "must not be empty");
    if (max > 0 && len > (size_t) max)
        return wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                                  "%s: %s: %zu bytes is over the limit of %lld", name, path, len,
                                  (long long) max);
    return 0;
}

static int
check_int (json_object *v, int64_t min, int64_t max, const char *name, const char *path,
           int64_t *out, wr_error_t *err)
{
    if (expect_type (v, json_type_int, name, path, err) < 0)
        return -1;
    int64_t n = json_object_get_int64 (v);
    /* json-c keeps integers above INT64_MAX as uint64 and clamps them here. */
    if (n == INT64_MAX && json_object_get_uint64 (v) != (uint64_t) INT64_MAX)
        return field_error (err, name, path, "integer too large");
    if (n < min || n > max)
        return field_error (err, name, path, "%lld is out of range (%lld to %lld)", (long long) n,
                            (long long) min, (long long) max);
    if (out != NULL)
        *out = n;
    return 0;
}

static int check_object (json_object *obj, const schema_t *schema, bool open, const char *name,
                         const char *path, wr_error_t *err);

static int
check_array (json_object *v, int64_t min, int64_t max, const char *name, const char *path,
             wr_error_t *err)
{
    if (expect_type (v, json_type_array, name, path, err) < 0)
        return -1;
    size_t n = json_object_array_length (v);
    if ((int64_t) n < min)
        return field_error (err, name, path, "must have at least %lld item%s", (long long) min,
                            min == 1 ? "" : "s");
    if ((int64_t) n > max)
        return wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                                  "%s: %s: %zu items is over the limit of %lld", name, path, n,
                                  (long long) max);
    return 0;
}

static int
check_field (json_object *v, const field_t *f, const char *name, const char *path, wr_error_t *err)
{
    switch (f->kind) {
    case F_STRING:
        return check_string (v, f->max ? f->max : MAX_STRING, false, name, path, err);
    case F_PATH:
        return check_string (v, MAX_PATH_BYTES, true, name, path, err);
    case F_ID: {
        if (check_string (v, MAX_ID, true, name, path, err) < 0)
            return -1;
        for (const char *p = json_object_get_string (v); *p; p++)
            if (strchr ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *p) ==
                NULL)
                return field_error (err, name, path,
                                    "must be made of letters, digits, '.', '_' and '-'");
        return 0;
    }
    case F_INT:
        return check_int (v, f->min, f->max, name, path, NULL, err);
    case F_BOOL:
        return expect_type (v, json_type_boolean, name, path, err);
    case F_ENUM: {
        if (check_string (v, 64, true, name, path, err) < 0)
            return -1;
        const char *s = json_object_get_string (v);
        for (const char *const *c = f->choices; *c != NULL; c++)
            if (strcmp (*c, s) == 0)
                return 0;
        cleanup_free char *quoted = wr_quote_len (s, strlen (s), 64);
        return field_error (err, name, path, "unknown value `%s`", quoted);
    }
    case F_STRV:
    case F_ENV:
    case F_INTS:
    case F_OBJECTS: {
        int64_t min = f->kind == F_INTS ? 1 : f->min;
        int64_t max = f->max ? f->max : MAX_ITEMS;
        if (check_array (v, min, max, name, path, err) < 0)
            return -1;
        size_t n = json_object_array_length (v);
        for (size_t i = 0; i < n; i++) {
            cleanup_free char *child = xasprintf ("%s[%zu]", path, i);
            json_object *item = json_object_array_get_idx (v, i);
            if (item == NULL)
                return field_error (err, name, child, "must not be null");
            int r;
            if (f->kind == F_INTS)
                r = check_int (item, 1, 255, name, child, NULL, err);
            else if (f->kind == F_OBJECTS)
                r = check_object (item, f->sub, false, name, child, err);
            else
                r = check_string (item, f->item, false, name, child, err);
            if (r < 0)
                return -1;
            if (f->kind == F_ENV) {
                const char *s = json_object_get_string (item);
                const char *eq = strchr (s, '=');
                if (eq == NULL || eq == s)
                    return field_error (err, name, child, "must be KEY=VALUE with a KEY");
            }
        }
        return 0;
    }
    case F_OBJECT:
        return check_object (v, f->sub, false, name, path, err);
    }
    return field_error (err, name, path, "unknown kind of field");
}

static int
check_object (json_object *obj, const schema_t *schema, bool open, const char *name,
              const char *path, wr_error_t *err)
{
    if (expect_type (obj, json_type_object, name, path, err) < 0)
        return -1;
    bool top = path == NULL || path[0] == '\0';
    json_object_object_foreach (obj, key, value)
    {
        (void) value;
        if (top && strcmp (key, "type") == 0)
            continue;
        const field_t *f = schema->fields;
        while (f->name != NULL && strcmp (f->name, key) != 0)
            f++;
        if (f->name == NULL && !open) {
            cleanup_free char *quoted = wr_quote_len (key, strlen (key), 64);
            return field_error (err, name, path, "unknown field `%s`", quoted);
        }
    }
    for (const field_t *f = schema->fields; f->name != NULL; f++) {
        cleanup_free char *child = path_key (path, f->name);
        json_object *v = NULL;
        bool present = json_object_object_get_ex (obj, f->name, &v);
        if (!present || v == NULL) {
            if (f->required)
                return field_error (err, name, child, present ? "must not be null" : "missing");
            if (present)
                return field_error (err, name, child, "must not be null (leave it out instead)");
            continue;
        }
        if (check_field (v, f, name, child, err) < 0)
            return -1;
    }
    if (schema->check != NULL && schema->check (obj, name, path, err) < 0)
        return -1;
    return 0;
}

static bool
has (json_object *obj, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex (obj, key, &v) && v != NULL;
}

static int64_t
get_int (json_object *obj, const char *key, int64_t dflt)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex (obj, key, &v) || v == NULL)
        return dflt;
    return json_object_get_int64 (v);
}

static const char *
get_string (json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex (obj, key, &v) || v == NULL)
        return NULL;
    return json_object_get_string (v);
}

/* A state with exactly what it needs: running has neither exit_code nor
 * signal, exited an exit_code only, signaled a signal only. */
static int
check_exit (json_object *obj, const char *name, const char *path, wr_error_t *err)
{
    const char *state = get_string (obj, "state");
    bool code = has (obj, "exit_code"), sig = has (obj, "signal"), core = has (obj, "core_dumped");
    if (strcmp (state, "running") == 0 && (code || sig || core))
        return field_error (err, name, path,
                            "a running process has no exit_code, signal or core_dumped");
    if (strcmp (state, "exited") == 0 && (!code || sig || core))
        return field_error (err, name, path,
                            "an exited process has an exit_code and no signal or core_dumped");
    if (strcmp (state, "signaled") == 0 && (code || !sig))
        return field_error (err, name, path, "a signaled process has a signal and no exit_code");
    return 0;
}

static int
check_docker_failed (json_object *obj, const char *name, const char *path, wr_error_t *err)
{
    if (has (obj, "exit_code") && has (obj, "signal"))
        return field_error (err, name, path, "has both an exit_code and a signal");
    return 0;
}

static int
check_tunnel (json_object *obj, const char *name, const char *path, wr_error_t *err)
{
    bool tcp = strcmp (get_string (obj, "target"), "tcp") == 0;
    if (tcp != has (obj, "port"))
        return field_error (err, name, path, "a port is given with the tcp target, and only then");
    return 0;
}

/* The stream rules: who may send a message of SPEC, on which streams. */
/* A message's fields in VERSION.  Version 2 differs from 1 in one thing:
 * its started describes the process as a process message does, so that
 * warrend answers an exec without asking for its status. */
static const schema_t *
schema_of (wr_agent_msg_type_t type, unsigned version)
{
    if (type == WR_AGENT_MSG_STARTED && version >= 2)
        return &process_schema;
    return &specs[type].schema;
}

static int
check_placement (const msg_spec_t *spec, wr_agent_side_t from, uint32_t stream, uint8_t flags,
                 const char *name, wr_error_t *err)
{
    if ((spec->from & (1u << from)) == 0)
        return field_error (
            err, name, NULL, "only %s sends it",
            side_name (from == WR_AGENT_SIDE_HOST ? WR_AGENT_SIDE_AGENT : WR_AGENT_SIDE_HOST));
    switch (spec->placement) {
    case ON_CONNECTION:
        if (stream != 0)
            return field_error (err, name, NULL, "belongs on stream 0");
        break;
    case ON_ANY:
        break;
    case REQUEST: {
        unsigned parity = from == WR_AGENT_SIDE_HOST ? 1 : 0;
        if (stream == 0 || stream % 2 != parity)
            return field_error (err, name, NULL,
                                "opens a stream, and %s streams have %s ids (not 0)",
                                side_owner (from), parity ? "odd" : "even");
        break;
    }
    case ON_STREAM:
        if (stream == 0)
            return field_error (err, name, NULL, "belongs on a stream, not on stream 0");
        break;
    }
    if (spec->end && (flags & WR_AGENT_FLAG_END) == 0)
        return field_error (err, name, NULL, "is the last of its stream and must carry END");
    return 0;
}

wr_agent_message_t *
wr_agent_message_new (wr_agent_msg_type_t type)
{
    wr_agent_message_t *msg = xzalloc (sizeof *msg);
    msg->type = type;
    msg->json = json_object_new_object ();
    if (msg->json == NULL)
        abort ();
    json_object_object_add (msg->json, "type",
                            json_object_new_string (wr_agent_msg_type_name (type)));
    return msg;
}

void
wr_agent_message_free (wr_agent_message_t *msg)
{
    if (msg == NULL)
        return;
    json_object_put (msg->json);
    free (msg);
}

void
wr_agent_message_set_json (wr_agent_message_t *msg, const char *key, json_object *value)
{
    json_object_object_add (msg->json, key, value);
}

void
wr_agent_message_set_string (wr_agent_message_t *msg, const char *key, const char *value)
{
    wr_agent_message_set_json (msg, key, json_object_new_string (value));
}

void
wr_agent_message_set_int (wr_agent_message_t *msg, const char *key, int64_t value)
{
    wr_agent_message_set_json (msg, key, json_object_new_int64 (value));
}

void
wr_agent_message_set_bool (wr_agent_message_t *msg, const char *key, bool value)
{
    wr_agent_message_set_json (msg, key, json_object_new_boolean (value));
}

static json_object *
strv_to_json (char *const *strv)
{
    json_object *array = json_object_new_array ();
    for (size_t i = 0; strv != NULL && strv[i] != NULL; i++)
        json_object_array_add (array, json_object_new_string (strv[i]));
    return array;
}

void
wr_agent_message_set_strv (wr_agent_message_t *msg, const char *key, char *const *strv)
{
    wr_agent_message_set_json (msg, key, strv_to_json (strv));
}

bool
wr_agent_message_has (const wr_agent_message_t *msg, const char *key)
{
    return has (msg->json, key);
}

const char *
wr_agent_message_string (const wr_agent_message_t *msg, const char *key)
{
    json_object *v = wr_agent_message_get (msg, key);
    return v != NULL && json_object_is_type (v, json_type_string) ? json_object_get_string (v)
                                                                  : NULL;
}

int64_t
wr_agent_message_int (const wr_agent_message_t *msg, const char *key, int64_t dflt)
{
    json_object *v = wr_agent_message_get (msg, key);
    return v != NULL && json_object_is_type (v, json_type_int) ? json_object_get_int64 (v) : dflt;
}

bool
wr_agent_message_bool (const wr_agent_message_t *msg, const char *key, bool dflt)
{
    json_object *v = wr_agent_message_get (msg, key);
    return v != NULL && json_object_is_type (v, json_type_boolean) ? json_object_get_boolean (v)
                                                                   : dflt;
}

static char **
strv_from_json (json_object *v)
{
    if (v == NULL || !json_object_is_type (v, json_type_array))
        return NULL;
    size_t n = json_object_array_length (v);
    char **strv = xzalloc ((n + 1) * sizeof *strv);
    for (size_t i = 0; i < n; i++)
        strv[i] = xstrdup (json_object_get_string (json_object_array_get_idx (v, i)));
    return strv;
}

char **
wr_agent_message_strv (const wr_agent_message_t *msg, const char *key)
{
    return strv_from_json (wr_agent_message_get (msg, key));
}

json_object *
wr_agent_message_get (const wr_agent_message_t *msg, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex (msg->json, key, &v))
        return NULL;
    return v;
}

static char *
message_name (wr_agent_side_t from, const char *type, uint32_t stream)
{
    return xasprintf ("%s %s message on stream %u", side_owner (from), type, stream);
}

int
wr_agent_message_encode (wr_agent_buf_t *buf, unsigned version, uint32_t stream, uint8_t flags,
                         wr_agent_side_t from, const wr_agent_message_t *msg, wr_error_t *err)
{
    if ((unsigned) msg->type >= WR_AGENT_MSG_COUNT)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0, "encode: unknown message type %d",
                                  (int) msg->type);
    const msg_spec_t *spec = &specs[msg->type];
    cleanup_free char *name = message_name (from, spec->name, stream);
    if (check_placement (spec, from, stream, flags, name, err) < 0 ||
        check_object (msg->json, schema_of (msg->type, version), spec->open, name, NULL, err) < 0)
        return wr_error_prefix (err, "encode");
    size_t len = 0;
    const char *text = json_object_to_json_string_length (
        msg->json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    if (len > WR_AGENT_MAX_PAYLOAD)
        return wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                                  "encode: %s: %zu bytes is over the limit of %u", name, len,
                                  WR_AGENT_MAX_PAYLOAD);
    wr_agent_frame_t frame = {
        .version = (uint8_t) version,
        .type = WR_AGENT_FRAME_MESSAGE,
        .flags = flags,
        .stream = stream,
        .length = (uint32_t) len,
        .payload = (const uint8_t *) text,
    };
    return wr_agent_frame_encode (buf, &frame, err);
}

/* Strict JSON: json-c's strict mode, valid UTF-8, no NUL byte, at most
 * MAX_DEPTH deep, one object and nothing after it but white space. */
static json_object *
parse_object (const char *data, size_t len, const char *who, wr_error_t *err)
{
    const char *nul = memchr (data, '\0', len);
    if (nul != NULL) {
        wr_error_set_kind (err, WR_ERROR_INVALID, 0, "%s: not JSON: a NUL byte at offset %zu", who,
                           (size_t) (nul - data));
        return NULL;
    }
    json_tokener *tok = json_tokener_new_ex (MAX_DEPTH);
    if (tok == NULL)
        abort ();
    json_tokener_set_flags (tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *root = json_tokener_parse_ex (tok, data, (int) len);
    enum json_tokener_error error = json_tokener_get_error (tok);
    size_t end = json_tokener_get_parse_end (tok);
    json_tokener_free (tok);
    if (end > len)
        end = len;
    if (error == json_tokener_continue) {
        json_object_put (root);
        wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                           "%s: truncated JSON: the document ends early (at offset %zu)", who, len);
        return NULL;
    }
    if (error != json_tokener_success) {
        json_object_put (root);
        wr_error_set_kind (err, WR_ERROR_INVALID, 0, "%s: not JSON: %s at offset %zu", who,
                           json_tokener_error_desc (error), end);
        return NULL;
    }
    for (size_t i = end; i < len; i++) {
        if (strchr (" \t\r\n", data[i]) == NULL) {
            json_object_put (root);
            wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                               "%s: not JSON: unexpected data after the document at offset %zu",
                               who, i);
            return NULL;
        }
    }
    if (!json_object_is_type (root, json_type_object)) {
        wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                           "%s: the message must be a JSON object, not %s", who,
                           wr_json_type_phrase (json_object_get_type (root)));
        json_object_put (root);
        return NULL;
    }
    return root;
}

wr_agent_message_t *
wr_agent_message_decode (const wr_agent_frame_t *frame, wr_agent_side_t from, wr_error_t *err)
{
    cleanup_free char *who =
        xasprintf ("%s message on stream %u", side_owner (from), frame->stream);
    if (frame->type != WR_AGENT_FRAME_MESSAGE) {
        wr_error_set_kind (err, WR_ERROR_INVALID, 0, "%s: a %s frame is not a message", who,
                           wr_agent_frame_type_name (frame->type));
        return NULL;
    }
    if (frame->length > WR_AGENT_MAX_PAYLOAD) {
        wr_error_set_kind (err, WR_ERROR_LIMIT, 0, "%s: %u bytes is over the limit of %u", who,
                           frame->length, WR_AGENT_MAX_PAYLOAD);
        return NULL;
    }
    json_object *root = parse_object ((const char *) frame->payload, frame->length, who, err);
    if (root == NULL)
        return NULL;
    cleanup_agent_message wr_agent_message_t *msg = xzalloc (sizeof *msg);
    msg->json = root;
    json_object *type = NULL;
    if (!json_object_object_get_ex (root, "type", &type) || type == NULL) {
        wr_error_set_kind (err, WR_ERROR_INVALID, 0, "%s: type: missing", who);
        return NULL;
    }
    if (check_string (type, 64, true, who, "type", err) < 0)
        return NULL;
    int t = wr_agent_msg_type_from_name (json_object_get_string (type));
    if (t < 0) {
        const char *s = json_object_get_string (type);
        cleanup_free char *quoted = wr_quote_len (s, strlen (s), 64);
        wr_error_set_kind (err, WR_ERROR_INVALID, 0, "%s: unknown message type `%s`", who, quoted);
        return NULL;
    }
    msg->type = (wr_agent_msg_type_t) t;
    const msg_spec_t *spec = &specs[t];
    cleanup_free char *name = message_name (from, spec->name, frame->stream);
    if (check_placement (spec, from, frame->stream, frame->flags, name, err) < 0 ||
        check_object (root, schema_of (msg->type, frame->version), spec->open, name, NULL, err) < 0)
        return NULL;
    return steal_pointer (&msg);
}

wr_agent_message_t *
wr_agent_hello_new (const char *software)
{
    wr_agent_message_t *msg = wr_agent_message_new (WR_AGENT_MSG_HELLO);
    json_object *versions = json_object_new_array ();
    for (int v = WR_AGENT_VERSION_MIN; v <= WR_AGENT_VERSION_MAX; v++)
        json_object_array_add (versions, json_object_new_int (v));
    wr_agent_message_set_json (msg, "versions", versions);
    if (software != NULL)
        wr_agent_message_set_string (msg, "software", software);
    return msg;
}

int
wr_agent_negotiate (const wr_agent_message_t *hello, wr_agent_side_t peer, unsigned *version,
                    wr_error_t *err)
{
    *version = 0;
    if (hello->type != WR_AGENT_MSG_HELLO)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "%s first message must be a hello, not %s", side_owner (peer),
                                  wr_agent_msg_type_name (hello->type));
    json_object *versions = wr_agent_message_get (hello, "versions");
    size_t n = versions != NULL ? json_object_array_length (versions) : 0;
    unsigned best = 0;
    char theirs[32 * 5] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && i < 32; i++) {
        int64_t v = json_object_get_int64 (json_object_array_get_idx (versions, i));
        if (v >= WR_AGENT_VERSION_MIN && v <= WR_AGENT_VERSION_MAX && (unsigned) v > best)
            best = (unsigned) v;
        used += (size_t) snprintf (theirs + used, sizeof theirs - used, "%s%lld", i ? ", " : "",
                                   (long long) v);
        if (used >= sizeof theirs)
            used = sizeof theirs - 1;
    }
    if (best == 0)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "no common protocol version: %s speaks %s, this side %d "
                                  "to %d",
                                  side_name (peer), n ? theirs : "none", WR_AGENT_VERSION_MIN,
                                  WR_AGENT_VERSION_MAX);
    *version = best;
    return 0;
}

int
wr_agent_error_kind_from_name (const char *name)
{
    for (int i = 0; kind_names[i] != NULL; i++)
        if (strcmp (kind_names[i], name) == 0)
            return i;
    return -1;
}

wr_agent_message_t *
wr_agent_error_new (const wr_error_t error)
{
    wr_agent_message_t *msg = wr_agent_message_new (WR_AGENT_MSG_ERROR);
    wr_agent_message_set_string (msg, "kind", wr_error_kind_name (wr_error_kind (error)));
    const char *text = error != NULL && error->message != NULL ? error->message : "unknown error";
    /* The limit of the field, cut at a UTF-8 character's start. */
    size_t len = strlen (text);
    if (len > 4096) {
        len = 4096;
        while (len > 0 && ((unsigned char) text[len] & 0xc0) == 0x80)
            len--;
    }
    wr_agent_message_set_json (msg, "message", json_object_new_string_len (text, (int) len));
    if (error != NULL && error->errno_value > 0 && error->errno_value <= 4095)
        wr_agent_message_set_int (msg, "errno", error->errno_value);
    return msg;
}

int
wr_agent_error_from (const wr_agent_message_t *msg, wr_agent_side_t from, wr_error_t *out)
{
    int kind = wr_agent_error_kind_from_name (wr_agent_message_string (msg, "kind"));
    if (kind < 0)
        kind = WR_ERROR_INTERNAL;
    wr_error_set_kind (out, (wr_error_kind_t) kind, 0, "%s: %s", side_name (from),
                       wr_agent_message_string (msg, "message"));
    if (out != NULL && *out != NULL)
        (*out)->errno_value = (int) wr_agent_message_int (msg, "errno", 0);
    return -1;
}

wr_agent_message_t *
wr_agent_exec_new (const wr_agent_exec_t *exec)
{
    wr_agent_message_t *msg = wr_agent_message_new (WR_AGENT_MSG_EXEC);
    wr_agent_message_set_strv (msg, "argv", exec->argv);
    if (exec->env != NULL)
        wr_agent_message_set_strv (msg, "env", exec->env);
    if (exec->cwd != NULL)
        wr_agent_message_set_string (msg, "cwd", exec->cwd);
    if (exec->user != NULL)
        wr_agent_message_set_string (msg, "user", exec->user);
    if (exec->stdin)
        wr_agent_message_set_bool (msg, "stdin", true);
    if (exec->tty) {
        json_object *tty = json_object_new_object ();
        json_object_object_add (tty, "rows", json_object_new_int64 (exec->rows));
        json_object_object_add (tty, "cols", json_object_new_int64 (exec->cols));
        wr_agent_message_set_json (msg, "tty", tty);
    }
    if (exec->wait) {
        wr_agent_message_set_bool (msg, "wait", true);
        if (exec->wait_timeout_ms > 0)
            wr_agent_message_set_int (msg, "timeout_ms", exec->wait_timeout_ms);
    }
    return msg;
}

void
wr_agent_exec_from (const wr_agent_message_t *msg, wr_agent_exec_t *out)
{
    memset (out, 0, sizeof *out);
    out->argv = wr_agent_message_strv (msg, "argv");
    out->env = wr_agent_message_strv (msg, "env");
    const char *s = wr_agent_message_string (msg, "cwd");
    out->cwd = s != NULL ? xstrdup (s) : NULL;
    s = wr_agent_message_string (msg, "user");
    out->user = s != NULL ? xstrdup (s) : NULL;
    out->stdin = wr_agent_message_bool (msg, "stdin", false);
    json_object *tty = wr_agent_message_get (msg, "tty");
    if (tty != NULL && json_object_is_type (tty, json_type_object)) {
        out->tty = true;
        out->rows = (unsigned) get_int (tty, "rows", 24);
        out->cols = (unsigned) get_int (tty, "cols", 80);
    }
    out->wait = wr_agent_message_bool (msg, "wait", false);
    out->wait_timeout_ms = wr_agent_message_int (msg, "timeout_ms", 0);
}

static void
strv_free (char **strv)
{
    for (size_t i = 0; strv != NULL && strv[i] != NULL; i++)
        free (strv[i]);
    free (strv);
}

void
wr_agent_exec_clear (wr_agent_exec_t *exec)
{
    strv_free (exec->argv);
    strv_free (exec->env);
    free (exec->cwd);
    free (exec->user);
    memset (exec, 0, sizeof *exec);
}

void
wr_agent_exit_set (json_object *obj, const wr_agent_exit_t *exit)
{
    json_object_object_del (obj, "exit_code");
    json_object_object_del (obj, "signal");
    json_object_object_del (obj, "core_dumped");
    json_object_object_add (obj, "state", json_object_new_string (states[exit->state]));
    if (exit->state == WR_AGENT_EXITED)
        json_object_object_add (obj, "exit_code", json_object_new_int (exit->exit_code));
    if (exit->state == WR_AGENT_SIGNALED) {
        json_object_object_add (obj, "signal", json_object_new_int (exit->signal));
        if (exit->core_dumped)
            json_object_object_add (obj, "core_dumped", json_object_new_boolean (true));
    }
}

void
wr_agent_exit_get (json_object *obj, wr_agent_exit_t *out)
{
    memset (out, 0, sizeof *out);
    const char *state = get_string (obj, "state");
    for (int i = 0; states[i] != NULL; i++)
        if (state != NULL && strcmp (states[i], state) == 0)
            out->state = (wr_agent_state_t) i;
    out->exit_code = (int) get_int (obj, "exit_code", 0);
    out->signal = (int) get_int (obj, "signal", 0);
    json_object *core = NULL;
    out->core_dumped = json_object_object_get_ex (obj, "core_dumped", &core) && core != NULL &&
                       json_object_get_boolean (core);
}
