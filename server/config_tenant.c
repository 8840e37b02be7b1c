/* config_tenant.c — one tenant: gateway, tokens, users, usersFile, redis
 * override, streams, backfill, limits (see config.h, design.md §8.1). */
#include "config_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kk_err.h"

static const char *const sdk_names[] = { "go", "js", NULL };

/* Tenant IDs go into Redis keys ("kkim:{T}:msgs"): keep them tame. */
static bool valid_tenant_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CFG_ID_MAX)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-')
            return false;
    return true;
}

/* User IDs: printable ASCII or UTF-8, no whitespace or control bytes. */
static bool valid_user_id(const char *s, size_t n)
{
    if (n == 0 || n > CFG_USER_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7F)
            return false;
    return true;
}

/* Parses ws://host[:port][/path] or wss:// into the gateway fields. */
static int parse_ws_url(const char *url, cfg_gateway *g)
{
    const char *s;
    if (strncmp(url, "ws://", 5) == 0)
        s = url + 5, g->tls = false, g->port = 80;
    else if (strncmp(url, "wss://", 6) == 0)
        s = url + 6, g->tls = true, g->port = 443;
    else
        return KK_EINVAL;
    const char *pe = strchr(s, '/');
    if (!pe)
        pe = s + strlen(s);
    const char *hs = s, *he, *colon;
    if (*s == '[') {
        he = memchr(s, ']', (size_t)(pe - s));
        if (!he)
            return KK_EINVAL;
        hs = s + 1;
        colon = he + 1 < pe && he[1] == ':' ? he + 1 : NULL;
        if (!colon && he + 1 != pe)
            return KK_EINVAL;
    } else {
        colon = memchr(s, ':', (size_t)(pe - s));
        he = colon ? colon : pe;
    }
    if (he <= hs || (size_t)(he - hs) >= sizeof g->host || memchr(hs, '@', (size_t)(he - hs)))
        return KK_EINVAL;
    memcpy(g->host, hs, (size_t)(he - hs));
    g->host[he - hs] = '\0';
    if (colon) {
        long p = 0;
        const char *d = colon + 1;
        if (d == pe || pe - d > 5)
            return KK_EINVAL;
        for (; d < pe; d++) {
            if (!isdigit((unsigned char)*d))
                return KK_EINVAL;
            p = p * 10 + (*d - '0');
        }
        if (p < 1 || p > 65535)
            return KK_EINVAL;
        g->port = (int)p;
    }
    g->path = strdup(*pe ? pe : "/");
    return g->path ? 0 : KK_ENOMEM;
}

/* "gateway": url, sdkType, compression, platformID. */
static void parse_gateway(cfg_vctx *c, json_t *obj, cfg_tenant *t)
{
    static const char *const keys[] = { "url", "sdkType", "compression", "platformID", NULL };
    static const char *const comp[] = { "none", "gzip", NULL };
    size_t save = cfg__push(c, "gateway");
    int e;
    if (!obj) {
        cfg__err(c, false, "required key is missing");
    } else if (cfg__want_object(c, obj)) {
        cfg__check_keys(c, obj, keys);
        cfg__get_str(c, obj, "url", true, NULL, &t->gateway.url);
        if (t->gateway.url && parse_ws_url(t->gateway.url, &t->gateway) != 0) {
            size_t s2 = cfg__push(c, "url");
            cfg__err(c, false, "must be ws://host[:port][/path] or wss://host[:port][/path]");
            cfg__pop(c, s2);
        }
        cfg__get_enum(c, obj, "sdkType", sdk_names, CFG_SDK_GO, &e);
        t->gateway.sdk = (enum cfg_sdk)e;
        cfg__get_enum(c, obj, "compression", comp, CFG_COMP_NONE, &e);
        t->gateway.compression = (enum cfg_compression)e;
        int64_t pid = 0;
        if (!json_object_get(obj, "platformID")) {
            size_t s2 = cfg__push(c, "platformID");
            cfg__err(c, false, "required key is missing (1..10; pick one the people do not "
                               "use, the gateway kicks older logins of the same class)");
            cfg__pop(c, s2);
        }
        cfg__get_int(c, obj, "platformID", 1, 10, 0, &pid);
        t->gateway.platform_id = (int)pid;
    }
    cfg__pop(c, save);
}

/* Static tokens: an object userID → secret. */
static void parse_static_tokens(cfg_vctx *c, json_t *map, cfg_tokens *tk)
{
    const char *user;
    json_t *v;
    if (!cfg__want_object(c, map))
        return;
    tk->statics = calloc(json_object_size(map) + 1, sizeof *tk->statics);
    if (!tk->statics) {
        c->oom = 1;
        return;
    }
    json_object_foreach(map, user, v) {
        (void)v;
        cfg_static_token *st = &tk->statics[tk->n_statics];
        cfg__get_secret(c, map, user, true, &st->token);
        if (!st->token)
            continue;
        if (!(st->user_id = strdup(user)))
            c->oom = 1;
        tk->n_statics++;
    }
}

