/* Build contexts of creates with a Dockerfile, kept in ROOT/contexts
 * (build_context.h). */
#include "sandbox_manager.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "build_context.h"
#include "cleanup.h"
#include "fs.h"
#include "sandbox_manager_private.h"
#include "xalloc.h"

#define PIECE ((size_t) 1 << 20)

char *
wr_sandbox_contexts_dir (const wr_sandbox_manager_t *mgr)
{
    return xasprintf ("%s/contexts", mgr->root);
}

int
wr_sandbox_manager_add_context (wr_sandbox_manager_t *mgr, wr_sandbox_read_fn read_fn, void *data,
                                wr_build_context_info_t *info, wr_error_t *err)
{
    cleanup_free char *dir = wr_sandbox_contexts_dir (mgr);
    if (wr_mkdir_p (dir, 0700, err) < 0)
        return -1;
    /* The archive, unnamed until it is unpacked: nothing to clean up. */
    cleanup_close int fd = open (dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return wr_error_set (err, errno, "a build context: a file in `%s`", dir);
    cleanup_free char *buf = xmalloc (PIECE);
    for (;;) {
        ssize_t n = read_fn (data, buf, PIECE, err);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        if (wr_write_all (fd, buf, (size_t) n, "a build context's archive", err) < 0)
            return -1;
    }
    return wr_build_context_add (dir, fd, NULL, info, mgr->log, err);
}
