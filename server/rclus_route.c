/* rclus_route.c — the pure half of Redis Cluster routing (see rclus.h):
 * key slots, the key position of each command, CLUSTER SLOTS and
 * MOVED/ASK parsing. No I/O. */
#include "rclus.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <hiredis.h>

#include "kk_err.h"

/* CRC16-XMODEM (polynomial 0x1021, initial 0), bit by bit: keys are short. */
uint16_t rclus_crc16(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

/* Slot with hash tags (the Cluster specification's keyHashSlot). */
int rclus_slot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);
    if (open) {
        size_t rest = len - (size_t)(open - key) - 1;
        const char *close = memchr(open + 1, '}', rest);
        if (close && close > open + 1)
            return rclus_crc16(open + 1, (size_t)(close - open - 1)) & (RCLUS_SLOTS - 1);
    }
    return rclus_crc16(key, len) & (RCLUS_SLOTS - 1);
}

/* Whether argv word w (n bytes) is name, ignoring case. */
static bool word_is(const char *w, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(w, name, n) == 0;
}

/* Commands without keys that the relay or an operator may send. */
static const char *const rclus_keyless[] = {
    "SCRIPT", "PING", "INFO", "CLUSTER", "SENTINEL", "AUTH", "SELECT", "ECHO", "TIME", "ASKING",
    "READONLY", "COMMAND", "CLIENT", "CONFIG", "DBSIZE", "FUNCTION", "HELLO", "ROLE", NULL,
};

/* First key of each command the relay sends (server/rsink.c, outbox*.c,
 * users.c, tok_fetch.c, tenant_sync.c, lease.c): EVAL/EVALSHA numkeys
 * key; XREAD/XREADGROUP ... STREAMS key ...; XGROUP/XINFO sub key; every
 * other command (XADD, HMGET, HSET, SADD, SISMEMBER, SMEMBERS, ZSCORE,
 * XCLAIM, XAUTOCLAIM, XACK, GET, SET, DEL, ...) key at argv[1]. */
int rclus_cmd_key(int argc, const char *const *argv, const size_t *argvlen)
{
    if (argc < 1)
        return -1;
    const char *c = argv[0];
    size_t n = argvlen[0];
    for (int i = 0; rclus_keyless[i]; i++)
        if (word_is(c, n, rclus_keyless[i]))
            return -1;
    if (word_is(c, n, "EVAL") || word_is(c, n, "EVALSHA") || word_is(c, n, "EVAL_RO") ||
        word_is(c, n, "EVALSHA_RO") || word_is(c, n, "FCALL")) {
        if (argc < 3 || argvlen[2] == 0 || argvlen[2] > 9)
            return -1;
        long nk = 0;
        for (size_t i = 0; i < argvlen[2]; i++) {
            if (argv[2][i] < '0' || argv[2][i] > '9')
                return -1;
            nk = nk * 10 + (argv[2][i] - '0');
        }
        return nk > 0 && argc > 3 ? 3 : -1;
    }
    if (word_is(c, n, "XREAD") || word_is(c, n, "XREADGROUP")) {
        for (int i = 1; i + 1 < argc; i++)
            if (word_is(argv[i], argvlen[i], "STREAMS"))
                return i + 1;
        return -1;
    }
    if (word_is(c, n, "XGROUP") || word_is(c, n, "XINFO") || word_is(c, n, "OBJECT") ||
        word_is(c, n, "MEMORY"))
        return argc > 2 ? 2 : -1;
    return argc > 1 ? 1 : -1;
}

/* Reads an integer element in [0, max]. */
static bool walk_int(const redisReply *e, long long max, int *out)
{
    if (e->type != REDIS_REPLY_INTEGER || e->integer < 0 || e->integer > max)
        return false;
    *out = (int)e->integer;
    return true;
}

/* CLUSTER SLOTS: [[first, last, [host, port, id, ...], replicas...], ...]. */
int rclus_slots_walk(const redisReply *r,
                     void (*fn)(void *ud, int first, int last, const char *host, int port),
                     void *ud)
{
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return KK_EPROTO;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        int first, last, port;
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
            !walk_int(e->element[0], RCLUS_SLOTS - 1, &first) ||
            !walk_int(e->element[1], RCLUS_SLOTS - 1, &last) || last < first)
            return KK_EPROTO;
        const redisReply *m = e->element[2];
        if (m->type != REDIS_REPLY_ARRAY || m->elements < 2 ||
            m->element[0]->type != REDIS_REPLY_STRING || !walk_int(m->element[1], 65535, &port) ||
            port == 0 || m->element[0]->len >= 64 ||
            strlen(m->element[0]->str) != m->element[0]->len)
            return KK_EPROTO;
        fn(ud, first, last, m->element[0]->str, port);
    }
    return (int)r->elements;
}

/* "MOVED <slot> <host>:<port>" / "ASK ..."; the host may be an IPv6
 * address (the last ':' separates the port) or empty (unknown endpoint). */
int rclus_redirect_parse(const char *s, size_t len, int *slot, char *host, size_t cap,
                         int *port)
{
    int kind = 0;
    size_t at;
    if (len > 6 && memcmp(s, "MOVED ", 6) == 0) {
        kind = 1;
        at = 6;
    } else if (len > 4 && memcmp(s, "ASK ", 4) == 0) {
        kind = 2;
        at = 4;
    } else {
        return 0;
    }
    int v = 0;
    size_t d = at;
    while (d < len && s[d] >= '0' && s[d] <= '9' && d - at < 5)
        v = v * 10 + (s[d++] - '0');
    if (d == at || d >= len || s[d] != ' ' || v >= RCLUS_SLOTS)
        return 0;
    const char *hp = s + d + 1, *end = s + len, *colon = NULL;
    for (const char *c = hp; c < end; c++)
        if (*c == ':')
            colon = c;
    if (!colon || (size_t)(colon - hp) >= cap || colon - hp == 0 || end - colon < 2 ||
        end - colon > 6)
        return 0;
    for (const char *c = hp; c < colon; c++)
        if ((unsigned char)*c < 0x21) /* NUL, space, control: not a host */
            return 0;
    int p = 0;
    for (const char *c = colon + 1; c < end; c++) {
        if (*c < '0' || *c > '9')
            return 0;
        p = p * 10 + (*c - '0');
    }
    if (p == 0 || p > 65535)
        return 0;
    memcpy(host, hp, (size_t)(colon - hp));
    host[colon - hp] = '\0';
    *slot = v;
    *port = p;
    return kind;
}
