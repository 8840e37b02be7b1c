/* test_media_call.c — the media pool and a call's endings that need no
 * peer: malformed offers, offers without a recordable codec, a flood of
 * candidates, ICE never connecting, an ended call before media, pool
 * shutdown; plus the recorder and sidecar on their own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <libavformat/avformat.h>

#include "media.h"
#include "media_rec.h"

#define OFFER_PATH KK_TESTDATA "/../media/data/chrome_offer.sdp"

/* What the callbacks saw (they run on the media thread). */
typedef struct seen {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *answer;
    int ncands, nend_of_cands, nfinished, nstates;
    media_end_reason reason;
    bool failed, had_file, bad_mid;
} seen;

static void on_answer(void *ud, const char *sdp)
{
    seen *s = ud;
    pthread_mutex_lock(&s->mu);
    s->answer = strdup(sdp);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void on_candidate(void *ud, const char *c, const char *mid)
{
    seen *s = ud;
    pthread_mutex_lock(&s->mu); /* no cmocka asserts here: this is the media thread */
    s->bad_mid |= strcmp(mid, "0") != 0;
    if (c)
        s->ncands++;
    else
        s->nend_of_cands++;
    pthread_mutex_unlock(&s->mu);
}

static void on_state(void *ud, media_call_state st)
{
    seen *s = ud;
    (void)st;
    pthread_mutex_lock(&s->mu);
    s->nstates++;
    pthread_mutex_unlock(&s->mu);
}

static void on_finished(void *ud, const media_call_result *r)
{
    seen *s = ud;
    pthread_mutex_lock(&s->mu);
    s->nfinished++;
    s->reason = r->reason;
    s->failed = r->failed;
    s->had_file = r->file != NULL;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Waits (≤ 10 s) for on_finished. */
static void wait_finished(seen *s)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&s->mu);
    while (s->nfinished == 0)
        if (pthread_cond_timedwait(&s->cv, &s->mu, &dl) != 0)
            break;
    pthread_mutex_unlock(&s->mu);
    assert_int_equal(s->nfinished, 1);
}

/* Waits (≤ 10 s) for the answer. */
static void wait_answer(seen *s)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&s->mu);
    while (!s->answer && s->nfinished == 0)
        if (pthread_cond_timedwait(&s->cv, &s->mu, &dl) != 0)
            break;
    pthread_mutex_unlock(&s->mu);
    assert_non_null(s->answer);
}

static char g_dir[] = "/tmp/kkmedia-test-XXXXXX";

/* Starts a pool recording into the temp dir. */
static media_pool *pool_start(int connect_timeout_ms)
{
    media_cfg cfg = {.threads = 2, .add_loopback = true, .recordings = g_dir,
                     .connect_timeout_ms = connect_timeout_ms};
    media_pool *p = NULL;
    assert_int_equal(media_pool_new(&cfg, &p), 0);
    return p;
}

