/* Files and directories: the few helpers every part of warren needs, each
 * written once.  Errors name the path (or the NAME the caller gives for a
 * descriptor) and carry the errno. */
#ifndef WARREN_FS_H
#define WARREN_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* mkdir -p -m MODE: creates PATH with MODE and its missing parents with
 * 0755 (both under the umask).  A PATH that exists as a directory is not
 * an error; one that exists as something else fails with ENOTDIR.  A
 * directory that mkdir refuses for another reason but that is there (gVisor
 * says EROFS for one on a read-only filesystem) counts as made. */
int wr_mkdir_p (const char *path, mode_t mode, wr_error_t *err);

/* Writes all of DATA to FD, again after EINTR and short writes.  NAME is
 * the file in the error ("write `NAME`: No space left on device"). */
int wr_write_all (int fd, const void *data, size_t len, const char *name, wr_error_t *err);

/* Whether PATH (followed) is a directory; false for NULL, a missing path
 * or one that cannot be looked at. */
bool wr_is_directory (const char *path);

/* Reads FD to its end: at most MAX bytes (more fails with kind limit) into
 * a new buffer with a NUL after them; *LEN (when not NULL) gets the length.
 * NAME is the file in errors. */
char *wr_read_fd (int fd, const char *name, size_t max, size_t *len, wr_error_t *err);
/* The same for the file PATH (kind not_found when it is missing). */
char *wr_read_file (const char *path, size_t max, size_t *len, wr_error_t *err);

#endif
