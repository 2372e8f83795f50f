/* Image references: Docker's normalisation (the cases of the distribution
 * project's reference tests, by category), round trips through the string
 * and familiar forms, and hostile input refused with errors that name the
 * reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "image_ref.h"
#include "xalloc.h"

#define DIGEST_A "sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"
#define DIGEST_B "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"
#define HEX64 "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"
#define TAG128                                                                                     \
    "t123456789012345678901234567890123456789012345678901234567890123"                             \
    "4567890123456789012345678901234567890123456789012345678901234567"

typedef struct {
    const char *text;
    const char *registry;
    const char *repository;
    const char *tag;
    const char *digest;
    const char *familiar;
} valid_case_t;

static const valid_case_t valid_cases[] = {
    /* Official images: docker.io/library/. */
    { "ubuntu", "docker.io", "library/ubuntu", "latest", NULL, "ubuntu:latest" },
    { "ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", NULL, "ubuntu:22.04" },
    { "library/ubuntu", "docker.io", "library/ubuntu", "latest", NULL, "ubuntu:latest" },
    { "docker.io/ubuntu", "docker.io", "library/ubuntu", "latest", NULL, "ubuntu:latest" },
    { "docker.io/library/ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", NULL,
      "ubuntu:22.04" },
    /* Docker Hub's other names. */
    { "index.docker.io/debian", "docker.io", "library/debian", "latest", NULL, "debian:latest" },
    { "index.docker.io/docker/docker", "docker.io", "docker/docker", "latest", NULL,
      "docker/docker:latest" },
    { "registry-1.docker.io/library/debian:12", "docker.io", "library/debian", "12", NULL,
      "debian:12" },
    /* User repositories on Docker Hub. */
    { "docker/docker", "docker.io", "docker/docker", "latest", NULL, "docker/docker:latest" },
    { "dmcgowan/myapp:1.0", "docker.io", "dmcgowan/myapp", "1.0", NULL, "dmcgowan/myapp:1.0" },
    { "other/library", "docker.io", "other/library", "latest", NULL, "other/library:latest" },
    { "store/foo/bar", "docker.io", "store/foo/bar", "latest", NULL, "store/foo/bar:latest" },
    { "docker.io/library/foo/bar", "docker.io", "library/foo/bar", "latest", NULL,
      "library/foo/bar:latest" },
    { "test_com/foo", "docker.io", "test_com/foo", "latest", NULL, "test_com/foo:latest" },
    /* Separators: one '.', one or two '_', any number of '-'. */
    { "docker-rules/docker", "docker.io", "docker-rules/docker", "latest", NULL,
      "docker-rules/docker:latest" },
    { "docker---rules/docker", "docker.io", "docker---rules/docker", "latest", NULL,
      "docker---rules/docker:latest" },
    { "dock__er/docker", "docker.io", "dock__er/docker", "latest", NULL, "dock__er/docker:latest" },
    { "x/a.b_c__d-e--f9", "docker.io", "x/a.b_c__d-e--f9", "latest", NULL,
      "x/a.b_c__d-e--f9:latest" },
    { "docker.io/a.b_c__d-e--f/x9", "docker.io", "a.b_c__d-e--f/x9", "latest", NULL,
      "docker.io/a.b_c__d-e--f/x9:latest" },
    { "d/docker", "docker.io", "d/docker", "latest", NULL, "d/docker:latest" },
    { "jess/t", "docker.io", "jess/t", "latest", NULL, "jess/t:latest" },
    { "ubuntu-12.04-base", "docker.io", "library/ubuntu-12.04-base", "latest", NULL,
      "ubuntu-12.04-base:latest" },
    /* 64 characters that are not all hex, and 64 hex digits under a host. */
    { "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "docker.io",
      "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "latest", NULL,
      "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest" },
    { "docker.io/" HEX64, "docker.io", "library/" HEX64, "latest", NULL, HEX64 ":latest" },
    /* A single component is never a host: "192.168.0.1:80" is a tag. */
    { "192.168.0.1", "docker.io", "library/192.168.0.1", "latest", NULL, "192.168.0.1:latest" },
    { "192.168.0.1:80", "docker.io", "library/192.168.0.1", "80", NULL, "192.168.0.1:80" },
    { "localhost", "docker.io", "library/localhost", "latest", NULL, "localhost:latest" },
    /* Registries: a '.', a ':', "localhost", or upper case. */
    { "127.0.0.1:5000/library/busybox:latest", "127.0.0.1:5000", "library/busybox", "latest", NULL,
      "127.0.0.1:5000/library/busybox:latest" },
    { "127.0.0.1:5000/debian", "127.0.0.1:5000", "debian", "latest", NULL,
      "127.0.0.1:5000/debian:latest" },
    { "192.168.0.1:8/debian", "192.168.0.1:8", "debian", "latest", NULL,
      "192.168.0.1:8/debian:latest" },
    { "example.com/private/moonbase", "example.com", "private/moonbase", "latest", NULL,
      "example.com/private/moonbase:latest" },
    { "example.com:8000/privatebase:v1", "example.com:8000", "privatebase", "v1", NULL,
      "example.com:8000/privatebase:v1" },
    { "test-com:8080/foo", "test-com:8080", "foo", "latest", NULL, "test-com:8080/foo:latest" },
    { "xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo", "latest", NULL,
      "xn--n3h.com:18080/foo:latest" },
    { "localhost/foo", "localhost", "foo", "latest", NULL, "localhost/foo:latest" },
    { "localhost:5000/foo/bar:tag", "localhost:5000", "foo/bar", "tag", NULL,
      "localhost:5000/foo/bar:tag" },
    { "Docker/docker", "Docker", "docker", "latest", NULL, "Docker/docker:latest" },
    { "DOCKER.IO/foo", "DOCKER.IO", "foo", "latest", NULL, "DOCKER.IO/foo:latest" },
    /* IPv6 in brackets, with or without a port. */
    { "[fc00::1]:5000/docker", "[fc00::1]:5000", "docker", "latest", NULL,
      "[fc00::1]:5000/docker:latest" },
    { "[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000", "library/debian",
      "latest", NULL, "[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest" },
    { "[::1]/foo:x", "[::1]", "foo", "x", NULL, "[::1]/foo:x" },
    /* Tags and digests. */
    { "foo:_tag.-X", "docker.io", "library/foo", "_tag.-X", NULL, "foo:_tag.-X" },
    { "foo:" TAG128, "docker.io", "library/foo", TAG128, NULL, "foo:" TAG128 },
    { "redis@" DIGEST_B, "docker.io", "library/redis", NULL, DIGEST_B, "redis@" DIGEST_B },
    { "busybox:latest@" DIGEST_A, "docker.io", "library/busybox", "latest", DIGEST_A,
      "busybox:latest@" DIGEST_A },
    { "127.0.0.1:5000/a/b@" DIGEST_A, "127.0.0.1:5000", "a/b", NULL, DIGEST_A,
      "127.0.0.1:5000/a/b@" DIGEST_A },
    { "[::1]:5000/a:t@" DIGEST_B, "[::1]:5000", "a", "t", DIGEST_B, "[::1]:5000/a:t@" DIGEST_B },
    /* The short form keeps docker.io/ where leaving it out would change
     * the meaning. */
    { "docker.io/localhost/foo", "docker.io", "localhost/foo", "latest", NULL,
      "docker.io/localhost/foo:latest" },
    { "docker.io/foo.bar/baz", "docker.io", "foo.bar/baz", "latest", NULL,
      "docker.io/foo.bar/baz:latest" },
};

