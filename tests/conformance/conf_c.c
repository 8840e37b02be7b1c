/* conf_c.c — the C side of the Go ⇄ C envelope conformance test (run.sh).
 *
 *   conf_c DIR
 *
 * Reads DIR/manifest.json, written by the Go program gobconf: "decode" lists
 * every frame Go wrote under DIR/go/ with what Go itself decoded from it (or
 * that Go refused it); "encode" lists canonical envelopes. conf_c decodes
 * every Go frame with codec_decode_req/resp and compares field by field; it
 * also decodes DIR/gocanon/NAME.gob (Go's frames from a fresh process, type
 * id 65 as the gateway sends). Then it encodes every canonical envelope with
 * codec_encode_req/resp into DIR/c/NAME.{gob,json,jsonarr}[.gz] for gobconf
 * verify to read back in Go.
 *
 * Output: one line per frame, "PASS go->c FILE ..." or "FAIL go->c FILE:
 * reason", or "XFAIL ..." when the frame is marked as hitting a divergence
 * documented in the codec (manifest "known"); an encode error prints
 * "FAIL c-enc FILE: code". Exit status 1 when
 * anything failed, 2 when the manifest cannot be used. Strings and data in
 * the manifest are hex, so comparisons are of raw bytes.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec.h"

/* Files and hex strings above this are refused; the largest case is 1 MiB
 * of data (2 MiB of hex, 1.4 MB of base64 JSON). */
#define CONF_MAX_FILE (64u * 1024u * 1024u)
#define CONF_MAX_PATH 4096

/* One expected envelope, its byte fields decoded from hex. */
typedef struct conf_env {
    bool is_req;
    int32_t req_identifier;
    int64_t err_code;
    kk_buf token, send_id, operation_id, msg_incr, err_msg, data;
} conf_env;

/* Counters of one run. */
typedef struct conf_run {
    const char *dir;
    int passed;
    int failed;
    int xfailed; /* failures of documented divergences */
    codec_scratch scratch;
} conf_run;

/* Reads the whole file at path into out (reset first). KK_EIO when it cannot
 * be read, KK_ETOOBIG past CONF_MAX_FILE. */
static int conf_read_file(const char *path, kk_buf *out)
{
    kk_buf_reset(out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return KK_EIO;
    int rc = 0;
    uint8_t chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if ((rc = kk_buf_append(out, chunk, n)) < 0)
            break;
    }
    if (rc == 0 && ferror(f))
        rc = KK_EIO;
    fclose(f);
    return rc;
}

/* Writes n bytes to path, creating the file. KK_EIO on failure. */
static int conf_write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return KK_EIO;
    size_t w = n ? fwrite(p, 1, n, f) : 0;
    int rc = fclose(f);
    return (w == n && rc == 0) ? 0 : KK_EIO;
}

/* Writes "dir/a" + b into out. KK_ETOOBIG when it does not fit. */
static int conf_path(char *out, size_t n, const char *dir, const char *a, const char *b)
{
    int w = snprintf(out, n, "%s/%s%s", dir, a, b);
    return (w < 0 || (size_t)w >= n) ? KK_ETOOBIG : 0;
}

/* Value of one hex digit, or -1. */
static int conf_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the hex string s into out (reset first). KK_EPROTO when s is not
 * an even-length hex string. */
