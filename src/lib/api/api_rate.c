#include "api_rate.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define DEFAULT_MAX_CLIENTS 4096
#define BUCKETS 1024

typedef struct client_s {
    struct client_s *next;
    char *key;
    double tokens;
    int64_t at_ms; /* when TOKENS was last brought up to date */
} client_t;

struct wr_api_rate_s {
    pthread_mutex_t lock;
    double rate; /* tokens a millisecond */
    double burst;
    size_t max_clients;
    size_t n_clients;
    client_t *buckets[BUCKETS];
};

static size_t
hash_key (const char *key)
{
    /* FNV-1a: the keys are the server's own ("uid:0", "tcp:10.0.0.1"),
     * not chosen by clients, so a plain hash is enough. */
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *) key; *p != '\0'; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    return (size_t) (h % BUCKETS);
}

wr_api_rate_t *
wr_api_rate_new (double rate, unsigned burst, size_t max_clients)
{
    wr_api_rate_t *r = xzalloc (sizeof *r);
    pthread_mutex_init (&r->lock, NULL);
    r->rate = rate / 1000.0;
    r->burst = burst >= 1 ? burst : 1;
    r->max_clients = max_clients > 0 ? max_clients : DEFAULT_MAX_CLIENTS;
    return r;
}

void
wr_api_rate_free (wr_api_rate_t *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < BUCKETS; i++) {
        client_t *c = r->buckets[i];
        while (c != NULL) {
            client_t *next = c->next;
            free (c->key);
            free (c);
            c = next;
        }
    }
    pthread_mutex_destroy (&r->lock);
    free (r);
}

static void
refill (const wr_api_rate_t *r, client_t *c, int64_t now_ms)
{
    if (now_ms > c->at_ms) {
        c->tokens += (double) (now_ms - c->at_ms) * r->rate;
        if (c->tokens > r->burst)
            c->tokens = r->burst;
        c->at_ms = now_ms;
    }
}

/* Forgets the clients whose buckets are full again: they would be made
 * again the same.  The lock held. */
static void
sweep (wr_api_rate_t *r, int64_t now_ms)
{
    for (size_t i = 0; i < BUCKETS; i++) {
        client_t **link = &r->buckets[i];
        while (*link != NULL) {
            client_t *c = *link;
            refill (r, c, now_ms);
            if (c->tokens >= r->burst) {
                *link = c->next;
                free (c->key);
                free (c);
                r->n_clients--;
            } else {
                link = &c->next;
            }
        }
    }
}

static int64_t
wait_ms (const wr_api_rate_t *r, double tokens)
{
    double ms = (1.0 - tokens) / r->rate;
    int64_t whole = (int64_t) ms;
    if ((double) whole < ms)
        whole++;
    return whole >= 1 ? whole : 1;
}

int64_t
wr_api_rate_take (wr_api_rate_t *r, const char *client, int64_t now_ms)
{
    pthread_mutex_lock (&r->lock);
    size_t b = hash_key (client);
    client_t *c = r->buckets[b];
    while (c != NULL && strcmp (c->key, client) != 0)
        c = c->next;
    if (c == NULL) {
        if (r->n_clients >= r->max_clients)
            sweep (r, now_ms);
        if (r->n_clients >= r->max_clients) {
            /* Every tracked client is busy: the newcomer waits for one
             * token's time, as if its bucket were empty. */
            int64_t wait = wait_ms (r, 0);
            pthread_mutex_unlock (&r->lock);
            return wait;
        }
        c = xzalloc (sizeof *c);
        c->key = xstrdup (client);
        c->tokens = r->burst;
        c->at_ms = now_ms;
        c->next = r->buckets[b];
        r->buckets[b] = c;
        r->n_clients++;
    }
    refill (r, c, now_ms);
    int64_t wait = 0;
    if (c->tokens >= 1.0)
        c->tokens -= 1.0;
    else
        wait = wait_ms (r, c->tokens);
    pthread_mutex_unlock (&r->lock);
    return wait;
}

size_t
wr_api_rate_clients (wr_api_rate_t *r)
{
    pthread_mutex_lock (&r->lock);
    size_t n = r->n_clients;
    pthread_mutex_unlock (&r->lock);
    return n;
}
