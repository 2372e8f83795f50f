#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"
#include "xalloc.h"

static wr_log_level_t min_level = WR_LOG_INFO;
static wr_log_format_t log_format = WR_LOG_TEXT;
static int log_fd = STDERR_FILENO;
static bool errors_to_stderr = false;

static const char *const level_names[] = { "debug", "info", "warning", "error" };

void
wr_log_set_level (wr_log_level_t level)
{
    min_level = level;
}

void
wr_log_set_format (wr_log_format_t format)
{
    log_format = format;
}

void
wr_log_set_errors_to_stderr (bool enabled)
{
    errors_to_stderr = enabled;
}

int
wr_log_parse_format (const char *name, wr_log_format_t *format, wr_error_t *err)
{
    if (strcmp (name, "text") == 0)
        *format = WR_LOG_TEXT;
    else if (strcmp (name, "json") == 0)
        *format = WR_LOG_JSON;
    else
        return wr_error_set (err, 0, "unknown log format `%s` (use `text` or `json`)", name);
    return 0;
}

int
wr_log_set_file (const char *path, wr_error_t *err)
{
    int fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return wr_error_set (err, errno, "open log file `%s`", path);
    if (log_fd != STDERR_FILENO)
        close (log_fd);
    log_fd = fd;
    return 0;
}

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} buffer_t;

static void
buffer_add (buffer_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = xrealloc (b->data, b->cap);
    }
    memcpy (b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void
buffer_puts (buffer_t *b, const char *s)
{
    buffer_add (b, s, strlen (s));
}

size_t
wr_log_append_json_string (char **buf, size_t len, size_t *cap, const char *value)
{
    buffer_t b = { *buf, len, *cap };
    buffer_add (&b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *) value; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"':
            buffer_add (&b, "\\\"", 2);
            break;
        case '\\':
            buffer_add (&b, "\\\\", 2);
            break;
        case '\n':
            buffer_add (&b, "\\n", 2);
            break;
        case '\t':
            buffer_add (&b, "\\t", 2);
            break;
        case '\r':
            buffer_add (&b, "\\r", 2);
            break;
        default:
            if (*p < 0x20) {
                snprintf (esc, sizeof esc, "\\u%04x", *p);
                buffer_puts (&b, esc);
            } else {
                buffer_add (&b, (const char *) p, 1);
            }
        }
    }
    buffer_add (&b, "\"", 1);
    *buf = b.data;
    *cap = b.cap;
    return b.len;
}

static void
add_json_string (buffer_t *b, const char *value)
{
    b->len = wr_log_append_json_string (&b->data, b->len, &b->cap, value);
}

/* logfmt: quote a value when it is empty or holds spaces, quotes or '='. */
static void
add_text_value (buffer_t *b, const char *value)
{
    if (value[0] != '\0' && strpbrk (value, " \t\n\"=\\") == NULL) {
        buffer_puts (b, value);
        return;
    }
    add_json_string (b, value);
}

static void
format_time (char *out, size_t size)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime (CLOCK_REALTIME, &ts);
    gmtime_r (&ts.tv_sec, &tm);
    size_t n = strftime (out, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf (out + n, size - n, ".%09ldZ", ts.tv_nsec);
}

static void
emit (wr_log_level_t level, const char *msg, const char *const *fields)
{
    buffer_t text = { NULL, 0, 0 };
    buffer_puts (&text, "level=");
    buffer_puts (&text, level_names[level]);
    buffer_puts (&text, " msg=");
    add_json_string (&text, msg);

    buffer_t json = { NULL, 0, 0 };
    buffer_puts (&json, "{\"level\":\"");
    buffer_puts (&json, level_names[level]);
    buffer_puts (&json, "\",\"msg\":");
    add_json_string (&json, msg);

    for (size_t i = 0; fields != NULL && fields[i] != NULL; i += 2) {
        const char *key = fields[i];
        const char *value = fields[i + 1] != NULL ? fields[i + 1] : "";
        buffer_puts (&text, " ");
        buffer_puts (&text, key);
        buffer_puts (&text, "=");
        add_text_value (&text, value);
        buffer_puts (&json, ",");
        add_json_string (&json, key);
        buffer_puts (&json, ":");
        add_json_string (&json, value);
        if (fields[i + 1] == NULL)
            break;
    }
    char now[64];
    format_time (now, sizeof now);
    buffer_puts (&json, ",\"time\":\"");
    buffer_puts (&json, now);
    buffer_puts (&json, "\"}\n");
    buffer_puts (&text, "\n");

    if (log_format == WR_LOG_JSON)
        wr_write_all (log_fd, json.data, json.len, "the log", NULL);
    else
        wr_write_all (log_fd, text.data, text.len, "the log", NULL);
    if (errors_to_stderr && level == WR_LOG_ERROR && log_fd != STDERR_FILENO)
        wr_write_all (STDERR_FILENO, text.data, text.len, "standard error", NULL);
    free (text.data);
    free (json.data);
}

