/* libFuzzer target: image references, typed by users and found in build
 * files.  A parsed reference must print and parse back to itself in both
 * its full and its short form, and an error must quote hostile text only
 * with escapes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "digest.h"
#include "error.h"
#include "image_ref.h"
#include "quote.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check (bool ok)
{
    if (!ok)
        abort ();
}

static bool
same (const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp (a, b) == 0);
}

static void
check_parses_to (const char *text, const wr_image_ref_t *ref)
{
    wr_image_ref_t again;
    cleanup_error wr_error_t err = NULL;
    check (wr_image_ref_parse (text, &again, &err) == 0);
    check (same (again.registry, ref->registry));
    check (same (again.repository, ref->repository));
    check (same (again.tag, ref->tag));
    check (same (again.digest, ref->digest));
    wr_image_ref_clear (&again);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    cleanup_free char *text = xstrndup ((const char *) data, size);
    wr_image_ref_t ref;
    cleanup_error wr_error_t err = NULL;
    if (wr_image_ref_parse (text, &ref, &err) < 0) {
        check (err != NULL && err->message[0] != '\0');
        check (wr_is_printable_ascii (err->message));
        check (ref.registry == NULL && ref.repository == NULL && ref.tag == NULL &&
               ref.digest == NULL);
        return 0;
    }
    check (err == NULL);
    check (ref.registry != NULL && ref.registry[0] != '\0');
    check (ref.repository != NULL && ref.repository[0] != '\0');
    check (ref.tag != NULL || ref.digest != NULL);
    check (ref.digest == NULL || wr_digest_validate (ref.digest, NULL) == 0);
    check (strlen (ref.registry) + 1 + strlen (ref.repository) <= 255);
    check (ref.tag == NULL || strlen (ref.tag) <= 128);
    for (const char *p = ref.repository; *p != '\0'; p++)
        check (!(*p >= 'A' && *p <= 'Z'));
    const char *reference = wr_image_ref_reference (&ref);
    check (reference == ref.digest || reference == ref.tag);

    cleanup_free char *full = wr_image_ref_string (&ref);
    check_parses_to (full, &ref);
    cleanup_free char *familiar = wr_image_ref_familiar (&ref);
    check_parses_to (familiar, &ref);
    wr_image_ref_clear (&ref);
    return 0;
}
