/* dtls.c — DTLS 1.2 client (our role `active`) with OpenSSL 3.0 over
 * memory BIOs: libnice carries the datagrams, OpenSSL only sees bytes.
 * The peer certificate is accepted during the handshake and checked against
 * the SDP fingerprint right after it (RFC 8122 §5); the SRTP keys come from
 * the exporter (RFC 5764 §4.2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/srtp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "media_sec.h"

/* Below the 1280-byte IPv6 minimum minus headers, so a flight never fragments. */
#define MDTLS_MTU 1200

struct mdtls_ctx {
    SSL_CTX *ssl_ctx;
    EVP_PKEY *key;
    X509 *cert;
    BIO_METHOD *out_meth;
    char fp[128];
};

struct mdtls {
    SSL *ssl;
    BIO *rbio;
    void (*send)(void *ud, const uint8_t *p, size_t len);
    void *ud;
    char remote_fp[128];
    bool connected;
    bool server;             /* passive role (we offered, the peer chose active) */
    mdtls_keys keys;
};

/* Formats a digest as "AB:CD:...". */
static void fmt_fp(const unsigned char *md, unsigned n, char *out, size_t cap)
{
    size_t off = 0;
    for (unsigned i = 0; i < n && off + 4 <= cap; i++)
        off += (size_t)snprintf(out + off, cap - off, i ? ":%02X" : "%02X", md[i]);
}

/* Write side of the outgoing BIO: one write is one datagram. */
static int out_write(BIO *b, const char *p, int len)
{
    mdtls *d = BIO_get_data(b);
    if (d && d->send && len > 0)
        d->send(d->ud, (const uint8_t *)p, (size_t)len);
    return len;
}

/* Controls of the outgoing BIO that DTLS asks about. */
static long out_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b, (void)num, (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
        return MDTLS_MTU;
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING:
        return 0;
    default:
        return 0;
    }
}

/* Accepts any certificate during the handshake: the fingerprint decides after. */
static int verify_any(int ok, X509_STORE_CTX *x)
{
    (void)ok, (void)x;
    return 1;
}

/* Builds the self-signed certificate (30 days, re-made at each start). */
static int make_cert(mdtls_ctx *c)
{
    c->key = EVP_EC_gen("P-256");
    c->cert = X509_new();
    if (!c->key || !c->cert)
        return KK_ENOMEM;
    unsigned char serial[8];
    if (RAND_bytes(serial, sizeof(serial)) != 1)
        return KK_EIO;
    uint64_t s = 0;
    for (int i = 0; i < 8; i++)
        s = s << 8 | serial[i];
    X509_set_version(c->cert, 2);
    ASN1_INTEGER_set_uint64(X509_get_serialNumber(c->cert), s >> 1);
    X509_gmtime_adj(X509_getm_notBefore(c->cert), -86400);
    X509_gmtime_adj(X509_getm_notAfter(c->cert), 30L * 86400);
    X509_set_pubkey(c->cert, c->key);
    X509_NAME *name = X509_get_subject_name(c->cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"kkim-relay", -1,
                               -1, 0);
    X509_set_issuer_name(c->cert, name);
    if (!X509_sign(c->cert, c->key, EVP_sha256()))
        return KK_EIO;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (!X509_digest(c->cert, EVP_sha256(), md, &n))
        return KK_EIO;
    fmt_fp(md, n, c->fp, sizeof(c->fp));
    return 0;
}