static char *read_offer(void)
{
    FILE *f = fopen(OFFER_PATH, "rb");
    assert_non_null(f);
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Runs one call with the given offer; returns with on_finished seen. */
static void run_call(media_pool *p, const char *offer, seen *s, media_call **out)
{
    media_call_cfg cc = {.offer_sdp = offer, .tenant = "t", .room_id = "r", .caller = "a",
                         .callee = "b"};
    media_call_cbs cb = {.ud = s, .on_answer = on_answer, .on_candidate = on_candidate,
                         .on_state = on_state, .on_finished = on_finished};
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    assert_int_equal(media_call_new(p, &cc, &cb, out), 0);
}

static void call_with_malformed_offer_fails_with_bad_offer(void **st)
{
    (void)st;
    media_pool *p = pool_start(0);
    seen s = {0};
    media_call *c;
    run_call(p, "v=0\r\nm=audio 9 RTP/SAVPF 111\r\nthis is not sdp\r\n", &s, &c);
    wait_finished(&s);
    assert_int_equal(s.reason, MEDIA_END_BAD_OFFER);
    assert_true(s.failed);
    assert_false(s.had_file);
    assert_null(s.answer);
    assert_int_equal(s.nstates, 0);
    media_call_end(c, MEDIA_END_HANGUP); /* after the end: ignored */
    media_call_release(c);
    media_pool_free(p);
    assert_int_equal(s.nfinished, 1);
}

static void call_without_recordable_codec_fails_with_no_codec(void **st)
{
    (void)st;
    media_pool *p = pool_start(0);
    seen s = {0};
    media_call *c;
    run_call(p,
             "v=0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n"
             "a=fingerprint:sha-256 AA:BB\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n"
             "a=rtcp-mux\r\na=rtpmap:0 PCMU/8000\r\n",
             &s, &c);
    wait_finished(&s);
    assert_int_equal(s.reason, MEDIA_END_NO_CODEC);
    assert_true(s.failed);
    media_call_release(c);
    media_pool_free(p);
}

static void call_rejects_oversize_offer_without_callbacks(void **st)
{
    (void)st;
    media_pool *p = pool_start(0);
    char *big = malloc(MEDIA_MAX_SDP_LEN + 2);
    memset(big, 'v', MEDIA_MAX_SDP_LEN + 1);
    big[MEDIA_MAX_SDP_LEN + 1] = '\0';
    media_call_cfg cc = {.offer_sdp = big};
    media_call_cbs cb = {.on_finished = on_finished};
    media_call *c = NULL;
    assert_int_equal(media_call_new(p, &cc, &cb, &c), KK_ETOOBIG);
    assert_null(c);
    free(big);
    media_pool_free(p);
}

static void call_answers_chromium_offer_then_hangup_leaves_no_file(void **st)
{
    (void)st;
    media_pool *p = pool_start(0);
    char *offer = read_offer();
    seen s = {0};
    media_call *c;
    run_call(p, offer, &s, &c);
    wait_answer(&s);
    assert_non_null(strstr(s.answer, media_pool_fingerprint(p)));
    assert_non_null(strstr(s.answer, "a=setup:active\r\n"));
    assert_non_null(strstr(s.answer, " 127.0.0.1 "));
    media_call_end(c, MEDIA_END_HANGUP);
    wait_finished(&s);
    assert_int_equal(s.reason, MEDIA_END_HANGUP);
    assert_false(s.failed);
    assert_false(s.had_file); /* no media ever arrived */
    assert_true(s.ncands >= 1);
    assert_int_equal(s.nend_of_cands, 1);
    assert_false(s.bad_mid);
    media_call_release(c);
    media_pool_free(p);
    free(s.answer);
    free(offer);
}

static void call_cancelled_before_answer_ends_with_cancel(void **st)
{
    (void)st;
    media_pool *p = pool_start(0);
    char *offer = read_offer();
    seen s = {0};
    media_call *c;
    run_call(p, offer, &s, &c);
    media_call_end(c, MEDIA_END_CANCEL);
    media_call_end(c, MEDIA_END_REJECT); /* a second end is ignored */
    wait_finished(&s);
    assert_int_equal(s.reason, MEDIA_END_CANCEL);
    assert_false(s.failed);
    assert_false(s.had_file);
    media_call_release(c);
    media_pool_free(p);
    assert_int_equal(s.nfinished, 1);
    free(s.answer);
    free(offer);
}

static void call_fails_on_a_flood_of_candidates(void **st)
{
    (void)st;
    media_pool *p = pool_start(0);
    char *offer = read_offer();
    seen s = {0};
    media_call *c;
    run_call(p, offer, &s, &c);
    for (int i = 0; i < MEDIA_MAX_REMOTE_CANDIDATES + 1; i++) {
        char cand[128];
        snprintf(cand, sizeof(cand), "candidate:%d 1 udp 2122260223 192.0.2.%d %d typ host", i,
                 1 + i % 250, 10000 + i);
        media_call_add_remote_candidate(c, cand);
    }
    wait_finished(&s);
    assert_int_equal(s.reason, MEDIA_END_CANDIDATE_FLOOD);
    assert_true(s.failed);
    media_call_release(c);
    media_pool_free(p);
    free(s.answer);
    free(offer);
}

static void call_fails_when_ice_never_connects(void **st)
{
    (void)st;
    media_pool *p = pool_start(500);
    char *offer = read_offer();
    seen s = {0};
    media_call *c;
    run_call(p, offer, &s, &c);
    /* garbage candidates are skipped, not fatal */
    media_call_add_remote_candidate(c, "candidate:garbage");
    media_call_add_remote_candidate(c, "a=candidate:1 1 tcp 1 127.0.0.1 9 typ host tcptype active");
    media_call_add_remote_candidate(c, "");
    wait_finished(&s);
    assert_int_equal(s.reason, MEDIA_END_ICE_FAILED);
    assert_true(s.failed);
    media_call_release(c);
    media_pool_free(p);
    free(s.answer);
    free(offer);
}

static void pool_shutdown_ends_live_calls_with_shutdown(void **st)
{
    (void)st;
    media_pool *p = pool_start(0);
    char *offer = read_offer();
    seen s[3];
    memset(s, 0, sizeof(s));
    media_call *c[3];
    for (int i = 0; i < 3; i++)
        run_call(p, offer, &s[i], &c[i]);
    for (int i = 0; i < 3; i++)
        wait_answer(&s[i]);
    media_pool_free(p);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s[i].nfinished, 1);
        assert_int_equal(s[i].reason, MEDIA_END_SHUTDOWN);
        assert_false(s[i].failed);
        media_call_release(c[i]);
        free(s[i].answer);
    }
    free(offer);
}

