/* libFuzzer target: unpacking a layer.  Layers come from any registry, so
 * every byte is untrusted: whatever the input, the unpack must not crash,
 * and must not make anything outside the root.
 *
 * Each input is written as a layer file into a work directory under /tmp
 * (on disk, not a tmpfs, like a real store) next to a fresh root; after the
 * unpack the work directory must hold only those two, then both go. */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "log.h"
#include "path_in_root.h"
#include "unpack.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char *work;

static void
remove_work (void)
{
    if (work != NULL)
        wr_remove_tree_at (AT_FDCWD, work, NULL);
}

/* The work directory holds exactly "layer" and "root". */
static void
check_nothing_outside (void)
{
    cleanup_closedir DIR *dir = opendir (work);
    if (dir == NULL)
        abort ();
    struct dirent *de;
    while ((de = readdir (dir)) != NULL) {
        if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0 &&
            strcmp (de->d_name, "layer") != 0 && strcmp (de->d_name, "root") != 0) {
            fprintf (stderr, "fuzz_unpack: `%s` was made outside the root\n", de->d_name);
            abort ();
        }
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (work == NULL) {
        work = xstrdup ("/tmp/fuzz-unpack-XXXXXX");
        if (mkdtemp (work) == NULL)
            abort ();
        atexit (remove_work);
        /* Skipped xattrs are logged as warnings: keep the output quiet. */
        wr_log_set_level (WR_LOG_ERROR);
    }
    cleanup_free char *layer = xasprintf ("%s/layer", work);
    cleanup_free char *root = xasprintf ("%s/root", work);
    FILE *fp = fopen (layer, "w");
    if (fp == NULL || (size > 0 && fwrite (data, 1, size, fp) != size) || fclose (fp) != 0)
        abort ();
    if (mkdir (root, 0755) < 0)
        abort ();
    int root_fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        abort ();
    wr_unpack_options_t options = { .keep_owners = true };
    cleanup_error wr_error_t err = NULL;
    if (wr_unpack_layer (root_fd, layer, NULL, &options, &err) < 0 &&
        (err == NULL || err->message == NULL))
        abort (); /* a failure always says why */
    close (root_fd);
    check_nothing_outside ();
    cleanup_error wr_error_t rm_err = NULL;
    if (wr_remove_tree_at (AT_FDCWD, root, &rm_err) < 0) {
        fprintf (stderr, "fuzz_unpack: %s\n", rm_err->message);
        abort ();
    }
    unlink (layer);
    return 0;
}
