/* app.c — process lifecycle: loop, lws context, Redis, admin, signals,
 * reload, drain and teardown (see app.h). */
#include <uv.h> /* before libwebsockets.h (platform-notes §3) */
#include <libwebsockets.h>

#include "app.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "kk_err.h"
#include "log.h"
#include "metrics.h"
#include "rconn.h"
#include "shard.h"

#ifndef KK_VERSION
#define KK_VERSION "0.0.0"
#endif

/* Items of a reload diff logged one by one; the rest only counted. */
#define APP_RELOAD_LOG_ITEMS 100

struct app {
    uv_loop_t loop;
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t deadline, teardown;
    struct lws_context *ctx;
    rconn *redis;
    admin *admin;
    metrics *metrics;
    kk_config *cfg;
    app_hooks hooks;
    bool stopping, torn_down, redis_up;
    int exit_code;
    kk_log_ctx log;
    metric_series *m_redis_up, *m_reload_ok, *m_reload_fail, *m_redis_down;
    kk_shard shard; /* --shard i/n; count 0 = unsharded */
};

/* lws log lines go through our logger (lws has no user pointer here, so
 * this uses the process-wide sink, the one allowed global). */
static void app_lws_emit(int level, const char *line)
{
    static const kk_log_ctx ctx = { .mod = "lws" };
    char buf[512];
    size_t n = strlen(line);
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    memcpy(buf, line, n);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    if (level & LLL_ERR)
        KK_LOG_ERROR(&ctx, "lws", KK_S("msg", buf));
    else
        KK_LOG_WARN(&ctx, "lws", KK_S("msg", buf));
}

/* Accessors. */
struct uv_loop_s *app_loop(app *a) { return &a->loop; }
struct lws_context *app_lws(app *a) { return a->ctx; }
const kk_config *app_config(app *a) { return a->cfg; }
struct metrics *app_metrics(app *a) { return a->metrics; }
struct rconn *app_redis(app *a) { return a->redis; }
struct admin *app_admin(app *a) { return a->admin; }

/* Close callback for handles embedded in struct app (nothing to free). */
static void app_on_closed(uv_handle_t *h)
{
    (void)h;
}

/* Closes a handle once. */
static void app_close(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, app_on_closed);
}

/* Runs from a 0 ms timer, never inside an lws or hiredis callback
 * (platform-notes §4 order A: stop producing work, first destroy, Redis). */
static void app_on_teardown(uv_timer_t *t)
{
    app *a = t->data;
    if (a->torn_down)
        return;
    a->torn_down = true;
    if (a->hooks.stop)
        a->hooks.stop(a->hooks.ud, a);
    app_close((uv_handle_t *)&a->sig_term);
    app_close((uv_handle_t *)&a->sig_int);
    app_close((uv_handle_t *)&a->sig_hup);
    app_close((uv_handle_t *)&a->deadline);
    app_close((uv_handle_t *)&a->teardown);
    if (a->ctx)
        lws_context_destroy(a->ctx); /* first call: starts closing lws's handles */
    rconn_close(a->redis, NULL, NULL);
    a->redis = NULL;
    a->redis_up = false;
}

/* Schedules teardown on the next loop turn. */
static void app_schedule_teardown(app *a)
{
    uv_timer_start(&a->teardown, app_on_teardown, 0, 0);
}

/* Drain deadline passed: tear down anyway. */
static void app_on_deadline(uv_timer_t *t)
{
    app *a = t->data;
    KK_LOG_WARN(&a->log, "drain_deadline", KK_U("drainTimeoutMs", a->cfg->instance.drain_ms));
    app_schedule_teardown(a);
}

/* The drain hook finished. */
void app_drain_done(app *a)
{
    if (!a->torn_down) {
        KK_LOG_INFO(&a->log, "drained");
        app_schedule_teardown(a);
    }
}

/* Begins an orderly stop; a second request is ignored. */
void app_request_stop(app *a)
{
    if (a->stopping)
        return;
    a->stopping = true;
    KK_LOG_INFO(&a->log, "shutdown_begin", KK_U("drainTimeoutMs", a->cfg->instance.drain_ms));
    uv_timer_start(&a->deadline, app_on_deadline, a->cfg->instance.drain_ms, 0);
    if (a->hooks.drain)
        a->hooks.drain(a->hooks.ud, a);
    else
        app_drain_done(a);
}

