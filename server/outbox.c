/* outbox.c — the outbox's stream side: the consumer group on the dedicated
 * connection (create, recover own pending entries, XREADGROUP, XAUTOCLAIM,
 * refresh), the result script on the shared connection, the timer and the
 * lifetime. Entries, sends and settling are in outbox_send.c. Contract:
 * outbox.h. */
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbox_int.h"

/* The result script. KEYS: outbox, results, done. ARGV: group, entry ID,
 * results MAXLEN (0 = none), score (the entry's ms), done retention ms,
 * then the result's field/value pairs. One script, so the result, the
 * done mark and the XACK happen together or not at all: a crash between
 * them is impossible, and an entry that already has its mark is only
 * acked (returns 0) — exactly one result per entry ID. */
static const char outbox_result_lua[] =
    "if redis.call('ZSCORE', KEYS[3], ARGV[2]) then\n"
    "  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
    "  return 0\n"
    "end\n"
    "local f = {}\n"
    "for i = 6, #ARGV do f[#f + 1] = ARGV[i] end\n"
    "if ARGV[3] ~= '0' then\n"
    "  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(f))\n"
    "else\n"
    "  redis.call('XADD', KEYS[2], '*', unpack(f))\n"
    "end\n"
    "redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])\n"
    "redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. (tonumber(ARGV[4]) - tonumber(ARGV[5])))\n"
    "return 1\n";

static void pump(outbox *ob);

