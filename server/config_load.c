/* config_load.c — reading config files: the main file, every tenantsDir JSON file,
 * the root object, cfg_free (see config.h). */
#include "config_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kk_err.h"

/* Parses text with jansson; syntax errors go to errs with jansson's
 * position. Returns the root or NULL. */
static json_t *parse_json(cfg_errors *errs, const char *file, const char *text, size_t len)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        cfg__err_pos(errs, file, je.line > 0 ? je.line : 1, je.column > 0 ? je.column : 1,
                     "JSON syntax: %s", je.text);
    return root;
}

/* Appends one tenant slot to cfg; returns it zeroed or NULL on ENOMEM. */
static cfg_tenant *tenant_slot(kk_config *cfg)
{
    cfg_tenant *nt = realloc(cfg->tenants, (cfg->n_tenants + 1) * sizeof *nt);
    if (!nt)
        return NULL;
    cfg->tenants = nt;
    memset(&nt[cfg->n_tenants], 0, sizeof *nt);
    return &nt[cfg->n_tenants++];
}

/* Parses a tenant object and checks its ID is unique so far. */
static void add_tenant(cfg_vctx *c, json_t *obj, kk_config *cfg)
{
    cfg_tenant *t = tenant_slot(cfg);
    if (!t) {
        c->oom = 1;
        return;
    }
    t->file = strdup(c->file);
    if (!t->file)
        c->oom = 1;
    cfg__tenant_parse(c, obj, cfg, t);
    for (size_t i = 0; t->id && i + 1 < cfg->n_tenants; i++) {
        if (cfg->tenants[i].id && strcmp(cfg->tenants[i].id, t->id) == 0) {
            size_t save = cfg__push(c, "id");
            cfg__err(c, false, "tenant \"%s\" is already defined in %s", t->id,
                     cfg->tenants[i].file);
            cfg__pop(c, save);
            break;
        }
    }
}

/* Returns a new string with the directory part of path ("." if none). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* Loads one tenant file from tenantsDir. */
static void load_tenant_file(kk_config *cfg, cfg_errors *errs, const char *file)
{
    char *text = NULL;
    size_t len = 0;
    int rc = cfg__read_file(file, CFG_FILE_MAX, &text, &len);
    if (rc != 0) {
        cfg__err_pos(errs, file, 1, 1, "cannot read: %s",
                     rc == KK_EIO ? strerror(errno) : kk_strerror(rc));
        return;
    }
    json_t *root = parse_json(errs, file, text, len);
    char *dir = dir_of(file);
    cfg_vctx c = { .file = file, .dir = dir, .errs = errs };
    if (root && dir) {
        posidx_build(text, len, &c.idx);
        if (cfg__want_object(&c, root)) {
            json_object_del(root, "$schema");
            add_tenant(&c, root, cfg);
        }
    }
    posidx_free(c.idx);
    json_decref(root);
    free(dir);
    free(text);
}

/* qsort comparator for file names. */
static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads every .json file of tenantsDir, in name order. */
static void load_tenants_dir(cfg_vctx *c, kk_config *cfg)
{
    DIR *d = opendir(cfg->tenants_dir);
    if (!d) {
        size_t save = cfg__push(c, "tenantsDir");
        cfg__err(c, false, "cannot open directory \"%s\": %s", cfg->tenants_dir,
                 strerror(errno));
        cfg__pop(c, save);
        return;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l < 6 || strcmp(e->d_name + l - 5, ".json") != 0)
            continue;
        char **nn = realloc(names, (n + 1) * sizeof *nn);
        if (!nn || !(nn[n] = cfg__resolve_path(cfg->tenants_dir, e->d_name))) {
            names = nn ? nn : names;
            c->oom = 1;
            break;
        }
        names = nn;
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n; i++) {
        load_tenant_file(cfg, c->errs, names[i]);
        free(names[i]);
    }
    free(names);
}