static void
assert_same_ref (const wr_image_ref_t *a, const wr_image_ref_t *b)
{
    assert_string_equal (a->registry, b->registry);
    assert_string_equal (a->repository, b->repository);
    if (a->tag == NULL || b->tag == NULL)
        assert_ptr_equal (a->tag, b->tag);
    else
        assert_string_equal (a->tag, b->tag);
    if (a->digest == NULL || b->digest == NULL)
        assert_ptr_equal (a->digest, b->digest);
    else
        assert_string_equal (a->digest, b->digest);
}

static void
test_valid_references (void **state)
{
    for (size_t i = 0; i < sizeof valid_cases / sizeof valid_cases[0]; i++) {
        const valid_case_t *c = &valid_cases[i];
        wr_image_ref_t ref;
        wr_error_t err = NULL;
        if (wr_image_ref_parse (c->text, &ref, &err) < 0)
            fail_msg ("`%s` refused: %s", c->text, err->message);
        assert_null (err);
        assert_string_equal (ref.registry, c->registry);
        assert_string_equal (ref.repository, c->repository);
        wr_image_ref_t expected = { (char *) c->registry, (char *) c->repository, (char *) c->tag,
                                    (char *) c->digest };
        assert_same_ref (&ref, &expected);

        char *full = wr_image_ref_string (&ref);
        char *expected_full =
            xasprintf ("%s/%s%s%s%s%s", c->registry, c->repository, c->tag ? ":" : "",
                       c->tag ? c->tag : "", c->digest ? "@" : "", c->digest ? c->digest : "");
        assert_string_equal (full, expected_full);
        char *familiar = wr_image_ref_familiar (&ref);
        assert_string_equal (familiar, c->familiar);
        assert_string_equal (wr_image_ref_reference (&ref), c->digest ? c->digest : c->tag);

        /* Both forms parse back to the same reference. */
        wr_image_ref_t again;
        assert_int_equal (wr_image_ref_parse (full, &again, NULL), 0);
        assert_same_ref (&again, &ref);
        wr_image_ref_clear (&again);
        assert_int_equal (wr_image_ref_parse (familiar, &again, NULL), 0);
        assert_same_ref (&again, &ref);
        wr_image_ref_clear (&again);

        free (full);
        free (expected_full);
        free (familiar);
        wr_image_ref_clear (&ref);
        assert_null (ref.registry);
    }
}

