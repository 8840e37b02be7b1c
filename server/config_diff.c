/* config_diff.c — what a reload changes (see cfg_diff_compute in config.h). */
#include "config_int.h"

#include <stdlib.h>
#include <string.h>

#include "kk_err.h"

/* Appends one item; returns KK_ENOMEM when the array cannot grow. */
static int diff_add(cfg_diff *d, enum cfg_change kind, const cfg_tenant *ot,
                    const cfg_tenant *nt, const cfg_user *ou, const cfg_user *nu)
{
    if ((d->n & 31) == 0) {
        cfg_diff_item *ni = realloc(d->items, (d->n + 32) * sizeof *ni);
        if (!ni)
            return KK_ENOMEM;
        d->items = ni;
    }
    d->items[d->n++] = (cfg_diff_item){ kind, ot, nt, ou, nu };
    switch (kind) {
    case CFG_TENANT_ADDED: d->tenants_added++; break;
    case CFG_TENANT_REMOVED: d->tenants_removed++; break;
    case CFG_TENANT_CHANGED: d->tenants_changed++; break;
    case CFG_USER_ADDED: d->users_added++; break;
    case CFG_USER_REMOVED: d->users_removed++; break;
    case CFG_USER_CHANGED: d->users_changed++; break;
    }
    return 0;
}

/* True when two secrets lists of static tokens hold the same pairs. */
static bool statics_same(const cfg_tokens *a, const cfg_tokens *b)
{
    if (a->n_statics != b->n_statics)
        return false;
    for (size_t i = 0; i < a->n_statics; i++) {
        if (strcmp(a->statics[i].user_id, b->statics[i].user_id) != 0 ||
            !kk_secret_same(a->statics[i].token, b->statics[i].token))
            return false;
    }
    return true;
}

/* A tenant changed when its canonical JSON differs or a secret it resolves
 * from env/file changed (same JSON, new value), or a users-file path moved. */
static bool tenant_changed(const cfg_tenant *a, const cfg_tenant *b)
{
    if (strcmp(a->fingerprint, b->fingerprint) != 0)
        return true;
    if (!kk_secret_same(a->tokens.secret, b->tokens.secret) || !statics_same(&a->tokens, &b->tokens))
        return true;
    return !kk_secret_same(a->redis.url.password, b->redis.url.password);
}

/* Merges the two sorted user lists of a tenant present in both configs. */
static int diff_users(cfg_diff *d, const cfg_tenant *ot, const cfg_tenant *nt)
{
    size_t i = 0, j = 0;
    int rc = 0;
    while (rc == 0 && (i < ot->n_users || j < nt->n_users)) {
        const cfg_user *a = i < ot->n_users ? &ot->users[i] : NULL;
        const cfg_user *b = j < nt->n_users ? &nt->users[j] : NULL;
        int cmp = !a ? 1 : !b ? -1 : cfg__user_cmp(a, b);
        if (cmp < 0) {
            rc = diff_add(d, CFG_USER_REMOVED, ot, nt, a, NULL);
            i++;
        } else if (cmp > 0) {
            rc = diff_add(d, CFG_USER_ADDED, ot, nt, NULL, b);
            j++;
        } else {
            if (a->sdk != b->sdk || a->record != b->record)
                rc = diff_add(d, CFG_USER_CHANGED, ot, nt, a, b);
            i++;
            j++;
        }
    }
    return rc;
}

/* Compares two optional strings. */
static bool str_same(const char *a, const char *b)
{
    return (!a || !b) ? a == b : strcmp(a, b) == 0;
}

/* Compares two parsed Redis URLs, password included. */
static bool rurl_same(const rurl *a, const rurl *b)
{
    char ra[4096], rb[4096]; /* redacted: every field but the password; 8 Sentinels fit */
    rurl_redacted(a, ra, sizeof ra);
    rurl_redacted(b, rb, sizeof rb);
    return strcmp(ra, rb) == 0 && kk_secret_same(a->password, b->password);
}

/* Flags changed global sections. */
static void diff_globals(const kk_config *o, const kk_config *n, cfg_diff *d)
{
    d->log_changed = o->log.level != n->log.level;
    d->redis_changed = !rurl_same(&o->redis.url, &n->redis.url);
    d->admin_changed = !str_same(o->admin.listen, n->admin.listen) ||
                       !kk_secret_same(o->admin.token, n->admin.token);
    d->media_changed = o->media.threads != n->media.threads ||
                       o->media.port_min != n->media.port_min ||
                       o->media.port_max != n->media.port_max ||
                       !str_same(o->media.public_ip, n->media.public_ip);
    d->other_changed = !str_same(o->instance.id, n->instance.id) ||
                       !str_same(o->recordings.dir, n->recordings.dir) ||
                       o->recordings.max_duration_ms != n->recordings.max_duration_ms ||
                       o->instance.drain_ms != n->instance.drain_ms;
}

/* Computes the diff from old to new. */
int cfg_diff_compute(const kk_config *old, const kk_config *new, cfg_diff *out)
{
    int rc = 0;
    memset(out, 0, sizeof *out);
    diff_globals(old, new, out);
    for (size_t i = 0; rc == 0 && i < old->n_tenants; i++) {
        const cfg_tenant *ot = &old->tenants[i], *nt = cfg_tenant_find(new, ot->id);
        if (!nt)
            rc = diff_add(out, CFG_TENANT_REMOVED, ot, NULL, NULL, NULL);
        else if (tenant_changed(ot, nt))
            rc = diff_add(out, CFG_TENANT_CHANGED, ot, nt, NULL, NULL);
        if (rc == 0 && nt)
            rc = diff_users(out, ot, nt);
    }
    for (size_t i = 0; rc == 0 && i < new->n_tenants; i++) {
        const cfg_tenant *nt = &new->tenants[i];
        if (!cfg_tenant_find(old, nt->id))
            rc = diff_add(out, CFG_TENANT_ADDED, NULL, nt, NULL, NULL);
    }
    if (rc != 0)
        cfg_diff_free(out);
    return rc;
}

/* Frees the items. */
void cfg_diff_free(cfg_diff *d)
{
    if (!d)
        return;
    free(d->items);
    memset(d, 0, sizeof *d);
}

/* Name of a change kind. */
const char *cfg_change_name(enum cfg_change kind)
{
    switch (kind) {
    case CFG_TENANT_ADDED: return "tenant_added";
    case CFG_TENANT_REMOVED: return "tenant_removed";
    case CFG_TENANT_CHANGED: return "tenant_changed";
    case CFG_USER_ADDED: return "user_added";
    case CFG_USER_REMOVED: return "user_removed";
    case CFG_USER_CHANGED: return "user_changed";
    }
    return "?";
}
