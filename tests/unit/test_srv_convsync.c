/* test_srv_convsync.c — ordering, duplicates, holes, gaps and limits of
 * convsync, driven with recording ops (no I/O: convsync has none). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "convsync.h"
#include "kk_err.h"

#define REC_MAX 32
#define SEQ_MAX 16

typedef struct rec_append {
    char conv[64];
    bool notif;
    size_t n;
    uint64_t seqs[SEQ_MAX];
    char via[SEQ_MAX][32];
} rec_append;

typedef struct rec_range {
    char conv[64];
    uint64_t from, to;
    char extra[32]; /* via for pulls, reason for skips */
    bool notif;
} rec_range;

typedef struct rec {
    rec_append app[REC_MAX];
    size_t napp;
    rec_range pull[REC_MAX];
    size_t npull;
    rec_range skip[REC_MAX];
    size_t nskip;
    int append_rc; /* what append returns */
    int pull_rc;   /* what pull returns (< 0: the login is offline) */
} rec;

/* Records a batch and frees its messages (ownership moved here). */
static int
op_append(void *ud, const char *conv, bool notif, kk_msg **v, size_t n)
{
    rec *r = ud;
    assert_true(r->napp < REC_MAX);
    rec_append *a = &r->app[r->napp++];
    snprintf(a->conv, sizeof a->conv, "%s", conv);
    a->notif = notif;
    a->n = n;
    for (size_t i = 0; i < n; i++) {
        if (i < SEQ_MAX) {
            a->seqs[i] = v[i]->seq;
            snprintf(a->via[i], sizeof a->via[i], "%s", kk_msg_field(v[i], "via", NULL));
        }
        kk_msg_free(v[i]);
    }
    return r->append_rc;
}

/* Records a pull; refuses it (login offline) while r->pull_rc < 0. */
static int
op_pull(void *ud, const char *conv, uint64_t from, uint64_t to, const char *via)
{
    rec *r = ud;
    if (r->pull_rc < 0)
        return r->pull_rc;
    assert_true(r->npull < REC_MAX);
    rec_range *p = &r->pull[r->npull++];
    snprintf(p->conv, sizeof p->conv, "%s", conv);
    p->from = from;
    p->to = to;
    snprintf(p->extra, sizeof p->extra, "%s", via);
    return 0;
}

/* Records a skip. */
static int
op_skip(void *ud, const char *conv, bool notif, uint64_t from, uint64_t to, const char *reason)
{
    rec *r = ud;
    assert_true(r->nskip < REC_MAX);
    rec_range *p = &r->skip[r->nskip++];
    snprintf(p->conv, sizeof p->conv, "%s", conv);
    p->from = from;
    p->to = to;
    p->notif = notif;
    snprintf(p->extra, sizeof p->extra, "%s", reason);
    return 0;
}

static const csync_ops test_ops = { op_append, op_pull, op_skip };

/* Builds a message of conv with seq (status 4 when placeholder). */
static kk_msg *
mk(const char *conv, uint64_t seq, bool placeholder, const char *via)
{
    Kkim__MsgData md = KKIM__MSG_DATA__INIT;
    char cid[32];
    snprintf(cid, sizeof cid, "cm-%llu", (unsigned long long)seq);
    md.clientmsgid = cid;
    md.seq = (int64_t)seq;
    md.status = placeholder ? 4 : 2;
    kk_msg *m = kk_msg_new(&md, conv, conv[0] == 'n', via);
    assert_non_null(m);
    return m;
}

/* Offers a normal message of conv with seq received by via. */
static int
offer(csync *cs, const char *conv, uint64_t seq, const char *via, uint64_t now)
{
    return csync_offer(cs, mk(conv, seq, false, via), via, now);
}

/* Asserts that append record i holds exactly the seqs given. */
static void
assert_batch(const rec *r, size_t i, const char *conv, size_t n, const uint64_t *seqs)
{
    assert_true(i < r->napp);
    assert_string_equal(r->app[i].conv, conv);
    assert_int_equal(r->app[i].n, n);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(r->app[i].seqs[k], seqs[k]);
}

