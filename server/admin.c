/* admin.c — admin HTTP vhost on the lws context (see admin.h). */
#include <uv.h> /* before libwebsockets.h: lws guards its uv parts (platform-notes §3) */
#include <libwebsockets.h>

#include "admin.h"

#include <stdlib.h>
#include <string.h>

#include "kk_err.h"
#include "log.h"

/* Longest request path we route; longer ones get 404. */
#define ADMIN_PATH_MAX 256
/* Body bytes written per WRITEABLE callback (keeps each write small). */
#define ADMIN_CHUNK 16384

typedef struct admin_route {
    char method[8];
    char path[ADMIN_PATH_MAX];
    admin_handler fn;
    void *ud;
} admin_route;

struct admin {
    struct lws_protocols protos[2];
    struct lws_vhost *vh;
    kk_secret *token;          /* NULL on loopback without a token */
    bool need_auth;
    metrics *metrics;
    admin_hooks hooks;
    admin_route routes[ADMIN_ROUTES_MAX];
    size_t nroutes;
    kk_log_ctx log;
};

/* Per connection: the response being written. lws zeroes it. */
typedef struct admin_pss {
    admin_resp resp;
    size_t sent;
    bool headers_sent;
    bool active;
    char allow[64];            /* Allow header for 405 */
    bool www_auth;             /* WWW-Authenticate header for 401 */
} admin_pss;

/* True for loopback hosts. */
bool admin_host_is_loopback(const char *h)
{
    return strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0 || strcmp(h, "localhost") == 0;
}

/* Copies a URL argument. */
const char *admin_req_arg(const admin_req *req, const char *name, char *buf, size_t cap)
{
    char key[64];
    if (!req->wsi_ || snprintf(key, sizeof key, "%s=", name) >= (int)sizeof key || cap > 4096)
        return NULL;
    const char *v = lws_get_urlarg_by_name(req->wsi_, key, buf, (int)cap);
    if (!v)
        return NULL;
    memmove(buf, v, strlen(v) + 1); /* lws leaves "name=" in front */
    return buf;
}

/* Sets a small fixed response. */
static void resp_text(admin_resp *r, int status, const char *ctype, const char *body)
{
    r->status = status;
    r->content_type = ctype;
    kk_buf_reset(&r->body);
    kk_buf_append(&r->body, body, strlen(body));
}

/* GET /healthz: answering at all proves the loop runs. */
static int h_healthz(void *ud, const admin_req *req, admin_resp *resp)
{
    (void)ud;
    (void)req;
    resp_text(resp, 200, "application/json", "{\"status\":\"ok\"}\n");
    return 0;
}

/* GET /readyz: Redis up and sessions mostly online. */
static int h_readyz(void *ud, const admin_req *req, admin_resp *resp)
{
    admin *a = ud;
    (void)req;
    bool redis = a->hooks.redis_up ? a->hooks.redis_up(a->hooks.ud) : true;
    bool sess = a->hooks.sessions_ready ? a->hooks.sessions_ready(a->hooks.ud) : true;
    char body[128];
    snprintf(body, sizeof body, "{\"ready\":%s,\"redis\":\"%s\",\"sessions\":\"%s\"}\n",
             redis && sess ? "true" : "false", redis ? "up" : "down",
             sess ? "ready" : "not_ready");
    resp_text(resp, redis && sess ? 200 : 503, "application/json", body);
    return 0;
}

/* GET /metrics: the registry in text format 0.0.4. */
static int h_metrics(void *ud, const admin_req *req, admin_resp *resp)
{
    admin *a = ud;
    (void)req;
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    return a->metrics ? metrics_render(a->metrics, &resp->body) : 0;
}

/* GET /v1/sessions?tenant=&state=: JSON from the sessions layer. */
static int h_sessions(void *ud, const admin_req *req, admin_resp *resp)
{
    admin *a = ud;
    char tenant[128], state[64];
    const char *t = admin_req_arg(req, "tenant", tenant, sizeof tenant);
    const char *s = admin_req_arg(req, "state", state, sizeof state);
    resp->status = 200;
    resp->content_type = "application/json";
    if (!a->hooks.sessions_json)
        return kk_buf_append(&resp->body, "{\"sessions\":[]}\n", 16);
    return a->hooks.sessions_json(a->hooks.ud, t, s, &resp->body);
}

