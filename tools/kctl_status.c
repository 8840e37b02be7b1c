/* kctl_status.c — `kkimctl status`: one line per tenant from the relay's
 * admin API: logins per state (GET /v1/sessions) and the archive's health
 * from GET /metrics (messages appended, duplicates dropped, holes, gaps,
 * backpressure, bytes waiting in the ordering buffer — the lag — and
 * whether the tenant's Redis is up).
 *
 *   kkimctl status [--admin HOST:PORT] [--token TOKEN] [--json]
 *
 * The admin address comes from --admin, else $KKIM_ADMIN, else
 * 127.0.0.1:9540; the bearer token from --token, else $KKIM_ADMIN_TOKEN
 * (needed when the relay listens on a non-loopback address). Plain
 * HTTP/1.0 with a 5 s timeout; exit 1 when the relay cannot be reached. */
#include <arpa/inet.h>
#include <jansson.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "kctl.h"
#include "kk_err.h"
#include "tok_http.h"

/* Largest admin answer read (a sessions list of ~100k logins). */
#define STATUS_MAX_BODY (64u * 1024 * 1024)
/* Tenants shown. */
#define STATUS_MAX_TENANTS 1024

/* Per-tenant figures. */
typedef struct st_tenant {
    char id[72];
    long states[8]; /* idle resolving connecting online backoff parked other total */
    double appended, dups, holes, gaps, backpressure, buffered, redis_up;
    int redis_up_seen;
} st_tenant;

static const char *const st_names[] = { "idle", "resolving", "connecting", "online", "backoff",
                                        "parked" };

/* Prints a usage error and returns 2. */
static int status_usage(const char *why)
{
    fprintf(stderr, "kkimctl: status: %s\n", why);
    fprintf(stderr, "usage: kkimctl status [--admin HOST:PORT] [--token TOKEN] [--json]\n");
    return 2;
}

/* GET path from host:port; returns the body (malloc'd, NUL-terminated) or
 * NULL with a reason printed. */
static char *http_get(const char *addr, const char *path, const char *token)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof host) {
        fprintf(stderr, "kkimctl: status: --admin must be HOST:PORT\n");
        return NULL;
    }
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || !res) {
        fprintf(stderr, "kkimctl: status: cannot resolve %s\n", host);
        return NULL;
    }
    int fd = socket(res->ai_family, SOCK_STREAM, 0);
    struct timeval tv = { 5, 0 };
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
        fprintf(stderr, "kkimctl: status: cannot connect to the admin API at %s\n", addr);
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return NULL;
    }
    freeaddrinfo(res);
    char req[1024];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n%s%s%s\r\n", path, addr,
                     token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof req || write(fd, req, (size_t)n) != n) {
        fprintf(stderr, "kkimctl: status: cannot send the request\n");
        close(fd);
        return NULL;
    }
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf || len + 1 >= STATUS_MAX_BODY) {
            fprintf(stderr, "kkimctl: status: answer too large\n");
            free(buf);
            close(fd);
            return NULL;
        }
        if (cap - len < 4096) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                continue;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    int status = 0;
    char *body = NULL;
    size_t blen = 0;
    if (tok_http_parse(buf, len, 1, &status, &body, &blen) < 0 || status != 200) {
        fprintf(stderr, "kkimctl: status: %s answered %s %d\n", path,
                status ? "HTTP" : "garbage", status);
        free(buf);
        return NULL;
    }
    memmove(buf, body, blen);
    buf[blen] = '\0';
    return buf;
}

/* The tenant record of id (added when new), or NULL when the table is full. */
static st_tenant *tenant_of(st_tenant *v, size_t *n, const char *id)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(v[i].id, id))
            return &v[i];
    if (*n >= STATUS_MAX_TENANTS)
        return NULL;
    st_tenant *t = &v[(*n)++];
    memset(t, 0, sizeof *t);
    snprintf(t->id, sizeof t->id, "%s", id);
    return t;
}

/* Counts logins per state and tenant from /v1/sessions. */
static int count_sessions(const char *body, st_tenant *v, size_t *n)
{
    json_t *j = json_loads(body, 0, NULL);
    json_t *arr = json_object_get(j, "sessions");
    if (!json_is_array(arr)) {
        json_decref(j);
        fprintf(stderr, "kkimctl: status: /v1/sessions is not {\"sessions\":[...]}\n");
        return KK_EJSON;
    }
    size_t i;
    json_t *s;
    json_array_foreach(arr, i, s) {
        const char *tid = json_string_value(json_object_get(s, "tenant"));
        const char *st = json_string_value(json_object_get(s, "state"));
        st_tenant *t = tid ? tenant_of(v, n, tid) : NULL;
        if (!t)
            continue;
        int k = 6;
        for (int q = 0; q < 6; q++)
            if (st && !strcmp(st, st_names[q]))
                k = q;
        t->states[k]++;
        t->states[7]++;
    }
    json_decref(j);
    return 0;
}