static void pool_free_right_after_call_new_still_finishes_the_call(void **st)
{
    (void)st;
    for (int i = 0; i < 5; i++) {
        media_pool *p = pool_start(0);
        char *offer = read_offer();
        seen s = {0};
        media_call *c;
        run_call(p, offer, &s, &c);
        media_pool_free(p);
        assert_int_equal(s.nfinished, 1);
        assert_int_equal(s.reason, MEDIA_END_SHUTDOWN);
        media_call_release(c);
        free(s.answer);
        free(offer);
    }
}

static void rec_writes_a_file_and_sidecar_with_its_sha256(void **st)
{
    (void)st;
    char path[4096];
    assert_int_equal(rec_make_path(g_dir, "../ten ant", "room/1", ".caller", "webm", 86400 * 365,
                                   path, sizeof(path)),
                     0);
    char want[4200];
    snprintf(want, sizeof(want), "%s/_._ten_ant/1971/01/01/room_1-_caller.webm", g_dir);
    assert_string_equal(path, want);
    rec *r;
    assert_int_equal(rec_open(path, true, MSDP_CODEC_NONE, &r), 0);
    const uint8_t opus[] = {0xfc, 0xff, 0xfe}; /* a 20 ms CELT packet, silent */
    for (int i = 0; i < 50; i++)
        assert_int_equal(rec_write_audio(r, opus, sizeof(opus), i * 20), 0);
    assert_true(rec_started(r));
    int64_t dur = 0;
    assert_int_equal(rec_close(r, &dur), 0);
    assert_int_equal(dur, 980);
    /* the same path again gets a -1 suffix */
    char path2[4096];
    assert_int_equal(rec_make_path(g_dir, "../ten ant", "room/1", ".caller", "webm", 86400 * 365,
                                   path2, sizeof(path2)),
                     0);
    assert_non_null(strstr(path2, "room_1-_caller-1.webm"));
    char sha[65];
    assert_int_equal(mside_sha256_file(path, sha), 0);
    assert_int_equal(strlen(sha), 64);
    char side[4200];
    snprintf(side, sizeof(side), "%s.json", path);
    mside_info in = {.tenant = "t", .room_id = "r", .caller = "a", .callee = "b",
                     .started_ms = 1000, .ended_ms = 2500, .end_reason = "hungup", .file = path,
                     .sha256 = sha, .duration_ms = dur, .ntracks = 1,
                     .tracks = {{.kind = "audio", .codec = "opus", .ssrc = 7, .received = 50,
                                 .lost = 1, .recovered = 2, .gaps = 0, .frames = 50}}};
    assert_int_equal(mside_write(side, &in), 0);
    json_error_t je;
    json_t *o = json_load_file(side, 0, &je);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "sha256")), sha);
    assert_string_equal(json_string_value(json_object_get(o, "startedAt")), "1970-01-01T00:00:01.000Z");
    assert_string_equal(json_string_value(json_object_get(o, "endedAt")), "1970-01-01T00:00:02.500Z");
    assert_string_equal(json_string_value(json_object_get(o, "endReason")), "hungup");
    assert_string_equal(json_string_value(json_object_get(o, "file")), "room_1-_caller.webm");
    json_t *t = json_array_get(json_object_get(o, "tracks"), 0);
    assert_int_equal(json_integer_value(json_object_get(t, "packetsLost")), 1);
    assert_int_equal(json_integer_value(json_object_get(t, "packetsRecovered")), 2);
    json_decref(o);
}