/* "tokens": source and the keys of that source. Without "source" the
 * object itself is the static map (design §8.1: "tokens": {"alice": ...}). */
static void parse_tokens(cfg_vctx *c, json_t *obj, cfg_tenant *t)
{
    static const char *const sources[] = { "static", "file", "redis", "http", "jwt", NULL };
    static const char *const k_static[] = { "source", "tokens", NULL };
    static const char *const k_file[] = { "source", "path", NULL };
    static const char *const k_redis[] = { "source", "key", NULL };
    static const char *const k_http[] = { "source", "url", "secret", "adminUserID", NULL };
    static const char *const k_jwt[] = { "source", "secret", "ttl", NULL };
    static const char *const *const keys[] = { k_static, k_file, k_redis, k_http, k_jwt };
    cfg_tokens *tk = &t->tokens;
    size_t save = cfg__push(c, "tokens");
    int src = -1;
    if (!obj) {
        cfg__err(c, false, "required key is missing");
    } else if (cfg__want_object(c, obj) && !json_object_get(obj, "source")) {
        tk->source = CFG_TOK_STATIC;
        parse_static_tokens(c, obj, tk);
    } else if (json_is_object(obj)) {
        cfg__get_enum(c, obj, "source", sources, -1, &src);
    }
    if (src >= 0) {
        tk->source = (enum cfg_token_source)src;
        cfg__check_keys(c, obj, keys[src]);
    }
    switch (src) {
    case CFG_TOK_STATIC: {
        json_t *map = json_object_get(obj, "tokens");
        size_t s2 = cfg__push(c, "tokens");
        if (!map)
            cfg__err(c, false, "required key is missing");
        else
            parse_static_tokens(c, map, tk);
        cfg__pop(c, s2);
        break;
    }
    case CFG_TOK_FILE: cfg__get_path(c, obj, "path", true, &tk->path); break;
    case CFG_TOK_REDIS: {
        char def[CFG_ID_MAX + 32];
        snprintf(def, sizeof def, "kkim:{%s}:tokens", t->id ? t->id : "");
        cfg__get_str(c, obj, "key", false, def, &tk->redis_key);
        break;
    }
    case CFG_TOK_HTTP:
        cfg__get_str(c, obj, "url", true, NULL, &tk->url);
        if (tk->url && strncmp(tk->url, "http://", 7) != 0 && strncmp(tk->url, "https://", 8) != 0) {
            size_t s2 = cfg__push(c, "url");
            cfg__err(c, false, "must start with http:// or https://");
            cfg__pop(c, s2);
        }
        cfg__get_secret(c, obj, "secret", true, &tk->secret);
        cfg__get_str(c, obj, "adminUserID", false, "imAdmin", &tk->admin_user_id);
        break;
    case CFG_TOK_JWT:
        cfg__get_secret(c, obj, "secret", true, &tk->secret);
        cfg__get_duration(c, obj, "ttl", 24 * 3600000ULL, &tk->ttl_ms);
        break;
    default: break;
    }
    cfg__pop(c, save);
}

/* Appends a user; NULL on ENOMEM. */
static cfg_user *user_slot(cfg_vctx *c, cfg_tenant *t, const char *id)
{
    if ((t->n_users & 63) == 0) {
        cfg_user *nu = realloc(t->users, (t->n_users + 64) * sizeof *nu);
        if (!nu) {
            c->oom = 1;
            return NULL;
        }
        t->users = nu;
    }
    cfg_user *u = &t->users[t->n_users];
    u->user_id = strdup(id);
    if (!u->user_id) {
        c->oom = 1;
        return NULL;
    }
    u->platform_id = t->gateway.platform_id;
    u->sdk = t->gateway.sdk;
    u->record = CFG_RECORD_OFF;
    t->n_users++;
    return u;
}

