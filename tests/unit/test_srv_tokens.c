/* test_srv_tokens.c — token helpers: HS256 minting (checked against a JWT
 * made by Go's crypto/hmac in the simulator's format), the HTTP response
 * parser of the http source, the http:// URL parser, and the run-time
 * users diff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kk_err.h"
#include "tok_http.h"
#include "tokens.h"
#include "users.h"

/* Minting with a fixed clock gives the exact token Go's SignToken gives
 * for the same claims (header {"alg":"HS256","typ":"JWT"}, claims in
 * OpenIM's order). Expected value computed with Python's hmac/hashlib. */
static void jwt_mint_matches_reference_bytes(void **state)
{
    (void)state;
    kk_secret *key = kk_secret_new("kkim-gatewaysim-secret", 22);
    kk_secret *t = tok_jwt_mint(key, "alice", 7, 1700000000, 3600);
    assert_non_null(t);
    assert_string_equal(kk_secret_reveal(t),
                        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                        "eyJVc2VySUQiOiJhbGljZSIsIlBsYXRmb3JtSUQiOjcsImV4cCI6MTcwMDAwMzYwMCwibmJm"
                        "IjoxNjk5OTk5OTQwLCJpYXQiOjE3MDAwMDAwMDB9."
                        "Uic85-6knXG7z3JXfWyvveNSDhIJLKxEjutvoTmqPCg");
    assert_int_equal(tok_jwt_exp(kk_secret_reveal(t)), 1700003600);
    kk_secret_free(t);
    kk_secret_free(key);
}

/* Content-Length bodies end at the length, even before EOF. */
static void http_parse_content_length_body(void **state)
{
    (void)state;
    char buf[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nhello";
    int st = 0;
    char *body = NULL;
    size_t n = 0;
    assert_int_equal(tok_http_parse(buf, strlen(buf), 0, &st, &body, &n), 0);
    assert_int_equal(st, 200);
    assert_int_equal(n, 5);
    assert_memory_equal(body, "hello", 5);
}

/* A body shorter than Content-Length needs more bytes; at EOF it is bad. */
static void http_parse_short_body_waits_then_fails_at_eof(void **state)
{
    (void)state;
    char buf[] = "HTTP/1.1 200 OK\r\nContent-Length: 400\r\n\r\n{\"errCode\":0,\"da";
    int st = 0;
    char *body = NULL;
    size_t n = 0;
    assert_int_equal(tok_http_parse(buf, strlen(buf), 0, &st, &body, &n), KK_EAGAIN);
    assert_int_equal(tok_http_parse(buf, strlen(buf), 1, &st, &body, &n), KK_EPROTO);
}

/* Chunked bodies are decoded in place. */
static void http_parse_chunked_body(void **state)
{
    (void)state;
    char buf[] = "HTTP/1.1 500 X\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    int st = 0;
    char *body = NULL;
    size_t n = 0;
    assert_int_equal(tok_http_parse(buf, strlen(buf), 0, &st, &body, &n), 0);
    assert_int_equal(st, 500);
    assert_int_equal(n, 5);
    assert_memory_equal(body, "abcde", 5);
}

/* Not HTTP at all. */
static void http_parse_rejects_non_http(void **state)
{
    (void)state;
    char buf[] = "SSH-2.0-OpenSSH\r\n\r\n";
    int st = 0;
    char *body = NULL;
    size_t n = 0;
    assert_int_equal(tok_http_parse(buf, strlen(buf), 1, &st, &body, &n), KK_EPROTO);
}

/* http://host:port/prefix/ → host, port, prefix without the slash. */
static void url_parse_host_port_prefix(void **state)
{
    (void)state;
    tok_url u;
    assert_int_equal(tok_url_parse("http://10.0.0.5:10002/api/", &u), 0);
    assert_string_equal(u.host, "10.0.0.5");
    assert_int_equal(u.port, 10002);
    assert_string_equal(u.path, "/api");
    assert_int_equal(tok_url_parse("http://admin.internal", &u), 0);
    assert_int_equal(u.port, 80);
    assert_string_equal(u.path, "");
    assert_int_equal(tok_url_parse("https://x", &u), KK_EINVAL);
    assert_int_equal(tok_url_parse("http://x:0/", &u), KK_EINVAL);
}

typedef struct diff_log {
    char text[256];
} diff_log;

/* Records hook calls as "+user" / "-user". */
static void on_add(void *ud, const char *user)
{
    diff_log *d = ud;
    strcat(d->text, "+");
    strcat(d->text, user);
}

/* Records a removal. */
static void on_rm(void *ud, const char *user)
{
    diff_log *d = ud;
    strcat(d->text, "-");
    strcat(d->text, user);
}

/* Duplicates a list of C strings into a malloc'd array. */
static char **strv(const char *const *in, size_t n)
{
    char **v = calloc(n + 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = strdup(in[i]);
    return v;
}

/* The set's new members are added, vanished ones removed, invalid ones
 * skipped and counted. */
static void users_diff_adds_removes_and_skips_invalid(void **state)
{
    (void)state;
    users_hooks h = { .add = on_add, .remove = on_rm };
    diff_log d = { "" };
    char **cur = NULL;
    size_t ncur = 0;
    const char *a[] = { "bob", "alice", "bad user", "" };
    assert_int_equal(users_apply(&cur, &ncur, strv(a, 4), 4, &h, &d), 2);
    assert_string_equal(d.text, "+alice+bob");
    assert_int_equal(ncur, 2);
    d.text[0] = '\0';
    const char *b[] = { "carol", "alice" };
    assert_int_equal(users_apply(&cur, &ncur, strv(b, 2), 2, &h, &d), 0);
    assert_string_equal(d.text, "-bob+carol");
    d.text[0] = '\0';
    assert_int_equal(users_apply(&cur, &ncur, strv(NULL, 0), 0, &h, &d), 0);
    assert_string_equal(d.text, "-alice-carol");
    assert_int_equal(ncur, 0);
    free(cur);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jwt_mint_matches_reference_bytes),
        cmocka_unit_test(http_parse_content_length_body),
        cmocka_unit_test(http_parse_short_body_waits_then_fails_at_eof),
        cmocka_unit_test(http_parse_chunked_body),
        cmocka_unit_test(http_parse_rejects_non_http),
        cmocka_unit_test(url_parse_host_port_prefix),
        cmocka_unit_test(users_diff_adds_removes_and_skips_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
