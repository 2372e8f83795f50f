/* Unit tests of warren-init's file requests (agent_files.c and the files
 * it dispatches to) on a real temporary directory.  The connection loop is
 * replaced by a test double of agent_reply.h that records what is sent
 * (each message encoded and decoded again as warrend would, so anything
 * warrend would refuse fails the test) and feeds a request's body from a
 * buffer; it can cancel the stream midway. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_files.h"
#include "agent_path.h"
#include "cleanup.h"
#include "xalloc.h"

/* The test double of the connection loop. */
struct agent_reply {
    const char *body;
    size_t body_len, body_pos;
    size_t cancel_at_body; /* cancel once this much body was taken */
    size_t cancel_at_data; /* cancel once this much data was sent */
    bool cancelled;
    json_object *messages; /* what was sent, decoded */
    bool ended;
    bool keep_data;
    char *data;
    size_t data_len;
    uint64_t data_total;
    uint32_t sum_a, sum_b; /* Adler-32 of the data sent */
    int error_kind; /* -1: no error sent */
    char *error_message;
    int error_errno;
};

static void
reply_init (agent_reply_t *r)
{
    memset (r, 0, sizeof *r);
    r->cancel_at_body = SIZE_MAX;
    r->cancel_at_data = SIZE_MAX;
    r->messages = json_object_new_array ();
    r->keep_data = true;
    r->sum_a = 1;
    r->error_kind = -1;
}

static void
reply_clear (agent_reply_t *r)
{
    json_object_put (r->messages);
    free (r->data);
    free (r->error_message);
}

/* MSG encoded as the agent sends it on stream 1, then decoded as warrend
 * decodes it: the JSON warrend would see. */
static json_object *
round_trip (const wr_agent_message_t *msg, bool end)
{
    cleanup_agent_buf wr_agent_buf_t buf = { 0 };
    cleanup_error wr_error_t err = NULL;
    if (wr_agent_message_encode (&buf, 1, 1, end ? WR_AGENT_FLAG_END : 0, WR_AGENT_SIDE_AGENT, msg,
                                 &err) < 0)
        fail_msg ("encode %s: %s", wr_agent_msg_type_name (msg->type), err->message);
    wr_agent_frame_t frame = {
        .version = 1,
        .type = WR_AGENT_FRAME_MESSAGE,
        .flags = end ? WR_AGENT_FLAG_END : 0,
        .stream = 1,
        .length = (uint32_t) (buf.len - WR_AGENT_HEADER_SIZE),
        .payload = buf.data + WR_AGENT_HEADER_SIZE,
    };
    wr_agent_message_t *back = wr_agent_message_decode (&frame, WR_AGENT_SIDE_AGENT, &err);
    if (back == NULL)
        fail_msg ("decode %s: %s", wr_agent_msg_type_name (msg->type), err->message);
    json_object *json = json_object_get (back->json);
    wr_agent_message_free (back);
    return json;
}

int
agent_reply_message (agent_reply_t *reply, wr_agent_message_t *msg, bool end, wr_error_t *err)
{
    assert_false (reply->ended);
    if (reply->cancelled) {
        wr_agent_message_free (msg);
        return wr_error_set (err, ECANCELED, "cancelled");
    }
    json_object_array_add (reply->messages, round_trip (msg, end));
    wr_agent_message_free (msg);
    reply->ended = end;
    return 0;
}

int
agent_reply_data (agent_reply_t *reply, const void *buf, size_t n, bool end, wr_error_t *err)
{
    assert_false (reply->ended);
    if (reply->cancelled)
        return wr_error_set (err, ECANCELED, "cancelled");
    assert_true (n <= 1024 * 1024 || !reply->keep_data || true);
    const unsigned char *p = buf;
    for (size_t i = 0; i < n; i++) {
        reply->sum_a = (reply->sum_a + p[i]) % 65521;
        reply->sum_b = (reply->sum_b + reply->sum_a) % 65521;
    }
    if (reply->keep_data) {
        reply->data = xrealloc (reply->data, reply->data_len + n + 1);
        if (n > 0)
            memcpy (reply->data + reply->data_len, buf, n);
        reply->data_len += n;
        reply->data[reply->data_len] = '\0';
    }
    reply->data_total += n;
    reply->ended = end;
    if (reply->data_total >= reply->cancel_at_data)
        reply->cancelled = true;
    return 0;
}

ssize_t
agent_reply_body (agent_reply_t *reply, void *buf, size_t cap, wr_error_t *err)
{
    if (reply->body_pos >= reply->cancel_at_body)
        reply->cancelled = true;
    if (reply->cancelled)
        return wr_error_set (err, ECANCELED, "cancelled");
    size_t n = reply->body_len - reply->body_pos;
    /* Pieces of odd sizes, as frames come. */
    if (n > 300000)
        n = 300000;
    if (n > cap)
        n = cap;
    memcpy (buf, reply->body + reply->body_pos, n);
    reply->body_pos += n;
    return (ssize_t) n;
}

void
agent_reply_error (agent_reply_t *reply, const wr_error_t error)
{
    assert_false (reply->ended);
    cleanup_agent_message wr_agent_message_t *msg = wr_agent_error_new (error);
    json_object_array_add (reply->messages, round_trip (msg, true));
    reply->ended = true;
    reply->error_kind = (int) error->kind;
    reply->error_message = xstrdup (error->message);
    reply->error_errno = error->errno_value;
}

bool
agent_reply_cancelled (agent_reply_t *reply)
{
    return reply->cancelled;
}

