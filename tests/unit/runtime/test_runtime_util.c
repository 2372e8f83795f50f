#include "test_runtime_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "strv.h"
#include "xalloc.h"

static void
die (const char *what, const char *path)
{
    fprintf (stderr, "test setup: %s `%s`: %s\n", what, path, strerror (errno));
    abort ();
}

char *
wr_test_tmpdir (void)
{
    char *dir = xstrdup ("/tmp/warren-test-runtime.XXXXXX");
    if (mkdtemp (dir) == NULL)
        die ("mkdtemp", dir);
    return dir;
}

void
wr_test_rm_rf (const char *dir)
{
    if (strncmp (dir, "/tmp/warren-test-", strlen ("/tmp/warren-test-")) != 0)
        abort ();
    cleanup_free char *cmd = xasprintf ("rm -rf '%s'", dir);
    if (system (cmd) != 0)
        fprintf (stderr, "warning: could not remove %s\n", dir);
}

void
wr_test_write_file (const char *path, const char *text)
{
    cleanup_free char *tmp = xasprintf ("%s.tmp", path);
    FILE *f = fopen (tmp, "w");
    if (f == NULL)
        die ("create", tmp);
    fputs (text, f);
    if (fclose (f) != 0)
        die ("write", tmp);
    if (rename (tmp, path) < 0)
        die ("rename", tmp);
}

char *
wr_test_read_file (const char *path)
{
    cleanup_fclose FILE *f = fopen (path, "r");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = xmalloc (cap);
    size_t n;
    while ((n = fread (buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 1024) {
            cap *= 2;
            buf = xrealloc (buf, cap);
        }
    }
    buf[len] = '\0';
    return buf;
}

static char *
write_script (const char *dir, const char *name, const char *body)
{
    char *path = xasprintf ("%s/%s", dir, name);
    cleanup_free char *text = xasprintf ("#!/bin/sh\necho \"$*\" >> '%s/calls'\n%s", dir, body);
    wr_test_write_file (path, text);
    if (chmod (path, 0755) < 0)
        die ("chmod", path);
    return path;
}

static const char runsc_flags[] =
    "  -TESTONLY-allow-packet-endpoint-write\n"
    "    \tTEST ONLY; do not ever use!\n"
    "  -net-raw runsc exec\n"
    "    \tenable raw sockets.\n"
    "  -network value\n"
    "    \tspecifies which network to use: sandbox (default), host, none.\n"
    "  -systemd-cgroup\n"
    "    \tEXPERIMENTAL. Use systemd for cgroups.\n";

char *
wr_test_fake_runsc (const char *dir, const char *name, const char *version, bool flags_command)
{
    /* The flags text goes into a here-document (flags) or into --help. */
    cleanup_free char *script = NULL;
    if (flags_command) {
        script =
            xasprintf ("case \"$1\" in\n"
                       "--version) printf 'runsc version %s\\nspec: 1.0.2-dev\\n' ;;\n"
                       "help) printf 'Usage: runsc <flags> <subcommand> <subcommand args>\\n\\n"
                       "Subcommands:\\n\\tcreate           create a secure container\\n"
                       "\\trun              create and run a secure container\\n"
                       "\\tflags            describe all known top-level flags\\n' >&2 ;;\n"
                       "flags) cat >&2 <<'FLAGS'\n%sFLAGS\n;;\n"
                       "*) echo \"fake runsc: $*\" >&2; exit 64 ;;\n"
                       "esac\n",
                       version, runsc_flags);
    } else {
        script = xasprintf (
            "case \"$1\" in\n"
            "--version) printf 'runsc version %s\\nspec: 1.0.2-dev\\n' ;;\n"
            "help) printf 'Usage: runsc <flags> <subcommand> <subcommand args>\\n\\n"
            "Subcommands:\\n\\tcreate           create a secure container\\n"
            "\\trun              create and run a secure container\\n' >&2 ;;\n"
            "--help) cat >&2 <<'FLAGS'\nUsage: runsc <flags> <subcommand>\n\n%sFLAGS\n;;\n"
            "*) echo \"fake runsc: $*\" >&2; exit 64 ;;\n"
            "esac\n",
            version, runsc_flags);
    }
    return write_script (dir, name, script);
}

char *
wr_test_fake_runc (const char *dir)
{
    return write_script (dir, "runc",
                         "case \"$1\" in\n"
                         "--version) printf 'runc version 1.1.5+ds1\\ncommit: x\\n"
                         "spec: 1.0.2-dev\\n' ;;\n"
                         "--help) cat <<'HELP'\n"
                         "COMMANDS:\n"
                         "   create      create a container\n"
                         "   features    show the enabled features\n"
                         "\n"
                         "GLOBAL OPTIONS:\n"
                         "   --debug             enable debug logging\n"
                         "   --systemd-cgroup    enable systemd cgroup support\n"
                         "HELP\n"
                         ";;\n"
                         "*) exit 64 ;;\n"
                         "esac\n");
}

int
wr_test_count_calls (const char *dir)
{
    cleanup_free char *path = xasprintf ("%s/calls", dir);
    cleanup_free char *text = wr_test_read_file (path);
    int n = 0;
    for (const char *p = text; p != NULL && *p != '\0'; p++)
        if (*p == '\n')
            n++;
    return n;
}

char **
wr_test_list_dir (const char *dir)
{
    char **names = xzalloc (sizeof (char *));
    cleanup_closedir DIR *d = opendir (dir);
    if (d == NULL)
        return names;
    struct dirent *e;
    while ((e = readdir (d)) != NULL)
        if (e->d_name[0] != '.')
            wr_strv_add (&names, e->d_name);
    return names;
}
