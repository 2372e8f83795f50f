/* The table of (repository, digest) pairs upstream vouched for: found
 * under their own repository only, updated, and the oldest forgotten past
 * the table's size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "mirror_known.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static void
test_put_get (void **state)
{
    wr_mirror_known_t *k = wr_mirror_known_new (16);
    int64_t size = -1;
    char *type = NULL;
    assert_false (wr_mirror_known_get (k, "library/a", D1, &size, &type));
    wr_mirror_known_put (k, "library/a", D1, 10, "application/x-manifest");
    wr_mirror_known_put (k, "library/a", D2, 20, NULL);
    assert_true (wr_mirror_known_get (k, "library/a", D1, &size, &type));
    assert_int_equal (size, 10);
    assert_string_equal (type, "application/x-manifest");
    free (type);
    assert_true (wr_mirror_known_get (k, "library/a", D2, &size, &type));
    assert_int_equal (size, 20);
    assert_null (type);
    /* Another repository does not see them. */
    assert_false (wr_mirror_known_get (k, "library/b", D1, &size, NULL));
    /* Recorded again: updated, not doubled; a NULL media type keeps the one known. */
    wr_mirror_known_put (k, "library/a", D1, 11, NULL);
    assert_true (wr_mirror_known_get (k, "library/a", D1, &size, &type));
    assert_int_equal (size, 11);
    assert_string_equal (type, "application/x-manifest");
    free (type);
    assert_int_equal (wr_mirror_known_count (k), 2);
    wr_mirror_known_free (k);
}

static void
test_oldest_forgotten (void **state)
{
    wr_mirror_known_t *k = wr_mirror_known_new (100);
    char repo[32];
    for (int i = 0; i < 250; i++) {
        snprintf (repo, sizeof repo, "r%d", i);
        wr_mirror_known_put (k, repo, D1, i, NULL);
        /* r0 is touched again and again: it stays. */
        if (i % 50 == 49)
            wr_mirror_known_put (k, "r0", D1, 0, NULL);
    }
    /* At most 100 (a pair recorded again leaves its old slot empty until
     * the ring comes round to it). */
    assert_true (wr_mirror_known_count (k) <= 100 && wr_mirror_known_count (k) >= 98);
    int64_t size;
    assert_false (wr_mirror_known_get (k, "r1", D1, &size, NULL));
    assert_false (wr_mirror_known_get (k, "r150", D1, &size, NULL));
    assert_true (wr_mirror_known_get (k, "r249", D1, &size, NULL));
    assert_int_equal (size, 249);
    assert_true (wr_mirror_known_get (k, "r160", D1, &size, NULL));
    assert_true (wr_mirror_known_get (k, "r0", D1, &size, NULL));
    wr_mirror_known_free (k);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_put_get),
        cmocka_unit_test (test_oldest_forgotten),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
