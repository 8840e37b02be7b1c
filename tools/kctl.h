/* kctl.h — pieces of kkimctl shared between its files (private to tools/).
 *
 * kkimctl decode/encode turn one gateway frame into JSON and back:
 * kctl_frame.c handles the input/output encodings (raw, hex, base64), gzip
 * and the Req/Resp envelope through codec.h; kctl_payload.c maps
 * reqIdentifier and direction to the protobuf payload type and converts it
 * with pbjson, showing each MsgData's content decoded (1601 signals, JSON).
 * Nothing here keeps state between calls; errors are reported through a
 * kctl_err that main prints as one line.
 */
#ifndef KK_KCTL_H
#define KK_KCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "codec.h"

/* Largest input kkimctl reads: a 16 MiB frame as hex is 32 MiB plus spacing. */
#define KCTL_MAX_INPUT (80u * 1024u * 1024u)

enum kctl_fmt { KCTL_FMT_RAW = 0, KCTL_FMT_HEX = 1, KCTL_FMT_B64 = 2 };
enum kctl_kind { KCTL_KIND_AUTO = 0, KCTL_KIND_REQ = 1, KCTL_KIND_RESP = 2 };

/* What went wrong and where ("hex input at offset 7", "gzip", "gob
 * envelope", "JSON envelope line 1 column 9", "payload kkim.PushMessages"). */
typedef struct kctl_err {
    char what[320];
    char where[160];
} kctl_err;

/* Fills err; returns code (a negative kk_err). */
int kctl_fail(kctl_err *err, int code, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Options of decode and encode, from the command line. */
typedef struct kctl_opts {
    int sdk;        /* enum codec_sdk, or -1 when not given */
    bool gzip;
    bool gzip_given;
    int fmt;        /* enum kctl_fmt: --in for decode, --out for encode */
    int kind;       /* enum kctl_kind */
    bool kind_given;
    bool compact;   /* decode: one-line JSON */
} kctl_opts;

/* ---- kctl_frame.c ------------------------------------------------------ */

/* Converts the raw input in[0..len) from fmt into bytes (appended to out).
 * Whitespace between hex digits / base64 characters is ignored. Errors name
 * the offset in the input. */
int kctl_input_bytes(int fmt, const uint8_t *in, size_t len, kk_buf *out, kctl_err *err);
/* Writes bytes to stdout as fmt (hex and base64 end with a newline).
 * Returns 0 or KK_EIO. */
int kctl_output_bytes(int fmt, const uint8_t *p, size_t len);

/* Decodes one frame (wire bytes) with o's settings into a new JSON object
 * holding the envelope, data as base64, and payloadType/payload. */
int kctl_frame_decode(const kctl_opts *o, const uint8_t *frame, size_t len, json_t **out,
                      kctl_err *err);
/* Encodes the JSON frame description in (same shape) into wire bytes. */
int kctl_frame_encode(const kctl_opts *o, const json_t *in, kk_buf *out, kctl_err *err);

/* A JSON string of a byte view: valid UTF-8 as is, each invalid byte as
 * U+FFFD (what Go's encoding/json writes). NULL on ENOMEM. */
json_t *kctl_json_view(kk_view v);

/* ---- kctl_payload.c ---------------------------------------------------- */

/* The protobuf type name of the payload of req_id in the given direction
 * (kind REQ or RESP), or NULL when the frame carries none (2002, 2003 and
 * 2004 answers, unknown identifiers). */
const char *kctl_payload_type(int32_t req_id, int kind);

/* Decodes data as the payload of req_id/kind into *out (a new reference;
 * JSON null when there is no payload type). */
int kctl_payload_decode(int32_t req_id, int kind, kk_view data, json_t **out, kctl_err *err);

/* Encodes the payload JSON of req_id/kind into protobuf bytes (out). */
int kctl_payload_encode(int32_t req_id, int kind, const json_t *payload, kk_buf *out,
                        kctl_err *err);

/* ---- kctl_tail.c ------------------------------------------------------- */

/* kkimctl tail TENANT STREAM [...]: argv[0] is "tail". Returns the exit
 * status. */
int kctl_tail(int argc, char **argv);

/* ---- kctl_send.c / kctl_redis.c ----------------------------------------- */

/* kkimctl send TENANT --as U (--to V | --group G) [...] TEXT: argv[0] is
 * "send". Exit status 0 when the result is `sent`, 1 otherwise, 2 usage. */
int kctl_send(int argc, char **argv);

struct redisContext;
struct redisReply;
/* --redis's default: $KKIM_REDIS_URL, else redis://127.0.0.1:6379/0. */
const char *kctl_redis_default_url(void);

/* One Redis connection of a subcommand. On a Redis Cluster every command
 * follows MOVED (the connection moves to the node named) and ASK (ASKING
 * and the command on the node named, once), at most RCLUS_REDIRECTS_MAX
 * times, so any node of the cluster can be given. */
typedef struct kctl_redis {
    struct redisContext *c; /* NULL after a failed move */
    const char *url, *cmd;
} kctl_redis;

/* Connects, AUTHs and SELECTs; prints one line naming cmd on failure (never
 * the password) and returns -1, else 0. url and cmd must outlive k. */
int kctl_redis_open(kctl_redis *k, const char *url, const char *cmd);
/* Closes k (also after a failed open or move). */
void kctl_redis_close(kctl_redis *k);
/* Runs a command (redisCommand's format); NULL when the connection failed
 * (kctl_redis_errstr says why; a failed reconnect was printed already). */
struct redisReply *kctl_redis_cmd(kctl_redis *k, const char *fmt, ...);
/* The same for an argv command (lens NULL: C strings). */
struct redisReply *kctl_redis_argv(kctl_redis *k, int argc, const char **argv,
                                   const size_t *lens);
/* Why the last command of k got no reply. */
const char *kctl_redis_errstr(const kctl_redis *k);

/* ---- kctl_status.c / kctl_users.c --------------------------------------- */

/* kkimctl status [--admin HOST:PORT] [--token T] [--json]: argv[0] is
 * "status". Exit status 0, 1 when the admin API cannot be read, 2 usage. */
int kctl_status(int argc, char **argv);
/* kkimctl users add|rm TENANT USER... | ls TENANT [--redis URL]: argv[0] is
 * "users". Exit status 0, 1 on Redis failure, 2 usage. */
int kctl_users(int argc, char **argv);

#endif