static void
expect_refused (const char *text, const char *message)
{
    wr_image_ref_t ref;
    wr_error_t err = NULL;
    if (wr_image_ref_parse (text, &ref, &err) == 0)
        fail_msg ("`%s` accepted as %s/%s", text, ref.registry, ref.repository);
    assert_non_null (err);
    assert_string_equal (err->message, message);
    /* Nothing is left allocated in a refused reference. */
    assert_null (ref.registry);
    assert_null (ref.repository);
    assert_null (ref.tag);
    assert_null (ref.digest);
    wr_error_free (&err);
}

static void
test_refused_names (void **state)
{
    expect_refused (NULL, "missing image reference");
    expect_refused ("", "empty image reference");
    expect_refused ("docker/Docker",
                    "image reference `docker/Docker`: repository name `docker/Docker` must be "
                    "lowercase");
    expect_refused ("docker.io/docker/Docker",
                    "image reference `docker.io/docker/Docker`: repository name `docker/Docker` "
                    "must be lowercase");
    expect_refused ("Ubuntu", "image reference `Ubuntu`: repository name `Ubuntu` must be "
                              "lowercase");
    expect_refused ("Foo_bar/baz", "image reference `Foo_bar/baz`: repository name `Foo_bar/baz` "
                                   "must be lowercase");
    expect_refused (HEX64, "image reference `" HEX64
                           "`: 64 hexadecimal digits are an image ID, not a repository name");
    expect_refused ("https://github.com/docker/docker",
                    "image reference `https://github.com/docker/docker`: a reference has no URL "
                    "scheme: leave out `...://`");
    expect_refused ("-docker", "image reference `-docker`: repository name `-docker`: component "
                               "`-docker` must start with a lowercase letter or digit");
    expect_refused ("-docker/docker",
                    "image reference `-docker/docker`: repository name `-docker/docker`: "
                    "component `-docker` must start with a lowercase letter or digit");
    expect_refused ("docker-/docker",
                    "image reference `docker-/docker`: repository name `docker-/docker`: "
                    "component `docker-` must end with a lowercase letter or digit");
    expect_refused ("____/____", "image reference `____/____`: repository name `____/____`: "
                                 "component `____` must start with a lowercase letter or digit");
    expect_refused ("dock..er/docker", "image reference `dock..er/docker`: registry `dock..er`: "
                                       "host name `dock..er` has an empty component");
    expect_refused ("x/dock..er", "image reference `x/dock..er`: repository name `x/dock..er`: "
                                  "component `dock..er`: `..` is not a separator (one `.`, one or "
                                  "two `_`, or dashes)");
    expect_refused ("x/dock_.er",
                    "image reference `x/dock_.er`: repository name `x/dock_.er`: "
                    "component `dock_.er`: `_.` is not a separator (one `.`, one or two `_`, or "
                    "dashes)");
    expect_refused ("x/dock-.er",
                    "image reference `x/dock-.er`: repository name `x/dock-.er`: "
                    "component `dock-.er`: `-.` is not a separator (one `.`, one or two `_`, or "
                    "dashes)");
    expect_refused ("a___b", "image reference `a___b`: repository name `a___b`: component "
                             "`a___b`: `___` is not a separator (one `.`, one or two `_`, or "
                             "dashes)");
    expect_refused ("docker///docker", "image reference `docker///docker`: repository name "
                                       "`docker///docker` has an empty component");
    expect_refused ("docker/", "image reference `docker/`: repository name `docker/` has an empty "
                               "component");
    expect_refused ("/docker", "image reference `/docker`: repository name `/docker` has an empty "
                               "component");
    expect_refused ("localhost/", "image reference `localhost/`: repository name `` has an empty "
                                  "component");
    expect_refused ("foo bar", "image reference `foo bar`: repository name `foo bar`: component "
                               "`foo bar`: ` ` is not allowed in a repository name (only "
                               "lowercase letters, digits and the separators `.`, `_`, `__` and "
                               "`-`)");
    expect_refused ("@" DIGEST_A, "image reference `@" DIGEST_A "`: no repository name");
    expect_refused (":tag", "image reference `:tag`: no repository name");
}