/* Walks the root object of the main file. */
static void parse_root(cfg_vctx *c, json_t *root, kk_config *cfg)
{
    static const char *const keys[] = { "$schema", "instance", "admin", "log", "redis",
                                         "recordings", "media", "tenantsDir", "tenants",
                                         "leases", NULL };
    if (!cfg__want_object(c, root))
        return;
    cfg__check_keys(c, root, keys);
    cfg__parse_globals(c, root, cfg);
    cfg__get_path(c, root, "tenantsDir", false, &cfg->tenants_dir);
    json_t *tenants = json_object_get(root, "tenants"), *t;
    size_t i;
    if (tenants) {
        size_t save = cfg__push(c, "tenants");
        if (!json_is_array(tenants))
            cfg__err(c, false, "must be an array of tenant objects");
        json_array_foreach(tenants, i, t) {
            size_t s2 = cfg__push_idx(c, i);
            if (cfg__want_object(c, t))
                add_tenant(c, t, cfg);
            cfg__pop(c, s2);
        }
        cfg__pop(c, save);
    }
    if (cfg->tenants_dir)
        load_tenants_dir(c, cfg);
    for (i = 0; i < cfg->n_tenants; i++)
        cfg->n_users += cfg->tenants[i].n_users;
}

/* Loads from memory. */
int cfg_load_text(const char *path, const char *text, size_t len, kk_config **out,
                  cfg_errors *errs)
{
    *out = NULL;
    memset(errs, 0, sizeof *errs);
    kk_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return KK_ENOMEM;
    cfg->path = strdup(path);
    cfg->dir = dir_of(path);
    if (!cfg->path || !cfg->dir) {
        cfg_free(cfg);
        return KK_ENOMEM;
    }
    json_t *root = parse_json(errs, path, text, len);
    cfg_vctx c = { .file = path, .dir = cfg->dir, .errs = errs };
    if (root) {
        posidx_build(text, len, &c.idx);
        parse_root(&c, root, cfg);
    }
    posidx_free(c.idx);
    json_decref(root);
    if (c.oom && errs->total == 0)
        cfg__err_pos(errs, path, 1, 1, "out of memory");
    if (errs->total > 0 || c.oom) {
        cfg_free(cfg);
        return c.oom ? KK_ENOMEM : KK_EINVAL;
    }
    *out = cfg;
    return 0;
}

/* Loads a file. */
int cfg_load(const char *path, kk_config **out, cfg_errors *errs)
{
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    memset(errs, 0, sizeof *errs);
    int rc = cfg__read_file(path, CFG_FILE_MAX, &text, &len);
    if (rc != 0) {
        cfg__err_pos(errs, path, 1, 1, "cannot read: %s",
                     rc == KK_EIO ? strerror(errno) : kk_strerror(rc));
        return rc;
    }
    rc = cfg_load_text(path, text, len, out, errs);
    free(text);
    return rc;
}

/* Frees a config and everything it owns. */
void cfg_free(kk_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_tenants; i++)
        cfg__tenant_free(&cfg->tenants[i]);
    free(cfg->tenants);
    free(cfg->path);
    free(cfg->dir);
    free(cfg->instance.id);
    free(cfg->instance.state_dir);
    free(cfg->admin.listen);
    kk_secret_free(cfg->admin.token);
    rurl_free(&cfg->redis.url);
    free(cfg->recordings.dir);
    free(cfg->media.public_ip);
    for (size_t i = 0; i < cfg->media.n_stun; i++)
        free(cfg->media.stun[i]);
    free(cfg->media.stun);
    for (size_t i = 0; i < cfg->media.n_turn; i++)
        free(cfg->media.turn[i]);
    free(cfg->media.turn);
    free(cfg->tenants_dir);
    free(cfg);
}

/* Finds a tenant by ID. */
const cfg_tenant *cfg_tenant_find(const kk_config *cfg, const char *id)
{
    for (size_t i = 0; cfg && i < cfg->n_tenants; i++)
        if (cfg->tenants[i].id && strcmp(cfg->tenants[i].id, id) == 0)
            return &cfg->tenants[i];
    return NULL;
}
