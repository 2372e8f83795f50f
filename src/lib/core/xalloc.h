/* Allocation that cannot fail: running out of memory aborts, so callers
 * have no out-of-memory branches. */
#ifndef WARREN_XALLOC_H
#define WARREN_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc (size_t size);
void *xzalloc (size_t size);
void *xrealloc (void *ptr, size_t size);
char *xstrdup (const char *s);
char *xstrndup (const char *s, size_t n);
char *xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
char *xvasprintf (const char *fmt, va_list ap) __attribute__ ((format (printf, 1, 0)));

#endif
