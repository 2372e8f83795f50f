/* libFuzzer target: config.json parsing and the profile edits on top of it.
 * A bundle's config.json is written by whoever calls the runtime, so every
 * byte of it is untrusted. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"
#include "profile.h"
#include "spec.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    cleanup_error wr_error_t err = NULL;
    cleanup_spec wr_spec_t *spec = wr_spec_parse ((const char *) data, size, "fuzz.json", &err);
    if (spec == NULL)
        return 0;
    wr_profile_options_t options = { .init_host_path = "/usr/libexec/warren/warren-init",
                                     .network_mode = "sandbox" };
    wr_error_free (&err);
    if (wr_profile_apply (&wr_profile_docker, spec, &options, &err) == 0) {
        cleanup_free char *text = wr_spec_to_string (spec);
        /* What a profile writes must parse again. */
        cleanup_error wr_error_t err2 = NULL;
        cleanup_spec wr_spec_t *again = wr_spec_parse (text, strlen (text), "again", &err2);
        if (again == NULL)
            abort ();
    }
    return 0;
}
