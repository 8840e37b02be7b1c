/* test_srv_rclus.c — Redis Cluster routing without a network: key slots,
 * the first key of every command the relay sends, MOVED/ASK parsing, the
 * CLUSTER SLOTS walker (replies built by hiredis's own reader), and the
 * cluster / Sentinel forms of the Redis URL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis.h>

#include "kk_err.h"
#include "rclus.h"
#include "rurl.h"

/* Slot of a NUL-terminated key. */
static int slot_of(const char *k)
{
    return rclus_slot(k, strlen(k));
}

static void crc16_matches_the_cluster_specification_vector(void **state)
{
    (void)state;
    assert_int_equal(rclus_crc16("123456789", 9), 0x31C3);
    assert_int_equal(rclus_crc16("", 0), 0);
}

static void slot_matches_redis_cluster_keyslot(void **state)
{
    (void)state;
    /* CLUSTER KEYSLOT answers (redis.io command docs and redis 7.0.15). */
    assert_int_equal(slot_of("somekey"), 11058);
    assert_int_equal(slot_of("foo{hash_tag}"), 2515);
    assert_int_equal(slot_of("foo"), 12182);
}

static void slot_uses_the_first_non_empty_hash_tag(void **state)
{
    (void)state;
    assert_int_equal(slot_of("kkim:{alpha}:msgs"), slot_of("alpha"));
    assert_int_equal(slot_of("kkim:{alpha}:hw"), slot_of("kkim:{alpha}:events"));
    assert_int_equal(slot_of("kkim:{alpha:3}:hw"), slot_of("alpha:3"));
    /* only the first '{' counts; an empty tag hashes the whole key */
    assert_int_equal(slot_of("foo{{bar}}zap"), slot_of("{bar"));
    assert_int_equal(slot_of("foo{bar}{zap}"), slot_of("bar"));
    assert_int_equal(slot_of("foo{}{bar}"), rclus_crc16("foo{}{bar}", 10) & 16383);
    assert_int_equal(slot_of("foo{bar"), rclus_crc16("foo{bar", 7) & 16383);
    /* binary keys: the length counts, not a NUL */
    assert_int_equal(rclus_slot("a\0{b}", 5), slot_of("b"));
}

/* rclus_cmd_key over a NULL-terminated word list. */
static int key_of(const char *const *w)
{
    size_t lens[32];
    int n = 0;
    while (w[n]) {
        lens[n] = strlen(w[n]);
        n++;
    }
    return rclus_cmd_key(n, w, lens);
}

static void command_key_is_found_for_every_command_the_relay_sends(void **state)
{
    (void)state;
    /* rsink.c */
    assert_int_equal(key_of((const char *[]){ "EVALSHA", "abc", "2", "kkim:{t}:msgs", "kkim:{t}:hw", NULL }), 3);
    assert_int_equal(key_of((const char *[]){ "EVAL", "return 1", "1", "k", "a", NULL }), 3);
    assert_int_equal(key_of((const char *[]){ "HMGET", "kkim:{t}:hw", "c1", NULL }), 1);
    assert_int_equal(key_of((const char *[]){ "XADD", "kkim:{t}:events", "MAXLEN", "~", "9", "*", NULL }), 1);
    assert_int_equal(key_of((const char *[]){ "SCRIPT", "LOAD", "return 1", NULL }), -1);
    /* outbox.c / outbox_send.c */
    assert_int_equal(key_of((const char *[]){ "XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "BLOCK", "5000",
                                               "STREAMS", "kkim:{t}:outbox", ">", NULL }), 9);
    assert_int_equal(key_of((const char *[]){ "xreadgroup", "group", "g", "c", "streams", "k", "0", NULL }), 5);
    assert_int_equal(key_of((const char *[]){ "XGROUP", "CREATE", "kkim:{t}:outbox", "g", "0", NULL }), 2);
    assert_int_equal(key_of((const char *[]){ "XAUTOCLAIM", "kkim:{t}:outbox", "g", "c", "1", "0", NULL }), 1);
    assert_int_equal(key_of((const char *[]){ "XCLAIM", "kkim:{t}:outbox", "g", "c", "1", "1-0", NULL }), 1);
    assert_int_equal(key_of((const char *[]){ "ZSCORE", "kkim:{t}:done", "1-0", NULL }), 1);
    /* users.c, tok_fetch.c, tenant_sync.c */
    assert_int_equal(key_of((const char *[]){ "SMEMBERS", "kkim:{t}:users", NULL }), 1);
    assert_int_equal(key_of((const char *[]){ "HMGET", "kkim:{t}:tokens", "u:7", "u", NULL }), 1);
    assert_int_equal(key_of((const char *[]){ "SADD", "kkim:{t}:synced", "u", NULL }), 1);
    assert_int_equal(key_of((const char *[]){ "SISMEMBER", "kkim:{t}:synced", "u", NULL }), 1);
    /* keyless, and the router's own */
    assert_int_equal(key_of((const char *[]){ "PING", NULL }), -1);
    assert_int_equal(key_of((const char *[]){ "CLUSTER", "SLOTS", NULL }), -1);
    assert_int_equal(key_of((const char *[]){ "EVAL", "return 1", "0", NULL }), -1);
}

