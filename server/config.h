/* config.h — the relay's configuration (design.md §8.1), loaded with jansson.
 *
 * cfg_load() reads the main file, every tenantsDir/NAME.json (one tenant object
 * per file, files in name order) and every usersFile, resolves secrets
 * ("literal", {"env": "NAME"}, {"file": "path"}) into kk_secret, durations
 * ("250ms", "30s", "24h", "30d") into milliseconds, and relative paths
 * against the directory of the file that names them. Unknown keys are
 * errors. It reports EVERY error it finds, each with FILE:LINE:COL (from
 * posidx, since jansson positions only syntax errors), never a secret's
 * value. A config with errors is never returned.
 *
 * Reload (nginx's cycle): load a new kk_config beside the running one; on
 * failure keep the old. cfg_diff() lists tenants and users added, removed
 * and changed, so a SIGHUP touches only what changed; the sessions layer
 * applies the diff through app_hooks.on_reload (app.h).
 *
 * Blocking file reads: only at start-up, --check-config and reload.
 * Token files are not read here (the tokens layer does that); their path
 * is only resolved. Ownership: the caller frees with cfg_free().
 */
#ifndef KK_CONFIG_H
#define KK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"
#include "rurl.h"
#include "secret.h"

/* A config file above this size is refused (a sane config is a few KiB;
 * this also bounds the fuzz target's work). */
#define CFG_FILE_MAX (4u * 1024 * 1024)
/* usersFile above this size is refused (about 1M user IDs). */
#define CFG_USERS_FILE_MAX (64u * 1024 * 1024)
/* Tenant IDs: [A-Za-z0-9._-], at most this long (they go into Redis keys). */
#define CFG_ID_MAX 64
/* User IDs: printable, no spaces, at most this long (OpenIM's limit is 64). */
#define CFG_USER_MAX 128
/* Errors kept per load; more are counted but not stored. */
#define CFG_ERRORS_MAX 200

enum cfg_sdk { CFG_SDK_GO = 0, CFG_SDK_JS = 1 };
enum cfg_compression { CFG_COMP_NONE = 0, CFG_COMP_GZIP = 1 };
enum cfg_record { CFG_RECORD_OFF = 0, CFG_RECORD_AUTO = 1 };
enum cfg_token_source {
    CFG_TOK_STATIC = 0, CFG_TOK_FILE, CFG_TOK_REDIS, CFG_TOK_HTTP, CFG_TOK_JWT,
};
enum cfg_backfill { CFG_BACKFILL_NONE = 0, CFG_BACKFILL_ALL, CFG_BACKFILL_COUNT };

/* One error: file, 1-based line and column, message (no secret values). */
typedef struct cfg_error {
    char *file;
    int line, col;
    char *msg;
} cfg_error;

/* Every error of one load. */
typedef struct cfg_errors {
    cfg_error *e;
    size_t n;       /* stored */
    size_t total;   /* found, may exceed n */
} cfg_errors;

typedef struct cfg_redis {
    rurl url;          /* password from the URL or the "password" key */
    bool set;          /* tenant override present */
} cfg_redis;

typedef struct cfg_gateway {
    char *url;                      /* ws://host:port/path or wss:// */
    bool tls;                       /* wss */
    char host[RURL_HOST_MAX];       /* without brackets */
    int port;                       /* default 80 / 443 */
    char *path;                     /* "/" when absent */
    enum cfg_sdk sdk;               /* default go */
    enum cfg_compression compression; /* default none */
    int platform_id;                /* 1..10, required */
} cfg_gateway;

typedef struct cfg_static_token {
    char *user_id;
    kk_secret *token;
} cfg_static_token;

typedef struct cfg_tokens {
    enum cfg_token_source source;
    cfg_static_token *statics;      /* static */
    size_t n_statics;
    char *path;                     /* file: absolute */
    char *redis_key;                /* redis: default kkim:{T}:tokens */
    char *url;                      /* http */
    char *admin_user_id;            /* http, default "imAdmin" */
    kk_secret *secret;              /* http, jwt */
    uint64_t ttl_ms;                /* jwt, default 24h */
} cfg_tokens;

typedef struct cfg_user {
    char *user_id;
    int platform_id;                /* resolved: user's or the gateway's */
    enum cfg_sdk sdk;               /* resolved */
    enum cfg_record record;
} cfg_user;

