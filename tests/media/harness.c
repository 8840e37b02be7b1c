/* harness.c — a standalone WebRTC recording harness for tests: serves a page
 * over HTTP on loopback and does the offer/answer/candidate exchange with it
 * directly (no gateway), recording through kkmedia.
 *
 *   media_harness PORT PAGE_DIR RECORDINGS_DIR [max_duration_ms] [media_timeout_ms]
 *
 * Endpoints: GET /<file> (from PAGE_DIR), POST /offer (SDP → answer SDP),
 * POST /candidate (one "candidate:..." line, empty = end), POST /end (body:
 * "hangup", "cancel", ... → waits for the file), GET /result. Each takes
 * ?id=N (0..7, default 0) to address one of several calls. The process exits
 * once every created call finished and a result was fetched, printing one
 * result JSON line per call (in id order) on stdout. KK_MEDIA_TEST_DROP and
 * KK_MEDIA_TEST_REORDER (per mille) impair the received RTP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "media.h"

#define H_MAX_REQ 70000

#define H_MAX_CALLS 8

struct harness;

/* One call of the harness (?id=N in the requests). */
typedef struct hcall {
    struct harness *h;
    bool created;
    char *answer;
    bool finished;
    char result[8192];
    media_call *call;
    struct timespec connected_at, ended_at;
    bool connected;
} hcall;

typedef struct harness {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    hcall calls[H_MAX_CALLS];
    bool done;                /* every call's result was served: exit */
    pthread_mutex_t req_mu;   /* one request handled at a time */
} harness;

/* What the accept thread needs. */
typedef struct srv {
    harness *h;
    media_pool *pool;
    const char *dir;
    int ls;
} srv;

/* One connection. */
typedef struct conn {
    srv *s;
    int fd;
} conn;

