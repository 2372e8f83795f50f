#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

int
wr_error_setv (wr_error_t *err, int errno_value, const char *fmt, va_list ap)
{
    if (err == NULL)
        return -1;
    char *message = xvasprintf (fmt, ap);
    if (errno_value != 0) {
        char *with_errno = xasprintf ("%s: %s", message, strerror (errno_value));
        free (message);
        message = with_errno;
    }
    wr_error_free (err);
    *err = xmalloc (sizeof **err);
    (*err)->errno_value = errno_value;
    (*err)->message = message;
    return -1;
}

int
wr_error_set (wr_error_t *err, int errno_value, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    wr_error_setv (err, errno_value, fmt, ap);
    va_end (ap);
    return -1;
}

int
wr_error_prefix (wr_error_t *err, const char *fmt, ...)
{
    if (err == NULL || *err == NULL)
        return -1;
    va_list ap;
    va_start (ap, fmt);
    char *context = xvasprintf (fmt, ap);
    va_end (ap);
    char *message = xasprintf ("%s: %s", context, (*err)->message);
    free (context);
    free ((*err)->message);
    (*err)->message = message;
    return -1;
}

void
wr_error_free (wr_error_t *err)
{
    if (err == NULL || *err == NULL)
        return;
    free ((*err)->message);
    free (*err);
    *err = NULL;
}
