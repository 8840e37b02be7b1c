/* kctl_tail.c — `kkimctl tail TENANT STREAM`: follows kkim:{TENANT}:STREAM
 * and prints each entry as one JSON object per line (design §5 fields;
 * `raw` as base64, or decoded to a MsgData object with --decode-raw).
 *
 *   kkimctl tail demo msgs [--redis URL] [--from ID|$|0] [--count N]
 *                          [--decode-raw] [--timeout SECONDS] [--partition P]
 *
 * --partition P follows kkim:{TENANT:P}:STREAM, the stream of partition P
 * of a tenant with "streams": {"partitions": N > 1} (design §5). On a Redis
 * Cluster (a redis://...?cluster=1 URL or any node's) MOVED and ASK answers
 * are followed (kctl_redis.c), with the same credentials.
 *
 * --from 0 prints the stream from its start; the default `$` prints only
 * new entries. --count stops after N entries; --timeout stops after that
 * many seconds without a new entry (scripts and tests). The Redis URL comes
 * from --redis, else $KKIM_REDIS_URL, else redis://127.0.0.1:6379/0; its
 * password is sent with AUTH and never printed. */
#include <errno.h>
#include <hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kctl.h"
#include "pbjson.h"
#include "rurl.h"
#include "sdkws.pb-c.h"

/* Longest stream key accepted: "kkim:{" + tenant + "}:" + stream. */
#define TAIL_KEY_MAX 300

typedef struct tail_opts {
    const char *tenant, *stream, *url, *from;
    long count;
    long timeout_s;
    long partition; /* -1: none */
    bool decode_raw;
} tail_opts;

/* Prints a usage error and returns 2. */
static int tail_usage(const char *why)
{
    fprintf(stderr, "kkimctl: tail: %s\n", why);
    fprintf(stderr, "usage: kkimctl tail TENANT STREAM [--redis URL] [--from ID|$|0] "
                    "[--count N] [--decode-raw] [--timeout SECONDS] [--partition P]\n");
    return 2;
}

/* Parses the tail arguments (argv[0] is "tail"). */
static int tail_parse(int argc, char **argv, tail_opts *o)
{
    memset(o, 0, sizeof *o);
    o->from = "$";
    o->url = kctl_redis_default_url();
    o->partition = -1;
    int pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--redis") && has)
            o->url = argv[++i];
        else if (!strcmp(a, "--from") && has)
            o->from = argv[++i];
        else if (!strcmp(a, "--count") && has)
            o->count = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--timeout") && has)
            o->timeout_s = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--partition") && has) {
            char *end = NULL;
            o->partition = strtol(argv[++i], &end, 10);
            if (!*argv[i] || *end || o->partition < 0 || o->partition > 1023)
                return -1;
        }
        else if (!strcmp(a, "--decode-raw"))
            o->decode_raw = true;
        else if (a[0] == '-')
            return -1;
        else if (pos == 0 && ++pos)
            o->tenant = a;
        else if (pos == 1 && ++pos)
            o->stream = a;
        else
            return -1;
    }
    return o->tenant && o->stream ? 0 : -1;
}

/* Builds the JSON object of one stream entry: id, then each field. */
static json_t *entry_json(const redisReply *e, bool decode_raw)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_stringn(e->element[0]->str, e->element[0]->len));
    const redisReply *kv = e->element[1];
    for (size_t i = 0; i + 1 < kv->elements; i += 2) {
        const redisReply *k = kv->element[i], *v = kv->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)k->len, k->str);
        json_t *val = NULL;
        if (!strcmp(key, "raw") && decode_raw)
            (void)pbjson_decode(&kkim__msg_data__descriptor, (const uint8_t *)v->str, v->len,
                                NULL, &val, NULL);
        if (!val && !strcmp(key, "raw")) {
            kk_buf b;
            kk_buf_init(&b, 64u * 1024 * 1024);
            if (pbjson_b64_encode((const uint8_t *)v->str, v->len, &b) == 0)
                val = json_stringn((const char *)b.p, b.len);
            kk_buf_free(&b);
        }
        if (!val)
            val = json_stringn(v->str, v->len);
        json_object_set_new(o, key, val ? val : json_null());
    }
    return o;
}

/* Prints the entries of an XREAD reply; returns how many, and the last ID. */
static long print_entries(const redisReply *r, bool decode_raw, char *last, size_t lastcap)
{
    long n = 0;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1)
        return 0;
    const redisReply *s = r->element[0];
    if (s->type != REDIS_REPLY_ARRAY || s->elements < 2)
        return 0;
    const redisReply *entries = s->element[1];
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2)
            continue;
        json_t *o = entry_json(e, decode_raw);
        char *line = json_dumps(o, JSON_COMPACT);
        if (line) {
            puts(line);
            free(line);
        }
        json_decref(o);
        snprintf(last, lastcap, "%.*s", (int)e->element[0]->len, e->element[0]->str);
        n++;
    }
    fflush(stdout);
    return n;
}

/* Runs `kkimctl tail`. */
int kctl_tail(int argc, char **argv)
{
    tail_opts o;
    if (tail_parse(argc, argv, &o) < 0)
        return tail_usage("bad arguments");
    char key[TAIL_KEY_MAX], part[24] = "";
    if (o.partition >= 0)
        snprintf(part, sizeof part, ":%ld", o.partition);
    if ((size_t)snprintf(key, sizeof key, "kkim:{%s%s}:%s", o.tenant, part, o.stream) >= sizeof key)
        return tail_usage("tenant or stream name too long");
    kctl_redis k;
    if (kctl_redis_open(&k, o.url, "tail") < 0)
        return 1;
    char last[64];
    snprintf(last, sizeof last, "%s", o.from);
    if (!strcmp(o.from, "$")) {
        /* Pin "$" to the current last ID, so nothing that arrives between
         * two XREAD calls is missed. */
        redisReply *r = kctl_redis_cmd(&k, "XREVRANGE %s + - COUNT 1", key);
        if (!k.c)
            return 1;
        snprintf(last, sizeof last, "0-0");
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
            r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements >= 1)
            snprintf(last, sizeof last, "%.*s", (int)r->element[0]->element[0]->len,
                     r->element[0]->element[0]->str);
        freeReplyObject(r);
    }
    long total = 0, idle_ms = 0;
    for (;;) {
        redisReply *r =
            kctl_redis_cmd(&k, "XREAD COUNT 100 BLOCK 1000 STREAMS %s %s", key, last);
        if (!r) {
            if (k.c)
                fprintf(stderr, "kkimctl: tail: Redis connection lost: %s\n", k.c->errstr);
            kctl_redis_close(&k);
            return 1;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "kkimctl: tail: %s\n", r->str);
            freeReplyObject(r);
            kctl_redis_close(&k);
            return 1;
        }
        long n = print_entries(r, o.decode_raw, last, sizeof last);
        freeReplyObject(r);
        total += n;
        idle_ms = n ? 0 : idle_ms + 1000;
        if (o.count > 0 && total >= o.count)
            break;
        if (o.timeout_s > 0 && idle_ms >= o.timeout_s * 1000)
            break;
    }
    kctl_redis_close(&k);
    return 0;
}