/* Unix time in ms (createTime of sends). */
uint64_t outbox__wall_ms(void)
{
    uv_timeval64_t tv;
    if (uv_gettimeofday(&tv) != 0)
        return 0;
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* Frees the outbox's memory once nothing refers to it any more. */
void outbox__unref(outbox *ob)
{
    if (--ob->refs > 0 || !ob->closing)
        return;
    free(ob->tenant);
    free(ob->consumer);
    free(ob);
}

/* Unlinks and frees an entry. */
void outbox__entry_free(obx_entry *e)
{
    outbox *ob = e->ob;
    if (e->prev)
        e->prev->next = e->next;
    else
        ob->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        ob->tail = e->prev;
    ob->n--;
    free(e->send_id);
    free(e->recv_id);
    free(e->group_id);
    free(e->client_msg_id);
    free(e->ex);
    free(e->options);
    free(e->content);
    free(e);
}

/* ---- results ------------------------------------------------------------- */

static void write_result(obx_entry *e);

/* Reply of the result script. */
static void on_result(void *ud, int status, const redisReply *reply)
{
    obx_entry *e = ud;
    outbox *ob = e->ob;
    if (ob->closing) {
        outbox__entry_free(e);
        outbox__unref(ob);
        return;
    }
    if (status != 0 || !reply || reply->type != REDIS_REPLY_INTEGER) {
        KK_LOG_WARN(&ob->log, "result_write_failed", KK_S("outboxID", e->id),
                    KK_S("detail", status ? kk_strerror(status)
                                          : reply && reply->type == REDIS_REPLY_ERROR ? reply->str
                                                                                      : "unexpected reply"));
        e->st = OBE_RESULT;
        e->not_before = uv_now(ob->loop) + OUTBOX_RESULT_RETRY_MS;
        outbox__unref(ob);
        return;
    }
    if (reply->integer == 1) {
        int k = e->status[0] == 's' ? 0 : e->status[0] == 'r' ? 1 : 2;
        uint64_t *c[3] = { &ob->stats.sent, &ob->stats.rejected, &ob->stats.failed };
        (*c[k])++;
        if (ob->m_results[k])
            metric_inc(ob->m_results[k], 1);
    } else {
        ob->stats.acked_only++;
    }
    outbox__entry_free(e);
    outbox__unref(ob);
    pump(ob); /* room for more */
}

/* Sends the result script for e (state OBE_RESULT). On a refused command
 * (Redis down) the entry stays OBE_RESULT and the timer retries. */
static void write_result(obx_entry *e)
{
    outbox *ob = e->ob;
    char maxlen[24], score[24], keep[24], code[24], seq[24], stime[24];
    snprintf(maxlen, sizeof maxlen, "%llu", (unsigned long long)ob->results_maxlen);
    snprintf(score, sizeof score, "%llu", (unsigned long long)e->id_ms);
    snprintf(keep, sizeof keep, "%llu", (unsigned long long)OUTBOX_DONE_KEEP_MS);
    snprintf(code, sizeof code, "%lld", (long long)e->err_code);
    snprintf(seq, sizeof seq, "%lld", (long long)e->seq);
    snprintf(stime, sizeof stime, "%lld", (long long)e->send_time);
    const char *cmid = e->client_msg_id ? e->client_msg_id : "";
    const char *argv[] = {
        "EVAL", outbox_result_lua, "3", ob->key_outbox, ob->key_results, ob->key_done,
        OUTBOX_GROUP, e->id, maxlen, score, keep,
        "outboxID", e->id, "clientMsgID", cmid, "status", e->status, "errCode", code,
        "errMsg", e->err_msg, "serverMsgID", e->server_msg_id, "seq", seq, "sendTime", stime,
    };
    size_t argc = sizeof argv / sizeof argv[0];
    size_t lens[sizeof argv / sizeof argv[0]];
    for (size_t i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    e->st = OBE_WRITING;
    ob->refs++;
    if (rconn_cmd(ob->shared, (int)argc, argv, lens, on_result, e) < 0) {
        ob->refs--;
        e->st = OBE_RESULT;
        e->not_before = uv_now(ob->loop) + OUTBOX_RESULT_RETRY_MS;
    }
}

/* Decides e's result and writes it (see outbox.h for the statuses). */
void outbox__result(obx_entry *e, const char *status, int64_t code, const char *msg)
{
    e->status = status;
    e->err_code = code;
    if (msg != e->err_msg)
        snprintf(e->err_msg, sizeof e->err_msg, "%s", msg ? msg : "");
    if (strcmp(status, "sent") != 0)
        KK_LOG_INFO(&e->ob->log, "outbox_result", KK_S("outboxID", e->id), KK_S("status", status),
                    KK_I("errCode", code), KK_S("errMsg", e->err_msg));
    write_result(e);
}

/* ---- the stream on the dedicated connection ------------------------------ */

/* True when an entry with this ID is held already. */
static bool entry_held(const outbox *ob, const char *id)
{
    for (const obx_entry *e = ob->head; e; e = e->next)
        if (strcmp(e->id, id) == 0)
            return true;
    return false;
}

/* Takes the entries of an XREADGROUP/XAUTOCLAIM entry array; returns the
 * ID of the last one in last (for paging own pending entries). */
static size_t take_entries(outbox *ob, const redisReply *arr, bool redelivered, char *last,
                           size_t lastcap)
{
    size_t got = 0;
    uint64_t now = uv_now(ob->loop);
    for (size_t i = 0; arr && arr->type == REDIS_REPLY_ARRAY && i < arr->elements; i++) {
        const redisReply *ent = arr->element[i];
        if (!ent || ent->type != REDIS_REPLY_ARRAY || ent->elements < 2 ||
            ent->element[0]->type != REDIS_REPLY_STRING)
            continue;
        const char *id = ent->element[0]->str;
        if (last)
            snprintf(last, lastcap, "%s", id);
        got++;
        if (entry_held(ob, id))
            continue;
        obx_entry *e = outbox__entry_new(ob, id, ent->element[1], redelivered);
        if (!e) {
            KK_LOG_ERROR(&ob->log, "entry_alloc_failed", KK_S("outboxID", id));
            continue;
        }
        ob->stats.read++;
        if (e->st == OBE_RESULT) /* malformed: rejected at once */
            outbox__result(e, e->status, 0, e->err_msg);
        else
            outbox__entry_step(e, now);
    }
    return got;
}

/* XGROUP CREATE answered (OK, or BUSYGROUP when it exists). */
static void on_group(void *ud, int status, const redisReply *reply)
{
    outbox *ob = ud;
    ob->rd_busy = false;
    if (!ob->closing && status == 0 && reply &&
        (reply->type == REDIS_REPLY_STATUS ||
         (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "BUSYGROUP", 9) == 0))) {
        ob->group_ready = true;
        ob->recovering = true;
        snprintf(ob->rec_from, sizeof ob->rec_from, "0");
    } else if (!ob->closing) {
        ob->rd_not_before = uv_now(ob->loop) + 1000;
        KK_LOG_WARN(&ob->log, "outbox_group_failed",
                    KK_S("detail", status ? kk_strerror(status)
                                          : reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "?"));
    }
    outbox__unref(ob);
}

/* XREADGROUP answered: [[key, [[id, fields], ...]]] or nil on timeout. */
static void on_read(void *ud, int status, const redisReply *reply)
{
    outbox *ob = ud;
    ob->rd_busy = false;
    if (!ob->closing && status == 0 && reply) {
        const redisReply *arr = NULL;
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
            reply->element[0]->type == REDIS_REPLY_ARRAY && reply->element[0]->elements == 2)
            arr = reply->element[0]->element[1];
        if (reply->type == REDIS_REPLY_ERROR) {
            KK_LOG_WARN(&ob->log, "outbox_read_failed", KK_S("detail", reply->str));
            ob->group_ready = false; /* NOGROUP: stream or group deleted */
            ob->rd_not_before = uv_now(ob->loop) + 1000;
        } else if (ob->recovering) {
            char last[48] = "";
            size_t got = take_entries(ob, arr, true, last, sizeof last);
            if (got == 0 || !last[0]) {
                ob->recovering = false;
            } else {
                snprintf(ob->rec_from, sizeof ob->rec_from, "%s", last);
                KK_LOG_INFO(&ob->log, "outbox_recovered", KK_U("entries", got));
            }
        } else {
            (void)take_entries(ob, arr, false, NULL, 0);
        }
    }
    /* unref may free ob once it is closing: read the flag first */
    bool closing = ob->closing;
    outbox__unref(ob);
    if (!closing)
        pump(ob);
}

