/* libFuzzer target: what warrend (or something pretending to be it) answers
 * the client.  The first byte picks the reader: an error body (any status),
 * a stream of event lines fed in pieces cut where the second byte says, an
 * output event's base64, or a Sandbox, Process or FileInfo object.  Nothing
 * may crash or leak; an error body always gives an error with a message
 * without control bytes other than newline and tab, at most the bound. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "client_files.h"
#include "client_process.h"
#include "client_reply.h"
#include "client_sandbox.h"
#include "error.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check (bool ok)
{
    if (!ok)
        abort ();
}

static int
on_line (void *data, json_object *line, wr_error_t *err)
{
    check (json_object_is_type (line, json_type_object));
    if (wr_client_reply_stream_error (line, err))
        return -1;
    (*(size_t *) data)++;
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int mode = data[0] % 4;
    size_t cut = data[1];
    const char *text = (const char *) data + 2;
    size_t len = size - 2;
    cleanup_error wr_error_t err = NULL;
    switch (mode) {
    case 0: {
        check (wr_client_reply_error (400 + (long) (cut % 200), text, len, "GET /x", &err) == -1);
        check (err != NULL && err->message != NULL);
        size_t n = strlen (err->message);
        check (n <= WR_CLIENT_MAX_MESSAGE + 3 + 64);
        for (size_t i = 0; i < n; i++) {
            unsigned char ch = (unsigned char) err->message[i];
            check (ch >= 0x20 || ch == '\n' || ch == '\t');
        }
        break;
    }
    case 1: {
        size_t lines = 0;
        wr_client_lines_t l;
        wr_client_lines_init (&l, "fuzz", on_line, &lines);
        size_t step = cut + 1;
        int ret = 0;
        for (size_t at = 0; at < len && ret == 0; at += step)
            ret = wr_client_lines_feed (&l, text + at, len - at < step ? len - at : step, &err);
        if (ret == 0)
            ret = wr_client_lines_end (&l, &err);
        check (ret == 0 || err != NULL);
        wr_client_lines_clear (&l);
        break;
    }
    case 2: {
        char *out = NULL;
        size_t n = 0;
        if (wr_client_base64_decode (text, len, &out, &n, &err) == 0) {
            check (n <= len / 4 * 3);
            free (out);
        } else {
            check (out == NULL && err != NULL);
        }
        break;
    }
    default: {
        json_object *o = wr_client_reply_object (text, len, WR_CLIENT_MAX_JSON, "fuzz", &err);
        if (o == NULL)
            break;
        wr_client_sandbox_t sb;
        wr_client_process_t p;
        wr_client_file_info_t f;
        cleanup_error wr_error_t e1 = NULL, e2 = NULL, e3 = NULL;
        if (wr_client_sandbox_read (o, &sb, &e1) == 0)
            check (sb.id != NULL && sb.state != NULL);
        if (wr_client_process_read (o, &p, &e2) == 0)
            check (p.pid != NULL && p.state != NULL);
        if (wr_client_file_info_read (o, &f, &e3) == 0)
            check (f.mode >= 0 && f.mode <= 07777);
        json_object_put (o);
    }
    }
    return 0;
}
