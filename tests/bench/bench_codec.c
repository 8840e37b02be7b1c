/* bench_codec.c — the C half of the codec benchmark (scripts/bench-codec.sh).
 * A command, never a test: it measures, it asserts nothing but that every
 * frame decodes.
 *
 *   bench_codec gen DIR          writes the protobuf payloads of realistic
 *                                frames (DIR/push1.pb, push10.pb, push100.pb:
 *                                PushMessages of 1, 10, 100 MsgData; send.pb:
 *                                the MsgData of a 1003 send), built with the
 *                                protobuf-c generated code
 *   bench_codec run DIR [SECS [FRAME CODEC]]
 *                                times decode and encode of DIR/<frame>.gob
 *                                and .json (written by Go: gobbench gen), or
 *                                of the one frame file named
 *
 * run prints "RESULT frame codec op bytes frames_per_s MB_per_s
 * frames_per_cpu_s" lines, one per measurement: the median of 5 runs of
 * about SECS seconds each (default 1), by the wall clock and by the
 * process's CPU time (robust when the machine is shared). Decode reuses one codec_scratch (as a connection does); encode appends
 * to one reset kk_buf from the decoded envelope.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "sdkws.pb-c.h"

#define BENCH_REPS 5
#define BENCH_MAX_FILE (64u * 1024u * 1024u)

/* xorshift64* state: deterministic field values, no globals. */
typedef struct bench_rng {
    uint64_t s;
} bench_rng;

/* Next pseudo-random 64-bit value. */
static uint64_t bench_rand(bench_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ull;
}

/* Writes 32 random lowercase hex characters and a NUL into out[33]. */
static void bench_hex32(bench_rng *r, char out[33])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++)
        out[i] = digits[bench_rand(r) % 16];
    out[32] = '\0';
}

/* Storage for one MsgData's strings; the message points into it. */
typedef struct bench_msg {
    Kkim__MsgData m;
    char send_id[32], recv_id[32], client_id[33], server_id[33], face[96], content[400];
} bench_msg;

/* Fills a realistic text message from user a to user b: 32-hex IDs, a
 * `{"text":...}` body of roughly 100 to 300 bytes, times in milliseconds.
 * server says whether the gateway's fields (serverMsgID, seq, sendTime,
 * status) are set, as in a push, or left to the gateway, as in a send. */
static void bench_msg_fill(bench_msg *bm, bench_rng *r, uint64_t a, uint64_t b, int64_t seq, bool server)
{
    static const char *const words[] = { "hello", "meeting", "at", "three", "明天", "见", "the", "report",
                                         "is", "ready", "👍", "please", "check", "ok", "thanks", "café" };
    Kkim__MsgData init = KKIM__MSG_DATA__INIT;
    bm->m = init;
    snprintf(bm->send_id, sizeof bm->send_id, "u_%010" PRIu64, a);
    snprintf(bm->recv_id, sizeof bm->recv_id, "u_%010" PRIu64, b);
    snprintf(bm->face, sizeof bm->face, "https://cdn.example.com/avatar/%s.png", bm->send_id);
    bench_hex32(r, bm->client_id);
    bench_hex32(r, bm->server_id);
    size_t want = 90 + bench_rand(r) % 200, n = 0;
    n += (size_t)snprintf(bm->content, sizeof bm->content, "{\"text\":\"");
    while (n < want && n < sizeof bm->content - 64)
        n += (size_t)snprintf(bm->content + n, sizeof bm->content - n, "%s ", words[bench_rand(r) % 16]);
    snprintf(bm->content + n - 1, sizeof bm->content - n + 1, "\"}");
    int64_t t = 1764201600000 + seq * 1733;
    bm->m.sendid = bm->send_id;
    bm->m.recvid = bm->recv_id;
    bm->m.clientmsgid = bm->client_id;
    bm->m.senderplatformid = 1 + (int32_t)(bench_rand(r) % 7);
    bm->m.sendernickname = (char *)((a % 2) ? "Alice Zhang" : "张伟");
    bm->m.senderfaceurl = bm->face;
    bm->m.sessiontype = 1;
    bm->m.msgfrom = 100;
    bm->m.contenttype = 101;
    bm->m.content.data = (uint8_t *)bm->content;
    bm->m.content.len = strlen(bm->content);
    bm->m.createtime = t - 37;
    if (server) {
        bm->m.servermsgid = bm->server_id;
        bm->m.seq = seq;
        bm->m.sendtime = t;
        bm->m.status = 2;
    }
}

/* Packs msg into DIR/name; returns 0 or -1. */
static int bench_write_pb(const char *dir, const char *name, const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return -1;
    protobuf_c_message_pack(msg, buf);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int rc = f && fwrite(buf, 1, n, f) == n ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    free(buf);
    return rc;
}

/* Writes a PushMessages of nmsg text messages spread over nconv single
 * chats (si_ conversation IDs, consecutive seqs per conversation). */
