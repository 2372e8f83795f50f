/* Per-client request rates: a token bucket for each client warrend
 * serves, so that one client's flood of requests cannot take the daemon
 * from the others.  A client is what the server can tell apart without
 * trusting the client's word (api_server.c: the peer's uid on the unix
 * socket, the peer's address on TCP).
 *
 * Each client may send BURST requests at once and RATE a second after
 * that.  The table of clients is bounded: a client whose bucket is full
 * again is forgotten (it would come back the same), and when MAX_CLIENTS
 * clients all have requests in flight a new one is refused.  Thread-safe. */
#ifndef WARREN_API_RATE_H
#define WARREN_API_RATE_H

#include <stddef.h>
#include <stdint.h>

typedef struct wr_api_rate_s wr_api_rate_t;

/* RATE requests a second (> 0), BURST at once (>= 1), at most MAX_CLIENTS
 * clients tracked (0: 4096). */
wr_api_rate_t *wr_api_rate_new (double rate, unsigned burst, size_t max_clients);
void wr_api_rate_free (wr_api_rate_t *rate);

/* Takes one request of CLIENT's at NOW_MS (a monotonic clock): 0 when it
 * may go on, else the milliseconds until it may (>= 1). */
int64_t wr_api_rate_take (wr_api_rate_t *rate, const char *client, int64_t now_ms);

/* How many clients are tracked (for tests and /metrics). */
size_t wr_api_rate_clients (wr_api_rate_t *rate);

#endif