static void command_key_is_none_for_malformed_commands(void **state)
{
    (void)state;
    assert_int_equal(rclus_cmd_key(0, NULL, NULL), -1);
    assert_int_equal(key_of((const char *[]){ "EVAL", "s", "1", NULL }), -1);
    assert_int_equal(key_of((const char *[]){ "EVAL", "s", "x1", "k", NULL }), -1);
    assert_int_equal(key_of((const char *[]){ "EVAL", "s", "", "k", NULL }), -1);
    assert_int_equal(key_of((const char *[]){ "EVAL", "s", NULL }), -1);
    assert_int_equal(key_of((const char *[]){ "XREADGROUP", "GROUP", "g", "c", "STREAMS", NULL }), -1);
    assert_int_equal(key_of((const char *[]){ "XGROUP", "CREATE", NULL }), -1);
    assert_int_equal(key_of((const char *[]){ "GET", NULL }), -1);
}

static void redirect_parser_reads_moved_and_ask_and_rejects_the_rest(void **state)
{
    (void)state;
    char host[64];
    int slot = -1, port = -1;
    const char *m = "MOVED 3999 127.0.0.1:6381";
    assert_int_equal(rclus_redirect_parse(m, strlen(m), &slot, host, sizeof host, &port), 1);
    assert_int_equal(slot, 3999);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 6381);
    const char *a = "ASK 16383 ::1:7000";
    assert_int_equal(rclus_redirect_parse(a, strlen(a), &slot, host, sizeof host, &port), 2);
    assert_int_equal(slot, 16383);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 7000);
    static const char *const bad[] = {
        "MOVED 16384 h:1", "MOVED  h:1", "MOVED 1 h", "MOVED 1 :1", "MOVED 1 h:", "MOVED 1 h:0",
        "MOVED 1 h:65536", "MOVED 1 h:1x", "ASK", "ERR wrong", "TRYAGAIN x", "MOVED 123456 h:1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(rclus_redirect_parse(bad[i], strlen(bad[i]), &slot, host, sizeof host, &port), 0);
    /* a NUL or a space in the host is refused (found by fuzz_rclus) */
    assert_int_equal(rclus_redirect_parse("MOVED 1 \0h:1", 12, &slot, host, sizeof host, &port), 0);
    assert_int_equal(rclus_redirect_parse("MOVED 1 a b:1", 13, &slot, host, sizeof host, &port), 0);
    /* a host longer than the buffer is refused, not cut */
    assert_int_equal(rclus_redirect_parse(m, strlen(m), &slot, host, 5, &port), 0);
}

/* Reads one RESP reply from text with hiredis's reader. */
static redisReply *resp(const char *text)
{
    redisReader *r = redisReaderCreate();
    void *out = NULL;
    assert_int_equal(redisReaderFeed(r, text, strlen(text)), REDIS_OK);
    assert_int_equal(redisReaderGetReply(r, &out), REDIS_OK);
    redisReaderFree(r);
    assert_non_null(out);
    return out;
}

typedef struct seen {
    int n;
    int first[4], last[4], port[4];
    char host[4][64];
} seen;

/* Walker callback: records each range. */
static void on_range(void *ud, int first, int last, const char *host, int port)
{
    seen *s = ud;
    s->first[s->n] = first;
    s->last[s->n] = last;
    s->port[s->n] = port;
    strcpy(s->host[s->n], host);
    s->n++;
}

static void slots_walker_reports_each_range_with_its_master(void **state)
{
    (void)state;
    redisReply *r = resp("*2\r\n"
                         "*4\r\n:0\r\n:5460\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\nid\r\n"
                         "*3\r\n$9\r\n127.0.0.1\r\n:7003\r\n$2\r\nid\r\n"
                         "*3\r\n:5461\r\n:16383\r\n*2\r\n$0\r\n\r\n:7001\r\n");
    seen s = { 0 };
    assert_int_equal(rclus_slots_walk(r, on_range, &s), 2);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.first[0], 0);
    assert_int_equal(s.last[0], 5460);
    assert_string_equal(s.host[0], "127.0.0.1");
    assert_int_equal(s.port[0], 7000);
    assert_int_equal(s.first[1], 5461);
    assert_int_equal(s.last[1], 16383);
    assert_string_equal(s.host[1], "");
    assert_int_equal(s.port[1], 7001);
    freeReplyObject(r);
}

