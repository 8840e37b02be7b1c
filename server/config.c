/* config.c — config loading: files, errors, typed getters, global sections
 * (see config.h). Tenants are parsed in config_tenant.c, diffs in
 * config_diff.c. */
#include "config_int.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durations.h"
#include "kk_err.h"
#include "shard.h"

/* ---------------------------------------------------------------- errors */

/* Stores one error (counts it even when the store is full). */
static void errs_add(cfg_errors *errs, const char *file, int line, int col, const char *msg)
{
    errs->total++;
    if (errs->n >= CFG_ERRORS_MAX)
        return;
    if (errs->n % 16 == 0) {
        cfg_error *ne = realloc(errs->e, (errs->n + 16) * sizeof *ne);
        if (!ne)
            return;
        errs->e = ne;
    }
    cfg_error *e = &errs->e[errs->n];
    e->file = strdup(file ? file : "-");
    e->msg = strdup(msg);
    if (!e->file || !e->msg) {
        free(e->file);
        free(e->msg);
        return;
    }
    e->line = line;
    e->col = col;
    errs->n++;
}

/* Writes the JSON path as a dotted name: /tenants/0/gateway → tenants[0].gateway. */
static void path_display(const char *path, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (const char *p = path; *p && o + 8 < cap;) {
        p++; /* '/' */
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        bool num = n > 0 && strspn(p, "0123456789") >= n;
        if (num)
            out[o++] = '[';
        else if (o > 0)
            out[o++] = '.';
        for (size_t i = 0; i < n && o + 3 < cap; i++) {
            if (p[i] == '~' && i + 1 < n) { /* RFC 6901 unescape */
                out[o++] = p[i + 1] == '1' ? '/' : '~';
                i++;
            } else {
                out[o++] = p[i];
            }
        }
        if (num && o + 1 < cap)
            out[o++] = ']';
        out[o] = '\0';
        p += n;
    }
}

/* Records an error at the current path. */
void cfg__err(cfg_vctx *c, bool at_key, const char *fmt, ...)
{
    char msg[768], where[POSIDX_MAX_PATH], full[sizeof msg + sizeof where + 4];
    va_list ap;
    int line, col;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    posidx_find(c->idx, c->path, at_key, &line, &col);
    path_display(c->path, where, sizeof where);
    if (where[0])
        snprintf(full, sizeof full, "%s: %s", where, msg);
    else
        snprintf(full, sizeof full, "%s", msg);
    errs_add(c->errs, c->file, line, col, full);
}

/* Records an error at a given position. */
void cfg__err_pos(cfg_errors *errs, const char *file, int line, int col, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    errs_add(errs, file, line, col, msg);
}

/* Prints every error, then how many were not stored. */
void cfg_errors_print(const cfg_errors *errs, FILE *f)
{
    for (size_t i = 0; i < errs->n; i++)
        fprintf(f, "%s:%d:%d: %s\n", errs->e[i].file, errs->e[i].line, errs->e[i].col,
                errs->e[i].msg);
    if (errs->total > errs->n)
        fprintf(f, "... and %zu more errors\n", errs->total - errs->n);
}

/* Frees the stored errors. */
void cfg_errors_free(cfg_errors *errs)
{
    if (!errs)
        return;
    for (size_t i = 0; i < errs->n; i++) {
        free(errs->e[i].file);
        free(errs->e[i].msg);
    }
    free(errs->e);
    memset(errs, 0, sizeof *errs);
}

/* ---------------------------------------------------------------- paths */

/* Pushes a key. */
size_t cfg__push(cfg_vctx *c, const char *seg)
{
    size_t n = strlen(c->path);
    if (!posidx_path_push(c->path, sizeof c->path, seg))
        c->path[n] = '\0';
    return n;
}

/* Pushes an array index. */
size_t cfg__push_idx(cfg_vctx *c, size_t i)
{
    char seg[24];
    snprintf(seg, sizeof seg, "%zu", i);
    return cfg__push(c, seg);
}

/* Pops to a saved length. */
void cfg__pop(cfg_vctx *c, size_t len)
{
    c->path[len] = '\0';
}

/* Joins dir and p. */
char *cfg__resolve_path(const char *dir, const char *p)
{
    if (p[0] == '/' || !dir || !dir[0])
        return strdup(p);
    size_t n = strlen(dir) + strlen(p) + 2;
    char *o = malloc(n);
    if (o)
        snprintf(o, n, "%s/%s", dir, p);
    return o;
}

