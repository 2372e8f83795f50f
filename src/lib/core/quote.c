#include "quote.h"

#include <string.h>

#include "xalloc.h"

char *
wr_quote (const char *text, size_t max)
{
    if (text == NULL)
        return xstrdup ("(null)");
    return wr_quote_len (text, strlen (text), max);
}

char *
wr_quote_len (const char *text, size_t len, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    size_t shown = len < max ? len : max;
    /* Each byte becomes at most 4 ("\xNN"), plus "..." and the NUL. */
    char *out = xmalloc (shown * 4 + 4);
    size_t o = 0;
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char) text[i];
        if (c == '\\') {
            out[o++] = '\\';
            out[o++] = '\\';
        } else if (c >= 0x20 && c < 0x7f) {
            out[o++] = (char) c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 0xf];
        }
    }
    if (shown < len) {
        memcpy (out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

bool
wr_is_printable_ascii (const char *text)
{
    for (const unsigned char *p = (const unsigned char *) text; *p != '\0'; p++)
        if (*p < 0x20 || *p >= 0x7f)
            return false;
    return true;
}