/* Logs one reload item. */
static void app_log_change(const cfg_diff_item *it)
{
    const cfg_tenant *t = it->new_tenant ? it->new_tenant : it->old_tenant;
    const cfg_user *u = it->new_user ? it->new_user : it->old_user;
    kk_log_ctx ctx = { .mod = "app", .tenant = t ? t->id : NULL, .user = u ? u->user_id : NULL,
                       .platform = u ? u->platform_id : 0 };
    KK_LOG_INFO(&ctx, "reload_change", KK_S("change", cfg_change_name(it->kind)));
}

/* SIGHUP: load a new config beside the old one (nginx's cycle). */
static void app_reload(app *a)
{
    kk_config *ncfg = NULL;
    cfg_errors errs;
    KK_LOG_INFO(&a->log, "reload_begin", KK_S("file", a->cfg->path));
    if (cfg_load(a->cfg->path, &ncfg, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            KK_LOG_ERROR(&a->log, "config_error", KK_S("file", errs.e[i].file),
                         KK_I("line", errs.e[i].line), KK_I("col", errs.e[i].col),
                         KK_S("msg", errs.e[i].msg));
        KK_LOG_ERROR(&a->log, "reload_failed", KK_U("errors", errs.total),
                     KK_S("kept", "previous config"));
        metric_inc(a->m_reload_fail, 1);
        cfg_errors_free(&errs);
        return;
    }
    cfg_diff d;
    if (cfg_diff_compute(a->cfg, ncfg, &d) != 0) {
        KK_LOG_ERROR(&a->log, "reload_failed", KK_ERR(KK_ENOMEM));
        cfg_free(ncfg);
        return;
    }
    KK_LOG_INFO(&a->log, "reload", KK_U("tenantsAdded", d.tenants_added),
                KK_U("tenantsRemoved", d.tenants_removed), KK_U("tenantsChanged", d.tenants_changed),
                KK_U("usersAdded", d.users_added), KK_U("usersRemoved", d.users_removed),
                KK_U("usersChanged", d.users_changed), KK_B("logChanged", d.log_changed),
                KK_B("redisChanged", d.redis_changed));
    for (size_t i = 0; i < d.n && i < APP_RELOAD_LOG_ITEMS; i++)
        app_log_change(&d.items[i]);
    if (d.admin_changed || d.media_changed || d.redis_changed)
        KK_LOG_WARN(&a->log, "restart_required", KK_B("admin", d.admin_changed),
                    KK_B("media", d.media_changed), KK_B("redis", d.redis_changed));
    kk_log_set_level(ncfg->log.level);
    if (a->hooks.on_reload)
        a->hooks.on_reload(a->hooks.ud, a, a->cfg, ncfg, &d);
    cfg_diff_free(&d);
    /* admin and the global Redis connection keep using what they copied */
    kk_config *old = a->cfg;
    a->cfg = ncfg;
    cfg_free(old);
    metric_inc(a->m_reload_ok, 1);
}

/* Raises SIGHUP: the uv_signal handler reloads on the next loop turn
 * (never inside an admin request's lws callback). */
void app_request_reload(app *a)
{
    KK_LOG_INFO(&a->log, "reload_requested");
    (void)uv_kill(uv_os_getpid(), SIGHUP);
}

/* Signal handler (on the loop, via uv_signal). */
static void app_on_signal(uv_signal_t *s, int signum)
{
    app *a = s->data;
    if (signum == SIGHUP) {
        app_reload(a);
        return;
    }
    KK_LOG_INFO(&a->log, "signal", KK_S("signal", signum == SIGTERM ? "SIGTERM" : "SIGINT"));
    app_request_stop(a);
}

/* Redis state changes: log and update the gauge. The reason never holds
 * the password (rconn.h). */
static void app_on_redis_state(void *ud, bool up, const char *reason)
{
    app *a = ud;
    char where[400];
    rurl_redacted(&a->cfg->redis.url, where, sizeof where);
    if (up && !a->redis_up)
        KK_LOG_INFO(&a->log, "redis_up", KK_S("redis", where));
    else if (!up)
        KK_LOG_WARN(&a->log, "redis_down", KK_S("redis", where), KK_S("reason", reason));
    if (!up)
        metric_inc(a->m_redis_down, 1);
    a->redis_up = up;
    metric_set(a->m_redis_up, up ? 1 : 0);
}

/* admin hook: Redis state. */
static bool app_redis_up(void *ud)
{
    return ((app *)ud)->redis_up;
}

/* admin hook: sessions ready (true until a sessions layer exists). */
static bool app_sessions_ready(void *ud)
{
    app *a = ud;
    return a->hooks.sessions_ready ? a->hooks.sessions_ready(a->hooks.ud) : true;
}

/* admin hook: sessions JSON. */
static int app_sessions_json(void *ud, const char *tenant, const char *state, kk_buf *out)
{
    app *a = ud;
    if (a->hooks.sessions_json)
        return a->hooks.sessions_json(a->hooks.ud, tenant, state, out);
    return kk_buf_append(out, "{\"sessions\":[]}\n", 16);
}

/* Registers the app's own metrics. */
static int app_metrics_init(app *a)
{
    metrics *m = a->metrics = metrics_new();
    if (!m)
        return KK_ENOMEM;
    metric *info = metrics_gauge(m, "kkim_build_info", "Build information.",
                                 (const char *[]){ "version", NULL });
    metric_set(metric_series_get(info, (const char *[]){ KK_VERSION }), 1);
    a->m_redis_up = metric_series_get(
        metrics_gauge(m, "kkim_redis_up", "1 when the global Redis connection is up.", NULL), NULL);
    a->m_redis_down = metric_series_get(
        metrics_counter(m, "kkim_redis_down_total", "Failed or lost Redis connections.", NULL), NULL);
    metric *rl = metrics_counter(m, "kkim_config_reloads_total", "Config reloads by result.",
                                 (const char *[]){ "result", NULL });
    a->m_reload_ok = metric_series_get(rl, (const char *[]){ "ok" });
    a->m_reload_fail = metric_series_get(rl, (const char *[]){ "error" });
    return a->m_redis_up && a->m_reload_ok && a->m_reload_fail && a->m_redis_down ? 0 : KK_ENOMEM;
}

/* Loop handles: signals and timers (lws installs no signal handlers in
 * foreign-loop mode, platform-notes §8). */
static void app_handles_init(app *a)
{
    uv_signal_init(&a->loop, &a->sig_term);
    uv_signal_init(&a->loop, &a->sig_int);
    uv_signal_init(&a->loop, &a->sig_hup);
    uv_timer_init(&a->loop, &a->deadline);
    uv_timer_init(&a->loop, &a->teardown);
    a->sig_term.data = a->sig_int.data = a->sig_hup.data = a;
    a->deadline.data = a->teardown.data = a;
    uv_signal_start(&a->sig_term, app_on_signal, SIGTERM);
    uv_signal_start(&a->sig_int, app_on_signal, SIGINT);
    uv_signal_start(&a->sig_hup, app_on_signal, SIGHUP);
}

/* The lws context on our loop; admin vhost on it. */
static int app_lws_init(app *a)
{
    void *foreign[1] = { &a->loop }; /* only needs to live during create */
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    lws_set_log_level(LLL_ERR | LLL_WARN, app_lws_emit); /* before create (notes §8) */
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    info.foreign_loops = foreign;
    info.pcontext = &a->ctx; /* lws writes NULL here once the context is freed */
    a->ctx = lws_create_context(&info);
    if (!a->ctx) {
        KK_LOG_ERROR(&a->log, "lws_init_failed", KK_S("hint", "is libwebsockets-evlib-uv installed?"));
        return KK_EIO;
    }
    admin_opts ao = { .host = a->cfg->admin.host, .port = a->cfg->admin.port,
                      .token = a->cfg->admin.token, .metrics = a->metrics,
                      .hooks = { .ud = a, .redis_up = app_redis_up,
                                 .sessions_ready = app_sessions_ready,
                                 .sessions_json = app_sessions_json } };
    int rc = admin_new(a->ctx, &ao, &a->admin);
    if (rc != 0) {
        KK_LOG_ERROR(&a->log, "admin_listen_failed", KK_S("listen", a->cfg->admin.listen), KK_ERR(rc));
        return rc;
    }
    KK_LOG_INFO(&a->log, "admin_listening", KK_S("listen", a->cfg->admin.listen),
                KK_B("auth", a->cfg->admin.token != NULL));
    return 0;
}

/* Connects the global Redis. */
static int app_redis_init(app *a)
{
    rconn_opts ro = { .url = &a->cfg->redis.url, .name = "global" };
    int rc = rconn_new(&a->loop, &ro, app_on_redis_state, a, &a->redis);
    return rc ? rc : rconn_start(a->redis);
}

/* Names one handle still open at loop close (a shutdown bug to find). */
static void app_log_open_handle(uv_handle_t *h, void *arg)
{
    app *a = arg;
    KK_LOG_ERROR(&a->log, "open_handle", KK_S("type", uv_handle_type_name(uv_handle_get_type(h))),
                 KK_I("closing", uv_is_closing(h)), KK_I("active", uv_is_active(h)));
}

/* Runs the daemon as static shard sh (NULL: unsharded). */
static int app_run_shard(kk_config *cfg, const app_hooks *hooks, const kk_shard *sh)
{
    app *a = calloc(1, sizeof *a);
    if (!a) {
        cfg_free(cfg);
        return 1;
    }
    a->cfg = cfg;
    if (sh)
        a->shard = *sh;
    a->log = (kk_log_ctx){ .mod = "app" };
    if (hooks)
        a->hooks = *hooks;
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&a->loop);
    app_handles_init(a);
    int rc = app_metrics_init(a);
    if (rc == 0)
        rc = app_lws_init(a);
    if (rc == 0)
        rc = app_redis_init(a);
    if (rc == 0 && a->hooks.start)
        rc = a->hooks.start(a->hooks.ud, a);
    if (rc == 0) {
        KK_LOG_INFO(&a->log, "started", KK_S("version", KK_VERSION),
                    KK_S("instance", cfg->instance.id), KK_U("tenants", cfg->n_tenants),
                    KK_U("users", cfg->n_users));
    } else {
        KK_LOG_ERROR(&a->log, "start_failed", KK_ERR(rc));
        a->exit_code = 1;
        a->stopping = true;
        app_schedule_teardown(a);
    }
    uv_run(&a->loop, UV_RUN_DEFAULT);
    if (a->ctx) {
        lws_context_destroy(a->ctx); /* second call frees it (platform-notes §4) */
        uv_run(&a->loop, UV_RUN_DEFAULT); /* until every closing handle has closed */
    }
    int lc = uv_loop_close(&a->loop);
    if (lc != 0) {
        KK_LOG_ERROR(&a->log, "loop_close_failed", KK_S("err", uv_err_name(lc)));
        uv_walk(&a->loop, app_log_open_handle, a);
        a->exit_code = 1;
    }
    admin_free(a->admin);
    metrics_free(a->metrics);
    KK_LOG_INFO(&a->log, "stopped", KK_I("exitCode", a->exit_code));
    int code = a->exit_code;
    cfg_free(a->cfg);
    free(a);
    return code;
}