/* Creates a csync over r with default limits. */
static csync *
new_cs(rec *r, const csync_limits *lim)
{
    memset(r, 0, sizeof *r);
    csync *cs = csync_new(&test_ops, r, lim);
    assert_non_null(cs);
    return cs;
}

static void
in_order_messages_go_one_batch_in_flight_per_conversation(void **state)
{
    (void)state;
    rec r;
    csync *cs = new_cs(&r, NULL);
    assert_int_equal(csync_set_hw(cs, "si_a_b", 0, 0), 0);
    assert_int_equal(offer(cs, "si_a_b", 1, "a:7", 0), CSYNC_SENT);
    assert_int_equal(offer(cs, "si_a_b", 2, "a:7", 0), CSYNC_QUEUED);
    assert_int_equal(offer(cs, "si_a_b", 3, "a:7", 0), CSYNC_QUEUED);
    assert_int_equal(r.napp, 1);
    assert_batch(&r, 0, "si_a_b", 1, (uint64_t[]){ 1 });
    assert_int_equal(csync_buffered_bytes(cs) > 0, 1);
    csync_append_done(cs, "si_a_b", 0, 1, 1);
    assert_int_equal(r.napp, 2);
    assert_batch(&r, 1, "si_a_b", 2, (uint64_t[]){ 2, 3 });
    assert_int_equal(csync_buffered_bytes(cs), 0);
    csync_append_done(cs, "si_a_b", 0, 3, 2);
    uint64_t hw = 0;
    assert_true(csync_get_hw(cs, "si_a_b", &hw));
    assert_int_equal(hw, 3);
    csync_stats st;
    csync_get_stats(cs, &st);
    assert_int_equal(st.offered, 3);
    assert_int_equal(st.handed, 3);
    assert_int_equal(st.appended, 3);
    assert_int_equal(st.batches, 2);
    assert_int_equal(st.dups, 0);
    assert_int_equal(st.holes, 0);
    assert_int_equal(st.conversations, 1);
    csync_tick(cs, 10000);
    assert_int_equal(r.npull, 0);
    csync_free(cs);
}

static void
duplicates_at_or_below_the_tail_are_dropped(void **state)
{
    (void)state;
    rec r;
    csync *cs = new_cs(&r, NULL);
    csync_set_hw(cs, "sg_g", 3, 0);
    assert_int_equal(offer(cs, "sg_g", 2, "a:7", 0), CSYNC_DUP); /* below hw */
    assert_int_equal(offer(cs, "sg_g", 3, "a:7", 0), CSYNC_DUP); /* at hw */
    assert_int_equal(offer(cs, "sg_g", 4, "a:7", 0), CSYNC_SENT);
    assert_int_equal(offer(cs, "sg_g", 4, "b:7", 0), CSYNC_DUP); /* in flight */
    assert_int_equal(offer(cs, "sg_g", 6, "a:7", 0), CSYNC_BUFFERED);
    assert_int_equal(offer(cs, "sg_g", 6, "b:7", 0), CSYNC_DUP); /* already waiting */
    csync_stats st;
    csync_get_stats(cs, &st);
    assert_int_equal(st.dups, 4);
    assert_int_equal(st.offered, 6);
    assert_int_equal(r.napp, 1);
    csync_free(cs); /* frees the waiting seq 6: ASan checks it */
}

static void
reordered_messages_are_appended_in_seq_order_without_a_pull(void **state)
{
    (void)state;
    rec r;
    csync *cs = new_cs(&r, NULL);
    csync_set_hw(cs, "si_a_b", 0, 0);
    assert_int_equal(offer(cs, "si_a_b", 3, "a:7", 0), CSYNC_BUFFERED);
    assert_int_equal(offer(cs, "si_a_b", 2, "a:7", 5), CSYNC_BUFFERED);
    assert_int_equal(r.napp, 0);
    assert_int_equal(offer(cs, "si_a_b", 1, "a:7", 10), CSYNC_SENT);
    assert_batch(&r, 0, "si_a_b", 3, (uint64_t[]){ 1, 2, 3 });
    csync_tick(cs, 100); /* past the debounce: the hole is already filled */
    assert_int_equal(r.npull, 0);
    csync_stats st;
    csync_get_stats(cs, &st);
    assert_int_equal(st.holes, 1);
    assert_int_equal(st.holes_filled, 1);
    assert_int_equal(st.holes_pulled, 0);
    csync_free(cs);
}

