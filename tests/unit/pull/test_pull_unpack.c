/* pull_unpack: the unpack that runs while a pull downloads.  It applies
 * each layer once the store holds it and waits for the next; it stops
 * when the downloads fail or end without a layer, leaving nothing in
 * roots/; it reports the unpack's own errors (a wrong diff id). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "error.h"
#include "manifest.h"
#include "pull_unpack.h"
#include "registry.h"
#include "store.h"
#include "xalloc.h"

typedef struct {
    char dir[64];
    wr_store_t *store;
    char *layer[2]; /* uncompressed tars: their digests are their diff ids */
    size_t len[2];
    char digest[2][WR_DIGEST_MAX_LEN + 1];
    wr_descriptor_t descriptors[2];
    wr_manifest_t manifest;
    char *diff_ids[3];
    char *root;
} fixture_t;

/* A tar with one file NAME of SIZE bytes. */
static char *
make_layer (const char *name, size_t size, size_t *len)
{
    size_t cap = size + 64 * 1024;
    char *buf = xzalloc (cap);
    char *content = xmalloc (size);
    for (size_t i = 0; i < size; i++)
        content[i] = name[i % strlen (name)];
    struct archive *a = archive_write_new ();
    archive_write_set_format_pax_restricted (a);
    assert_int_equal (archive_write_open_memory (a, buf, cap, len), ARCHIVE_OK);
    struct archive_entry *e = archive_entry_new ();
    archive_entry_set_pathname (e, name);
    archive_entry_set_filetype (e, AE_IFREG);
    archive_entry_set_perm (e, 0644);
    archive_entry_set_size (e, (la_int64_t) size);
    assert_int_equal (archive_write_header (a, e), ARCHIVE_OK);
    assert_int_equal (archive_write_data (a, content, size), (la_ssize_t) size);
    archive_entry_free (e);
    assert_int_equal (archive_write_close (a), ARCHIVE_OK);
    archive_write_free (a);
    free (content);
    return buf;
}

static int
setup (void **state)
{
    fixture_t *f = xzalloc (sizeof *f);
    strcpy (f->dir, "/tmp/warren-test-pull-unpack-XXXXXX");
    assert_non_null (mkdtemp (f->dir));
    wr_error_t err = NULL;
    f->store = wr_store_open (f->dir, &err);
    assert_non_null (f->store);
    /* The lower layer is bigger than what the unpack takes at once (256
     * KiB), so that a stream of it is applied before its end. */
    const char *names[] = { "lower", "upper" };
    const size_t sizes[] = { 1024 * 1024, 5 };
    for (int i = 0; i < 2; i++) {
        f->layer[i] = make_layer (names[i], sizes[i], &f->len[i]);
        wr_sha256_digest (f->layer[i], f->len[i], f->digest[i]);
        f->descriptors[i] =
            (wr_descriptor_t){ .digest = f->digest[i], .size = (int64_t) f->len[i] };
        f->diff_ids[i] = f->digest[i];
    }
    f->manifest =
        (wr_manifest_t){ .kind = WR_MANIFEST_IMAGE, .layers = f->descriptors, .n_layers = 2 };
    f->root = xasprintf ("%s/roots/0123", f->dir);
    *state = f;
    return 0;
}

static int
teardown (void **state)
{
    fixture_t *f = *state;
    wr_store_close (f->store);
    cleanup_free char *cmd = xasprintf ("rm -rf '%s'", f->dir);
    assert_int_equal (system (cmd), 0);
    free (f->layer[0]);
    free (f->layer[1]);
    free (f->root);
    free (f);
    return 0;
}

static void
put_layer (fixture_t *f, int i)
{
    wr_error_t err = NULL;
    assert_int_equal (
        wr_store_put_blob (f->store, f->layer[i], f->len[i], f->digest[i], NULL, &err), 0);
}

/* The temporary directory of an unpack of F's root (NULL when none). */
static char *
find_tmp (fixture_t *f)
{
    cleanup_free char *roots = xasprintf ("%s/roots", f->dir);
    DIR *d = opendir (roots);
    if (d == NULL)
        return NULL;
    char *found = NULL;
    struct dirent *e;
    while ((e = readdir (d)) != NULL)
        if (strncmp (e->d_name, "0123.tmp-", 9) == 0)
            found = xasprintf ("%s/%s", roots, e->d_name);
    closedir (d);
    return found;
}

static bool
exists (const char *path)
{
    struct stat st;
    return lstat (path, &st) == 0;
}

