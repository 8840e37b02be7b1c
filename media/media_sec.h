/* media_sec.h — DTLS (OpenSSL) and SRTP (libsrtp2) inside media/.
 *
 * One mdtls_ctx per pool (certificate generated at start, shared read-only
 * by every media thread); one mdtls and one msrtp per call, used only on the
 * call's media thread. No OpenSSL or libsrtp type leaks out of this header.
 */
#ifndef KK_MEDIA_SEC_H
#define KK_MEDIA_SEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kk_err.h"

typedef struct mdtls_ctx mdtls_ctx;
typedef struct mdtls mdtls;

/* SRTP protection profiles we negotiate (RFC 5764, RFC 7714 ids). */
#define MSRTP_AES128_CM_SHA1_80 0x0001
#define MSRTP_AEAD_AES_128_GCM 0x0007

/* Keys from the DTLS exporter (RFC 5764 §4.2), ours (client) and theirs. */
typedef struct mdtls_keys {
    int profile;
    uint8_t local[32];   /* key || salt of our (client) writes */
    uint8_t remote[32];  /* key || salt of their (server) writes */
    size_t len;          /* key+salt length */
} mdtls_keys;

/* Generates an ECDSA P-256 self-signed certificate and the DTLS client
 * context. KK_ENOMEM / KK_EIO on an OpenSSL failure. */
int mdtls_ctx_new(mdtls_ctx **out);
void mdtls_ctx_free(mdtls_ctx *c);
/* "AB:CD:..." SHA-256 fingerprint of our certificate. */
const char *mdtls_ctx_fingerprint(const mdtls_ctx *c);

/* Outcome of feeding or ticking a DTLS endpoint. */
enum {
    MDTLS_PENDING = 0,   /* handshake running */
    MDTLS_CONNECTED = 1, /* just completed: keys are ready */
    MDTLS_OPEN = 2,      /* already connected, nothing new */
    MDTLS_CLOSED = 3,    /* peer sent close_notify */
};

/* A client (active role) endpoint that verifies the peer's certificate
 * against remote_fp ("AB:CD:..." SHA-256). send is called with each
 * outgoing datagram, synchronously. */
int mdtls_new(mdtls_ctx *c, const char *remote_fp,
              void (*send)(void *ud, const uint8_t *p, size_t len), void *ud, mdtls **out);
/* Makes a new endpoint (before mdtls_start) the server: the passive role,
 * taken when we offered actpass and the answer says active (RFC 8842). The
 * client's certificate is required and checked against remote_fp as well. */
void mdtls_set_server(mdtls *d);
void mdtls_free(mdtls *d);
/* Sends the ClientHello (client), or only arms the handshake (server). */
int mdtls_start(mdtls *d);
/* Feeds one received DTLS datagram. Returns an MDTLS_* state, or
 * KK_EPROTO (handshake failed / garbage) or KK_EINVAL (fingerprint mismatch). */
int mdtls_feed(mdtls *d, const uint8_t *p, size_t len);
/* Retransmits on timeout; call every ~50 ms. */
void mdtls_tick(mdtls *d);
/* The exported keys, valid once connected. */
const mdtls_keys *mdtls_get_keys(const mdtls *d);

/* ---- SRTP ---- */
typedef struct msrtp msrtp;
/* Creates inbound/outbound sessions from exported keys. */
int msrtp_new(const mdtls_keys *k, msrtp **out);
void msrtp_free(msrtp *s);
/* In-place unprotect; *len updated. KK_EPROTO when authentication fails. */
int msrtp_unprotect_rtp(msrtp *s, uint8_t *p, size_t *len);
int msrtp_unprotect_rtcp(msrtp *s, uint8_t *p, size_t *len);
/* In-place protect; buffer must have MSRTP_TRAILER spare bytes. */
#define MSRTP_TRAILER 64
int msrtp_protect_rtcp(msrtp *s, uint8_t *p, size_t *len);
/* Process-wide libsrtp2 init (idempotent, thread-safe). */
int msrtp_global_init(void);

#endif