static void
hole_is_pulled_after_the_debounce_and_filled_by_the_pull(void **state)
{
    (void)state;
    rec r;
    csync *cs = new_cs(&r, NULL);
    csync_set_hw(cs, "sg_g", 5, 0);
    assert_int_equal(offer(cs, "sg_g", 8, "bob:7", 1000), CSYNC_BUFFERED);
    assert_int_equal(csync_next_due(cs), 1050);
    csync_tick(cs, 1049);
    assert_int_equal(r.npull, 0);
    csync_tick(cs, 1050);
    assert_int_equal(r.npull, 1);
    assert_string_equal(r.pull[0].conv, "sg_g");
    assert_int_equal(r.pull[0].from, 6);
    assert_int_equal(r.pull[0].to, 7);
    assert_string_equal(r.pull[0].extra, "bob:7");
    /* The pull's answer arrives. */
    assert_int_equal(offer(cs, "sg_g", 6, "bob:7", 1100), CSYNC_SENT);
    assert_int_equal(offer(cs, "sg_g", 7, "bob:7", 1100), CSYNC_QUEUED);
    csync_append_done(cs, "sg_g", 0, 6, 1101);
    assert_batch(&r, 1, "sg_g", 2, (uint64_t[]){ 7, 8 });
    csync_append_done(cs, "sg_g", 0, 8, 1102);
    assert_int_equal(csync_next_due(cs), UINT64_MAX);
    csync_tick(cs, 99999);
    assert_int_equal(r.npull, 1);
    assert_int_equal(r.nskip, 0);
    csync_stats st;
    csync_get_stats(cs, &st);
    assert_int_equal(st.holes, 1);
    assert_int_equal(st.holes_pulled, 1);
    assert_int_equal(st.holes_filled, 1);
    assert_int_equal(st.appended, 3);
    csync_free(cs);
}

/* A pull the login cannot send (offline) uses no try: the hole waits for
 * the login instead of being stepped over as a gap. */
static void
hole_is_not_skipped_while_its_login_cannot_pull(void **state)
{
    (void)state;
    rec r;
    csync *cs = new_cs(&r, NULL);
    csync_set_hw(cs, "si_a_b", 5, 0);
    r.pull_rc = -3;
    assert_int_equal(offer(cs, "si_a_b", 8, "a:7", 0), CSYNC_BUFFERED);
    for (uint64_t t = 50; t < 20000; t += 1000)
        csync_tick(cs, t);
    assert_int_equal(r.npull, 0);
    assert_int_equal(r.nskip, 0);
    csync_stats st;
    csync_get_stats(cs, &st);
    assert_true(st.pulls_unsent >= 10);
    r.pull_rc = 0; /* the login is back */
    csync_tick(cs, 21000);
    assert_int_equal(r.npull, 1);
    assert_int_equal(r.pull[0].from, 6);
    assert_int_equal(r.pull[0].to, 7);
    assert_int_equal(offer(cs, "si_a_b", 6, "a:7", 21010), CSYNC_SENT);
    assert_int_equal(r.nskip, 0);
    csync_free(cs);
}

static void
hole_is_skipped_as_a_gap_after_the_pull_tries(void **state)
{
    (void)state;
    rec r;
    csync *cs = new_cs(&r, NULL);
    csync_set_hw(cs, "n_sys", 5, 0);
    assert_int_equal(offer(cs, "n_sys", 8, "a:7", 0), CSYNC_BUFFERED);
    csync_tick(cs, 50);
    csync_tick(cs, 500); /* not due yet */
    csync_tick(cs, 1050);
    csync_tick(cs, 2050);
    assert_int_equal(r.npull, 3);
    assert_int_equal(r.nskip, 0);
    csync_tick(cs, 3050);
    assert_int_equal(r.npull, 3);
    assert_int_equal(r.nskip, 1);
    assert_string_equal(r.skip[0].conv, "n_sys");
    assert_true(r.skip[0].notif);
    assert_int_equal(r.skip[0].from, 6);
    assert_int_equal(r.skip[0].to, 7);
    assert_string_equal(r.skip[0].extra, "missing");
    /* A late arrival of a skipped seq while the skip is in flight is a dup. */
    assert_int_equal(offer(cs, "n_sys", 7, "a:7", 3060), CSYNC_DUP);
    csync_skip_done(cs, "n_sys", 0, 7, 3100);
    assert_int_equal(r.napp, 1);
    assert_batch(&r, 0, "n_sys", 1, (uint64_t[]){ 8 });
    assert_true(r.app[0].notif);
    csync_append_done(cs, "n_sys", 0, 8, 3101);
    csync_stats st;
    csync_get_stats(cs, &st);
    assert_int_equal(st.gaps, 1);
    assert_int_equal(st.gap_seqs, 2);
    assert_int_equal(st.holes_filled, 0);
    assert_int_equal(st.appended, 1);
    assert_int_equal(csync_next_due(cs), UINT64_MAX);
    csync_free(cs);
}

