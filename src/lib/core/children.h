/* A process's children: the ones it forks itself, and the orphans it
 * adopts when it is a child subreaper (prctl PR_SET_CHILD_SUBREAPER).
 *
 * warrend is a subreaper so that a sandbox's runsc processes, orphaned
 * when `runsc create` exits, are reaped the moment they die: `runsc
 * delete` waits until the killed sandbox process is gone, and an init
 * that reaps orphans late (on these machines, about every 1.5 s) made
 * every delete wait for it.
 *
 * A reaper must not take the exit status of a child that its owner waits
 * for.  So every fork of the process goes through wr_children_fork, which
 * records the child as owned until its owner says it waited
 * (wr_children_waited), and the reaper (wr_children_reap_orphans) only
 * reaps exited children it does not find recorded, while no fork is under
 * way.  Process-wide by nature: a process has one set of children. */
#ifndef WARREN_CHILDREN_H
#define WARREN_CHILDREN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* fork(), with the child recorded as the caller's own (in the parent). */
pid_t wr_children_fork (void);
/* The owner of PID (from wr_children_fork) has reaped it. */
void wr_children_waited (pid_t pid);

/* Reaps every exited child that is not recorded as owned; returns how
 * many.  ALL_THREADS: the children of every thread (else only those of the
 * main thread, where the kernel puts adopted orphans). */
size_t wr_children_reap_orphans (bool all_threads);

/* Makes the process a child subreaper and starts a thread that reaps its
 * orphans: every second, and every 20 ms while some caller is inside
 * wr_children_expect_exits_begin/end (a sandbox being deleted). */
int wr_children_reaper_start (wr_error_t *err);
void wr_children_reaper_stop (void);
void wr_children_expect_exits_begin (void);
void wr_children_expect_exits_end (void);

#endif
