/* jb.c — a per-stream jitter buffer: puts packets back in sequence order,
 * remembers which ones are missing so they can be NACKed, and gives a
 * missing packet up after wait_ms so one loss never stalls the recording.
 * Memory is bounded by MJB_SLOTS packets of at most MJB_MAX_PKT bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "media_int.h"

/* A jump larger than this is a sequence reset (new sender state), not loss. */
#define MJB_RESET_JUMP (4u * MJB_SLOTS)

/* Initializes an empty buffer. */
void mjb_init(mjb *j, uint32_t wait_ms)
{
    memset(j, 0, sizeof(*j));
    j->wait_ms = wait_ms;
}

/* Frees every held packet. */
void mjb_close(mjb *j)
{
    for (int i = 0; i < MJB_SLOTS; i++) {
        free(j->slot[i].data);
        j->slot[i].data = NULL;
    }
}

/* Extends a 16-bit seq to the 32-bit value closest to top. */
static uint32_t extend(const mjb *j, uint16_t seq)
{
    uint32_t ref = j->top - 1;
    uint32_t ext = (ref & 0xffff0000u) | seq;
    if (ext + 0x8000u < ref && ext < 0xffff0000u)
        ext += 0x10000u;
    else if (ext > ref + 0x8000u && ext >= 0x10000u)
        ext -= 0x10000u;
    return ext;
}

/* Clears a slot (frees its packet). */
static void clear_slot(mjb_pkt *s)
{
    free(s->data);
    memset(s, 0, sizeof(*s));
}

/* Inserts a packet; see media_int.h. */
int mjb_put(mjb *j, uint16_t seq, const uint8_t *p, size_t len, uint32_t now_ms, bool recovered)
{
    if (len > MJB_MAX_PKT)
        return KK_ETOOBIG;
    if (!j->started) {
        j->started = true;
        j->head = 0x10000u + seq; /* headroom so late packets extend below head */
        j->top = j->head;
    }
    uint32_t ext = extend(j, seq);
    if (ext < j->head) {
        j->late++;
        return 0;
    }
    if (ext - j->head >= MJB_RESET_JUMP) {
        for (uint32_t e = j->head; e != j->top; e++)
            clear_slot(&j->slot[e % MJB_SLOTS]);
        j->gaps++;
        j->head = j->top = ext;
    }
    while (ext - j->head >= MJB_SLOTS) { /* make room: give the oldest up */
        mjb_pkt *s = &j->slot[j->head % MJB_SLOTS];
        if (!s->data)
            j->lost++; /* never arrived (inside or beyond what we saw) */
        clear_slot(s);
        j->head++;
    }
    if (j->top <= j->head)
        j->top = j->head;
    for (uint32_t e = j->top; e < ext; e++) { /* newly missing */
        mjb_pkt *s = &j->slot[e % MJB_SLOTS];
        clear_slot(s);
        s->arrival_ms = now_ms;
    }
    mjb_pkt *s = &j->slot[ext % MJB_SLOTS];
    if (ext < j->top && s->data)
        return 0; /* duplicate */
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return KK_ENOMEM;
    memcpy(copy, p, len);
    if (ext < j->top && recovered)
        j->recovered++;
    if (ext >= j->top)
        j->top = ext + 1;
    s->data = copy;
    s->len = (uint16_t)len;
    s->arrival_ms = now_ms;
    j->received++;
    return 1;
}

/* Pops the next packet in order; see media_int.h. */
int mjb_pop(mjb *j, uint32_t now_ms, uint8_t *out, uint16_t *seq)
{
    if (!j->started || j->head == j->top)
        return 0;
    mjb_pkt *s = &j->slot[j->head % MJB_SLOTS];
    *seq = (uint16_t)j->head;
    if (s->data) {
        int len = s->len;
        memcpy(out, s->data, s->len);
        clear_slot(s);
        j->head++;
        return len;
    }
    if (now_ms - s->arrival_ms < j->wait_ms)
        return 0;
    clear_slot(s);
    j->head++;
    j->lost++;
    return -1;
}

/* Collects missing seqs due for a NACK; see media_int.h. */
int mjb_nacks(mjb *j, uint32_t now_ms, uint32_t rtt_ms, uint16_t *seqs, int max)
{
    int n = 0;
    if (!j->started)
        return 0;
    for (uint32_t e = j->head; e < j->top && n < max; e++) {
        mjb_pkt *s = &j->slot[e % MJB_SLOTS];
        if (s->data || s->nacks >= 3)
            continue;
        if (s->nacks > 0 && now_ms - s->nack_ms < rtt_ms)
            continue;
        s->nacks++;
        s->nack_ms = now_ms;
        seqs[n++] = (uint16_t)e;
    }
    return n;
}
