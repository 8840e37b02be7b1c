/* log.c — JSON-lines logger (see log.h). */
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The one allowed global: the sink, set in main before threads start. */
static struct {
    enum kk_log_level level;
    kk_log_writer writer;
    void *ud;
} g_log_sink = { KK_LOG_INFO, NULL, NULL };

/* Sets the minimum level. */
void kk_log_set_level(enum kk_log_level level)
{
    g_log_sink.level = level;
}

/* Returns the minimum level. */
enum kk_log_level kk_log_get_level(void)
{
    return g_log_sink.level;
}

/* Replaces the writer; NULL restores stderr. */
void kk_log_set_writer(kk_log_writer fn, void *ud)
{
    g_log_sink.writer = fn;
    g_log_sink.ud = ud;
}

static const char *const level_names[] = { "debug", "info", "warn", "error", "off" };

/* Parses a level name. */
int kk_log_level_parse(const char *s, enum kk_log_level *out)
{
    for (int i = 0; s && i <= KK_LOG_OFF; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum kk_log_level)i;
            return 0;
        }
    }
    return KK_EINVAL;
}

/* Returns a level's name. */
const char *kk_log_level_name(enum kk_log_level level)
{
    return (unsigned)level <= KK_LOG_OFF ? level_names[level] : "?";
}

/* True when level passes the sink's threshold. */
bool kk_log_enabled(enum kk_log_level level)
{
    return level < KK_LOG_OFF && level >= g_log_sink.level;
}

/* Appends n raw bytes if they fit. */
static bool put_raw(char *buf, size_t cap, size_t *pos, const char *s, size_t n)
{
    if (n > cap - *pos)
        return false;
    memcpy(buf + *pos, s, n);
    *pos += n;
    return true;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid
 * (overlong forms, surrogates and code points above U+10FFFF included). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min, cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* Appends a quoted, escaped JSON string; all or nothing. */
bool kk_json_put_str(char *buf, size_t cap, size_t *pos, const char *s, size_t len)
{
    size_t p = *pos;
    const unsigned char *u = (const unsigned char *)s;
    if (!put_raw(buf, cap, &p, "\"", 1))
        return false;
    for (size_t i = 0; i < len;) {
        char esc[8];
        const char *out = esc;
        size_t n = 2, adv = 1;
        unsigned c = u[i];
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            if (c < 0x20 || c == 0x7F) {
                snprintf(esc, sizeof esc, "\\u%04x", c);
                n = 6;
            } else if (c < 0x80) {
                out = (const char *)u + i, n = 1;
            } else if ((adv = utf8_seq_len(u + i, len - i)) != 0) {
                out = (const char *)u + i, n = adv;
            } else {
                out = "\\ufffd", n = 6, adv = 1; /* invalid byte */
            }
        }
        if (!put_raw(buf, cap, &p, out, n))
            return false;
        i += adv;
    }
    if (!put_raw(buf, cap, &p, "\"", 1))
        return false;
    *pos = p;
    return true;
}

/* Appends ,"key":<value> for one kv; all or nothing. */
static bool put_kv(char *buf, size_t cap, size_t *pos, const kk_kv *kv)
{
    size_t p = *pos;
    char num[48];
    int n = 0;
    const char *key = kv->key ? kv->key : "?";
    char keybuf[128];
    if (kv->type == KK_KV_SECRET) {
        snprintf(keybuf, sizeof keybuf, "%s_len", key);
        key = keybuf;
    }
    if (!put_raw(buf, cap, &p, ",", 1) || !kk_json_put_str(buf, cap, &p, key, strlen(key)) ||
        !put_raw(buf, cap, &p, ":", 1))
        return false;
    switch (kv->type) {
    case KK_KV_NONE:
        return true;
    case KK_KV_STR:
        if (!kv->v.s)
            return put_raw(buf, cap, &p, "null", 4) && (*pos = p, true);
        if (!kk_json_put_str(buf, cap, &p, kv->v.s, strlen(kv->v.s)))
            return false;
        *pos = p;
        return true;
    case KK_KV_JSON:
        if (!put_raw(buf, cap, &p, kv->v.s ? kv->v.s : "null", kv->v.s ? strlen(kv->v.s) : 4))
            return false;
        *pos = p;
        return true;
    case KK_KV_INT: n = snprintf(num, sizeof num, "%" PRId64, kv->v.i); break;
    case KK_KV_UINT: n = snprintf(num, sizeof num, "%" PRIu64, kv->v.u); break;
    case KK_KV_DBL:
        /* JSON has no NaN/Inf: write null for them. */
        if (kv->v.d != kv->v.d || kv->v.d > 1e308 || kv->v.d < -1e308)
            n = snprintf(num, sizeof num, "null");
        else
            n = snprintf(num, sizeof num, "%.17g", kv->v.d);
        break;
    case KK_KV_BOOL: n = snprintf(num, sizeof num, "%s", kv->v.b ? "true" : "false"); break;
    case KK_KV_SECRET: n = snprintf(num, sizeof num, "%zu", kk_secret_len(kv->v.secret)); break;
    }
    if (n <= 0 || !put_raw(buf, cap, &p, num, (size_t)n))
        return false;
    *pos = p;
    return true;
}

