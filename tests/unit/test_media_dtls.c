/* test_media_dtls.c — our DTLS client against an in-process OpenSSL DTLS
 * server (memory BIOs, no network): handshake with each SRTP profile,
 * exporter key layout checked against the server's own export, SRTCP both
 * ways with those keys, a wrong fingerprint, and garbage records; and our
 * endpoint in the server role (we offered) against our client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "media_sec.h"

/* The server side of the test. */
typedef struct server {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *rbio, *wbio;
    EVP_PKEY *key;
    X509 *cert;
    char fp[128];
    /* datagrams our client sent, waiting for the server */
    uint8_t q[16][2048];
    size_t qlen[16];
    int nq;
} server;

/* Client output: queue each datagram for the server. */
static void client_send(void *ud, const uint8_t *p, size_t len)
{
    server *s = ud;
    assert_true(s->nq < 16 && len <= 2048);
    memcpy(s->q[s->nq], p, len);
    s->qlen[s->nq++] = len;
}

/* A self-signed P-256 certificate and a DTLS server offering one profile. */
static void server_init(server *s, const char *profile)
{
    memset(s, 0, sizeof(*s));
    s->key = EVP_EC_gen("P-256");
    s->cert = X509_new();
    X509_set_version(s->cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(s->cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(s->cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(s->cert), 3600);
    X509_set_pubkey(s->cert, s->key);
    X509_set_issuer_name(s->cert, X509_get_subject_name(s->cert));
    assert_true(X509_sign(s->cert, s->key, EVP_sha256()) > 0);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    X509_digest(s->cert, EVP_sha256(), md, &n);
    for (unsigned i = 0; i < n; i++)
        snprintf(s->fp + 3 * i, 4, i + 1 < n ? "%02X:" : "%02X", md[i]);
    s->ctx = SSL_CTX_new(DTLS_server_method());
    SSL_CTX_use_certificate(s->ctx, s->cert);
    SSL_CTX_use_PrivateKey(s->ctx, s->key);
    assert_int_equal(SSL_CTX_set_tlsext_use_srtp(s->ctx, profile), 0);
    s->ssl = SSL_new(s->ctx);
    s->rbio = BIO_new(BIO_s_mem());
    s->wbio = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(s->rbio, -1);
    SSL_set_bio(s->ssl, s->rbio, s->wbio);
    SSL_set_accept_state(s->ssl);
}

static void server_free(server *s)
{
    SSL_free(s->ssl);
    SSL_CTX_free(s->ctx);
    X509_free(s->cert);
    EVP_PKEY_free(s->key);
}

/* Runs the handshake; returns the client's last mdtls_feed result. */
static int pump(server *s, mdtls *c)
{
    int rc = MDTLS_PENDING;
    assert_int_equal(mdtls_start(c), 0);
    for (int round = 0; round < 20 && rc == MDTLS_PENDING; round++) {
        for (int i = 0; i < s->nq; i++)
            BIO_write(s->rbio, s->q[i], (int)s->qlen[i]);
        s->nq = 0;
        SSL_do_handshake(s->ssl);
        uint8_t buf[8192];
        int n;
        while ((n = BIO_read(s->wbio, buf, sizeof(buf))) > 0) {
            rc = mdtls_feed(c, buf, (size_t)n);
            if (rc != MDTLS_PENDING)
                break;
        }
    }
    /* deliver the client's last flight so the server completes too */
    for (int i = 0; i < s->nq; i++)
        BIO_write(s->rbio, s->q[i], (int)s->qlen[i]);
    s->nq = 0;
    SSL_do_handshake(s->ssl);
    return rc;
}

/* Handshakes with one profile and checks keys and SRTCP both ways. */
static void handshake_with(const char *profile, int want_id, size_t want_len)
{
    server s;
    server_init(&s, profile);
    mdtls_ctx *ctx;
    assert_int_equal(mdtls_ctx_new(&ctx), 0);
    assert_int_equal(strlen(mdtls_ctx_fingerprint(ctx)), 95);
    mdtls *c;
    assert_int_equal(mdtls_new(ctx, s.fp, client_send, &s, &c), 0);
    assert_int_equal(pump(&s, c), MDTLS_CONNECTED);
    assert_int_equal(SSL_is_init_finished(s.ssl), 1);
    const mdtls_keys *k = mdtls_get_keys(c);
    assert_non_null(k);
    assert_int_equal(k->profile, want_id);
    assert_int_equal(k->len, want_len);
    /* the server's export, laid out client key, server key, client salt, server salt */
    uint8_t m[60];
    size_t kl = 16, sl = want_len - 16;
    assert_int_equal(SSL_export_keying_material(s.ssl, m, 2 * want_len, "EXTRACTOR-dtls_srtp", 19,
                                                NULL, 0, 0),
                     1);
    assert_memory_equal(k->local, m, kl);
    assert_memory_equal(k->remote, m + kl, kl);
    assert_memory_equal(k->local + kl, m + 2 * kl, sl);
    assert_memory_equal(k->remote + kl, m + 2 * kl + sl, sl);
    /* SRTCP both ways: the server's sessions are ours with the keys swapped */
    assert_int_equal(msrtp_global_init(), 0);
    mdtls_keys sk = *k;
    memcpy(sk.local, k->remote, sizeof(sk.local));
    memcpy(sk.remote, k->local, sizeof(sk.remote));
    msrtp *cs, *ss;
    assert_int_equal(msrtp_new(k, &cs), 0);
    assert_int_equal(msrtp_new(&sk, &ss), 0);
    uint8_t rr[8 + MSRTP_TRAILER] = {0x80, 201, 0, 1, 0xde, 0xad, 0xbe, 0xef};
    size_t len = 8;
    assert_int_equal(msrtp_protect_rtcp(ss, rr, &len), 0); /* server → us */
    assert_true(len > 8);
    uint8_t copy[8 + MSRTP_TRAILER];
    memcpy(copy, rr, len);
    size_t clen = len;
    assert_int_equal(msrtp_unprotect_rtcp(cs, rr, &len), 0);
    assert_int_equal(len, 8);
    assert_memory_equal(rr, "\x80\xc9\x00\x01\xde\xad\xbe\xef", 8);
    copy[clen - 1] ^= 1; /* tampered */
    assert_int_equal(msrtp_unprotect_rtcp(cs, copy, &clen), KK_EPROTO);
    len = 8;
    memcpy(rr, "\x80\xc9\x00\x01\x01\x02\x03\x04", 8);
    assert_int_equal(msrtp_protect_rtcp(cs, rr, &len), 0); /* us → server */
    assert_int_equal(msrtp_unprotect_rtcp(ss, rr, &len), 0);
    assert_memory_equal(rr, "\x80\xc9\x00\x01\x01\x02\x03\x04", 8);
    msrtp_free(cs);
    msrtp_free(ss);
    mdtls_free(c);
    mdtls_ctx_free(ctx);
    server_free(&s);
}

static void dtls_handshake_exports_aes_gcm_keys(void **st)
{
    (void)st;
    handshake_with("SRTP_AEAD_AES_128_GCM", MSRTP_AEAD_AES_128_GCM, 28);
}

static void dtls_handshake_exports_aes_cm_keys(void **st)
{
    (void)st;
    handshake_with("SRTP_AES128_CM_SHA1_80", MSRTP_AES128_CM_SHA1_80, 30);
}

static void dtls_rejects_a_peer_whose_fingerprint_differs(void **st)
{
    (void)st;
    server s;
    server_init(&s, "SRTP_AEAD_AES_128_GCM");
    mdtls_ctx *ctx;
    assert_int_equal(mdtls_ctx_new(&ctx), 0);
    char wrong[128];
    memcpy(wrong, s.fp, sizeof(wrong));
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    mdtls *c;
    assert_int_equal(mdtls_new(ctx, wrong, client_send, &s, &c), 0);
    assert_int_equal(pump(&s, c), KK_EINVAL);
    assert_null(mdtls_get_keys(c));
    mdtls_free(c);
    mdtls_ctx_free(ctx);
    server_free(&s);
}

static void dtls_ignores_garbage_records_and_still_connects(void **st)
{
    (void)st;
    server s;
    server_init(&s, "SRTP_AEAD_AES_128_GCM");
    mdtls_ctx *ctx;
    assert_int_equal(mdtls_ctx_new(&ctx), 0);
    mdtls *c;
    assert_int_equal(mdtls_new(ctx, s.fp, client_send, &s, &c), 0);
    /* DTLS drops invalid records silently (RFC 6347 §4.1.2.7): the call
     * survives them and only its connect timeout can end it. */
    uint8_t junk[64];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 37 + 22);
    junk[0] = 22;
    assert_int_equal(mdtls_feed(c, junk, sizeof(junk)), MDTLS_PENDING);
    assert_int_equal(mdtls_feed(c, junk, sizeof(junk)), MDTLS_PENDING);
    assert_int_equal(mdtls_feed(c, junk, 0), KK_EPROTO);
    assert_int_equal(s.nq, 1); /* the ClientHello went out all the same */
    assert_int_equal(pump(&s, c), MDTLS_CONNECTED);
    mdtls_free(c);
    mdtls_ctx_free(ctx);
    server_free(&s);
}

/* One of our endpoints' outgoing datagrams, queued for the other. */
typedef struct wire {
    uint8_t q[16][2048];
    size_t qlen[16];
    int nq;
} wire;

/* Queues a datagram on a wire. */
static void wire_send(void *ud, const uint8_t *p, size_t len)
{
    wire *w = ud;
    assert_true(w->nq < 16 && len <= sizeof(w->q[0]));
    memcpy(w->q[w->nq], p, len);
    w->qlen[w->nq++] = len;
}

/* Delivers every queued datagram of w to d; returns the last state. */
static int wire_drain(wire *w, mdtls *d)
{
    int rc = MDTLS_PENDING;
    int n = w->nq;
    w->nq = 0;
    for (int i = 0; i < n && rc >= 0; i++)
        rc = mdtls_feed(d, w->q[i], w->qlen[i]);
    return rc;
}

/* Our server and our client, in two contexts (two certificates). */
typedef struct pair {
    mdtls_ctx *sc, *cc;
    wire to_srv, to_cli;
    mdtls *srv, *cli;
} pair;

/* Runs the handshake of a pair; with wrong_fp the server expects another
 * client certificate than the one it gets. Returns the server's final
 * state after the flights settle. */
static int pair_handshake(pair *p, bool wrong_fp)
{
    memset(p, 0, sizeof *p);
    assert_int_equal(mdtls_ctx_new(&p->sc), 0);
    assert_int_equal(mdtls_ctx_new(&p->cc), 0);
    const char *client_fp = mdtls_ctx_fingerprint(wrong_fp ? p->sc : p->cc);
    assert_int_equal(mdtls_new(p->sc, client_fp, wire_send, &p->to_cli, &p->srv), 0);
    mdtls_set_server(p->srv);
    assert_int_equal(mdtls_new(p->cc, mdtls_ctx_fingerprint(p->sc), wire_send, &p->to_srv, &p->cli), 0);
    assert_int_equal(mdtls_start(p->srv), 0);
    assert_int_equal(p->to_cli.nq, 0); /* a server speaks only when spoken to */
    assert_int_equal(mdtls_start(p->cli), 0);
    int srv = MDTLS_PENDING;
    for (int round = 0; round < 8 && (p->to_srv.nq || p->to_cli.nq); round++) {
        srv = wire_drain(&p->to_srv, p->srv);
        if (srv < 0)
            return srv;
        (void)wire_drain(&p->to_cli, p->cli);
    }
    return srv;
}

/* Frees a pair's endpoints and contexts. */
static void pair_free(pair *p)
{
    mdtls_free(p->srv);
    mdtls_free(p->cli);
    mdtls_ctx_free(p->sc);
    mdtls_ctx_free(p->cc);
}

static void dtls_server_role_connects_to_our_client_with_mirrored_keys(void **st)
{
    (void)st;
    static pair p;
    assert_int_equal(pair_handshake(&p, false), MDTLS_CONNECTED);
    const mdtls_keys *ks = mdtls_get_keys(p.srv), *kc = mdtls_get_keys(p.cli);
    assert_non_null(ks);
    assert_non_null(kc);
    assert_int_equal(ks->profile, MSRTP_AEAD_AES_128_GCM);
    assert_int_equal(ks->len, kc->len);
    assert_memory_equal(ks->local, kc->remote, ks->len);
    assert_memory_equal(ks->remote, kc->local, ks->len);
    assert_memory_not_equal(ks->local, ks->remote, ks->len);
    pair_free(&p);
}

static void dtls_server_role_rejects_a_client_whose_fingerprint_differs(void **st)
{
    (void)st;
    static pair p;
    assert_int_equal(pair_handshake(&p, true), KK_EINVAL);
    assert_null(mdtls_get_keys(p.srv));
    pair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dtls_handshake_exports_aes_gcm_keys),
        cmocka_unit_test(dtls_handshake_exports_aes_cm_keys),
        cmocka_unit_test(dtls_rejects_a_peer_whose_fingerprint_differs),
        cmocka_unit_test(dtls_ignores_garbage_records_and_still_connects),
        cmocka_unit_test(dtls_server_role_connects_to_our_client_with_mirrored_keys),
        cmocka_unit_test(dtls_server_role_rejects_a_client_whose_fingerprint_differs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
