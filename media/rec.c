/* rec.c — live WebM/Matroska writer on libavformat (no transcoding).
 *
 * Crash safety: the Matroska muxer writes the Segment with an unknown size
 * and each Cluster whole when it closes; with cluster_time_limit=1000 and an
 * avio_flush after every packet, a SIGKILL loses at most the open cluster.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/mem.h>

#include "media_rec.h"

struct rec {
    AVFormatContext *oc;
    bool has_audio;
    msdp_codec video;
    int ai, vi;              /* stream indexes, -1 none */
    bool header;
    bool failed;
    int64_t last_pts[2];
    int64_t max_pts;
    AVPacket *early[REC_MAX_EARLY_AUDIO]; /* audio before the video keyframe */
    int nearly;
};

/* Replaces anything but [A-Za-z0-9._-] with '_' and a leading '.' too. */
static void sanitize(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; in && *in && n + 1 < cap; in++) {
        char c = *in;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || (c == '.' && n > 0);
        out[n++] = ok ? c : '_';
    }
    if (n == 0)
        out[n++] = '_';
    out[n] = '\0';
}

/* mkdir -p for every parent of path. */
static int mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0755);
        *p = '/';
        if (rc < 0 && errno != EEXIST)
            return KK_EIO;
    }
    return 0;
}

/* Builds the recording path; see media_rec.h. */
int rec_make_path(const char *root, const char *tenant, const char *room, const char *caller,
                  const char *ext, int64_t unix_s, char *out, size_t cap)
{
    char t[128], r[128], c[128];
    sanitize(tenant, t, sizeof(t));
    sanitize(room, r, sizeof(r));
    sanitize(caller, c, sizeof(c));
    time_t ts = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&ts, &tm);
    for (int i = 0; i < 1000; i++) {
        char suffix[16] = "";
        if (i)
            snprintf(suffix, sizeof(suffix), "-%d", i);
        int n = snprintf(out, cap, "%s/%s/%04d/%02d/%02d/%s-%s%s.%s", root, t, tm.tm_year + 1900,
                         tm.tm_mon + 1, tm.tm_mday, r, c, suffix, ext);
        if (n < 0 || (size_t)n >= cap)
            return KK_ETOOBIG;
        if (mkdirs(out) < 0)
            return KK_EIO;
        struct stat st;
        if (stat(out, &st) < 0 && errno == ENOENT)
            return 0;
    }
    return KK_EIO;
}

/* Opens the output; see media_rec.h. */
int rec_open(const char *path, bool has_audio, msdp_codec video, rec **out)
{
    rec *r = calloc(1, sizeof(*r));
    if (!r)
        return KK_ENOMEM;
    r->has_audio = has_audio;
    r->video = video;
    r->ai = r->vi = -1;
    r->last_pts[0] = r->last_pts[1] = -1;
    const char *fmt = video == MSDP_CODEC_H264 ? "matroska" : "webm";
    if (avformat_alloc_output_context2(&r->oc, NULL, fmt, path) < 0 || !r->oc) {
        free(r);
        return KK_ENOMEM;
    }
    if (avio_open(&r->oc->pb, path, AVIO_FLAG_WRITE) < 0) {
        avformat_free_context(r->oc);
        free(r);
        return KK_EIO;
    }
    *out = r;
    return 0;
}

/* The OpusHead codec private data (RFC 7845 §5.1), stereo, 48 kHz. */
static int add_audio(rec *r)
{
    AVStream *st = avformat_new_stream(r->oc, NULL);
    if (!st)
        return KK_ENOMEM;
    static const uint8_t head[19] = {'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 2, 0x38, 0x01,
                                     0x80, 0xbb, 0, 0, 0, 0, 0};
    AVCodecParameters *cp = st->codecpar;
    cp->codec_type = AVMEDIA_TYPE_AUDIO;
    cp->codec_id = AV_CODEC_ID_OPUS;
    cp->sample_rate = 48000;
    av_channel_layout_default(&cp->ch_layout, 2);
    cp->initial_padding = 312; /* the pre-skip in head[10..11] */
    cp->extradata = av_mallocz(sizeof(head) + AV_INPUT_BUFFER_PADDING_SIZE);
    if (!cp->extradata)
        return KK_ENOMEM;
    memcpy(cp->extradata, head, sizeof(head));
    cp->extradata_size = sizeof(head);
    st->time_base = (AVRational){1, 1000};
    r->ai = st->index;
    return 0;
}

/* Adds the video stream with dimensions and, for H264, SPS/PPS. */
static int add_video(rec *r, const mdepack *d)
{
    AVStream *st = avformat_new_stream(r->oc, NULL);
    if (!st)
        return KK_ENOMEM;
    AVCodecParameters *cp = st->codecpar;
    cp->codec_type = AVMEDIA_TYPE_VIDEO;
    cp->codec_id = r->video == MSDP_CODEC_VP8   ? AV_CODEC_ID_VP8
                   : r->video == MSDP_CODEC_VP9 ? AV_CODEC_ID_VP9
                                                : AV_CODEC_ID_H264;
    cp->width = d && d->width ? d->width : 640;
    cp->height = d && d->height ? d->height : 480;
    if (r->video == MSDP_CODEC_H264 && d && d->have_params) {
        size_t n = 8 + d->sps_len + d->pps_len;
        cp->extradata = av_mallocz(n + AV_INPUT_BUFFER_PADDING_SIZE);
        if (!cp->extradata)
            return KK_ENOMEM;
        static const uint8_t sc[4] = {0, 0, 0, 1};
        memcpy(cp->extradata, sc, 4);
        memcpy(cp->extradata + 4, d->sps, d->sps_len);
        memcpy(cp->extradata + 4 + d->sps_len, sc, 4);
        memcpy(cp->extradata + 8 + d->sps_len, d->pps, d->pps_len);
        cp->extradata_size = (int)n;
    }
    st->time_base = (AVRational){1, 1000};
    r->vi = st->index;
    return 0;
}

