/* A sandbox as the API answers it: the "Sandbox" object of docs/api.md,
 * from its record in the state database. */
#ifndef WARREN_SANDBOX_JSON_H
#define WARREN_SANDBOX_JSON_H

#include <json-c/json.h>

#include "sandbox_db.h"

/* The Sandbox of RECORD.  DOCKER_SOCKET is the host path of its Docker
 * socket (NULL for a sandbox without Docker, or one not running). */
json_object *wr_sandbox_record_json (const wr_sandbox_record_t *record, const char *docker_socket);

#endif
