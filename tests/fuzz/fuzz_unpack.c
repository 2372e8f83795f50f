/* libFuzzer target: unpacking a layer.  Layers come from any registry, so
 * every byte is untrusted: whatever the input, the unpack must not crash,
 * and must change nothing outside the root.
 *
 * Each input is written as a layer file into a work directory under /tmp
 * (on disk, not a tmpfs, like a real store) next to a fresh root and a
 * sentinel tree (files, a directory, symlinks to both, with fixed times).
 * After the unpack the work directory must hold only those three, the layer
 * must be unchanged, and every entry of the sentinel tree must be exactly as
 * it was: type, mode, owner, size, link count, times (the change time too,
 * which any write, chmod, chown, link or utimes moves), inode, contents and
 * link targets.  Then the root goes and the next input gets a fresh one.
 *
 * As root (CI runs tests/run as root) owners are kept, as a root pull keeps
 * them, so every entry goes through chown and on to chmod, xattrs and
 * times; device nodes are made.  Otherwise owners are not kept (as a
 * rootless pull does): a chown to another user could only fail and stop
 * the entry there. */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "log.h"
#include "path_in_root.h"
#include "unpack.h"
#include "xalloc.h"
#include "remove_tree.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char *work;
static int work_fd = -1;
static char *sentinel_before;
static bool keep_owners;

static void
remove_work (void)
{
    if (work != NULL)
        wr_remove_tree_at (AT_FDCWD, work, NULL);
}

static void
die (const char *what)
{
    fprintf (stderr, "fuzz_unpack: %s\n", what);
    abort ();
}

static void
append (char **text, size_t *len, const char *line)
{
    size_t n = strlen (line);
    *text = xrealloc (*text, *len + n + 1);
    memcpy (*text + *len, line, n + 1);
    *len += n;
}