/* Adds a route. */
int admin_route_add(admin *a, const char *method, const char *path, admin_handler fn, void *ud)
{
    if (!a || !method || !path || !fn || strlen(method) >= 8 || strlen(path) >= ADMIN_PATH_MAX)
        return KK_EINVAL;
    if (a->nroutes >= ADMIN_ROUTES_MAX)
        return KK_ETOOBIG;
    admin_route *r = &a->routes[a->nroutes++];
    memcpy(r->method, method, strlen(method) + 1);
    memcpy(r->path, path, strlen(path) + 1);
    r->fn = fn;
    r->ud = ud;
    return 0;
}

/* The request method, from the URI token lws filled. */
static const char *req_method(struct lws *wsi)
{
    static const struct { enum lws_token_indexes tok; const char *name; } m[] = {
        { WSI_TOKEN_GET_URI, "GET" },       { WSI_TOKEN_POST_URI, "POST" },
        { WSI_TOKEN_PUT_URI, "PUT" },       { WSI_TOKEN_DELETE_URI, "DELETE" },
        { WSI_TOKEN_PATCH_URI, "PATCH" },   { WSI_TOKEN_OPTIONS_URI, "OPTIONS" },
        { WSI_TOKEN_HEAD_URI, "HEAD" },
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (lws_hdr_total_length(wsi, m[i].tok) > 0)
            return m[i].name;
    return "OTHER";
}

/* Checks "Authorization: Bearer <token>" in constant time. */
static bool req_authorized(admin *a, struct lws *wsi)
{
    if (!a->need_auth)
        return true;
    char hdr[512];
    int n = lws_hdr_copy(wsi, hdr, sizeof hdr, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (n <= 7 || strncmp(hdr, "Bearer ", 7) != 0)
        return false;
    return kk_secret_equal(a->token, hdr + 7, (size_t)n - 7);
}

/* True when a route's path matches: exactly, or by prefix when the route
 * ends in a star (for /v1/sessions/{tenant}/{user}/reconnect). */
static bool route_match(const char *route, const char *path)
{
    size_t n = strlen(route);
    if (n > 0 && route[n - 1] == '*')
        return strncmp(route, path, n - 1) == 0 && path[n - 1] != '\0';
    return strcmp(route, path) == 0;
}

/* Routes one request into pss->resp. */
static void dispatch(admin *a, struct lws *wsi, admin_pss *pss, const char *path)
{
    admin_req req = { .method = req_method(wsi), .path = path, .wsi_ = wsi };
    admin_resp *resp = &pss->resp;
    kk_buf_init(&resp->body, ADMIN_BODY_MAX);
    if (!req_authorized(a, wsi)) {
        pss->www_auth = true;
        resp_text(resp, 401, "application/json", "{\"error\":\"unauthorized\"}\n");
        KK_LOG_WARN(&a->log, "unauthorized", KK_S("path", path), KK_S("method", req.method));
        return;
    }
    bool path_known = false;
    size_t o = 0;
    pss->allow[0] = '\0';
    for (size_t i = 0; i < a->nroutes; i++) {
        admin_route *r = &a->routes[i];
        if (!route_match(r->path, path))
            continue;
        path_known = true;
        if (strcmp(r->method, req.method) == 0) {
            int rc = r->fn(r->ud, &req, resp);
            if (rc < 0) {
                KK_LOG_ERROR(&a->log, "handler_failed", KK_S("path", path), KK_ERR(rc));
                resp_text(resp, 500, "application/json", "{\"error\":\"internal\"}\n");
            }
            return;
        }
        o += (size_t)snprintf(pss->allow + o, sizeof pss->allow - o, "%s%s", o ? ", " : "",
                              r->method);
        if (o >= sizeof pss->allow)
            o = sizeof pss->allow - 1;
    }
    if (path_known)
        resp_text(resp, 405, "application/json", "{\"error\":\"method not allowed\"}\n");
    else
        resp_text(resp, 404, "application/json", "{\"error\":\"not found\"}\n");
}

/* Writes the headers, then the body in chunks; returns -1 to close. */
static int write_response(struct lws *wsi, admin_pss *pss)
{
    unsigned char buf[LWS_PRE + ADMIN_CHUNK];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf;
    admin_resp *r = &pss->resp;
    if (!pss->headers_sent) {
        if (lws_add_http_common_headers(wsi, (unsigned)r->status, r->content_type,
                                        r->body.len, &p, end))
            return -1;
        if (pss->allow[0] && r->status == 405 &&
            lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:",
                                        (const unsigned char *)pss->allow,
                                        (int)strlen(pss->allow), &p, end))
            return -1;
        if (pss->www_auth &&
            lws_add_http_header_by_name(wsi, (const unsigned char *)"www-authenticate:",
                                        (const unsigned char *)"Bearer", 6, &p, end))
            return -1;
        if (lws_finalize_write_http_header(wsi, start, &p, end))
            return -1;
        pss->headers_sent = true;
        if (r->body.len > 0) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    } else {
        size_t n = r->body.len - pss->sent;
        if (n > ADMIN_CHUNK)
            n = ADMIN_CHUNK;
        memcpy(start, r->body.p + pss->sent, n);
        pss->sent += n;
        bool last = pss->sent == r->body.len;
        if (lws_write(wsi, start, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
            return -1;
        if (!last) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    kk_buf_free(&r->body);
    pss->active = false;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* The vhost's protocol callback. */
static int admin_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    admin_pss *pss = user;
    const struct lws_protocols *proto = lws_get_protocol(wsi);
    admin *a = proto ? proto->user : NULL;
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        char path[ADMIN_PATH_MAX];
        if (!a || !pss)
            return -1;
        if (pss->active) /* keep-alive reuse: drop the old body */
            kk_buf_free(&pss->resp.body);
        memset(pss, 0, sizeof *pss);
        pss->active = true;
        if (len >= sizeof path)
            len = 0, in = "";
        memcpy(path, in, len);
        path[len] = '\0';
        dispatch(a, wsi, pss, path[0] ? path : "/");
        lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_HTTP_BODY:
        return 0; /* bodies are ignored: no route reads one */
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        /* a request with a body (even Content-Length: 0) is answered only
         * once lws has consumed it */
        if (pss && pss->active)
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!pss || !pss->active)
            return 0;
        return write_response(wsi, pss);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (pss && pss->active) {
            kk_buf_free(&pss->resp.body);
            pss->active = false;
        }
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* Creates the admin vhost. */
int admin_new(struct lws_context *ctx, const admin_opts *o, admin **out)
{
    *out = NULL;
    if (!ctx || !o || !o->host)
        return KK_EINVAL;
    bool loop = admin_host_is_loopback(o->host);
    if (!loop && !o->token)
        return KK_EINVAL;
    admin *a = calloc(1, sizeof *a);
    if (!a)
        return KK_ENOMEM;
    a->log = (kk_log_ctx){ .mod = "admin" };
    a->metrics = o->metrics;
    a->hooks = o->hooks;
    a->need_auth = !loop || o->token;
    if (o->token && !(a->token = kk_secret_dup(o->token))) {
        free(a);
        return KK_ENOMEM;
    }
    admin_route_add(a, "GET", "/healthz", h_healthz, a);
    admin_route_add(a, "GET", "/readyz", h_readyz, a);
    admin_route_add(a, "GET", "/metrics", h_metrics, a);
    admin_route_add(a, "GET", "/v1/sessions", h_sessions, a);
    a->protos[0] = (struct lws_protocols){ .name = "http", .callback = admin_cb,
                                           .per_session_data_size = sizeof(admin_pss),
                                           .user = a };
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = o->port;
    info.iface = strcmp(o->host, "0.0.0.0") == 0 ? NULL : o->host;
    info.protocols = a->protos;
    info.vhost_name = "admin";
    a->vh = lws_create_vhost(ctx, &info);
    if (!a->vh) {
        admin_free(a);
        return KK_EIO;
    }
    *out = a;
    return 0;
}

/* Frees the admin object. */
void admin_free(admin *a)
{
    if (!a)
        return;
    kk_secret_free(a->token);
    free(a);
}
