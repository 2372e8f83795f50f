/* A process's children and the reaper of its orphans: see children.h. */
#include "children.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"

/* Held shared by forks (many at once), exclusively by the reaper's scan:
 * while it scans, every child that exists is recorded or is an orphan. */
static pthread_rwlock_t forking = PTHREAD_RWLOCK_INITIALIZER;
/* The owned children, guarded by owned_lock. */
static pthread_mutex_t owned_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t *owned;
static size_t n_owned, cap_owned;

/* The reaper thread. */
static pthread_mutex_t reaper_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reaper_wake = PTHREAD_COND_INITIALIZER;
static pthread_t reaper_thread;
static bool reaper_running, reaper_stopping;
static atomic_int expecting;

pid_t
wr_children_fork (void)
{
    pthread_rwlock_rdlock (&forking);
    pid_t pid = fork ();
    if (pid > 0) {
        pthread_mutex_lock (&owned_lock);
        if (n_owned == cap_owned) {
            cap_owned = cap_owned ? cap_owned * 2 : 16;
            owned = xrealloc (owned, cap_owned * sizeof *owned);
        }
        owned[n_owned++] = pid;
        pthread_mutex_unlock (&owned_lock);
    }
    if (pid != 0)
        pthread_rwlock_unlock (&forking);
    return pid;
}

void
wr_children_waited (pid_t pid)
{
    pthread_mutex_lock (&owned_lock);
    for (size_t i = 0; i < n_owned; i++) {
        if (owned[i] == pid) {
            owned[i] = owned[--n_owned];
            break;
        }
    }
    pthread_mutex_unlock (&owned_lock);
}

static bool
is_owned (pid_t pid)
{
    bool found = false;
    pthread_mutex_lock (&owned_lock);
    for (size_t i = 0; i < n_owned && !found; i++)
        found = owned[i] == pid;
    pthread_mutex_unlock (&owned_lock);
    return found;
}

/* Reaps the exited children listed in PATH (a task's "children" file)
 * that nobody owns. */
static size_t
reap_listed (const char *path)
{
    cleanup_fclose FILE *f = fopen (path, "re");
    if (f == NULL)
        return 0;
    size_t reaped = 0;
    long pid;
    while (fscanf (f, "%ld", &pid) == 1) {
        if (pid <= 0 || is_owned ((pid_t) pid))
            continue;
        siginfo_t info = { 0 };
        if (waitid (P_PID, (id_t) pid, &info, WEXITED | WNOHANG) == 0 && info.si_pid != 0)
            reaped++;
    }
    return reaped;
}

size_t
wr_children_reap_orphans (bool all_threads)
{
    size_t reaped = 0;
    char path[64];
    pthread_rwlock_wrlock (&forking);
    if (!all_threads) {
        snprintf (path, sizeof path, "/proc/self/task/%d/children", (int) getpid ());
        reaped = reap_listed (path);
    } else {
        cleanup_closedir DIR *d = opendir ("/proc/self/task");
        struct dirent *e;
        while (d != NULL && (e = readdir (d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            snprintf (path, sizeof path, "/proc/self/task/%.20s/children", e->d_name);
            reaped += reap_listed (path);
        }
    }
    pthread_rwlock_unlock (&forking);
    return reaped;
}

static void *
reap_loop (void *data)
{
    (void) data;
    unsigned round = 0;
    pthread_mutex_lock (&reaper_lock);
    while (!reaper_stopping) {
        pthread_mutex_unlock (&reaper_lock);
        bool urgent = atomic_load (&expecting) > 0;
        /* The main thread's list every round; every thread's each second. */
        wr_children_reap_orphans (!urgent || round++ % 50 == 0);
        pthread_mutex_lock (&reaper_lock);
        if (reaper_stopping)
            break;
        long wait_ms = atomic_load (&expecting) > 0 ? 20 : 1000;
        struct timespec ts;
        clock_gettime (CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += wait_ms * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait (&reaper_wake, &reaper_lock, &ts);
    }
    pthread_mutex_unlock (&reaper_lock);
    return NULL;
}

int
wr_children_reaper_start (wr_error_t *err)
{
    if (prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        return wr_error_set (err, errno, "become a child subreaper");
    pthread_condattr_t attr;
    pthread_condattr_init (&attr);
    pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
    pthread_cond_destroy (&reaper_wake);
    pthread_cond_init (&reaper_wake, &attr);
    pthread_condattr_destroy (&attr);
    reaper_stopping = false;
    int rc = pthread_create (&reaper_thread, NULL, reap_loop, NULL);
    if (rc != 0)
        return wr_error_set (err, rc, "start the reaper of orphaned children");
    reaper_running = true;
    return 0;
}

void
wr_children_reaper_stop (void)
{
    if (!reaper_running)
        return;
    pthread_mutex_lock (&reaper_lock);
    reaper_stopping = true;
    pthread_cond_broadcast (&reaper_wake);
    pthread_mutex_unlock (&reaper_lock);
    pthread_join (reaper_thread, NULL);
    reaper_running = false;
    /* What is orphaned after this is the next reaper's (init's, once this
     * process has exited). */
    wr_children_reap_orphans (true);
}

void
wr_children_expect_exits_begin (void)
{
    atomic_fetch_add (&expecting, 1);
    pthread_mutex_lock (&reaper_lock);
    pthread_cond_broadcast (&reaper_wake);
    pthread_mutex_unlock (&reaper_lock);
}

void
wr_children_expect_exits_end (void)
{
    atomic_fetch_sub (&expecting, 1);
}
