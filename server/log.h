/* log.h — JSON-lines logger: one object per line on stderr.
 *
 * Every line is {"ts":"2026-01-02T03:04:05.678Z","level":"info","mod":"sess",
 * "event":"login", then the carried context ("tenant","user","platform",
 * "sess") and then the call's key/values}. Strings are escaped per RFC 8259;
 * invalid UTF-8 becomes U+FFFD so every line parses. A line longer than
 * KK_LOG_LINE_MAX is cut at a value boundary and ends with "trunc":true.
 *
 * Context: a kk_log_ctx lives in the object that logs (a session, the Redis
 * connection), the way nginx's c->log does, so call sites name only the
 * event and what is new:
 *     KK_LOG_INFO(&s->log, "login", KK_I("latencyMs", ms), KK_ERR(rc));
 * Secrets: KK_SECRET("token", sec) writes "token_len":N — the value of a
 * kk_secret cannot be logged through this API.
 *
 * Global state: the sink (level + writer) is the one allowed global, set once
 * in main before any thread starts (kk_log_set_level/kk_log_set_writer);
 * afterwards it is read-only and each line is a single write() call, so
 * threads may log concurrently.
 */
#ifndef KK_LOG_H
#define KK_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kk_err.h"
#include "secret.h"

enum kk_log_level {
    KK_LOG_DEBUG = 0,
    KK_LOG_INFO = 1,
    KK_LOG_WARN = 2,
    KK_LOG_ERROR = 3,
    KK_LOG_OFF = 4,
};

/* Longest line written, newline included; longer lines are truncated. */
#define KK_LOG_LINE_MAX 8192

/* Context carried by the logging object. NULL / 0 fields are omitted.
 * The strings are borrowed: they must outlive the context's use. */
typedef struct kk_log_ctx {
    const char *mod;    /* module: "app", "config", "rconn", "admin", "sess" */
    const char *tenant;
    const char *user;
    int platform;       /* 0 = not set */
    const char *sess;   /* session id */
} kk_log_ctx;

enum kk_kv_type {
    KK_KV_NONE = 0, /* placeholder, skipped */
    KK_KV_STR,
    KK_KV_INT,
    KK_KV_UINT,
    KK_KV_DBL,
    KK_KV_BOOL,
    KK_KV_SECRET, /* written as "<key>_len":N */
    KK_KV_JSON,   /* pre-rendered JSON value, written verbatim */
};

/* One key/value of a log call; built by the KK_* macros below. */
typedef struct kk_kv {
    const char *key;
    enum kk_kv_type type;
    union {
        const char *s;
        int64_t i;
        uint64_t u;
        double d;
        bool b;
        const kk_secret *secret;
    } v;
} kk_kv;

#define KK_S(k, val) ((kk_kv){ .key = (k), .type = KK_KV_STR, .v.s = (val) })
#define KK_I(k, val) ((kk_kv){ .key = (k), .type = KK_KV_INT, .v.i = (int64_t)(val) })
#define KK_U(k, val) ((kk_kv){ .key = (k), .type = KK_KV_UINT, .v.u = (uint64_t)(val) })
#define KK_F(k, val) ((kk_kv){ .key = (k), .type = KK_KV_DBL, .v.d = (double)(val) })
#define KK_B(k, val) ((kk_kv){ .key = (k), .type = KK_KV_BOOL, .v.b = (val) })
#define KK_SECRET(k, val) ((kk_kv){ .key = (k), .type = KK_KV_SECRET, .v.secret = (val) })
#define KK_JSON(k, val) ((kk_kv){ .key = (k), .type = KK_KV_JSON, .v.s = (val) })
/* An error code as two keys: "err":"KK_EIO","errText":"I/O error". */
#define KK_ERR(code) KK_S("err", kk_errname(code)), KK_S("errText", kk_strerror(code))

/* Writer: receives one complete line (ending in '\n'). Default: write(2). */
typedef void (*kk_log_writer)(void *ud, const char *line, size_t len);

/* Sets the minimum level written. Call from main before threads start. */
void kk_log_set_level(enum kk_log_level level);

/* Returns the current minimum level. */
enum kk_log_level kk_log_get_level(void);

/* Replaces the writer (tests capture lines); NULL restores stderr. */
void kk_log_set_writer(kk_log_writer fn, void *ud);

/* Parses "debug"/"info"/"warn"/"error"/"off"; returns 0 or KK_EINVAL. */
int kk_log_level_parse(const char *s, enum kk_log_level *out);

/* Name of a level ("info"). */
const char *kk_log_level_name(enum kk_log_level level);

/* True when a line at this level would be written. */
bool kk_log_enabled(enum kk_log_level level);

/* Formats one line into buf (cap bytes, >= 64) without writing it; returns
 * its length. Exposed for tests and for callers that route lines elsewhere. */
size_t kk_log_format(char *buf, size_t cap, const kk_log_ctx *ctx, enum kk_log_level level,
                     const char *event, const kk_kv *kv, size_t nkv);

/* Formats and writes one line if the level is enabled. ctx may be NULL. */
void kk_log_emit(const kk_log_ctx *ctx, enum kk_log_level level, const char *event,
                 const kk_kv *kv, size_t nkv);

#define KK_LOG_(ctx, lvl, event, ...)                                                      \
    do {                                                                                   \
        if (kk_log_enabled(lvl))                                                           \
            kk_log_emit((ctx), (lvl), (event), (const kk_kv[]){ { 0 }, __VA_ARGS__ },      \
                        sizeof((const kk_kv[]){ { 0 }, __VA_ARGS__ }) / sizeof(kk_kv));    \
    } while (0)
#define KK_LOG_DEBUG(ctx, event, ...) KK_LOG_(ctx, KK_LOG_DEBUG, event, __VA_ARGS__)
#define KK_LOG_INFO(ctx, event, ...) KK_LOG_(ctx, KK_LOG_INFO, event, __VA_ARGS__)
#define KK_LOG_WARN(ctx, event, ...) KK_LOG_(ctx, KK_LOG_WARN, event, __VA_ARGS__)
#define KK_LOG_ERROR(ctx, event, ...) KK_LOG_(ctx, KK_LOG_ERROR, event, __VA_ARGS__)

/* Appends s as a JSON string literal (quotes included) to buf at *pos, never
 * past cap. Returns false (and leaves *pos unchanged) when it does not fit.
 * Shared with the admin and metrics renderers. */
bool kk_json_put_str(char *buf, size_t cap, size_t *pos, const char *s, size_t len);

#endif
