/* Tests of the warren-init program (its path is argv[1]), run outside a
 * sandbox where it is a child subreaper: exit codes, signal forwarding,
 * reaping of orphans, and its error messages.  The Docker mode is only
 * run up to its configuration check here: the rest mounts things and
 * belongs in a sandbox (tests/integration). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"

static const char *warren_init;

typedef struct {
    pid_t pid;
    int out; /* its stdout */
    int err; /* its stderr */
} proc_t;

/* Starts warren-init with ARGS (NULL-terminated) and ENV additions. */
static proc_t
start (const char *const *args, const char *const *env)
{
    int out[2], err[2];
    assert_int_equal (pipe2 (out, O_CLOEXEC), 0);
    assert_int_equal (pipe2 (err, O_CLOEXEC), 0);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        /* Not the terminal: warren-init would hand it to its child. */
        int null_fd = open ("/dev/null", O_RDONLY);
        dup2 (null_fd, STDIN_FILENO);
        dup2 (out[1], STDOUT_FILENO);
        dup2 (err[1], STDERR_FILENO);
        for (size_t i = 0; env && env[i]; i++)
            putenv ((char *) env[i]);
        size_t n = 0;
        while (args[n])
            n++;
        char **argv = xzalloc ((n + 2) * sizeof (char *));
        argv[0] = (char *) warren_init;
        for (size_t i = 0; i < n; i++)
            argv[i + 1] = (char *) args[i];
        sigset_t empty;
        sigemptyset (&empty);
        sigprocmask (SIG_SETMASK, &empty, NULL);
        execv (warren_init, argv);
        _exit (99);
    }
    close (out[1]);
    close (err[1]);
    return (proc_t){ pid, out[0], err[0] };
}

/* Reads FD to its end. */
static char *
read_all (int fd)
{
    size_t cap = 4096, len = 0;
    char *buf = xmalloc (cap);
    for (;;) {
        if (len + 1 >= cap)
            buf = xrealloc (buf, cap *= 2);
        ssize_t n = read (fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t) n;
    }
    buf[len] = '\0';
    return buf;
}

/* Reads one line from FD within 5 seconds. */
static char *
read_line (int fd)
{
    char line[256];
    size_t len = 0;
    while (len < sizeof line - 1) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        if (poll (&pfd, 1, 5000) != 1)
            fail_msg ("no line from warren-init's child within 5 s");
        if (read (fd, line + len, 1) != 1)
            break;
        if (line[len] == '\n')
            break;
        len++;
    }
    line[len] = '\0';
    return xstrdup (line);
}