/* The temporary tree: BASE holds ROOT (what requests are confined to) and
 * a canary file next to it that no request may read or change. */
static char base[64];
static char root[PATH_MAX];
static char canary[PATH_MAX];
#define CANARY_TEXT "the canary outside the root\n"

static void
write_file (const char *path, const char *text, mode_t mode)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, text, strlen (text)), (ssize_t) strlen (text));
    assert_int_equal (fchmod (fd, mode), 0);
    close (fd);
}

static char *
read_text (const char *path)
{
    cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *buf = xmalloc (1 << 16);
    ssize_t n = read (fd, buf, (1 << 16) - 1);
    assert_true (n >= 0);
    buf[n] = '\0';
    return buf;
}

/* ROOT/REL on the host. */
static char *
in_root (const char *rel)
{
    return xasprintf ("%s/%s", root, rel);
}

static void
remove_all (const char *path)
{
    cleanup_free char *cmd = xasprintf ("rm -rf '%s'", path);
    assert_int_equal (system (cmd), 0);
}

static int
setup (void **state)
{
    (void) state;
    snprintf (base, sizeof base, "/tmp/test-agent-files-XXXXXX");
    assert_non_null (mkdtemp (base));
    snprintf (root, sizeof root, "%s/root", base);
    snprintf (canary, sizeof canary, "%s/canary", base);
    assert_int_equal (mkdir (root, 0755), 0);
    write_file (canary, CANARY_TEXT, 0644);
    return 0;
}

/* Nothing outside ROOT changed: BASE holds ROOT and the canary only, and
 * the canary is as it was. */
static int
teardown (void **state)
{
    (void) state;
    cleanup_free char *text = read_text (canary);
    assert_non_null (text);
    assert_string_equal (text, CANARY_TEXT);
    struct stat st;
    assert_int_equal (stat (canary, &st), 0);
    assert_int_equal (st.st_mode & 07777, 0644);
    assert_int_equal (st.st_uid, 0);
    DIR *dir = opendir (base);
    assert_non_null (dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir (dir)) != NULL) {
        if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
            continue;
        if (strcmp (e->d_name, "root") != 0 && strcmp (e->d_name, "canary") != 0)
            fail_msg ("%s appeared next to the root", e->d_name);
        n++;
    }
    closedir (dir);
    assert_int_equal (n, 2);
    remove_all (base);
    return 0;
}

/* A request of TYPE with the fields of JSON, checked as warrend's. */
static wr_agent_message_t *
request (wr_agent_msg_type_t type, const char *json)
{
    cleanup_agent_message wr_agent_message_t *msg = wr_agent_message_new (type);
    json_object *fields = json_tokener_parse (json);
    assert_non_null (fields);
    json_object_object_foreach (fields, key, value)
    {
        wr_agent_message_set_json (msg, key, json_object_get (value));
    }
    json_object_put (fields);
    cleanup_agent_buf wr_agent_buf_t buf = { 0 };
    cleanup_error wr_error_t err = NULL;
    if (wr_agent_message_encode (&buf, 1, 1, WR_AGENT_FLAG_END, WR_AGENT_SIDE_HOST, msg, &err) < 0)
        fail_msg ("request: %s", err->message);
    wr_agent_frame_t frame = {
        .version = 1,
        .type = WR_AGENT_FRAME_MESSAGE,
        .flags = WR_AGENT_FLAG_END,
        .stream = 1,
        .length = (uint32_t) (buf.len - WR_AGENT_HEADER_SIZE),
        .payload = buf.data + WR_AGENT_HEADER_SIZE,
    };
    wr_agent_message_t *back = wr_agent_message_decode (&frame, WR_AGENT_SIDE_HOST, &err);
    if (back == NULL)
        fail_msg ("request: %s", err->message);
    return back;
}

/* Serves a request of TYPE with JSON's fields into R (initialised here). */
static void
serve (agent_reply_t *r, wr_agent_msg_type_t type, const char *json)
{
    cleanup_agent_message wr_agent_message_t *req = request (type, json);
    agent_files_serve (root, req, r);
    assert_true (r->ended);
}

static void
serve_body (agent_reply_t *r, wr_agent_msg_type_t type, const char *json, const char *body,
            size_t len)
{
    r->body = body;
    r->body_len = len;
    serve (r, type, json);
}

static json_object *
message (agent_reply_t *r, size_t i)
{
    assert_true (i < json_object_array_length (r->messages));
    return json_object_array_get_idx (r->messages, i);
}

static const char *
field_string (json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex (obj, key, &v))
        return NULL;
    return json_object_get_string (v);
}

static int64_t
field_int (json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex (obj, key, &v))
        fail_msg ("no %s", key);
    return json_object_get_int64 (v);
}

static bool
field_bool (json_object *obj, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex (obj, key, &v) && json_object_get_boolean (v);
}

/* Serves and expects success: the last message's type is TYPE. */
static void
expect_ok (agent_reply_t *r, const char *type)
{
    if (r->error_kind >= 0)
        fail_msg ("error: %s", r->error_message);
    size_t n = json_object_array_length (r->messages);
    assert_true (n > 0);
    assert_string_equal (field_string (message (r, n - 1), "type"), type);
}

static void
expect_error (agent_reply_t *r, wr_error_kind_t kind, const char *in_message)
{
    if (r->error_kind < 0)
        fail_msg ("no error");
    if (r->error_kind != (int) kind)
        fail_msg ("kind %s, not %s: %s", wr_error_kind_name ((wr_error_kind_t) r->error_kind),
                  wr_error_kind_name (kind), r->error_message);
    if (in_message != NULL && strstr (r->error_message, in_message) == NULL)
        fail_msg ("`%s` not in `%s`", in_message, r->error_message);
}

