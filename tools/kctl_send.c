/* kctl_send.c — `kkimctl send`: appends one entry to kkim:{TENANT}:outbox
 * and waits for its result in kkim:{TENANT}:results (design §5).
 *
 *   kkimctl send TENANT --as USER (--to USER | --group GROUP) [--redis URL]
 *                [--content-type N] [--content JSON] [--client-msg-id ID]
 *                [--timeout SECONDS] [--json] [TEXT]
 *
 * TEXT becomes the content {"text":TEXT} (contentType 101); --content
 * passes a content JSON string through untouched instead. The last result
 * ID is pinned before the XADD, so the result cannot be missed. Prints the
 * result as one line (`sent outboxID=... clientMsgID=... seq=...`) or, with
 * --json, as a JSON object; exits 0 when sent, 1 when rejected, failed or
 * no result came within the timeout (default 60 s), 2 on usage errors. */
#include <hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kctl.h"

/* Longest key: "kkim:{" + tenant + "}:outbox". */
#define SEND_KEY_MAX 300

typedef struct send_opts {
    const char *tenant, *as, *to, *group, *url, *text, *content, *cmid;
    const char *content_type;
    long timeout_s;
    bool json;
} send_opts;

/* Prints a usage error and returns 2. */
static int send_usage(const char *why)
{
    fprintf(stderr, "kkimctl: send: %s\n", why);
    fprintf(stderr, "usage: kkimctl send TENANT --as USER (--to USER | --group GROUP) "
                    "[--redis URL] [--content-type N] [--content JSON] [--client-msg-id ID] "
                    "[--timeout SECONDS] [--json] [TEXT]\n");
    return 2;
}

/* Parses the send arguments (argv[0] is "send"). */
static int send_parse(int argc, char **argv, send_opts *o)
{
    memset(o, 0, sizeof *o);
    o->url = kctl_redis_default_url();
    o->timeout_s = 60;
    o->content_type = "101";
    int pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--as") && has)
            o->as = argv[++i];
        else if (!strcmp(a, "--to") && has)
            o->to = argv[++i];
        else if (!strcmp(a, "--group") && has)
            o->group = argv[++i];
        else if (!strcmp(a, "--redis") && has)
            o->url = argv[++i];
        else if (!strcmp(a, "--content-type") && has)
            o->content_type = argv[++i];
        else if (!strcmp(a, "--content") && has)
            o->content = argv[++i];
        else if (!strcmp(a, "--client-msg-id") && has)
            o->cmid = argv[++i];
        else if (!strcmp(a, "--timeout") && has)
            o->timeout_s = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--json"))
            o->json = true;
        else if (a[0] == '-' && a[1])
            return -1;
        else if (pos == 0 && ++pos)
            o->tenant = a;
        else if (pos == 1 && ++pos)
            o->text = a;
        else
            return -1;
    }
    if (!o->tenant || !o->as || !o->to == !o->group || !o->text == !o->content)
        return -1;
    return o->timeout_s > 0 ? 0 : -1;
}

/* Returns the value of field name in a stream entry's field array. */
static const redisReply *field(const redisReply *kv, const char *name)
{
    for (size_t i = 0; i + 1 < kv->elements; i += 2)
        if (kv->element[i]->type == REDIS_REPLY_STRING && !strcmp(kv->element[i]->str, name))
            return kv->element[i + 1];
    return NULL;
}

/* Prints a result entry; returns the exit code (0 sent, 1 otherwise). */
static int print_result(const redisReply *kv, bool as_json)
{
    static const char *const names[] = { "outboxID", "clientMsgID", "seq", "serverMsgID",
                                         "sendTime", "errCode", "errMsg" };
    const redisReply *st = field(kv, "status");
    const char *status = st && st->type == REDIS_REPLY_STRING ? st->str : "?";
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string(status));
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const redisReply *v = field(kv, names[i]);
        json_object_set_new(o, names[i], json_stringn(v && v->str ? v->str : "", v ? v->len : 0));
    }
    if (as_json) {
        char *line = json_dumps(o, JSON_COMPACT);
        if (line)
            puts(line);
        free(line);
    } else {
        printf("%s", status);
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            const char *v = json_string_value(json_object_get(o, names[i]));
            if (i == 6) {
                json_t *s = json_string(v ? v : "");
                char *q = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
                printf(" %s=%s", names[i], q ? q : "\"\"");
                free(q);
                json_decref(s);
            } else {
                printf(" %s=%s", names[i], v ? v : "");
            }
        }
        putchar('\n');
    }
    fflush(stdout);
    json_decref(o);
    return strcmp(status, "sent") == 0 ? 0 : 1;
}

