/* NULL-terminated arrays of strings ("string vectors"), as used for argument
 * vectors and flag lists.  A vector owns its strings; free it with
 * wr_strv_free() or a cleanup_strv local. */
#ifndef WARREN_STRV_H
#define WARREN_STRV_H

#include <stdbool.h>
#include <stddef.h>

size_t wr_strv_length (char *const *strv);
/* Appends a copy of S to *STRV (which may be NULL: a new vector is made). */
void wr_strv_add (char ***strv, const char *s);
/* Appends S itself; *STRV takes ownership. */
void wr_strv_add_take (char ***strv, char *s);
/* Appends copies of every string of OTHER (which may be NULL). */
void wr_strv_extend (char ***strv, char *const *other);
bool wr_strv_contains (char *const *strv, const char *s);
char **wr_strv_copy (char *const *strv);
/* Joins the strings with SEPARATOR; an empty or NULL vector gives "". */
char *wr_strv_join (char *const *strv, const char *separator);
/* Splits S at every character in SEPARATORS, dropping empty pieces. */
char **wr_strv_split (const char *s, const char *separators);
void wr_strv_free (char **strv);

#endif
