/* Progress of a pull: one entry per blob being downloaded.
 *
 * On a terminal it is a live display, one line per layer (short digest, a
 * bar, bytes done/total, rate), redrawn in place at most WR_PROGRESS_HZ
 * times a second.  Elsewhere it prints no bars, only a structured log line
 * when a layer is done:
 *
 *   level=info msg="layer done" digest=sha256:... size=1234 took=0.52s
 *
 * Updates come from the registry's download threads at once, so every entry
 * point takes the display's lock. */
#ifndef WARREN_PROGRESS_H
#define WARREN_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define WR_PROGRESS_HZ 10

typedef struct wr_progress_s wr_progress_t;

typedef struct {
    int fd; /* where the bars or lines go (usually 2, standard error) */
    bool bars; /* live bars (a terminal) rather than log lines */
    int width; /* columns of a line; <= 0: 80 */
    /* Monotonic clock in nanoseconds; NULL: CLOCK_MONOTONIC (tests set it). */
    int64_t (*clock) (void *data);
    void *clock_data;
    const wr_log_t *log; /* the log lines (not bars); NULL: the standard log */
} wr_progress_options_t;

/* Bars when FD is a terminal (isatty), log lines otherwise. */
void wr_progress_options_default (wr_progress_options_t *options, int fd);

wr_progress_t *wr_progress_new (const wr_progress_options_t *options);
/* Ends the display (a last redraw) and frees it.  NULL is fine. */
void wr_progress_free (wr_progress_t *progress);

/* Announces a blob (in the order the lines should appear). */
void wr_progress_add (wr_progress_t *progress, const char *digest, int64_t total);
/* DONE of TOTAL bytes of DIGEST (TOTAL < 0: unknown).  Has the signature of
 * wr_registry_progress_fn, with DATA the wr_progress_t. */
void wr_progress_update (void *data, const char *digest, int64_t done, int64_t total);
/* DIGEST is complete (whether or not its last update said so). */
void wr_progress_done (wr_progress_t *progress, const char *digest);
/* Marks every blob complete and draws the final state. */
void wr_progress_finish (wr_progress_t *progress);

/* ---- formatting (pure; also used by the command line) ---- */

/* "0 B", "512 B", "1.5 KB", "12.3 MB", "2.00 GB" (powers of 1000, like
 * Docker).  OUT of at least 16 bytes. */
void wr_progress_format_bytes (uint64_t bytes, char *out, size_t size);
/* "0.52s", "12.3s", "2m05s". */
void wr_progress_format_duration (int64_t nanoseconds, char *out, size_t size);
/* One line of the display, WIDTH columns at most, no newline:
 *   "3f2a9c1b0d4e  [=========>          ]  12.3 MB / 25.0 MB  4.1 MB/s"
 * TOTAL < 0 (unknown) gives no bar; COMPLETE shows "done" and no rate.
 * Caller frees. */
char *wr_progress_render_line (const char *digest, int64_t done, int64_t total,
                               double bytes_per_second, bool complete, int width);

#endif