/* Copies the ID of the newest entry of key into last ("0-0" when empty). */
static void pin_last(kctl_redis *c, const char *key, char *last, size_t cap)
{
    redisReply *r = kctl_redis_cmd(c, "XREVRANGE %s + - COUNT 1", key);
    snprintf(last, cap, "0-0");
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements >= 1)
        snprintf(last, cap, "%.*s", (int)r->element[0]->element[0]->len,
                 r->element[0]->element[0]->str);
    freeReplyObject(r);
}

/* XADDs the entry; writes its ID into id. Returns 0 or -1 (printed). */
static int append_entry(kctl_redis *c, const char *key, const send_opts *o, char *id, size_t cap)
{
    char *body = NULL;
    if (o->text) {
        json_t *j = json_pack("{s:s}", "text", o->text);
        body = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
    }
    const char *content = o->content ? o->content : body;
    const char *argv[16];
    size_t argc = 0;
    argv[argc++] = "XADD";
    argv[argc++] = key;
    argv[argc++] = "*";
    argv[argc++] = "sendID";
    argv[argc++] = o->as;
    argv[argc++] = o->group ? "groupID" : "recvID";
    argv[argc++] = o->group ? o->group : o->to;
    argv[argc++] = "sessionType";
    argv[argc++] = o->group ? "3" : "1";
    argv[argc++] = "contentType";
    argv[argc++] = o->content_type;
    argv[argc++] = "content";
    argv[argc++] = content ? content : "";
    if (o->cmid) {
        argv[argc++] = "clientMsgID";
        argv[argc++] = o->cmid;
    }
    redisReply *r = content ? kctl_redis_argv(c, (int)argc, argv, NULL) : NULL;
    int rc = 0;
    if (!r || r->type != REDIS_REPLY_STRING) {
        fprintf(stderr, "kkimctl: send: XADD failed: %s\n",
                r && r->type == REDIS_REPLY_ERROR ? r->str : kctl_redis_errstr(c));
        rc = -1;
    } else {
        snprintf(id, cap, "%s", r->str);
    }
    freeReplyObject(r);
    free(body);
    return rc;
}

/* Waits for the result of outbox entry id after last; returns the exit code. */
static int wait_result(kctl_redis *c, const char *rkey, const char *id, char *last, size_t cap,
                       const send_opts *o)
{
    time_t end = time(NULL) + o->timeout_s;
    while (time(NULL) < end) {
        redisReply *r = kctl_redis_cmd(c, "XREAD COUNT 100 BLOCK 1000 STREAMS %s %s", rkey, last);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "kkimctl: send: XREAD failed: %s\n", r ? r->str : kctl_redis_errstr(c));
            freeReplyObject(r);
            return 1;
        }
        const redisReply *ents = r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
                                         r->element[0]->elements == 2
                                     ? r->element[0]->element[1]
                                     : NULL;
        for (size_t i = 0; ents && i < ents->elements; i++) {
            const redisReply *e = ents->element[i];
            if (e->type != REDIS_REPLY_ARRAY || e->elements < 2)
                continue;
            snprintf(last, cap, "%s", e->element[0]->str);
            const redisReply *ob = field(e->element[1], "outboxID");
            if (ob && ob->str && !strcmp(ob->str, id)) {
                int code = print_result(e->element[1], o->json);
                freeReplyObject(r);
                return code;
            }
        }
        freeReplyObject(r);
    }
    fprintf(stderr, "kkimctl: send: no result for %s within %ld s (is a relay running for this "
                    "tenant?)\n", id, o->timeout_s);
    return 1;
}

/* Runs `kkimctl send`. */
int kctl_send(int argc, char **argv)
{
    send_opts o;
    if (send_parse(argc, argv, &o) < 0)
        return send_usage("bad arguments");
    char key[SEND_KEY_MAX], rkey[SEND_KEY_MAX];
    if ((size_t)snprintf(key, sizeof key, "kkim:{%s}:outbox", o.tenant) >= sizeof key ||
        (size_t)snprintf(rkey, sizeof rkey, "kkim:{%s}:results", o.tenant) >= sizeof rkey)
        return send_usage("tenant name too long");
    kctl_redis c;
    if (kctl_redis_open(&c, o.url, "send") < 0)
        return 1;
    char last[64], id[64];
    pin_last(&c, rkey, last, sizeof last);
    int code = 1;
    if (c.c && append_entry(&c, key, &o, id, sizeof id) == 0)
        code = wait_result(&c, rkey, id, last, sizeof last, &o);
    kctl_redis_close(&c);
    return code;
}