/* Reads a file with a size cap. */
int cfg__read_file(const char *path, size_t max, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    *out = NULL;
    *len = 0;
    if (!f)
        return KK_EIO;
    char *buf = malloc(max + 1);
    if (!buf) {
        fclose(f);
        return KK_ENOMEM;
    }
    size_t n = fread(buf, 1, max + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > max) {
        free(buf);
        return bad ? KK_EIO : KK_ETOOBIG;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* ---------------------------------------------------------------- getters */

/* Errors on unknown keys; the message lists the allowed ones. */
void cfg__check_keys(cfg_vctx *c, json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, key) == 0;
        if (ok)
            continue;
        char list[512];
        size_t o = 0;
        list[0] = '\0';
        for (const char *const *a = allowed; *a && o < sizeof list - 1; a++)
            o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", o ? ", " : "", *a);
        size_t save = cfg__push(c, key);
        cfg__err(c, true, "unknown key \"%s\" (allowed: %s)", key, list);
        cfg__pop(c, save);
    }
}

/* Checks that v is an object. */
bool cfg__want_object(cfg_vctx *c, json_t *v)
{
    if (json_is_object(v))
        return true;
    cfg__err(c, false, "must be an object");
    return false;
}

/* Reads an optional or required member; NULL when absent (error if required). */
static json_t *member(cfg_vctx *c, json_t *obj, const char *key, bool required)
{
    json_t *v = json_object_get(obj, key);
    if (!v && required) {
        size_t save = cfg__push(c, key);
        cfg__err(c, false, "required key is missing");
        cfg__pop(c, save);
    }
    return v;
}

/* String getter. */
void cfg__get_str(cfg_vctx *c, json_t *obj, const char *key, bool required, const char *def,
                  char **out)
{
    json_t *v = member(c, obj, key, required);
    const char *s = def;
    if (v && !json_is_null(v)) {
        size_t save = cfg__push(c, key);
        if (!json_is_string(v))
            cfg__err(c, false, "must be a string");
        else if (json_string_length(v) == 0 || strlen(json_string_value(v)) != json_string_length(v))
            cfg__err(c, false, "must be a non-empty string without NUL bytes");
        else
            s = json_string_value(v);
        cfg__pop(c, save);
    }
    *out = s ? strdup(s) : NULL;
    if (s && !*out)
        c->oom = 1;
}

/* Integer getter with range. */
void cfg__get_int(cfg_vctx *c, json_t *obj, const char *key, int64_t min, int64_t max,
                  int64_t def, int64_t *out)
{
    json_t *v = member(c, obj, key, false);
    *out = def;
    if (!v)
        return;
    size_t save = cfg__push(c, key);
    if (!json_is_integer(v))
        cfg__err(c, false, "must be an integer");
    else if (json_integer_value(v) < min || json_integer_value(v) > max)
        cfg__err(c, false, "must be between %lld and %lld", (long long)min, (long long)max);
    else
        *out = json_integer_value(v);
    cfg__pop(c, save);
}

/* Number getter with range. */
void cfg__get_num(cfg_vctx *c, json_t *obj, const char *key, double min, double max,
                  double def, double *out)
{
    json_t *v = member(c, obj, key, false);
    *out = def;
    if (!v)
        return;
    size_t save = cfg__push(c, key);
    if (!json_is_number(v))
        cfg__err(c, false, "must be a number");
    else if (!(json_number_value(v) >= min && json_number_value(v) <= max))
        cfg__err(c, false, "must be between %g and %g", min, max);
    else
        *out = json_number_value(v);
    cfg__pop(c, save);
}

/* Duration getter ("30s"). */
void cfg__get_duration(cfg_vctx *c, json_t *obj, const char *key, uint64_t def, uint64_t *out)
{
    json_t *v = member(c, obj, key, false);
    *out = def;
    if (!v)
        return;
    size_t save = cfg__push(c, key);
    int rc = json_is_string(v) ? kk_duration_parse(json_string_value(v), out) : KK_EINVAL;
    if (rc == KK_EOVERFLOW)
        cfg__err(c, false, "duration is too long (at most 10 years)");
    else if (rc != 0)
        cfg__err(c, false, "must be a duration string like \"250ms\", \"30s\", \"5m\", "
                           "\"24h\" or \"30d\"");
    if (rc != 0)
        *out = def;
    cfg__pop(c, save);
}

