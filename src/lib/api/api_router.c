#include "api_router.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"

struct wr_api_router_s {
    const wr_api_route_t *routes;
    size_t n;
    void *data;
};

/* The next segment of *P (after its '/'): its start and length, or false
 * at the end. */
static bool
next_segment (const char **p, const char **start, size_t *len)
{
    if (**p != '/')
        return false;
    (*p)++;
    *start = *p;
    const char *slash = strchr (*p, '/');
    *len = slash != NULL ? (size_t) (slash - *p) : strlen (*p);
    *p += *len;
    return true;
}

static bool
is_param (const char *seg, size_t len)
{
    return len >= 2 && seg[0] == '{' && seg[len - 1] == '}';
}

static int
check_pattern (const wr_api_route_t *route, wr_error_t *err)
{
    const char *pattern = route->pattern;
    if (pattern == NULL || pattern[0] != '/' || route->method == NULL || route->handler == NULL)
        return wr_error_set (err, 0,
                             "route %s %s: needs a method, a handler and a pattern "
                             "starting with '/'",
                             route->method ? route->method : "(null)",
                             pattern ? pattern : "(null)");
    const char *names[WR_API_MAX_PARAMS];
    size_t lens[WR_API_MAX_PARAMS];
    size_t n_params = 0;
    const char *p = pattern, *seg = NULL;
    size_t len = 0;
    while (next_segment (&p, &seg, &len)) {
        if (len == 0)
            return wr_error_set (err, 0, "route %s %s: empty segment", route->method, pattern);
        bool braces = memchr (seg, '{', len) != NULL || memchr (seg, '}', len) != NULL;
        if (!braces)
            continue;
        if (!is_param (seg, len) || len == 2 || memchr (seg + 1, '{', len - 2) != NULL ||
            memchr (seg + 1, '}', len - 2) != NULL)
            return wr_error_set (err, 0, "route %s %s: a parameter is a whole segment, {name}",
                                 route->method, pattern);
        if (n_params == WR_API_MAX_PARAMS)
            return wr_error_set (err, 0, "route %s %s: more than %d parameters", route->method,
                                 pattern, WR_API_MAX_PARAMS);
        for (size_t i = 0; i < n_params; i++) {
            if (lens[i] == len - 2 && memcmp (names[i], seg + 1, len - 2) == 0)
                return wr_error_set (err, 0, "route %s %s: parameter %.*s twice", route->method,
                                     pattern, (int) (len - 2), seg + 1);
        }
        names[n_params] = seg + 1;
        lens[n_params] = len - 2;
        n_params++;
    }
    if (*p != '\0')
        return wr_error_set (err, 0, "route %s %s: malformed", route->method, pattern);
    return 0;
}

wr_api_router_t *
wr_api_router_new (const wr_api_route_t *routes, size_t n, void *data, wr_error_t *err)
{
    for (size_t i = 0; i < n; i++) {
        if (check_pattern (&routes[i], err) < 0)
            return NULL;
        for (size_t j = 0; j < i; j++) {
            if (strcmp (routes[i].method, routes[j].method) == 0 &&
                strcmp (routes[i].pattern, routes[j].pattern) == 0) {
                wr_error_set_kind (err, WR_ERROR_EXISTS, 0, "route %s %s: there twice",
                                   routes[i].method, routes[i].pattern);
                return NULL;
            }
        }
    }
    wr_api_router_t *router = xzalloc (sizeof *router);
    router->routes = routes;
    router->n = n;
    router->data = data;
    return router;
}

void
wr_api_router_free (wr_api_router_t *router)
{
    free (router);
}

void *
wr_api_router_data (const wr_api_router_t *router)
{
    return router->data;
}

size_t
wr_api_router_count (const wr_api_router_t *router)
{
    return router->n;
}

const wr_api_route_t *
wr_api_router_route (const wr_api_router_t *router, size_t i)
{
    return i < router->n ? &router->routes[i] : NULL;
}

/* Whether PATH matches PATTERN; with PARAMS (not NULL) the values are
 * copied into it. */
static bool
path_matches (const char *pattern, const char *path, wr_api_params_t *params)
{
    const char *pp = pattern, *tp = path, *pseg = NULL, *tseg = NULL;
    size_t plen = 0, tlen = 0;
    for (;;) {
        bool more_pattern = next_segment (&pp, &pseg, &plen);
        bool more_path = next_segment (&tp, &tseg, &tlen);
        if (!more_pattern || !more_path) {
            if (more_pattern == more_path && *pp == '\0' && *tp == '\0')
                return true;
            break;
        }
        if (is_param (pseg, plen)) {
            if (tlen == 0 || tlen > WR_API_MAX_PARAM)
                break;
            if (params != NULL) {
                params->names[params->n] = xstrndup (pseg + 1, plen - 2);
                params->values[params->n] = xstrndup (tseg, tlen);
                params->n++;
            }
            continue;
        }
        if (plen != tlen || memcmp (pseg, tseg, plen) != 0)
            break;
    }
    if (params != NULL)
        wr_api_params_clear (params);
    return false;
}

/* Whether PATH is one a route could match at all: absolute, bounded, no
 * NUL-free surprises (control bytes) and not too many segments. */
static bool
path_acceptable (const char *path)
{
    if (path == NULL || path[0] != '/')
        return false;
    size_t segments = 0, len = 0;
    for (const char *p = path; *p != '\0'; p++, len++) {
        if (len >= WR_API_MAX_PATH || (unsigned char) *p < 0x20 || *p == 0x7f)
            return false;
        if (*p == '/' && ++segments > WR_API_MAX_SEGMENTS)
            return false;
    }
    return true;
}

wr_api_match_t
wr_api_router_match (const wr_api_router_t *router, const char *method, const char *path,
                     const wr_api_route_t **route, wr_api_params_t *params, char **allow)
{
    *route = NULL;
    memset (params, 0, sizeof *params);
    if (allow != NULL)
        *allow = NULL;
    if (!path_acceptable (path) || method == NULL)
        return WR_API_MATCH_NO_PATH;
    bool path_known = false;
    for (size_t i = 0; i < router->n; i++) {
        const wr_api_route_t *r = &router->routes[i];
        if (strcmp (r->method, method) != 0)
            continue;
        if (path_matches (r->pattern, path, params)) {
            *route = r;
            return WR_API_MATCH_FOUND;
        }
    }
    cleanup_free char *methods = NULL;
    for (size_t i = 0; i < router->n; i++) {
        const wr_api_route_t *r = &router->routes[i];
        if (!path_matches (r->pattern, path, NULL))
            continue;
        path_known = true;
        if (methods != NULL && strstr (methods, r->method) != NULL)
            continue;
        char *joined =
            methods == NULL ? xstrdup (r->method) : xasprintf ("%s, %s", methods, r->method);
        free (methods);
        methods = joined;
    }
    if (!path_known)
        return WR_API_MATCH_NO_PATH;
    if (allow != NULL)
        *allow = steal_pointer (&methods);
    return WR_API_MATCH_NO_METHOD;
}