/* Names in directory PATH that are temporary files of a write. */
static int
count_temp_files (const char *path)
{
    DIR *dir = opendir (path);
    assert_non_null (dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir (dir)) != NULL)
        if (strstr (e->d_name, ".tmp") != NULL)
            n++;
    closedir (dir);
    return n;
}

static void
test_write_read_stat (void **state)
{
    (void) state;
    agent_reply_t r;
    reply_init (&r);
    serve_body (&r, WR_AGENT_MSG_FILE_WRITE,
                "{\"path\": \"/a/b/hello.txt\", \"mode\": 416, \"uid\": 1000, \"gid\": 1001, "
                "\"size\": 12, \"parents\": true}",
                "hello world\n", 12);
    expect_ok (&r, "file.info");
    json_object *info = message (&r, 0);
    assert_string_equal (field_string (info, "path"), "/a/b/hello.txt");
    assert_string_equal (field_string (info, "file_type"), "file");
    assert_int_equal (field_int (info, "size"), 12);
    assert_int_equal (field_int (info, "mode"), 0640);
    assert_int_equal (field_int (info, "uid"), 1000);
    reply_clear (&r);

    cleanup_free char *host = in_root ("a/b/hello.txt");
    struct stat st;
    assert_int_equal (stat (host, &st), 0);
    assert_int_equal (st.st_mode & 07777, 0640);
    assert_int_equal (st.st_uid, 1000);
    assert_int_equal (st.st_gid, 1001);
    cleanup_free char *text = read_text (host);
    assert_string_equal (text, "hello world\n");

    /* Read all, then a part. */
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_READ, "{\"path\": \"/a/b/hello.txt\"}");
    assert_int_equal (r.error_kind, -1);
    assert_string_equal (field_string (message (&r, 0), "type"), "file.info");
    assert_int_equal (field_int (message (&r, 0), "size"), 12);
    assert_string_equal (r.data, "hello world\n");
    reply_clear (&r);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_READ,
           "{\"path\": \"a//b/./hello.txt\", \"offset\": 6, \"length\": 5}");
    assert_int_equal (r.error_kind, -1);
    assert_string_equal (r.data, "world");
    reply_clear (&r);
    /* Past its end: no bytes, an empty last frame. */
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_READ, "{\"path\": \"/a/b/hello.txt\", \"offset\": 100}");
    assert_int_equal (r.error_kind, -1);
    assert_int_equal (r.data_total, 0);
    reply_clear (&r);

    /* Replacing it keeps its owner when none is given; mode 0644. */
    reply_init (&r);
    serve_body (&r, WR_AGENT_MSG_FILE_WRITE, "{\"path\": \"/a/b/hello.txt\"}", "bye\n", 4);
    expect_ok (&r, "file.info");
    reply_clear (&r);
    assert_int_equal (stat (host, &st), 0);
    assert_int_equal (st.st_mode & 07777, 0644);
    assert_int_equal (st.st_uid, 1000);
    assert_int_equal (st.st_size, 4);

    /* Append. */
    reply_init (&r);
    serve_body (&r, WR_AGENT_MSG_FILE_WRITE, "{\"path\": \"/a/b/hello.txt\", \"append\": true}",
                "more\n", 5);
    expect_ok (&r, "file.info");
    assert_int_equal (field_int (message (&r, 0), "size"), 9);
    reply_clear (&r);
    free (text);
    text = read_text (host);
    assert_string_equal (text, "bye\nmore\n");

    /* stat of a directory, a symlink with and without following. */
    cleanup_free char *link = in_root ("a/link");
    assert_int_equal (symlink ("b/hello.txt", link), 0);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_STAT, "{\"path\": \"/a/link\"}");
    expect_ok (&r, "file.info");
    assert_string_equal (field_string (message (&r, 0), "file_type"), "symlink");
    assert_string_equal (field_string (message (&r, 0), "target"), "b/hello.txt");
    reply_clear (&r);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_STAT, "{\"path\": \"/a/link\", \"follow_symlinks\": true}");
    expect_ok (&r, "file.info");
    assert_string_equal (field_string (message (&r, 0), "file_type"), "file");
    assert_int_equal (field_int (message (&r, 0), "size"), 9);
    assert_string_equal (field_string (message (&r, 0), "path"), "/a/link");
    reply_clear (&r);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_STAT, "{\"path\": \"/a\"}");
    expect_ok (&r, "file.info");
    assert_string_equal (field_string (message (&r, 0), "file_type"), "directory");
    reply_clear (&r);

    /* Errors: missing, a directory read, a file as a directory. */
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_STAT, "{\"path\": \"/a/missing\"}");
    expect_error (&r, WR_ERROR_NOT_FOUND, "stat `/a/missing`: No such file or directory");
    assert_int_equal (r.error_errno, ENOENT);
    reply_clear (&r);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_READ, "{\"path\": \"/a\"}");
    expect_error (&r, WR_ERROR_INVALID, "read `/a`");
    reply_clear (&r);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_READ, "{\"path\": \"/a/b/hello.txt/x\"}");
    expect_error (&r, WR_ERROR_INVALID, "Not a directory");
    reply_clear (&r);
    reply_init (&r);
    serve_body (&r, WR_AGENT_MSG_FILE_WRITE, "{\"path\": \"/a/b\"}", "x", 1);
    expect_error (&r, WR_ERROR_INVALID, "Is a directory");
    reply_clear (&r);
    reply_init (&r);
    serve_body (&r, WR_AGENT_MSG_FILE_WRITE, "{\"path\": \"/no/such/dir/f\"}", "x", 1);
    expect_error (&r, WR_ERROR_NOT_FOUND, NULL);
    reply_clear (&r);
}