static void
test_refused_registries (void **state)
{
    expect_refused ("-docker.io/docker/docker",
                    "image reference `-docker.io/docker/docker`: registry `-docker.io`: a "
                    "component of host name `-docker.io` starts or ends with `-`");
    expect_refused ("exa..mple.com/foo", "image reference `exa..mple.com/foo`: registry "
                                         "`exa..mple.com`: host name `exa..mple.com` has an "
                                         "empty component");
    expect_refused ("exa_mple.com/foo", "image reference `exa_mple.com/foo`: registry "
                                        "`exa_mple.com`: `_` is not allowed in a host name");
    expect_refused ("localhost:99999/foo", "image reference `localhost:99999/foo`: registry "
                                           "`localhost:99999`: port `99999` is not a number "
                                           "from 1 to 65535");
    expect_refused ("localhost:0/foo", "image reference `localhost:0/foo`: registry "
                                       "`localhost:0`: port `0` is not a number from 1 to 65535");
    expect_refused ("localhost:/foo", "image reference `localhost:/foo`: registry `localhost:`: "
                                      "port `` is not a number from 1 to 65535");
    expect_refused ("fc00::1:5000/debian", "image reference `fc00::1:5000/debian`: registry "
                                           "`fc00::1:5000`: port `:1:5000` is not a number from "
                                           "1 to 65535");
    expect_refused ("[fe80::1%eth0]:5000/debian",
                    "image reference `[fe80::1%eth0]:5000/debian`: registry "
                    "`[fe80::1%eth0]:5000`: `[fe80::1%eth0]` is not an IPv6 address in hex "
                    "digits and colons");
    expect_refused ("[2001:db8:3:4::192.0.2.33]:5000/debian",
                    "image reference `[2001:db8:3:4::192.0.2.33]:5000/debian`: registry "
                    "`[2001:db8:3:4::192.0.2.33]:5000`: `[2001:db8:3:4::192.0.2.33]` is not an "
                    "IPv6 address in hex digits and colons");
    expect_refused ("[1:2:3]:5000/x", "image reference `[1:2:3]:5000/x`: registry "
                                      "`[1:2:3]:5000`: `[1:2:3]` is not an IPv6 address in hex "
                                      "digits and colons");
    expect_refused ("[::1/foo", "image reference `[::1/foo`: registry `[::1`: an IPv6 address "
                                "has no closing `]`");
    expect_refused ("[::1]x/foo", "image reference `[::1]x/foo`: registry `[::1]x`: only `:PORT` "
                                  "may follow an IPv6 address");
    /* Without a path, an IPv6 host is a (bad) single-component name. */
    expect_refused ("[fc00::1]", "image reference `[fc00::1]`: repository name `[fc00:`: "
                                 "component `[fc00:`: `[` is not allowed in a repository name "
                                 "(only lowercase letters, digits and the separators `.`, `_`, "
                                 "`__` and `-`)");
    expect_refused ("[fc00::1]:5000", "image reference `[fc00::1]:5000`: repository name "
                                      "`[fc00::1]`: component `[fc00::1]`: `[` is not allowed in "
                                      "a repository name (only lowercase letters, digits and the "
                                      "separators `.`, `_`, `__` and `-`)");
}

