/* tok_http.c — HTTP/1.1 POST over uv_tcp for the http token source.
 * Contract: tok_http.h. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kk_err.h"
#include "tok_http.h"

/* Longest header block accepted. */
#define TOK_HTTP_MAX_HEADERS (16u * 1024)

struct tok_http {
    uv_loop_t *loop;
    uv_getaddrinfo_t gai;
    uv_connect_t conn;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wr;
    char port[8];
    char *req;
    size_t req_len;
    char *resp;
    size_t len, cap;
    tok_http_fn cb;
    void *ud;
    int pending;    /* open handles + outstanding getaddrinfo */
    bool tcp_open;
    bool done;
    bool cancelled;
    int fail;       /* a failure found while starting, reported from the timer */
};

/* Parses "http://host[:port][/prefix]". */
int tok_url_parse(const char *url, tok_url *out)
{
    memset(out, 0, sizeof *out);
    if (strncmp(url, "http://", 7) != 0)
        return KK_EINVAL;
    const char *h = url + 7, *e = h;
    while (*e && *e != ':' && *e != '/')
        e++;
    if (e == h || (size_t)(e - h) >= sizeof out->host)
        return KK_EINVAL;
    memcpy(out->host, h, (size_t)(e - h));
    out->port = 80;
    if (*e == ':') {
        char *end = NULL;
        long p = strtol(e + 1, &end, 10);
        if (end == e + 1 || p < 1 || p > 65535 || (*end && *end != '/'))
            return KK_EINVAL;
        out->port = (int)p;
        e = end;
    }
    size_t pl = strlen(e);
    while (pl > 0 && e[pl - 1] == '/')
        pl--;
    if (pl >= sizeof out->path)
        return KK_EINVAL;
    memcpy(out->path, e, pl);
    return 0;
}

/* Decodes a chunked body in place; *out_len is the decoded length. */
static int dechunk(char *p, size_t len, size_t *out_len)
{
    size_t r = 0, w = 0;
    for (;;) {
        char *nl = memchr(p + r, '\n', len - r);
        if (!nl)
            return KK_EAGAIN;
        char *end = NULL;
        unsigned long n = strtoul(p + r, &end, 16);
        if (end == p + r || n > TOK_HTTP_MAX_RESPONSE)
            return KK_EPROTO;
        r = (size_t)(nl - p) + 1;
        if (n == 0) {
            *out_len = w;
            return 0;
        }
        if (len - r < n + 2)
            return KK_EAGAIN;
        memmove(p + w, p + r, n);
        w += n;
        r += n;
        if (p[r] == '\r')
            r++;
        if (r >= len || p[r] != '\n')
            return r >= len ? KK_EAGAIN : KK_EPROTO;
        r++;
    }
}

/* Parses a response (tok_http.h). */
int tok_http_parse(char *buf, size_t len, int at_eof, int *status, char **body,
                   size_t *body_len)
{
    char *hend = NULL;
    for (size_t i = 0; i + 3 < len; i++)
        if (!memcmp(buf + i, "\r\n\r\n", 4)) {
            hend = buf + i;
            break;
        }
    if (!hend)
        return len > TOK_HTTP_MAX_HEADERS ? KK_EPROTO : (at_eof ? KK_EPROTO : KK_EAGAIN);
    if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ' || !isdigit((unsigned char)buf[9]) ||
        !isdigit((unsigned char)buf[10]) || !isdigit((unsigned char)buf[11]))
        return KK_EPROTO;
    *status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    long clen = -1;
    bool chunked = false;
    char *line = memchr(buf, '\n', (size_t)(hend - buf));
    while (line && line < hend) {
        line++;
        char *eol = memchr(line, '\n', (size_t)(hend + 2 - line));
        if (!eol)
            break;
        size_t ll = (size_t)(eol - line);
        if (ll > 15 && !strncasecmp(line, "content-length:", 15)) {
            char tmp[24] = "";
            size_t n = ll - 15 < sizeof tmp - 1 ? ll - 15 : sizeof tmp - 1;
            memcpy(tmp, line + 15, n);
            char *end = NULL;
            clen = strtol(tmp, &end, 10);
            if (end == tmp || clen < 0 || clen > (long)TOK_HTTP_MAX_RESPONSE)
                return KK_EPROTO;
        } else if (ll > 18 && !strncasecmp(line, "transfer-encoding:", 18)) {
            for (size_t i = 18; i + 7 <= ll; i++)
                if (!strncasecmp(line + i, "chunked", 7))
                    chunked = true;
        }
        line = eol;
    }
    char *b = hend + 4;
    size_t avail = len - (size_t)(b - buf);
    if (chunked) {
        int rc = dechunk(b, avail, body_len);
        if (rc == KK_EAGAIN && at_eof)
            return KK_EPROTO;
        if (rc < 0)
            return rc;
    } else if (clen >= 0) {
        if (avail < (size_t)clen)
            return at_eof ? KK_EPROTO : KK_EAGAIN;
        *body_len = (size_t)clen;
    } else {
        if (!at_eof)
            return KK_EAGAIN;
        *body_len = avail;
    }
    *body = b;
    b[*body_len] = '\0'; /* the read buffer always has a spare byte */
    return 0;
}

