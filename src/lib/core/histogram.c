#include "histogram.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void
wr_histogram_init (wr_histogram_t *h, const char *name, const char *help, const double *bounds,
                   size_t n_bounds)
{
    memset (h, 0, sizeof *h);
    h->name = name;
    h->help = help;
    h->n_bounds = n_bounds < WR_HISTOGRAM_MAX_BUCKETS ? n_bounds : WR_HISTOGRAM_MAX_BUCKETS;
    memcpy (h->bounds, bounds, h->n_bounds * sizeof bounds[0]);
}

void
wr_histogram_observe (wr_histogram_t *h, double seconds)
{
    if (!(seconds > 0))
        seconds = 0;
    size_t i = 0;
    while (i < h->n_bounds && seconds > h->bounds[i])
        i++;
    atomic_fetch_add_explicit (&h->counts[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit (&h->sum_us, (uint64_t) (seconds * 1e6 + 0.5), memory_order_relaxed);
}

uint64_t
wr_histogram_count (const wr_histogram_t *h)
{
    uint64_t total = 0;
    for (size_t i = 0; i <= h->n_bounds; i++)
        total += atomic_load_explicit (&h->counts[i], memory_order_relaxed);
    return total;
}

__attribute__ ((format (printf, 2, 3))) static void
append (char **text, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    char *more = xvasprintf (fmt, ap);
    va_end (ap);
    size_t old = *text != NULL ? strlen (*text) : 0;
    size_t len = strlen (more);
    *text = xrealloc (*text, old + len + 1);
    memcpy (*text + old, more, len + 1);
    free (more);
}

void
wr_histogram_write (const wr_histogram_t *h, char **text)
{
    append (text, "# HELP %s %s\n# TYPE %s histogram\n", h->name, h->help, h->name);
    /* Read once: the buckets, the count and the sum agree even while
     * observations go on (the sum may be a little ahead; that is allowed). */
    uint64_t counts[WR_HISTOGRAM_MAX_BUCKETS + 1];
    for (size_t i = 0; i <= h->n_bounds; i++)
        counts[i] = atomic_load_explicit (&h->counts[i], memory_order_relaxed);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h->n_bounds; i++) {
        cumulative += counts[i];
        append (text, "%s_bucket{le=\"%g\"} %llu\n", h->name, h->bounds[i],
                (unsigned long long) cumulative);
    }
    cumulative += counts[h->n_bounds];
    append (text, "%s_bucket{le=\"+Inf\"} %llu\n", h->name, (unsigned long long) cumulative);
    double sum = (double) atomic_load_explicit (&h->sum_us, memory_order_relaxed) / 1e6;
    append (text, "%s_sum %.6f\n%s_count %llu\n", h->name, sum, h->name,
            (unsigned long long) cumulative);
}

void
wr_metric_write_labelled (char **text, const char *name, const char *type, const char *help,
                          const char *label, const char *const *values, const uint64_t *counts,
                          size_t n)
{
    append (text, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    for (size_t i = 0; i < n; i++)
        append (text, "%s{%s=\"%s\"} %llu\n", name, label, values[i],
                (unsigned long long) counts[i]);
}

void
wr_metric_write_gauge (char **text, const char *name, const char *help, uint64_t value)
{
    append (text, "# HELP %s %s\n# TYPE %s gauge\n%s %llu\n", name, help, name, name,
            (unsigned long long) value);
}