static int
finish (proc_t *p, char **out, char **err)
{
    char *o = read_all (p->out);
    char *e = read_all (p->err);
    close (p->out);
    close (p->err);
    int status;
    while (waitpid (p->pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (out)
        *out = o;
    else
        free (o);
    if (err)
        *err = e;
    else
        free (e);
    if (WIFSIGNALED (status))
        fail_msg ("warren-init itself was killed by signal %d", WTERMSIG (status));
    return WEXITSTATUS (status);
}

static int
run (const char *const *args, const char *const *env, char **out, char **err)
{
    proc_t p = start (args, env);
    return finish (&p, out, err);
}

static void
test_exit_status_is_passed_on (void **state)
{
    const char *args[] = { "sh", "-c", "echo hello; exit 7", NULL };
    cleanup_free char *out = NULL;
    assert_int_equal (run (args, NULL, &out, NULL), 7);
    assert_string_equal (out, "hello\n");
    const char *ok[] = { "--", "true", NULL };
    assert_int_equal (run (ok, NULL, NULL, NULL), 0);
}

static void
test_killed_child_gives_128_plus_signal (void **state)
{
    const char *args[] = { "sh", "-c", "kill -KILL $$", NULL };
    assert_int_equal (run (args, NULL, NULL, NULL), 137);
    const char *usr2[] = { "sh", "-c", "kill -USR2 $$", NULL };
    assert_int_equal (run (usr2, NULL, NULL, NULL), 128 + SIGUSR2);
}

static void
test_missing_and_unrunnable_commands (void **state)
{
    const char *missing[] = { "warren-no-such-command", NULL };
    cleanup_free char *err = NULL;
    assert_int_equal (run (missing, NULL, NULL, &err), 127);
    assert_non_null (strstr (err, "`warren-no-such-command`"));
    assert_non_null (strstr (err, "No such file or directory"));
    const char *not_executable[] = { "/etc/passwd", NULL };
    assert_int_equal (run (not_executable, NULL, NULL, NULL), 126);
}

static void
test_usage_errors (void **state)
{
    const char *none[] = { NULL };
    cleanup_free char *err = NULL;
    assert_int_equal (run (none, NULL, NULL, &err), 125);
    assert_non_null (strstr (err, "no command given"));
    const char *bad[] = { "--frobnicate", "true", NULL };
    cleanup_free char *err2 = NULL;
    assert_int_equal (run (bad, NULL, NULL, &err2), 125);
    assert_non_null (strstr (err2, "`--frobnicate`"));
}

static void
test_help_lists_the_environment (void **state)
{
    const char *args[] = { "--help", NULL };
    cleanup_free char *out = NULL;
    assert_int_equal (run (args, NULL, &out, NULL), 0);
    const char *vars[] = { "WARREN_NETWORK",         "WARREN_DOCKER_TMPFS_SIZE",
                           "WARREN_DOCKERD_TIMEOUT", "WARREN_DOCKERD_ARGS",
                           "WARREN_DOCKERD_LOG",     "--docker" };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (strstr (out, vars[i]) == NULL)
            fail_msg ("--help does not mention %s", vars[i]);
}

static void
test_signals_are_forwarded (void **state)
{
    const char *args[] = { "sh", "-c",
                           "trap 'echo got-usr1' USR1; trap 'echo got-hup' HUP; "
                           "trap 'exit 42' TERM; echo ready; "
                           "while :; do sleep 0.02; done",
                           NULL };
    proc_t p = start (args, NULL);
    cleanup_free char *ready = read_line (p.out);
    assert_string_equal (ready, "ready");
    kill (p.pid, SIGUSR1);
    cleanup_free char *usr1 = read_line (p.out);
    assert_string_equal (usr1, "got-usr1");
    kill (p.pid, SIGHUP);
    cleanup_free char *hup = read_line (p.out);
    assert_string_equal (hup, "got-hup");
    kill (p.pid, SIGTERM);
    assert_int_equal (finish (&p, NULL, NULL), 42);
}

static void
test_term_kills_a_child_without_handler (void **state)
{
    const char *args[] = { "sh", "-c", "echo ready; exec sleep 30", NULL };
    proc_t p = start (args, NULL);
    cleanup_free char *ready = read_line (p.out);
    assert_string_equal (ready, "ready");
    kill (p.pid, SIGTERM);
    assert_int_equal (finish (&p, NULL, NULL), 128 + SIGTERM);
}

static void
test_orphans_do_not_stay_zombies (void **state)
{
    /* The command leaves orphans behind and then counts the zombies whose
     * parent is warren-init ($PPID); its exit status is that count. */
    const char *args[] = {
        "sh", "-c",
        "for i in 1 2 3 4; do (sleep 0.05 &); done; sleep 0.6; n=0; "
        "for f in /proc/[0-9]*/status; do "
        "  if grep -q '^State:.*Z' $f 2>/dev/null && grep -q \"^PPid:[[:space:]]*$PPID\\$\" $f; "
        "  then n=$((n+1)); fi; "
        "done; exit $n",
        NULL
    };
    assert_int_equal (run (args, NULL, NULL, NULL), 0);
}

static void
test_docker_mode_rejects_bad_settings_first (void **state)
{
    const char *args[] = { "--docker", "--", "true", NULL };
    const char *env[] = { "WARREN_NETWORK=bridge", NULL };
    cleanup_free char *err = NULL;
    assert_int_equal (run (args, env, NULL, &err), 125);
    assert_non_null (strstr (err, "WARREN_NETWORK=`bridge`"));
    const char *env2[] = { "WARREN_DOCKER_TMPFS_SIZE=huge", NULL };
    cleanup_free char *err2 = NULL;
    assert_int_equal (run (args, env2, NULL, &err2), 125);
    assert_non_null (strstr (err2, "WARREN_DOCKER_TMPFS_SIZE"));
}

/* The static binary reads daemon.json with the json-c linked into it, and
 * stops at a malformed one before it changes anything (a dockerd given as
 * the command names its own --config-file, so no dockerd need exist). */
static void
test_docker_mode_rejects_malformed_daemon_json (void **state)
{
    char dir[] = "/tmp/warren-init-binary-XXXXXX";
    assert_non_null (mkdtemp (dir));
    cleanup_free char *path = xasprintf ("%s/daemon.json", dir);
    const struct {
        const char *text;
        const char *error;
    } cases[] = {
        { "{\"hosts\": \"unix:///run/d.sock\"}",
          "`hosts` must be an array of strings, not a string" },
        { "{\n  \"iptables\": false,\n  \"iptables\": true\n}\n",
          "`iptables` is given twice, at line 2, column 3 (byte 4) and at line 3, column 3 "
          "(byte 25)" },
        { "{\"data-root\": \"/srv\",}",
          "not JSON: unexpected character at line 1, column 22 (byte 21)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f = fopen (path, "w");
        assert_non_null (f);
        fputs (cases[i].text, f);
        fclose (f);
        const char *args[] = {
            "--docker", "--", "/nonexistent/dockerd", "--config-file", path, NULL
        };
        cleanup_free char *err = NULL;
        assert_int_equal (run (args, NULL, NULL, &err), 125);
        cleanup_free char *want =
            xasprintf ("read dockerd's configuration `%s`: %s", path, cases[i].error);
        if (strstr (err, want) == NULL)
            fail_msg ("warren-init's error `%s` does not say `%s`", err, want);
    }
    unlink (path);
    rmdir (dir);
}

int
main (int argc, char **argv)
{
    if (argc < 2) {
        fprintf (stderr, "usage: %s PATH-TO-WARREN-INIT\n", argv[0]);
        return 2;
    }
    warren_init = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_exit_status_is_passed_on),
        cmocka_unit_test (test_killed_child_gives_128_plus_signal),
        cmocka_unit_test (test_missing_and_unrunnable_commands),
        cmocka_unit_test (test_usage_errors),
        cmocka_unit_test (test_help_lists_the_environment),
        cmocka_unit_test (test_signals_are_forwarded),
        cmocka_unit_test (test_term_kills_a_child_without_handler),
        cmocka_unit_test (test_orphans_do_not_stay_zombies),
        cmocka_unit_test (test_docker_mode_rejects_bad_settings_first),
        cmocka_unit_test (test_docker_mode_rejects_malformed_daemon_json),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
