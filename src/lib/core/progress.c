#include "progress.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"
#include "log.h"
#include "xalloc.h"

typedef struct {
    char *digest;
    int64_t total;
    int64_t done;
    int64_t first_done; /* bytes at the first update (a resumed download) */
    int64_t started_ns; /* first update; -1 before */
    int64_t finished_ns;
    bool complete;
} entry_t;

struct wr_progress_s {
    pthread_mutex_t lock;
    wr_progress_options_t options;
    entry_t *entries;
    size_t n_entries;
    size_t lines_drawn;
    int64_t last_draw_ns; /* -1: never */
    bool dirty;
};

static int64_t
monotonic_ns (void *data)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
wr_progress_options_default (wr_progress_options_t *options, int fd)
{
    memset (options, 0, sizeof *options);
    options->fd = fd;
    options->bars = isatty (fd) == 1;
    options->width = 80;
}

wr_progress_t *
wr_progress_new (const wr_progress_options_t *options)
{
    wr_progress_t *p = xzalloc (sizeof *p);
    pthread_mutex_init (&p->lock, NULL);
    p->options = *options;
    if (p->options.width <= 0)
        p->options.width = 80;
    if (p->options.clock == NULL)
        p->options.clock = monotonic_ns;
    p->last_draw_ns = -1;
    return p;
}

static int64_t
now_ns (wr_progress_t *p)
{
    return p->options.clock (p->options.clock_data);
}

void
wr_progress_format_bytes (uint64_t bytes, char *out, size_t size)
{
    static const char *const units[] = { "B", "KB", "MB", "GB", "TB" };
    if (bytes < 1000) {
        snprintf (out, size, "%" PRIu64 " B", bytes);
        return;
    }
    double v = (double) bytes;
    size_t unit = 0;
    while (v >= 1000 && unit + 1 < sizeof units / sizeof units[0]) {
        v /= 1000;
        unit++;
    }
    /* Three significant digits, like Docker's sizes. */
    if (v < 10)
        snprintf (out, size, "%.2f %s", v, units[unit]);
    else if (v < 100)
        snprintf (out, size, "%.1f %s", v, units[unit]);
    else
        snprintf (out, size, "%.0f %s", v, units[unit]);
}

void
wr_progress_format_duration (int64_t nanoseconds, char *out, size_t size)
{
    if (nanoseconds < 0)
        nanoseconds = 0;
    double seconds = (double) nanoseconds / 1e9;
    if (seconds < 10)
        snprintf (out, size, "%.2fs", seconds);
    else if (seconds < 60)
        snprintf (out, size, "%.1fs", seconds);
    else {
        int64_t whole = nanoseconds / 1000000000;
        snprintf (out, size, "%" PRId64 "m%02" PRId64 "s", whole / 60, whole % 60);
    }
}

static const char *
short_digest (const char *digest)
{
    const char *colon = strchr (digest, ':');
    return colon != NULL ? colon + 1 : digest;
}

char *
wr_progress_render_line (const char *digest, int64_t done, int64_t total, double bytes_per_second,
                         bool complete, int width)
{
    char id[13];
    snprintf (id, sizeof id, "%s", short_digest (digest));
    char done_s[16], total_s[16], amount[40], rate[24] = "";
    wr_progress_format_bytes (done > 0 ? (uint64_t) done : 0, done_s, sizeof done_s);
    if (total >= 0) {
        wr_progress_format_bytes ((uint64_t) total, total_s, sizeof total_s);
        snprintf (amount, sizeof amount, "%7s / %-7s", done_s, total_s);
    } else {
        snprintf (amount, sizeof amount, "%7s", done_s);
    }
    if (complete) {
        snprintf (rate, sizeof rate, "done");
    } else if (bytes_per_second > 0) {
        char r[16];
        wr_progress_format_bytes ((uint64_t) bytes_per_second, r, sizeof r);
        snprintf (rate, sizeof rate, "%s/s", r);
    }

    /* The bar takes whatever the other columns leave, up to 40; the columns
     * have fixed widths ("999 KB" at most, rate "999 MB/s") so that the bar
     * keeps its length from one redraw to the next. */
    int fixed = 12 + 2 + 2 + 2 + (int) strlen (amount) + 2 + 9;
    int bar = width - fixed;
    if (bar > 40)
        bar = 40;
    cleanup_free char *bar_s = NULL;
    if (total > 0 && bar >= 5) {
        bar_s = xmalloc ((size_t) bar + 3);
        int64_t shown = complete ? total : (done > total ? total : done);
        int filled = (int) ((double) shown / (double) total * bar);
        char *w = bar_s;
        *w++ = '[';
        for (int i = 0; i < bar; i++) {
            if (i < filled)
                *w++ = '=';
            else if (i == filled && shown < total)
                *w++ = '>';
            else
                *w++ = ' ';
        }
        *w++ = ']';
        *w = '\0';
    }
    char *line = bar_s != NULL ? xasprintf ("%-12s  %s  %s  %-9s", id, bar_s, amount, rate)
                               : xasprintf ("%-12s  %s  %-9s", id, amount, rate);
    /* Never wider than the terminal, or the redraw would scroll. */
    size_t len = strlen (line);
    while (len > 0 && line[len - 1] == ' ')
        line[--len] = '\0';
    if (width > 0 && len > (size_t) width)
        line[width] = '\0';
    return line;
}

