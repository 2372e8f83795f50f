/* A client of the OCI distribution API (registries), on libcurl.
 *
 * Anonymous access, bearer tokens from the WWW-Authenticate challenge,
 * basic auth and tokens from a Docker-style config.json ("auths"), blob
 * redirects, retries with backoff, resumable blob downloads, parallel
 * layers.  HTTPS with the system's CAs; plain HTTP only for loopback and
 * registries marked insecure.  Blobs go through the store's writer, so every
 * byte is checked against its digest before it becomes visible. */
#ifndef WARREN_REGISTRY_H
#define WARREN_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cancel.h"
#include "error.h"
#include "log.h"
#include "image_ref.h"
#include "manifest.h"
#include "store.h"

typedef struct wr_registry_s wr_registry_t;

typedef struct {
    const char *docker_io_mirror; /* "http://127.0.0.1:5000"; NULL: Docker Hub */
    const char *auth_config; /* Docker-style config.json; NULL: no credentials */
    /* host[:port] (or host: any port) reached over plain HTTP, like loopback
     * registries; every other registry is HTTPS with the system's CAs */
    const char *const *insecure_registries;
    int max_parallel; /* layers at once (default 4) */
    int retries; /* per request, with backoff, on network errors, 5xx and 429 (default 3) */
    int64_t max_bytes_per_second; /* per blob download; 0: no limit */
    const wr_log_t *log; /* retries, resumed downloads; NULL: the standard log */
    /* Deadlines of each request (0: the default; docs/registries.md).  A
     * request that passes one fails (and is retried like a network
     * error) with an error that names the request and the deadline. */
    int64_t connect_timeout_ms; /* to connect (default 30 s) */
    /* the whole of a request with a small answer: a manifest, a token, a
     * HEAD, an upload's start (default 60 s); not a blob's body */
    int64_t request_timeout_ms;
    /* a transfer moving fewer than stall_bytes_per_second (default 1024)
     * for stall_timeout_ms (default 30 s; whole seconds) has stalled: a
     * registry trickling bytes fails like one that says nothing */
    int64_t stall_timeout_ms;
    int64_t stall_bytes_per_second;
} wr_registry_options_t;

/* What one call (a pull's) brings to the registry calls it makes: a
 * token that stops them (cancelled, or past the pull's deadline) within a
 * second, and the log of its lines.  Every field may be NULL; a NULL call
 * is a call with none. */
typedef struct {
    const wr_cancel_t *cancel; /* checked by every transfer and every wait between retries */
    const wr_log_t *log; /* NULL: the registry's log */
} wr_registry_call_t;

/* Progress of one blob: called from the thread that called
 * wr_registry_fetch_blobs (never from a download thread), about ten times a
 * second while its bytes change, and once at the end.  A blob already in
 * the store is reported once as DONE == TOTAL; a resumed one starts at what
 * was kept. */
typedef void (*wr_registry_progress_fn) (void *data, const char *digest, int64_t done,
                                         int64_t total);

wr_registry_t *wr_registry_new (const wr_registry_options_t *options, wr_error_t *err);
void wr_registry_free (wr_registry_t *registry);

/* Fetches the manifest or index REFERENCE (tag or digest; NULL: REF's) of
 * REF.REPOSITORY.  When REFERENCE is a digest the document must have it,
 * and a Docker-Content-Digest header must match the document; *DIGEST gets
 * the document's digest and *CONTENT_TYPE the media type the registry gave
 * (parameters removed; NULL when none).  A document over
 * WR_MANIFEST_MAX_SIZE is cut off.  Errors name the request and the
 * registry's answer: "GET http://127.0.0.1:5000/v2/library/busybox/manifests/nope:
 * 404 Not Found (MANIFEST_UNKNOWN: manifest unknown)". */
int wr_registry_get_manifest (wr_registry_t *registry, const wr_image_ref_t *ref,
                              const char *reference, char **body, size_t *len, char **content_type,
                              char **digest, wr_error_t *err);

/* wr_registry_get_manifest within CALL (may be NULL). */
int wr_registry_get_manifest_call (wr_registry_t *registry, const wr_registry_call_t *call,
                                   const wr_image_ref_t *ref, const char *reference, char **body,
                                   size_t *len, char **content_type, char **digest,
                                   wr_error_t *err);

/* Downloads the blobs (those not in STORE yet; each digest once) into
 * STORE, up to max_parallel at once, resuming partial downloads where the
 * registry allows ranges.  Redirects are followed (HTTPS only from an HTTPS
 * registry; credentials are not sent to another host).  Each blob must have
 * its descriptor's size and digest (the store checks) before it becomes
 * visible.  The first failure stops the other downloads and is returned. */
int wr_registry_fetch_blobs (wr_registry_t *registry, const wr_image_ref_t *ref,
                             const wr_descriptor_t *const *blobs, size_t count, wr_store_t *store,
                             wr_registry_progress_fn progress, void *progress_data,
                             wr_error_t *err);

/* The bytes of one blob as they arrive, for a consumer that starts on them
 * before the blob is whole (a pull's unpack, pull_unpack.c). */
typedef struct {
    const char *digest;
    /* The next LEN bytes, in order from the blob's first; -1 to be given no
     * more (the download goes on).  Called from a download thread. */
    int (*write) (void *data, const void *buf, size_t len);
    /* Called exactly once, when the blob's download is over (or when there
     * is nothing to give: the blob was in the store already, or a partial
     * download was resumed): OK when every byte went through write, in
     * order and once, and the blob is now in the store, checked against its
     * digest. */
    void (*end) (void *data, bool ok);
    void *data;
} wr_blob_tee_t;

/* wr_registry_fetch_blobs, giving the bytes of TEE->digest to TEE too
 * (TEE may be NULL). */
int wr_registry_fetch_blobs_tee (wr_registry_t *registry, const wr_image_ref_t *ref,
                                 const wr_descriptor_t *const *blobs, size_t count,
                                 wr_store_t *store, wr_registry_progress_fn progress,
                                 void *progress_data, const wr_blob_tee_t *tee, wr_error_t *err);

/* wr_registry_fetch_blobs_tee within CALL (may be NULL): when CALL->cancel
 * stops, every download stops within a second and the error says why
 * (cancelled, or which deadline passed).  What was downloaded of a blob
 * stays in the store's ingest/ as a partial, for a later resume; nothing
 * else of it is kept. */
int wr_registry_fetch_blobs_call (wr_registry_t *registry, const wr_registry_call_t *call,
                                  const wr_image_ref_t *ref, const wr_descriptor_t *const *blobs,
                                  size_t count, wr_store_t *store, wr_registry_progress_fn progress,
                                  void *progress_data, const wr_blob_tee_t *tee, wr_error_t *err);

/* ---- push (registry_push.c) ---- */
typedef struct {
    size_t blobs_pushed;
    size_t blobs_skipped; /* the registry had them (HEAD) */
    uint64_t bytes_pushed;
} wr_push_result_t;

/* Pushes the image MANIFEST_DIGEST of STORE (config and layers first,
 * each skipped when the registry has it, then the manifest) to DEST (its
 * tag, else the digest itself), with REGISTRY's credentials, insecure
 * registries and retries; its docker_io_mirror is not used: a push goes to
 * the registry itself.  Tokens are asked for with a pull,push scope. */
int wr_registry_push_image (wr_registry_t *registry, wr_store_t *store, const char *manifest_digest,
                            const wr_image_ref_t *dest, wr_push_result_t *result, wr_error_t *err);

#endif
