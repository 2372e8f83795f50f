#include "cli_error.h"

#include <errno.h>
#include <stdio.h>

int
warren_fail (wr_error_t *err, const char *state_dir)
{
    fprintf (stderr, "warren: %s\n", *err != NULL ? (*err)->message : "failed");
    if (*err != NULL && ((*err)->errno_value == ENOSPC || (*err)->errno_value == EDQUOT))
        fprintf (stderr,
                 "warren: the file system of %s is full: free space there (`warren image "
                 "prune` removes what no image uses) and run the command again; nothing "
                 "half-made was kept, except a download, which goes on where it stopped\n",
                 state_dir != NULL ? state_dir : "the state directory");
    return 1;
}
