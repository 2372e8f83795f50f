/* Dockerfiles read into a base reference and build steps: every
 * instruction and its forms, continuations, comments and directives,
 * ARG and ENV substitution where Docker substitutes (and not where it
 * does not), and each refusal with the line and what is allowed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile.h"
#include "strv.h"
#include "xalloc.h"

static void
parse_ok (const char *text, char *const *base_env, wr_dockerfile_t *df)
{
    wr_error_t err = NULL;
    int r = wr_dockerfile_parse (text, strlen (text), base_env, df, &err);
    if (r < 0)
        fail_msg ("unexpected error: %s", err->message);
    assert_int_equal (r, 0);
}

/* TEXT is refused with an error of KIND whose message is EXPECTED. */
static void
refused_kind (const char *text, wr_error_kind_t kind, const char *expected)
{
    wr_dockerfile_t df = { 0 };
    wr_error_t err = NULL;
    assert_int_equal (wr_dockerfile_parse (text, strlen (text), NULL, &df, &err), -1);
    assert_non_null (err);
    assert_string_equal (err->message, expected);
    assert_int_equal (err->kind, kind);
    assert_null (df.from);
    assert_int_equal (df.n_steps, 0);
    wr_error_free (&err);
}

static void
refused (const char *text, const char *expected)
{
    refused_kind (text, WR_ERROR_INVALID, expected);
}

