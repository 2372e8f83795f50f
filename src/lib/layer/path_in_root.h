/* Paths resolved inside a root directory, for writing untrusted trees.
 *
 * Every lookup goes through openat2(2) with RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS: "..", absolute symlinks and symlink chains all
 * stay inside the root, as if the process were chrooted there.  The last
 * component of a path is never followed by the callers: they get the
 * directory that holds it and act on the name with *at() calls. */
#ifndef WARREN_PATH_IN_ROOT_H
#define WARREN_PATH_IN_ROOT_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* Normalises an archive member NAME: drops "." components and repeated or
 * trailing slashes.  Absolute names and ".." components are refused (no
 * real image layer has them; a hostile one uses them to escape).  Returns
 * a new string, "" for the root itself. */
char *wr_path_normalize (const char *name, wr_error_t *err);

/* openat2(ROOT_FD, PATH, FLAGS, MODE) resolved inside ROOT_FD ("" is the
 * root itself).  Returns a descriptor, or -1 with an error naming PATH
 * ("open `/etc/passwd` inside the root: ..."): kind not_found when PATH
 * does not resolve (ENOENT, or ENOTDIR for a non-directory on the way),
 * else the errno's kind. */
int wr_open_in_root (int root_fd, const char *path, int flags, mode_t mode, wr_error_t *err);

/* Opens (O_PATH) the directory that holds the normalised, non-empty PATH,
 * resolved inside ROOT_FD.  With CREATE, missing directories on the way are
 * made (mode 0755).  *BASE gets the last component of PATH (points into
 * PATH).  Returns a descriptor, or -1 with an error naming the directory
 * (kind not_found when it is missing or not a directory). */
int wr_open_parent_in_root (int root_fd, const char *path, bool create, const char **base,
                            wr_error_t *err);

/* Whether directory DIR (normalised) did not resolve inside ROOT_FD because
 * a symlink on its way points at what the root does not hold (outside it,
 * seen from the root). */
bool wr_dir_missing_through_symlink (int root_fd, const char *dir);

#endif
