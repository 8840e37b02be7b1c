/* config_int.h — helpers shared by config.c, config_tenant.c and
 * config_diff.c. Private to the config module: not a contract. */
#ifndef KK_CONFIG_INT_H
#define KK_CONFIG_INT_H

#include <jansson.h>

#include "config.h"
#include "posidx.h"

/* Longest secret file read ({"file": ...}): tokens and keys are small. */
#define CFG_SECRET_FILE_MAX (64u * 1024)

/* Validation context: the file being read, its position index, where the
 * walk is (JSON path) and where errors go. */
typedef struct cfg_vctx {
    const char *file;
    const char *dir;      /* for relative paths */
    posidx *idx;
    cfg_errors *errs;
    char path[POSIDX_MAX_PATH];
    int oom;              /* set once an allocation failed */
} cfg_vctx;

/* Records an error at the current path (its key when at_key). */
void cfg__err(cfg_vctx *c, bool at_key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records an error at an explicit file position (usersFile lines). */
void cfg__err_pos(cfg_errors *errs, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Pushes a key / index onto c->path; returns the previous length for pop. */
size_t cfg__push(cfg_vctx *c, const char *seg);
size_t cfg__push_idx(cfg_vctx *c, size_t i);
/* Pops back to a length returned by a push. */
void cfg__pop(cfg_vctx *c, size_t len);

/* Errors on each key of obj not in the NULL-terminated allowed list. */
void cfg__check_keys(cfg_vctx *c, json_t *obj, const char *const *allowed);
/* True when v is an object; otherwise records "must be an object". */
bool cfg__want_object(cfg_vctx *c, json_t *v);

/* Typed getters: read obj[key], record an error (at obj/key) when it is
 * missing and required, or of the wrong type or range; otherwise store
 * the value or the default. Strings are strdup'ed (NULL default allowed). */
void cfg__get_str(cfg_vctx *c, json_t *obj, const char *key, bool required, const char *def,
                  char **out);
void cfg__get_int(cfg_vctx *c, json_t *obj, const char *key, int64_t min, int64_t max,
                  int64_t def, int64_t *out);
void cfg__get_num(cfg_vctx *c, json_t *obj, const char *key, double min, double max,
                  double def, double *out);
void cfg__get_duration(cfg_vctx *c, json_t *obj, const char *key, uint64_t def,
                       uint64_t *out);
void cfg__get_enum(cfg_vctx *c, json_t *obj, const char *key, const char *const *names,
                   int def, int *out);
void cfg__get_secret(cfg_vctx *c, json_t *obj, const char *key, bool required,
                     kk_secret **out);
void cfg__get_path(cfg_vctx *c, json_t *obj, const char *key, bool required, char **out);
/* Reads a redis section (url, username, password) into out, starting from
 * the defaults already in out->url. */
void cfg__get_redis(cfg_vctx *c, json_t *obj, cfg_redis *out);

/* Joins dir and p unless p is absolute. NULL on ENOMEM. */
char *cfg__resolve_path(const char *dir, const char *p);
/* Reads a whole file of at most max bytes; 0, KK_EIO, KK_ETOOBIG, KK_ENOMEM. */
int cfg__read_file(const char *path, size_t max, char **out, size_t *len);

/* Parses instance, admin, log, redis, recordings and media of root. */
void cfg__parse_globals(cfg_vctx *c, json_t *root, kk_config *cfg);
/* Parses one tenant object (c->path points at it). */
void cfg__tenant_parse(cfg_vctx *c, json_t *obj, const kk_config *cfg, cfg_tenant *t);
/* Frees a tenant's fields. */
void cfg__tenant_free(cfg_tenant *t);
/* Sorts a tenant's users and reports duplicates. */
void cfg__users_finish(cfg_vctx *c, cfg_tenant *t);
/* Orders users by (userID, platformID). */
int cfg__user_cmp(const cfg_user *a, const cfg_user *b);

#endif
