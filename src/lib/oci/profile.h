/* Profiles: what warren changes in a bundle's spec before the sandbox starts.
 *
 * A profile is data (capabilities, runsc flags it wants) plus an apply
 * function.  Applying a profile twice gives the same spec. */
#ifndef WARREN_PROFILE_H
#define WARREN_PROFILE_H

#include <stdbool.h>

#include "error.h"
#include "spec.h"

/* The annotation that selects a profile, e.g. dev.warren.profile=docker. */
#define WR_PROFILE_ANNOTATION "dev.warren.profile"
/* Where warren-init is mounted inside the sandbox (read-only). */
#define WR_INIT_SANDBOX_PATH "/.warren/init"

/* A runsc flag a profile wants, with older spellings of the same flag. The
 * backend passes the first spelling the installed runsc supports, and
 * nothing when it supports none of them. */
typedef struct {
    const char *spellings[3]; /* without the leading "--", NULL-terminated */
    const char *why;
} wr_runsc_flag_t;

typedef struct {
    const char *init_host_path; /* warren-init on the host; NULL: don't inject */
    const char *network_mode; /* "host", "sandbox" or "none": told to warren-init */
} wr_profile_options_t;

typedef struct wr_profile_s {
    const char *name;
    const char *description;
    const char *const *capabilities; /* NULL-terminated: added to the spec */
    const wr_runsc_flag_t *runsc_flags; /* ended by an entry with spellings[0] NULL */
    int (*apply) (const struct wr_profile_s *profile, wr_spec_t *spec,
                  const wr_profile_options_t *options, wr_error_t *err);
    /* warren-init's options before "--" when it is injected (NULL-terminated,
     * may be NULL), e.g. {"--docker", NULL}. */
    const char *const *init_args;
    /* The powers it grants (CAP_SYS_ADMIN, no device rules or masked
     * paths) are safe only under a kernel of the sandbox's own (gVisor): on
     * a backend that runs containers on the host's kernel it is refused. */
    bool needs_sandbox;
} wr_profile_t;

extern const wr_profile_t wr_profile_docker;
extern const wr_profile_t wr_profile_default;

/* NULL-terminated list of all profiles. */
const wr_profile_t *const *wr_profiles (void);
/* Finds a profile by name; an unknown name is an error listing the known ones. */
const wr_profile_t *wr_profile_find (const char *name, wr_error_t *err);
/* The profiles an annotation may select when the operator says nothing. */
extern const char *const wr_profile_annotation_default_allowed[];

/* The profile for SPEC: REQUESTED (from the command line: the operator's
 * choice) when not NULL, else the dev.warren.profile annotation (anyone who
 * starts a container can set one) when its profile is in ALLOWED
 * (NULL-terminated; NULL: wr_profile_annotation_default_allowed), else the
 * default profile.  An annotation naming a profile outside ALLOWED is an
 * error naming the profile and the list. */
const wr_profile_t *wr_profile_select (wr_spec_t *spec, const char *requested,
                                       const char *const *allowed, wr_error_t *err);
/* -1 with *ERR when PROFILE needs a sandbox and the backend (BACKEND_NAME,
 * IS_SANDBOX) runs containers on the host's kernel. */
int wr_profile_check_backend (const wr_profile_t *profile, const char *backend_name,
                              bool is_sandbox, wr_error_t *err);

/* Calls PROFILE->apply; an error says which profile failed.  OPTIONS may be
 * NULL (no init injection, no network mode). */
int wr_profile_apply (const wr_profile_t *profile, wr_spec_t *spec,
                      const wr_profile_options_t *options, wr_error_t *err);

/* Shared steps profiles are made of. */
int wr_profile_add_capabilities (const wr_profile_t *profile, wr_spec_t *spec, wr_error_t *err);
/* Mounts warren-init read-only at WR_INIT_SANDBOX_PATH and puts
 * `WR_INIT_SANDBOX_PATH INIT_ARGS... --` in front of process.args (INIT_ARGS
 * is NULL-terminated and may be NULL; a final "--" in it is not doubled).
 * When process.args already starts with WR_INIT_SANDBOX_PATH, that old
 * prefix (up to its "--") is replaced, so injecting twice changes nothing. */
int wr_profile_inject_init (wr_spec_t *spec, const char *init_host_path,
                            const char *const *init_args, wr_error_t *err);

#endif
