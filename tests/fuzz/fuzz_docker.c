/* libFuzzer target: what a sandbox's dockerd (or something pretending to
 * be it) answers warrend's Engine API client.  The first byte picks the
 * reader: JSON lines of progress (each read as a message, rendered as the
 * CLI's text and looked at as a build step), the multiplexed output
 * stream, an error answer, or a JSON answer; the second byte says where
 * the bytes are cut.  Nothing may crash or leak; an error's message holds
 * printable ASCII only and is bounded; the demuxer hands on exactly the
 * payload bytes the headers announce. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "docker_engine.h"
#include "docker_lines.h"
#include "docker_message.h"
#include "docker_mux.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check (bool ok)
{
    if (!ok)
        abort ();
}

static int
on_line (void *data, json_object *obj, wr_error_t *err)
{
    check (json_object_is_type (obj, json_type_object));
    wr_docker_message_t m;
    if (wr_docker_message_read (obj, &m, err) < 0)
        return 0; /* a wrong type is refused; the stream goes on here */
    char *text = wr_docker_message_text (&m);
    if (text != NULL)
        check (text[0] != '\0');
    free (text);
    int64_t step, steps;
    char *instruction = NULL;
    if (wr_docker_message_step (&m, &step, &steps, &instruction)) {
        check (step >= 0 && steps >= 0 && instruction != NULL);
        check (strchr (instruction, '\n') == NULL);
    }
    free (instruction);
    (*(size_t *) data)++;
    return 0;
}

static int
on_frame (void *data, wr_docker_stream_t stream, const char *buf, size_t len, wr_error_t *err)
{
    check (len > 0 && stream <= WR_DOCKER_SYSTEMERR);
    *(size_t *) data += len;
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int mode = data[0] % 4;
    size_t step = (size_t) data[1] + 1;
    const char *text = (const char *) data + 2;
    size_t len = size - 2;
    cleanup_error wr_error_t err = NULL;
    switch (mode) {
    case 0: {
        size_t lines = 0;
        wr_docker_lines_t l;
        wr_docker_lines_init (&l, "fuzz", 4096, on_line, &lines);
        int ret = 0;
        for (size_t at = 0; at < len && ret == 0; at += step)
            ret = wr_docker_lines_feed (&l, text + at, len - at < step ? len - at : step, &err);
        if (ret == 0)
            ret = wr_docker_lines_end (&l, &err);
        check (ret == 0 || err != NULL);
        check (l.len <= l.max_line);
        wr_docker_lines_clear (&l);
        break;
    }
    case 1: {
        size_t payload = 0;
        wr_docker_mux_t m;
        wr_docker_mux_init (&m, on_frame, &payload);
        int ret = 0;
        for (size_t at = 0; at < len && ret == 0; at += step)
            ret = wr_docker_mux_feed (&m, text + at, len - at < step ? len - at : step, &err);
        if (ret == 0)
            ret = wr_docker_mux_end (&m, &err);
        /* Every payload byte came from the input, never a header's. */
        check (payload + 8 * m.frames <= len);
        check (ret == 0 || err != NULL);
        break;
    }
    case 2: {
        check (wr_docker_answer_error (400 + (long) data[1], text, len, "fuzz", &err) == -1);
        check (err != NULL && err->message != NULL);
        size_t n = strlen (err->message);
        check (n <= 4 * 4096 + 64);
        for (size_t i = 0; i < n; i++)
            check ((unsigned char) err->message[i] >= 0x20 &&
                   (unsigned char) err->message[i] < 0x7f);
        break;
    }
    default: {
        json_object *o = wr_docker_parse_json (text, len, 1 << 20, "fuzz", &err);
        if (o != NULL) {
            check (json_object_is_type (o, json_type_object) ||
                   json_object_is_type (o, json_type_array));
            json_object_put (o);
        } else {
            check (err != NULL);
        }
    }
    }
    return 0;
}
