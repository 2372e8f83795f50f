/* The images the store holds, as users name and see them: finding an image
 * by what a user typed (a reference, its short form, an id, a digest or an
 * unambiguous id prefix), listing them, and the JSON objects of an image
 * that the warren command, the HTTP API and the SDK share (their shape is
 * documented in docs/images-json.md).
 *
 * An image's id is its manifest digest ("sha256:<64 hex>", the manifest
 * after platform selection): what `warren image ls` shows the start of, and
 * what a registry names the image by.  One image may have several names
 * in the store (each a record); they share the id. */
#ifndef WARREN_CATALOG_H
#define WARREN_CATALOG_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

/* The fewest hex digits looked up as an id prefix: shorter text is only a
 * name, so "warren image rm abc" cannot remove an image by accident. */
#define WR_CATALOG_MIN_PREFIX 4

/* Finds the image NAME names and fills RECORD; 0 when found.  NAME is
 * tried, in order, as:
 *   - a reference, normalised ("busybox" is docker.io/library/busybox:latest),
 *     then as typed (a name in the store that does not parse);
 *   - an id or id prefix: "sha256:" and/or 4 to 64 lowercase hex digits of
 *     the manifest digest;
 *   - a digest reference ("busybox@sha256:<64 hex>"): the image of that
 *     repository whose id is that digest, whatever its tag.
 * When several names share the image, RECORD is the first by name.
 * Errors: kind not_found, "no image `NAME` in STORE", when nothing
 * matches; kind invalid when NAME is an id prefix of more than one image
 * (the message lists them) or is neither a reference nor an id (the
 * message says why it does not parse). */
int wr_catalog_find (wr_store_t *store, const char *name, wr_image_record_t *record,
                     wr_error_t *err);

/* Every name the store keeps for the image whose id is MANIFEST_DIGEST,
 * sorted (NULL-terminated; an empty vector when there is none). */
int wr_catalog_references (wr_store_t *store, const char *manifest_digest, char ***names,
                           wr_error_t *err);

/* Removes the name NAME finds (wr_catalog_find); *REMOVED (when not NULL)
 * gets the name removed.  An image found by id or digest must have one
 * name: with several, nothing is removed and the error (kind invalid)
 * lists them.  Blobs and roots stay until the next prune. */
int wr_catalog_remove (wr_store_t *store, const char *name, char **removed, wr_error_t *err);

/* The short form Docker shows for a stored name ("busybox:latest" for
 * docker.io/library/busybox:latest); a name that does not parse is kept as
 * it is.  Caller frees. */
char *wr_catalog_familiar_name (const char *name);

/* "2026-11-29T10:40:02Z" for UNIX_TIME (UTC, RFC 3339).  Caller frees. */
char *wr_catalog_format_time (int64_t unix_time);

/* One image name of the store, as `warren image ls` lists it. */
typedef struct {
    wr_image_record_t record;
    char *familiar_name; /* wr_catalog_familiar_name (record.name) */
} wr_catalog_entry_t;

/* Every name in the store, sorted by name. */
int wr_catalog_list (wr_store_t *store, wr_catalog_entry_t **entries, size_t *count,
                     wr_error_t *err);
void wr_catalog_entries_free (wr_catalog_entry_t *entries, size_t count);

/* The list entry of RECORD: the inspect object's fields that come from the
 * store's record (Name, ManifestDigest, ConfigDigest, Size, Created,
 * RootId, RootPath, Id, FamiliarName), without reading a blob.  A new
 * reference. */
json_object *wr_catalog_entry_json (wr_store_t *store, const wr_image_record_t *record);

/* The inspect object of RECORD: the list entry's fields, the image's
 * config (the parts a sandbox uses), its layers, its other names and its
 * platform.  Reads the manifest and the config from the store; *JSON gets
 * a new reference. */
int wr_catalog_inspect_json (wr_store_t *store, const wr_image_record_t *record, json_object **json,
                             wr_error_t *err);

#endif
