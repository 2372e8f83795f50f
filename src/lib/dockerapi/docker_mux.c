#include "docker_mux.h"

#include <string.h>

void
wr_docker_mux_init (wr_docker_mux_t *m, wr_docker_mux_fn fn, void *data)
{
    *m = (wr_docker_mux_t){ .fn = fn, .data = data };
}

int
wr_docker_mux_feed (wr_docker_mux_t *m, const void *buf, size_t len, wr_error_t *err)
{
    const char *p = buf;
    while (len > 0) {
        if (m->left == 0) {
            size_t take = sizeof m->header - m->have;
            if (take > len)
                take = len;
            memcpy (m->header + m->have, p, take);
            m->have += take;
            p += take;
            len -= take;
            if (m->have < sizeof m->header)
                break;
            m->have = 0;
            const uint8_t *h = m->header;
            if (h[0] > WR_DOCKER_SYSTEMERR || h[1] != 0 || h[2] != 0 || h[3] != 0)
                return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                          "dockerd's output stream: frame %llu has a bad header "
                                          "(%02x %02x %02x %02x)",
                                          (unsigned long long) m->frames + 1, h[0], h[1], h[2],
                                          h[3]);
            m->stream = (wr_docker_stream_t) h[0];
            m->left = (uint32_t) h[4] << 24 | (uint32_t) h[5] << 16 | (uint32_t) h[6] << 8 |
                      (uint32_t) h[7];
            m->frames++;
            continue;
        }
        size_t take = m->left < len ? m->left : len;
        if (m->fn (m->data, m->stream, p, take, err) < 0)
            return -1;
        m->left -= (uint32_t) take;
        p += take;
        len -= take;
    }
    return 0;
}

int
wr_docker_mux_end (wr_docker_mux_t *m, wr_error_t *err)
{
    if (m->have != 0 || m->left != 0)
        return wr_error_set_kind (err, WR_ERROR_INVALID, 0,
                                  "dockerd's output stream ended inside frame %llu",
                                  (unsigned long long) m->frames + (m->have != 0 ? 1 : 0));
    return 0;
}
