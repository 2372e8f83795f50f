/* The phrase that names a JSON value's type in messages (see
 * json_type.h).  Apart from json_reader.c, which needs digest.c and so
 * libcrypto: the OCI spec code of warren-runtime uses it too. */
#include "json_type.h"

const char *
wr_json_type_phrase (json_type type)
{
    switch (type) {
    case json_type_null:
        return "null";
    case json_type_boolean:
        return "a boolean";
    case json_type_double:
        return "a fractional number";
    case json_type_int:
        return "an integer";
    case json_type_object:
        return "an object";
    case json_type_array:
        return "an array";
    case json_type_string:
        return "a string";
    }
    return "something else";
}
