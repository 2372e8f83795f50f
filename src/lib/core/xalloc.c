#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void __attribute__ ((noreturn)) out_of_memory (void)
{
    static const char message[] = "warren: out of memory\n";
    (void) !write (STDERR_FILENO, message, sizeof message - 1);
    abort ();
}

void *
xmalloc (size_t size)
{
    void *p = malloc (size ? size : 1);
    if (p == NULL)
        out_of_memory ();
    return p;
}

void *
xzalloc (size_t size)
{
    void *p = calloc (1, size ? size : 1);
    if (p == NULL)
        out_of_memory ();
    return p;
}

void *
xrealloc (void *ptr, size_t size)
{
    void *p = realloc (ptr, size ? size : 1);
    if (p == NULL)
        out_of_memory ();
    return p;
}

char *
xstrdup (const char *s)
{
    char *p = strdup (s);
    if (p == NULL)
        out_of_memory ();
    return p;
}

char *
xstrndup (const char *s, size_t n)
{
    char *p = strndup (s, n);
    if (p == NULL)
        out_of_memory ();
    return p;
}

char *
xvasprintf (const char *fmt, va_list ap)
{
    char *p = NULL;
    if (vasprintf (&p, fmt, ap) < 0)
        out_of_memory ();
    return p;
}

char *
xasprintf (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    char *p = xvasprintf (fmt, ap);
    va_end (ap);
    return p;
}