static void
two_logins_feeding_one_conversation_deliver_each_seq_once(void **state)
{
    (void)state;
    rec r;
    csync *cs = new_cs(&r, NULL);
    csync_set_hw(cs, "sg_team", 0, 0);
    assert_int_equal(offer(cs, "sg_team", 1, "alice:7", 0), CSYNC_SENT);
    assert_int_equal(offer(cs, "sg_team", 1, "bob:7", 0), CSYNC_DUP);
    assert_int_equal(offer(cs, "sg_team", 2, "bob:7", 0), CSYNC_QUEUED);
    assert_int_equal(offer(cs, "sg_team", 2, "alice:7", 0), CSYNC_DUP);
    assert_int_equal(offer(cs, "sg_team", 4, "alice:7", 0), CSYNC_BUFFERED);
    assert_int_equal(offer(cs, "sg_team", 4, "bob:7", 0), CSYNC_DUP);
    csync_append_done(cs, "sg_team", 0, 1, 1);
    assert_batch(&r, 1, "sg_team", 1, (uint64_t[]){ 2 });
    /* via records the login that received each message first. */
    assert_string_equal(r.app[0].via[0], "alice:7");
    assert_string_equal(r.app[1].via[0], "bob:7");
    csync_tick(cs, 50);
    assert_int_equal(r.npull, 1);
    assert_int_equal(r.pull[0].from, 3);
    assert_int_equal(r.pull[0].to, 3);
    assert_string_equal(r.pull[0].extra, "bob:7"); /* the latest login offering */
    csync_stats st;
    csync_get_stats(cs, &st);
    assert_int_equal(st.dups, 3);
    csync_free(cs);
}

static void
buffer_limit_drops_ahead_messages_and_pulls_them_later(void **state)
{
    (void)state;
    rec r;
    csync_limits lim;
    csync_limits_default(&lim);
    lim.max_buffered_per_conv = 2;
    csync *cs = new_cs(&r, &lim);
    csync_set_hw(cs, "si_a_b", 0, 0);
    assert_int_equal(offer(cs, "si_a_b", 1, "a:7", 0), CSYNC_SENT);
    assert_int_equal(offer(cs, "si_a_b", 3, "a:7", 0), CSYNC_BUFFERED);
    assert_int_equal(offer(cs, "si_a_b", 4, "a:7", 0), CSYNC_BUFFERED);
    size_t held = csync_buffered_bytes(cs);
    assert_int_equal(offer(cs, "si_a_b", 5, "a:7", 0), CSYNC_DROPPED);
    assert_int_equal(csync_buffered_bytes(cs), held);
    /* The next seq is always let in, even over the limit. */
    assert_int_equal(offer(cs, "si_a_b", 2, "a:7", 0), CSYNC_QUEUED);
    csync_append_done(cs, "si_a_b", 0, 1, 10);
    assert_batch(&r, 1, "si_a_b", 3, (uint64_t[]){ 2, 3, 4 });
    csync_append_done(cs, "si_a_b", 0, 4, 20);
    /* seq 5 was dropped but remembered: it is a hole to pull. */
    csync_tick(cs, 70);
    assert_int_equal(r.npull, 1);
    assert_int_equal(r.pull[0].from, 5);
    assert_int_equal(r.pull[0].to, 5);
    csync_stats st;
    csync_get_stats(cs, &st);
    assert_int_equal(st.overflow, 1);
    assert_int_equal(st.buffered_msgs, 0);
    assert_int_equal(csync_buffered_bytes(cs), 0);
    csync_free(cs);
}

