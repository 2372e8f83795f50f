/* The manager's watcher: every half second it ends the sandboxes whose
 * lifetime expired, and it notices a sandbox whose host process died
 * (its pidfd becomes readable) and marks it failed with the reason; every
 * few seconds it forgets the records of sandboxes that ended longer ago
 * than the manager keeps them. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "sandbox_manager_private.h"
#include "xalloc.h"

#define WATCH_INTERVAL_MS 500
/* Ended records are forgotten every this many rounds (5 s). */
#define FORGET_EVERY 10

static void
end_expired (wr_sandbox_manager_t *mgr)
{
    wr_sandbox_record_t *records = NULL;
    size_t n = 0;
    cleanup_error wr_error_t err = NULL;
    if (wr_sandbox_db_list_expired (mgr->db, 0, &records, &n, &err) < 0) {
        wr_log_to (mgr->log, WR_LOG_WARN, "listing expired sandboxes failed", "error", err->message,
                   NULL);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        cleanup_error wr_error_t end_err = NULL;
        if (wr_sandbox_end (mgr, records[i].id, WR_SANDBOX_STOPPED, "lifetime expired", &end_err) <
            0)
            wr_log_to (mgr->log, WR_LOG_WARN, "ending an expired sandbox failed", "sandbox",
                       records[i].id, "error", end_err->message, NULL);
    }
    wr_sandbox_records_free (records, n);
}

static void
forget_ended (wr_sandbox_manager_t *mgr)
{
    if (mgr->keep_ended_ms <= 0)
        return;
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
    size_t n = 0;
    cleanup_error wr_error_t err = NULL;
    if (wr_sandbox_db_forget_ended (mgr->db, now_ms - mgr->keep_ended_ms, &n, &err) < 0) {
        wr_log_to (mgr->log, WR_LOG_WARN, "forgetting ended sandboxes failed", "error",
                   err->message, NULL);
        return;
    }
    if (n > 0) {
        char count[24];
        snprintf (count, sizeof count, "%zu", n);
        wr_log_to (mgr->log, WR_LOG_DEBUG, "forgot ended sandboxes", "count", count, NULL);
    }
}

/* The ids of live sandboxes whose process has ended. */
static char **
dead_ones (wr_sandbox_manager_t *mgr, char ***cgroups)
{
    struct pollfd fds[256];
    char *ids[256];
    char *groups[256];
    size_t n = 0;
    pthread_mutex_lock (&mgr->lock);
    for (live_t *l = mgr->live; l != NULL && n < 256; l = l->next) {
        if (l->pidfd < 0 || l->deleting)
            continue;
        fds[n] = (struct pollfd){ .fd = l->pidfd, .events = POLLIN };
        ids[n] = xstrdup (l->id);
        groups[n] = l->cgroup != NULL ? xstrdup (l->cgroup) : NULL;
        n++;
    }
    pthread_mutex_unlock (&mgr->lock);
    char **dead = xzalloc (sizeof *dead * (n + 1));
    *cgroups = xzalloc (sizeof **cgroups * (n + 1));
    size_t d = 0;
    if (n > 0 && poll (fds, n, 0) > 0) {
        for (size_t i = 0; i < n; i++) {
            if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                dead[d] = steal_pointer (&ids[i]);
                (*cgroups)[d++] = steal_pointer (&groups[i]);
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        free (ids[i]);
        free (groups[i]);
    }
    return dead;
}

static void
end_dead (wr_sandbox_manager_t *mgr)
{
    char **cgroups = NULL;
    char **dead = dead_ones (mgr, &cgroups);
    for (size_t i = 0; dead[i] != NULL; i++) {
        cleanup_free char *reason =
            wr_sandbox_death_reason (cgroups[i], "runsc died: the sandbox's process ended");
        cleanup_error wr_error_t err = NULL;
        if (wr_sandbox_end (mgr, dead[i], WR_SANDBOX_FAILED, reason, &err) < 0)
            wr_log_to (mgr->log, WR_LOG_WARN, "cleaning up a dead sandbox failed", "sandbox",
                       dead[i], "error", err->message, NULL);
        free (dead[i]);
        free (cgroups[i]);
    }
    free (dead);
    free (cgroups);
}

static void *
watch (void *data)
{
    wr_sandbox_manager_t *mgr = data;
    unsigned round = 0;
    pthread_mutex_lock (&mgr->stop_lock);
    while (!mgr->stopping) {
        pthread_mutex_unlock (&mgr->stop_lock);
        end_dead (mgr);
        end_expired (mgr);
        if (round++ % FORGET_EVERY == 0)
            forget_ended (mgr);
        pthread_mutex_lock (&mgr->stop_lock);
        if (mgr->stopping)
            break;
        struct timespec ts;
        clock_gettime (CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += WATCH_INTERVAL_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait (&mgr->stop_cond, &mgr->stop_lock, &ts);
    }
    pthread_mutex_unlock (&mgr->stop_lock);
    return NULL;
}

int
wr_sandbox_watch_start (wr_sandbox_manager_t *mgr, wr_error_t *err)
{
    int rc = pthread_create (&mgr->watcher, NULL, watch, mgr);
    if (rc != 0)
        return wr_error_set_kind (err, WR_ERROR_INTERNAL, rc,
                                  "cannot start the sandbox watcher: %s", strerror (rc));
    mgr->watching = true;
    return 0;
}

void
wr_sandbox_watch_stop (wr_sandbox_manager_t *mgr)
{
    if (!mgr->watching)
        return;
    pthread_mutex_lock (&mgr->stop_lock);
    mgr->stopping = true;
    pthread_cond_broadcast (&mgr->stop_cond);
    pthread_mutex_unlock (&mgr->stop_lock);
    pthread_join (mgr->watcher, NULL);
    mgr->watching = false;
}