static void
test_refused_tags_and_digests (void **state)
{
    expect_refused ("foo:", "image reference `foo:`: empty tag after `:`");
    expect_refused ("foo:-bar", "image reference `foo:-bar`: tag `-bar` must start with a letter, "
                                "digit or `_`");
    expect_refused ("foo:.bar", "image reference `foo:.bar`: tag `.bar` must start with a letter, "
                                "digit or `_`");
    expect_refused ("foo:a+b", "image reference `foo:a+b`: tag `a+b`: `+` is not allowed (only "
                               "letters, digits, `_`, `.` and `-`)");
    expect_refused ("foo:" TAG128 "9", "image reference `foo:" TAG128 "9`: tag `" TAG128
                                       "9` is 129 characters long, more than 128");
    expect_refused ("foo@sha256:../x", "image reference `foo@sha256:../x`: digest `sha256:../x`: "
                                       "a sha256 digest has 64 hex digits, not 4");
    expect_refused ("foo@sha256:\x1b[2J", "image reference `foo@sha256:\\x1b[2J`: digest "
                                          "`sha256:\\x1b[2J` has characters that are not "
                                          "printable");
    expect_refused ("foo@", "image reference `foo@`: digest ``: only sha256 digests are supported");
    expect_refused ("foo@md5:d41d8cd98f00b204e9800998ecf8427e",
                    "image reference `foo@md5:d41d8cd98f00b204e9800998ecf8427e`: digest "
                    "`md5:d41d8cd98f00b204e9800998ecf8427e`: only sha256 digests are supported");
    expect_refused ("foo@" DIGEST_A "@" DIGEST_B,
                    "image reference `foo@" DIGEST_A "@" DIGEST_B "`: digest `" DIGEST_A
                    "@sha256:d...`: a sha256 digest has 64 hex digits, not 136");
    expect_refused (
        "foo@SHA256:86E0E091D0DA6BDE2456DBB48306F3956BBEB2EAE1B5B9A43045843F69FE4AAA",
        "image reference "
        "`foo@SHA256:86E0E091D0DA6BDE2456DBB48306F3956BBEB2EAE1B5B9A43045843F69FE4AAA`: "
        "digest `SHA256:86E0E091D0DA6BDE2456DBB48306F3956BBEB2EAE1B5B9A43045843F69FE4AAA`"
        ": only sha256 digests are supported");
}