static void
byte_limit_counts_every_conversation(void **state)
{
    (void)state;
    rec r;
    kk_msg *probe = mk("si_a_b", 3, false, "a:7");
    size_t one = probe->bytes;
    kk_msg_free(probe);
    csync_limits lim;
    csync_limits_default(&lim);
    lim.max_buffered_bytes = one + one / 2; /* room for one message */
    csync *cs = new_cs(&r, &lim);
    csync_set_hw(cs, "si_a_b", 0, 0);
    csync_set_hw(cs, "si_a_c", 0, 0);
    assert_int_equal(offer(cs, "si_a_b", 3, "a:7", 0), CSYNC_BUFFERED);
    assert_int_equal(csync_buffered_bytes(cs), one);
    assert_int_equal(offer(cs, "si_a_c", 3, "a:7", 0), CSYNC_DROPPED);
    csync_free(cs);
}

static void
placeholder_run_becomes_one_skip(void **state)
{
    (void)state;
    rec r;
    csync *cs = new_cs(&r, NULL);
    csync_set_hw(cs, "si_a_b", 0, 0);
    assert_int_equal(offer(cs, "si_a_b", 1, "a:7", 0), CSYNC_SENT);
    assert_int_equal(csync_offer(cs, mk("si_a_b", 2, true, "a:7"), "a:7", 0), CSYNC_QUEUED);
    assert_int_equal(csync_offer(cs, mk("si_a_b", 3, true, "a:7"), "a:7", 0), CSYNC_QUEUED);
    assert_int_equal(offer(cs, "si_a_b", 4, "a:7", 0), CSYNC_QUEUED);
    csync_append_done(cs, "si_a_b", 0, 1, 1);
    assert_int_equal(r.napp, 1);
    assert_int_equal(r.nskip, 1);
    assert_int_equal(r.skip[0].from, 2);
    assert_int_equal(r.skip[0].to, 3);
    assert_string_equal(r.skip[0].extra, "placeholder");
    csync_skip_done(cs, "si_a_b", 0, 3, 2);
    assert_batch(&r, 1, "si_a_b", 1, (uint64_t[]){ 4 });
    csync_stats st;
    csync_get_stats(cs, &st);
    assert_int_equal(st.placeholders, 2);
    assert_int_equal(st.gap_seqs, 2);
    assert_int_equal(st.gaps, 0);
    csync_free(cs);
}

static void
redis_gap_in_reply_pulls_the_unappended_seqs_again(void **state)
{
    (void)state;
    rec r;
    csync *cs = new_cs(&r, NULL);
    /* No hw known: the first message goes out as is. */
    assert_int_equal(offer(cs, "si_a_b", 10, "a:7", 0), CSYNC_SENT);
    uint64_t hw = 0;
    assert_false(csync_get_hw(cs, "si_a_b", &hw));
    /* Redis had hw 7: 10 was not appended. */
    csync_append_done(cs, "si_a_b", 0, 7, 5);
    assert_true(csync_get_hw(cs, "si_a_b", &hw));
    assert_int_equal(hw, 7);
    csync_tick(cs, 55);
    assert_int_equal(r.npull, 1);
    assert_int_equal(r.pull[0].from, 8);
    assert_int_equal(r.pull[0].to, 10);
    csync_stats st;
    csync_get_stats(cs, &st);
    assert_int_equal(st.unappended, 1);
    assert_int_equal(st.appended, 0);
    csync_free(cs);
}

static void
unknown_hw_accepts_an_older_message_until_redis_answers(void **state)
{
    (void)state;
    rec r;
    csync *cs = new_cs(&r, NULL);
    assert_int_equal(offer(cs, "si_a_b", 10, "a:7", 0), CSYNC_SENT);
    assert_int_equal(offer(cs, "si_a_b", 9, "a:7", 0), CSYNC_BUFFERED);
    assert_int_equal(offer(cs, "si_a_b", 10, "a:7", 0), CSYNC_DUP);
    /* Redis started the conversation at 10 (no hw field): 9 is old. */
    csync_append_done(cs, "si_a_b", 0, 10, 1);
    assert_int_equal(r.napp, 1);
    csync_stats st;
    csync_get_stats(cs, &st);
    assert_int_equal(st.dups, 2);
    assert_int_equal(st.buffered_msgs, 0);
    csync_free(cs);
}

