/* spawn-floor N [PROGRAM [fork]]: posix_spawn of PROGRAM (default
 * /bin/true) and waitpid for it, N times, printing each spawn+wait time in
 * microseconds, one a line.  With `fork`: fork, then execv in the child,
 * instead of posix_spawn (glibc's posix_spawn uses clone(CLONE_VM |
 * CLONE_VFORK), which gVisor makes much cheaper than a fork).
 *
 * Static, with nothing of warren's: bench/exec uploads it into a sandbox
 * and runs it once through the API, so that the cost of starting a process
 * inside gVisor (the floor any exec has) is measured from inside, on the
 * sandbox's own clock. */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long
now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int
main (int argc, char **argv)
{
    if (argc < 2 || argc > 4 || (argc == 4 && strcmp (argv[3], "fork") != 0)) {
        fprintf (stderr, "usage: spawn-floor N [PROGRAM [fork]]\n");
        return 2;
    }
    long n = strtol (argv[1], NULL, 10);
    char *program = argc > 2 ? argv[2] : "/bin/true";
    int use_fork = argc == 4;
    if (n < 1 || n > 1000000) {
        fprintf (stderr, "spawn-floor: N must be 1 to 1000000, not %s\n", argv[1]);
        return 2;
    }
    long long *took = calloc ((size_t) n, sizeof *took);
    if (took == NULL)
        return 1;
    for (long i = 0; i < n; i++) {
        char *child_argv[] = { program, NULL };
        pid_t pid;
        int status;
        long long t0 = now_ns ();
        int rc = 0;
        if (use_fork) {
            pid = fork ();
            if (pid == 0) {
                execv (program, child_argv);
                _exit (127);
            }
            rc = pid < 0 ? errno : 0;
        } else {
            rc = posix_spawn (&pid, program, NULL, NULL, child_argv, environ);
        }
        if (rc != 0) {
            fprintf (stderr, "spawn-floor: %s %s: error %d\n", use_fork ? "fork" : "posix_spawn",
                     program, rc);
            return 1;
        }
        if (waitpid (pid, &status, 0) != pid || !WIFEXITED (status) || WEXITSTATUS (status) != 0) {
            fprintf (stderr, "spawn-floor: %s did not exit 0 (status %d)\n", program, status);
            return 1;
        }
        took[i] = now_ns () - t0;
    }
    /* Printed after the loop, so that writing the output is not timed. */
    for (long i = 0; i < n; i++)
        printf ("%lld\n", took[i] / 1000);
    free (took);
    return 0;
}