/* Creates the pool's certificate and DTLS context; see media_sec.h. */
int mdtls_ctx_new(mdtls_ctx **out)
{
    mdtls_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return KK_ENOMEM;
    int rc = make_cert(c);
    if (rc < 0)
        goto fail;
    rc = KK_EIO;
    c->ssl_ctx = SSL_CTX_new(DTLS_method()); /* both roles: see mdtls_set_server */
    if (!c->ssl_ctx)
        goto fail;
    SSL_CTX_set_min_proto_version(c->ssl_ctx, DTLS1_2_VERSION);
    if (SSL_CTX_use_certificate(c->ssl_ctx, c->cert) != 1 ||
        SSL_CTX_use_PrivateKey(c->ssl_ctx, c->key) != 1)
        goto fail;
    SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_any);
    /* OpenSSL's return convention here is inverted: 0 means success. */
    if (SSL_CTX_set_tlsext_use_srtp(c->ssl_ctx, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"))
        goto fail;
    /* The suite's signature follows the peer's (server's) certificate:
     * browsers use ECDSA, some endpoints RSA. */
    SSL_CTX_set_cipher_list(c->ssl_ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                                        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"
                                        "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305");
    c->out_meth = BIO_meth_new(BIO_TYPE_SOURCE_SINK | BIO_get_new_index(), "kk-dtls-out");
    if (!c->out_meth)
        goto fail;
    BIO_meth_set_write(c->out_meth, out_write);
    BIO_meth_set_ctrl(c->out_meth, out_ctrl);
    *out = c;
    return 0;
fail:
    mdtls_ctx_free(c);
    return rc;
}

/* Frees the context. NULL is a no-op. */
void mdtls_ctx_free(mdtls_ctx *c)
{
    if (!c)
        return;
    SSL_CTX_free(c->ssl_ctx);
    X509_free(c->cert);
    EVP_PKEY_free(c->key);
    BIO_meth_free(c->out_meth);
    free(c);
}

/* Our fingerprint. */
const char *mdtls_ctx_fingerprint(const mdtls_ctx *c) { return c->fp; }

/* Creates a client endpoint; see media_sec.h. */
int mdtls_new(mdtls_ctx *c, const char *remote_fp,
              void (*send)(void *ud, const uint8_t *p, size_t len), void *ud, mdtls **out)
{
    mdtls *d = calloc(1, sizeof(*d));
    if (!d)
        return KK_ENOMEM;
    if (strlen(remote_fp) >= sizeof(d->remote_fp)) {
        free(d);
        return KK_EINVAL;
    }
    memcpy(d->remote_fp, remote_fp, strlen(remote_fp) + 1);
    d->send = send;
    d->ud = ud;
    d->ssl = SSL_new(c->ssl_ctx);
    d->rbio = BIO_new(BIO_s_mem());
    BIO *wbio = BIO_new(c->out_meth);
    if (!d->ssl || !d->rbio || !wbio) {
        BIO_free(d->rbio);
        BIO_free(wbio);
        SSL_free(d->ssl);
        free(d);
        return KK_ENOMEM;
    }
    BIO_set_mem_eof_return(d->rbio, -1);
    BIO_set_data(wbio, d);
    BIO_set_init(wbio, 1);
    SSL_set_bio(d->ssl, d->rbio, wbio); /* the SSL owns both BIOs now */
    SSL_set_options(d->ssl, SSL_OP_NO_QUERY_MTU);
    SSL_set_mtu(d->ssl, MDTLS_MTU);
    DTLS_set_link_mtu(d->ssl, MDTLS_MTU);
    SSL_set_connect_state(d->ssl);
    *out = d;
    return 0;
}

/* Switches a new endpoint to the server (passive) role; see media_sec.h. */
void mdtls_set_server(mdtls *d)
{
    d->server = true;
    SSL_set_accept_state(d->ssl);
}

/* Frees an endpoint. NULL is a no-op. */
void mdtls_free(mdtls *d)
{
    if (!d)
        return;
    SSL_free(d->ssl);
    free(d);
}

/* Runs the handshake one step; returns MDTLS_* or KK_EPROTO. */
static int step(mdtls *d)
{
    int r = SSL_do_handshake(d->ssl);
    if (r == 1)
        return MDTLS_CONNECTED;
    int e = SSL_get_error(d->ssl, r);
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return MDTLS_PENDING;
    return KK_EPROTO;
}

/* Sends the ClientHello (a server waits for the peer's). */
int mdtls_start(mdtls *d)
{
    int rc = step(d);
    return rc < 0 ? rc : 0;
}

/* Checks the peer certificate and exports the SRTP keys. */
static int finish_handshake(mdtls *d)
{
    X509 *peer = SSL_get1_peer_certificate(d->ssl);
    if (!peer)
        return KK_EINVAL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    char fp[128] = {0};
    int ok = X509_digest(peer, EVP_sha256(), md, &n);
    X509_free(peer);
    if (!ok)
        return KK_EINVAL;
    fmt_fp(md, n, fp, sizeof(fp));
    if (strcasecmp(fp, d->remote_fp) != 0)
        return KK_EINVAL;
    SRTP_PROTECTION_PROFILE *prof = SSL_get_selected_srtp_profile(d->ssl);
    if (!prof)
        return KK_EPROTO;
    size_t klen = 16, slen;
    if (prof->id == SRTP_AEAD_AES_128_GCM)
        slen = 12;
    else if (prof->id == SRTP_AES128_CM_SHA1_80)
        slen = 14;
    else
        return KK_EPROTO;
    uint8_t m[2 * (16 + 14)];
    size_t tot = 2 * (klen + slen);
    if (SSL_export_keying_material(d->ssl, m, tot, "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0) != 1)
        return KK_EPROTO;
    /* Layout (RFC 5764 §4.2): client key, server key, client salt, server
     * salt; ours are the server's when we are the server. */
    size_t us = d->server ? 1 : 0, them = 1 - us;
    d->keys.profile = (int)prof->id;
    d->keys.len = klen + slen;
    memcpy(d->keys.local, m + us * klen, klen);
    memcpy(d->keys.remote, m + them * klen, klen);
    memcpy(d->keys.local + klen, m + 2 * klen + us * slen, slen);
    memcpy(d->keys.remote + klen, m + 2 * klen + them * slen, slen);
    d->connected = true;
    return MDTLS_CONNECTED;
}

/* Feeds one received datagram; see media_sec.h. */
int mdtls_feed(mdtls *d, const uint8_t *p, size_t len)
{
    if (len == 0 || len > 16384)
        return KK_EPROTO;
    BIO_write(d->rbio, p, (int)len);
    if (!d->connected) {
        int rc = step(d);
        if (rc == MDTLS_CONNECTED)
            return finish_handshake(d);
        return rc;
    }
    uint8_t junk[2048];
    for (;;) { /* drain records after the handshake (alerts, retransmits) */
        int r = SSL_read(d->ssl, junk, sizeof(junk));
        if (r > 0)
            continue;
        int e = SSL_get_error(d->ssl, r);
        ERR_clear_error();
        if (e == SSL_ERROR_ZERO_RETURN)
            return MDTLS_CLOSED;
        if (e == SSL_ERROR_WANT_READ)
            return MDTLS_OPEN;
        return KK_EPROTO;
    }
}

/* Retransmits a lost flight when its timer expired. */
void mdtls_tick(mdtls *d)
{
    if (d && !d->connected)
        DTLSv1_handle_timeout(d->ssl);
}

/* Exported keys. */
const mdtls_keys *mdtls_get_keys(const mdtls *d) { return d->connected ? &d->keys : NULL; }