static int bench_gen_push(const char *dir, const char *name, size_t nmsg, size_t nconv, bench_rng *r)
{
    bench_msg *msgs = calloc(nmsg, sizeof *msgs);
    Kkim__MsgData **ptrs = calloc(nmsg, sizeof *ptrs);
    Kkim__PullMsgs *pulls = calloc(nconv, sizeof *pulls);
    Kkim__PushMessages__MsgsEntry *ents = calloc(nconv, sizeof *ents);
    Kkim__PushMessages__MsgsEntry **eptrs = calloc(nconv, sizeof *eptrs);
    char(*keys)[64] = calloc(nconv, sizeof *keys);
    int rc = -1;
    if (!msgs || !ptrs || !pulls || !ents || !eptrs || !keys)
        goto out;
    size_t per = nmsg / nconv;
    for (size_t c = 0; c < nconv; c++) {
        uint64_t me = 3748291023u, peer = 1000000000u + 7919u * c;
        snprintf(keys[c], sizeof keys[c], "si_u_%010" PRIu64 "_u_%010" PRIu64, peer, me);
        Kkim__PullMsgs pinit = KKIM__PULL_MSGS__INIT;
        Kkim__PushMessages__MsgsEntry einit = KKIM__PUSH_MESSAGES__MSGS_ENTRY__INIT;
        pulls[c] = pinit;
        ents[c] = einit;
        size_t first = c * per, count = c + 1 == nconv ? nmsg - first : per;
        for (size_t i = 0; i < count; i++) {
            bool from_peer = bench_rand(r) % 2;
            bench_msg_fill(&msgs[first + i], r, from_peer ? peer : me, from_peer ? me : peer,
                           (int64_t)(4100 + first + i), true);
            ptrs[first + i] = &msgs[first + i].m;
        }
        pulls[c].n_msgs = count;
        pulls[c].msgs = ptrs + first;
        ents[c].key = keys[c];
        ents[c].value = &pulls[c];
        eptrs[c] = &ents[c];
    }
    Kkim__PushMessages push = KKIM__PUSH_MESSAGES__INIT;
    push.n_msgs = nconv;
    push.msgs = eptrs;
    rc = bench_write_pb(dir, name, &push.base);
out:
    free(msgs);
    free(ptrs);
    free(pulls);
    free(ents);
    free(eptrs);
    free(keys);
    return rc;
}

/* Writes the four payload files into dir. */
static int bench_gen(const char *dir)
{
    bench_rng r = { 0x9E3779B97F4A7C15ull };
    bench_msg send;
    bench_msg_fill(&send, &r, 3748291023u, 1000007919u, 0, false);
    if (bench_gen_push(dir, "push1.pb", 1, 1, &r) < 0 || bench_gen_push(dir, "push10.pb", 10, 3, &r) < 0 ||
        bench_gen_push(dir, "push100.pb", 100, 10, &r) < 0 || bench_write_pb(dir, "send.pb", &send.m.base) < 0) {
        fprintf(stderr, "bench_codec: cannot write payloads into %s\n", dir);
        return 1;
    }
    return 0;
}

/* State of the frame being measured. */
typedef struct bench_ctx {
    codec_cfg cfg;
    bool is_req;
    kk_buf frame;
    codec_req req;
    codec_resp resp;
    codec_scratch scratch;
    kk_buf out;
    uint64_t sink; /* keeps results observable */
} bench_ctx;

/* One decode of the frame. */
static int bench_decode(bench_ctx *c)
{
    int rc = c->is_req ? codec_decode_req(&c->cfg, c->frame.p, c->frame.len, &c->req, &c->scratch)
                       : codec_decode_resp(&c->cfg, c->frame.p, c->frame.len, &c->resp, &c->scratch);
    c->sink += c->is_req ? c->req.data.len : c->resp.data.len;
    return rc;
}

/* One encode of the decoded envelope. The envelope's views point into the
 * scratch for JSON, so the encode runs after one decode and never decodes. */
static int bench_encode(bench_ctx *c)
{
    kk_buf_reset(&c->out);
    int rc = c->is_req ? codec_encode_req(&c->cfg, &c->req, &c->out) : codec_encode_resp(&c->cfg, &c->resp, &c->out);
    c->sink += c->out.len;
    return rc;
}