static void
append_failure_repulls_after_the_retry_interval(void **state)
{
    (void)state;
    rec r;
    csync *cs = new_cs(&r, NULL);
    csync_set_hw(cs, "si_a_b", 0, 0);
    assert_int_equal(offer(cs, "si_a_b", 1, "a:7", 0), CSYNC_SENT);
    csync_append_done(cs, "si_a_b", KK_EIO, 0, 100);
    csync_tick(cs, 1099);
    assert_int_equal(r.npull, 0);
    csync_tick(cs, 1100);
    assert_int_equal(r.npull, 1);
    assert_int_equal(r.pull[0].from, 1);
    assert_int_equal(r.pull[0].to, 1);
    assert_int_equal(offer(cs, "si_a_b", 1, "a:7", 1200), CSYNC_SENT);
    /* A synchronous failure from ops->append is handled the same way. */
    r.append_rc = KK_EIO;
    csync_append_done(cs, "si_a_b", 0, 1, 1300);
    assert_int_equal(offer(cs, "si_a_b", 2, "a:7", 1400), CSYNC_SENT);
    csync_stats st;
    csync_get_stats(cs, &st);
    assert_int_equal(st.append_errors, 2);
    assert_int_equal(csync_next_due(cs), 2400);
    csync_free(cs);
}

static void
redis_hw_ahead_drops_waiting_duplicates(void **state)
{
    (void)state;
    rec r;
    csync *cs = new_cs(&r, NULL);
    csync_set_hw(cs, "sg_g", 0, 0);
    assert_int_equal(offer(cs, "sg_g", 1, "a:7", 0), CSYNC_SENT);
    assert_int_equal(offer(cs, "sg_g", 2, "a:7", 0), CSYNC_QUEUED);
    assert_int_equal(offer(cs, "sg_g", 3, "a:7", 0), CSYNC_QUEUED);
    /* Another instance appended 2 meanwhile. */
    csync_append_done(cs, "sg_g", 0, 2, 1);
    assert_batch(&r, 1, "sg_g", 1, (uint64_t[]){ 3 });
    csync_stats st;
    csync_get_stats(cs, &st);
    assert_int_equal(st.dups, 1);
    csync_free(cs);
}

static void
set_hw_releases_waiting_messages_and_never_lowers(void **state)
{
    (void)state;
    rec r;
    csync *cs = new_cs(&r, NULL);
    csync_set_hw(cs, "sg_g", 0, 0);
    assert_int_equal(offer(cs, "sg_g", 3, "a:7", 0), CSYNC_BUFFERED);
    assert_int_equal(offer(cs, "sg_g", 4, "a:7", 0), CSYNC_BUFFERED);
    assert_int_equal(csync_set_hw(cs, "sg_g", 3, 1), 0);
    assert_batch(&r, 0, "sg_g", 1, (uint64_t[]){ 4 });
    csync_append_done(cs, "sg_g", 0, 4, 2);
    assert_int_equal(csync_set_hw(cs, "sg_g", 2, 3), 0);
    uint64_t hw = 0;
    assert_true(csync_get_hw(cs, "sg_g", &hw));
    assert_int_equal(hw, 4);
    assert_int_equal(csync_next_due(cs), UINT64_MAX);
    csync_free(cs);
}