/* XAUTOCLAIM answered: [cursor, [[id, fields], ...], [deleted ids]]. */
static void on_claim(void *ud, int status, const redisReply *reply)
{
    outbox *ob = ud;
    ob->rd_busy = false;
    if (!ob->closing && status == 0 && reply && reply->type == REDIS_REPLY_ARRAY &&
        reply->elements >= 2 && reply->element[0]->type == REDIS_REPLY_STRING) {
        size_t before = ob->stats.read;
        (void)take_entries(ob, reply->element[1], true, NULL, 0);
        if (ob->stats.read > before) {
            ob->stats.claimed += ob->stats.read - before;
            KK_LOG_INFO(&ob->log, "outbox_claimed", KK_U("entries", ob->stats.read - before));
        }
        snprintf(ob->claim_cursor, sizeof ob->claim_cursor, "%s", reply->element[0]->str);
    }
    /* a non-zero cursor means more to scan: continue at once; "0-0" ends
     * the round (a failed scan too) */
    if (strcmp(ob->claim_cursor, "0-0") == 0 || status != 0) {
        snprintf(ob->claim_cursor, sizeof ob->claim_cursor, "0-0");
        ob->next_claim_ms = uv_now(ob->loop) + OUTBOX_CLAIM_EVERY_MS;
        ob->refreshed = false;
        if (ob->route) { /* leases: entries handed over to us are pending */
            ob->recovering = true;
            snprintf(ob->rec_from, sizeof ob->rec_from, "0");
        }
    }
    /* unref may free ob once it is closing: read the flag first */
    bool closing = ob->closing;
    outbox__unref(ob);
    if (!closing)
        pump(ob);
}

/* XCLAIM ... JUSTID of our own entries answered (idle times reset). */
static void on_refresh(void *ud, int status, const redisReply *reply)
{
    outbox *ob = ud;
    (void)status;
    (void)reply;
    ob->rd_busy = false;
    /* unref may free ob once it is closing: read the flag first */
    bool closing = ob->closing;
    outbox__unref(ob);
    if (!closing)
        pump(ob);
}

/* Sends one command on rd; false when rd refused it. */
static bool rd_cmd(outbox *ob, int argc, const char **argv, rconn_reply_fn cb)
{
    size_t lens[8 + OUTBOX_MAX_INFLIGHT];
    if (argc > (int)(sizeof lens / sizeof lens[0]))
        return false;
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    ob->refs++;
    ob->rd_busy = true;
    if (rconn_cmd(ob->rd, argc, argv, lens, cb, ob) < 0) {
        ob->refs--;
        ob->rd_busy = false;
        return false;
    }
    return true;
}

/* Resets the idle time of every entry we hold (XCLAIM ... JUSTID to
 * ourselves), so another instance's XAUTOCLAIM never takes an entry from a
 * live consumer. False when nothing was sent. */
