/* docker-ping SOCKET [INTERVAL_MS] [TIMEOUT_MS]: asks dockerd's Engine API
 * `GET /_ping` on the unix socket SOCKET every INTERVAL_MS (default 20)
 * until it answers 200, or fails after TIMEOUT_MS (default 30000).
 *
 * Static, with nothing of warren's: bench/docker-ready's lean baseline
 * mounts it into a plain container to wait for dockerd the way
 * warren-init does, so that the comparison isolates what warren does
 * differently. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long
now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 when dockerd answered 200 OK, 0 when not (yet). */
static int
ping_once (const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen (path) >= sizeof addr.sun_path)
        return 0;
    strcpy (addr.sun_path, path);
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    int ok = 0;
    static const char request[] = "GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n";
    char answer[64] = { 0 };
    if (connect (fd, (struct sockaddr *) &addr, sizeof addr) == 0 &&
        write (fd, request, sizeof request - 1) == (ssize_t) (sizeof request - 1) &&
        read (fd, answer, sizeof answer - 1) > 12)
        ok = strncmp (answer, "HTTP/1.", 7) == 0 && strncmp (answer + 9, "200", 3) == 0;
    close (fd);
    return ok;
}

int
main (int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf (stderr, "usage: docker-ping SOCKET [INTERVAL_MS] [TIMEOUT_MS]\n");
        return 2;
    }
    long interval = argc > 2 ? strtol (argv[2], NULL, 10) : 20;
    long timeout = argc > 3 ? strtol (argv[3], NULL, 10) : 30000;
    long long deadline = now_ms () + timeout;
    for (;;) {
        if (ping_once (argv[1]))
            return 0;
        if (now_ms () >= deadline) {
            fprintf (stderr, "docker-ping: %s did not answer GET /_ping within %ld ms\n", argv[1],
                     timeout);
            return 1;
        }
        struct timespec pause = { interval / 1000, (interval % 1000) * 1000000 };
        while (nanosleep (&pause, &pause) < 0 && errno == EINTR)
            ;
    }
}