/* An Opus frame captured at t ms is stored at t (Matroska: the block time
 * minus CodecDelay is where decoding starts, and the decoder drops the
 * 312-sample pre-skip), so libavformat demuxes it at t - 7 ms and its first
 * input sample plays at t. */
static void rec_stores_opus_at_its_capture_time(void **st)
{
    (void)st;
    char path[4200];
    snprintf(path, sizeof(path), "%s/preskip.webm", g_dir);
    rec *r;
    assert_int_equal(rec_open(path, true, MSDP_CODEC_NONE, &r), 0);
    const uint8_t opus[] = {0xfc, 0xff, 0xfe};
    for (int i = 0; i < 5; i++)
        assert_int_equal(rec_write_audio(r, opus, sizeof(opus), 100 + i * 20), 0);
    int64_t dur = 0;
    assert_int_equal(rec_close(r, &dur), 0);
    assert_int_equal(dur, 180);
    AVFormatContext *ic = NULL;
    assert_int_equal(avformat_open_input(&ic, path, NULL, NULL), 0);
    assert_int_equal(ic->streams[0]->codecpar->initial_padding, 312);
    AVPacket *pkt = av_packet_alloc();
    assert_int_equal(av_read_frame(ic, pkt), 0);
    assert_int_equal(av_rescale_q(pkt->pts, ic->streams[0]->time_base, (AVRational){1, 1000}), 93);
    av_packet_free(&pkt);
    avformat_close_input(&ic);
}

static void end_reasons_have_stable_names_and_failure_flags(void **st)
{
    (void)st;
    assert_string_equal(media_end_reason_name(MEDIA_END_HANGUP), "hungup");
    assert_string_equal(media_end_reason_name(MEDIA_END_CONSENT_LOST), "consent_lost");
    assert_string_equal(media_end_reason_name(MEDIA_END_BAD_FINGERPRINT), "bad_fingerprint");
    assert_false(media_end_is_failure(MEDIA_END_MEDIA_TIMEOUT));
    assert_false(media_end_is_failure(MEDIA_END_SHUTDOWN));
    assert_true(media_end_is_failure(MEDIA_END_ICE_FAILED));
    assert_true(media_end_is_failure(MEDIA_END_DTLS_FAILED));
}

/* Creates the temp dir. */
static int setup(void **st)
{
    (void)st;
    return mkdtemp(g_dir) ? 0 : -1;
}

/* Removes the temp dir. */
static int teardown(void **st)
{
    (void)st;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(call_with_malformed_offer_fails_with_bad_offer),
        cmocka_unit_test(call_without_recordable_codec_fails_with_no_codec),
        cmocka_unit_test(call_rejects_oversize_offer_without_callbacks),
        cmocka_unit_test(call_answers_chromium_offer_then_hangup_leaves_no_file),
        cmocka_unit_test(call_cancelled_before_answer_ends_with_cancel),
        cmocka_unit_test(call_fails_on_a_flood_of_candidates),
        cmocka_unit_test(call_fails_when_ice_never_connects),
        cmocka_unit_test(pool_shutdown_ends_live_calls_with_shutdown),
        cmocka_unit_test(pool_free_right_after_call_new_still_finishes_the_call),
        cmocka_unit_test(rec_writes_a_file_and_sidecar_with_its_sha256),
        cmocka_unit_test(rec_stores_opus_at_its_capture_time),
        cmocka_unit_test(end_reasons_have_stable_names_and_failure_flags),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
