/* Unit tests of heap.c: the bytes in use follow what is allocated and
 * freed, small blocks (in an arena) and large ones (mmap'ed) alike. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "heap.h"

#define SMALL 512
#define N_SMALL 4096 /* 2 MiB in small blocks */
#define LARGE (8u << 20)

/* Where the blocks are kept, so that the compiler cannot drop a malloc
 * and free pair whose block nothing else sees. */
static void *volatile kept;

static void
test_small_blocks (void **state)
{
    (void) state;
    static void *blocks[N_SMALL];
    uint64_t before = wr_heap_in_use ();
    for (size_t i = 0; i < N_SMALL; i++) {
        blocks[i] = malloc (SMALL);
        assert_non_null (blocks[i]);
        memset (blocks[i], 1, SMALL);
    }
    uint64_t during = wr_heap_in_use ();
    assert_true (during >= before + (uint64_t) SMALL * N_SMALL);
    for (size_t i = 0; i < N_SMALL; i++)
        free (blocks[i]);
    uint64_t after = wr_heap_in_use ();
    assert_true (after < during);
    assert_true (after <= before + (uint64_t) SMALL * N_SMALL / 4);
}

static void
test_large_block (void **state)
{
    (void) state;
    uint64_t before = wr_heap_in_use ();
    char *p = malloc (LARGE);
    assert_non_null (p);
    memset (p, 1, LARGE);
    kept = p;
    uint64_t during = wr_heap_in_use ();
    assert_true (during >= before + LARGE);
    free (kept);
    assert_true (wr_heap_in_use () + LARGE <= during + LARGE / 8);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_small_blocks),
        cmocka_unit_test (test_large_block),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
