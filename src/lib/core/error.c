#include "error.h"

#include <errno.h>
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
    (*err)->kind = wr_error_kind_of_errno (errno_value);
    (*err)->message = message;
    return -1;
}

int
wr_error_set_kind (wr_error_t *err, wr_error_kind_t kind, int errno_value, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    wr_error_setv (err, errno_value, fmt, ap);
    va_end (ap);
    return wr_error_retag (err, kind);
}

int
wr_error_retag (wr_error_t *err, wr_error_kind_t kind)
{
    if (err != NULL && *err != NULL)
        (*err)->kind = kind;
    return -1;
}

wr_error_kind_t
wr_error_kind (const wr_error_t err)
{
    return err != NULL ? err->kind : WR_ERROR_INTERNAL;
}

wr_error_kind_t
wr_error_kind_of_errno (int errno_value)
{
    switch (errno_value) {
    case 0:
    case EINVAL:
    case EILSEQ:
    case EBADMSG:
    case EPROTO:
    case ENOEXEC:
        return WR_ERROR_INVALID;
    case ENOENT:
    case ESRCH:
        return WR_ERROR_NOT_FOUND;
    case EEXIST:
    case ENOTEMPTY:
        return WR_ERROR_EXISTS;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
    case E2BIG:
    case EMFILE:
    case ENFILE:
    case ENAMETOOLONG:
    case EOVERFLOW:
        return WR_ERROR_LIMIT;
    case ETIMEDOUT:
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ENETDOWN:
    case EPIPE:
    case EAGAIN:
    case EBUSY:
        return WR_ERROR_UNAVAILABLE;
    case ECANCELED:
        return WR_ERROR_CANCELLED;
    default:
        return WR_ERROR_INTERNAL;
    }
}

const char *
wr_error_kind_name (wr_error_kind_t kind)
{
    switch (kind) {
    case WR_ERROR_NOT_FOUND:
        return "not_found";
    case WR_ERROR_EXISTS:
        return "exists";
    case WR_ERROR_INVALID:
        return "invalid";
    case WR_ERROR_LIMIT:
        return "limit";
    case WR_ERROR_UNAVAILABLE:
        return "unavailable";
    case WR_ERROR_CANCELLED:
        return "cancelled";
    case WR_ERROR_TOO_MANY:
        return "too_many";
    case WR_ERROR_INTERNAL:
        break;
    }
    return "internal";
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

int
wr_error_propagate (wr_error_t *err, wr_error_t *from)
{
    if (err != NULL && err != from) {
        wr_error_free (err);
        *err = *from;
        *from = NULL;
    } else if (err == NULL) {
        wr_error_free (from);
    }
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
