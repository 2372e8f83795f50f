/* Reading warrend's answers, which the client does not trust: JSON bodies
 * under a size limit and checked as objects, an error body turned into a
 * wr_error_t with the server's kind and message, streams of events cut
 * into lines (however the reads split them) and the base64 of output
 * events.  Pure functions, so a fuzz target drives them (fuzz_client). */
#ifndef WARREN_CLIENT_REPLY_H
#define WARREN_CLIENT_REPLY_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* A JSON answer (a Sandbox, a list) may be at most this big. */
#define WR_CLIENT_MAX_JSON (16u * 1024 * 1024)
/* An error answer's body is read up to this much. */
#define WR_CLIENT_MAX_ERROR_BODY (64u * 1024)
/* One line of a stream of events (an output event carries at most 64 KiB
 * of data as base64). */
#define WR_CLIENT_MAX_LINE (1024u * 1024)
/* A server's error message is cut after this many bytes. */
#define WR_CLIENT_MAX_MESSAGE 4096

/* The kind named NAME ("not_found", ...): 0 and *KIND when known, -1 when
 * not ("unauthorized" is known: INVALID). */
int wr_client_kind_from_name (const char *name, wr_error_kind_t *kind);

/* Fills *ERR for an answer with status STATUS (not 2xx) and body BODY:
 * the kind and message of its {"error": {"kind", "message"}} when it has
 * one (a 401's error has errno EACCES), else an error naming the status
 * with the kind the status means.  The message is the server's, with
 * control bytes other than newline and tab replaced by '?' and cut after
 * WR_CLIENT_MAX_MESSAGE bytes.  WHAT names the request ("GET
 * /v1/sandboxes") for an answer without an error body.  Returns -1. */
int wr_client_reply_error (long status, const char *body, size_t len, const char *what,
                           wr_error_t *err);

/* When LINE is an error object ({"error": {...}}, as a stream's last line
 * is): fills *ERR with its kind and message and returns 1; else 0. */
int wr_client_reply_stream_error (json_object *line, wr_error_t *err);

/* BODY as one JSON object of at most MAX bytes; WHAT names the answer in
 * errors ("the answer to GET /v1/version").  A new reference or NULL. */
json_object *wr_client_reply_object (const char *body, size_t len, size_t max, const char *what,
                                     wr_error_t *err);

/* Cuts a stream into lines, each parsed as a JSON object and handed to FN
 * (whose failure stops the stream).  Empty lines are skipped. */
typedef int (*wr_client_line_fn) (void *data, json_object *line, wr_error_t *err);
typedef struct {
    char *buf;
    size_t len, cap;
    wr_client_line_fn fn;
    void *data;
    const char *what;
    size_t lines;
} wr_client_lines_t;

void wr_client_lines_init (wr_client_lines_t *lines, const char *what, wr_client_line_fn fn,
                           void *data);
/* LEN more bytes of the stream. */
int wr_client_lines_feed (wr_client_lines_t *lines, const char *bytes, size_t len, wr_error_t *err);
/* The stream ended: a line without its newline is handled too. */
int wr_client_lines_end (wr_client_lines_t *lines, wr_error_t *err);
void wr_client_lines_clear (wr_client_lines_t *lines);

/* Strict base64 (RFC 4648, with padding, no white space): *OUT (caller
 * frees, NUL-terminated for convenience) and *OUT_LEN. */
int wr_client_base64_decode (const char *text, size_t len, char **out, size_t *out_len,
                             wr_error_t *err);

/* Members of an answer's object, type-checked: 0 when fine (an absent or
 * null optional member leaves *OUT as it was), -1 naming WHAT and KEY. */
int wr_client_get_string (json_object *obj, const char *key, bool required, const char *what,
                          const char **out, wr_error_t *err);
int wr_client_get_int (json_object *obj, const char *key, bool required, const char *what,
                       int64_t *out, wr_error_t *err);
int wr_client_get_bool (json_object *obj, const char *key, bool required, const char *what,
                        bool *out, wr_error_t *err);
/* An array member (a borrowed reference). */
int wr_client_get_array (json_object *obj, const char *key, bool required, const char *what,
                         json_object **out, wr_error_t *err);

#endif