static bool refresh_own(outbox *ob)
{
    const char *argv[6 + OUTBOX_MAX_INFLIGHT];
    int argc = 0;
    argv[argc++] = "XCLAIM";
    argv[argc++] = ob->key_outbox;
    argv[argc++] = OUTBOX_GROUP;
    argv[argc++] = ob->consumer;
    argv[argc++] = "0";
    for (obx_entry *e = ob->head; e && argc < 5 + OUTBOX_MAX_INFLIGHT; e = e->next)
        argv[argc++] = e->id;
    if (argc == 5)
        return false;
    argv[argc++] = "JUSTID";
    return rd_cmd(ob, argc, argv, on_refresh);
}

/* Issues the next command on the dedicated connection, if any is due:
 * group creation, own pending entries, claims, refresh, then new entries. */
static void pump(outbox *ob)
{
    if (ob->closing || ob->rd_busy || !rconn_is_up(ob->rd))
        return;
    uint64_t now = uv_now(ob->loop);
    if (now < ob->rd_not_before)
        return;
    if (!ob->group_ready) {
        const char *argv[] = { "XGROUP", "CREATE", ob->key_outbox, OUTBOX_GROUP, "0", "MKSTREAM" };
        (void)rd_cmd(ob, 6, argv, on_group);
        return;
    }
    if (ob->n >= OUTBOX_MAX_INFLIGHT)
        return; /* results free room, then on_result pumps */
    char count[16];
    snprintf(count, sizeof count, "%u", OUTBOX_READ_COUNT);
    if (ob->recovering) {
        const char *argv[] = { "XREADGROUP", "GROUP", OUTBOX_GROUP, ob->consumer, "COUNT", count,
                               "STREAMS", ob->key_outbox, ob->rec_from };
        (void)rd_cmd(ob, 9, argv, on_read);
        return;
    }
    if (now >= ob->next_claim_ms) {
        /* a round: refresh our own entries, then scan for dead ones */
        if (!ob->refreshed) {
            ob->refreshed = true;
            if (refresh_own(ob))
                return;
        }
        char idle[24];
        snprintf(idle, sizeof idle, "%llu", (unsigned long long)ob->claim_idle_ms);
        const char *argv[] = { "XAUTOCLAIM", ob->key_outbox, OUTBOX_GROUP, ob->consumer, idle,
                               ob->claim_cursor, "COUNT", count };
        (void)rd_cmd(ob, 8, argv, on_claim);
        return;
    }
    char block[16];
    snprintf(block, sizeof block, "%u", OUTBOX_BLOCK_MS);
    size_t room = OUTBOX_MAX_INFLIGHT - ob->n;
    if (room < OUTBOX_READ_COUNT)
        snprintf(count, sizeof count, "%zu", room);
    const char *argv[] = { "XREADGROUP", "GROUP", OUTBOX_GROUP, ob->consumer, "COUNT", count,
                           "BLOCK", block, "STREAMS", ob->key_outbox, ">" };
    (void)rd_cmd(ob, 11, argv, on_read);
}

/* The dedicated connection came up or went down. */
static void on_rd_state(void *ud, bool up, const char *reason)
{
    outbox *ob = ud;
    if (ob->closing)
        return;
    if (!up) {
        KK_LOG_WARN(&ob->log, "outbox_redis_down", KK_S("reason", reason ? reason : ""));
        ob->group_ready = false;
        return;
    }
    /* Redis may have lost the group (restart without persistence): create
     * it again, then read our pending entries from the start (held ones are
     * skipped by ID). */
    ob->group_ready = false;
    pump(ob);
}

/* The timer: refill the rate limit, step every entry, retry results. */
static void on_tick(uv_timer_t *h)
{
    outbox *ob = h->data;
    uint64_t now = uv_now(ob->loop);
    double burst = ob->rate < 1 ? 1 : ob->rate;
    ob->bucket += ob->rate * (double)(now - ob->bucket_ms) / 1000.0;
    if (ob->bucket > burst)
        ob->bucket = burst;
    ob->bucket_ms = now;
    for (obx_entry *e = ob->head, *next; e; e = next) {
        next = e->next; /* a step may free e */
        if (e->st == OBE_RESULT) {
            if (now >= e->not_before)
                write_result(e);
        } else {
            outbox__entry_step(e, now);
        }
    }
    pump(ob);
}

