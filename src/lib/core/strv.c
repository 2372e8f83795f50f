#include "strv.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

size_t
wr_strv_length (char *const *strv)
{
    size_t n = 0;
    if (strv != NULL)
        while (strv[n] != NULL)
            n++;
    return n;
}

void
wr_strv_add_take (char ***strv, char *s)
{
    size_t n = wr_strv_length (*strv);
    *strv = xrealloc (*strv, (n + 2) * sizeof (char *));
    (*strv)[n] = s;
    (*strv)[n + 1] = NULL;
}

void
wr_strv_add (char ***strv, const char *s)
{
    wr_strv_add_take (strv, xstrdup (s));
}

void
wr_strv_extend (char ***strv, char *const *other)
{
    for (size_t i = 0; other != NULL && other[i] != NULL; i++)
        wr_strv_add (strv, other[i]);
}

bool
wr_strv_contains (char *const *strv, const char *s)
{
    for (size_t i = 0; strv != NULL && strv[i] != NULL; i++)
        if (strcmp (strv[i], s) == 0)
            return true;
    return false;
}

char **
wr_strv_copy (char *const *strv)
{
    char **copy = xzalloc (sizeof (char *));
    wr_strv_extend (&copy, strv);
    return copy;
}

char *
wr_strv_join (char *const *strv, const char *separator)
{
    size_t seplen = strlen (separator);
    size_t total = 1;
    for (size_t i = 0; strv != NULL && strv[i] != NULL; i++)
        total += strlen (strv[i]) + seplen;
    char *out = xmalloc (total);
    char *p = out;
    for (size_t i = 0; strv != NULL && strv[i] != NULL; i++) {
        if (i > 0) {
            memcpy (p, separator, seplen);
            p += seplen;
        }
        size_t len = strlen (strv[i]);
        memcpy (p, strv[i], len);
        p += len;
    }
    *p = '\0';
    return out;
}

char **
wr_strv_split (const char *s, const char *separators)
{
    char **out = xzalloc (sizeof (char *));
    while (*s != '\0') {
        size_t skip = strspn (s, separators);
        s += skip;
        size_t len = strcspn (s, separators);
        if (len > 0)
            wr_strv_add_take (&out, xstrndup (s, len));
        s += len;
    }
    return out;
}

void
wr_strv_free (char **strv)
{
    if (strv == NULL)
        return;
    for (size_t i = 0; strv[i] != NULL; i++)
        free (strv[i]);
    free (strv);
}