static void
batches_respect_max_batch_and_pull_pages(void **state)
{
    (void)state;
    rec r;
    csync_limits lim;
    csync_limits_default(&lim);
    lim.max_batch = 2;
    csync *cs = new_cs(&r, &lim);
    csync_set_hw(cs, "sg_g", 0, 0);
    for (uint64_t s = 5; s >= 1; s--)
        offer(cs, "sg_g", s, "a:7", 0);
    assert_batch(&r, 0, "sg_g", 2, (uint64_t[]){ 1, 2 });
    csync_append_done(cs, "sg_g", 0, 2, 1);
    assert_batch(&r, 1, "sg_g", 2, (uint64_t[]){ 3, 4 });
    csync_append_done(cs, "sg_g", 0, 4, 2);
    assert_batch(&r, 2, "sg_g", 1, (uint64_t[]){ 5 });
    /* A hole wider than a gateway page is pulled one page at a time. */
    offer(cs, "sg_g", 300, "a:7", 3);
    csync_append_done(cs, "sg_g", 0, 5, 4);
    csync_tick(cs, 60);
    assert_int_equal(r.npull, 1);
    assert_int_equal(r.pull[0].from, 6);
    assert_int_equal(r.pull[0].to, 105);
    csync_free(cs);
}

static void
seq0_messages_bypass_ordering(void **state)
{
    (void)state;
    rec r;
    csync *cs = new_cs(&r, NULL);
    assert_int_equal(offer(cs, "si_a_b", 0, "a:7", 0), CSYNC_SENT);
    assert_int_equal(offer(cs, "si_a_b", 0, "a:7", 0), CSYNC_SENT);
    assert_int_equal(r.napp, 2);
    assert_batch(&r, 1, "si_a_b", 1, (uint64_t[]){ 0 });
    csync_stats st;
    csync_get_stats(cs, &st);
    assert_int_equal(st.seq0, 2);
    assert_int_equal(st.conversations, 0);
    /* A completion for an untracked conversation is ignored. */
    csync_append_done(cs, "si_a_b", 0, 0, 1);
    assert_int_equal(csync_offer(cs, NULL, "a:7", 0), KK_EINVAL);
    csync_free(cs);
}

static void
new_rejects_missing_ops(void **state)
{
    (void)state;
    csync_ops ops = test_ops;
    ops.skip = NULL;
    assert_null(csync_new(&ops, NULL, NULL));
    assert_null(csync_new(NULL, NULL, NULL));
    csync_free(NULL);
}

static void
many_conversations_grow_the_table(void **state)
{
    (void)state;
    rec r;
    csync *cs = new_cs(&r, NULL);
    char conv[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(conv, sizeof conv, "si_u%d_v", i);
        assert_int_equal(csync_set_hw(cs, conv, (uint64_t)i, 0), 0);
    }
    for (int i = 0; i < 1000; i++) {
        uint64_t hw = 0;
        snprintf(conv, sizeof conv, "si_u%d_v", i);
        assert_true(csync_get_hw(cs, conv, &hw));
        assert_int_equal(hw, (uint64_t)i);
    }
    csync_stats st;
    csync_get_stats(cs, &st);
    assert_int_equal(st.conversations, 1000);
    csync_free(cs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(in_order_messages_go_one_batch_in_flight_per_conversation),
        cmocka_unit_test(hole_is_not_skipped_while_its_login_cannot_pull),
        cmocka_unit_test(duplicates_at_or_below_the_tail_are_dropped),
        cmocka_unit_test(reordered_messages_are_appended_in_seq_order_without_a_pull),
        cmocka_unit_test(hole_is_pulled_after_the_debounce_and_filled_by_the_pull),
        cmocka_unit_test(hole_is_skipped_as_a_gap_after_the_pull_tries),
        cmocka_unit_test(two_logins_feeding_one_conversation_deliver_each_seq_once),
        cmocka_unit_test(buffer_limit_drops_ahead_messages_and_pulls_them_later),
        cmocka_unit_test(byte_limit_counts_every_conversation),
        cmocka_unit_test(placeholder_run_becomes_one_skip),
        cmocka_unit_test(redis_gap_in_reply_pulls_the_unappended_seqs_again),
        cmocka_unit_test(unknown_hw_accepts_an_older_message_until_redis_answers),
        cmocka_unit_test(append_failure_repulls_after_the_retry_interval),
        cmocka_unit_test(redis_hw_ahead_drops_waiting_duplicates),
        cmocka_unit_test(set_hw_releases_waiting_messages_and_never_lowers),
        cmocka_unit_test(batches_respect_max_batch_and_pull_pages),
        cmocka_unit_test(seq0_messages_bypass_ordering),
        cmocka_unit_test(new_rejects_missing_ops),
        cmocka_unit_test(many_conversations_grow_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
