/* test_srv_rsink.c — the Redis sink against a REAL redis-server started
 * here (child process, free loopback port): batches, replays, gaps, skips,
 * NOSCRIPT fallback, seq-0 dedup, watermarks, events and the convsync glue.
 * Reads back through a synchronous hiredis context. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis.h>

#include "kk_err.h"
#include "rsink.h"
#include "rsink_int.h"

typedef struct fx {
    pid_t redis;
    int port;
    char dir[64];
    uv_loop_t loop;
    rconn *rc;
    rsink *rs;
    redisContext *sync;
    bool up;
    bool closed;
} fx;

/* Asks the kernel for a free loopback port. */
static int
free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static void
on_state(void *ud, bool up, const char *reason)
{
    (void)reason;
    ((fx *)ud)->up = up;
}

/* Runs the loop until *flag is true (each command has rconn's timeout). */
static void
run_until(fx *f, const bool *flag)
{
    for (int i = 0; i < 100000 && !*flag; i++)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_true(*flag);
}

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->port = free_port();
    assert_true(f->port > 0);
    snprintf(f->dir, sizeof f->dir, "/tmp/kk-rsink-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char port[16];
    snprintf(port, sizeof port, "%d", f->port);
    f->redis = fork();
    assert_true(f->redis >= 0);
    if (f->redis == 0) {
        /* Redis prints its banner on stdout even at loglevel warning. */
        if (!freopen("/dev/null", "w", stdout))
            _exit(126);
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", f->dir, "--loglevel", "warning", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100 && !f->sync; i++) {
        redisContext *c = redisConnect("127.0.0.1", f->port);
        if (c && !c->err) {
            f->sync = c;
            break;
        }
        redisFree(c);
        usleep(50000);
    }
    assert_non_null(f->sync);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", f->port);
    rurl u;
    const char *why = NULL;
    assert_int_equal(rurl_parse(url, &u, &why), 0);
    rconn_opts o = { .url = &u, .name = "test" };
    assert_int_equal(rconn_new(&f->loop, &o, on_state, f, &f->rc), 0);
    rurl_free(&u);
    assert_int_equal(rconn_start(f->rc), 0);
    run_until(f, &f->up);
    f->rs = rsink_new(f->rc, "t1", NULL);
    assert_non_null(f->rs);
    *state = f;
    return 0;
}

static void
on_closed(void *ud)
{
    ((fx *)ud)->closed = true;
}

