/* Reading untrusted JSON documents (manifests, indexes, image configs):
 * strict parsing under a size limit, typed access to fields, and errors
 * that name the document and the JSON path of the field:
 *
 *   "manifest of busybox:latest: layers[2].size: must be an integer, not a string"
 *
 * NAME is the document in errors; PATH is the field's JSON path ("" for the
 * top level); both are trusted text chosen by the caller. */
#ifndef WARREN_JSON_READER_H
#define WARREN_JSON_READER_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "json_type.h"

static inline void
wr_json_put_fn (json_object **o)
{
    if (*o != NULL)
        json_object_put (*o);
}
#define cleanup_json_reader __attribute__ ((cleanup (wr_json_put_fn)))

/* Parses LEN bytes of DATA as exactly one JSON object: json-c's strict
 * mode (no comments, trailing commas or bare words, though it still takes
 * 'single-quoted' member names and NaN), valid UTF-8, no NUL byte, at most
 * MAX bytes, nothing after it but white space.  WHAT says what the
 * document is in the size error ("a manifest").  Returns a new reference
 * or NULL. */
json_object *wr_json_parse_object (const char *data, size_t len, size_t max, const char *what,
                                   const char *name, wr_error_t *err);

/* Fails with "NAME: PATH: ..." (or "NAME: ..." when PATH is empty). */
int wr_json_error (wr_error_t *err, const char *name, const char *path, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

/* "PARENT.KEY" (or "KEY" at the top) and "PARENT[INDEX]".  Caller frees. */
char *wr_json_path_key (const char *parent, const char *key);
char *wr_json_path_index (const char *parent, size_t index);

/* Member KEY of OBJ: 1 with *VALUE when present, 0 when absent or null
 * (*VALUE NULL), -1 when REQUIRED and absent ("missing") or null. */
int wr_json_member (json_object *obj, const char *key, bool required, const char *name,
                    const char *path, json_object **value, wr_error_t *err);

/* VALUE (at PATH) as a type: -1 with an error naming the type found. */
int wr_json_expect (json_object *value, json_type type, const char *name, const char *path,
                    wr_error_t *err);
/* A string without NUL characters; *OUT points into VALUE. */
int wr_json_string (json_object *value, const char *name, const char *path, const char **out,
                    wr_error_t *err);
/* An integer that fits an int64_t (no fraction, no exponent overflow). */
int wr_json_int64 (json_object *value, const char *name, const char *path, int64_t *out,
                   wr_error_t *err);
/* An array of strings as a NULL-terminated vector of copies (caller frees
 * with wr_strv_free). */
int wr_json_string_array (json_object *value, const char *name, const char *path, char ***out,
                          wr_error_t *err);

/* DIGEST (the value at PATH) checked with wr_digest_validate, whose
 * message quotes it as it is: so a digest that is not printable ASCII is
 * refused here first, quoted with escapes. */
int wr_json_check_digest (const char *digest, const char *name, const char *path, wr_error_t *err);

/* Member KEY of OBJ as a string: 1 and a copy in *OUT when present, 0 when
 * absent or null (unless REQUIRED), -1 on error. */
int wr_json_member_string (json_object *obj, const char *key, bool required, const char *name,
                           const char *path, char **out, wr_error_t *err);

#endif