/* Seconds between two timespecs. */
static double secs(struct timespec a, struct timespec b)
{
    return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

/* media callback: keeps the answer. */
static void on_answer(void *ud, const char *sdp)
{
    hcall *c = ud;
    harness *h = c->h;
    pthread_mutex_lock(&h->mu);
    c->answer = strdup(sdp);
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

/* media callback: states. */
static void on_state(void *ud, media_call_state st)
{
    hcall *c = ud;
    harness *h = c->h;
    pthread_mutex_lock(&h->mu);
    if (st == MEDIA_STATE_CONNECTED) {
        c->connected = true;
        clock_gettime(CLOCK_MONOTONIC, &c->connected_at);
    }
    fprintf(stderr, "harness: call %d state %s\n", (int)(c - h->calls), st == MEDIA_STATE_CONNECTED ? "connected" : "media_started");
    pthread_mutex_unlock(&h->mu);
}

/* media callback: the finished recording. */
static void on_finished(void *ud, const media_call_result *r)
{
    hcall *c = ud;
    harness *h = c->h;
    pthread_mutex_lock(&h->mu);
    clock_gettime(CLOCK_MONOTONIC, &c->ended_at);
    double cs = c->connected ? secs(c->connected_at, c->ended_at) : 0;
    snprintf(c->result, sizeof(c->result),
             "{\"reason\":\"%s\",\"failed\":%s,\"file\":\"%s\",\"sidecar\":\"%s\","
             "\"sha256\":\"%s\",\"durationMs\":%lld,\"connectedSecs\":%.3f}",
             media_end_reason_name(r->reason), r->failed ? "true" : "false",
             r->file ? r->file : "", r->sidecar ? r->sidecar : "", r->sha256 ? r->sha256 : "",
             (long long)r->duration_ms, cs);
    c->finished = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

/* Writes an HTTP response. */
static void reply(int fd, int code, const char *type, const char *body, size_t len)
{
    char hdr[256];
    int n = snprintf(hdr, sizeof(hdr),
                     "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                     code, type, len);
    if (write(fd, hdr, (size_t)n) < 0 || (len && write(fd, body, len) < 0))
        perror("write");
}

/* Serves a file from dir (no '..'). */
static void serve_file(int fd, const char *dir, const char *name)
{
    char path[1024];
    if (strstr(name, "..") || !name[0])
        name = "page.html";
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        reply(fd, 404, "text/plain", "no", 2);
        return;
    }
    static char buf[262144];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    reply(fd, 200, strstr(name, ".js") ? "text/javascript" : "text/html", buf, n);
}

/* Waits until *flag is true or *ptr is set (either may be NULL), or
 * timeout seconds passed (mutex held). Returns false on timeout. */
static bool wait_for(harness *h, bool *flag, char **ptr, int timeout)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout;
    while (!((flag && *flag) || (ptr && *ptr)))
        if (pthread_cond_timedwait(&h->cv, &h->mu, &dl) == ETIMEDOUT)
            return false;
    return true;
}

/* Maps an end-reason name to the enum. */
static media_end_reason reason_of(const char *s)
{
    if (!strncmp(s, "cancel", 6))
        return MEDIA_END_CANCEL;
    if (!strncmp(s, "reject", 6))
        return MEDIA_END_REJECT;
    if (!strncmp(s, "shutdown", 8))
        return MEDIA_END_SHUTDOWN;
    return MEDIA_END_HANGUP;
}

/* Handles one request; returns true when the harness should exit. */
static bool handle(harness *h, media_pool *pool, int fd, const char *dir, char *req, size_t len)
{
    char *body = strstr(req, "\r\n\r\n");
    body = body ? body + 4 : req + len;
    size_t blen = (size_t)(req + len - body);
    char method[8] = "", path[256] = "";
    char *sp = strchr(req, ' ');
    if (!sp || sp - req >= (long)sizeof(method))
        return false;
    memcpy(method, req, (size_t)(sp - req));
    char *sp2 = strchr(sp + 1, ' ');
    if (!sp2 || sp2 - sp - 1 >= (long)sizeof(path))
        return false;
    memcpy(path, sp + 1, (size_t)(sp2 - sp - 1));
    char *q = strchr(path, '?');
    if (q)
        *q = '\0';
    body[blen] = '\0';
    if (!strcmp(method, "GET") && strcmp(path, "/result") != 0) {
        serve_file(fd, dir, path + 1);
        return false;
    }
    int id = 0;
    const char *qid = q ? strstr(q + 1, "id=") : NULL;
    if (qid)
        id = (int)strtol(qid + 3, NULL, 10);
    if (id < 0 || id >= H_MAX_CALLS) {
        reply(fd, 400, "text/plain", "id", 2);
        return false;
    }
    hcall *c = &h->calls[id];
    if (!strcmp(path, "/offer")) {
        fprintf(stderr, "harness: offer %d\n%s\nharness: end offer\n", id, body);
        media_call_cfg cc = {.offer_sdp = body, .tenant = "t1", .room_id = "room1",
                             .caller = "caller1", .callee = "callee1"};
        media_call_cbs cb = {.ud = c, .on_answer = on_answer, .on_state = on_state,
                             .on_finished = on_finished};
        if (c->created || media_call_new(pool, &cc, &cb, &c->call) < 0) {
            reply(fd, 400, "text/plain", "bad", 3);
            return false;
        }
        c->created = true;
        pthread_mutex_lock(&h->mu);
        bool ok = wait_for(h, &c->finished, &c->answer, 10);
        pthread_mutex_unlock(&h->mu);
        if (c->answer)
            reply(fd, 200, "application/sdp", c->answer, strlen(c->answer));
        else
            reply(fd, 500, "text/plain", ok ? c->result : "timeout", strlen(ok ? c->result : "timeout"));
        return false;
    }
    if (!strcmp(path, "/candidate")) {
        if (c->created)
            media_call_add_remote_candidate(c->call, body);
        reply(fd, 200, "text/plain", "ok", 2);
        return false;
    }
    if (!strcmp(path, "/end") || !strcmp(path, "/result")) {
        if (!strcmp(path, "/end") && c->created)
            media_call_end(c->call, reason_of(body));
        pthread_mutex_lock(&h->mu);
        wait_for(h, &c->finished, NULL, 30);
        bool all = true;
        for (int i = 0; i < H_MAX_CALLS; i++)
            all &= !h->calls[i].created || h->calls[i].finished;
        pthread_mutex_unlock(&h->mu);
        reply(fd, 200, "application/json", c->result, strlen(c->result));
        return c->created && all;
    }
    reply(fd, 404, "text/plain", "no", 2);
    return false;
}

/* Reads one request (headers + Content-Length body). Returns its length or -1. */
static long read_req(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    long want = -1;
    while (len + 1 < cap) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        char *e = strstr(buf, "\r\n\r\n");
        if (e && want < 0) {
            char *cl = strcasestr(buf, "Content-Length:");
            want = (long)(e + 4 - buf) + (cl && cl < e ? strtol(cl + 15, NULL, 10) : 0);
        }
        if (want >= 0 && (long)len >= want)
            return (long)len;
    }
    return -1;
}

/* Connection thread: Chromium opens speculative connections that never send
 * a request, so each connection gets its own thread and a read timeout. */
static void *conn_main(void *arg)
{
    conn *c = arg;
    char *req = malloc(H_MAX_REQ);
    struct timeval tv = {.tv_sec = 20};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    long n = req ? read_req(c->fd, req, H_MAX_REQ) : -1;
    if (n > 0) {
        harness *h = c->s->h;
        /* /result only waits for the end: it must not block the call's setup. */
        bool serial = strncmp(req, "GET /result", 11) != 0;
        if (serial)
            pthread_mutex_lock(&h->req_mu);
        bool done = h->done || handle(h, c->s->pool, c->fd, c->s->dir, req, (size_t)n);
        if (serial)
            pthread_mutex_unlock(&h->req_mu);
        if (done) {
            pthread_mutex_lock(&h->mu);
            h->done = true;
            pthread_cond_broadcast(&h->cv);
            pthread_mutex_unlock(&h->mu);
        }
    }
    close(c->fd);
    free(req);
    free(c);
    return NULL;
}

/* Accept thread. */
static void *accept_main(void *arg)
{
    srv *s = arg;
    for (;;) {
        int fd = accept(s->ls, NULL, NULL);
        if (fd < 0)
            continue;
        conn *c = malloc(sizeof(*c));
        pthread_t t;
        if (!c) {
            close(fd);
            continue;
        }
        c->s = s;
        c->fd = fd;
        if (pthread_create(&t, NULL, conn_main, c) != 0) {
            close(fd);
            free(c);
            continue;
        }
        pthread_detach(t);
    }
    return NULL;
}

/* Signal thread: SIGTERM/SIGINT make main stop the pool (calls end with
 * "shutdown" and their files are finalized). */
static void *signal_main(void *arg)
{
    harness *h = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig;
    sigwait(&set, &sig);
    pthread_mutex_lock(&h->mu);
    h->done = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* Entry point; see the top comment. */
int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s PORT PAGE_DIR RECORDINGS [max_ms] [timeout_ms]\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    sigset_t set; /* blocked in every thread; the signal thread takes them */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    media_cfg cfg = {.threads = 1, .add_loopback = true, .recordings = argv[3],
                     .max_duration_ms = argc > 4 ? (int)strtol(argv[4], NULL, 10) : 0,
                     .media_timeout_ms = argc > 5 ? (int)strtol(argv[5], NULL, 10) : 0};
    const char *drop = getenv("KK_MEDIA_TEST_DROP"), *reorder = getenv("KK_MEDIA_TEST_REORDER");
    cfg.test_drop_permille = drop ? (int)strtol(drop, NULL, 10) : 0;
    cfg.test_reorder_permille = reorder ? (int)strtol(reorder, NULL, 10) : 0;
    media_pool *pool;
    if (media_pool_new(&cfg, &pool) < 0) {
        fprintf(stderr, "harness: media_pool_new failed\n");
        return 1;
    }
    /* static, as s below: connection threads (Chromium's late or speculative
     * requests) may still read them while main returns. */
    static harness h;
    memset(&h, 0, sizeof(h));
    for (int i = 0; i < H_MAX_CALLS; i++)
        h.calls[i].h = &h;
    pthread_mutex_init(&h.mu, NULL);
    pthread_cond_init(&h.cv, NULL);
    pthread_mutex_init(&h.req_mu, NULL);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)strtol(argv[1], NULL, 10))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 16) < 0) {
        perror("bind");
        return 1;
    }
    fprintf(stderr, "harness: listening on %s\n", argv[1]);
    static srv s;
    s = (srv){.h = &h, .pool = pool, .dir = argv[2], .ls = ls};
    pthread_t acc, sig;
    pthread_create(&acc, NULL, accept_main, &s);
    pthread_detach(acc);
    pthread_create(&sig, NULL, signal_main, &h);
    pthread_detach(sig);
    pthread_mutex_lock(&h.mu);
    while (!h.done)
        pthread_cond_wait(&h.cv, &h.mu);
    pthread_mutex_unlock(&h.mu);
    pthread_mutex_lock(&h.req_mu); /* no request in flight past this point */
    media_pool_free(pool); /* a live call ends with "shutdown" here */
    for (int i = 0; i < H_MAX_CALLS; i++) {
        hcall *c = &h.calls[i];
        if (!c->created)
            continue;
        printf("%s\n", c->result);
        media_call_release(c->call);
        free(c->answer);
    }
    return 0;
}