void
wr_log_write_standard (void *data, wr_log_level_t level, const char *msg, const char *const *fields)
{
    if (level < min_level)
        return;
    emit (level, msg, fields);
}

bool
wr_log_enabled (const wr_log_t *log, wr_log_level_t level)
{
    for (; log != NULL; log = log->parent) {
        if (level < log->level)
            return false;
        if (log->write != NULL)
            return true;
    }
    return level >= min_level;
}

static size_t
count_fields (const char *const *fields)
{
    size_t n = 0;
    while (fields != NULL && fields[n] != NULL && fields[n + 1] != NULL)
        n += 2;
    return n;
}

/* The line's fields (key, value pairs from AP) after those of the chain
 * from LOG's root down, to the first log with a write function (or the
 * standard log). */
static void
send (const wr_log_t *log, wr_log_level_t level, const char *msg, va_list ap)
{
    if (!wr_log_enabled (log, level))
        return;
    size_t depth = 0, total = 0;
    const wr_log_t *sink = NULL;
    for (const wr_log_t *l = log; l != NULL; l = l->parent) {
        depth++;
        total += count_fields (l->fields);
        if (l->write != NULL) {
            sink = l;
            break;
        }
    }
    va_list count;
    va_copy (count, ap);
    while (va_arg (count, const char *) != NULL) {
        (void) va_arg (count, const char *);
        total += 2;
    }
    va_end (count);

    cleanup_free const char **fields = xzalloc ((total + 1) * sizeof *fields);
    size_t n = 0;
    /* Root first: the log I steps up from LOG, for I from the deepest. */
    for (size_t i = depth; i-- > 0;) {
        const wr_log_t *l = log;
        for (size_t up = 0; up < i; up++)
            l = l->parent;
        size_t c = count_fields (l->fields);
        for (size_t j = 0; j < c; j++)
            fields[n++] = l->fields[j];
    }
    const char *key;
    while ((key = va_arg (ap, const char *)) != NULL) {
        const char *value = va_arg (ap, const char *);
        fields[n++] = key;
        fields[n++] = value != NULL ? value : "";
    }
    fields[n] = NULL;
    if (sink != NULL)
        sink->write (sink->data, level, msg, fields);
    else
        emit (level, msg, fields);
}

void
wr_log_to (const wr_log_t *log, wr_log_level_t level, const char *msg, ...)
{
    va_list ap;
    va_start (ap, msg);
    send (log, level, msg, ap);
    va_end (ap);
}

static void
send_no_fields (const wr_log_t *log, wr_log_level_t level, const char *msg, ...)
{
    va_list ap;
    va_start (ap, msg);
    send (log, level, msg, ap);
    va_end (ap);
}

void
wr_logf_to (const wr_log_t *log, wr_log_level_t level, const char *fmt, ...)
{
    if (!wr_log_enabled (log, level))
        return;
    va_list ap;
    va_start (ap, fmt);
    cleanup_free char *msg = xvasprintf (fmt, ap);
    va_end (ap);
    send_no_fields (log, level, msg, (const char *) NULL);
}

void
wr_log (wr_log_level_t level, const char *msg, ...)
{
    va_list ap;
    va_start (ap, msg);
    send (NULL, level, msg, ap);
    va_end (ap);
}

void
wr_logf (wr_log_level_t level, const char *fmt, ...)
{
    if (!wr_log_enabled (NULL, level))
        return;
    va_list ap;
    va_start (ap, fmt);
    cleanup_free char *msg = xvasprintf (fmt, ap);
    va_end (ap);
    send_no_fields (NULL, level, msg, (const char *) NULL);
}