static int conf_unhex(const char *s, kk_buf *out)
{
    kk_buf_reset(out);
    size_t len = strlen(s);
    if (len % 2)
        return KK_EPROTO;
    int rc = kk_buf_reserve(out, len / 2);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < len; i += 2) {
        int hi = conf_hexval(s[i]), lo = conf_hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return KK_EPROTO;
        out->p[out->len++] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* Initializes the buffers of e; pair with conf_env_free. */
static void conf_env_init(conf_env *e)
{
    memset(e, 0, sizeof *e);
    kk_buf *bufs[] = { &e->token, &e->send_id, &e->operation_id, &e->msg_incr, &e->err_msg, &e->data };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        kk_buf_init(bufs[i], CONF_MAX_FILE);
}

/* Frees the buffers of e. */
static void conf_env_free(conf_env *e)
{
    kk_buf *bufs[] = { &e->token, &e->send_id, &e->operation_id, &e->msg_incr, &e->err_msg, &e->data };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        kk_buf_free(bufs[i]);
}

/* Fills e from a manifest "env" object of the given kind. KK_EJSON when a
 * key is missing or of the wrong type, KK_EPROTO for bad hex. */
static int conf_env_load(const json_t *obj, const char *kind, conf_env *e)
{
    static const char *const keys[] = { "token", "sendID", "operationID", "msgIncr", "errMsg", "data" };
    kk_buf *bufs[] = { &e->token, &e->send_id, &e->operation_id, &e->msg_incr, &e->err_msg, &e->data };
    json_t *ri = json_object_get(obj, "reqIdentifier");
    json_t *ec = json_object_get(obj, "errCode");
    if (!json_is_integer(ri) || !json_is_integer(ec))
        return KK_EJSON;
    e->is_req = strcmp(kind, "req") == 0;
    e->req_identifier = (int32_t)json_integer_value(ri);
    e->err_code = (int64_t)json_integer_value(ec);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *hex = json_string_value(json_object_get(obj, keys[i]));
        if (!hex)
            return KK_EJSON;
        int rc = conf_unhex(hex, bufs[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* A view of a buffer's contents. */
static kk_view conf_view(const kk_buf *b)
{
    kk_view v = { b->p, b->len };
    return v;
}

/* Builds the codec_req of e; its views point into e. */
static codec_req conf_env_req(const conf_env *e)
{
    codec_req r = { e->req_identifier, conf_view(&e->token), conf_view(&e->send_id),
                    conf_view(&e->operation_id), conf_view(&e->msg_incr), conf_view(&e->data) };
    return r;
}

/* Builds the codec_resp of e; its views point into e. */
static codec_resp conf_env_resp(const conf_env *e)
{
    codec_resp r = { e->req_identifier, conf_view(&e->msg_incr), conf_view(&e->operation_id),
                     e->err_code, conf_view(&e->err_msg), conf_view(&e->data) };
    return r;
}

/* Compares one byte field; on a difference writes where and what into why
 * and returns -1. */
static int conf_cmp_view(const char *name, kk_view got, kk_view want, char *why, size_t n)
{
    size_t i = 0;
    while (i < got.len && i < want.len && got.p[i] == want.p[i])
        i++;
    if (i == got.len && i == want.len)
        return 0;
    char g[40] = "", w[40] = "";
    for (size_t k = 0; k < 16 && i + k < got.len; k++)
        snprintf(g + 2 * k, sizeof g - 2 * k, "%02x", got.p[i + k]);
    for (size_t k = 0; k < 16 && i + k < want.len; k++)
        snprintf(w + 2 * k, sizeof w - 2 * k, "%02x", want.p[i + k]);
    snprintf(why, n, "%s: %zu bytes, want %zu; first difference at byte %zu: got [%s] want [%s]", name,
             got.len, want.len, i, g, w);
    return -1;
}

/* Compares a decoded request with the expectation; -1 and why on a mismatch. */
static int conf_cmp_req(const codec_req *got, const conf_env *e, char *why, size_t n)
{
    if (got->req_identifier != e->req_identifier) {
        snprintf(why, n, "reqIdentifier: got %ld want %ld", (long)got->req_identifier, (long)e->req_identifier);
        return -1;
    }
    if (conf_cmp_view("token", got->token, conf_view(&e->token), why, n) < 0 ||
        conf_cmp_view("sendID", got->send_id, conf_view(&e->send_id), why, n) < 0 ||
        conf_cmp_view("operationID", got->operation_id, conf_view(&e->operation_id), why, n) < 0 ||
        conf_cmp_view("msgIncr", got->msg_incr, conf_view(&e->msg_incr), why, n) < 0 ||
        conf_cmp_view("data", got->data, conf_view(&e->data), why, n) < 0)
        return -1;
    return 0;
}

/* Compares a decoded response with the expectation; -1 and why on a mismatch. */
static int conf_cmp_resp(const codec_resp *got, const conf_env *e, char *why, size_t n)
{
    if (got->req_identifier != e->req_identifier) {
        snprintf(why, n, "reqIdentifier: got %ld want %ld", (long)got->req_identifier, (long)e->req_identifier);
        return -1;
    }
    if (got->err_code != e->err_code) {
        snprintf(why, n, "errCode: got %lld want %lld", (long long)got->err_code, (long long)e->err_code);
        return -1;
    }
    if (conf_cmp_view("msgIncr", got->msg_incr, conf_view(&e->msg_incr), why, n) < 0 ||
        conf_cmp_view("operationID", got->operation_id, conf_view(&e->operation_id), why, n) < 0 ||
        conf_cmp_view("errMsg", got->err_msg, conf_view(&e->err_msg), why, n) < 0 ||
        conf_cmp_view("data", got->data, conf_view(&e->data), why, n) < 0)
        return -1;
    return 0;
}

/* Prints one result line and counts it. A failure of a frame listed as a
 * known, documented divergence (known non-NULL) is an XFAIL, not a FAIL. */
static void conf_report_known(conf_run *run, bool ok, const char *dirn, const char *file, const char *detail,
                              const char *known)
{
    const char *tag = ok ? "PASS" : known ? "XFAIL" : "FAIL";
    if (ok)
        run->passed++;
    else if (known)
        run->xfailed++;
    else
        run->failed++;
    printf("%s %s %s%s%s%s%s%s\n", tag, dirn, file, ok ? " " : ": ", detail, known ? " [known: " : "",
           known ? known : "", known ? (ok ? "; it now agrees with Go, drop the mark]" : "]") : "");
}

/* Prints one result line and counts it. */
static void conf_report(conf_run *run, bool ok, const char *dirn, const char *file, const char *detail)
{
    conf_report_known(run, ok, dirn, file, detail, NULL);
}

/* True when the codec's error rc is one of the names in cerr (a JSON array
 * from the manifest), or when cerr lists none. */
static bool conf_code_expected(int rc, const json_t *cerr)
{
    size_t i;
    const json_t *name;
    if (json_array_size(cerr) == 0)
        return true;
    json_array_foreach(cerr, i, name) {
        const char *s = json_string_value(name);
        if (s && strcmp(s, kk_errname(rc)) == 0)
            return true;
    }
    return false;
}

/* Decodes one frame (wire bytes) as kind with cfg and checks it: against e
 * when e is given, else that the codec refuses it as Go does (go_why), with
 * one of the codes in cerr when it names any. */
static void conf_check_frame(conf_run *run, const char *rel, const codec_cfg *cfg, const kk_buf *frame,
                             const conf_env *e, bool is_req, const char *go_why, const json_t *cerr,
                             const char *known)
{
    char why[512] = "";
    codec_req req;
    codec_resp resp;
    int rc = is_req ? codec_decode_req(cfg, frame->p, frame->len, &req, &run->scratch)
                    : codec_decode_resp(cfg, frame->p, frame->len, &resp, &run->scratch);
    bool ok;
    if (!e && rc >= 0) {
        ok = false;
        snprintf(why, sizeof why, "accepted, but Go refuses it (%s)", go_why);
    } else if (!e) {
        ok = conf_code_expected(rc, cerr);
        char *want = ok ? NULL : json_dumps(cerr, JSON_COMPACT);
        snprintf(why, sizeof why, "refused with %s%s%s (%s)", kk_errname(rc), want ? ", want one of " : "",
                 want ? want : "", go_why);
        free(want);
    } else if (rc < 0) {
        ok = false;
        snprintf(why, sizeof why, "decode failed: %s (%s)", kk_errname(rc), kk_strerror(rc));
    } else {
        ok = (is_req ? conf_cmp_req(&req, e, why, sizeof why) : conf_cmp_resp(&resp, e, why, sizeof why)) == 0;
        if (ok)
            snprintf(why, sizeof why, "as %s, fields equal", is_req ? "Req" : "Resp");
    }
    conf_report_known(run, ok, "go->c", rel, why, known);
}

/* Runs one "decode" entry of the manifest. */
static void conf_decode_entry(conf_run *run, const json_t *ent, kk_buf *frame, conf_env *e)
{
    const char *file = json_string_value(json_object_get(ent, "file"));
    const char *kind = json_string_value(json_object_get(ent, "kind"));
    const char *sdk = json_string_value(json_object_get(ent, "sdk"));
    const char *go_why = json_string_value(json_object_get(ent, "why"));
    bool gz = json_is_true(json_object_get(ent, "gzip"));
    bool ok = json_is_true(json_object_get(ent, "ok"));
    char path[CONF_MAX_PATH];
    if (!file || !kind || !sdk) {
        conf_report(run, false, "go->c", "(manifest)", "decode entry without file, kind or sdk");
        return;
    }
    int rc = conf_path(path, sizeof path, run->dir, file, "");
    if (rc == 0)
        rc = conf_read_file(path, frame);
    if (rc == 0 && ok)
        rc = conf_env_load(json_object_get(ent, "env"), kind, e);
    if (rc < 0) {
        conf_report(run, false, "go->c", file, kk_errname(rc));
        return;
    }
    codec_cfg cfg;
    codec_cfg_default(&cfg, strcmp(sdk, "js") == 0 ? CODEC_SDK_JS : CODEC_SDK_GO);
    cfg.gzip = gz;
    conf_check_frame(run, file, &cfg, frame, ok ? e : NULL, strcmp(kind, "req") == 0, go_why ? go_why : "",
                     json_object_get(ent, "cerr"), json_string_value(json_object_get(ent, "known")));
}

/* The six files C writes per canonical envelope. */
static const struct conf_variant {
    const char *ext;
    enum codec_sdk sdk;
    bool gzip;
    bool as_array;
} conf_variants[] = {
    { ".gob", CODEC_SDK_GO, false, false },     { ".gob.gz", CODEC_SDK_GO, true, false },
    { ".json", CODEC_SDK_JS, false, false },    { ".json.gz", CODEC_SDK_JS, true, false },
    { ".jsonarr", CODEC_SDK_JS, false, true },  { ".jsonarr.gz", CODEC_SDK_JS, true, true },
};

/* Encodes e in every variant into DIR/c/NAME.EXT. Only failures print. */
static void conf_encode_entry(conf_run *run, const char *name, const conf_env *e, kk_buf *out)
{
    for (size_t i = 0; i < sizeof conf_variants / sizeof conf_variants[0]; i++) {
        const struct conf_variant *v = &conf_variants[i];
        codec_cfg cfg;
        codec_cfg_default(&cfg, v->sdk);
        cfg.gzip = v->gzip;
        cfg.js_data_as_array = v->as_array;
        char rel[CONF_MAX_PATH], path[CONF_MAX_PATH];
        kk_buf_reset(out);
        codec_req req = conf_env_req(e);
        codec_resp resp = conf_env_resp(e);
        int rc = conf_path(rel, sizeof rel, "c", name, v->ext);
        if (rc == 0)
            rc = conf_path(path, sizeof path, run->dir, rel, "");
        if (rc == 0)
            rc = e->is_req ? codec_encode_req(&cfg, &req, out) : codec_encode_resp(&cfg, &resp, out);
        if (rc >= 0)
            rc = conf_write_file(path, out->p, out->len);
        if (rc < 0)
            conf_report(run, false, "c-enc", rel, kk_errname(rc));
    }
}

/* Runs one "encode" entry: checks Go's id-65 frame DIR/gocanon/NAME.gob when
 * present, then writes C's frames. */
static void conf_canon_entry(conf_run *run, const json_t *ent, kk_buf *frame, conf_env *e)
{
    const char *name = json_string_value(json_object_get(ent, "name"));
    const char *kind = json_string_value(json_object_get(ent, "kind"));
    if (!name || !kind || strchr(name, '/')) {
        conf_report(run, false, "c-enc", "(manifest)", "encode entry without a usable name or kind");
        return;
    }
    int rc = conf_env_load(json_object_get(ent, "env"), kind, e);
    if (rc < 0) {
        conf_report(run, false, "c-enc", name, kk_errname(rc));
        return;
    }
    char rel[CONF_MAX_PATH], path[CONF_MAX_PATH];
    if (conf_path(rel, sizeof rel, "gocanon", name, ".gob") == 0 &&
        conf_path(path, sizeof path, run->dir, rel, "") == 0 && conf_read_file(path, frame) == 0) {
        codec_cfg cfg;
        codec_cfg_default(&cfg, CODEC_SDK_GO);
        conf_check_frame(run, rel, &cfg, frame, e, e->is_req, "", NULL, NULL);
    }
    conf_encode_entry(run, name, e, frame);
}

/* Loads the manifest and runs both passes. Returns the process exit code. */
static int conf_main(const char *dir)
{
    char path[CONF_MAX_PATH];
    json_error_t jerr = { .line = 0 };
    json_t *m = conf_path(path, sizeof path, dir, "manifest.json", "") == 0 ? json_load_file(path, 0, &jerr) : NULL;
    if (!m) {
        fprintf(stderr, "conf_c: %s: %s (line %d)\n", path, jerr.text, jerr.line);
        return 2;
    }
    if (conf_path(path, sizeof path, dir, "c", "") < 0 || (mkdir(path, 0755) < 0 && errno != EEXIST)) {
        fprintf(stderr, "conf_c: cannot create %s\n", path);
        json_decref(m);
        return 2;
    }
    conf_run run = { .dir = dir };
    codec_scratch_init(&run.scratch);
    kk_buf frame;
    kk_buf_init(&frame, CONF_MAX_FILE);
    conf_env e;
    conf_env_init(&e);
    size_t i;
    json_t *ent;
    json_array_foreach(json_object_get(m, "decode"), i, ent)
        conf_decode_entry(&run, ent, &frame, &e);
    json_array_foreach(json_object_get(m, "encode"), i, ent)
        conf_canon_entry(&run, ent, &frame, &e);
    conf_env_free(&e);
    kk_buf_free(&frame);
    codec_scratch_free(&run.scratch);
    json_decref(m);
    fprintf(stderr, "conf_c: %d passed, %d failed, %d known divergences\n", run.passed, run.failed, run.xfailed);
    return run.failed ? 1 : 0;
}

/* Entry point: conf_c DIR. */
int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: conf_c DIR (written by gobconf gen)\n");
        return 2;
    }
    return conf_main(argv[1]);
}