static void
test_each_layer_as_it_arrives (void **state)
{
    fixture_t *f = *state;
    put_layer (f, 0);
    wr_error_t err = NULL;
    wr_pull_unpack_t *u = wr_pull_unpack_start (f->store, &f->manifest, f->diff_ids, f->root, false,
                                                NULL, NULL, NULL, &err);
    assert_non_null (u);
    /* The lower layer is applied while the upper one is still missing. */
    bool applied = false;
    for (int i = 0; i < 500 && !applied; i++) {
        cleanup_free char *tmp = find_tmp (f);
        cleanup_free char *lower = tmp != NULL ? xasprintf ("%s/lower", tmp) : NULL;
        applied = lower != NULL && exists (lower);
        if (!applied)
            usleep (10 * 1000);
    }
    assert_true (applied);
    assert_false (exists (f->root));
    /* The upper layer arrives; the downloads end. */
    put_layer (f, 1);
    assert_int_equal (wr_pull_unpack_finish (u, true, &err), 0);
    assert_null (err);
    cleanup_free char *lower = xasprintf ("%s/lower", f->root);
    cleanup_free char *upper = xasprintf ("%s/upper", f->root);
    assert_true (exists (lower));
    assert_true (exists (upper));
    cleanup_free char *tmp = find_tmp (f);
    assert_null (tmp);
}

static void
test_a_failed_download_stops_it (void **state)
{
    fixture_t *f = *state;
    put_layer (f, 0);
    wr_error_t err = NULL;
    wr_pull_unpack_t *u = wr_pull_unpack_start (f->store, &f->manifest, f->diff_ids, f->root, false,
                                                NULL, NULL, NULL, &err);
    assert_non_null (u);
    usleep (50 * 1000);
    /* The download's error is the one to report: none from the unpack. */
    assert_int_equal (wr_pull_unpack_finish (u, false, &err), -1);
    assert_null (err);
    assert_false (exists (f->root));
    cleanup_free char *tmp = find_tmp (f);
    assert_null (tmp);
}

static void
test_nothing_made_before_the_first_layer (void **state)
{
    fixture_t *f = *state;
    wr_error_t err = NULL;
    wr_pull_unpack_t *u = wr_pull_unpack_start (f->store, &f->manifest, f->diff_ids, f->root, false,
                                                NULL, NULL, NULL, &err);
    assert_non_null (u);
    usleep (100 * 1000);
    /* Waiting for the lowest layer: no temporary root yet (a pull killed
     * now leaves nothing in roots/). */
    cleanup_free char *tmp = find_tmp (f);
    assert_null (tmp);
    put_layer (f, 0);
    put_layer (f, 1);
    assert_int_equal (wr_pull_unpack_finish (u, true, &err), 0);
    assert_true (exists (f->root));
}

static void
test_a_layer_missing_after_the_downloads (void **state)
{
    fixture_t *f = *state;
    put_layer (f, 0);
    wr_error_t err = NULL;
    wr_pull_unpack_t *u = wr_pull_unpack_start (f->store, &f->manifest, f->diff_ids, f->root, false,
                                                NULL, NULL, NULL, &err);
    assert_non_null (u);
    assert_int_equal (wr_pull_unpack_finish (u, true, &err), -1);
    assert_non_null (err);
    assert_non_null (strstr (err->message, f->digest[1]));
    assert_non_null (strstr (err->message, "not in the store after the downloads"));
    wr_error_free (&err);
    assert_false (exists (f->root));
}

static void
test_a_wrong_diff_id_is_reported (void **state)
{
    fixture_t *f = *state;
    put_layer (f, 0);
    put_layer (f, 1);
    f->diff_ids[1] = f->digest[0]; /* not the upper layer's */
    wr_error_t err = NULL;
    wr_pull_unpack_t *u = wr_pull_unpack_start (f->store, &f->manifest, f->diff_ids, f->root, false,
                                                NULL, NULL, NULL, &err);
    assert_non_null (u);
    assert_int_equal (wr_pull_unpack_finish (u, true, &err), -1);
    assert_non_null (err);
    assert_non_null (strstr (err->message, f->digest[0]));
    wr_error_free (&err);
    assert_false (exists (f->root));
    cleanup_free char *tmp = find_tmp (f);
    assert_null (tmp);
}

/* The lowest layer read as it downloads: its bytes come through the tee
 * (here from the test, in pieces), then the blob is in the store and the
 * tee ends well. */
