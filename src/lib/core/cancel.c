#include "cancel.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "xalloc.h"

struct wr_cancel_s {
    const wr_cancel_t *parent;
    atomic_bool requested;
    int fd; /* an eventfd of the root token; -1 in children (they use the root's) */
    int64_t deadline_at_ms; /* CLOCK_MONOTONIC; 0: none */
    int64_t deadline_ms;
    char *deadline_name;
};

int64_t
wr_monotonic_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

wr_cancel_t *
wr_cancel_new (const wr_cancel_t *parent, int64_t deadline_ms, const char *deadline_name,
               wr_error_t *err)
{
    int fd = -1;
    if (parent == NULL) {
        fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd < 0) {
            wr_error_set (err, errno, "cancellation token: eventfd");
            return NULL;
        }
    }
    wr_cancel_t *c = xzalloc (sizeof *c);
    c->parent = parent;
    c->fd = fd;
    atomic_init (&c->requested, false);
    if (deadline_ms > 0) {
        c->deadline_ms = deadline_ms;
        c->deadline_at_ms = wr_monotonic_ms () + deadline_ms;
        c->deadline_name = xstrdup (deadline_name != NULL ? deadline_name : "deadline");
    }
    return c;
}

void
wr_cancel_free (wr_cancel_t *c)
{
    if (c == NULL)
        return;
    if (c->fd >= 0)
        close (c->fd);
    free (c->deadline_name);
    free (c);
}

void
wr_cancel_request (wr_cancel_t *c)
{
    if (c == NULL)
        return;
    atomic_store (&c->requested, true);
    int fd = wr_cancel_fd (c);
    if (fd >= 0) {
        /* Wakes every poller of the root's fd; the children's polls use it
         * too and then check their own flags. */
        uint64_t one = 1;
        int saved = errno;
        if (write (fd, &one, sizeof one) < 0) {
            /* EAGAIN: the counter is full, so it is readable already. */
        }
        errno = saved;
    }
}

/* The token on the chain that stopped the work: requested (first), or the
 * one whose deadline passed; NULL when none did. */
static const wr_cancel_t *
stopped_by (const wr_cancel_t *c, bool *requested)
{
    for (const wr_cancel_t *p = c; p != NULL; p = p->parent)
        if (atomic_load (&p->requested)) {
            *requested = true;
            return p;
        }
    int64_t now = -1;
    for (const wr_cancel_t *p = c; p != NULL; p = p->parent) {
        if (p->deadline_at_ms == 0)
            continue;
        if (now < 0)
            now = wr_monotonic_ms ();
        if (now >= p->deadline_at_ms) {
            *requested = false;
            return p;
        }
    }
    return NULL;
}

bool
wr_cancel_stopped (const wr_cancel_t *c)
{
    bool requested;
    return stopped_by (c, &requested) != NULL;
}

static void
format_length (int64_t ms, char *out, size_t size)
{
    if (ms % 1000 == 0)
        snprintf (out, size, "%lld s", (long long) (ms / 1000));
    else
        snprintf (out, size, "%lld ms", (long long) ms);
}

int
wr_cancel_check (const wr_cancel_t *c, const char *what, wr_error_t *err)
{
    bool requested = false;
    const wr_cancel_t *by = stopped_by (c, &requested);
    if (by == NULL)
        return 0;
    const char *sep = what != NULL ? ": " : "";
    if (what == NULL)
        what = "";
    if (requested)
        return wr_error_set_kind (err, WR_ERROR_CANCELLED, 0, "%s%scancelled", what, sep);
    char length[32];
    format_length (by->deadline_ms, length, sizeof length);
    wr_error_set_kind (err, WR_ERROR_UNAVAILABLE, 0, "%s%sthe %s of %s passed", what, sep,
                       by->deadline_name, length);
    if (err != NULL && *err != NULL)
        (*err)->errno_value = ETIMEDOUT;
    return -1;
}

int
wr_cancel_fd (const wr_cancel_t *c)
{
    while (c != NULL && c->parent != NULL)
        c = c->parent;
    return c != NULL ? c->fd : -1;
}

int64_t
wr_cancel_remaining_ms (const wr_cancel_t *c)
{
    int64_t nearest = -1;
    for (const wr_cancel_t *p = c; p != NULL; p = p->parent)
        if (p->deadline_at_ms != 0 && (nearest < 0 || p->deadline_at_ms < nearest))
            nearest = p->deadline_at_ms;
    if (nearest < 0)
        return -1;
    int64_t left = nearest - wr_monotonic_ms ();
    return left > 0 ? left : 0;
}

int
wr_cancel_sleep (const wr_cancel_t *c, int64_t ms)
{
    int64_t until = wr_monotonic_ms () + ms;
    int fd = wr_cancel_fd (c);
    for (;;) {
        if (wr_cancel_stopped (c))
            return -1;
        int64_t left = until - wr_monotonic_ms ();
        if (left <= 0)
            return 0;
        int64_t deadline = wr_cancel_remaining_ms (c);
        if (deadline >= 0 && deadline < left)
            left = deadline;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        /* Never read the eventfd: it stays readable for every waiter. */
        if (poll (&p, fd >= 0 ? 1 : 0, (int) (left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
            return 0;
    }
}
