/* media_rec.h — the recorder (libavformat) and the sidecar, inside media/.
 *
 * A rec belongs to one call on one media thread. It muxes already-encoded
 * frames (no transcoding) into WebM (VP8/VP9+Opus) or Matroska (H264+Opus)
 * written live: clusters of at most ~1 s are flushed to disk as they close,
 * so a killed process leaves a file playable up to about the last second.
 */
#ifndef KK_MEDIA_REC_H
#define KK_MEDIA_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media_int.h"

typedef struct rec rec;

/* Audio is buffered until the first video keyframe gives the dimensions;
 * past this many packets (4 s of 20 ms Opus) the header is written anyway. */
#define REC_MAX_EARLY_AUDIO 200

/* Builds "<root>/<tenant>/<YYYY>/<MM>/<DD>/<room>-<caller>[-N].<ext>",
 * creating directories; components are sanitized (no '/', no leading '.').
 * Returns 0 or KK_EIO / KK_ETOOBIG. */
int rec_make_path(const char *root, const char *tenant, const char *room, const char *caller,
                  const char *ext, int64_t unix_s, char *out, size_t cap);

/* Opens path for audio (Opus, if has_audio) and video (video codec, or
 * MSDP_CODEC_NONE). The header is written lazily. */
int rec_open(const char *path, bool has_audio, msdp_codec video, rec **out);

/* Writes one audio frame at pts_ms (ms since call start). */
int rec_write_audio(rec *r, const uint8_t *p, size_t len, int64_t pts_ms);

/* Writes one video frame. For H264, sps/pps (without start codes) are used
 * as codec private data when the header is written. */
int rec_write_video(rec *r, const mdepack_frame *f, int64_t pts_ms, const mdepack *d);

/* True once the header is out and frames are being written. */
bool rec_started(const rec *r);

/* Writes the trailer and closes the file; *duration_ms is the last pts
 * written. Frees r. Returns 0 or KK_EIO. NULL is a no-op. */
int rec_close(rec *r, int64_t *duration_ms);

/* Hex SHA-256 of a file into out[65]. */
int mside_sha256_file(const char *path, char out[65]);

/* One track's counters for the sidecar. */
typedef struct mside_track {
    const char *kind;  /* "audio" / "video" */
    const char *codec;
    uint32_t ssrc;
    uint64_t received, lost, recovered, gaps, frames, dropped;
} mside_track;

typedef struct mside_info {
    const char *tenant, *room_id, *caller, *callee;
    int64_t started_ms, ended_ms; /* unix ms */
    const char *end_reason;
    const char *file, *sha256;
    int64_t duration_ms;
    int ntracks;
    mside_track tracks[2];
} mside_info;

/* Writes the sidecar JSON at path (via a temp file and rename). */
int mside_write(const char *path, const mside_info *info);

#endif