static entry_t *
find_entry (wr_progress_t *p, const char *digest)
{
    for (size_t i = 0; i < p->n_entries; i++)
        if (strcmp (p->entries[i].digest, digest) == 0)
            return &p->entries[i];
    return NULL;
}

static entry_t *
add_entry (wr_progress_t *p, const char *digest, int64_t total)
{
    entry_t *e = find_entry (p, digest);
    if (e != NULL) {
        if (total >= 0)
            e->total = total;
        return e;
    }
    p->entries = xrealloc (p->entries, (p->n_entries + 1) * sizeof *p->entries);
    e = &p->entries[p->n_entries++];
    memset (e, 0, sizeof *e);
    e->digest = xstrdup (digest);
    e->total = total;
    e->started_ns = -1;
    p->dirty = true;
    return e;
}

static double
entry_rate (const entry_t *e, int64_t now)
{
    int64_t end = e->complete ? e->finished_ns : now;
    if (e->started_ns < 0 || end <= e->started_ns)
        return 0;
    return (double) (e->done - e->first_done) / ((double) (end - e->started_ns) / 1e9);
}

/* Moves up over the lines drawn last time and draws every entry again. */
static void
draw (wr_progress_t *p, int64_t now)
{
    size_t cap = 256, len = 0;
    char *buf = xmalloc (cap);
    buf[0] = '\0';
    cleanup_free char *up = p->lines_drawn > 0 ? xasprintf ("\033[%zuA", p->lines_drawn) : NULL;
    for (size_t i = 0; i <= p->n_entries; i++) {
        cleanup_free char *line = NULL;
        if (i == 0) {
            line = xstrdup (up != NULL ? up : "");
        } else {
            const entry_t *e = &p->entries[i - 1];
            cleanup_free char *text = wr_progress_render_line (
                e->digest, e->done, e->total, entry_rate (e, now), e->complete, p->options.width);
            line = xasprintf ("\r\033[K%s\n", text);
        }
        size_t n = strlen (line);
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            buf = xrealloc (buf, cap);
        }
        memcpy (buf + len, line, n + 1);
        len += n;
    }
    /* A display that cannot be written is no reason to stop a pull. */
    wr_write_all (p->options.fd, buf, len, "the progress display", NULL);
    free (buf);
    p->lines_drawn = p->n_entries;
    p->last_draw_ns = now;
    p->dirty = false;
}

static void
maybe_draw (wr_progress_t *p, bool force)
{
    if (!p->options.bars || !p->dirty)
        return;
    int64_t now = now_ns (p);
    if (!force && p->last_draw_ns >= 0 && now - p->last_draw_ns < 1000000000 / WR_PROGRESS_HZ)
        return;
    draw (p, now);
}

/* The entry is complete: a log line without bars, a redraw with them. */
static void
complete_entry (wr_progress_t *p, entry_t *e, int64_t now)
{
    if (e->complete)
        return;
    e->complete = true;
    e->finished_ns = now;
    if (e->total >= 0)
        e->done = e->total;
    p->dirty = true;
    if (p->options.bars)
        return;
    char size[32], took[32];
    snprintf (size, sizeof size, "%" PRId64, e->done);
    wr_progress_format_duration (e->started_ns >= 0 ? now - e->started_ns : 0, took, sizeof took);
    wr_log_to (p->options.log, WR_LOG_INFO, "layer done", "digest", e->digest, "size", size, "took",
               took, NULL);
}

void
wr_progress_add (wr_progress_t *p, const char *digest, int64_t total)
{
    if (p == NULL)
        return;
    pthread_mutex_lock (&p->lock);
    add_entry (p, digest, total);
    pthread_mutex_unlock (&p->lock);
}

void
wr_progress_update (void *data, const char *digest, int64_t done, int64_t total)
{
    wr_progress_t *p = data;
    if (p == NULL)
        return;
    pthread_mutex_lock (&p->lock);
    int64_t now = now_ns (p);
    entry_t *e = add_entry (p, digest, total);
    if (e->started_ns < 0) {
        e->started_ns = now;
        e->first_done = done;
    }
    if (done < e->first_done) /* restarted from zero (no range support) */
        e->first_done = done;
    if (!e->complete && done != e->done) {
        e->done = done;
        p->dirty = true;
    }
    if (e->total >= 0 && done >= e->total)
        complete_entry (p, e, now);
    maybe_draw (p, e->complete);
    pthread_mutex_unlock (&p->lock);
}

void
wr_progress_done (wr_progress_t *p, const char *digest)
{
    if (p == NULL)
        return;
    pthread_mutex_lock (&p->lock);
    int64_t now = now_ns (p);
    entry_t *e = add_entry (p, digest, -1);
    complete_entry (p, e, now);
    maybe_draw (p, true);
    pthread_mutex_unlock (&p->lock);
}

void
wr_progress_finish (wr_progress_t *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock (&p->lock);
    int64_t now = now_ns (p);
    for (size_t i = 0; i < p->n_entries; i++)
        complete_entry (p, &p->entries[i], now);
    maybe_draw (p, true);
    pthread_mutex_unlock (&p->lock);
}

void
wr_progress_free (wr_progress_t *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock (&p->lock);
    maybe_draw (p, true);
    pthread_mutex_unlock (&p->lock);
    for (size_t i = 0; i < p->n_entries; i++)
        free (p->entries[i].digest);
    free (p->entries);
    pthread_mutex_destroy (&p->lock);
    free (p);
}
