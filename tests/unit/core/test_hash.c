/* Unit tests of hash.c: the values names on disk were made with (see
 * hash.h for the offset basis). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hash.h"

static void
test_fnv1a_64_known_values (void **state)
{
    assert_true (wr_fnv1a_64 ("") == 1469598103934665603ULL);
    assert_true (wr_fnv1a_64 ("a") == 0x44bd8ad473cd9906ULL);
    assert_true (wr_fnv1a_64 ("foobar") == 0x88fad7c0a8ff07f2ULL);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_fnv1a_64_known_values),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
