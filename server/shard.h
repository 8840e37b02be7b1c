/* shard.h — static sharding of logins across instances (`--shard i/n`).
 *
 * With n instances started as --shard 0/n … --shard (n-1)/n, every user is
 * logged in by exactly one of them: the instance whose index equals
 *
 *     shard = crc32(tenantID + "/" + userID) mod n
 *
 * where crc32 is zlib's (the IEEE 802.3 polynomial, as in gzip, PNG and
 * Python's zlib.crc32), taken over the UTF-8 bytes of the tenant ID, one
 * "/" and the user ID, as an unsigned 32-bit value. Other tools compute the
 * same with e.g. `python3 -c 'import zlib;print(zlib.crc32(b"acme/alice")%3)'`.
 * The hash covers config users, usersFile users and run-time users alike;
 * the platform is not part of it (all logins of a user stay together).
 *
 * Pure functions, no state: safe from any thread.
 */
#ifndef KK_SHARD_H
#define KK_SHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most instances one static shard set may have (a sanity bound for the
 * parser; one instance holds tens of thousands of logins). */
#define SHARD_COUNT_MAX 4096u

/* This instance's shard: index in [0, count). count 0 means "no sharding"
 * (every user is ours), the state before --shard is given. */
typedef struct kk_shard {
    uint32_t index;
    uint32_t count;
} kk_shard;

/* Parses "I/N" (decimal, no sign, no spaces, 1 <= N <= SHARD_COUNT_MAX,
 * 0 <= I < N) from exactly len bytes of s. Returns 0 and fills *out, or
 * KK_EINVAL (out untouched) for anything else. */
int shard_parse(const char *s, size_t len, kk_shard *out);

/* The shard of a user among count shards (count >= 1; 0 is treated as 1). */
uint32_t shard_of(const char *tenant, const char *user, uint32_t count);

/* True when sh (NULL or count 0: unsharded) holds tenant/user. */
bool shard_holds(const kk_shard *sh, const char *tenant, const char *user);

#endif
