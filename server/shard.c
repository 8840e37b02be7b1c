/* shard.c — static sharding (`--shard i/n`); contract: shard.h. */
#include <string.h>
#include <zlib.h>

#include "kk_err.h"
#include "shard.h"

/* Reads a decimal number of at most 10 digits from s[*pos..len) and stops
 * at the first non-digit. Returns KK_EINVAL when no digit is there or the
 * value passes UINT32_MAX. */
static int read_u32(const char *s, size_t len, size_t *pos, uint32_t *out)
{
    uint64_t v = 0;
    size_t start = *pos, i = *pos;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        if (i - start >= 10)
            return KK_EINVAL;
        v = v * 10 + (uint64_t)(s[i] - '0');
        i++;
    }
    if (i == start || v > UINT32_MAX)
        return KK_EINVAL;
    *pos = i;
    *out = (uint32_t)v;
    return 0;
}

/* Parses "I/N" (shard.h). */
int shard_parse(const char *s, size_t len, kk_shard *out)
{
    if (!s || !out)
        return KK_EINVAL;
    size_t pos = 0;
    uint32_t idx, cnt;
    if (read_u32(s, len, &pos, &idx) < 0 || pos >= len || s[pos] != '/')
        return KK_EINVAL;
    pos++;
    if (read_u32(s, len, &pos, &cnt) < 0 || pos != len)
        return KK_EINVAL;
    if (cnt == 0 || cnt > SHARD_COUNT_MAX || idx >= cnt)
        return KK_EINVAL;
    out->index = idx;
    out->count = cnt;
    return 0;
}

/* crc32(tenant "/" user) mod count (shard.h). */
uint32_t shard_of(const char *tenant, const char *user, uint32_t count)
{
    if (count <= 1)
        return 0;
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, (const Bytef *)tenant, (uInt)strlen(tenant));
    c = crc32(c, (const Bytef *)"/", 1);
    c = crc32(c, (const Bytef *)user, (uInt)strlen(user));
    return (uint32_t)(c % count);
}

/* True when this instance holds the user (shard.h). */
bool shard_holds(const kk_shard *sh, const char *tenant, const char *user)
{
    if (!sh || sh->count <= 1)
        return true;
    return shard_of(tenant, user, sh->count) == sh->index;
}
