/* kctl_users.c — `kkimctl users add|rm|ls TENANT [USER...]`: edits the
 * run-time users of a tenant, the Redis set kkim:{TENANT}:users (design §4;
 * the relay starts or stops those logins within a second, users.h).
 *
 *   kkimctl users add acme alice bob [--redis URL]
 *   kkimctl users rm  acme bob       [--redis URL]
 *   kkimctl users ls  acme           [--redis URL]
 *
 * Prints how many users changed ("added 2" / "removed 1") or the members,
 * one per line, sorted. User IDs are checked like the config's (1..128
 * printable bytes, no spaces). The Redis URL: --redis, $KKIM_REDIS_URL, or
 * redis://127.0.0.1:6379/0 (kctl_redis.c). */
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kctl.h"

/* Longest tenant ID (config.h CFG_ID_MAX) and user ID (CFG_USER_MAX). */
#define USERS_TENANT_MAX 64
#define USERS_USER_MAX 128

/* Prints a usage error and returns 2. */
static int users_usage(const char *why)
{
    fprintf(stderr, "kkimctl: users: %s\n", why);
    fprintf(stderr, "usage: kkimctl users add|rm TENANT USER... [--redis URL]\n"
                    "       kkimctl users ls TENANT [--redis URL]\n");
    return 2;
}

/* True when s is a valid tenant ID ([A-Za-z0-9._-], 1..64). */
static bool valid_tenant(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > USERS_TENANT_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

/* True when s is a valid user ID (printable, no spaces, 1..128). */
static bool valid_user(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > USERS_USER_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return false;
    return true;
}

/* qsort comparator of C strings. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints the members of key, sorted. */
static int users_ls(kctl_redis *c, const char *key)
{
    redisReply *r = kctl_redis_cmd(c, "SMEMBERS %s", key);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        fprintf(stderr, "kkimctl: users: SMEMBERS failed: %s\n",
                r && r->type == REDIS_REPLY_ERROR ? r->str : kctl_redis_errstr(c));
        freeReplyObject(r);
        return 1;
    }
    char **v = calloc(r->elements + 1, sizeof *v);
    size_t n = 0;
    for (size_t i = 0; v && i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            v[n++] = r->element[i]->str;
    if (v)
        qsort(v, n, sizeof *v, cmp_str);
    for (size_t i = 0; i < n; i++)
        printf("%s\n", v[i]);
    free(v);
    freeReplyObject(r);
    return 0;
}

/* Runs `kkimctl users` (argv[0] is "users"). */
int kctl_users(int argc, char **argv)
{
    const char *url = kctl_redis_default_url();
    const char *pos[3] = { NULL, NULL, NULL };
    int npos = 0;
    const char **users = calloc((size_t)argc + 1, sizeof *users);
    size_t nusers = 0;
    if (!users)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--redis") && i + 1 < argc)
            url = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1] == '-') {
            free(users);
            return users_usage("unknown option");
        } else if (npos < 2)
            pos[npos++] = argv[i];
        else
            users[nusers++] = argv[i];
    }
    int rc = 2;
    bool add = pos[0] && !strcmp(pos[0], "add"), rm = pos[0] && !strcmp(pos[0], "rm"),
         ls = pos[0] && !strcmp(pos[0], "ls");
    if (!add && !rm && !ls)
        rc = users_usage("expected add, rm or ls");
    else if (!pos[1] || !valid_tenant(pos[1]))
        rc = users_usage("missing or invalid TENANT");
    else if (!ls && nusers == 0)
        rc = users_usage("no USER given");
    else if (ls && nusers > 0)
        rc = users_usage("ls takes no USER");
    else {
        rc = 0;
        for (size_t i = 0; i < nusers; i++)
            if (!valid_user(users[i])) {
                fprintf(stderr, "kkimctl: users: invalid user ID #%zu (1..128 printable bytes, no spaces)\n",
                        i + 1);
                rc = 2;
            }
    }
    if (rc != 0) {
        free(users);
        return rc;
    }
    char key[USERS_TENANT_MAX + 16];
    snprintf(key, sizeof key, "kkim:{%s}:users", pos[1]);
    kctl_redis c;
    if (kctl_redis_open(&c, url, "users") < 0) {
        free(users);
        return 1;
    }
    if (ls) {
        rc = users_ls(&c, key);
    } else {
        const char **av = calloc(nusers + 2, sizeof *av);
        size_t *lens = calloc(nusers + 2, sizeof *lens);
        redisReply *r = NULL;
        if (av && lens) {
            av[0] = add ? "SADD" : "SREM";
            av[1] = key;
            for (size_t i = 0; i < nusers + 2; i++) {
                if (i >= 2)
                    av[i] = users[i - 2];
                lens[i] = strlen(av[i]);
            }
            r = kctl_redis_argv(&c, (int)nusers + 2, av, lens);
        }
        if (!r || r->type != REDIS_REPLY_INTEGER) {
            fprintf(stderr, "kkimctl: users: %s failed: %s\n", add ? "SADD" : "SREM",
                    r && r->type == REDIS_REPLY_ERROR ? r->str : kctl_redis_errstr(&c));
            rc = 1;
        } else {
            printf("%s %lld\n", add ? "added" : "removed", r->integer);
        }
        freeReplyObject(r);
        free(av);
        free(lens);
    }
    kctl_redis_close(&c);
    free(users);
    return rc;
}