static void
test_the_lowest_layer_streamed (void **state)
{
    fixture_t *f = *state;
    wr_error_t err = NULL;
    wr_pull_unpack_t *u = wr_pull_unpack_start (f->store, &f->manifest, f->diff_ids, f->root, true,
                                                NULL, NULL, NULL, &err);
    assert_non_null (u);
    const wr_blob_tee_t *tee = wr_pull_unpack_tee (u);
    assert_non_null (tee);
    assert_string_equal (tee->digest, f->digest[0]);
    /* All but the last KiB: the file is being written from the stream
     * before the blob is whole, let alone in the store. */
    size_t head = f->len[0] - 1024;
    for (size_t at = 0; at < head; at += 1000) {
        size_t n = head - at < 1000 ? head - at : 1000;
        assert_int_equal (tee->write (tee->data, f->layer[0] + at, n), 0);
    }
    bool applied = false;
    for (int i = 0; i < 500 && !applied; i++) {
        cleanup_free char *tmp = find_tmp (f);
        cleanup_free char *lower = tmp != NULL ? xasprintf ("%s/lower", tmp) : NULL;
        applied = lower != NULL && exists (lower);
        if (!applied)
            usleep (10 * 1000);
    }
    assert_true (applied);
    assert_int_equal (tee->write (tee->data, f->layer[0] + head, f->len[0] - head), 0);
    put_layer (f, 0);
    tee->end (tee->data, true);
    put_layer (f, 1);
    assert_int_equal (wr_pull_unpack_finish (u, true, &err), 0);
    cleanup_free char *upper = xasprintf ("%s/upper", f->root);
    assert_true (exists (upper));
}

/* The stream breaks off (the download started over): the unpack is made
 * again from the stored layers once the downloads are over. */
static void
test_a_broken_stream_falls_back_to_the_store (void **state)
{
    fixture_t *f = *state;
    wr_error_t err = NULL;
    wr_pull_unpack_t *u = wr_pull_unpack_start (f->store, &f->manifest, f->diff_ids, f->root, true,
                                                NULL, NULL, NULL, &err);
    assert_non_null (u);
    const wr_blob_tee_t *tee = wr_pull_unpack_tee (u);
    assert_int_equal (tee->write (tee->data, f->layer[0], f->len[0] / 2), 0);
    tee->end (tee->data, false);
    put_layer (f, 0);
    put_layer (f, 1);
    assert_int_equal (wr_pull_unpack_finish (u, true, &err), 0);
    assert_null (err);
    cleanup_free char *lower = xasprintf ("%s/lower", f->root);
    cleanup_free char *upper = xasprintf ("%s/upper", f->root);
    assert_true (exists (lower));
    assert_true (exists (upper));
    cleanup_free char *tmp = find_tmp (f);
    assert_null (tmp);
}

/* All bytes given, but the download did not end checked (a wrong digest):
 * the streamed layer does not count, and with the download failed there
 * is no root. */
static void
test_a_stream_whose_blob_failed_makes_no_root (void **state)
{
    fixture_t *f = *state;
    wr_error_t err = NULL;
    wr_pull_unpack_t *u = wr_pull_unpack_start (f->store, &f->manifest, f->diff_ids, f->root, true,
                                                NULL, NULL, NULL, &err);
    assert_non_null (u);
    const wr_blob_tee_t *tee = wr_pull_unpack_tee (u);
    assert_int_equal (tee->write (tee->data, f->layer[0], f->len[0]), 0);
    put_layer (f, 1);
    tee->end (tee->data, false);
    assert_int_equal (wr_pull_unpack_finish (u, false, &err), -1);
    assert_null (err);
    assert_false (exists (f->root));
    cleanup_free char *tmp = find_tmp (f);
    assert_null (tmp);
}

/* The downloads never ran (the pull failed before them): finishing does
 * not hang on a stream nobody writes. */
static void
test_a_stream_never_written (void **state)
{
    fixture_t *f = *state;
    wr_error_t err = NULL;
    wr_pull_unpack_t *u = wr_pull_unpack_start (f->store, &f->manifest, f->diff_ids, f->root, true,
                                                NULL, NULL, NULL, &err);
    assert_non_null (u);
    assert_int_equal (wr_pull_unpack_finish (u, false, &err), -1);
    assert_false (exists (f->root));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_each_layer_as_it_arrives, setup, teardown),
        cmocka_unit_test_setup_teardown (test_a_failed_download_stops_it, setup, teardown),
        cmocka_unit_test_setup_teardown (test_nothing_made_before_the_first_layer, setup, teardown),
        cmocka_unit_test_setup_teardown (test_a_layer_missing_after_the_downloads, setup, teardown),
        cmocka_unit_test_setup_teardown (test_a_wrong_diff_id_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown (test_the_lowest_layer_streamed, setup, teardown),
        cmocka_unit_test_setup_teardown (test_a_broken_stream_falls_back_to_the_store, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_a_stream_whose_blob_failed_makes_no_root, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_a_stream_never_written, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
