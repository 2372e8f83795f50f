/* Cleanup attributes for locals that own something.  Initialise such a
 * local to NULL (or -1 for descriptors); hand ownership on with
 * steal_pointer() / steal_fd(). */
#ifndef WARREN_CLEANUP_H
#define WARREN_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void
cleanup_free_fn (void *p)
{
    free (*(void **) p);
}

static inline void
cleanup_close_fn (int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close (*fd);
        errno = saved;
    }
}

static inline void
cleanup_fclose_fn (FILE **f)
{
    if (*f != NULL)
        fclose (*f);
}

static inline void
cleanup_closedir_fn (DIR **d)
{
    if (*d != NULL)
        closedir (*d);
}

/* A NULL-terminated array of strings and the strings in it. */
static inline void
cleanup_strv_fn (char ***v)
{
    if (*v == NULL)
        return;
    for (char **p = *v; *p != NULL; p++)
        free (*p);
    free (*v);
}

#define cleanup_free __attribute__ ((cleanup (cleanup_free_fn)))
#define cleanup_close __attribute__ ((cleanup (cleanup_close_fn)))
#define cleanup_fclose __attribute__ ((cleanup (cleanup_fclose_fn)))
#define cleanup_closedir __attribute__ ((cleanup (cleanup_closedir_fn)))
#define cleanup_strv __attribute__ ((cleanup (cleanup_strv_fn)))

static inline void *
steal_pointer_impl (void *pp)
{
    void **p = pp;
    void *v = *p;
    *p = NULL;
    return v;
}
#define steal_pointer(pp) ((__typeof__ (*(pp))) steal_pointer_impl (pp))

static inline int
steal_fd (int *fd)
{
    int v = *fd;
    *fd = -1;
    return v;
}

#endif