static int
teardown(void **state)
{
    fx *f = *state;
    rsink_free(f->rs);
    rconn_close(f->rc, on_closed, f);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_true(f->closed);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    redisFree(f->sync);
    kill(f->redis, SIGTERM);
    waitpid(f->redis, NULL, 0);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Builds a message of conv with seq and clientMsgID cm. */
static kk_msg *
mk(const char *conv, uint64_t seq, const char *cm)
{
    Kkim__MsgData md = KKIM__MSG_DATA__INIT;
    md.seq = (int64_t)seq;
    md.clientmsgid = (char *)cm;
    md.sendid = "alice";
    md.content.data = (uint8_t *)"{\"text\":\"hi\"}";
    md.content.len = 13;
    md.status = 2;
    kk_msg *m = kk_msg_new(&md, conv, conv[0] == 'n', "alice:7");
    assert_non_null(m);
    return m;
}

typedef struct got {
    bool done;
    int rc;
    rsink_result res;
    bool advanced;
    uint64_t hw;
    size_t n;
    int64_t hws[4];
} got;

static void
on_append(void *ud, int rc, const rsink_result *res)
{
    got *g = ud;
    g->done = true;
    g->rc = rc;
    if (res)
        g->res = *res;
}

static void
on_skip(void *ud, int rc, bool advanced, uint64_t hw)
{
    got *g = ud;
    g->done = true;
    g->rc = rc;
    g->advanced = advanced;
    g->hw = hw;
}

static void
on_hw(void *ud, int rc, size_t n, const int64_t *hws)
{
    got *g = ud;
    g->done = true;
    g->rc = rc;
    g->n = n;
    for (size_t i = 0; i < n && i < 4; i++)
        g->hws[i] = hws[i];
}

static void
on_done(void *ud, int rc)
{
    got *g = ud;
    g->done = true;
    g->rc = rc;
}

/* Appends seqs [from, to] of conv and waits for the reply. */
static got
append_range(fx *f, const char *conv, uint64_t from, uint64_t to)
{
    kk_msg *v[16];
    size_t n = 0;
    char cm[32];
    for (uint64_t s = from; s <= to; s++) {
        snprintf(cm, sizeof cm, "cm-%llu", (unsigned long long)s);
        v[n++] = mk(conv, s, cm);
    }
    got g = { 0 };
    assert_int_equal(rsink_append(f->rs, conv, conv[0] == 'n', v, n, on_append, &g), 0);
    run_until(f, &g.done);
    return g;
}

/* Asserts a result quadruple. */
static void
assert_res(const got *g, uint64_t app, uint64_t dups, uint64_t hw, uint64_t stop)
{
    assert_int_equal(g->rc, 0);
    assert_int_equal(g->res.appended, app);
    assert_int_equal(g->res.dups, dups);
    assert_int_equal(g->res.hw, hw);
    assert_int_equal(g->res.stop, stop);
}

static void
append_writes_entries_in_order_and_drops_replays(void **state)
{
    fx *f = *state;
    got g = append_range(f, "si_a_b", 1, 3);
    assert_res(&g, 3, 0, 3, 0);
    /* Exact entry contents: the kk_msg argv, field by field. */
    kk_msg *want = mk("si_a_b", 2, "cm-2");
    redisReply *r = redisCommand(f->sync, "XRANGE kkim:{t1}:msgs - +");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    redisReply *fields = r->element[1]->element[1];
    assert_int_equal(fields->elements, want->argc);
    for (size_t i = 0; i < want->argc; i++) {
        assert_int_equal(fields->element[i]->len, want->argvlen[i]);
        assert_memory_equal(fields->element[i]->str, want->argv[i], want->argvlen[i]);
    }
    freeReplyObject(r);
    kk_msg_free(want);

    g = append_range(f, "si_a_b", 1, 3); /* a whole batch replayed */
    assert_res(&g, 0, 3, 3, 0);
    g = append_range(f, "si_a_b", 3, 4); /* overlap */
    assert_res(&g, 1, 1, 4, 0);
    r = redisCommand(f->sync, "HGET kkim:{t1}:hw si_a_b");
    assert_string_equal(r->str, "4");
    freeReplyObject(r);
    r = redisCommand(f->sync, "XLEN kkim:{t1}:msgs");
    assert_int_equal(r->integer, 4);
    freeReplyObject(r);
    rsink_stats st;
    rsink_get_stats(f->rs, &st);
    assert_int_equal(st.appended, 4);
    assert_int_equal(st.dups, 4);
    assert_int_equal(rsink_inflight(f->rs), 0);
}

/* Asserts that kkim:{t1}:events holds exactly one gap event, with these fields. */
static void
assert_one_gap_event(fx *f, const char *conv, const char *from, const char *to, const char *why)
{
    redisReply *r = redisCommand(f->sync, "XRANGE kkim:{t1}:events - +");
    assert_int_equal(r->elements, 1);
    const char *const ev[] = { "type", "gap", "conversationID", conv,
                               "from", from, "to", to, "reason", why };
    redisReply *fl = r->element[0]->element[1];
    assert_int_equal(fl->elements, 10);
    for (size_t i = 0; i < 10; i++)
        assert_string_equal(fl->element[i]->str, ev[i]);
    freeReplyObject(r);
}

static void
gap_stops_the_batch_and_skip_steps_over_it(void **state)
{
    fx *f = *state;
    got g = append_range(f, "sg_g", 1, 2);
    assert_res(&g, 2, 0, 2, 0);
    g = append_range(f, "sg_g", 5, 6);
    assert_res(&g, 0, 0, 2, 5);
    got s = { 0 };
    assert_int_equal(rsink_skip(f->rs, "sg_g", 4, 4, "missing", on_skip, &s), 0);
    run_until(f, &s.done);
    assert_int_equal(s.rc, 0);
    assert_false(s.advanced); /* hw is 2, not 3 */
    assert_int_equal(s.hw, 2);
    s = (got){ 0 };
    assert_int_equal(rsink_skip(f->rs, "sg_g", 3, 4, "placeholder", on_skip, &s), 0);
    run_until(f, &s.done);
    assert_true(s.advanced);
    assert_int_equal(s.hw, 4);
    assert_one_gap_event(f, "sg_g", "3", "4", "placeholder");
    g = append_range(f, "sg_g", 5, 6);
    assert_res(&g, 2, 0, 6, 0);
}

static void
noscript_answer_is_resent_as_eval(void **state)
{
    fx *f = *state;
    got g = append_range(f, "si_a_b", 1, 1);
    assert_res(&g, 1, 0, 1, 0);
    g = append_range(f, "si_a_b", 2, 2); /* by now the SHA is known */
    assert_res(&g, 1, 0, 2, 0);
    redisReply *r = redisCommand(f->sync, "SCRIPT FLUSH");
    freeReplyObject(r);
    g = append_range(f, "si_a_b", 3, 3);
    assert_res(&g, 1, 0, 3, 0);
    rsink_stats st;
    rsink_get_stats(f->rs, &st);
    assert_int_equal(st.noscript, 1);
    g = append_range(f, "si_a_b", 4, 4);
    assert_res(&g, 1, 0, 4, 0);
    rsink_get_stats(f->rs, &st);
    assert_int_equal(st.noscript, 1);
    assert_int_equal(st.errors, 0);
}

static void
seq0_messages_are_deduplicated_by_client_msg_id(void **state)
{
    fx *f = *state;
    got g = append_range(f, "n_sys", 0, 0);
    assert_res(&g, 1, 0, 0, 0);
    g = append_range(f, "n_sys", 0, 0); /* same clientMsgID "cm-0" */
    assert_res(&g, 0, 1, 0, 0);
    redisReply *r = redisCommand(f->sync, "XLEN kkim:{t1}:notifications");
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    r = redisCommand(f->sync, "PTTL kkim:{t1}:seen0:n_sys:cm-0");
    assert_true(r->integer > 590000 && r->integer <= 600000);
    freeReplyObject(r);
    /* A batch mixing seq 0 and seq > 0 is refused (and freed). */
    kk_msg *v[2] = { mk("n_sys", 0, "x"), mk("n_sys", 1, "y") };
    assert_int_equal(rsink_append(f->rs, "n_sys", true, v, 2, on_append, NULL), KK_EINVAL);
}

static void
hw_get_reads_watermarks_and_absent_fields(void **state)
{
    fx *f = *state;
    got g = append_range(f, "si_a_b", 7, 9);
    assert_res(&g, 3, 0, 9, 0);
    const char *convs[2] = { "si_a_b", "si_none" };
    got h = { 0 };
    assert_int_equal(rsink_hw_get(f->rs, convs, 2, on_hw, &h), 0);
    run_until(f, &h.done);
    assert_int_equal(h.rc, 0);
    assert_int_equal(h.n, 2);
    assert_int_equal(h.hws[0], 9);
    assert_int_equal(h.hws[1], -1);
}

static void
event_is_written_with_its_fields(void **state)
{
    fx *f = *state;
    const char *kv[] = { "user", "alice", "platform", "7" };
    got e = { 0 };
    assert_int_equal(rsink_event(f->rs, "login", kv, 2, on_done, &e), 0);
    run_until(f, &e.done);
    assert_int_equal(e.rc, 0);
    redisReply *r = redisCommand(f->sync, "XRANGE kkim:{t1}:events - +");
    assert_int_equal(r->elements, 1);
    redisReply *fl = r->element[0]->element[1];
    static const char *const want[] = { "type", "login", "user", "alice", "platform", "7" };
    assert_int_equal(fl->elements, 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(fl->element[i]->str, want[i]);
    freeReplyObject(r);
}

/* Integer reply of a command on the sync connection. */
static long long
sync_int(fx *f, const char *cmd, const char *key)
{
    redisReply *r = redisCommand(f->sync, "%s %s", cmd, key);
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return v;
}

/* Replaces the fixture's sink with one of n partitions. */
static void
use_partitions(fx *f, unsigned n)
{
    rsink_free(f->rs);
    rsink_cfg cfg = { .partitions = n };
    f->rs = rsink_new(f->rc, "t1", &cfg);
    assert_non_null(f->rs);
}

static void
partitions_keep_each_conversation_in_its_own_keys(void **state)
{
    fx *f = *state;
    use_partitions(f, 4);
    /* crc32 mod 4: sg_g → 3, si_a_b → 0, sg_h → 2 (zlib.crc32 agrees) */
    assert_int_equal(rsink_partition(f->rs, "sg_g"), 3);
    assert_int_equal(rsink_partition(f->rs, "si_a_b"), 0);
    char key[64];
    assert_string_equal(rsink_conv_key(f->rs, "sg_h", "hw", key, sizeof key), "kkim:{t1:2}:hw");
    got g = append_range(f, "sg_g", 1, 2);
    assert_res(&g, 2, 0, 2, 0);
    g = append_range(f, "si_a_b", 1, 3);
    assert_res(&g, 3, 0, 3, 0);
    g = append_range(f, "n_sys", 0, 0);
    assert_int_equal(g.res.appended, 1);
    assert_int_equal(sync_int(f, "XLEN", "kkim:{t1:3}:msgs"), 2);
    assert_int_equal(sync_int(f, "XLEN", "kkim:{t1:0}:msgs"), 3);
    assert_int_equal(sync_int(f, "XLEN", "kkim:{t1:1}:notifications"), 1);
    assert_int_equal(sync_int(f, "EXISTS", "kkim:{t1:1}:seen0:n_sys:cm-0"), 1);
    assert_int_equal(sync_int(f, "EXISTS", "kkim:{t1}:msgs"), 0);
    assert_int_equal(sync_int(f, "EXISTS", "kkim:{t1}:hw"), 0);
    /* one HMGET per partition, answered once, in the caller's order */
    const char *convs[3] = { "si_a_b", "sg_h", "sg_g" };
    got h = { 0 };
    assert_int_equal(rsink_hw_get(f->rs, convs, 3, on_hw, &h), 0);
    run_until(f, &h.done);
    assert_int_equal(h.rc, 0);
    assert_int_equal(h.n, 3);
    assert_int_equal(h.hws[0], 3);
    assert_int_equal(h.hws[1], -1);
    assert_int_equal(h.hws[2], 2);
    /* a skip advances the partition's hw; its gap event goes to the tenant's stream */
    got k = { 0 };
    assert_int_equal(rsink_skip(f->rs, "sg_g", 3, 5, "missing", on_skip, &k), 0);
    run_until(f, &k.done);
    assert_true(k.advanced);
    assert_int_equal(k.hw, 5);
    while (rsink_inflight(f->rs) > 0) /* the gap event's XADD */
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_one_gap_event(f, "sg_g", "3", "5", "missing");
    redisReply *r = redisCommand(f->sync, "HGET kkim:{t1:3}:hw sg_g");
    assert_string_equal(r->str, "5");
    freeReplyObject(r);
}

/* Skips [from, to] of sg_g ("missing") and waits for the reply. */
static got
skip_sg_g(fx *f, uint64_t from, uint64_t to)
{
    got k = { 0 };
    assert_int_equal(rsink_skip(f->rs, "sg_g", from, to, "missing", on_skip, &k), 0);
    run_until(f, &k.done);
    return k;
}

/* Asserts kkim:{t1:3}:hw's field sg_g (the test conversation's partition). */
static void
assert_sg_g_hw(fx *f, const char *want)
{
    redisReply *r = redisCommand(f->sync, "HGET kkim:{t1:3}:hw sg_g");
    assert_string_equal(r->str, want);
    freeReplyObject(r);
}

static void
partition_gap_event_is_written_before_the_watermark_moves(void **state)
{
    fx *f = *state;
    use_partitions(f, 4);
    got g = append_range(f, "sg_g", 1, 2);
    assert_res(&g, 2, 0, 2, 0);
    /* the events stream refuses the event (a string holds its name): the
     * skip fails and the watermark stays, so the hole is given up again */
    freeReplyObject(redisCommand(f->sync, "SET kkim:{t1}:events blocked"));
    got k = skip_sg_g(f, 3, 5);
    assert_int_equal(k.rc, KK_EIO);
    assert_false(k.advanced);
    assert_sg_g_hw(f, "2");
    freeReplyObject(redisCommand(f->sync, "DEL kkim:{t1}:events"));
    k = skip_sg_g(f, 3, 5);
    assert_int_equal(k.rc, 0);
    assert_true(k.advanced);
    assert_int_equal(k.hw, 5);
    assert_sg_g_hw(f, "5");
    assert_one_gap_event(f, "sg_g", "3", "5", "missing");
    /* the same skip once more (another writer moved on): no advance, and
     * the event it wrote first is taken back */
    k = skip_sg_g(f, 3, 5);
    assert_int_equal(k.rc, 0);
    assert_false(k.advanced);
    assert_int_equal(k.hw, 5);
    while (rsink_inflight(f->rs) > 0) /* the XDEL */
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_one_gap_event(f, "sg_g", "3", "5", "missing");
    rsink_stats st;
    rsink_get_stats(f->rs, &st);
    assert_int_equal(st.skips, 1);
    assert_int_equal(st.events, 2);
    assert_int_equal(st.errors, 1);
}

typedef struct pulls {
    size_t n;
    uint64_t from, to;
} pulls;

static int
glue_pull(void *ud, const char *conv, uint64_t from, uint64_t to, const char *via)
{
    (void)conv;
    (void)via;
    pulls *p = rsink_pull_ud(ud);
    p->n++;
    p->from = from;
    p->to = to;
    return 0;
}

static void
convsync_glue_archives_reordered_messages_once(void **state)
{
    fx *f = *state;
    csync_ops ops;
    rsink_csync_ops(&ops, glue_pull);
    csync *cs = csync_new(&ops, f->rs, NULL);
    assert_non_null(cs);
    pulls p = { 0 };
    rsink_attach_csync(f->rs, cs, &f->loop, &p);
    uint64_t now = uv_now(&f->loop);
    assert_int_equal(csync_set_hw(cs, "sg_glue", 0, now), 0);
    assert_int_equal(csync_offer(cs, mk("sg_glue", 3, "c3"), "bob:7", now), CSYNC_BUFFERED);
    assert_int_equal(csync_offer(cs, mk("sg_glue", 2, "c2"), "bob:7", now), CSYNC_BUFFERED);
    assert_int_equal(csync_offer(cs, mk("sg_glue", 1, "c1"), "alice:7", now), CSYNC_SENT);
    assert_int_equal(csync_offer(cs, mk("sg_glue", 4, "c4"), "alice:7", now), CSYNC_QUEUED);
    assert_int_equal(csync_offer(cs, mk("sg_glue", 2, "c2"), "alice:7", now), CSYNC_DUP);
    assert_int_equal(csync_offer(cs, mk("sg_glue", 6, "c6"), "alice:7", now), CSYNC_BUFFERED);
    uint64_t hw = 0;
    for (int i = 0; i < 1000 && !(csync_get_hw(cs, "sg_glue", &hw) && hw == 4); i++)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(hw, 4);
    csync_tick(cs, uv_now(&f->loop) + 100);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.from, 5);
    assert_int_equal(p.to, 5);
    redisReply *r = redisCommand(f->sync, "XRANGE kkim:{t1}:msgs - +");
    assert_int_equal(r->elements, 4);
    static const char *const seqs[] = { "1", "2", "3", "4" };
    for (size_t i = 0; i < 4; i++) {
        redisReply *fl = r->element[i]->element[1];
        assert_string_equal(fl->element[3]->str, seqs[i]);
    }
    freeReplyObject(r);
    rsink_attach_csync(f->rs, NULL, NULL, NULL);
    csync_free(cs);
}

static void
embedded_scripts_match_their_lua_sources(void **state)
{
    (void)state;
    static const struct { const char *file; const char *src; } s[] = {
        { "append.lua", rsink__lua_append },
        { "skip.lua", rsink__lua_skip },
        { "append0.lua", rsink__lua_append0 },
    };
    for (size_t i = 0; i < 3; i++) {
        char path[512];
        /* __FILE__ is absolute under CMake: tests/unit/ → server/lua/. */
        const char *slash = strrchr(__FILE__, '/');
        assert_non_null(slash);
        snprintf(path, sizeof path, "%.*s/../../server/lua/%s", (int)(slash - __FILE__), __FILE__,
                 s[i].file);
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        static char buf[65536];
        size_t n = fread(buf, 1, sizeof buf - 1, fp);
        fclose(fp);
        buf[n] = '\0';
        assert_string_equal(buf, s[i].src);
    }
}

/* ---- benchmark mode (KK_RSINK_BENCH=<messages>, not a test) ------------
 * Appends <messages> in batches of KK_RSINK_BATCH (default 16), each batch
 * to a fresh conversation, KK_RSINK_WINDOW (default 64) batches in flight,
 * then runs redis-benchmark with the very same script call (same argv
 * bytes; the conversation randomized with __rand_int__) pipelined -P
 * <window> on one connection, and prints both rates and their ratio. */

typedef struct bench {
    fx *f;
    kk_msg **all;       /* every message, built before the clock starts */
    size_t b, total, sent, done, window;
    char conv[32];
} bench;

static void bench_pump(bench *bn);

static void
bench_on_append(void *ud, int rc, const rsink_result *res)
{
    bench *bn = ud;
    assert_int_equal(rc, 0);
    assert_int_equal(res->appended, bn->b);
    bn->done += bn->b;
    bench_pump(bn);
}

/* Keeps `window` batches in flight until `total` messages were sent. */
static void
bench_pump(bench *bn)
{
    while (bn->sent < bn->total && rsink_inflight(bn->f->rs) < bn->window) {
        kk_msg **v = bn->all + bn->sent;
        assert_int_equal(rsink_append(bn->f->rs, v[0]->conv, false, v, bn->b, bench_on_append, bn),
                         0);
        bn->sent += bn->b;
    }
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs redis-benchmark with the script call of one batch; returns its
 * requests per second (from --csv). */
static double
bench_redis_benchmark(fx *f, size_t b, size_t nreq, size_t window, const char *sha)
{
    kk_msg *v[256];
    for (size_t i = 0; i < b; i++)
        v[i] = mk("c__rand_int__", i + 1, "cm");
    size_t argc = 0, cap = 32 + b * 48;
    char **argv = calloc(cap, sizeof *argv);
    char port[16], n[24], p[24];
    snprintf(port, sizeof port, "%d", f->port);
    snprintf(n, sizeof n, "%zu", nreq);
    snprintf(p, sizeof p, "%zu", window);
    const char *head[] = { "redis-benchmark", "-p", port, "-c", "1", "-P", p, "-n", n,
                           "-r", "1000000000", "--csv", "EVALSHA", sha, "2",
                           "kkim:{t1}:msgs", "kkim:{t1}:hw", "c__rand_int__", "", "" };
    for (size_t i = 0; i < sizeof head / sizeof *head; i++)
        argv[argc++] = (char *)head[i];
    for (size_t i = 0; i < b; i++) {
        argv[argc++] = (char *)v[i]->argv[3];
        argv[argc++] = "46";
        for (size_t k = 0; k < v[i]->argc; k++)
            argv[argc++] = (char *)v[i]->argv[k];
    }
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        execvp("redis-benchmark", argv);
        _exit(127);
    }
    close(pfd[1]);
    size_t cap_out = 1 << 20, len = 0;
    char *out = malloc(cap_out);
    ssize_t r;
    while ((r = read(pfd[0], out + len, cap_out - 1 - len)) > 0)
        len += (size_t)r;
    close(pfd[0]);
    out[len] = '\0';
    waitpid(pid, NULL, 0);
    /* --csv line: "<command>","rps","avg",...,"max" — the command holds
     * our bytes, so count the 7 separators back from the end. */
    double rps = 0;
    int seps = 0;
    for (size_t i = len; i >= 3 && seps < 7; i--) {
        if (memcmp(out + i - 3, "\",\"", 3) == 0 && ++seps == 7)
            rps = strtod(out + i, NULL);
    }
    free(out);
    for (size_t i = 0; i < b; i++)
        kk_msg_free(v[i]);
    free(argv);
    return rps;
}

static int
bench_main(size_t total)
{
    const char *e;
    size_t b = (e = getenv("KK_RSINK_BATCH")) ? strtoul(e, NULL, 10) : 16;
    size_t window = (e = getenv("KK_RSINK_WINDOW")) ? strtoul(e, NULL, 10) : 64;
    if (b == 0 || b > 256 || window == 0)
        return 2;
    total -= total % b;
    void *st = NULL;
    setup(&st);
    fx *f = st;
    /* Warm the script cache so rsink uses EVALSHA from the start. */
    redisReply *r = redisCommand(f->sync, "SCRIPT LOAD %s", rsink__lua_append);
    char sha[41];
    snprintf(sha, sizeof sha, "%s", r->str);
    freeReplyObject(r);
    bench bn = { .f = f, .b = b, .total = total, .window = window };
    bn.all = calloc(total, sizeof *bn.all);
    for (size_t i = 0; i < total; i++) {
        snprintf(bn.conv, sizeof bn.conv, "bc%zu", i / b);
        bn.all[i] = mk(bn.conv, i % b + 1, "cm");
    }
    double t0 = now_s();
    bench_pump(&bn);
    while (bn.done < total)
        uv_run(&f->loop, UV_RUN_ONCE);
    double dt = now_s() - t0;
    double ours = (double)total / dt;
    free(bn.all); /* the messages were freed by rsink */
    freeReplyObject(redisCommand(f->sync, "FLUSHALL"));
    r = redisCommand(f->sync, "SCRIPT LOAD %s", rsink__lua_append);
    freeReplyObject(r);
    double rb = bench_redis_benchmark(f, b, total / b, window, sha) * (double)b;
    r = redisCommand(f->sync, "XLEN kkim:{t1}:msgs");
    long long xlen = r->integer;
    freeReplyObject(r);
    printf("rsink: %zu msgs, batch %zu, window %zu: %.0f msgs/s (%.3f s)\n", total, b, window,
           ours, dt);
    printf("redis-benchmark same script -c 1 -P %zu: %.0f msgs/s (%lld entries written)\n",
           window, rb, xlen);
    printf("ratio rsink / redis-benchmark: %.2f\n", rb > 0 ? ours / rb : 0.0);
    teardown(&st);
    return 0;
}

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const char *bench_n = getenv("KK_RSINK_BENCH");
    if (bench_n)
        return bench_main(strtoul(bench_n, NULL, 10));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(append_writes_entries_in_order_and_drops_replays, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(gap_stops_the_batch_and_skip_steps_over_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(noscript_answer_is_resent_as_eval, setup, teardown),
        cmocka_unit_test_setup_teardown(seq0_messages_are_deduplicated_by_client_msg_id, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(hw_get_reads_watermarks_and_absent_fields, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(event_is_written_with_its_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(partitions_keep_each_conversation_in_its_own_keys, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(partition_gap_event_is_written_before_the_watermark_moves,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(convsync_glue_archives_reordered_messages_once, setup,
                                        teardown),
        cmocka_unit_test(embedded_scripts_match_their_lua_sources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
