/* What the mirror has seen upstream vouch for: (repository, digest) pairs
 * from the manifests upstream gave it (the manifest itself, an index's
 * manifests, an image's config and layers), with each one's size and,
 * for manifests, media type.  Bounded: past its size the oldest pairs are
 * forgotten.  Thread-safe. */
#ifndef WARREN_MIRROR_KNOWN_H
#define WARREN_MIRROR_KNOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wr_mirror_known_s wr_mirror_known_t;

/* A table of at most MAX pairs (at least 1). */
wr_mirror_known_t *wr_mirror_known_new (size_t max);
void wr_mirror_known_free (wr_mirror_known_t *known);

/* Records DIGEST as part of REPOSITORY, of SIZE bytes; MEDIA_TYPE (may be
 * NULL) is kept for a manifest.  A pair recorded again is updated (and
 * counts as new for forgetting). */
void wr_mirror_known_put (wr_mirror_known_t *known, const char *repository, const char *digest,
                          int64_t size, const char *media_type);

/* True when the pair is known: *SIZE gets its size and *MEDIA_TYPE (may
 * be NULL) a copy of its media type (NULL when none was recorded). */
bool wr_mirror_known_get (wr_mirror_known_t *known, const char *repository, const char *digest,
                          int64_t *size, char **media_type);

/* How many pairs are known. */
size_t wr_mirror_known_count (wr_mirror_known_t *known);

#endif