static void slots_walker_stops_at_the_first_malformed_range(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "-ERR This instance has cluster support disabled\r\n",
        "*1\r\n*3\r\n:10\r\n:5\r\n*2\r\n$1\r\nh\r\n:1\r\n",       /* last < first */
        "*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n",    /* past the last slot */
        "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\nh\r\n:0\r\n",        /* port 0 */
        "*1\r\n*3\r\n:0\r\n:1\r\n*1\r\n$1\r\nh\r\n",              /* no port */
        "*1\r\n*2\r\n:0\r\n:1\r\n",                              /* no master */
        "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$3\r\nh\0x\r\n:1\r\n",     /* NUL in the host */
        "*2\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\nh\r\n:1\r\n:7\r\n",  /* second element not a range */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        redisReader *rd = redisReaderCreate();
        void *out = NULL;
        size_t len = i == 6 ? 33 : strlen(bad[i]); /* bad[6] holds a NUL */
        assert_int_equal(redisReaderFeed(rd, bad[i], len), REDIS_OK);
        assert_int_equal(redisReaderGetReply(rd, &out), REDIS_OK);
        redisReaderFree(rd);
        seen s = { 0 };
        assert_int_equal(rclus_slots_walk(out, on_range, &s), KK_EPROTO);
        assert_int_equal(s.n, i == 7 ? 1 : 0);
        freeReplyObject(out);
    }
}

static void url_with_cluster_query_is_a_cluster_seed(void **state)
{
    (void)state;
    rurl u;
    const char *why = NULL;
    char red[600];
    assert_int_equal(rurl_parse("redis://u:pw@10.0.0.1:7000?cluster=1", &u, &why), 0);
    assert_true(u.cluster);
    assert_string_equal(u.host, "10.0.0.1");
    assert_int_equal(u.port, 7000);
    rurl_redacted(&u, red, sizeof red);
    assert_string_equal(red, "redis://u:***@10.0.0.1:7000/0?cluster=1");
    rurl_free(&u);
    assert_int_equal(rurl_parse("redis://h/0?cluster=false", &u, &why), 0);
    assert_false(u.cluster);
    rurl_free(&u);
    assert_int_equal(rurl_parse("redis://h/1?cluster=1", &u, &why), KK_EINVAL);
    assert_string_equal(why, "a Redis Cluster has database 0 only and no Sentinels");
    assert_int_equal(rurl_parse("redis://h?cluster=yes", &u, &why), KK_EINVAL);
    assert_int_equal(rurl_parse("redis://h?db=1", &u, &why), KK_EINVAL);
    assert_string_equal(why, "bad query: only ?cluster=1 (or 0, true, false) is known");
}

static void sentinel_url_lists_sentinels_and_the_master_name(void **state)
{
    (void)state;
    rurl u;
    const char *why = NULL;
    char red[600];
    assert_int_equal(rurl_parse("redis-sentinel://:s3cret@a:26380,b,[::1]:5/mymaster/2", &u, &why), 0);
    assert_int_equal(u.nsentinels, 3);
    assert_string_equal(u.sentinels[0].host, "a");
    assert_int_equal(u.sentinels[0].port, 26380);
    assert_string_equal(u.sentinels[1].host, "b");
    assert_int_equal(u.sentinels[1].port, 26379);
    assert_string_equal(u.sentinels[2].host, "::1");
    assert_int_equal(u.sentinels[2].port, 5);
    assert_string_equal(u.master, "mymaster");
    assert_int_equal(u.db, 2);
    assert_string_equal(u.host, "a");
    rurl_redacted(&u, red, sizeof red);
    assert_string_equal(red, "redis-sentinel://:***@a:26380,b:26379,[::1]:5/mymaster/2");
    assert_null(strstr(red, "s3cret"));
    rurl_free(&u);
    assert_int_equal(rurl_parse("redis-sentinel://a,b", &u, &why), KK_EINVAL);
    assert_string_equal(why, "missing or too long Sentinel master name");
    assert_int_equal(rurl_parse("redis-sentinel://a,,b/m", &u, &why), KK_EINVAL);
    assert_int_equal(rurl_parse("redis-sentinel://a/m?cluster=1", &u, &why), KK_EINVAL);
    assert_int_equal(rurl_parse("redis-sentinel://1,2,3,4,5,6,7,8,9/m", &u, &why), KK_EINVAL);
    assert_string_equal(why, "too many Sentinels");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc16_matches_the_cluster_specification_vector),
        cmocka_unit_test(slot_matches_redis_cluster_keyslot),
        cmocka_unit_test(slot_uses_the_first_non_empty_hash_tag),
        cmocka_unit_test(command_key_is_found_for_every_command_the_relay_sends),
        cmocka_unit_test(command_key_is_none_for_malformed_commands),
        cmocka_unit_test(redirect_parser_reads_moved_and_ask_and_rejects_the_rest),
        cmocka_unit_test(slots_walker_reports_each_range_with_its_master),
        cmocka_unit_test(slots_walker_stops_at_the_first_malformed_range),
        cmocka_unit_test(url_with_cluster_query_is_a_cluster_seed),
        cmocka_unit_test(sentinel_url_lists_sentinels_and_the_master_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
