/* libFuzzer target: what a sandbox's dockerd (or anything in the sandbox)
 * sends warrend's registry mirror.  The input is a byte stream: heads are
 * parsed one after the other as the mirror's connection loop does, and
 * each parsed path goes through the routes.  Nothing may crash or leak; a
 * head is within the limits and its length within the input; a refused
 * head has a 4xx/5xx status and a printable message (hostile text is
 * quoted); a route has a valid name and reference, or a status and an
 * error code; wr_mirror_accepts never reads past the Accept value. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "error.h"
#include "mirror_request.h"
#include "quote.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check (bool ok)
{
    if (!ok)
        abort ();
}

static void
route (const char *path)
{
    wr_mirror_route_t r;
    int status = 0;
    const char *code = NULL;
    wr_error_t err = NULL;
    if (wr_mirror_route_parse (path, &r, &status, &code, &err) == 0) {
        check (err == NULL);
        if (r.kind != WR_MIRROR_ROUTE_BASE) {
            check (wr_mirror_name_valid (r.name));
            check (strstr (r.name, "..") == NULL && r.name[0] != '/');
            check (r.reference != NULL && strchr (r.reference, '/') == NULL);
            if (r.by_digest)
                check (wr_digest_validate (r.reference, NULL) == 0);
        }
        wr_mirror_route_clear (&r);
    } else {
        check (status == 400 || status == 404);
        check (code != NULL && err != NULL && wr_is_printable_ascii (err->message));
        check (r.name == NULL);
        wr_error_free (&err);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    const char *buf = (const char *) data;
    size_t pos = 0;
    for (int i = 0; i < 16 && pos < size; i++) {
        wr_mirror_request_t req;
        size_t head_len = 0;
        int status = 0;
        wr_error_t err = NULL;
        int r = wr_mirror_request_parse (buf + pos, size - pos, &req, &head_len, &status, &err);
        if (r == 0) {
            check (err == NULL && req.path == NULL);
            break;
        }
        if (r < 0) {
            check (status >= 400 && status <= 505);
            check (err != NULL && wr_is_printable_ascii (err->message));
            check (req.path == NULL);
            wr_error_free (&err);
            break;
        }
        check (head_len > 0 && head_len <= size - pos && head_len <= WR_MIRROR_MAX_HEAD);
        check (req.path != NULL && req.path[0] == '/');
        check (req.minor == 0 || req.minor == 1);
        route (req.path);
        wr_mirror_accepts (req.accept, "application/vnd.oci.image.index.v1+json");
        wr_mirror_request_clear (&req);
        pos += head_len;
    }
    return 0;
}
