/* wr_heap_in_use: see heap.h. */
#include "heap.h"

#include <malloc.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WR_SANITIZER_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WR_SANITIZER_ALLOCATOR 1
#endif
#endif

#ifdef WR_SANITIZER_ALLOCATOR
#include <stddef.h>
/* Declared by clang's <sanitizer/allocator_interface.h>, which GCC does not
 * ship; libasan and libtsan both export it. */
size_t __sanitizer_get_current_allocated_bytes (void);
#endif

uint64_t
wr_heap_in_use (void)
{
#ifdef WR_SANITIZER_ALLOCATOR
    /* The sanitizers replace malloc: glibc's arenas are not used. */
    return (uint64_t) __sanitizer_get_current_allocated_bytes ();
#else
    struct mallinfo2 mi = mallinfo2 ();
    return (uint64_t) mi.uordblks + (uint64_t) mi.hblkhd;
#endif
}