static void
test_length_limit (void **state)
{
    /* docker.io/library/ + 237 = 255 characters: the longest name. */
    char name[300];
    memset (name, 'a', 237);
    name[237] = '\0';
    wr_image_ref_t ref;
    assert_int_equal (wr_image_ref_parse (name, &ref, NULL), 0);
    assert_int_equal (strlen (ref.registry) + 1 + strlen (ref.repository), 255);
    wr_image_ref_clear (&ref);

    name[237] = 'a';
    name[238] = '\0';
    wr_error_t err = NULL;
    assert_int_equal (wr_image_ref_parse (name, &ref, &err), -1);
    assert_non_null (strstr (err->message, "is 256 characters long, more than 255"));
    assert_non_null (strstr (err->message, "the name `docker.io/library/aaaaaaaaaaaa"));
    wr_error_free (&err);

    expect_refused ("this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_"
                    "not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_"
                    "valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_"
                    "namespace_because_its_lenth_is_greater_than_255/docker",
                    "image reference `this_is_not_a_valid_namespace_because_its_lenth_is_greater_"
                    "than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_"
                    "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_"
                    "not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker`: the name "
                    "`docker.io/this_is_not_a_valid_...` is 288 characters long, more than 255");
}

static void
test_hostile_text_is_escaped_and_cut (void **state)
{
    /* Control characters cannot reach a terminal or forge a log line. */
    expect_refused ("foo\x1b[31m\n", "image reference `foo\\x1b[31m\\x0a`: repository name "
                                     "`foo\\x1b[31m\\x0a`: component `foo\\x1b[31m\\x0a`: `\\x1b` "
                                     "is not allowed in a repository name (only lowercase "
                                     "letters, digits and the separators `.`, `_`, `__` and `-`)");
    expect_refused ("caf\xc3\xa9", "image reference `caf\\xc3\\xa9`: repository name "
                                   "`caf\\xc3\\xa9`: component `caf\\xc3\\xa9`: `\\xc3` is not "
                                   "allowed in a repository name (only lowercase letters, digits "
                                   "and the separators `.`, `_`, `__` and `-`)");
    /* A huge reference is quoted in part only. */
    size_t len = 100000;
    char *huge = xmalloc (len + 1);
    memset (huge, 'a', len);
    huge[len] = '\0';
    wr_image_ref_t ref;
    wr_error_t err = NULL;
    assert_int_equal (wr_image_ref_parse (huge, &ref, &err), -1);
    assert_true (strlen (err->message) < 1000);
    assert_non_null (strstr (err->message, "aaa...`"));
    wr_error_free (&err);
    free (huge);
}

static void
test_string_of_partial_refs (void **state)
{
    /* A reference built by hand, without registry or tag. */
    wr_image_ref_t ref = { NULL, (char *) "a/b", NULL, NULL };
    char *s = wr_image_ref_string (&ref);
    assert_string_equal (s, "a/b");
    free (s);
    assert_string_equal (wr_image_ref_reference (&ref), "latest");
    /* docker.io without "library/" must keep its registry in the short form. */
    wr_image_ref_t hub = { (char *) "docker.io", (char *) "foo", (char *) "1", NULL };
    s = wr_image_ref_familiar (&hub);
    assert_string_equal (s, "docker.io/foo:1");
    free (s);
    wr_image_ref_t id = { (char *) "docker.io", (char *) "library/" HEX64, NULL, NULL };
    s = wr_image_ref_familiar (&id);
    assert_string_equal (s, "docker.io/library/" HEX64);
    free (s);
    wr_image_ref_clear (NULL);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_valid_references),
        cmocka_unit_test (test_refused_names),
        cmocka_unit_test (test_refused_registries),
        cmocka_unit_test (test_refused_tags_and_digests),
        cmocka_unit_test (test_length_limit),
        cmocka_unit_test (test_hostile_text_is_escaped_and_cut),
        cmocka_unit_test (test_string_of_partial_refs),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
