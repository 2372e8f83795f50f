/* dockerd's configuration file, daemon.json, read with json-c.  The image
 * is the user's, so the file is untrusted input.  warren-init reads a few
 * of its top-level members (which of dockerd's options it sets, its
 * sockets, its data root) and checks their types; dockerd reads the rest. */
#ifndef WARREN_INIT_DAEMON_JSON_H
#define WARREN_INIT_DAEMON_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* A daemon.json is a few kilobytes; a larger file is not one. */
#define DAEMON_JSON_MAX_SIZE (1024 * 1024)

static inline void
daemon_json_put_fn (json_object **o)
{
    if (*o != NULL)
        json_object_put (*o);
}
#define cleanup_json __attribute__ ((cleanup (daemon_json_put_fn)))

/* Reads the daemon.json at PATH into *TEXT (NUL-terminated): 0 with *TEXT
 * NULL when there is no such file, -1 when it cannot be read, is larger
 * than DAEMON_JSON_MAX_SIZE or holds a NUL byte.  The error names PATH. */
int daemon_json_load (const char *path, char **text, wr_error_t *err);

/* Parses the LEN bytes of TEXT as a daemon.json: one JSON object in
 * json-c's strict mode (no comments, trailing commas or bare words), valid
 * UTF-8, nothing after it but white space, no member name in single
 * quotes (json-c takes them, dockerd does not) and no top-level member
 * given twice (json-c keeps the last one silently).  What json-c's strict
 * mode still lets through (NaN, a tab inside a string) is left to dockerd,
 * which refuses it with its own message.  A text of nothing but white
 * space is an empty object, as it is to dockerd.  Returns a new reference,
 * or NULL with an error that says what is wrong and where ("not JSON:
 * unexpected character at line 3, column 7 (byte 41)", "`hosts` is given
 * twice, at ... and at ..."); the caller names the file. */
json_object *daemon_json_parse (const char *text, size_t len, wr_error_t *err);

typedef enum {
    DAEMON_JSON_STRING,
    DAEMON_JSON_BOOLEAN,
    DAEMON_JSON_STRING_ARRAY,
} daemon_json_kind_t;

/* Checks that member KEY of CONFIG, when present and not null (dockerd
 * takes null for "not set"), is of KIND; strings must not hold a NUL
 * character.  The error names the member ("`hosts` must be an array of
 * strings, not a string", "`hosts[1]` must be a string, not an
 * integer"). */
int daemon_json_check (json_object *config, const char *key, daemon_json_kind_t kind,
                       wr_error_t *err);

/* Whether CONFIG has member KEY, even null: dockerd then refuses the
 * option's flag too. */
bool daemon_json_has (json_object *config, const char *key);

/* Member KEY of CONFIG as a string, or NULL when it is absent, null or not
 * a string.  The text belongs to CONFIG. */
const char *daemon_json_string (json_object *config, const char *key);

#endif
