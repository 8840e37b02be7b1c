/* users.c — run-time users from the Redis set kkim:{T}:users.
 * Contract: users.h. */
#include <hiredis.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "kk_err.h"
#include "log.h"
#include "rconn.h"
#include "users.h"

struct users {
    uv_loop_t *loop;
    struct rconn *redis;
    char *key;
    users_hooks h;
    void *ud;
    uv_timer_t timer;
    char **cur;
    size_t ncur;
    bool inflight;
    bool dead;       /* freed while a command was in flight */
    bool warned_big;
    kk_log_ctx log;
};

/* True when s can be a userID (config.h's rule: printable, no spaces). */
static bool valid_user(const char *s, size_t len)
{
    if (len == 0 || len > CFG_USER_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return false;
    return true;
}

/* qsort comparator of C strings. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Frees an array of strings. */
static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Diffs members against cur (users.h). */
size_t users_apply(char ***cur, size_t *ncur, char **members, size_t n, const users_hooks *h,
                   void *ud)
{
    size_t bad = 0, k = 0;
    for (size_t i = 0; i < n; i++) {
        if (valid_user(members[i], strlen(members[i])))
            members[k++] = members[i];
        else {
            free(members[i]);
            bad++;
        }
    }
    n = k;
    qsort(members, n, sizeof *members, cmp_str);
    /* drop duplicates (a set has none, but the function is public) */
    k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && strcmp(members[k - 1], members[i]) == 0)
            free(members[i]);
        else
            members[k++] = members[i];
    }
    n = k;
    size_t i = 0, j = 0;
    char **old = *cur;
    size_t nold = *ncur;
    while (i < nold || j < n) {
        int c = i == nold ? 1 : j == n ? -1 : strcmp(old[i], members[j]);
        if (c < 0) {
            if (h->remove)
                h->remove(ud, old[i]);
            i++;
        } else if (c > 0) {
            if (h->add)
                h->add(ud, members[j]);
            j++;
        } else {
            i++;
            j++;
        }
    }
    strv_free(old, nold);
    *cur = members;
    *ncur = n;
    return bad;
}

/* Frees the poller's memory (after its timer closed). */
static void on_timer_closed(uv_handle_t *hd)
{
    users *u = hd->data;
    if (u->inflight) {
        u->dead = true; /* the reply frees */
        return;
    }
    strv_free(u->cur, u->ncur);
    free(u->key);
    free(u);
}

/* SMEMBERS answer: diff and apply. */
static void on_members(void *ud, int status, const redisReply *rep)
{
    users *u = ud;
    u->inflight = false;
    if (u->dead) {
        strv_free(u->cur, u->ncur);
        free(u->key);
        free(u);
        return;
    }
    if (status < 0 || !rep || rep->type != REDIS_REPLY_ARRAY)
        return; /* keep the logins as they are */
    if (rep->elements > USERS_MAX) {
        if (!u->warned_big)
            KK_LOG_WARN(&u->log, "users_set_too_big", KK_S("key", u->key),
                        KK_U("members", rep->elements), KK_U("max", USERS_MAX));
        u->warned_big = true;
        return;
    }
    char **m = calloc(rep->elements + 1, sizeof *m);
    if (!m)
        return;
    size_t n = 0;
    for (size_t i = 0; i < rep->elements; i++) {
        const redisReply *e = rep->element[i];
        if (e->type != REDIS_REPLY_STRING)
            continue;
        char *s = malloc(e->len + 1);
        if (!s) {
            strv_free(m, n);
            return;
        }
        memcpy(s, e->str, e->len);
        s[e->len] = '\0';
        if (strlen(s) != e->len)
            s[0] = '\0'; /* embedded NUL: invalid */
        m[n++] = s;
    }
    size_t bad = users_apply(&u->cur, &u->ncur, m, n, &u->h, u->ud);
    if (bad)
        KK_LOG_WARN(&u->log, "users_invalid_members", KK_S("key", u->key), KK_U("skipped", bad));
}

/* Poll tick: one SMEMBERS at a time, only while Redis is up. */
static void on_tick(uv_timer_t *t)
{
    users *u = t->data;
    if (u->inflight || !rconn_is_up(u->redis))
        return;
    const char *argv[2] = { "SMEMBERS", u->key };
    size_t lens[2] = { 8, strlen(u->key) };
    if (rconn_cmd(u->redis, 2, argv, lens, on_members, u) == 0)
        u->inflight = true;
}

/* Starts the poller (users.h). */
users *users_new(uv_loop_t *loop, struct rconn *redis, const char *key, const users_hooks *h,
                 void *ud)
{
    users *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->key = strdup(key);
    if (!u->key) {
        free(u);
        return NULL;
    }
    u->loop = loop;
    u->redis = redis;
    u->h = *h;
    u->ud = ud;
    u->log.mod = "users";
    uv_timer_init(loop, &u->timer);
    u->timer.data = u;
    uv_timer_start(&u->timer, on_tick, 0, USERS_POLL_MS);
    return u;
}

/* Stops the poller (users.h). */
void users_free(users *u)
{
    if (!u)
        return;
    u->h.add = NULL;
    u->h.remove = NULL;
    uv_timer_stop(&u->timer);
    uv_close((uv_handle_t *)&u->timer, on_timer_closed);
}

/* Members currently known. */
size_t users_count(const users *u)
{
    return u->ncur;
}

/* True when user is a member (users.h). */
bool users_has(const users *u, const char *user)
{
    return u && u->ncur && bsearch(&user, u->cur, u->ncur, sizeof *u->cur, cmp_str) != NULL;
}

/* The sorted members (users.h). */
char *const *users_list(const users *u, size_t *n)
{
    *n = u ? u->ncur : 0;
    return u ? u->cur : NULL;
}
