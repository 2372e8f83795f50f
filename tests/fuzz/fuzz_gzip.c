/* libFuzzer target: the gzip decoder of layers (gzip_reader.h, ISA-L).
 * Layer bytes are untrusted until their digest is checked, and the unpack
 * decodes them as they come: whatever the input, reading must end with the
 * stream's end or an error, never a crash or a loop, in any piece size.
 *
 * The first input byte picks the size of the pieces read (1 to 256 KiB);
 * the rest is the gzip stream, given to the reader through a memfd. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"
#include "gzip_reader.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const size_t caps[] = { 1, 7, 512, 4096, 65536, 262144 };
    size_t cap = caps[data[0] % (sizeof caps / sizeof caps[0])];
    int fd = memfd_create ("fuzz-gzip", MFD_CLOEXEC);
    if (fd < 0)
        abort ();
    if (size > 1 && write (fd, data + 1, size - 1) != (ssize_t) (size - 1))
        abort ();
    if (lseek (fd, 0, SEEK_SET) != 0)
        abort ();
    unsigned char *buf = malloc (cap);
    if (buf == NULL)
        abort ();
    wr_gzip_reader_t *r = wr_gzip_reader_new (fd);
    /* Deflate expands at most about 1032:1, so a bounded input makes a
     * bounded output; more than that would be a decoder that loops. */
    unsigned long long total = 0, limit = 1100ULL * size + (1 << 20);
    for (;;) {
        wr_error_t err = NULL;
        ssize_t n = wr_gzip_reader_read (r, buf, cap, &err);
        if (n < 0) {
            if (err == NULL || err->message == NULL)
                abort (); /* every failure says what failed */
            wr_error_free (&err);
            break;
        }
        if (n == 0)
            break;
        total += (unsigned long long) n;
        if (total > limit)
            abort ();
    }
    if (wr_gzip_reader_consumed (r) > size - 1)
        abort ();
    wr_gzip_reader_free (r);
    free (buf);
    close (fd);
    return 0;
}
