/* A build step's sandbox: runsc run on the step's bundle with the build's
 * network, its deadline and its cancellation (image_build_private.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "image_build_private.h"
#include "path_in_root.h"
#include "subprocess.h"
#include "xalloc.h"

#define RESOLV_CONF "etc/resolv.conf"

int
wr_build_sandbox_network (wr_spec_t *spec, const wr_build_network_t *network, wr_error_t *err)
{
    if (network->resolv_conf != NULL) {
        static const char *const options[] = { "bind", "ro", NULL };
        const wr_mount_t m = { .destination = "/" RESOLV_CONF,
                               .type = "bind",
                               .source = network->resolv_conf,
                               .options = options };
        if (wr_spec_add_mount (spec, &m, err) < 0)
            return -1;
    }
    if (network->prepare != NULL && network->prepare (network->data, spec, err) < 0)
        return wr_error_prefix (err, "the step's network");
    return 0;
}

void
wr_build_sandbox_drop_mountpoints (const wr_build_network_t *network, int lower_fd, int upper_fd)
{
    if (network == NULL || network->resolv_conf == NULL)
        return;
    /* The image had none: an empty file in the upper directory is the
     * mount point runsc made for the bind, not something the step wrote
     * (it could not write a file mounted read-only over it). */
    cleanup_close int in_lower = wr_open_in_root (lower_fd, RESOLV_CONF, O_PATH, 0, NULL);
    if (in_lower >= 0)
        return;
    struct stat st;
    if (fstatat (upper_fd, RESOLV_CONF, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode) &&
        st.st_size == 0)
        unlinkat (upper_fd, RESOLV_CONF, 0);
}

/* Removes what is left of a sandbox whose runsc was killed. */
static void
delete_sandbox (const wr_build_sandbox_t *s)
{
    char *del[] = { (char *) s->runsc, "--root", (char *) s->state, "delete", "-force",
                    (char *) s->id,    NULL };
    int status;
    wr_subprocess_output (del, 60000, NULL, &status, NULL);
}

int
wr_build_sandbox_run (const wr_build_sandbox_t *s, int *status, wr_error_t *err)
{
    const char *network = s->network != NULL ? "--network=sandbox"
                          : s->no_network    ? "--network=none"
                                             : "--network=host";
    char *argv[] = { (char *) s->runsc, "--root", (char *) s->state, (char *) network,
                     "--overlay2=none", "run",    "--bundle",        (char *) s->dir,
                     (char *) s->id,    NULL };
    const wr_subprocess_options_t o = {
        .timeout_ms = s->timeout * 1000,
        .cancel = s->cancel,
        .output_fd = s->output_fd,
        .child_setup = s->network != NULL ? s->network->child_setup : NULL,
        .child_data = s->network != NULL ? s->network->data : NULL,
        .child_setup_what = s->network != NULL ? s->network->child_setup_what : NULL,
    };
    cleanup_error wr_error_t run_err = NULL;
    if (wr_subprocess_output_ex (argv, &o, NULL, status, &run_err) == 0)
        return 0;
    /* Past its deadline or cancelled, runsc was killed: the sandbox is
     * deleted too, so that nothing of it is left. */
    bool stopped = wr_cancel_stopped (s->cancel);
    bool timed_out = !stopped && run_err->errno_value == ETIMEDOUT;
    if (stopped || timed_out)
        delete_sandbox (s);
    if (stopped) {
        cleanup_free char *what = xasprintf ("sandbox `%s`", s->id);
        return wr_cancel_check (s->cancel, what, err);
    }
    if (timed_out)
        return wr_error_set (err, ETIMEDOUT, "sandbox `%s` ran longer than %d s", s->id,
                             s->timeout);
    wr_error_propagate (err, &run_err);
    return wr_error_prefix (err, "sandbox `%s`", s->id);
}