/* FNV-1a of a file's contents. */
static uint64_t
content_hash (int dir_fd, const char *name)
{
    cleanup_close int fd = openat (dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return 0;
    uint64_t hash = 1469598103934665603ULL;
    char buf[4096];
    ssize_t n;
    while ((n = read (fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++) {
            hash ^= (unsigned char) buf[i];
            hash *= 1099511628211ULL;
        }
    return hash;
}

/* One line per entry under DIR_FD (PATH names it), in name order, and the
 * same for each subdirectory: everything but the access time. */
static void
describe_tree (int dir_fd, const char *path, char **text, size_t *len)
{
    struct dirent **names = NULL;
    cleanup_close int fd = openat (dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cleanup_free char *proc = xasprintf ("/proc/self/fd/%d", fd);
    int n = scandir (proc, &names, NULL, alphasort);
    if (n < 0)
        die ("cannot list the sentinel tree");
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (strcmp (name, ".") == 0 || strcmp (name, "..") == 0) {
            free (names[i]);
            continue;
        }
        struct stat st;
        char target[256] = "";
        if (fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            die ("cannot stat an entry of the sentinel tree");
        if (S_ISLNK (st.st_mode)) {
            ssize_t t = readlinkat (dir_fd, name, target, sizeof target - 1);
            target[t > 0 ? t : 0] = '\0';
        }
        cleanup_free char *line = xasprintf (
            "%s/%s mode=%o uid=%u gid=%u size=%lld nlink=%lu ino=%llu mtime=%lld.%09ld "
            "ctime=%lld.%09ld hash=%016llx target=%s\n",
            path, name, (unsigned) st.st_mode, (unsigned) st.st_uid, (unsigned) st.st_gid,
            (long long) st.st_size, (unsigned long) st.st_nlink, (unsigned long long) st.st_ino,
            (long long) st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (long long) st.st_ctim.tv_sec,
            st.st_ctim.tv_nsec,
            (unsigned long long) (S_ISREG (st.st_mode) ? content_hash (dir_fd, name) : 0), target);
        append (text, len, line);
        if (S_ISDIR (st.st_mode)) {
            cleanup_close int sub = openat (dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
            if (sub < 0)
                die ("cannot open a directory of the sentinel tree");
            cleanup_free char *sub_path = xasprintf ("%s/%s", path, name);
            describe_tree (sub, sub_path, text, len);
        }
        free (names[i]);
    }
    free (names);
}

/* The sentinel tree and the work directory's own mode and owner (its times
 * move with each new root). */
static char *
describe_outside (void)
{
    char *text = NULL;
    size_t len = 0;
    struct stat st;
    if (fstat (work_fd, &st) < 0)
        die ("cannot stat the work directory");
    cleanup_free char *line = xasprintf ("work mode=%o uid=%u gid=%u\n", (unsigned) st.st_mode,
                                         (unsigned) st.st_uid, (unsigned) st.st_gid);
    append (&text, &len, line);
    cleanup_close int sentinel = openat (work_fd, "sentinel", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (sentinel < 0)
        die ("the sentinel directory is gone or no longer a directory");
    if (fstat (sentinel, &st) < 0)
        die ("cannot stat the sentinel directory");
    cleanup_free char *top = xasprintf (
        "sentinel mode=%o uid=%u gid=%u nlink=%lu ino=%llu mtime=%lld.%09ld ctime=%lld.%09ld\n",
        (unsigned) st.st_mode, (unsigned) st.st_uid, (unsigned) st.st_gid,
        (unsigned long) st.st_nlink, (unsigned long long) st.st_ino, (long long) st.st_mtim.tv_sec,
        st.st_mtim.tv_nsec, (long long) st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
    append (&text, &len, top);
    describe_tree (sentinel, "sentinel", &text, &len);
    return text;
}

static void
write_at (int dir_fd, const char *name, const char *content, mode_t mode)
{
    cleanup_close int fd =
        openat (dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0 || write (fd, content, strlen (content)) != (ssize_t) strlen (content) ||
        fchmod (fd, mode) < 0)
        die ("cannot write the sentinel tree");
}

/* sentinel/{file,exec,dir/,dir/nested,link -> file,dirlink -> dir,
 * abslink -> /WORK/sentinel/file}, all dated 2001-01-01 (an unpack that
 * touched them would leave other times). */
static void
make_sentinel (void)
{
    if (mkdirat (work_fd, "sentinel", 0755) < 0)
        die ("cannot make the sentinel directory");
    cleanup_close int s = openat (work_fd, "sentinel", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s < 0 || mkdirat (s, "dir", 0700) < 0)
        die ("cannot make the sentinel tree");
    write_at (s, "file", "sentinel file\n", 0644);
    write_at (s, "exec", "#!/bin/sh\necho sentinel\n", 0755);
    cleanup_close int d = openat (s, "dir", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0)
        die ("cannot open the sentinel's dir");
    write_at (d, "nested", "nested sentinel\n", 0600);
    cleanup_free char *abs = xasprintf ("%s/sentinel/file", work);
    if (symlinkat ("file", s, "link") < 0 || symlinkat ("dir", s, "dirlink") < 0 ||
        symlinkat (abs, s, "abslink") < 0)
        die ("cannot make the sentinel's symlinks");
    const struct timespec times[2] = { { 978307200, 0 }, { 978307200, 0 } };
    static const char *const names[] = { "file", "exec", "link", "dirlink", "abslink", "dir" };
    if (utimensat (d, "nested", times, AT_SYMLINK_NOFOLLOW) < 0)
        die ("cannot date the sentinel tree");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (utimensat (s, names[i], times, AT_SYMLINK_NOFOLLOW) < 0)
            die ("cannot date the sentinel tree");
    if (futimens (s, times) < 0)
        die ("cannot date the sentinel directory");
}

/* The work directory holds exactly "layer", "root" and "sentinel". */
static void
check_no_new_entries (void)
{
    cleanup_closedir DIR *dir = opendir (work);
    if (dir == NULL)
        abort ();
    struct dirent *de;
    while ((de = readdir (dir)) != NULL) {
        if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0 &&
            strcmp (de->d_name, "layer") != 0 && strcmp (de->d_name, "root") != 0 &&
            strcmp (de->d_name, "sentinel") != 0) {
            fprintf (stderr, "fuzz_unpack: `%s` was made outside the root\n", de->d_name);
            abort ();
        }
    }
}

static void
check_sentinel_unchanged (void)
{
    cleanup_free char *after = describe_outside ();
    if (strcmp (after, sentinel_before) != 0) {
        fprintf (stderr,
                 "fuzz_unpack: the unpack changed something outside the root\n"
                 "before:\n%safter:\n%s",
                 sentinel_before, after);
        abort ();
    }
}

static void
check_layer_unchanged (const char *layer, const uint8_t *data, size_t size)
{
    cleanup_close int fd = open (layer, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || (size_t) st.st_size != size)
        die ("the layer file outside the root was changed");
    uint8_t buf[4096];
    size_t off = 0;
    ssize_t n;
    while ((n = read (fd, buf, sizeof buf)) > 0) {
        if (off + (size_t) n > size || memcmp (buf, data + off, (size_t) n) != 0)
            die ("the layer file outside the root was changed");
        off += (size_t) n;
    }
    if (off != size)
        die ("the layer file outside the root was changed");
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (work == NULL) {
        work = xstrdup ("/tmp/fuzz-unpack-XXXXXX");
        if (mkdtemp (work) == NULL)
            abort ();
        atexit (remove_work);
        work_fd = open (work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (work_fd < 0)
            abort ();
        make_sentinel ();
        sentinel_before = describe_outside ();
        keep_owners = geteuid () == 0;
        if (!keep_owners)
            fprintf (stderr, "fuzz_unpack: not root: owners are not kept, so chown and device "
                             "nodes are not fuzzed (run as root for those)\n");
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
    wr_unpack_options_t options = { .keep_owners = keep_owners };
    cleanup_error wr_error_t err = NULL;
    if (wr_unpack_layer (root_fd, layer, NULL, &options, &err) < 0 &&
        (err == NULL || err->message == NULL))
        abort (); /* a failure always says why */
    close (root_fd);
    check_no_new_entries ();
    check_sentinel_unchanged ();
    check_layer_unchanged (layer, data, size);
    cleanup_error wr_error_t rm_err = NULL;
    if (wr_remove_tree_at (AT_FDCWD, root, &rm_err) < 0) {
        fprintf (stderr, "fuzz_unpack: %s\n", rm_err->message);
        abort ();
    }
    unlink (layer);
    return 0;
}
