#include "agent_output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xalloc.h"

void
agent_output_init (agent_output_t *out, const char *spill_path, size_t cap)
{
    memset (out, 0, sizeof *out);
    out->spill_fd = -1;
    out->cap = cap ? cap : AGENT_OUTPUT_MEMORY;
    out->spill_path = spill_path ? xstrdup (spill_path) : NULL;
}

void
agent_output_clear (agent_output_t *out)
{
    if (out->spill_fd >= 0)
        close (out->spill_fd);
    /* Also one an earlier process of the same id left behind. */
    if (out->spill_path)
        unlink (out->spill_path);
    free (out->spill_path);
    free (out->ring);
    memset (out, 0, sizeof *out);
    out->spill_fd = -1;
}

/* The spill file, created (0600, replacing one left over) with its
 * directory (0700) when the first byte comes; tried once. */
static int
spill_open (agent_output_t *out, wr_error_t *err)
{
    out->spill_tried = true;
    out->spill_fd = open (out->spill_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out->spill_fd < 0 && errno == ENOENT) {
        char *slash = strrchr (out->spill_path, '/');
        if (slash != NULL && slash != out->spill_path) {
            *slash = '\0';
            int r = mkdir (out->spill_path, 0700);
            *slash = '/';
            if (r == 0 || errno == EEXIST)
                out->spill_fd =
                    open (out->spill_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        }
    }
    if (out->spill_fd < 0)
        return wr_error_set (err, errno,
                             "create the spill file `%s` (the output is kept in memory "
                             "only)",
                             out->spill_path);
    return 0;
}

int
agent_output_append (agent_output_t *out, const void *data, size_t n, wr_error_t *err)
{
    if (n == 0)
        return 0;
    if (out->ring == NULL)
        out->ring = xmalloc (out->cap);
    if (out->spill_path && !out->spill_tried)
        spill_open (out, err);
    const uint8_t *p = data;
    if (out->spill_fd >= 0) {
        size_t done = 0;
        while (done < n) {
            ssize_t w = pwrite (out->spill_fd, p + done, n - done, (off_t) (out->total + done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                /* A full disk: the bytes stay in memory only. */
                int saved = errno;
                close (out->spill_fd);
                out->spill_fd = -1;
                wr_error_set (err, saved, "write the spill file `%s`", out->spill_path);
                break;
            }
            done += (size_t) w;
        }
    }
    /* Only the last CAP bytes matter for the ring. */
    uint64_t start = out->total;
    if (n > out->cap) {
        start += n - out->cap;
        p += n - out->cap;
        n = out->cap;
    }
    size_t pos = (size_t) (start % out->cap);
    size_t first = n < out->cap - pos ? n : out->cap - pos;
    memcpy (out->ring + pos, p, first);
    memcpy (out->ring, p + first, n - first);
    out->total = start + n;
    return err && *err ? -1 : 0;
}

ssize_t
agent_output_read (const agent_output_t *out, uint64_t offset, void *buf, size_t n, wr_error_t *err)
{
    if (offset > out->total)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "offset %llu is beyond the end of the output (%llu bytes)",
                                  (unsigned long long) offset, (unsigned long long) out->total);
    if (out->total - offset < n)
        n = (size_t) (out->total - offset);
    if (n == 0)
        return 0;
    uint64_t kept_from = out->total > out->cap ? out->total - out->cap : 0;
    if (offset >= kept_from) {
        size_t pos = (size_t) (offset % out->cap);
        size_t first = n < out->cap - pos ? n : out->cap - pos;
        memcpy (buf, out->ring + pos, first);
        memcpy ((uint8_t *) buf + first, out->ring, n - first);
        return (ssize_t) n;
    }
    if (out->spill_fd < 0)
        return wr_error_set_kind (err, WR_ERROR_LIMIT, 0,
                                  "offset %llu is no longer kept (the output has no spill file; "
                                  "memory keeps from %llu)",
                                  (unsigned long long) offset, (unsigned long long) kept_from);
    /* From the file, not past what the ring holds (it is the same bytes). */
    if (kept_from - offset < n)
        n = (size_t) (kept_from - offset);
    for (;;) {
        ssize_t r = pread (out->spill_fd, buf, n, (off_t) offset);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return wr_error_set (err, errno, "read the spill file `%s`", out->spill_path);
        if (r == 0)
            return wr_error_set_kind (err, WR_ERROR_INTERNAL, 0,
                                      "the spill file `%s` is shorter than its output",
                                      out->spill_path);
        return r;
    }
}