/* Seconds on clock id (CLOCK_MONOTONIC or CLOCK_PROCESS_CPUTIME_ID). */
static double bench_now(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs op n times; returns the elapsed wall seconds (and the process CPU
 * seconds in *cpu), or -1 when op fails. */
static double bench_run_n(bench_ctx *c, int (*op)(bench_ctx *), uint64_t n, double *cpu)
{
    double c0 = bench_now(CLOCK_PROCESS_CPUTIME_ID), t0 = bench_now(CLOCK_MONOTONIC);
    for (uint64_t i = 0; i < n; i++) {
        if (op(c) < 0)
            return -1;
    }
    double t = bench_now(CLOCK_MONOTONIC) - t0;
    *cpu = bench_now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    return t;
}

/* qsort order for doubles, ascending. */
static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Calibrates an iteration count for about secs seconds, then returns the
 * median frames per wall-clock second of BENCH_REPS runs (or -1 when op
 * fails) and in *cpu_fps the median frames per CPU second of the process. */
static double bench_measure(bench_ctx *c, int (*op)(bench_ctx *), double secs, double *cpu_fps)
{
    uint64_t n = 1;
    double t, cpu;
    while ((t = bench_run_n(c, op, n, &cpu)) >= 0 && t < 0.1)
        n *= 2;
    if (t < 0)
        return -1;
    n = (uint64_t)((double)n * secs / t) + 1;
    double fps[BENCH_REPS], cfps[BENCH_REPS];
    for (int i = 0; i < BENCH_REPS; i++) {
        if ((t = bench_run_n(c, op, n, &cpu)) < 0)
            return -1;
        fps[i] = (double)n / t;
        cfps[i] = cpu > 0 ? (double)n / cpu : 0;
    }
    qsort(fps, BENCH_REPS, sizeof fps[0], bench_cmp_double);
    qsort(cfps, BENCH_REPS, sizeof cfps[0], bench_cmp_double);
    *cpu_fps = cfps[BENCH_REPS / 2];
    return fps[BENCH_REPS / 2];
}

/* Reads the whole file at path into out. */
static int bench_read(const char *path, kk_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return KK_EIO;
    uint8_t chunk[65536];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = kk_buf_append(out, chunk, n);
    fclose(f);
    return rc;
}

/* Measures decode and encode of DIR/frame.codec; returns 0 or -1. */
static int bench_one(const char *dir, const char *frame, const char *codec, double secs)
{
    bench_ctx c;
    memset(&c, 0, sizeof c);
    codec_cfg_default(&c.cfg, strcmp(codec, "json") == 0 ? CODEC_SDK_JS : CODEC_SDK_GO);
    c.is_req = strcmp(frame, "send") == 0;
    kk_buf_init(&c.frame, BENCH_MAX_FILE);
    kk_buf_init(&c.out, BENCH_MAX_FILE);
    codec_scratch_init(&c.scratch);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s", dir, frame, codec);
    int rc = bench_read(path, &c.frame);
    if (rc == 0)
        rc = bench_decode(&c);
    double dec_cpu = 0, enc_cpu = 0;
    double dec = rc < 0 ? -1 : bench_measure(&c, bench_decode, secs, &dec_cpu);
    double enc = dec < 0 ? -1 : bench_measure(&c, bench_encode, secs, &enc_cpu);
    if (dec < 0 || enc < 0) {
        fprintf(stderr, "bench_codec: %s: %s\n", path, rc < 0 ? kk_errname(rc) : "codec failed while timing");
    } else {
        double mb = (double)c.frame.len / 1e6;
        printf("RESULT %s %s decode %zu %.0f %.1f %.0f\n", frame, codec, c.frame.len, dec, dec * mb, dec_cpu);
        printf("RESULT %s %s encode %zu %.0f %.1f %.0f\n", frame, codec, c.frame.len, enc, enc * mb, enc_cpu);
        fflush(stdout);
    }
    volatile uint64_t keep = c.sink; /* the results were used */
    (void)keep;
    codec_scratch_free(&c.scratch);
    kk_buf_free(&c.frame);
    kk_buf_free(&c.out);
    return dec < 0 || enc < 0 ? -1 : 0;
}

/* Entry point: gen or run, see the top of the file. */
int main(int argc, char **argv)
{
    static const char *const frames[] = { "push1", "push10", "push100", "send" };
    static const char *const codecs[] = { "gob", "json" };
    if (argc == 3 && strcmp(argv[1], "gen") == 0)
        return bench_gen(argv[2]);
    if ((argc == 3 || argc == 4 || argc == 6) && strcmp(argv[1], "run") == 0) {
        double secs = argc >= 4 ? strtod(argv[3], NULL) : 1.0;
        if (!(secs > 0 && secs < 60))
            secs = 1.0;
        int failed = 0, ran = 0;
        for (size_t f = 0; f < sizeof frames / sizeof frames[0]; f++)
            for (size_t k = 0; k < sizeof codecs / sizeof codecs[0]; k++) {
                if (argc == 6 && (strcmp(argv[4], frames[f]) != 0 || strcmp(argv[5], codecs[k]) != 0))
                    continue;
                ran++;
                failed |= bench_one(argv[2], frames[f], codecs[k], secs) < 0;
            }
        return failed || ran == 0;
    }
    fprintf(stderr, "usage: bench_codec gen DIR | run DIR [SECONDS [FRAME CODEC]]\n");
    return 2;
}
