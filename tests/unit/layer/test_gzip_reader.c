/* gzip_reader: ISA-L's inflate behind a strict streaming reader.  Streams
 * are made with zlib (a different implementation), read back through a
 * file, and compared byte for byte; broken ones must fail with a message
 * that says how. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "gzip_reader.h"

typedef struct {
    unsigned char *data;
    size_t len;
} bytes_t;

static void
append (bytes_t *b, const void *data, size_t len)
{
    b->data = realloc (b->data, b->len + len + 1);
    assert_non_null (b->data);
    memcpy (b->data + b->len, data, len);
    b->len += len;
}

/* One gzip member of DATA, compressed by zlib at LEVEL. */
static void
append_member (bytes_t *out, const void *data, size_t len, int level)
{
    z_stream z = { 0 };
    assert_int_equal (deflateInit2 (&z, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound (&z, (uLong) len) + 64;
    unsigned char *buf = malloc (cap);
    assert_non_null (buf);
    z.next_in = (unsigned char *) data;
    z.avail_in = (uInt) len;
    z.next_out = buf;
    z.avail_out = (uInt) cap;
    assert_int_equal (deflate (&z, Z_FINISH), Z_STREAM_END);
    append (out, buf, cap - z.avail_out);
    deflateEnd (&z);
    free (buf);
}

/* Pseudo-random text that compresses, but not to nothing. */
static bytes_t
sample (size_t len, unsigned seed)
{
    bytes_t b = { 0 };
    b.data = malloc (len + 1);
    assert_non_null (b.data);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        b.data[i] = (unsigned char) ("abcdefgh \n"[(x >> 16) % 10]);
    }
    b.len = len;
    return b;
}

static int
file_with (const bytes_t *b)
{
    FILE *f = tmpfile ();
    assert_non_null (f);
    int fd = dup (fileno (f));
    fclose (f);
    assert_int_equal (write (fd, b->data, b->len), (ssize_t) b->len);
    assert_int_equal (lseek (fd, 0, SEEK_SET), 0);
    return fd;
}

/* Reads all of COMPRESSED through the reader in pieces of CAP bytes; on
 * success returns 0 and the bytes in *OUT, else -1 and the message in
 * *MESSAGE. */
static int
read_all (const bytes_t *compressed, size_t cap, bytes_t *out, char **message)
{
    int fd = file_with (compressed);
    wr_gzip_reader_t *r = wr_gzip_reader_new (fd);
    unsigned char *buf = malloc (cap);
    assert_non_null (buf);
    memset (out, 0, sizeof *out);
    int ret = 0;
    for (;;) {
        wr_error_t err = NULL;
        ssize_t n = wr_gzip_reader_read (r, buf, cap, &err);
        if (n < 0) {
            assert_non_null (err);
            *message = strdup (err->message);
            wr_error_free (&err);
            ret = -1;
            break;
        }
        if (n == 0)
            break;
        append (out, buf, (size_t) n);
    }
    if (ret == 0)
        assert_int_equal (wr_gzip_reader_consumed (r), compressed->len);
    free (buf);
    wr_gzip_reader_free (r);
    close (fd);
    return ret;
}

static void
expect_same (const bytes_t *compressed, const bytes_t *plain, size_t cap)
{
    bytes_t out;
    char *message = NULL;
    assert_int_equal (read_all (compressed, cap, &out, &message), 0);
    assert_int_equal (out.len, plain->len);
    assert_memory_equal (out.data, plain->data, plain->len);
    free (out.data);
}

static void
expect_error (const bytes_t *compressed, const char *needle)
{
    bytes_t out;
    char *message = NULL;
    assert_int_equal (read_all (compressed, 4096, &out, &message), -1);
    if (strstr (message, needle) == NULL)
        fail_msg ("error `%s` does not contain `%s`", message, needle);
    free (message);
    free (out.data);
}

static void
test_magic (void **state)
{
    assert_true (wr_gzip_magic ("\x1f\x8b\x08", 3));
    assert_false (wr_gzip_magic ("\x1f", 1));
    assert_false (wr_gzip_magic ("\x28\xb5\x2f\xfd", 4)); /* zstd */
    assert_false (wr_gzip_magic ("", 0));
}

static void
test_round_trip_in_any_piece_size (void **state)
{
    /* Bigger than the reader's 1 MiB input buffer, at two levels. */
    bytes_t plain = sample (3 * 1024 * 1024 + 17, 1);
    for (int level = 1; level <= 9; level += 8) {
        bytes_t gz = { 0 };
        append_member (&gz, plain.data, plain.len, level);
        expect_same (&gz, &plain, 4093);
        expect_same (&gz, &plain, 1 << 20);
        free (gz.data);
    }
    free (plain.data);
    /* A byte at a time (slow, so a smaller stream). */
    plain = sample (70000, 5);
    bytes_t gz = { 0 };
    append_member (&gz, plain.data, plain.len, 6);
    expect_same (&gz, &plain, 1);
    free (gz.data);
    free (plain.data);
}

static void
test_members_one_after_another (void **state)
{
    bytes_t a = sample (100000, 2), b = sample (5, 3), all = { 0 }, gz = { 0 };
    append_member (&gz, a.data, a.len, 6);
    append_member (&gz, "", 0, 6); /* an empty member in the middle */
    append_member (&gz, b.data, b.len, 6);
    append (&all, a.data, a.len);
    append (&all, b.data, b.len);
    expect_same (&gz, &all, 777);
    free (a.data), free (b.data), free (all.data), free (gz.data);
}

static void
test_empty_stream_and_empty_file (void **state)
{
    bytes_t empty = { 0 }, gz = { 0 };
    append_member (&gz, "", 0, 6);
    expect_same (&gz, &empty, 64);
    free (gz.data);
    /* No bytes at all is no gzip stream. */
    bytes_t nothing = { 0 };
    expect_error (&nothing, "truncated");
}

static void
test_broken_streams_are_refused (void **state)
{
    bytes_t plain = sample (200000, 4), gz = { 0 };
    append_member (&gz, plain.data, plain.len, 6);

    bytes_t cut = { 0 };
    append (&cut, gz.data, gz.len - 4); /* the length in the trailer is missing */
    expect_error (&cut, "truncated");
    free (cut.data);
    cut = (bytes_t){ 0 };
    append (&cut, gz.data, gz.len / 2);
    expect_error (&cut, "truncated");
    free (cut.data);

    bytes_t bad_crc = { 0 };
    append (&bad_crc, gz.data, gz.len);
    bad_crc.data[gz.len - 8] ^= 0x01;
    expect_error (&bad_crc, "CRC-32 or length does not match");
    free (bad_crc.data);

    bytes_t bad_method = { 0 };
    append (&bad_method, gz.data, gz.len);
    bad_method.data[2] = 7; /* not deflate */
    expect_error (&bad_method, "gzip:");
    free (bad_method.data);

    bytes_t trailing = { 0 };
    append (&trailing, gz.data, gz.len);
    append (&trailing, "junk", 4);
    expect_error (&trailing, "4 bytes at offset");
    expect_error (&trailing, "are not another gzip member");
    free (trailing.data);

    bytes_t one_byte_after = { 0 };
    append (&one_byte_after, gz.data, gz.len);
    append (&one_byte_after, "\x1f", 1);
    expect_error (&one_byte_after, "are not another gzip member");
    free (one_byte_after.data);

    free (plain.data);
    free (gz.data);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_magic),
        cmocka_unit_test (test_round_trip_in_any_piece_size),
        cmocka_unit_test (test_members_one_after_another),
        cmocka_unit_test (test_empty_stream_and_empty_file),
        cmocka_unit_test (test_broken_streams_are_refused),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