static void
test_write_size_checked_nothing_half_written (void **state)
{
    (void) state;
    cleanup_free char *host = in_root ("f");
    write_file (host, "original\n", 0600);
    agent_reply_t r;
    /* Shorter and longer bodies than the size given. */
    reply_init (&r);
    serve_body (&r, WR_AGENT_MSG_FILE_WRITE, "{\"path\": \"/f\", \"size\": 10}", "12345", 5);
    expect_error (&r, WR_ERROR_INVALID, "not its size");
    reply_clear (&r);
    reply_init (&r);
    serve_body (&r, WR_AGENT_MSG_FILE_WRITE, "{\"path\": \"/f\", \"size\": 3}", "12345", 5);
    expect_error (&r, WR_ERROR_INVALID, "longer than its size");
    reply_clear (&r);
    cleanup_free char *text = read_text (host);
    assert_string_equal (text, "original\n");
    assert_int_equal (count_temp_files (root), 0);

    /* Cancelled midway through a 10 MiB body: the file is as it was. */
    size_t len = 10u << 20;
    cleanup_free char *body = xmalloc (len);
    memset (body, 'z', len);
    reply_init (&r);
    r.cancel_at_body = 3u << 20;
    serve_body (&r, WR_AGENT_MSG_FILE_WRITE, "{\"path\": \"/f\"}", body, len);
    expect_error (&r, WR_ERROR_CANCELLED, NULL);
    reply_clear (&r);
    free (text);
    text = read_text (host);
    assert_string_equal (text, "original\n");
    assert_int_equal (count_temp_files (root), 0);

    /* An append cancelled is cut back; one that created the file removes it. */
    reply_init (&r);
    r.cancel_at_body = 1u << 20;
    serve_body (&r, WR_AGENT_MSG_FILE_WRITE, "{\"path\": \"/f\", \"append\": true}", body, len);
    expect_error (&r, WR_ERROR_CANCELLED, NULL);
    reply_clear (&r);
    free (text);
    text = read_text (host);
    assert_string_equal (text, "original\n");
    reply_init (&r);
    r.cancel_at_body = 1u << 20;
    serve_body (&r, WR_AGENT_MSG_FILE_WRITE, "{\"path\": \"/new\", \"append\": true}", body, len);
    expect_error (&r, WR_ERROR_CANCELLED, NULL);
    reply_clear (&r);
    cleanup_free char *fresh = in_root ("new");
    assert_int_equal (access (fresh, F_OK), -1);
}

static void
test_hundred_megabytes (void **state)
{
    (void) state;
    size_t len = 100u << 20;
    cleanup_free char *body = xmalloc (len);
    uint32_t x = 2463534242u;
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        body[i] = (char) (x >> 24);
        a = (a + (unsigned char) body[i]) % 65521;
        b = (b + a) % 65521;
    }
    agent_reply_t r;
    reply_init (&r);
    cleanup_free char *json = xasprintf ("{\"path\": \"/big\", \"size\": %zu}", len);
    serve_body (&r, WR_AGENT_MSG_FILE_WRITE, json, body, len);
    expect_ok (&r, "file.info");
    assert_int_equal (field_int (message (&r, 0), "size"), (int64_t) len);
    reply_clear (&r);
    free (body);
    body = NULL;

    reply_init (&r);
    r.keep_data = false;
    serve (&r, WR_AGENT_MSG_FILE_READ, "{\"path\": \"/big\"}");
    assert_int_equal (r.error_kind, -1);
    assert_int_equal (r.data_total, len);
    assert_int_equal (r.sum_a, a);
    assert_int_equal (r.sum_b, b);
    reply_clear (&r);

    /* A read cancelled midway stops. */
    reply_init (&r);
    r.keep_data = false;
    r.cancel_at_data = 5u << 20;
    serve (&r, WR_AGENT_MSG_FILE_READ, "{\"path\": \"/big\"}");
    expect_error (&r, WR_ERROR_CANCELLED, NULL);
    assert_true (r.data_total < len);
    reply_clear (&r);
    cleanup_free char *host = in_root ("big");
    assert_int_equal (unlink (host), 0);
}