/* Enum getter: the value must be one of names. */
void cfg__get_enum(cfg_vctx *c, json_t *obj, const char *key, const char *const *names,
                   int def, int *out)
{
    json_t *v = member(c, obj, key, false);
    *out = def;
    if (!v)
        return;
    size_t save = cfg__push(c, key);
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    int i = 0;
    for (; s && names[i]; i++)
        if (strcmp(s, names[i]) == 0)
            break;
    if (s && names[i]) {
        *out = i;
    } else {
        char list[256];
        size_t o = 0;
        list[0] = '\0';
        for (int k = 0; names[k] && o < sizeof list - 1; k++)
            o += (size_t)snprintf(list + o, sizeof list - o, "%s\"%s\"", k ? ", " : "", names[k]);
        cfg__err(c, false, "must be one of %s", list);
    }
    cfg__pop(c, save);
}

/* Resolves {"file": path} into a secret: trailing newlines are dropped. */
static void secret_from_file(cfg_vctx *c, const char *p, kk_secret **out)
{
    char *full = cfg__resolve_path(c->dir, p), *buf = NULL;
    size_t len = 0;
    int rc = full ? cfg__read_file(full, CFG_SECRET_FILE_MAX, &buf, &len) : KK_ENOMEM;
    if (rc != 0) {
        cfg__err(c, false, "cannot read secret file \"%s\": %s", full ? full : p,
                 rc == KK_EIO ? strerror(errno) : kk_strerror(rc));
    } else {
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            len--;
        if (len == 0)
            cfg__err(c, false, "secret file \"%s\" is empty", full);
        else if (!(*out = kk_secret_new(buf, len)))
            c->oom = 1;
        memset(buf, 0, len);
    }
    free(buf);
    free(full);
}

/* Secret getter: "literal", {"env": NAME} or {"file": path}. */
void cfg__get_secret(cfg_vctx *c, json_t *obj, const char *key, bool required, kk_secret **out)
{
    static const char *const keys[] = { "env", "file", NULL };
    json_t *v = member(c, obj, key, required);
    *out = NULL;
    if (!v)
        return;
    size_t save = cfg__push(c, key);
    json_t *env = json_object_get(v, "env"), *file = json_object_get(v, "file");
    if (json_is_string(v) && json_string_length(v) > 0) {
        if (!(*out = kk_secret_new(json_string_value(v), json_string_length(v))))
            c->oom = 1;
    } else if (json_is_object(v) && json_object_size(v) == 1 && json_is_string(env)) {
        const char *val = getenv(json_string_value(env));
        if (!val || !val[0])
            cfg__err(c, false, "environment variable %s is not set or empty",
                     json_string_value(env));
        else if (!(*out = kk_secret_new(val, strlen(val))))
            c->oom = 1;
    } else if (json_is_object(v) && json_object_size(v) == 1 && json_is_string(file)) {
        secret_from_file(c, json_string_value(file), out);
    } else {
        if (json_is_object(v))
            cfg__check_keys(c, v, keys);
        cfg__err(c, false, "must be a non-empty string, {\"env\": \"NAME\"} or "
                           "{\"file\": \"path\"}");
    }
    cfg__pop(c, save);
}

/* Path getter: relative to the current file's directory. */
void cfg__get_path(cfg_vctx *c, json_t *obj, const char *key, bool required, char **out)
{
    char *raw = NULL;
    cfg__get_str(c, obj, key, required, NULL, &raw);
    *out = NULL;
    if (raw) {
        *out = cfg__resolve_path(c->dir, raw);
        if (!*out)
            c->oom = 1;
        free(raw);
    }
}

