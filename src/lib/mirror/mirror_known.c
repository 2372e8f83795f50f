/* See mirror_known.h: a hash table of pairs, chained, with a ring of the
 * pairs in the order they were recorded for forgetting the oldest. */
#include "mirror_known.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "xalloc.h"

typedef struct entry {
    struct entry *next;
    char *key; /* "repository@digest" */
    uint64_t hash;
    int64_t size;
    char *media_type;
    size_t slot; /* its place in the ring */
} entry_t;

struct wr_mirror_known_s {
    pthread_mutex_t lock;
    entry_t **buckets;
    size_t n_buckets; /* a power of two */
    entry_t **ring; /* MAX slots; NULL when free */
    size_t max;
    size_t next; /* the slot the next pair takes (the oldest when full) */
    size_t count;
};

wr_mirror_known_t *
wr_mirror_known_new (size_t max)
{
    wr_mirror_known_t *k = xzalloc (sizeof *k);
    k->max = max > 0 ? max : 1;
    k->n_buckets = 64;
    while (k->n_buckets < k->max)
        k->n_buckets *= 2;
    k->buckets = xzalloc (k->n_buckets * sizeof *k->buckets);
    k->ring = xzalloc (k->max * sizeof *k->ring);
    pthread_mutex_init (&k->lock, NULL);
    return k;
}

static void
entry_free (entry_t *e)
{
    free (e->key);
    free (e->media_type);
    free (e);
}

void
wr_mirror_known_free (wr_mirror_known_t *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < k->n_buckets; i++) {
        for (entry_t *e = k->buckets[i], *next; e != NULL; e = next) {
            next = e->next;
            entry_free (e);
        }
    }
    free (k->buckets);
    free (k->ring);
    pthread_mutex_destroy (&k->lock);
    free (k);
}

static entry_t **
find (wr_mirror_known_t *k, const char *key, uint64_t hash)
{
    entry_t **p = &k->buckets[hash & (k->n_buckets - 1)];
    while (*p != NULL && ((*p)->hash != hash || strcmp ((*p)->key, key) != 0))
        p = &(*p)->next;
    return p;
}

/* Takes E out of its chain and its slot. */
static void
unlink_entry (wr_mirror_known_t *k, entry_t *e)
{
    entry_t **p = find (k, e->key, e->hash);
    if (*p == e)
        *p = e->next;
    k->ring[e->slot] = NULL;
    k->count--;
}

void
wr_mirror_known_put (wr_mirror_known_t *k, const char *repository, const char *digest, int64_t size,
                     const char *media_type)
{
    char *key = xasprintf ("%s@%s", repository, digest);
    uint64_t hash = wr_fnv1a_64 (key);
    pthread_mutex_lock (&k->lock);
    entry_t **p = find (k, key, hash);
    entry_t *e = *p;
    if (e != NULL) {
        unlink_entry (k, e);
        free (key);
    } else {
        e = xzalloc (sizeof *e);
        e->key = key;
        e->hash = hash;
    }
    e->size = size;
    if (media_type != NULL || e->media_type == NULL) {
        free (e->media_type);
        e->media_type = media_type != NULL ? xstrdup (media_type) : NULL;
    }
    /* The slot of the oldest pair when the ring is full. */
    entry_t *old = k->ring[k->next];
    if (old != NULL) {
        unlink_entry (k, old);
        entry_free (old);
    }
    e->slot = k->next;
    k->ring[k->next] = e;
    k->next = (k->next + 1) % k->max;
    p = find (k, e->key, e->hash);
    e->next = NULL;
    *p = e;
    k->count++;
    pthread_mutex_unlock (&k->lock);
}

bool
wr_mirror_known_get (wr_mirror_known_t *k, const char *repository, const char *digest,
                     int64_t *size, char **media_type)
{
    char *key = xasprintf ("%s@%s", repository, digest);
    uint64_t hash = wr_fnv1a_64 (key);
    pthread_mutex_lock (&k->lock);
    entry_t *e = *find (k, key, hash);
    if (e != NULL) {
        *size = e->size;
        if (media_type != NULL)
            *media_type = e->media_type != NULL ? xstrdup (e->media_type) : NULL;
    }
    pthread_mutex_unlock (&k->lock);
    free (key);
    return e != NULL;
}

size_t
wr_mirror_known_count (wr_mirror_known_t *k)
{
    pthread_mutex_lock (&k->lock);
    size_t n = k->count;
    pthread_mutex_unlock (&k->lock);
    return n;
}