/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 chars + NUL) for now, UTC. */
static void format_ts(char out[48])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    /* The year is clamped to 4 digits and the fields to their ranges so the
     * compiler can prove the result fits. */
    int year = tm.tm_year + 1900;
    snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year > 9999 ? 9999 : year,
             (tm.tm_mon + 1) % 13, tm.tm_mday % 32, tm.tm_hour % 24, tm.tm_min % 60,
             tm.tm_sec % 61, (int)(ts.tv_nsec / 1000000L) % 1000);
}

/* Formats one line; keeps room for the truncation marker and newline. */
size_t kk_log_format(char *buf, size_t cap, const kk_log_ctx *ctx, enum kk_log_level level,
                     const char *event, const kk_kv *kv, size_t nkv)
{
    static const char trunc[] = ",\"trunc\":true}\n";
    char ts[48];
    size_t pos = 0;
    if (cap < 64)
        return 0;
    size_t lim = cap - sizeof trunc; /* body limit: the marker always fits */
    bool cut = false;
    format_ts(ts);
    put_raw(buf, lim, &pos, "{\"ts\":\"", 7);
    put_raw(buf, lim, &pos, ts, strlen(ts));
    put_raw(buf, lim, &pos, "\",\"level\":\"", 11);
    const char *ln = kk_log_level_name(level);
    put_raw(buf, lim, &pos, ln, strlen(ln));
    put_raw(buf, lim, &pos, "\"", 1);
    kk_kv head[6];
    size_t nh = 0;
    head[nh++] = KK_S("mod", ctx && ctx->mod ? ctx->mod : "-");
    head[nh++] = KK_S("event", event ? event : "-");
    if (ctx && ctx->tenant)
        head[nh++] = KK_S("tenant", ctx->tenant);
    if (ctx && ctx->user)
        head[nh++] = KK_S("user", ctx->user);
    if (ctx && ctx->platform)
        head[nh++] = KK_I("platform", ctx->platform);
    if (ctx && ctx->sess)
        head[nh++] = KK_S("sess", ctx->sess);
    for (size_t i = 0; i < nh && !cut; i++)
        cut = !put_kv(buf, lim, &pos, &head[i]);
    for (size_t i = 0; i < nkv && !cut; i++) {
        if (kv[i].type != KK_KV_NONE)
            cut = !put_kv(buf, lim, &pos, &kv[i]);
    }
    if (cut) {
        memcpy(buf + pos, trunc, sizeof trunc - 1);
        return pos + sizeof trunc - 1;
    }
    memcpy(buf + pos, "}\n", 2);
    return pos + 2;
}

/* Default writer: one write() per line so concurrent lines never mix. */
static void write_stderr(const char *line, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, line, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        line += n;
        len -= (size_t)n;
    }
}

/* Formats and writes one line when the level is enabled. */
void kk_log_emit(const kk_log_ctx *ctx, enum kk_log_level level, const char *event,
                 const kk_kv *kv, size_t nkv)
{
    char line[KK_LOG_LINE_MAX];
    if (!kk_log_enabled(level))
        return;
    size_t n = kk_log_format(line, sizeof line, ctx, level, event, kv, nkv);
    if (g_log_sink.writer)
        g_log_sink.writer(g_log_sink.ud, line, n);
    else
        write_stderr(line, n);
}
