/* srtp.c — SRTP/SRTCP with libsrtp2 (Debian's is built on NSS; AES-GCM is
 * available). One inbound session keyed with the peer's write key, one
 * outbound for the RTCP we send (RR, NACK, PLI).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <srtp2/srtp.h>

#include "media_sec.h"

struct msrtp {
    srtp_t in, out;
};

static pthread_once_t g_srtp_once = PTHREAD_ONCE_INIT; /* process-wide library init */
static int g_srtp_rc;

/* Runs srtp_init once. */
static void srtp_once(void)
{
    g_srtp_rc = srtp_init() == srtp_err_status_ok ? 0 : KK_EIO;
}

/* Process-wide libsrtp2 init (idempotent, thread-safe). */
int msrtp_global_init(void)
{
    pthread_once(&g_srtp_once, srtp_once);
    return g_srtp_rc;
}

/* Fills a policy for the negotiated profile. */
static void set_policy(srtp_policy_t *pol, int profile, const uint8_t *key, bool inbound)
{
    memset(pol, 0, sizeof(*pol));
    if (profile == MSRTP_AEAD_AES_128_GCM) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtcp);
    } else {
        srtp_crypto_policy_set_rtp_default(&pol->rtp);
        srtp_crypto_policy_set_rtcp_default(&pol->rtcp);
    }
    pol->ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    pol->key = (unsigned char *)key;
    pol->window_size = 1024; /* NACK/RTX repairs arrive late; keep them replay-checked */
    pol->allow_repeat_tx = 1;
}

/* Creates both sessions; see media_sec.h. */
int msrtp_new(const mdtls_keys *k, msrtp **out)
{
    msrtp *s = calloc(1, sizeof(*s));
    if (!s)
        return KK_ENOMEM;
    srtp_policy_t pin, pout;
    set_policy(&pin, k->profile, k->remote, true);
    set_policy(&pout, k->profile, k->local, false);
    if (srtp_create(&s->in, &pin) != srtp_err_status_ok) {
        free(s);
        return KK_EPROTO;
    }
    if (srtp_create(&s->out, &pout) != srtp_err_status_ok) {
        srtp_dealloc(s->in);
        free(s);
        return KK_EPROTO;
    }
    *out = s;
    return 0;
}

/* Frees both sessions. NULL is a no-op. */
void msrtp_free(msrtp *s)
{
    if (!s)
        return;
    srtp_dealloc(s->in);
    srtp_dealloc(s->out);
    free(s);
}

/* Unprotects an SRTP packet in place. */
int msrtp_unprotect_rtp(msrtp *s, uint8_t *p, size_t *len)
{
    int n = (int)*len;
    if (srtp_unprotect(s->in, p, &n) != srtp_err_status_ok)
        return KK_EPROTO;
    *len = (size_t)n;
    return 0;
}

/* Unprotects an SRTCP packet in place. */
int msrtp_unprotect_rtcp(msrtp *s, uint8_t *p, size_t *len)
{
    int n = (int)*len;
    if (srtp_unprotect_rtcp(s->in, p, &n) != srtp_err_status_ok)
        return KK_EPROTO;
    *len = (size_t)n;
    return 0;
}

/* Protects an RTCP packet in place (MSRTP_TRAILER spare bytes needed). */
int msrtp_protect_rtcp(msrtp *s, uint8_t *p, size_t *len)
{
    int n = (int)*len;
    if (srtp_protect_rtcp(s->out, p, &n) != srtp_err_status_ok)
        return KK_EPROTO;
    *len = (size_t)n;
    return 0;
}