/* Frees the request once nothing refers to it any more. */
static void maybe_free(tok_http *h)
{
    if (h->pending > 0)
        return;
    free(h->req);
    free(h->resp);
    free(h);
}

/* Close callback of the timer and the socket. */
static void on_closed(uv_handle_t *hd)
{
    tok_http *h = hd->data;
    h->pending--;
    maybe_free(h);
}

/* Reports the outcome once, then closes everything. */
static void finish(tok_http *h, int status, int http_status, const char *body, size_t len)
{
    if (h->done)
        return;
    h->done = true;
    if (!h->cancelled)
        h->cb(h->ud, status, http_status, body ? body : "", len);
    uv_timer_stop(&h->timer);
    uv_close((uv_handle_t *)&h->timer, on_closed);
    if (h->tcp_open)
        uv_close((uv_handle_t *)&h->tcp, on_closed);
}

/* Deadline, or a failure found while starting (reported asynchronously so
 * the callback never runs inside tok_http_post). */
static void on_timeout(uv_timer_t *t)
{
    tok_http *h = t->data;
    if (h->gai.loop && h->pending > 1 && !h->tcp_open)
        uv_cancel((uv_req_t *)&h->gai);
    finish(h, h->fail ? h->fail : KK_EAGAIN, 0, NULL, 0);
}

/* Reports status from the next loop iteration. */
static void fail_soon(tok_http *h, int status)
{
    h->fail = status;
    uv_timer_start(&h->timer, on_timeout, 0, 0);
}

/* Read buffer: the response grows up to the cap (+1 for the NUL). */
static void on_alloc(uv_handle_t *hd, size_t sug, uv_buf_t *buf)
{
    tok_http *h = hd->data;
    (void)sug;
    if (h->cap - h->len < 4096 + 1 && h->cap < TOK_HTTP_MAX_RESPONSE + 1) {
        size_t ncap = h->cap ? h->cap * 2 : 8192;
        if (ncap > TOK_HTTP_MAX_RESPONSE + 1)
            ncap = TOK_HTTP_MAX_RESPONSE + 1;
        char *n = realloc(h->resp, ncap);
        if (n) {
            h->resp = n;
            h->cap = ncap;
        }
    }
    size_t room = h->cap > h->len + 1 ? h->cap - h->len - 1 : 0;
    *buf = uv_buf_init(room ? h->resp + h->len : NULL, (unsigned)room);
}

/* Accumulates the response; parses at every read and at EOF. */
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    tok_http *h = s->data;
    (void)buf;
    if (h->done)
        return;
    if (n == 0)
        return;
    bool eof = n == UV_EOF;
    if (n < 0 && !eof) {
        finish(h, KK_EIO, 0, NULL, 0);
        return;
    }
    if (n > 0)
        h->len += (size_t)n;
    if (!eof && h->len + 1 >= TOK_HTTP_MAX_RESPONSE + 1) {
        finish(h, KK_ETOOBIG, 0, NULL, 0);
        return;
    }
    if (!h->resp) {
        finish(h, eof ? KK_EIO : KK_ENOMEM, 0, NULL, 0);
        return;
    }
    int st = 0;
    char *body = NULL;
    size_t blen = 0;
    int rc = tok_http_parse(h->resp, h->len, eof, &st, &body, &blen);
    if (rc == KK_EAGAIN)
        return;
    if (rc < 0)
        finish(h, rc, 0, NULL, 0);
    else
        finish(h, 0, st, body, blen);
}

