/* tok_http.h — a small HTTP/1.1 POST client on the libuv loop, for the
 * `http` token source (OpenIM's admin API). http:// only (no TLS: run the
 * admin API on a private network or behind a local TLS-terminating proxy).
 *
 * One request per connection ("Connection: close"): resolve (uv_getaddrinfo,
 * IP literals skip it), connect, write, read to EOF, parse the status line,
 * headers and body (Content-Length or to EOF; chunked bodies are decoded).
 * A single deadline covers all of it. The response is capped at
 * TOK_HTTP_MAX_RESPONSE bytes. Never blocks the loop.
 *
 * The callback fires exactly once unless tok_http_cancel() ran first:
 * status 0 with the HTTP status code and body (borrowed for the call), or
 * KK_EIO (connect/read failure), KK_EAGAIN (deadline passed), KK_EPROTO (not
 * HTTP), KK_ETOOBIG (response too large). Loop thread only.
 */
#ifndef KK_TOK_HTTP_H
#define KK_TOK_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Largest response read (a token answer is well under 4 KiB). */
#define TOK_HTTP_MAX_RESPONSE (64u * 1024)

typedef struct tok_http tok_http;

/* Completion: see above. body is NUL-terminated for convenience. */
typedef void (*tok_http_fn)(void *ud, int status, int http_status, const char *body, size_t len);

/* A parsed http:// URL: host, port (default 80), path prefix without a
 * trailing '/'. */
typedef struct tok_url {
    char host[256];
    int port;
    char path[512];
} tok_url;

/* Parses "http://host[:port][/prefix]". Returns 0 or KK_EINVAL. */
int tok_url_parse(const char *url, tok_url *out);

/* Starts POST {u.path}{path} with extra header lines (each ending "\r\n",
 * may be NULL) and a JSON body. Returns 0 and *out (cb will fire once), or
 * KK_ENOMEM/KK_EINVAL (cb never fires). */
int tok_http_post(uv_loop_t *loop, const tok_url *u, const char *path, const char *headers,
                  const char *body, uint64_t timeout_ms, tok_http_fn cb, void *ud,
                  tok_http **out);

/* Abandons a request: the callback never fires; memory is freed once the
 * handles have closed. NULL is fine. */
void tok_http_cancel(tok_http *h);

/* Parses an HTTP/1.x response in buf[0..len): *status and the body (a view
 * into buf, chunked bodies decoded in place). at_eof says the peer closed,
 * which ends a body without Content-Length. Returns 0, KK_EAGAIN when more
 * bytes are needed, KK_EPROTO when malformed. Pure (unit tests, fuzzing). */
int tok_http_parse(char *buf, size_t len, int at_eof, int *status, char **body,
                   size_t *body_len);

#endif