static void
test_mkdir_remove_rename_chmod_chown (void **state)
{
    (void) state;
    agent_reply_t r;
    mode_t old = umask (077);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_MKDIR, "{\"path\": \"/d\", \"mode\": 493}");
    expect_ok (&r, "ok");
    reply_clear (&r);
    umask (old);
    cleanup_free char *d = in_root ("d");
    struct stat st;
    assert_int_equal (stat (d, &st), 0);
    assert_true (S_ISDIR (st.st_mode));
    assert_int_equal (st.st_mode & 07777, 0755);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_MKDIR, "{\"path\": \"/d\"}");
    expect_error (&r, WR_ERROR_EXISTS, "make directory `/d`");
    reply_clear (&r);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_MKDIR, "{\"path\": \"/d\", \"parents\": true}");
    expect_ok (&r, "ok");
    reply_clear (&r);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_MKDIR, "{\"path\": \"/x/y/z\"}");
    expect_error (&r, WR_ERROR_NOT_FOUND, NULL);
    reply_clear (&r);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_MKDIR, "{\"path\": \"/d/e/f\", \"parents\": true, \"mode\": 448}");
    expect_ok (&r, "ok");
    reply_clear (&r);
    cleanup_free char *f = in_root ("d/e/f");
    assert_int_equal (stat (f, &st), 0);
    assert_int_equal (st.st_mode & 07777, 0700);

    /* chmod and chown, of a file and of a symlink itself. */
    cleanup_free char *file = in_root ("d/file");
    write_file (file, "x", 0644);
    cleanup_free char *link = in_root ("d/link");
    assert_int_equal (symlink ("file", link), 0);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_CHMOD, "{\"path\": \"/d/link\", \"mode\": 3565}");
    expect_ok (&r, "ok");
    reply_clear (&r);
    assert_int_equal (stat (file, &st), 0);
    assert_int_equal (st.st_mode & 07777, 06755);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_CHOWN, "{\"path\": \"/d/link\", \"uid\": 7, \"gid\": 8}");
    expect_ok (&r, "ok");
    reply_clear (&r);
    assert_int_equal (lstat (link, &st), 0);
    assert_int_equal (st.st_uid, 7);
    assert_int_equal (stat (file, &st), 0);
    assert_int_equal (st.st_uid, 0);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_CHOWN,
           "{\"path\": \"/d/link\", \"uid\": 9, \"gid\": 10, \"follow_symlinks\": true}");
    expect_ok (&r, "ok");
    reply_clear (&r);
    assert_int_equal (stat (file, &st), 0);
    assert_int_equal (st.st_uid, 9);
    assert_int_equal (st.st_gid, 10);

    /* rename, refusing to replace unless asked. */
    cleanup_free char *other = in_root ("d/other");
    write_file (other, "other", 0644);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_RENAME, "{\"from\": \"/d/file\", \"to\": \"/d/other\"}");
    expect_error (&r, WR_ERROR_EXISTS, "/d/other");
    reply_clear (&r);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_RENAME,
           "{\"from\": \"/d/file\", \"to\": \"/d/other\", \"replace\": true}");
    expect_ok (&r, "ok");
    reply_clear (&r);
    cleanup_free char *text = read_text (other);
    assert_string_equal (text, "x");
    assert_int_equal (access (file, F_OK), -1);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_RENAME, "{\"from\": \"/d/other\", \"to\": \"/moved\"}");
    expect_ok (&r, "ok");
    reply_clear (&r);

    /* remove: a file, a symlink (not what it points to), a non-empty
     * directory only when recursive, the root never. */
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_REMOVE, "{\"path\": \"/d/link\"}");
    expect_ok (&r, "ok");
    reply_clear (&r);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_REMOVE, "{\"path\": \"/d\"}");
    expect_error (&r, WR_ERROR_EXISTS, "remove `/d`");
    reply_clear (&r);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_REMOVE, "{\"path\": \"/d\", \"recursive\": true}");
    expect_ok (&r, "ok");
    reply_clear (&r);
    assert_int_equal (access (d, F_OK), -1);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_REMOVE, "{\"path\": \"/d\"}");
    expect_error (&r, WR_ERROR_NOT_FOUND, NULL);
    reply_clear (&r);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_REMOVE, "{\"path\": \"/\", \"recursive\": true}");
    expect_error (&r, WR_ERROR_INVALID, NULL);
    reply_clear (&r);
    cleanup_free char *moved = in_root ("moved");
    assert_int_equal (access (moved, F_OK), 0);
    assert_int_equal (access (root, F_OK), 0);
    assert_int_equal (unlink (moved), 0);
}