/* Redis section: url, then username/password keys override the URL's. */
void cfg__get_redis(cfg_vctx *c, json_t *obj, cfg_redis *out)
{
    static const char *const keys[] = { "url", "username", "password", NULL };
    if (!cfg__want_object(c, obj))
        return;
    cfg__check_keys(c, obj, keys);
    json_t *url = json_object_get(obj, "url");
    if (url) {
        size_t save = cfg__push(c, "url");
        const char *why = "must be a string";
        rurl u;
        if (json_is_string(url) && rurl_parse(json_string_value(url), &u, &why) == 0) {
            rurl_free(&out->url);
            out->url = u;
        } else {
            /* never echo the URL: it may hold a password */
            cfg__err(c, false, "invalid Redis URL (%s); expected "
                               "redis://[user[:password]@]host:port/db[?cluster=1] or "
                               "redis-sentinel://[user[:password]@]host:port[,...]/master[/db]",
                       why);
        }
        cfg__pop(c, save);
    }
    char *user = NULL;
    cfg__get_str(c, obj, "username", false, NULL, &user);
    if (user) {
        free(out->url.username);
        out->url.username = user;
    }
    kk_secret *pw = NULL;
    cfg__get_secret(c, obj, "password", false, &pw);
    if (pw) {
        kk_secret_free(out->url.password);
        out->url.password = pw;
    }
    out->set = true;
}

/* ---------------------------------------------------------------- globals */

/* Parses "host:port" / "[v6]:port" into host and port. */
static int parse_listen(const char *s, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s)
        return KK_EINVAL;
    const char *hs = s, *he = colon;
    if (*s == '[') {
        if (colon[-1] != ']')
            return KK_EINVAL;
        hs++;
        he--;
    }
    if (he <= hs || (size_t)(he - hs) >= cap)
        return KK_EINVAL;
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || p < 1 || p > 65535)
        return KK_EINVAL;
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = '\0';
    *port = (int)p;
    return 0;
}

/* True for 127.0.0.0/8, ::1 and localhost. */
static bool host_is_loopback(const char *h)
{
    return strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0 || strcmp(h, "localhost") == 0;
}

/* instance / admin / log sections. */
static void parse_small_sections(cfg_vctx *c, json_t *root, kk_config *cfg)
{
    static const char *const inst_keys[] = { "id", "stateDir", "drainTimeout", NULL };
    static const char *const admin_keys[] = { "listen", "token", NULL };
    static const char *const log_keys[] = { "level", NULL };
    static const char *const levels[] = { "debug", "info", "warn", "error", "off", NULL };
    json_t *v;
    size_t save;
    char host[256] = "kkim-relay";
    gethostname(host, sizeof host - 1);
    json_t *empty = json_object();
    v = json_object_get(root, "instance");
    save = cfg__push(c, "instance");
    if (v && cfg__want_object(c, v))
        cfg__check_keys(c, v, inst_keys);
    json_t *o = json_is_object(v) ? v : empty;
    cfg__get_str(c, o, "id", false, host, &cfg->instance.id);
    cfg__get_path(c, o, "stateDir", false, &cfg->instance.state_dir);
    cfg__get_duration(c, o, "drainTimeout", 10000, &cfg->instance.drain_ms);
    cfg__pop(c, save);

    v = json_object_get(root, "admin");
    save = cfg__push(c, "admin");
    if (v && cfg__want_object(c, v))
        cfg__check_keys(c, v, admin_keys);
    o = json_is_object(v) ? v : empty;
    cfg__get_str(c, o, "listen", false, "127.0.0.1:9540", &cfg->admin.listen);
    cfg__get_secret(c, o, "token", false, &cfg->admin.token);
    if (cfg->admin.listen) {
        size_t s2 = cfg__push(c, "listen");
        if (parse_listen(cfg->admin.listen, cfg->admin.host, sizeof cfg->admin.host,
                         &cfg->admin.port) != 0)
            cfg__err(c, false, "must be \"host:port\" (IPv6 as \"[addr]:port\")");
        else if (!host_is_loopback(cfg->admin.host) && !cfg->admin.token)
            cfg__err(c, false, "a non-loopback admin address needs admin.token");
        cfg__pop(c, s2);
    }
    cfg__pop(c, save);

    v = json_object_get(root, "log");
    save = cfg__push(c, "log");
    if (v && cfg__want_object(c, v))
        cfg__check_keys(c, v, log_keys);
    int lvl;
    cfg__get_enum(c, json_is_object(v) ? v : empty, "level", levels, KK_LOG_INFO, &lvl);
    cfg->log.level = (enum kk_log_level)lvl;
    cfg__pop(c, save);
    json_decref(empty);
}

