/* Untrusted text (a reference typed by a user, a media type from a
 * registry) quoted for an error message: control and non-ASCII bytes
 * escaped, long text cut, so a hostile string can neither forge lines nor
 * drive a terminal nor fill a log. */
#ifndef WARREN_QUOTE_H
#define WARREN_QUOTE_H

#include <stdbool.h>
#include <stddef.h>

/* A copy of TEXT with bytes outside printable ASCII written as \xNN and
 * backslashes doubled, cut after MAX bytes of TEXT with "..." appended.
 * NULL gives "(null)".  Caller frees. */
char *wr_quote (const char *text, size_t max);

/* The same for LEN bytes of TEXT, which may hold NUL bytes. */
char *wr_quote_len (const char *text, size_t len, size_t max);

/* Whether every byte of TEXT is printable ASCII (what wr_quote leaves as
 * it is). */
bool wr_is_printable_ascii (const char *text);

#endif
