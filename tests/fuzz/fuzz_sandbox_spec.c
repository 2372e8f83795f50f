/* libFuzzer target: the body of a sandbox create (sandbox_spec.c).
 * Nothing may crash or leak; a refused body has an INVALID or LIMIT error
 * whose message is printable ASCII (hostile text is quoted); an accepted
 * one is within its bounds and its JSON parses back to a spec that writes
 * the same JSON. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"
#include "quote.h"
#include "sandbox_spec.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check (bool ok)
{
    if (!ok)
        abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    wr_sandbox_spec_limits_t limits = { .max_bytes = 64 * 1024 };
    wr_sandbox_spec_t spec;
    cleanup_error wr_error_t err = NULL;
    if (wr_sandbox_spec_parse ((const char *) data, size, &limits, &spec, &err) < 0) {
        check (err != NULL);
        check (wr_error_kind (err) == WR_ERROR_INVALID || wr_error_kind (err) == WR_ERROR_LIMIT);
        check (wr_is_printable_ascii (err->message));
        check (spec.image.ref == NULL && spec.env == NULL && spec.labels == NULL);
        return 0;
    }
    check (spec.image.ref != NULL);
    check (spec.cpu >= 0.01 && spec.cpu <= 64);
    check (spec.memory >= (INT64_C (64) << 20));
    check (spec.keep_warm_seconds == -1 || spec.keep_warm_seconds >= 1);
    check (spec.name == NULL || wr_sandbox_name_valid (spec.name, NULL));
    check (spec.workdir == NULL || spec.workdir[0] == '/');
    check (spec.n_labels <= 64);
    cleanup_free char *json = wr_sandbox_spec_to_json (&spec);
    wr_sandbox_spec_t again;
    cleanup_error wr_error_t err2 = NULL;
    check (wr_sandbox_spec_parse (json, strlen (json), NULL, &again, &err2) == 0);
    cleanup_free char *json2 = wr_sandbox_spec_to_json (&again);
    check (strcmp (json, json2) == 0);
    wr_sandbox_spec_clear (&again);
    wr_sandbox_spec_clear (&spec);
    return 0;
}