/* An array of non-empty strings. */
static void get_str_list(cfg_vctx *c, json_t *obj, const char *key, char ***out, size_t *n)
{
    json_t *v = json_object_get(obj, key), *e;
    size_t i;
    if (!v)
        return;
    size_t save = cfg__push(c, key);
    if (!json_is_array(v)) {
        cfg__err(c, false, "must be an array of strings");
    } else if ((*out = calloc(json_array_size(v) + 1, sizeof(char *))) == NULL) {
        c->oom = 1;
    } else {
        json_array_foreach(v, i, e) {
            size_t s2 = cfg__push_idx(c, i);
            if (!json_is_string(e) || json_string_length(e) == 0)
                cfg__err(c, false, "must be a non-empty string");
            else if (((*out)[(*n)++] = strdup(json_string_value(e))) == NULL)
                c->oom = 1;
            cfg__pop(c, s2);
        }
    }
    cfg__pop(c, save);
}

/* redis / recordings / media sections. */
static void parse_io_sections(cfg_vctx *c, json_t *root, kk_config *cfg)
{
    static const char *const rec_keys[] = { "dir", "maxDuration", NULL };
    static const char *const media_keys[] = { "threads", "portRange", "publicIP", "stun",
                                              "turn", NULL };
    json_t *empty = json_object(), *v;
    size_t save;
    rurl_parse("redis://127.0.0.1:6379/0", &cfg->redis.url, NULL);
    v = json_object_get(root, "redis");
    save = cfg__push(c, "redis");
    if (v)
        cfg__get_redis(c, v, &cfg->redis);
    cfg__pop(c, save);

    v = json_object_get(root, "recordings");
    save = cfg__push(c, "recordings");
    if (v && cfg__want_object(c, v))
        cfg__check_keys(c, v, rec_keys);
    json_t *o = json_is_object(v) ? v : empty;
    cfg__get_path(c, o, "dir", false, &cfg->recordings.dir);
    cfg__get_duration(c, o, "maxDuration", 4 * 3600000ULL, &cfg->recordings.max_duration_ms);
    cfg__pop(c, save);

    v = json_object_get(root, "media");
    save = cfg__push(c, "media");
    if (v && cfg__want_object(c, v))
        cfg__check_keys(c, v, media_keys);
    o = json_is_object(v) ? v : empty;
    int64_t threads;
    cfg__get_int(c, o, "threads", 1, 64, 2, &threads);
    cfg->media.threads = (int)threads;
    char *range = NULL;
    cfg__get_str(c, o, "portRange", false, "40000-40999", &range);
    if (range && kk_port_range_parse(range, &cfg->media.port_min, &cfg->media.port_max) != 0) {
        size_t s2 = cfg__push(c, "portRange");
        cfg__err(c, false, "must be \"LOW-HIGH\" with 1 <= LOW <= HIGH <= 65535");
        cfg__pop(c, s2);
    }
    free(range);
    cfg__get_str(c, o, "publicIP", false, NULL, &cfg->media.public_ip);
    get_str_list(c, o, "stun", &cfg->media.stun, &cfg->media.n_stun);
    get_str_list(c, o, "turn", &cfg->media.turn, &cfg->media.n_turn);
    cfg__pop(c, save);
    json_decref(empty);
}

/* The leases section: {"shards": 1..4096 (256), "ttlMs": 1000..600000
 * (6000)}; present = dynamic sharding on (lease.h). */
static void parse_leases(cfg_vctx *c, json_t *root, kk_config *cfg)
{
    static const char *const lease_keys[] = { "shards", "ttlMs", NULL };
    json_t *v = json_object_get(root, "leases");
    if (!v)
        return;
    size_t save = cfg__push(c, "leases");
    if (cfg__want_object(c, v)) {
        cfg__check_keys(c, v, lease_keys);
        int64_t shards, ttl;
        cfg__get_int(c, v, "shards", 1, SHARD_COUNT_MAX, 256, &shards);
        cfg__get_int(c, v, "ttlMs", 1000, 600000, 6000, &ttl);
        cfg->leases.enabled = true;
        cfg->leases.shards = (uint32_t)shards;
        cfg->leases.ttl_ms = (uint64_t)ttl;
    }
    cfg__pop(c, save);
}

/* Every global section of the root object. */
void cfg__parse_globals(cfg_vctx *c, json_t *root, kk_config *cfg)
{
    parse_small_sections(c, root, cfg);
    parse_io_sections(c, root, cfg);
    parse_leases(c, root, cfg);
}
