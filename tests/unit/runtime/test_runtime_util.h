/* Helpers shared by the runtime unit tests: temporary directories and fake
 * backend binaries (shell scripts that print what runsc or runc print and
 * count how often they were run). */
#ifndef WARREN_TEST_RUNTIME_UTIL_H
#define WARREN_TEST_RUNTIME_UTIL_H

#include <stdbool.h>

/* A new directory under /tmp; caller frees the string. */
char *wr_test_tmpdir (void);
void wr_test_rm_rf (const char *dir);
/* Writes DIR/NAME (replacing it atomically) answering --version with
 * VERSION.  With FLAGS_COMMAND it has runsc's `flags` command; without,
 * its --help lists the flags. Returns the path. */
char *wr_test_fake_runsc (const char *dir, const char *name, const char *version,
                          bool flags_command);
/* Writes DIR/runc answering like runc 1.1.5.  Returns the path. */
char *wr_test_fake_runc (const char *dir);
/* How many times the fakes in DIR were run. */
int wr_test_count_calls (const char *dir);
/* The names in DIR, NULL-terminated. */
char **wr_test_list_dir (const char *dir);
void wr_test_write_file (const char *path, const char *text);
char *wr_test_read_file (const char *path);

#endif