/* One entry of "users": a string or {userID, platformID, sdkType, record}. */
static void parse_user(cfg_vctx *c, json_t *v, cfg_tenant *t)
{
    static const char *const keys[] = { "userID", "platformID", "sdkType", "record", NULL };
    static const char *const rec[] = { "off", "auto", NULL };
    json_t *id = json_is_object(v) ? json_object_get(v, "userID") : v;
    if (!json_is_string(id) && json_is_object(v) && !id) {
        cfg__check_keys(c, v, keys);
        size_t s2 = cfg__push(c, "userID");
        cfg__err(c, false, "required key is missing");
        cfg__pop(c, s2);
        return;
    }
    if (!json_is_object(v) && !json_is_string(v)) {
        cfg__err(c, false, "must be a userID string or an object with \"userID\"");
        return;
    }
    size_t s2 = json_is_object(v) ? cfg__push(c, "userID") : strlen(c->path);
    bool ok = json_is_string(id) && valid_user_id(json_string_value(id), json_string_length(id));
    if (!ok)
        cfg__err(c, false, "userID must be 1..%d bytes without spaces or control characters",
                 CFG_USER_MAX);
    cfg__pop(c, s2);
    cfg_user *u = ok ? user_slot(c, t, json_string_value(id)) : NULL;
    if (!u || !json_is_object(v))
        return;
    cfg__check_keys(c, v, keys);
    int64_t pid;
    int e;
    cfg__get_int(c, v, "platformID", 1, 10, u->platform_id, &pid);
    u->platform_id = (int)pid;
    cfg__get_enum(c, v, "sdkType", sdk_names, (int)u->sdk, &e);
    u->sdk = (enum cfg_sdk)e;
    cfg__get_enum(c, v, "record", rec, CFG_RECORD_OFF, &e);
    u->record = (enum cfg_record)e;
}

/* usersFile: one userID per line; blank lines and '#' comments skipped. */
static void load_users_file(cfg_vctx *c, cfg_tenant *t)
{
    char *text = NULL;
    size_t len = 0;
    int rc = cfg__read_file(t->users_file, CFG_USERS_FILE_MAX, &text, &len);
    if (rc != 0) {
        size_t save = cfg__push(c, "usersFile");
        cfg__err(c, false, "cannot read \"%s\": %s", t->users_file,
                 rc == KK_EIO ? strerror(errno) : kk_strerror(rc));
        cfg__pop(c, save);
        return;
    }
    int line = 0;
    for (char *p = text, *nl; p < text + len && !c->oom; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(text + len - p));
        if (!nl)
            nl = text + len;
        line++;
        char *s = p, *e = nl;
        while (s < e && isspace((unsigned char)*s))
            s++;
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        if (s == e || *s == '#')
            continue;
        if (!valid_user_id(s, (size_t)(e - s)) || memchr(s, '\0', (size_t)(e - s))) {
            cfg__err_pos(c->errs, t->users_file, line, (int)(s - p) + 1,
                         "userID must be 1..%d bytes without spaces or control characters",
                         CFG_USER_MAX);
            continue;
        }
        *e = '\0';
        user_slot(c, t, s);
    }
    free(text);
}

/* "streams", "backfill", "limits". */
static void parse_stream_opts(cfg_vctx *c, json_t *obj, cfg_tenant *t)
{
    static const char *const k_streams[] = { "maxlen", "retention", "partitions", NULL };
    static const char *const k_limits[] = { "maxLogins", "loginsPerSecond", "sendsPerSecond",
                                            "maxKicks", "kickWindow", "maxMsgsPerSec", NULL };
    json_t *empty = json_object(), *v = json_object_get(obj, "streams");
    size_t save = cfg__push(c, "streams");
    int64_t i64;
    if (v && cfg__want_object(c, v))
        cfg__check_keys(c, v, k_streams);
    json_t *o = json_is_object(v) ? v : empty;
    cfg__get_int(c, o, "maxlen", 0, INT64_MAX, 0, &i64);
    t->streams.maxlen = (uint64_t)i64;
    cfg__get_duration(c, o, "retention", 0, &t->streams.retention_ms);
    cfg__get_int(c, o, "partitions", 1, 1024, 1, &i64);
    t->streams.partitions = (int)i64;
    cfg__pop(c, save);

    v = json_object_get(obj, "backfill");
    save = cfg__push(c, "backfill");
    if (!v || (json_is_string(v) && strcmp(json_string_value(v), "none") == 0))
        t->backfill = CFG_BACKFILL_NONE;
    else if (json_is_string(v) && strcmp(json_string_value(v), "all") == 0)
        t->backfill = CFG_BACKFILL_ALL;
    else if (json_is_integer(v) && json_integer_value(v) >= 0)
        t->backfill = CFG_BACKFILL_COUNT, t->backfill_count = (uint64_t)json_integer_value(v);
    else
        cfg__err(c, false, "must be \"none\", \"all\" or a number of messages (>= 0)");
    cfg__pop(c, save);

    v = json_object_get(obj, "limits");
    save = cfg__push(c, "limits");
    if (v && cfg__want_object(c, v))
        cfg__check_keys(c, v, k_limits);
    o = json_is_object(v) ? v : empty;
    cfg__get_int(c, o, "maxLogins", 0, 10000000, 100000, &i64);
    t->limits.max_logins = (uint64_t)i64;
    cfg__get_num(c, o, "loginsPerSecond", 0.001, 1e6, 200, &t->limits.logins_per_second);
    cfg__get_num(c, o, "sendsPerSecond", 0.001, 1e6, 1000, &t->limits.sends_per_second);
    cfg__get_num(c, o, "maxMsgsPerSec", 0, 1e7, 0, &t->limits.max_msgs_per_sec);
    /* A login kicked more than maxKicks times within kickWindow is parked:
     * never fight another login (design §4). */
    cfg__get_int(c, o, "maxKicks", 0, 1000, 3, &i64);
    t->limits.max_kicks = (unsigned)i64;
    cfg__get_duration(c, o, "kickWindow", 10 * 60000ULL, &t->limits.kick_window_ms);
    cfg__pop(c, save);
    json_decref(empty);
}

