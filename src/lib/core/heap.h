/* The bytes a process's allocator has handed out and not been given back:
 * what a memory leak grows, without the arenas, free lists, quarantine
 * and thread caches that make resident memory move by megabytes whatever
 * the program does.  warrend exports it on /metrics (warren_heap_bytes),
 * and its load test holds it flat. */
#ifndef WARREN_HEAP_H
#define WARREN_HEAP_H

#include <stdint.h>

/* Under AddressSanitizer or ThreadSanitizer, the sanitizer allocator's own
 * count of live allocations; otherwise glibc's (mallinfo2: bytes in use in
 * the arenas and in blocks mmap'ed for large allocations). */
uint64_t wr_heap_in_use (void);

#endif
