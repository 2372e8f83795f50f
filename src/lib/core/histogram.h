/* Counters and histograms for /metrics, written in Prometheus' text
 * exposition format (version 0.0.4):
 *
 *   # HELP warren_sandbox_create_seconds Time from a create request to a running sandbox.
 *   # TYPE warren_sandbox_create_seconds histogram
 *   warren_sandbox_create_seconds_bucket{le="0.5"} 3
 *   ...
 *   warren_sandbox_create_seconds_bucket{le="+Inf"} 7
 *   warren_sandbox_create_seconds_sum 4.25
 *   warren_sandbox_create_seconds_count 7
 *
 * Observations are thread-safe and take no lock (atomic counters), so the
 * exec path can record its round trip at no measurable cost. */
#ifndef WARREN_HISTOGRAM_H
#define WARREN_HISTOGRAM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define WR_HISTOGRAM_MAX_BUCKETS 16

typedef struct {
    const char *name; /* "warren_exec_seconds": [a-zA-Z_:][a-zA-Z0-9_:]* */
    const char *help; /* one line */
    size_t n_bounds;
    double bounds[WR_HISTOGRAM_MAX_BUCKETS]; /* upper bounds, increasing, in seconds */
    _Atomic uint64_t counts[WR_HISTOGRAM_MAX_BUCKETS + 1]; /* the last one: +Inf */
    _Atomic uint64_t sum_us; /* the sum of observations, in microseconds */
} wr_histogram_t;

/* Sets up H (zeroed counts) with N_BOUNDS upper bounds (at most
 * WR_HISTOGRAM_MAX_BUCKETS; more are dropped). */
void wr_histogram_init (wr_histogram_t *h, const char *name, const char *help, const double *bounds,
                        size_t n_bounds);
/* Records one observation of SECONDS (negative ones count as 0). */
void wr_histogram_observe (wr_histogram_t *h, double seconds);
uint64_t wr_histogram_count (const wr_histogram_t *h);

/* Appends H in the text format to *TEXT (a malloc'ed string, or NULL),
 * with the cumulative bucket counts Prometheus expects. */
void wr_histogram_write (const wr_histogram_t *h, char **text);

/* Appends a gauge (or counter, with TYPE "counter") NAME with one sample
 * per label value: NAME{LABEL="VALUES[i]"} COUNTS[i]. */
void wr_metric_write_labelled (char **text, const char *name, const char *type, const char *help,
                               const char *label, const char *const *values, const uint64_t *counts,
                               size_t n);

/* Appends a gauge NAME without labels: NAME VALUE. */
void wr_metric_write_gauge (char **text, const char *name, const char *help, uint64_t value);

#endif
