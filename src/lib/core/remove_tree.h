/* Removing a directory tree of any depth with one directory open at a
 * time, never following a symlink (libc only: warren-init compiles it). */
#ifndef WARREN_REMOVE_TREE_H
#define WARREN_REMOVE_TREE_H

#include <stdbool.h>

#include "error.h"

/* Removes NAME in DIR_FD and, if it is a directory, everything under it.
 * A missing NAME is not an error.  It goes down by name and back up
 * through "..", checked to be the directory it came from: when something
 * moves the tree meanwhile it stops (EBUSY) rather than empty another
 * directory.  Errors carry the errno of the step that failed and name it. */
int wr_remove_tree_at (int dir_fd, const char *name, wr_error_t *err);

/* The same, asking STOP (DATA) now and then whether to give up: then it
 * fails with kind cancelled and ECANCELED, what is removed staying removed. */
int wr_remove_tree_at_ex (int dir_fd, const char *name, bool (*stop) (void *data), void *data,
                          wr_error_t *err);

#endif
