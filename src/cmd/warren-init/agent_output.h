/* One output stream of a process (its stdout or its stderr) as the agent
 * keeps it: bytes numbered from 0, the last AGENT_OUTPUT_MEMORY bytes in
 * memory and every byte in a spill file, so that a read from any offset is
 * served (from memory, or from the file) while memory stays bounded.
 * Neither exists before the first byte: a process that writes nothing
 * (most execs of a short command) costs no file and no buffer, and its
 * start no file creation in gVisor. */
#ifndef WARREN_INIT_AGENT_OUTPUT_H
#define WARREN_INIT_AGENT_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define AGENT_OUTPUT_MEMORY (4u << 20)

typedef struct {
    uint8_t *ring; /* the last bytes, at offset % cap */
    size_t cap;
    uint64_t total; /* bytes written: the next offset */
    int spill_fd; /* every byte, at its offset; -1 when there is none */
    char *spill_path; /* NULL: memory only */
    bool spill_tried; /* the file was created, or could not be */
} agent_output_t;

/* An empty output whose spill file will be SPILL_PATH (created 0600 with
 * the first byte, replacing one left over, its directory too; NULL: memory
 * only).  CAP: the bytes kept in memory (0: AGENT_OUTPUT_MEMORY). */
void agent_output_init (agent_output_t *out, const char *spill_path, size_t cap);
/* Removes the spill file and frees the memory. */
void agent_output_clear (agent_output_t *out);
/* Appends N bytes.  -1 when the spill file could not be created or
 * written: the bytes are kept in memory all the same. */
int agent_output_append (agent_output_t *out, const void *data, size_t n, wr_error_t *err);
/* Copies up to N bytes from OFFSET into BUF: how many (0 at the end), or
 * -1 when OFFSET is beyond the end or no longer kept (no spill file). */
ssize_t agent_output_read (const agent_output_t *out, uint64_t offset, void *buf, size_t n,
                           wr_error_t *err);

#endif