/* Canonical JSON of the tenant without its user list, for reload diffs. */
static void make_fingerprint(cfg_vctx *c, json_t *obj, cfg_tenant *t)
{
    json_t *copy = json_deep_copy(obj);
    if (copy) {
        json_object_del(copy, "users");
        json_object_del(copy, "usersFile");
        t->fingerprint = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(copy);
    }
    if (!t->fingerprint)
        c->oom = 1;
}

/* Parses one tenant object. */
void cfg__tenant_parse(cfg_vctx *c, json_t *obj, const kk_config *cfg, cfg_tenant *t)
{
    static const char *const keys[] = { "id", "gateway", "tokens", "users", "usersFile",
                                        "redis", "streams", "backfill", "limits",
                                        "resyncInterval", NULL };
    cfg__check_keys(c, obj, keys);
    cfg__get_str(c, obj, "id", true, NULL, &t->id);
    if (t->id && !valid_tenant_id(t->id)) {
        size_t save = cfg__push(c, "id");
        cfg__err(c, false, "must be 1..%d characters of [A-Za-z0-9._-]", CFG_ID_MAX);
        cfg__pop(c, save);
    }
    parse_gateway(c, json_object_get(obj, "gateway"), t);
    parse_tokens(c, json_object_get(obj, "tokens"), t);
    json_t *users = json_object_get(obj, "users"), *u;
    size_t i;
    if (users) {
        size_t save = cfg__push(c, "users");
        if (!json_is_array(users))
            cfg__err(c, false, "must be an array");
        json_array_foreach(users, i, u) {
            size_t s2 = cfg__push_idx(c, i);
            parse_user(c, u, t);
            cfg__pop(c, s2);
        }
        cfg__pop(c, save);
    }
    cfg__get_path(c, obj, "usersFile", false, &t->users_file);
    if (t->users_file)
        load_users_file(c, t);
    rurl_copy(&t->redis.url, &cfg->redis.url);
    json_t *r = json_object_get(obj, "redis");
    if (r) {
        size_t save = cfg__push(c, "redis");
        cfg__get_redis(c, r, &t->redis);
        cfg__pop(c, save);
    }
    parse_stream_opts(c, obj, t);
    /* Periodic 1001 per login: catches a lost last push (no later push
     * reveals that hole). */
    cfg__get_duration(c, obj, "resyncInterval", 60000, &t->resync_interval_ms);
    make_fingerprint(c, obj, t);
    cfg__users_finish(c, t);
}

/* Orders users by userID, then platformID. */
int cfg__user_cmp(const cfg_user *a, const cfg_user *b)
{
    int r = strcmp(a->user_id, b->user_id);
    return r ? r : (a->platform_id > b->platform_id) - (a->platform_id < b->platform_id);
}

/* qsort adapter. */
static int user_qcmp(const void *a, const void *b)
{
    return cfg__user_cmp(a, b);
}

/* Sorts users; a (userID, platformID) listed twice is an error. */
void cfg__users_finish(cfg_vctx *c, cfg_tenant *t)
{
    if (t->n_users > 1)
        qsort(t->users, t->n_users, sizeof *t->users, user_qcmp);
    for (size_t i = 1; i < t->n_users; i++) {
        if (cfg__user_cmp(&t->users[i - 1], &t->users[i]) == 0)
            cfg__err(c, false, "user \"%s\" with platformID %d is listed more than once",
                     t->users[i].user_id, t->users[i].platform_id);
    }
}

/* Frees a tenant's fields. */
void cfg__tenant_free(cfg_tenant *t)
{
    free(t->id);
    free(t->file);
    free(t->gateway.url);
    free(t->gateway.path);
    for (size_t i = 0; i < t->tokens.n_statics; i++) {
        free(t->tokens.statics[i].user_id);
        kk_secret_free(t->tokens.statics[i].token);
    }
    free(t->tokens.statics);
    free(t->tokens.path);
    free(t->tokens.redis_key);
    free(t->tokens.url);
    free(t->tokens.admin_user_id);
    kk_secret_free(t->tokens.secret);
    for (size_t i = 0; i < t->n_users; i++)
        free(t->users[i].user_id);
    free(t->users);
    free(t->users_file);
    rurl_free(&t->redis.url);
    free(t->fingerprint);
}