static void
test_remove_deep_tree (void **state)
{
    (void) state;
    cleanup_free char *top = in_root ("deep");
    assert_int_equal (mkdir (top, 0755), 0);
    int fd = open (top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true (fd >= 0);
    for (int i = 0; i < 10000; i++) {
        assert_int_equal (mkdirat (fd, "d", 0755), 0);
        int f = openat (fd, "file", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true (f >= 0);
        close (f);
        int next = openat (fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true (next >= 0);
        close (fd);
        fd = next;
    }
    close (fd);
    agent_reply_t r;
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_REMOVE, "{\"path\": \"/deep\", \"recursive\": true}");
    expect_ok (&r, "ok");
    reply_clear (&r);
    assert_int_equal (access (top, F_OK), -1);
}

static void
test_list (void **state)
{
    (void) state;
    cleanup_free char *dir = in_root ("l");
    assert_int_equal (mkdir (dir, 0755), 0);
    cleanup_free char *sub = in_root ("l/sub");
    assert_int_equal (mkdir (sub, 0700), 0);
    cleanup_free char *a = in_root ("l/a");
    write_file (a, "aaa", 0600);
    cleanup_free char *c = in_root ("l/sub/c");
    write_file (c, "c", 0644);
    cleanup_free char *link = in_root ("l/sub/up");
    assert_int_equal (symlink ("../..", link), 0);
    /* A name that is not UTF-8 cannot be sent: it is left out. */
    cleanup_free char *bad = in_root ("l/bad\xff");
    write_file (bad, "", 0644);

    agent_reply_t r;
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_LIST, "{\"path\": \"/l\"}");
    expect_ok (&r, "file.entries");
    assert_int_equal (json_object_array_length (r.messages), 1);
    json_object *entries = json_object_object_get (message (&r, 0), "entries");
    assert_int_equal (json_object_array_length (entries), 2);
    assert_string_equal (field_string (json_object_array_get_idx (entries, 0), "path"), "a");
    assert_int_equal (field_int (json_object_array_get_idx (entries, 0), "size"), 3);
    assert_int_equal (field_int (json_object_array_get_idx (entries, 0), "mode"), 0600);
    assert_string_equal (field_string (json_object_array_get_idx (entries, 1), "path"), "sub");
    assert_false (field_bool (message (&r, 0), "truncated"));
    reply_clear (&r);

    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_LIST, "{\"path\": \"/l/\", \"recursive\": true}");
    expect_ok (&r, "file.entries");
    entries = json_object_object_get (message (&r, 0), "entries");
    assert_int_equal (json_object_array_length (entries), 4);
    assert_string_equal (field_string (json_object_array_get_idx (entries, 2), "path"), "sub/c");
    assert_string_equal (field_string (json_object_array_get_idx (entries, 3), "path"), "sub/up");
    assert_string_equal (field_string (json_object_array_get_idx (entries, 3), "file_type"),
                         "symlink");
    assert_string_equal (field_string (json_object_array_get_idx (entries, 3), "target"), "../..");
    reply_clear (&r);

    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_LIST, "{\"path\": \"/l\", \"recursive\": true, \"limit\": 3}");
    expect_ok (&r, "file.entries");
    entries = json_object_object_get (message (&r, 0), "entries");
    assert_int_equal (json_object_array_length (entries), 3);
    assert_true (field_bool (message (&r, 0), "truncated"));
    reply_clear (&r);

    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_LIST, "{\"path\": \"/l/a\"}");
    expect_error (&r, WR_ERROR_INVALID, "list `/l/a`");
    reply_clear (&r);

    /* 20000 entries: two messages, the first one full. */
    cleanup_free char *many = in_root ("many");
    assert_int_equal (mkdir (many, 0755), 0);
    int fd = open (many, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (int i = 0; i < 20000; i++) {
        char name[32];
        snprintf (name, sizeof name, "f%05d", i);
        int f = openat (fd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true (f >= 0);
        close (f);
    }
    close (fd);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_LIST, "{\"path\": \"/many\"}");
    expect_ok (&r, "file.entries");
    size_t total = 0;
    for (size_t i = 0; i < json_object_array_length (r.messages); i++) {
        size_t n = json_object_array_length (json_object_object_get (message (&r, i), "entries"));
        assert_true (n <= 16384);
        total += n;
    }
    assert_true (json_object_array_length (r.messages) >= 2);
    assert_int_equal (total, 20000);
    reply_clear (&r);
    remove_all (many);
    remove_all (dir);
}

static void
test_find (void **state)
{
    (void) state;
    cleanup_free char *dir = in_root ("src");
    assert_int_equal (mkdir (dir, 0755), 0);
    cleanup_free char *sub = in_root ("src/lib");
    assert_int_equal (mkdir (sub, 0755), 0);
    cleanup_free char *a = in_root ("src/a.c");
    write_file (a, "int main (void)\n{\n    return foo (1) + foo (2);\n}\n", 0644);
    cleanup_free char *b = in_root ("src/lib/b.h");
    write_file (b, "#define FOO 1\nint foo (int);\n", 0644);
    cleanup_free char *bin = in_root ("src/lib/blob.c");
    int fd = open (bin, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    assert_int_equal (write (fd, "foo\0foo\n", 8), 8);
    close (fd);

    agent_reply_t r;
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_FIND,
           "{\"path\": \"/src\", \"pattern\": \"foo \\\\(([0-9])\\\\)\"}");
    expect_ok (&r, "file.matches");
    json_object *m = json_object_object_get (message (&r, 0), "matches");
    assert_int_equal (json_object_array_length (m), 2);
    json_object *first = json_object_array_get_idx (m, 0);
    assert_string_equal (field_string (first, "path"), "/src/a.c");
    assert_int_equal (field_int (first, "line"), 3);
    assert_int_equal (field_int (first, "column"), 12);
    assert_string_equal (field_string (first, "text"), "    return foo (1) + foo (2);");
    assert_int_equal (field_int (json_object_array_get_idx (m, 1), "column"), 22);
    reply_clear (&r);

    /* ignore_case, a glob, the binary file skipped. */
    reply_init (&r);
    serve (
        &r, WR_AGENT_MSG_FILE_FIND,
        "{\"path\": \"/src\", \"pattern\": \"^.*foo\", \"ignore_case\": true, \"glob\": \"*.h\"}");
    expect_ok (&r, "file.matches");
    m = json_object_object_get (message (&r, 0), "matches");
    assert_int_equal (json_object_array_length (m), 2);
    assert_string_equal (field_string (json_object_array_get_idx (m, 0), "path"), "/src/lib/b.h");
    assert_int_equal (field_int (json_object_array_get_idx (m, 0), "line"), 1);
    assert_int_equal (field_int (json_object_array_get_idx (m, 1), "line"), 2);
    reply_clear (&r);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_FIND, "{\"path\": \"/src/lib\", \"pattern\": \"foo\"}");
    expect_ok (&r, "file.matches");
    m = json_object_object_get (message (&r, 0), "matches");
    assert_int_equal (json_object_array_length (m), 1); /* b.h's line 2; blob.c skipped */
    reply_clear (&r);

    /* max_matches and truncated; a file as the path. */
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_FIND,
           "{\"path\": \"/src/a.c\", \"pattern\": \"o\", \"max_matches\": 3}");
    expect_ok (&r, "file.matches");
    m = json_object_object_get (message (&r, 0), "matches");
    assert_int_equal (json_object_array_length (m), 3);
    assert_true (field_bool (message (&r, 0), "truncated"));
    assert_string_equal (field_string (json_object_array_get_idx (m, 0), "path"), "/src/a.c");
    reply_clear (&r);

    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_FIND, "{\"path\": \"/src\", \"pattern\": \"(\"}");
    expect_error (&r, WR_ERROR_INVALID, "pattern");
    reply_clear (&r);

    /* A line longer than 4096 bytes, not UTF-8: sent cut and mended. */
    cleanup_free char *longf = in_root ("src/long.txt");
    cleanup_free char *line = xmalloc (10001);
    memset (line, 'a', 10000);
    line[0] = '\xc3';
    line[10000] = '\0';
    write_file (longf, line, 0644);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_FIND, "{\"path\": \"/src/long.txt\", \"pattern\": \"a$\"}");
    expect_ok (&r, "file.matches");
    m = json_object_object_get (message (&r, 0), "matches");
    assert_int_equal (json_object_array_length (m), 1);
    assert_int_equal (field_int (json_object_array_get_idx (m, 0), "column"), 10000);
    assert_int_equal (strlen (field_string (json_object_array_get_idx (m, 0), "text")), 4096);
    reply_clear (&r);
    remove_all (dir);
}

