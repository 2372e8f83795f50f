/* libFuzzer target: resolving an image's user in its /etc/passwd and
 * /etc/group (bundle.c).  Both files come from the image, so every byte is
 * untrusted, and so is the config's User string.
 *
 * Input: the User string, a newline, then passwd and group separated by a
 * line "--".  They are written into a root under /tmp made once; the
 * resolution must not crash whatever they hold. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "cleanup.h"
#include "error.h"
#include "path_in_root.h"
#include "xalloc.h"
#include "remove_tree.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char *work;
static int root_fd = -1;

static void
remove_work (void)
{
    if (work != NULL)
        wr_remove_tree_at (AT_FDCWD, work, NULL);
}

static void
write_file (const char *path, const char *data, size_t len)
{
    int fd = openat (root_fd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        abort ();
    if (len > 0 && write (fd, data, len) != (ssize_t) len)
        abort ();
    close (fd);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (work == NULL) {
        work = xstrdup ("/tmp/fuzz_bundle.XXXXXX");
        if (mkdtemp (work) == NULL)
            abort ();
        atexit (remove_work);
        root_fd = open (work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0 || mkdirat (root_fd, "etc", 0755) < 0)
            abort ();
    }
    cleanup_free char *text = xmalloc (size + 1);
    memcpy (text, data, size);
    text[size] = '\0';
    size_t len = strlen (text); /* a NUL ends the input */
    char *nl = strchr (text, '\n');
    const char *user = text;
    const char *passwd = "", *group = "";
    size_t passwd_len = 0, group_len = 0;
    if (nl != NULL) {
        *nl = '\0';
        passwd = nl + 1;
        char *sep = strstr (nl + 1, "\n--\n");
        if (sep != NULL) {
            passwd_len = (size_t) (sep - passwd) + 1;
            group = sep + 4;
            group_len = len - (size_t) (group - text);
        } else {
            passwd_len = len - (size_t) (passwd - text);
        }
    }
    write_file ("etc/passwd", passwd, passwd_len);
    write_file ("etc/group", group, group_len);
    wr_bundle_user_t out;
    if (wr_bundle_resolve_user (root_fd, user, &out, NULL) == 0)
        wr_bundle_user_clear (&out);
    return 0;
}
