/* admin.h — the admin HTTP server: a vhost on the relay's lws context
 * listening on admin.listen (default 127.0.0.1:9540).
 *
 * Built-in routes: GET /healthz (200 while the loop runs), GET /readyz (200
 * only when the ready callback says so, else 503 with the reason as JSON),
 * GET /metrics (Prometheus text from the registry), GET /v1/sessions (JSON
 * from the sessions callback; ?tenant=&state= passed through). Unknown paths
 * give 404; a known path with another method gives 405 with an Allow header.
 * The route table is open: the sessions layer adds its own (POST /v1/reload,
 * /v1/calls) with admin_route_add.
 *
 * Auth: on a non-loopback address every request needs
 * "Authorization: Bearer <admin.token>", compared in constant time; a
 * failure gives 401 with a fixed body that says nothing more.
 *
 * Thread: loop thread only. Lifetime: admin_new after lws_create_context
 * (with LWS_SERVER_OPTION_EXPLICIT_VHOSTS), admin_free after the context is
 * destroyed (the vhost dies with the context). Handlers run synchronously
 * inside the lws callback and must not block.
 */
#ifndef KK_ADMIN_H
#define KK_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include "codec.h"
#include "metrics.h"
#include "secret.h"

struct lws_context;
typedef struct admin admin;

/* One request as a handler sees it. */
typedef struct admin_req {
    const char *method;  /* "GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS" */
    const char *path;    /* without the query string */
    void *wsi_;          /* private: the lws connection */
} admin_req;

/* The response a handler fills: status, content type and body (capped at
 * ADMIN_BODY_MAX; a handler returning KK_ETOOBIG gets a 500). */
typedef struct admin_resp {
    int status;
    const char *content_type; /* static string */
    kk_buf body;
} admin_resp;

/* Largest response body (a /metrics page of many series fits). */
#define ADMIN_BODY_MAX (16u * 1024 * 1024)
/* Routes beyond the built-ins. */
#define ADMIN_ROUTES_MAX 32

/* A route handler: fill resp; return 0, or a negative code for a 500. */
typedef int (*admin_handler)(void *ud, const admin_req *req, admin_resp *resp);

/* Callbacks into the layers above (NULL members use the defaults:
 * sessions_ready → true, sessions_json → {"sessions":[]}). */
typedef struct admin_hooks {
    void *ud;
    bool (*redis_up)(void *ud);
    bool (*sessions_ready)(void *ud);
    int (*sessions_json)(void *ud, const char *tenant, const char *state, kk_buf *out);
} admin_hooks;

typedef struct admin_opts {
    const char *host;        /* IP to bind */
    int port;
    const kk_secret *token;  /* required unless host is loopback; copied */
    metrics *metrics;        /* borrowed, outlives the admin */
    admin_hooks hooks;
} admin_opts;

/* Creates the vhost on ctx. Returns 0; KK_EINVAL (non-loopback without a
 * token); KK_EIO when lws cannot listen (address in use, bad address);
 * KK_ENOMEM. */
int admin_new(struct lws_context *ctx, const admin_opts *opts, admin **out);

/* Adds a route: exact path match, or a prefix match when path ends in '*'
 * (e.g. "/v1/sessions/" plus a star; the handler parses req->path). Returns 0,
 * KK_ETOOBIG, KK_EINVAL. */
int admin_route_add(admin *a, const char *method, const char *path, admin_handler fn, void *ud);

/* Copies the URL argument name (without '=') into buf; returns buf, or NULL
 * when absent or longer than cap - 1. */
const char *admin_req_arg(const admin_req *req, const char *name, char *buf, size_t cap);

/* True for 127.0.0.0/8, ::1 and "localhost". */
bool admin_host_is_loopback(const char *host);

/* Frees the routes; call after the lws context is destroyed. NULL ok. */
void admin_free(admin *a);

#endif
