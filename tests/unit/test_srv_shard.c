/* test_srv_shard.c — static sharding: the "I/N" parser, the documented hash
 * (zlib crc32 of tenant "/" user, mod N) and the holds check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "kk_err.h"
#include "shard.h"

/* Parses a NUL-terminated string. */
static int parse(const char *s, kk_shard *out)
{
    return shard_parse(s, strlen(s), out);
}

/* "I/N" within bounds fills index and count. */
static void test_parse_accepts_index_below_count(void **state)
{
    (void)state;
    kk_shard sh = { 99, 99 };
    assert_int_equal(parse("0/1", &sh), 0);
    assert_int_equal(sh.index, 0);
    assert_int_equal(sh.count, 1);
    assert_int_equal(parse("2/3", &sh), 0);
    assert_int_equal(sh.index, 2);
    assert_int_equal(sh.count, 3);
    assert_int_equal(parse("4095/4096", &sh), 0);
    assert_int_equal(sh.index, 4095);
    assert_int_equal(sh.count, SHARD_COUNT_MAX);
}

/* Every malformed or out-of-range text is KK_EINVAL and leaves out alone. */
static void test_parse_rejects_malformed_and_out_of_range(void **state)
{
    (void)state;
    static const char *bad[] = {
        "", "/", "1", "1/", "/2", "2/2", "3/2", "0/0", "-1/2", "+0/2", "0/+2", " 0/2", "0/2 ",
        "0 /2", "0/2/3", "a/2", "0/2x", "0/4097", "99999999999/2", "0/99999999999",
        "0/4294967296", "00000000000/2",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kk_shard sh = { 7, 8 };
        if (parse(bad[i], &sh) != KK_EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(sh.index, 7);
        assert_int_equal(sh.count, 8);
    }
    kk_shard sh;
    assert_int_equal(shard_parse(NULL, 3, &sh), KK_EINVAL);
    assert_int_equal(shard_parse("0/1", 3, NULL), KK_EINVAL);
}

/* The parser reads exactly len bytes (argv or a larger buffer). */
static void test_parse_reads_only_len_bytes(void **state)
{
    (void)state;
    kk_shard sh;
    assert_int_equal(shard_parse("1/20", 3, &sh), 0); /* "1/2" */
    assert_int_equal(sh.index, 1);
    assert_int_equal(sh.count, 2);
    assert_int_equal(shard_parse("1/2", 2, &sh), KK_EINVAL); /* "1/" */
}

/* The hash is zlib's crc32 of "tenant/user" mod N; the expected values
 * come from python3 zlib.crc32 (acme/alice 0x3d7790c8, acme/u1
 * 0x6310dd42, t/x 0xe07bd8fd). */
static void test_shard_of_is_crc32_of_tenant_slash_user(void **state)
{
    (void)state;
    assert_int_equal(shard_of("acme", "alice", 7), 0x3d7790c8u % 7); /* 4 */
    assert_int_equal(shard_of("acme", "alice", 7), 4);
    assert_int_equal(shard_of("acme", "u1", 7), 3);
    assert_int_equal(shard_of("t", "x", 2), 1);
    assert_int_equal(shard_of("t", "x", 7), 5);
    assert_int_equal(shard_of("t", "x", 1), 0);
    assert_int_equal(shard_of("t", "x", 0), 0);
    /* the separator matters: "a/bc" and "ab/c" are different strings */
    assert_int_not_equal(shard_of("a", "bc", 1u << 31), shard_of("ab", "c", 1u << 31));
}

/* With N shards every user is held by exactly one index, and the split of
 * 10 000 users is even within 5 %. */
static void test_every_user_is_held_by_exactly_one_shard(void **state)
{
    (void)state;
    enum { N = 3, USERS = 10000 };
    unsigned per[N] = { 0 };
    char user[32];
    for (int u = 0; u < USERS; u++) {
        snprintf(user, sizeof user, "user%05d", u);
        int holders = 0;
        for (uint32_t i = 0; i < N; i++) {
            kk_shard sh = { i, N };
            if (shard_holds(&sh, "tenantA", user)) {
                holders++;
                per[i]++;
            }
        }
        assert_int_equal(holders, 1);
    }
    for (int i = 0; i < N; i++) {
        assert_true(per[i] > USERS / N * 95 / 100);
        assert_true(per[i] < USERS / N * 105 / 100);
    }
}

/* No shard (NULL, count 0 or 1) holds every user. */
static void test_unsharded_holds_everyone(void **state)
{
    (void)state;
    kk_shard none = { 0, 0 }, one = { 0, 1 }, two = { 1, 2 };
    assert_true(shard_holds(NULL, "t", "x"));
    assert_true(shard_holds(&none, "t", "x"));
    assert_true(shard_holds(&one, "t", "x"));
    assert_true(shard_holds(&two, "t", "x"));   /* t/x → 1 of 2 */
    two.index = 0;
    assert_false(shard_holds(&two, "t", "x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts_index_below_count),
        cmocka_unit_test(test_parse_rejects_malformed_and_out_of_range),
        cmocka_unit_test(test_parse_reads_only_len_bytes),
        cmocka_unit_test(test_shard_of_is_crc32_of_tenant_slash_user),
        cmocka_unit_test(test_every_user_is_held_by_exactly_one_shard),
        cmocka_unit_test(test_unsharded_holds_everyone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
