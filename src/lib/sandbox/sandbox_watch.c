/* The manager's watcher: every half second it ends the sandboxes whose
 * lifetime expired, and it notices a sandbox whose host process died
 * (its pidfd becomes readable) and marks it failed with the reason. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "sandbox_manager_private.h"
#include "xalloc.h"

#define WATCH_INTERVAL_MS 500

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
    pthread_mutex_lock (&mgr->stop_lock);
    while (!mgr->stopping) {
        pthread_mutex_unlock (&mgr->stop_lock);
        end_dead (mgr);
        end_expired (mgr);
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