/* Runs the daemon (app.h). */
int app_run(kk_config *cfg, const app_hooks *hooks)
{
    return app_run_shard(cfg, hooks, NULL);
}

/* This instance's static shard (app.h). */
const kk_shard *app_shard(app *a)
{
    return &a->shard;
}

/* Usage text. */
static void app_usage(FILE *f)
{
    fputs("usage: kkim-relay -c FILE [--check-config] [--shard I/N]\n"
          "       kkim-relay --version\n", f);
}

/* Parses the command line, loads the config and runs. */
int app_main(int argc, char **argv)
{
    return app_main_hooks(argc, argv, NULL);
}

/* Parses argv and runs with the given hooks (the relay's). */
int app_main_hooks(int argc, char **argv, const app_hooks *hooks)
{
    const char *path = NULL;
    bool check = false;
    kk_shard shard = { 0, 0 };
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "--shard") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            if (shard_parse(v, strlen(v), &shard) < 0) {
                fprintf(stderr, "kkim-relay: --shard wants I/N with 0 <= I < N <= %u\n", SHARD_COUNT_MAX);
                return 2;
            }
        } else if (strcmp(argv[i], "--check-config") == 0) {
            check = true;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("kkim-relay %s (libwebsockets %s, libuv %s)\n", KK_VERSION,
                   lws_get_library_version(), uv_version_string());
            return 0;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            app_usage(stdout);
            return 0;
        } else {
            app_usage(stderr);
            return 2;
        }
    }
    if (!path) {
        app_usage(stderr);
        return 2;
    }
    kk_config *cfg = NULL;
    cfg_errors errs;
    if (cfg_load(path, &cfg, &errs) != 0) {
        cfg_errors_print(&errs, stderr);
        fprintf(stderr, "config has %zu error%s\n", errs.total, errs.total == 1 ? "" : "s");
        cfg_errors_free(&errs);
        return 1;
    }
    if (check) {
        printf("config ok: %zu tenants, %zu users\n", cfg->n_tenants, cfg->n_users);
        cfg_free(cfg);
        return 0;
    }
    kk_log_set_level(cfg->log.level);
    if (shard.count)
        KK_LOG_INFO(&(kk_log_ctx){ .mod = "app" }, "shard", KK_U("index", shard.index),
                    KK_U("count", shard.count));
    return app_run_shard(cfg, hooks, &shard);
}
