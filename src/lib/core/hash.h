/* Quick, stable hashes of names: for file names and table slots, never
 * for content (anyone can make collisions; content digests are in
 * digest.h).  No library behind it, so warren-runtime can use it without
 * loading libcrypto. */
#ifndef WARREN_HASH_H
#define WARREN_HASH_H

#include <stdint.h>

/* 64-bit FNV-1a of TEXT, with the offset basis warren has always used
 * (1469598103934665603, one digit short of the published
 * 14695981039346656037): kept, since the names of runtime records and
 * probe caches on disk are made from it. */
uint64_t wr_fnv1a_64 (const char *text);

#endif