typedef struct cfg_tenant {
    char *id;
    char *file;                     /* file the tenant came from */
    cfg_gateway gateway;
    cfg_tokens tokens;
    cfg_user *users;                /* inline users, then usersFile's */
    size_t n_users;
    char *users_file;               /* absolute, NULL when absent */
    cfg_redis redis;                /* .set when the tenant overrides */
    struct {
        uint64_t maxlen;            /* 0 = no MAXLEN trimming */
        uint64_t retention_ms;      /* 0 = no MINID trimming */
        int partitions;             /* 1..1024, default 1 */
    } streams;
    enum cfg_backfill backfill;
    uint64_t resync_interval_ms;    /* periodic resync, default 60 s */
    uint64_t backfill_count;        /* CFG_BACKFILL_COUNT */
    struct {
        uint64_t max_logins;        /* default 100000 */
        double logins_per_second;   /* default 200 */
        double sends_per_second;    /* default 1000 */
        double max_msgs_per_sec;    /* ingest budget, 0 (default) = none */
        unsigned max_kicks;         /* default 3 */
        uint64_t kick_window_ms;    /* default 10 min */
    } limits;
    char *fingerprint;              /* canonical JSON of everything but users (diffs) */
} cfg_tenant;

typedef struct kk_config {
    char *path;                     /* main file as given */
    char *dir;                      /* its directory */
    struct { char *id; char *state_dir; uint64_t drain_ms; } instance;
    struct { char *listen; char host[RURL_HOST_MAX]; int port; kk_secret *token; } admin;
    struct { enum kk_log_level level; } log;
    cfg_redis redis;                /* default redis://127.0.0.1:6379/0 */
    struct { char *dir; uint64_t max_duration_ms; } recordings;
    struct {
        int threads;
        int port_min, port_max;
        char *public_ip;            /* NULL = none */
        char **stun; size_t n_stun;
        char **turn; size_t n_turn;
    } media;
    /* "leases": dynamic sharding (lease.h); enabled when the key is there */
    struct { bool enabled; uint32_t shards; uint64_t ttl_ms; } leases;
    char *tenants_dir;              /* absolute, NULL when absent */
    cfg_tenant *tenants;
    size_t n_tenants;
    size_t n_users;                 /* over all tenants */
} kk_config;

/* Loads path. On success returns 0 and *out; otherwise a negative code,
 * *out NULL, and every error in errs (free with cfg_errors_free). */
int cfg_load(const char *path, kk_config **out, cfg_errors *errs);

/* Loads from memory as if read from path (tests, fuzzing). tenantsDir and
 * usersFile are still read from disk when named. */
int cfg_load_text(const char *path, const char *text, size_t len, kk_config **out,
                  cfg_errors *errs);

/* Frees a config; NULL is a no-op. */
void cfg_free(kk_config *cfg);

/* Writes each error as "FILE:LINE:COL: message\n" to f. */
void cfg_errors_print(const cfg_errors *errs, FILE *f);

/* Frees the stored errors and zeroes errs. */
void cfg_errors_free(cfg_errors *errs);

/* Finds a tenant by ID or returns NULL. */
const cfg_tenant *cfg_tenant_find(const kk_config *cfg, const char *id);

/* ---- reload diff ---- */

enum cfg_change {
    CFG_TENANT_ADDED, CFG_TENANT_REMOVED, CFG_TENANT_CHANGED,
    CFG_USER_ADDED, CFG_USER_REMOVED, CFG_USER_CHANGED,
};

/* One change. Pointers borrow from the old and new configs, which must
 * outlive the diff; old_* is NULL for additions, new_* for removals. */
typedef struct cfg_diff_item {
    enum cfg_change kind;
    const cfg_tenant *old_tenant, *new_tenant;
    const cfg_user *old_user, *new_user;
} cfg_diff_item;

typedef struct cfg_diff {
    cfg_diff_item *items;
    size_t n;
    /* Global sections that changed. admin and media need a restart to
     * take effect; log applies at once; redis is the global connection. */
    bool log_changed, redis_changed, admin_changed, media_changed, other_changed;
    size_t tenants_added, tenants_removed, tenants_changed;
    size_t users_added, users_removed, users_changed;
} cfg_diff;

/* Computes what changes from old to new. Users of added/removed tenants
 * are not listed one by one (the tenant item covers them); users of a
 * changed tenant are. Returns 0 or KK_ENOMEM. */
int cfg_diff_compute(const kk_config *old, const kk_config *new, cfg_diff *out);

/* Frees the item array and zeroes d. */
void cfg_diff_free(cfg_diff *d);

/* Name of a change kind ("tenant_added"). */
const char *cfg_change_name(enum cfg_change kind);

#endif
