/* test_media_jb.c — the jitter buffer: reordering, giving up a loss after
 * its wait, NACK scheduling, RTX recovery counts, wrap-around, duplicates,
 * late packets and sequence resets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "media_int.h"

/* Puts a one-byte packet whose content is its seq's low byte. */
static int put(mjb *j, uint16_t seq, uint32_t now, bool rtx)
{
    uint8_t b = (uint8_t)seq;
    return mjb_put(j, seq, &b, 1, now, rtx);
}

/* Pops and returns the seq, -1 for "given up", -2 for nothing ready. */
static int pop(mjb *j, uint32_t now)
{
    uint8_t out[MJB_MAX_PKT];
    uint16_t seq;
    int n = mjb_pop(j, now, out, &seq);
    if (n == 0)
        return -2;
    if (n < 0)
        return -1;
    assert_int_equal(n, 1);
    assert_int_equal(out[0], (uint8_t)seq);
    return seq;
}

static void jb_puts_reordered_packets_back_in_order(void **st)
{
    (void)st;
    mjb j;
    mjb_init(&j, 100);
    assert_int_equal(put(&j, 10, 0, false), 1);
    assert_int_equal(pop(&j, 0), 10);
    assert_int_equal(put(&j, 12, 1, false), 1);
    assert_int_equal(pop(&j, 1), -2); /* 11 missing, still waiting */
    assert_int_equal(put(&j, 11, 2, false), 1);
    assert_int_equal(pop(&j, 2), 11);
    assert_int_equal(pop(&j, 2), 12);
    assert_int_equal(pop(&j, 2), -2);
    assert_int_equal(j.received, 3);
    assert_int_equal(j.lost, 0);
    mjb_close(&j);
}

static void jb_gives_a_missing_packet_up_after_its_wait(void **st)
{
    (void)st;
    mjb j;
    mjb_init(&j, 100);
    put(&j, 1, 1000, false);
    assert_int_equal(pop(&j, 1000), 1);
    put(&j, 3, 1010, false);
    assert_int_equal(pop(&j, 1109), -2); /* 99 ms after 2 went missing */
    assert_int_equal(pop(&j, 1110), -1); /* 100 ms: given up */
    assert_int_equal(pop(&j, 1110), 3);
    assert_int_equal(j.lost, 1);
    mjb_close(&j);
}

static void jb_nacks_each_missing_packet_three_times_spaced_by_rtt(void **st)
{
    (void)st;
    mjb j;
    mjb_init(&j, 1000);
    put(&j, 100, 0, false);
    put(&j, 104, 5, false); /* 101..103 missing */
    uint16_t s[8];
    assert_int_equal(mjb_nacks(&j, 5, 40, s, 8), 3);
    assert_int_equal(s[0], 101);
    assert_int_equal(s[2], 103);
    assert_int_equal(mjb_nacks(&j, 30, 40, s, 8), 0); /* within one rtt */
    assert_int_equal(put(&j, 102, 31, true), 1);      /* repaired by RTX */
    assert_int_equal(mjb_nacks(&j, 45, 40, s, 8), 2);
    assert_int_equal(s[0], 101);
    assert_int_equal(s[1], 103);
    assert_int_equal(mjb_nacks(&j, 85, 40, s, 8), 2);
    assert_int_equal(mjb_nacks(&j, 125, 40, s, 8), 0); /* three NACKs each: done */
    assert_int_equal(j.recovered, 1);
    mjb_close(&j);
}

static void jb_follows_sequence_wraparound(void **st)
{
    (void)st;
    mjb j;
    mjb_init(&j, 100);
    put(&j, 65534, 0, false);
    put(&j, 65535, 0, false);
    put(&j, 1, 0, false);
    put(&j, 0, 0, false);
    assert_int_equal(pop(&j, 0), 65534);
    assert_int_equal(pop(&j, 0), 65535);
    assert_int_equal(pop(&j, 0), 0);
    assert_int_equal(pop(&j, 0), 1);
    assert_int_equal(j.lost, 0);
    mjb_close(&j);
}

static void jb_drops_duplicates_and_late_packets(void **st)
{
    (void)st;
    mjb j;
    mjb_init(&j, 100);
    put(&j, 5, 0, false);
    put(&j, 6, 0, false);
    assert_int_equal(put(&j, 6, 0, false), 0); /* duplicate */
    assert_int_equal(pop(&j, 0), 5);
    assert_int_equal(put(&j, 5, 0, false), 0); /* late: already emitted */
    assert_int_equal(j.late, 1);
    assert_int_equal(j.received, 2);
    uint8_t big[MJB_MAX_PKT + 1] = {0};
    assert_int_equal(mjb_put(&j, 7, big, sizeof(big), 0, false), KK_ETOOBIG);
    mjb_close(&j);
}

static void jb_treats_a_huge_jump_as_a_reset_not_as_loss(void **st)
{
    (void)st;
    mjb j;
    mjb_init(&j, 100);
    put(&j, 10, 0, false);
    assert_int_equal(pop(&j, 0), 10);
    put(&j, 30000, 1, false);
    assert_int_equal(pop(&j, 1), 30000);
    assert_int_equal(j.gaps, 1);
    assert_int_equal(j.lost, 0);
    /* a jump within the window but past its size gives the oldest up */
    put(&j, 30000 + MJB_SLOTS + 5, 2, false);
    assert_int_equal(j.lost, 5);
    mjb_close(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jb_puts_reordered_packets_back_in_order),
        cmocka_unit_test(jb_gives_a_missing_packet_up_after_its_wait),
        cmocka_unit_test(jb_nacks_each_missing_packet_three_times_spaced_by_rtt),
        cmocka_unit_test(jb_follows_sequence_wraparound),
        cmocka_unit_test(jb_drops_duplicates_and_late_packets),
        cmocka_unit_test(jb_treats_a_huge_jump_as_a_reset_not_as_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