static void
assert_strv (char *const *strv, const char *const *expected)
{
    size_t n = 0;
    while (expected[n] != NULL)
        n++;
    assert_int_equal (wr_strv_length (strv), n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal (strv[i], expected[i]);
}

static void
test_every_instruction (void **state)
{
    (void) state;
    wr_dockerfile_t df = { 0 };
    parse_ok ("FROM 127.0.0.1:5000/warren/debian:12\n"
              "RUN echo hi > /hello\n"
              "ENV A=1 B=\"two words\"\n"
              "ENV C three words\n"
              "WORKDIR /app\n"
              "USER nobody:nogroup\n"
              "CMD [\"python3\", \"-m\", \"http.server\"]\n"
              "ENTRYPOINT [\"/entry\"]\n"
              "EXPOSE 80 53/UDP\n"
              "LABEL org.example.a=x \"b\"=\"y z\"\n"
              "LABEL old form value\n",
              NULL, &df);
    assert_string_equal (df.from, "127.0.0.1:5000/warren/debian:12");
    assert_int_equal (df.from_line, 1);
    assert_int_equal (df.n_steps, 10);
    const size_t lines[] = { 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
    for (size_t i = 0; i < 10; i++)
        assert_int_equal (df.step_lines[i], lines[i]);

    assert_int_equal (df.steps[0].kind, WR_BUILD_RUN);
    assert_strv (df.steps[0].commands, (const char *[]){ "echo hi > /hello", NULL });
    assert_null (df.steps[0].env);

    assert_int_equal (df.steps[1].kind, WR_BUILD_ENV);
    assert_strv (df.steps[1].env, (const char *[]){ "A=1", "B=two words", NULL });
    assert_int_equal (df.steps[2].kind, WR_BUILD_ENV);
    assert_strv (df.steps[2].env, (const char *[]){ "C=three words", NULL });

    assert_int_equal (df.steps[3].kind, WR_BUILD_CONFIG);
    assert_string_equal (df.steps[3].workdir, "/app");
    assert_null (df.steps[3].user);
    assert_false (df.steps[3].set_cmd);

    assert_int_equal (df.steps[4].kind, WR_BUILD_CONFIG);
    assert_string_equal (df.steps[4].user, "nobody:nogroup");
    assert_null (df.steps[4].workdir);

    assert_true (df.steps[5].set_cmd);
    assert_false (df.steps[5].set_entrypoint);
    assert_strv (df.steps[5].cmd, (const char *[]){ "python3", "-m", "http.server", NULL });

    /* After a CMD of the Dockerfile's, ENTRYPOINT leaves Cmd alone. */
    assert_true (df.steps[6].set_entrypoint);
    assert_false (df.steps[6].set_cmd);
    assert_strv (df.steps[6].entrypoint, (const char *[]){ "/entry", NULL });

    assert_strv (df.steps[7].expose, (const char *[]){ "80/tcp", "53/udp", NULL });
    assert_strv (df.steps[8].labels, (const char *[]){ "org.example.a=x", "b=y z", NULL });
    assert_strv (df.steps[9].labels, (const char *[]){ "old=form value", NULL });
    wr_dockerfile_clear (&df);
    assert_null (df.steps);
}

static void
test_forms_of_commands (void **state)
{
    (void) state;
    wr_dockerfile_t df = { 0 };
    parse_ok ("from debian:12\n"
              "run [\"/bin/echo\", \"it's\", \"$HOME\"]\n"
              "ENTRYPOINT /start --now\n"
              "CMD []\n"
              "Cmd echo $HOME\n",
              NULL, &df);
    assert_string_equal (df.from, "debian:12");
    assert_int_equal (df.n_steps, 4);
    /* The exec form, run by sh -c: every word quoted, nothing expanded. */
    assert_strv (df.steps[0].commands,
                 (const char *[]){ "exec '/bin/echo' 'it'\\''s' '$HOME'", NULL });
    /* The shell form is sh -c; without an earlier CMD, ENTRYPOINT drops
     * the base's. */
    assert_strv (df.steps[1].entrypoint, (const char *[]){ "/bin/sh", "-c", "/start --now", NULL });
    assert_true (df.steps[1].set_cmd);
    assert_null (df.steps[1].cmd);
    /* CMD [] is an empty Cmd, not none. */
    assert_true (df.steps[2].set_cmd);
    assert_non_null (df.steps[2].cmd);
    assert_null (df.steps[2].cmd[0]);
    /* Not substituted: the shell does it. */
    assert_strv (df.steps[3].cmd, (const char *[]){ "/bin/sh", "-c", "echo $HOME", NULL });
    wr_dockerfile_clear (&df);
}

static void
test_continuations_comments_directives (void **state)
{
    (void) state;
    wr_dockerfile_t df = { 0 };
    parse_ok ("# syntax=docker/dockerfile:1\n"
              "# escape=\\\n"
              "\n"
              "# a comment\n"
              "   FROM debian:12   \n"
              "\n"
              "RUN apt-get update && \\\n"
              "    # a comment inside the instruction\n"
              "\n"
              "    apt-get install -y curl \\   \n"
              "    && echo done\r\n"
              "ENV A=1 \\\n"
              "    B=2\n"
              "RUN echo last \\",
              NULL, &df);
    assert_int_equal (df.from_line, 5);
    assert_int_equal (df.n_steps, 3);
    assert_strv (
        df.steps[0].commands,
        (const char *[]){ "apt-get update &&     apt-get install -y curl     && echo done", NULL });
    assert_int_equal (df.step_lines[0], 7);
    assert_strv (df.steps[1].env, (const char *[]){ "A=1", "B=2", NULL });
    assert_int_equal (df.step_lines[1], 12);
    assert_strv (df.steps[2].commands, (const char *[]){ "echo last", NULL });
    assert_int_equal (df.step_lines[2], 14);
    wr_dockerfile_clear (&df);
}

static void
test_arg_substitution (void **state)
{
    (void) state;
    wr_dockerfile_t df = { 0 };
    parse_ok ("ARG TAG=12\n"
              "ARG REPO=127.0.0.1:5000/warren\n"
              "FROM ${REPO}/debian:$TAG\n"
              "ARG TAG\n"
              "ARG DIR=/opt/${TAG}/x NOVALUE\n"
              "RUN echo $DIR\n"
              "ENV HOME_DIR=$DIR/home KEEP='$DIR' ESC=\\$DIR Q=\"in $TAG\"\n"
              "WORKDIR ${HOME_DIR}\n"
              "USER ${UNSET:-app}\n"
              "LABEL set=${TAG:+yes} unset=${UNSET:+yes}x empty=${NOVALUE:-def}\n"
              "EXPOSE ${PORT:-8080}\n"
              "ENV DIR=from-env\n"
              "RUN true\n"
              "CMD echo $DIR\n",
              NULL, &df);
    assert_string_equal (df.from, "127.0.0.1:5000/warren/debian:12");
    assert_int_equal (df.n_steps, 9);
    /* RUN is not substituted; the ARGs with values are set for it. */
    assert_strv (df.steps[0].commands, (const char *[]){ "echo $DIR", NULL });
    assert_strv (df.steps[0].env, (const char *[]){ "TAG=12", "DIR=/opt/12/x", NULL });
    assert_strv (df.steps[1].env, (const char *[]){ "HOME_DIR=/opt/12/x/home", "KEEP=$DIR",
                                                    "ESC=$DIR", "Q=in 12", NULL });
    assert_string_equal (df.steps[2].workdir, "/opt/12/x/home");
    assert_string_equal (df.steps[3].user, "app");
    assert_strv (df.steps[4].labels, (const char *[]){ "set=yes", "unset=x", "empty=def", NULL });
    assert_strv (df.steps[5].expose, (const char *[]){ "8080/tcp", NULL });
    /* An ENV of the same name hides the ARG from RUN. */
    assert_strv (df.steps[7].env, (const char *[]){ "TAG=12", NULL });
    wr_dockerfile_clear (&df);

    /* An ARG before FROM is not seen after it unless declared again. */
    parse_ok ("ARG V=1\nFROM debian:12\nENV X=[$V]\n", NULL, &df);
    assert_strv (df.steps[0].env, (const char *[]){ "X=[]", NULL });
    wr_dockerfile_clear (&df);
}

static void
test_base_env (void **state)
{
    (void) state;
    char *base[] = { "PATH=/usr/bin:/bin", "HOME=/root", NULL };
    wr_dockerfile_t df = { 0 };
    const char *text = "FROM debian:12\nARG HOME=/arg\nENV PATH=/opt/bin:$PATH\n"
                       "WORKDIR $HOME\nRUN true\n";
    parse_ok (text, base, &df);
    assert_strv (df.steps[0].env, (const char *[]){ "PATH=/opt/bin:/usr/bin:/bin", NULL });
    /* The base's ENV comes before an ARG, and hides it from RUN. */
    assert_string_equal (df.steps[1].workdir, "/root");
    assert_null (df.steps[2].env);
    wr_dockerfile_clear (&df);
    /* Without the base's environment its names are unset. */
    parse_ok (text, NULL, &df);
    assert_strv (df.steps[0].env, (const char *[]){ "PATH=/opt/bin:", NULL });
    assert_string_equal (df.steps[1].workdir, "/arg");
    assert_strv (df.steps[2].env, (const char *[]){ "HOME=/arg", NULL });
    wr_dockerfile_clear (&df);
}

static void
test_refusals (void **state)
{
    (void) state;
    refused ("RUN true\nFROM debian:12\n",
             "line 1: RUN: comes before FROM: a Dockerfile starts with FROM (only ARG may come "
             "before it)");
    refused ("# only a comment\n\n", "no FROM instruction: a Dockerfile starts with FROM IMAGE");
    refused ("FROM debian:12\nRUN true\nFROM busybox\n",
             "line 3: FROM: a second FROM: multi-stage builds are not supported (one FROM, on "
             "line 1); build them with `docker build` in a Docker-enabled sandbox");
    refused ("FROM debian:12 AS build\n",
             "line 1: FROM: `AS build`: named stages (multi-stage builds) are not supported: "
             "give FROM IMAGE, once");
    refused ("FROM --platform=linux/arm64 debian:12\n",
             "line 1: FROM: flags such as `--platform=linux/arm64` are not supported");
    refused ("FROM scratch\n",
             "line 1: FROM: `scratch` is not supported: start from an image with a shell");
    refused ("FROM a b\n", "line 1: FROM: expected FROM IMAGE (one image reference)");
    refused ("FROM debian:12\n\nadd x.tar /\n",
             "line 3: ADD: ADD is not supported (its URLs and archive unpacking are not done): "
             "use COPY for files of the build context");
    refused ("FROM debian:12\nCOPY app.py\n", "line 2: COPY: expected COPY SOURCE... DESTINATION");
    refused ("FROM debian:12\nCOPY a b /app\n",
             "line 2: COPY: with more than one source the destination must be a directory "
             "ending in `/` (`/app/`)");
    refused ("FROM debian:12\nCOPY *.py /app/\n",
             "line 2: COPY: `*.py`: wildcards are not supported: name each file or directory");
    refused ("FROM debian:12\nCOPY ../etc/passwd /x\n",
             "line 2: COPY: `../etc/passwd`: sources are paths inside the build context, without "
             "`..`");
    refused ("FROM debian:12\nCOPY --chown=1:1 a /x\n",
             "line 2: COPY: flags such as `--chown=1:1` are not supported");
    refused ("FROM debian:12\nVOLUME /data\n",
             "line 2: VOLUME is not supported (supported: FROM, RUN, ENV, WORKDIR, USER, CMD, "
             "ENTRYPOINT, EXPOSE, LABEL, ARG, COPY)");
    refused ("FROM debian:12\nFROB x\n",
             "line 2: unknown instruction `FROB` (supported: FROM, RUN, ENV, WORKDIR, USER, CMD, "
             "ENTRYPOINT, EXPOSE, LABEL, ARG, COPY)");
    refused ("FROM debian:12\nRUN --mount=type=cache,target=/x true\n",
             "line 2: RUN: flags such as `--mount=type=cache,target=/x` are not supported");
    refused ("FROM debian:12\nRUN\n", "line 2: RUN: has no arguments");
    refused ("FROM debian:12\nRUN [\"a\", 1]\n",
             "line 2: RUN: it starts with `[` but is not a JSON array of strings: give the exec "
             "form [\"EXECUTABLE\", \"ARG\", ...] or the shell form (a command line)");
    refused ("FROM debian:12\nRUN []\n",
             "line 2: RUN: the exec form needs an executable: RUN [\"EXECUTABLE\", ...]");
    refused ("FROM debian:12\nCMD\n",
             "line 2: CMD: has no arguments: give the exec form [\"EXECUTABLE\", ...] or a "
             "command line");
    refused ("FROM debian:12\nENV A\n",
             "line 2: ENV: `A` has no value: expected ENV KEY=VALUE or ENV KEY VALUE");
    refused ("FROM debian:12\nENV A=1 B\n",
             "line 2: ENV: `B` is not KEY=VALUE (in the KEY=VALUE form every word is one)");
    refused ("FROM debian:12\nENV 1A=x\n",
             "line 2: ENV: `1A` is not a variable name (letters, digits and `_`)");
    refused ("FROM debian:12\nENV A=\"open\n", "line 2: ENV: a double quote is not closed");
    refused ("FROM debian:12\nLABEL a='open\n", "line 2: LABEL: a single quote is not closed");
    refused ("FROM debian:12\nARG a-b=1\n",
             "line 2: ARG: `a-b` is not a variable name (letters, digits and `_`)");
    refused ("FROM debian:12\nENV A=${B#x}\n",
             "line 2: ENV: `${B#...`: only ${NAME}, ${NAME:-DEFAULT} and ${NAME:+ALTERNATIVE} "
             "are supported");
    refused ("FROM debian:12\nENV A=${B:-x\n", "line 2: ENV: `${B` has no closing `}`");
    refused ("FROM debian:12\nENV A=${}\n",
             "line 2: ENV: `${` must be followed by a variable name (letters, digits and `_`)");
    refused ("FROM debian:12\nUSER a b\n",
             "line 2: USER: expected USER NAME, USER UID, or USER USER:GROUP");
    refused ("FROM debian:12\nUSER a:\n", "line 2: USER: `a:` is not NAME, UID or USER:GROUP");
    refused ("FROM debian:12\nEXPOSE 70000\n",
             "line 2: EXPOSE: `70000`: expected a port (1 to 65535), optionally /tcp, /udp or "
             "/sctp");
    refused ("FROM debian:12\nEXPOSE 8000-8010\n",
             "line 2: EXPOSE: `8000-8010`: expected a port (1 to 65535), optionally /tcp, /udp "
             "or /sctp");
    refused ("FROM debian:12\nEXPOSE 80/icmp\n",
             "line 2: EXPOSE: `80/icmp`: the protocol is tcp, udp or sctp");
    refused ("FROM debian:12\nWORKDIR \"\"\n", "line 2: WORKDIR: expected WORKDIR PATH");
    refused ("# escape=`\nFROM debian:12\n",
             "line 1: the escape directive: only `\\` is supported");
    refused ("FROM debian:12\nRUN \\\n  true \\\n  && x\nFROB\n",
             "line 5: unknown instruction `FROB` (supported: FROM, RUN, ENV, WORKDIR, USER, CMD, "
             "ENTRYPOINT, EXPOSE, LABEL, ARG, COPY)");
    refused ("ARG NAME=Debian\nFROM $NAME\n",
             "line 2: FROM: image reference `Debian`: repository name `Debian` must be "
             "lowercase");
}

/* COPY: a step per source, the source inside the context, the
 * destination as written (with ARGs and ENV replaced). */
static void
test_copy (void **state)
{
    (void) state;
    wr_dockerfile_t df = { 0 };
    parse_ok ("FROM debian:12\nARG DIR=/srv\nCOPY app.py lib/ ${DIR}/\nCOPY [\"/conf\", \"x\"]\n"
              "copy . /all\nCOPY a/./b//c rel\n",
              NULL, &df);
    assert_int_equal (df.n_steps, 5);
    const char *src[] = { "app.py", "lib", "conf", ".", "a/b/c" };
    const char *dst[] = { "/srv/", "/srv/", "x", "/all", "rel" };
    size_t lines[] = { 3, 3, 4, 5, 6 };
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal (df.steps[i].kind, WR_BUILD_COPY);
        assert_string_equal (df.steps[i].src, src[i]);
        assert_string_equal (df.steps[i].dst, dst[i]);
        assert_int_equal (df.step_lines[i], lines[i]);
    }
    wr_dockerfile_clear (&df);
}

static void
test_limits (void **state)
{
    (void) state;
    /* The size of the text. */
    size_t big = WR_DOCKERFILE_MAX_BYTES + 1;
    char *text = xmalloc (big + 1);
    memset (text, '#', big);
    text[big] = '\0';
    wr_dockerfile_t df = { 0 };
    wr_error_t err = NULL;
    assert_int_equal (wr_dockerfile_parse (text, big, NULL, &df, &err), -1);
    assert_string_equal (err->message, "the Dockerfile is 262145 bytes, more than 262144");
    assert_int_equal (err->kind, WR_ERROR_LIMIT);
    wr_error_free (&err);
    free (text);

    /* A line, and an instruction made of continued lines. */
    size_t line = WR_DOCKERFILE_MAX_LINE + 1;
    text = xmalloc (line + 64);
    strcpy (text, "FROM debian:12\nRUN ");
    memset (text + strlen (text), 'x', line);
    text[19 + line] = '\0';
    refused_kind (text, WR_ERROR_LIMIT, "line 2: longer than 65536 bytes");
    free (text);
    text = xmalloc (2 * 40000 + 64);
    strcpy (text, "FROM debian:12\nRUN ");
    size_t at = strlen (text);
    memset (text + at, 'x', 40000);
    at += 40000;
    strcpy (text + at, "\\\n");
    at += 2;
    memset (text + at, 'y', 40000);
    text[at + 40000] = '\0';
    refused_kind (text, WR_ERROR_LIMIT, "line 2: the instruction is longer than 65536 bytes");
    free (text);

    /* The number of instructions. */
    size_t n = WR_DOCKERFILE_MAX_INSTRUCTIONS + 1;
    text = xmalloc (16 + n * 10);
    strcpy (text, "FROM debian:12\n");
    for (size_t i = 2; i < n; i++)
        strcat (text, "RUN true\n");
    parse_ok (text, NULL, &df);
    assert_int_equal (df.n_steps, WR_DOCKERFILE_MAX_INSTRUCTIONS - 1);
    wr_dockerfile_clear (&df);
    strcat (text, "RUN true\n");
    refused_kind (text, WR_ERROR_LIMIT, "line 257: RUN: more than 256 instructions");
    free (text);

    /* Substitution that doubles at each ARG stops at the limit (of a word:
     * NAME=VALUE, so at A12 of 65536 bytes). */
    char doubling[4096] = "FROM debian:12\nARG A0=xxxxxxxxxxxxxxxx\n";
    for (int i = 1; i <= 20; i++) {
        char arg[64];
        snprintf (arg, sizeof arg, "ARG A%d=$A%d$A%d\n", i, i - 1, i - 1);
        strcat (doubling, arg);
    }
    refused_kind (doubling, WR_ERROR_LIMIT,
                  "line 14: ARG: a value is longer than 65536 bytes after substitution");

    /* A NUL byte. */
    const char nul[] = "FROM debian:12\nRUN a\0b\n";
    assert_int_equal (wr_dockerfile_parse (nul, sizeof nul - 1, NULL, &df, &err), -1);
    assert_string_equal (err->message, "line 2: a NUL byte (a Dockerfile is text)");
    wr_error_free (&err);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_every_instruction),
        cmocka_unit_test (test_forms_of_commands),
        cmocka_unit_test (test_continuations_comments_directives),
        cmocka_unit_test (test_arg_substitution),
        cmocka_unit_test (test_base_env),
        cmocka_unit_test (test_refusals),
        cmocka_unit_test (test_copy),
        cmocka_unit_test (test_limits),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
