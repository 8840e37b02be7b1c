/* app.h — the daemon's process: one libuv loop, one lws context in
 * foreign-loop mode (admin vhost now, gateway client connections later),
 * the global Redis connection, the metrics registry, signals, reload and
 * orderly shutdown.
 *
 * Seams for the layers above (sessions, resync, Redis sink): an app_hooks
 * table given to app_run. start() runs once everything is up (create
 * sessions there, using app_loop/app_lws/app_config/app_metrics/app_redis
 * and admin_route_add on app_admin). on_reload() gets the old and new
 * configs and the diff (both configs live during the call; the old one is
 * freed after it returns). drain() begins an orderly stop (finish
 * recordings, release leases); call app_drain_done() when finished — the
 * app tears down anyway at instance.drainTimeout. stop() runs just before
 * teardown: close your handles there (they must close before uv_run ends).
 *
 * Signals: SIGTERM/SIGINT → drain then exit 0; SIGHUP → reload (errors keep
 * the old config and are logged each with FILE:LINE:COL); SIGPIPE ignored.
 * Teardown follows platform-notes §4 order A: our handles, first
 * lws_context_destroy, Redis close, loop drains, second destroy,
 * uv_loop_close (must return 0).
 *
 * Thread: everything here runs on the loop thread.
 */
#ifndef KK_APP_H
#define KK_APP_H

#include <stdbool.h>

#include "codec.h"
#include "config.h"

typedef struct app app;

typedef struct app_hooks {
    void *ud;
    int (*start)(void *ud, app *a);
    void (*on_reload)(void *ud, app *a, const kk_config *old, const kk_config *new,
                      const cfg_diff *diff);
    bool (*sessions_ready)(void *ud);
    int (*sessions_json)(void *ud, const char *tenant, const char *state, kk_buf *out);
    void (*drain)(void *ud, app *a);
    void (*stop)(void *ud, app *a);
} app_hooks;

/* Runs the daemon with a loaded config (ownership moves to the app) until
 * a stop signal. Returns the process exit code (0 clean, 1 start failure). */
int app_run(kk_config *cfg, const app_hooks *hooks);

/* Parses argv (-c FILE, --check-config, --shard I/N, --version, --help)
 * and runs. */
int app_main(int argc, char **argv);
/* Same, running the layers above through hooks (NULL: none). */
int app_main_hooks(int argc, char **argv, const app_hooks *hooks);

/* Accessors for the hooks. The lws context type stays opaque here. */
struct uv_loop_s *app_loop(app *a);
struct lws_context *app_lws(app *a);
const kk_config *app_config(app *a);
struct metrics *app_metrics(app *a);
struct rconn *app_redis(app *a);
struct admin *app_admin(app *a);

/* This instance's static shard (--shard I/N; count 0 when not given). */
struct kk_shard;
const struct kk_shard *app_shard(app *a);

/* Tells the app that drain() has finished. */
void app_drain_done(app *a);

/* Starts an orderly stop as if SIGTERM arrived (tests, POST endpoints). */
void app_request_stop(app *a);

/* Requests a reload exactly as SIGHUP does (POST /v1/reload): raises
 * SIGHUP, so the reload runs on the loop's next turn, outside the caller. */
void app_request_reload(app *a);

#endif
