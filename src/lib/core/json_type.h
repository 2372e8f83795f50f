/* How errors name the type of a JSON value: one phrase for every reader
 * of JSON (untrusted documents in json_reader.c, config.json in oci/). */
#ifndef WARREN_JSON_TYPE_H
#define WARREN_JSON_TYPE_H

#include <json-c/json.h>

/* "an object", "a string", "an integer", "a fractional number", ... */
const char *wr_json_type_phrase (json_type type);

#endif
