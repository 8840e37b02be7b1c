/* gzip.c — one gzip member per binary message (compression=gzip, NOTES.md
 * §2.5), with zlib. Deflate writes windowBits 31 (a gzip header, level 6 as
 * Go's gzip.NewWriter); inflate reads windowBits 47 (gzip, or a zlib
 * wrapper, tolerated) and never lets the output pass a cap, so a gzip bomb
 * costs at most the cap in memory. Neither keeps state between calls.
 */
#include <limits.h>
#include <string.h>
#include <zlib.h>

#include "codec.h"

/* zlib counts input and output in uInt; feed size_t lengths in pieces. */
#define GZIP_STEP ((size_t)UINT_MAX)
/* First output allocation for inflate: most frames inflate 3-10x. */
#define GZIP_FIRST_GUESS(len) ((len) < 4096 ? 16384 : (len) * 4)

/* Appends one gzip member of in to out. Reserves deflateBound up front so
 * one pass finishes; when out's cap leaves less room than the bound it
 * deflates into the room there is and fails only if the member does not
 * fit. out is unchanged on failure (KK_ETOOBIG, KK_ENOMEM, KK_EGZIP). */
int codec_gzip_deflate(const uint8_t *in, size_t len, kk_buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    int zrc = deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    if (zrc != Z_OK)
        return zrc == Z_MEM_ERROR ? KK_ENOMEM : KK_EGZIP;
    size_t start = out->len;
    size_t bound = deflateBound(&z, len > ULONG_MAX ? ULONG_MAX : (uLong)len);
    int rc = kk_buf_reserve(out, bound);
    if (rc == KK_ETOOBIG)
        rc = 0; /* grow step by step below, up to out->max */
    const uint8_t *ip = in;
    size_t left = len;
    while (rc == 0) {
        if (z.avail_in == 0 && left) {
            z.next_in = (Bytef *)(uintptr_t)ip;
            z.avail_in = (uInt)(left < GZIP_STEP ? left : GZIP_STEP);
            ip += z.avail_in;
            left -= z.avail_in;
        }
        /* The allocation may be larger than max (the caller may have
         * lowered max); never write past max. Any deflate result short of
         * Z_STREAM_END still owes output (at least the trailer), so a full
         * buffer at max means the member does not fit. */
        size_t lim = out->cap < out->max ? out->cap : out->max;
        if (out->len == lim) {
            size_t step = out->max - out->len < 65536 ? out->max - out->len : 65536;
            rc = step ? kk_buf_reserve(out, step) : KK_ETOOBIG;
            if (rc < 0)
                break;
            lim = out->cap < out->max ? out->cap : out->max;
        }
        size_t room = lim - out->len;
        z.next_out = out->p + out->len;
        z.avail_out = (uInt)(room < GZIP_STEP ? room : GZIP_STEP);
        uInt before = z.avail_out;
        zrc = deflate(&z, left || z.avail_in ? Z_NO_FLUSH : Z_FINISH);
        out->len += before - z.avail_out;
        if (zrc == Z_STREAM_END)
            break;
        if (zrc != Z_OK && zrc != Z_BUF_ERROR)
            rc = KK_EGZIP;
    }
    deflateEnd(&z);
    if (rc < 0)
        out->len = start;
    return rc;
}

/* Maps a zlib inflate failure to a kk_err code. */
static int gzip_err(int zrc)
{
    return zrc == Z_MEM_ERROR ? KK_ENOMEM : KK_EGZIP;
}

/* Runs inflate until the member ends, input runs out or the output would pass
 * limit (an absolute length of out). Grows out by doubling, never beyond
 * limit; past the limit it asks zlib for one more byte into a probe and calls
 * any such byte a bomb. */
static int gzip_inflate_run(z_stream *z, kk_buf *out, size_t limit, size_t first)
{
    uint8_t probe;
    for (;;) {
        if (out->len == out->cap && out->len < limit) {
            size_t want = out->cap ? out->cap : first;
            if (want > limit - out->len)
                want = limit - out->len;
            int rc = kk_buf_reserve(out, want);
            if (rc < 0)
                return rc;
        }
        size_t room = out->cap - out->len;
        if (room > limit - out->len)
            room = limit - out->len;
        if (room > GZIP_STEP)
            room = GZIP_STEP;
        z->next_out = room ? out->p + out->len : &probe;
        z->avail_out = room ? (uInt)room : 1;
        uInt before = z->avail_out;
        int zrc = inflate(z, Z_NO_FLUSH);
        size_t made = before - z->avail_out;
        if (room == 0 && made)
            return KK_ETOOBIG;
        out->len += made;
        if (zrc == Z_STREAM_END)
            return 0;
        if (zrc == Z_NEED_DICT || (zrc != Z_OK && zrc != Z_BUF_ERROR))
            return gzip_err(zrc);
        /* Z_BUF_ERROR means no progress was possible: with output room
         * that can only be the end of the input. */
        if (zrc == Z_BUF_ERROR || (made == 0 && z->avail_in == 0))
            return z->avail_in == 0 ? KK_EAGAIN : KK_EGZIP;
    }
}

/* Appends the inflated bytes of the single gzip member in[0..len) to out,
 * at most max_out of them. KK_ETOOBIG past max_out (or past out->max),
 * KK_EGZIP when corrupt (bad header, data, CRC or length), KK_EAGAIN when the
 * member is cut short, KK_EPROTO when bytes follow it. out keeps its old
 * length on failure, and its allocation never grows past old length +
 * max_out. */
int codec_gzip_inflate(const uint8_t *in, size_t len, size_t max_out, kk_buf *out)
{
    if (len == 0)
        return KK_EAGAIN;
    if (len > GZIP_STEP)
        return KK_ETOOBIG;
    z_stream z;
    memset(&z, 0, sizeof z);
    int zrc = inflateInit2(&z, 47);
    if (zrc != Z_OK)
        return zrc == Z_MEM_ERROR ? KK_ENOMEM : KK_EGZIP;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    size_t start = out->len, saved_max = out->max;
    size_t limit = max_out > SIZE_MAX - start ? SIZE_MAX : start + max_out;
    if (limit > out->max)
        limit = out->max;
    /* kk_buf doubles its capacity; capping max makes it stop at the limit. */
    out->max = limit;
    int rc = gzip_inflate_run(&z, out, limit, GZIP_FIRST_GUESS(len));
    if (rc == 0 && z.avail_in != 0)
        rc = KK_EPROTO;
    out->max = saved_max;
    inflateEnd(&z);
    if (rc < 0)
        out->len = start;
    return rc;
}