static void
test_replace (void **state)
{
    (void) state;
    cleanup_free char *dir = in_root ("rep");
    assert_int_equal (mkdir (dir, 0755), 0);
    cleanup_free char *a = in_root ("rep/a.txt");
    write_file (a, "name = alice\nname = bob\nother\n", 0640);
    assert_int_equal (chown (a, 1000, 1002), 0);
    cleanup_free char *b = in_root ("rep/b.txt");
    write_file (b, "nothing here\n", 0644);
    cleanup_free char *c = in_root ("rep/c.md");
    write_file (c, "name = carol\n", 0644);

    agent_reply_t r;
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_REPLACE,
           "{\"path\": \"/rep\", \"pattern\": \"^name = ([a-z])([a-z]*)$\", "
           "\"replacement\": \"\\\\2\\\\1 <\\\\0> \\\\\\\\\", \"glob\": \"*.txt\"}");
    expect_ok (&r, "file.replaced");
    assert_int_equal (field_int (message (&r, 0), "files"), 1);
    assert_int_equal (field_int (message (&r, 0), "replacements"), 2);
    reply_clear (&r);
    cleanup_free char *text = read_text (a);
    assert_string_equal (text, "licea <name = alice> \\\nobb <name = bob> \\\nother\n");
    struct stat st;
    assert_int_equal (stat (a, &st), 0);
    assert_int_equal (st.st_mode & 07777, 0640);
    assert_int_equal (st.st_uid, 1000);
    assert_int_equal (st.st_gid, 1002);
    free (text);
    text = read_text (c);
    assert_string_equal (text, "name = carol\n");
    assert_int_equal (count_temp_files (dir), 0);

    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_REPLACE,
           "{\"path\": \"/rep/c.md\", \"pattern\": \"A\", \"replacement\": \"4\", "
           "\"ignore_case\": true}");
    expect_ok (&r, "file.replaced");
    assert_int_equal (field_int (message (&r, 0), "replacements"), 2);
    reply_clear (&r);
    free (text);
    text = read_text (c);
    assert_string_equal (text, "n4me = c4rol\n");
    remove_all (dir);
}

