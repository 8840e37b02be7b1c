/* test_srv_ingest.c — the ingest budget (limits.maxMsgsPerSec): a token
 * bucket that runs into debt, throttles once, resumes when the debt is paid
 * and counts throttled time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ingest.h"

/* Rate 0 takes any number of messages and never throttles. */
static void test_rate_zero_never_throttles(void **state)
{
    (void)state;
    ingest g;
    ingest_init(&g, 0, 1000);
    for (int i = 0; i < 1000; i++)
        assert_false(ingest_take(&g, 1000, 1000));
    assert_false(ingest_refill(&g, 5000));
    assert_false(g.throttled);
    assert_int_equal(g.msgs, 1000000);
    assert_int_equal(ingest_throttled_ms(&g, 9000), 0);
}

/* The full bucket holds a tenth of a second: the message after it throttles,
 * exactly once however many follow. */
static void test_burst_then_one_throttle(void **state)
{
    (void)state;
    ingest g;
    ingest_init(&g, 1000, 0);
    for (int i = 0; i < 100; i++)
        assert_false(ingest_take(&g, 1, 0));
    assert_true(ingest_take(&g, 1, 0));
    assert_false(ingest_take(&g, 50, 0)); /* already throttled: debt only */
    assert_true(g.throttled);
    assert_int_equal(g.throttles, 1);
    assert_int_equal(g.msgs, 151);
}

/* Debt is paid before reads resume: 51 tokens of debt at 1000/s take 51 ms. */
static void test_resume_only_when_debt_is_paid(void **state)
{
    (void)state;
    ingest g;
    ingest_init(&g, 1000, 0);
    assert_true(ingest_take(&g, 151, 0)); /* 100 in the bucket, 51 of debt */
    assert_false(ingest_refill(&g, 20));
    assert_false(ingest_refill(&g, 50));
    assert_true(g.throttled);
    assert_true(ingest_refill(&g, 51));
    assert_false(g.throttled);
    assert_int_equal(ingest_throttled_ms(&g, 51), 51);
    assert_false(ingest_refill(&g, 70)); /* nothing more to end */
}

/* Over a long window intake never passes rate * W + burst. */
static void test_long_run_stays_within_rate(void **state)
{
    (void)state;
    ingest g;
    ingest_init(&g, 3000, 0);
    uint64_t taken = 0;
    for (uint64_t now = 0; now <= 10000; now += 20) { /* the owner's 20 ms tick */
        (void)ingest_refill(&g, now);
        while (!g.throttled) { /* a flood: read while allowed, 7 per frame */
            (void)ingest_take(&g, 7, now);
            taken += 7;
        }
    }
    assert_true(taken <= 3000 * 10 + 300 + 7);
    assert_true(taken >= 3000 * 10 - 100);
    assert_true(ingest_throttled_ms(&g, 10000) > 0);
}

/* Throttled time counts the current throttle too. */
static void test_throttled_time_includes_current(void **state)
{
    (void)state;
    ingest g;
    ingest_init(&g, 10, 100);
    assert_true(ingest_take(&g, 5, 100)); /* burst 1: 4 of debt */
    assert_int_equal(ingest_throttled_ms(&g, 300), 200);
    assert_false(ingest_refill(&g, 300)); /* 2 tokens earned, 2 still owed */
    assert_true(ingest_refill(&g, 500));
    assert_int_equal(ingest_throttled_ms(&g, 900), 400);
}

/* A reload to rate 0 ends a throttle; a new rate keeps the totals and caps
 * the level at the new burst. */
static void test_set_rate_keeps_totals(void **state)
{
    (void)state;
    ingest g;
    ingest_init(&g, 1000, 0);
    assert_true(ingest_take(&g, 500, 0));
    assert_true(ingest_set_rate(&g, 0, 100));
    assert_false(g.throttled);
    assert_int_equal(ingest_throttled_ms(&g, 100), 100);
    assert_int_equal(g.msgs, 500);
    assert_false(ingest_set_rate(&g, 20, 200));
    assert_true(g.level <= 2.0);
    assert_int_equal(g.msgs, 500);
    assert_int_equal(ingest_throttled_ms(&g, 200), 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_zero_never_throttles),
        cmocka_unit_test(test_burst_then_one_throttle),
        cmocka_unit_test(test_resume_only_when_debt_is_paid),
        cmocka_unit_test(test_long_run_stays_within_rate),
        cmocka_unit_test(test_throttled_time_includes_current),
        cmocka_unit_test(test_set_rate_keeps_totals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
