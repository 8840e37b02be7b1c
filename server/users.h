/* users.h — a tenant's run-time users: the Redis set kkim:{T}:users
 * (design §4 "Users"). Services SADD a userID to start its login and SREM
 * it to stop it, without a restart; the relay notices within one second.
 *
 * How: SMEMBERS every USERS_POLL_MS on the tenant's connection (one command
 * in flight at most), sorted and diffed against the previous answer; each
 * new member calls hooks.add, each vanished one hooks.remove. While Redis
 * is down or answers an error, nothing changes (an outage never stops
 * logins). Members that are not valid user IDs (empty, longer than
 * CFG_USER_MAX, spaces or control bytes) are skipped with a warning once
 * per poll; more than USERS_MAX members are refused (the poll is skipped).
 *
 * Loop thread only. users_free may run with a command in flight: the
 * command's reply then frees the leftovers.
 */
#ifndef KK_USERS_H
#define KK_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct rconn;

/* Poll period: SADD/SREM take effect within this plus one round trip. */
#define USERS_POLL_MS 500u
/* Largest set accepted. */
#define USERS_MAX 1000000u

typedef struct users_hooks {
    void (*add)(void *ud, const char *user);
    void (*remove)(void *ud, const char *user);
} users_hooks;

typedef struct users users;

/* Starts polling key on redis (borrowed: must outlive the poller or be
 * closed after users_free). Returns NULL on ENOMEM. */
users *users_new(uv_loop_t *loop, struct rconn *redis, const char *key, const users_hooks *h,
                 void *ud);
/* Stops polling; the hooks are never called again. NULL is fine. */
void users_free(users *u);
/* Members currently known (valid ones). */
size_t users_count(const users *u);

/* True when user is a member now (NULL u: false). */
bool users_has(const users *u, const char *user);
/* The members now, sorted, borrowed until the next poll's answer. */
char *const *users_list(const users *u, size_t *n);

/* Sorts and validates a SMEMBERS answer and diffs it against the sorted
 * array cur[0..ncur): calls add/remove per difference, then replaces cur
 * with the new array (ownership moves). Returns the number of invalid
 * members skipped. Pure apart from the hooks (unit tests). */
size_t users_apply(char ***cur, size_t *ncur, char **members, size_t n, const users_hooks *h,
                   void *ud);

#endif
