/* Process users resolved in an image's root (bundle_user.c). */
#ifndef WARREN_BUNDLE_USER_H
#define WARREN_BUNDLE_USER_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* A process user resolved in an image's root. */
typedef struct {
    uid_t uid;
    gid_t gid;
    gid_t *additional_gids; /* groups of /etc/group that list the user */
    size_t n_additional_gids;
    char *home; /* from /etc/passwd; NULL when the user has no entry */
} wr_bundle_user_t;

/* Resolves USER ("", "name", "uid", "name:group", "uid:gid", ...) as
 * Docker does, reading ROOT_FD's /etc/passwd and /etc/group resolved
 * inside ROOT_FD (openat2 RESOLVE_IN_ROOT: a symlink there never reads a
 * file of the host).  A name not found is an error; a numeric uid not
 * found is used as it is, with gid 0. */
int wr_bundle_resolve_user (int root_fd, const char *user, wr_bundle_user_t *out, wr_error_t *err);
void wr_bundle_user_clear (wr_bundle_user_t *user);

#endif
