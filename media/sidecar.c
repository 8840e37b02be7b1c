/* sidecar.c — the `.json` beside each recording (design §7) and the
 * sha256 of the finished media file.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "media_rec.h"

/* Hashes a file with SHA-256 into 64 hex digits + NUL. */
int mside_sha256_file(const char *path, char out[65])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return KK_EIO;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        fclose(f);
        return KK_ENOMEM;
    }
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        EVP_DigestUpdate(md, buf, n);
    int err = ferror(f);
    fclose(f);
    unsigned char dig[32];
    unsigned dl = 0;
    EVP_DigestFinal_ex(md, dig, &dl);
    EVP_MD_CTX_free(md);
    if (err || dl != 32)
        return KK_EIO;
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", dig[i]);
    return 0;
}

/* Formats unix ms as RFC 3339 UTC with milliseconds. */
static void fmt_time(int64_t ms, char *out, size_t cap)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char date[32];
    if (strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        date[0] = '\0';
    snprintf(out, cap, "%s.%03uZ", date, (unsigned)(ms % 1000) % 1000u);
}

/* Builds the JSON object of one track. */
static json_t *track_json(const mside_track *t)
{
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "kind", t->kind, "codec",
                     t->codec, "ssrc", (json_int_t)t->ssrc, "packetsReceived",
                     (json_int_t)t->received, "packetsLost", (json_int_t)t->lost,
                     "packetsRecovered", (json_int_t)t->recovered, "gaps", (json_int_t)t->gaps,
                     "frames", (json_int_t)t->frames, "framesDropped", (json_int_t)t->dropped);
}

/* Writes the sidecar; see media_rec.h. */
int mside_write(const char *path, const mside_info *in)
{
    char sa[40], ea[40];
    fmt_time(in->started_ms, sa, sizeof(sa));
    fmt_time(in->ended_ms, ea, sizeof(ea));
    json_t *tracks = json_array();
    for (int i = 0; i < in->ntracks; i++)
        json_array_append_new(tracks, track_json(&in->tracks[i]));
    const char *base = in->file ? strrchr(in->file, '/') : NULL;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s?, s:s?, s:I}", "tenant",
                          in->tenant, "roomID", in->room_id, "caller", in->caller, "callee",
                          in->callee, "startedAt", sa, "endedAt", ea, "endReason",
                          in->end_reason, "tracks", tracks, "file", base ? base + 1 : in->file,
                          "sha256", in->sha256, "durationMs", (json_int_t)in->duration_ms);
    if (!o)
        return KK_ENOMEM;
    char tmp[4200];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int rc = 0;
    if (n < 0 || (size_t)n >= sizeof(tmp))
        rc = KK_ETOOBIG;
    else if (json_dump_file(o, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) != 0 || rename(tmp, path) != 0)
        rc = KK_EIO;
    json_decref(o);
    return rc;
}