/* Adds one Prometheus sample line to its tenant's figures. */
static void metric_line(const char *line, st_tenant *v, size_t *n)
{
    static const struct { const char *name; size_t off; } want[] = {
        { "kkim_messages_appended_total", offsetof(st_tenant, appended) },
        { "kkim_duplicates_dropped_total", offsetof(st_tenant, dups) },
        { "kkim_holes_total", offsetof(st_tenant, holes) },
        { "kkim_gaps_total", offsetof(st_tenant, gaps) },
        { "kkim_backpressure", offsetof(st_tenant, backpressure) },
        { "kkim_buffered_bytes", offsetof(st_tenant, buffered) },
        { "kkim_redis_up", offsetof(st_tenant, redis_up) },
    };
    const char *brace = strchr(line, '{');
    const char *tl = brace ? strstr(brace, "tenant=\"") : NULL;
    const char *close = brace ? strchr(brace, '}') : NULL;
    if (!brace || !tl || !close || tl > close)
        return;
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        size_t nl = strlen(want[w].name);
        if ((size_t)(brace - line) != nl || strncmp(line, want[w].name, nl))
            continue;
        char id[72];
        const char *a = tl + 8, *e = strchr(a, '"');
        if (!e || (size_t)(e - a) >= sizeof id)
            return;
        memcpy(id, a, (size_t)(e - a));
        id[e - a] = '\0';
        st_tenant *t = tenant_of(v, n, id);
        if (!t)
            return;
        double val = strtod(close + 1, NULL);
        *(double *)((char *)t + want[w].off) += val;
        if (want[w].off == offsetof(st_tenant, redis_up))
            t->redis_up_seen = 1;
        return;
    }
}

/* Prints the table or the JSON document. */
static void print_status(const st_tenant *v, size_t n, bool as_json)
{
    if (as_json) {
        json_t *out = json_object();
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            const st_tenant *t = &v[i];
            json_t *st = json_object();
            for (int q = 0; q < 6; q++)
                json_object_set_new(st, st_names[q], json_integer(t->states[q]));
            json_t *o = json_pack("{s:s,s:I,s:o,s:f,s:f,s:f,s:f,s:b,s:f}", "tenant", t->id,
                                  "logins", (json_int_t)t->states[7], "sessions", st, "appended",
                                  t->appended, "duplicatesDropped", t->dups, "holes", t->holes,
                                  "gaps", t->gaps, "backpressure", t->backpressure > 0,
                                  "bufferedBytes", t->buffered);
            if (o && t->redis_up_seen)
                json_object_set_new(o, "redisUp", json_boolean(t->redis_up > 0));
            json_array_append_new(arr, o);
        }
        json_object_set_new(out, "tenants", arr);
        char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(out);
        return;
    }
    printf("%-16s %6s %6s %6s %6s %6s %6s %12s %8s %6s %6s %4s %10s\n", "TENANT", "LOGINS",
           "ONLINE", "CONN", "BACKOF", "PARKED", "IDLE", "APPENDED", "DUPS", "HOLES", "GAPS", "BP",
           "BUFFERED");
    for (size_t i = 0; i < n; i++) {
        const st_tenant *t = &v[i];
        printf("%-16s %6ld %6ld %6ld %6ld %6ld %6ld %12.0f %8.0f %6.0f %6.0f %4s %10.0f\n", t->id,
               t->states[7], t->states[3], t->states[1] + t->states[2], t->states[4], t->states[5],
               t->states[0], t->appended, t->dups, t->holes, t->gaps,
               t->backpressure > 0 ? "on" : "off", t->buffered);
    }
}

/* Runs `kkimctl status` (argv[0] is "status"). */
int kctl_status(int argc, char **argv)
{
    const char *addr = getenv("KKIM_ADMIN");
    const char *token = getenv("KKIM_ADMIN_TOKEN");
    bool as_json = false;
    if (!addr || !addr[0])
        addr = "127.0.0.1:9540";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--admin") && i + 1 < argc)
            addr = argv[++i];
        else if (!strcmp(argv[i], "--token") && i + 1 < argc)
            token = argv[++i];
        else if (!strcmp(argv[i], "--json"))
            as_json = true;
        else
            return status_usage("unknown argument");
    }
    if (token && !token[0])
        token = NULL;
    st_tenant *v = calloc(STATUS_MAX_TENANTS, sizeof *v);
    size_t n = 0;
    char *sessions = v ? http_get(addr, "/v1/sessions", token) : NULL;
    char *metrics = sessions ? http_get(addr, "/metrics", token) : NULL;
    if (!sessions || !metrics || count_sessions(sessions, v, &n) < 0) {
        free(sessions);
        free(metrics);
        free(v);
        return 1;
    }
    char *save = NULL;
    for (char *line = strtok_r(metrics, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        if (line[0] != '#')
            metric_line(line, v, &n);
    print_status(v, n, as_json);
    free(sessions);
    free(metrics);
    free(v);
    return 0;
}