/* Registers the outbox's metric series. */
static void metrics_init(outbox *ob, metrics *m)
{
    if (!m)
        return;
    metric *r = metrics_counter(m, "kkim_outbox_results_total", "Outbox results written by status.",
                                (const char *[]){ "tenant", "status", NULL });
    const char *st[3] = { "sent", "rejected", "failed" };
    for (int i = 0; i < 3; i++)
        ob->m_results[i] = metric_series_get(r, (const char *[]){ ob->tenant, st[i] });
    metric *s = metrics_counter(m, "kkim_outbox_settled_total",
                                "Sends of unknown fate settled by pulling the conversation.",
                                (const char *[]){ "tenant", "found", NULL });
    ob->m_settled[0] = metric_series_get(s, (const char *[]){ ob->tenant, "false" });
    ob->m_settled[1] = metric_series_get(s, (const char *[]){ ob->tenant, "true" });
}

/* Creates the outbox; see outbox.h. */
outbox *outbox_new(const outbox_cfg *cfg)
{
    if (!cfg || !cfg->loop || !cfg->redis || !cfg->url || !cfg->tenant || !cfg->consumer ||
        !cfg->consumer[0] || strlen(cfg->tenant) > 128 || strchr(cfg->tenant, '}') ||
        !cfg->session_of)
        return NULL;
    outbox *ob = calloc(1, sizeof *ob);
    if (!ob)
        return NULL;
    ob->loop = cfg->loop;
    ob->shared = cfg->redis;
    ob->tenant = strdup(cfg->tenant);
    ob->consumer = strdup(cfg->consumer);
    ob->rate = cfg->sends_per_second > 0 ? cfg->sends_per_second : 1000;
    ob->deadline_ms = cfg->offline_deadline_ms ? cfg->offline_deadline_ms : 30000;
    ob->results_maxlen = cfg->results_maxlen;
    ob->claim_idle_ms = cfg->claim_min_idle_ms ? cfg->claim_min_idle_ms : 30000;
    ob->session_of = cfg->session_of;
    ob->route = cfg->route;
    ob->ud = cfg->ud;
    ob->log.mod = "outbox";
    snprintf(ob->claim_cursor, sizeof ob->claim_cursor, "0-0");
    if (!ob->tenant || !ob->consumer) {
        free(ob->tenant);
        free(ob->consumer);
        free(ob);
        return NULL;
    }
    ob->log.tenant = ob->tenant;
    snprintf(ob->key_outbox, sizeof ob->key_outbox, "kkim:{%s}:outbox", ob->tenant);
    snprintf(ob->key_results, sizeof ob->key_results, "kkim:{%s}:results", ob->tenant);
    snprintf(ob->key_done, sizeof ob->key_done, "kkim:{%s}:outbox:done", ob->tenant);
    char name[160];
    snprintf(name, sizeof name, "%s/outbox", ob->tenant);
    rconn_opts o = { .url = cfg->url, .cmd_timeout_ms = OUTBOX_BLOCK_MS + 5000, .name = name };
    if (rconn_new(ob->loop, &o, on_rd_state, ob, &ob->rd) != 0) {
        free(ob->tenant);
        free(ob->consumer);
        free(ob);
        return NULL;
    }
    metrics_init(ob, cfg->metrics);
    ob->refs = 2; /* the timer and rd, released by their close callbacks */
    uv_timer_init(ob->loop, &ob->timer);
    ob->timer.data = ob;
    ob->bucket = 1;
    ob->bucket_ms = uv_now(ob->loop);
    uv_timer_start(&ob->timer, on_tick, OUTBOX_TICK_MS, OUTBOX_TICK_MS);
    (void)rconn_start(ob->rd);
    return ob;
}

/* The timer handle closed. */
static void on_timer_closed(uv_handle_t *h)
{
    outbox__unref(h->data);
}

/* The dedicated connection closed. */
static void on_rd_closed(void *ud)
{
    outbox__unref(ud);
}

/* Stops reading; entries not waiting on a callback go now, the others
 * when their callback fires (they stay pending in the group). */
void outbox_free(outbox *ob)
{
    if (!ob)
        return;
    ob->closing = true;
    for (obx_entry *e = ob->head, *next; e; e = next) {
        next = e->next;
        if (e->st != OBE_CHECKING && e->st != OBE_SENDING && e->st != OBE_SETTLING &&
            e->st != OBE_WRITING)
            outbox__entry_free(e);
    }
    uv_timer_stop(&ob->timer);
    uv_close((uv_handle_t *)&ob->timer, on_timer_closed);
    rconn_close(ob->rd, on_rd_closed, ob);
}

/* Copies the totals. */
void outbox_get_stats(const outbox *ob, outbox_stats *st)
{
    *st = ob->stats;
    st->inflight = ob->n;
}