/* The request is written: wait for the answer. */
static void on_written(uv_write_t *w, int status)
{
    tok_http *h = w->data;
    if (status < 0)
        finish(h, KK_EIO, 0, NULL, 0);
}

/* Connected: send the request and start reading. */
static void on_connect(uv_connect_t *c, int status)
{
    tok_http *h = c->data;
    if (h->done)
        return;
    if (status < 0) {
        finish(h, KK_EIO, 0, NULL, 0);
        return;
    }
    uv_buf_t b = uv_buf_init(h->req, (unsigned)h->req_len);
    h->wr.data = h;
    if (uv_write(&h->wr, (uv_stream_t *)&h->tcp, &b, 1, on_written) < 0 ||
        uv_read_start((uv_stream_t *)&h->tcp, on_alloc, on_read) < 0)
        finish(h, KK_EIO, 0, NULL, 0);
}

/* Starts the TCP connection to addr. */
static void start_connect(tok_http *h, const struct sockaddr *addr)
{
    if (uv_tcp_init(h->loop, &h->tcp) < 0) {
        fail_soon(h, KK_EIO);
        return;
    }
    h->tcp.data = h;
    h->tcp_open = true;
    h->pending++;
    h->conn.data = h;
    if (uv_tcp_connect(&h->conn, &h->tcp, addr, on_connect) < 0)
        fail_soon(h, KK_EIO);
}

/* Name resolved (or cancelled by the deadline). */
static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *res)
{
    tok_http *h = g->data;
    h->pending--;
    if (h->done || status < 0 || !res) {
        if (res)
            uv_freeaddrinfo(res);
        finish(h, KK_EIO, 0, NULL, 0);
        maybe_free(h);
        return;
    }
    start_connect(h, res->ai_addr);
    uv_freeaddrinfo(res);
}

/* Starts a POST (tok_http.h). */
int tok_http_post(uv_loop_t *loop, const tok_url *u, const char *path, const char *headers,
                  const char *body, uint64_t timeout_ms, tok_http_fn cb, void *ud,
                  tok_http **out)
{
    tok_http *h = calloc(1, sizeof *h);
    if (!h)
        return KK_ENOMEM;
    size_t blen = strlen(body);
    size_t cap = strlen(u->path) + strlen(path) + strlen(u->host) + (headers ? strlen(headers) : 0) +
                 blen + 256;
    h->req = malloc(cap);
    if (!h->req) {
        free(h);
        return KK_ENOMEM;
    }
    int n = snprintf(h->req, cap,
                     "POST %s%s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n%s\r\n%s",
                     u->path, path, u->host, u->port, blen, headers ? headers : "", body);
    if (n < 0 || (size_t)n >= cap) {
        free(h->req);
        free(h);
        return KK_EINVAL;
    }
    h->req_len = (size_t)n;
    h->loop = loop;
    h->cb = cb;
    h->ud = ud;
    uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    h->pending = 1;
    uv_timer_start(&h->timer, on_timeout, timeout_ms ? timeout_ms : 5000, 0);
    *out = h;
    struct sockaddr_storage ss;
    if (uv_ip4_addr(u->host, u->port, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(u->host, u->port, (struct sockaddr_in6 *)&ss) == 0) {
        start_connect(h, (struct sockaddr *)&ss);
        return 0;
    }
    snprintf(h->port, sizeof h->port, "%d", u->port);
    h->gai.data = h;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    h->pending++;
    if (uv_getaddrinfo(loop, &h->gai, on_resolved, u->host, h->port, &hints) < 0) {
        h->pending--;
        fail_soon(h, KK_EIO);
    }
    return 0;
}

/* Abandons a request (tok_http.h). */
void tok_http_cancel(tok_http *h)
{
    if (!h)
        return;
    h->cancelled = true;
    if (!h->done && h->pending > 1 && !h->tcp_open)
        uv_cancel((uv_req_t *)&h->gai);
    finish(h, KK_ECANCELED, 0, NULL, 0);
}
