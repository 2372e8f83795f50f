/* libFuzzer target: `runsc state` output, which warrend parses to tell a
 * running sandbox from a dead one (src/lib/sandbox/sandbox_runsc.c).  A
 * parse either fails with a message naming the document or gives a known
 * state and a pid that is 0 or positive. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "sandbox_runsc.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    wr_runsc_state_t state = WR_RUNSC_STATE_GONE;
    pid_t pid = -5;
    wr_error_t err = NULL;
    int r = wr_runsc_state_parse ((const char *) data, size, size % 2 ? "s1" : NULL, &state, &pid,
                                  &err);
    if (r == 0) {
        if (err != NULL || state == WR_RUNSC_STATE_GONE || pid < 0 ||
            strcmp (wr_runsc_state_name (state), "unknown") == 0)
            abort ();
    } else if (err == NULL || strstr (err->message, "runsc state") == NULL) {
        abort ();
    }
    wr_error_free (&err);
    return 0;
}
