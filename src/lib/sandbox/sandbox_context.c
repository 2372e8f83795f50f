/* Build contexts of creates with a Dockerfile, kept in ROOT/contexts
 * (build_context.h). */
#include "sandbox_manager.h"

#include "build_context.h"
#include "cleanup.h"
#include "sandbox_manager_private.h"
#include "xalloc.h"

char *
wr_sandbox_contexts_dir (const wr_sandbox_manager_t *mgr)
{
    return xasprintf ("%s/contexts", mgr->root);
}

int
wr_sandbox_manager_add_context (wr_sandbox_manager_t *mgr, wr_build_context_read_fn read_fn,
                                void *data, wr_build_context_info_t *info, wr_error_t *err)
{
    cleanup_free char *dir = wr_sandbox_contexts_dir (mgr);
    return wr_build_context_add (dir, read_fn, data, NULL, info, mgr->log, err);
}