/* No path, whatever it holds, reaches outside the root. */
static void
test_confinement (void **state)
{
    (void) state;
    cleanup_free char *etc = in_root ("etc");
    assert_int_equal (mkdir (etc, 0755), 0);
    cleanup_free char *passwd = in_root ("etc/passwd");
    write_file (passwd, "root:x:0:0:inside:/root:/bin/sh\n", 0644);
    cleanup_free char *to_etc = in_root ("to-etc");
    assert_int_equal (symlink ("/etc", to_etc), 0);
    cleanup_free char *up = in_root ("up");
    assert_int_equal (symlink ("../../", up), 0);
    cleanup_free char *to_canary = in_root ("to-canary");
    assert_int_equal (symlink (canary, to_canary), 0);
    cleanup_free char *to_base = in_root ("etc/to-base");
    assert_int_equal (symlink ("../../canary", to_base), 0);
    cleanup_free char *way_up = in_root ("etc/way-up");
    assert_int_equal (symlink ("../../../..", way_up), 0);
    cleanup_free char *loop = in_root ("loop");
    assert_int_equal (symlink ("loop", loop), 0);

    const char *inside[] = { "../../etc/passwd",      "/../../../etc/passwd",
                             "/to-etc/passwd",        "/up/etc/passwd",
                             "/up/up/up/etc/passwd",  "etc/../../etc/passwd",
                             "/etc/way-up/etc/passwd" };
    for (size_t i = 0; i < sizeof inside / sizeof *inside; i++) {
        agent_reply_t r;
        reply_init (&r);
        cleanup_free char *json = xasprintf ("{\"path\": \"%s\"}", inside[i]);
        serve (&r, WR_AGENT_MSG_FILE_READ, json);
        if (r.error_kind >= 0)
            fail_msg ("%s: %s", inside[i], r.error_message);
        assert_string_equal (r.data, "root:x:0:0:inside:/root:/bin/sh\n");
        reply_clear (&r);
    }
    const char *outside[] = { "/../canary", "/up/canary", "/to-canary", "/etc/to-base",
                              "../root/canary" };
    for (size_t i = 0; i < sizeof outside / sizeof *outside; i++) {
        cleanup_free char *json = xasprintf ("{\"path\": \"%s\"}", outside[i]);
        agent_reply_t r;
        reply_init (&r);
        serve (&r, WR_AGENT_MSG_FILE_READ, json);
        expect_error (&r, WR_ERROR_NOT_FOUND, outside[i]);
        assert_int_equal (r.data_total, 0);
        reply_clear (&r);
    }
    /* Writes, chmod, chown, rename and replace through them land inside
     * the root (or fail), never on the canary. */
    for (size_t i = 0; i < sizeof outside / sizeof *outside; i++) {
        cleanup_free char *json = xasprintf ("{\"path\": \"%s\"}", outside[i]);
        agent_reply_t r;
        reply_init (&r);
        serve_body (&r, WR_AGENT_MSG_FILE_WRITE, json, "overwritten", 11);
        reply_clear (&r);
        cleanup_free char *chmod_json = xasprintf ("{\"path\": \"%s\", \"mode\": 511}", outside[i]);
        reply_init (&r);
        serve (&r, WR_AGENT_MSG_FILE_CHMOD, chmod_json);
        reply_clear (&r);
        cleanup_free char *chown_json = xasprintf (
            "{\"path\": \"%s\", \"uid\": 5, \"gid\": 5, \"follow_symlinks\": true}", outside[i]);
        reply_init (&r);
        serve (&r, WR_AGENT_MSG_FILE_CHOWN, chown_json);
        reply_clear (&r);
        cleanup_free char *rename_json = xasprintf (
            "{\"from\": \"/etc/passwd\", \"to\": \"%s/x\", \"replace\": true}", outside[i]);
        reply_init (&r);
        serve (&r, WR_AGENT_MSG_FILE_RENAME, rename_json);
        reply_clear (&r);
        reply_init (&r);
        serve (&r, WR_AGENT_MSG_FILE_REPLACE,
               "{\"path\": \"/up\", \"pattern\": \"canary\", \"replacement\": \"eaten\"}");
        reply_clear (&r);
        write_file (passwd, "root:x:0:0:inside:/root:/bin/sh\n", 0644);
    }
    /* What was written through them is in the root. */
    cleanup_free char *landed = in_root ("canary");
    cleanup_free char *text = read_text (landed);
    assert_non_null (text);
    assert_string_equal (text, "overwritten");

    /* A symlink loop, and too many links. */
    agent_reply_t r;
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_READ, "{\"path\": \"/loop\"}");
    expect_error (&r, WR_ERROR_INVALID, "Too many levels of symbolic links");
    reply_clear (&r);

    /* A recursive removal of the symlinks removes them, not their targets. */
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_REMOVE, "{\"path\": \"/up\", \"recursive\": true}");
    expect_ok (&r, "ok");
    reply_clear (&r);
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_REMOVE, "{\"path\": \"/to-canary\", \"recursive\": true}");
    expect_ok (&r, "ok");
    reply_clear (&r);
    /* The root's own ".." is the root. */
    reply_init (&r);
    serve (&r, WR_AGENT_MSG_FILE_LIST, "{\"path\": \"/..\"}");
    expect_ok (&r, "file.entries");
    json_object *entries = json_object_object_get (message (&r, 0), "entries");
    for (size_t i = 0; i < json_object_array_length (entries); i++)
        assert_string_not_equal (field_string (json_object_array_get_idx (entries, i), "path"),
                                 "root");
    reply_clear (&r);
    cleanup_free char *cmd = xasprintf ("find '%s' -mindepth 1 -delete", root);
    assert_int_equal (system (cmd), 0);
}

/* agent_path_resolve itself: where paths end up. */
static void
test_resolve (void **state)
{
    (void) state;
    cleanup_free char *d = in_root ("r");
    assert_int_equal (mkdir (d, 0755), 0);
    cleanup_free char *l = in_root ("r/abs");
    assert_int_equal (symlink ("/r", l), 0);
    cleanup_close int root_fd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct {
        const char *path;
        unsigned flags;
        const char *name;
    } cases[] = {
        { "/", 0, "." },        { "/..", 0, "." },
        { "/r/abs", 0, "abs" }, { "/r/abs", AGENT_PATH_FOLLOW, "r" },
        { "/r/abs/", 0, "r" },  { "r/abs/abs/x", 0, "x" },
        { "/r/..", 0, "." },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cleanup_agent_path agent_path_t p = { -1, NULL };
        cleanup_error wr_error_t err = NULL;
        if (agent_path_resolve (root_fd, cases[i].path, cases[i].flags, "resolve", &p, &err) < 0)
            fail_msg ("%s: %s", cases[i].path, err->message);
        assert_string_equal (p.name, cases[i].name);
    }
    remove_all (d);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_write_read_stat, setup, teardown),
        cmocka_unit_test_setup_teardown (test_write_size_checked_nothing_half_written, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_hundred_megabytes, setup, teardown),
        cmocka_unit_test_setup_teardown (test_mkdir_remove_rename_chmod_chown, setup, teardown),
        cmocka_unit_test_setup_teardown (test_remove_deep_tree, setup, teardown),
        cmocka_unit_test_setup_teardown (test_list, setup, teardown),
        cmocka_unit_test_setup_teardown (test_find, setup, teardown),
        cmocka_unit_test_setup_teardown (test_replace, setup, teardown),
        cmocka_unit_test_setup_teardown (test_confinement, setup, teardown),
        cmocka_unit_test_setup_teardown (test_resolve, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