/* Writes one packet (pts in ms) with a per-stream monotonic clamp. */
static int put_pkt(rec *r, AVPacket *pkt, int which)
{
    int idx = which ? r->vi : r->ai;
    if (pkt->pts <= r->last_pts[which])
        pkt->pts = r->last_pts[which] + 1;
    r->last_pts[which] = pkt->pts;
    if (pkt->pts > r->max_pts)
        r->max_pts = pkt->pts;
    pkt->dts = pkt->pts;
    pkt->stream_index = idx;
    pkt->time_base = (AVRational){1, 1000};
    av_packet_rescale_ts(pkt, (AVRational){1, 1000}, r->oc->streams[idx]->time_base);
    int rc = av_interleaved_write_frame(r->oc, pkt); /* takes the packet's reference */
    avio_flush(r->oc->pb);
    if (rc < 0) {
        r->failed = true;
        return KK_EIO;
    }
    return 0;
}

/* Writes the header (streams are known now) and the buffered audio. */
static int write_header(rec *r, const mdepack *vd)
{
    if ((r->has_audio && add_audio(r) < 0) ||
        (r->video != MSDP_CODEC_NONE && add_video(r, vd) < 0))
        return KK_ENOMEM;
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "cluster_time_limit", "1000", 0);
    av_dict_set(&opts, "cluster_size_limit", "2097152", 0);
    r->oc->max_interleave_delta = 500000; /* µs: bound the muxer's wait for a slow stream */
    int rc = avformat_write_header(r->oc, &opts);
    av_dict_free(&opts);
    if (rc < 0) {
        r->failed = true;
        return KK_EIO;
    }
    r->header = true;
    for (int i = 0; i < r->nearly; i++) {
        put_pkt(r, r->early[i], 0);
        av_packet_free(&r->early[i]);
    }
    r->nearly = 0;
    return 0;
}

/* Makes a packet holding a copy of data. */
static AVPacket *mk_pkt(const uint8_t *p, size_t len, int64_t pts, bool key)
{
    AVPacket *pkt = av_packet_alloc();
    if (!pkt || len > INT32_MAX || av_new_packet(pkt, (int)len) < 0) {
        av_packet_free(&pkt);
        return NULL;
    }
    memcpy(pkt->data, p, len);
    pkt->pts = pts;
    if (key)
        pkt->flags |= AV_PKT_FLAG_KEY;
    return pkt;
}

/* Writes one audio frame; see media_rec.h. */
int rec_write_audio(rec *r, const uint8_t *p, size_t len, int64_t pts_ms)
{
    if (r->failed || !r->has_audio)
        return KK_EIO;
    AVPacket *pkt = mk_pkt(p, len, pts_ms, true);
    if (!pkt)
        return KK_ENOMEM;
    if (!r->header && r->video != MSDP_CODEC_NONE) {
        if (r->nearly < REC_MAX_EARLY_AUDIO) {
            r->early[r->nearly++] = pkt;
            return 0;
        }
        av_packet_free(&pkt);
        return 0; /* the video keyframe is late: audio of this window is dropped */
    }
    if (!r->header && write_header(r, NULL) < 0) {
        av_packet_free(&pkt);
        return KK_EIO;
    }
    int rc = put_pkt(r, pkt, 0);
    av_packet_free(&pkt);
    return rc;
}

/* Writes one video frame; see media_rec.h. */
int rec_write_video(rec *r, const mdepack_frame *f, int64_t pts_ms, const mdepack *d)
{
    if (r->failed || r->video == MSDP_CODEC_NONE)
        return KK_EIO;
    if (!r->header) {
        if (!f->key || (r->video == MSDP_CODEC_H264 && !d->have_params))
            return 0; /* a file starts with a decodable keyframe */
        if (write_header(r, d) < 0)
            return KK_EIO;
    }
    AVPacket *pkt = mk_pkt(f->data, f->len, pts_ms, f->key);
    if (!pkt)
        return KK_ENOMEM;
    int rc = put_pkt(r, pkt, 1);
    av_packet_free(&pkt);
    return rc;
}

/* True once the header is out. */
bool rec_started(const rec *r) { return r && r->header; }

/* Finishes the file; see media_rec.h. */
int rec_close(rec *r, int64_t *duration_ms)
{
    if (!r)
        return 0;
    int rc = 0;
    if (!r->header && r->nearly > 0 && !r->failed)
        write_header(r, NULL); /* audio arrived but video never keyed: keep the audio */
    if (r->header) {
        if (av_write_trailer(r->oc) < 0)
            rc = KK_EIO;
    } else {
        rc = KK_ENOTFOUND; /* nothing was recorded */
    }
    for (int i = 0; i < r->nearly; i++)
        av_packet_free(&r->early[i]);
    if (duration_ms)
        *duration_ms = r->max_pts;
    avio_closep(&r->oc->pb);
    avformat_free_context(r->oc);
    free(r);
    return rc;
}
