/* kkimctl.c — the operator CLI: argument parsing, stdin/stdout, one-line
 * errors. Subcommands:
 *
 *   kkimctl decode --sdk go|js [--gzip] [--in raw|hex|base64]
 *                  [--kind req|resp|auto] [--compact]
 *       reads ONE frame on stdin and prints it as JSON (envelope, data as
 *       base64, payloadType, payload decoded by reqIdentifier/direction).
 *   kkimctl encode [--sdk go|js] [--gzip] [--out raw|hex|base64]
 *                  [--kind req|resp|auto]
 *       reads that JSON shape on stdin (payload encoded, or data given as
 *       base64) and writes the frame.
 *   kkimctl tail TENANT STREAM ...   (kctl_tail.c)
 *       follows kkim:{TENANT}:STREAM in Redis, one JSON object per entry.
 *   kkimctl send TENANT --as U --to V TEXT ...   (kctl_send.c)
 *       appends to kkim:{TENANT}:outbox and waits for the result.
 *   kkimctl status [--admin HOST:PORT] [--json]   (kctl_status.c)
 *       logins per state and archive health, from the admin API.
 *   kkimctl users add|rm|ls TENANT [USER...]   (kctl_users.c)
 *       edits the run-time users (Redis set kkim:{TENANT}:users).
 *
 * Exit status: 0 success, 2 bad input or usage (one line on stderr:
 * "kkimctl: decode: <what> (<where>)"), 1 I/O or memory failure.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kctl.h"

/* Exit statuses. */
#define KCTL_EXIT_OK 0
#define KCTL_EXIT_FAIL 1
#define KCTL_EXIT_USAGE 2

static const char usage_text[] =
    "usage: kkimctl decode --sdk go|js [--gzip] [--in raw|hex|base64] [--kind req|resp|auto] [--compact]\n"
    "       kkimctl encode [--sdk go|js] [--gzip] [--out raw|hex|base64] [--kind req|resp|auto]\n"
    "       kkimctl tail TENANT STREAM [--redis URL] [--from ID|$|0] [--count N] [--decode-raw] [--timeout S]\n"
    "       kkimctl send TENANT --as USER (--to USER | --group GROUP) [--redis URL] [--json] [--timeout S] TEXT\n"
    "       kkimctl status [--admin HOST:PORT] [--token TOKEN] [--json]\n"
    "       kkimctl users add|rm|ls TENANT [USER...] [--redis URL]\n"
    "decode reads one frame on stdin and prints it as JSON; encode reads that JSON and writes the frame.\n";

/* Fills err; see kctl.h. */
int kctl_fail(kctl_err *err, int code, const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->what, sizeof err->what, fmt, ap);
    va_end(ap);
    snprintf(err->where, sizeof err->where, "%s", where);
    return code;
}

/* Prints the usage and returns the usage exit status. */
static int usage(const char *why)
{
    if (why)
        fprintf(stderr, "kkimctl: %s\n", why);
    fputs(usage_text, stderr);
    return KCTL_EXIT_USAGE;
}

/* Maps a failure to an exit status: our own I/O and memory problems are 1,
 * everything the input caused is 2. */
static int exit_for(int rc)
{
    return rc == KK_ENOMEM || rc == KK_EIO ? KCTL_EXIT_FAIL : KCTL_EXIT_USAGE;
}

/* Prints "kkimctl: <cmd>: <what> (<where>)" and returns the exit status. */
static int report(const char *cmd, int rc, const kctl_err *err)
{
    if (err->where[0])
        fprintf(stderr, "kkimctl: %s: %s (%s)\n", cmd, err->what, err->where);
    else
        fprintf(stderr, "kkimctl: %s: %s\n", cmd, err->what);
    return exit_for(rc);
}

/* Picks index of value in names (NULL-terminated), or -1. */
static int pick(const char *value, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(value, names[i]) == 0)
            return i;
    return -1;
}

/* Parses the options shared by decode and encode. Returns 0, or -1 after
 * printing the usage. */
static int parse_opts(int argc, char **argv, bool decode, kctl_opts *o)
{
    static const char *const sdks[] = { "go", "js", NULL };
    static const char *const fmts[] = { "raw", "hex", "base64", NULL };
    static const char *const kinds[] = { "auto", "req", "resp", NULL };
    memset(o, 0, sizeof *o);
    o->sdk = -1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int k;
        if (strcmp(a, "--gzip") == 0) {
            o->gzip = o->gzip_given = true;
        } else if (decode && strcmp(a, "--compact") == 0) {
            o->compact = true;
        } else if (strcmp(a, "--sdk") == 0 && v && (k = pick(v, sdks)) >= 0) {
            o->sdk = k == 0 ? CODEC_SDK_GO : CODEC_SDK_JS;
            i++;
        } else if (strcmp(a, decode ? "--in" : "--out") == 0 && v && (k = pick(v, fmts)) >= 0) {
            o->fmt = k;
            i++;
        } else if (strcmp(a, "--kind") == 0 && v && (k = pick(v, kinds)) >= 0) {
            o->kind = k;
            o->kind_given = true;
            i++;
        } else {
            char why[160];
            snprintf(why, sizeof why, "%s: bad option %s%s%s", argv[1], a, v ? " " : "", v ? v : "");
            usage(why);
            return -1;
        }
    }
    if (decode && o->sdk < 0) {
        usage("decode: --sdk go|js is required");
        return -1;
    }
    return 0;
}

/* Reads all of stdin (at most KCTL_MAX_INPUT bytes) into b. */
static int read_stdin(kk_buf *b, kctl_err *err)
{
    kk_buf_init(b, KCTL_MAX_INPUT);
    for (;;) {
        if (kk_buf_reserve(b, 65536) < 0 && kk_buf_reserve(b, 1) < 0)
            return kctl_fail(err, KK_ETOOBIG, "input", "input larger than %u bytes", KCTL_MAX_INPUT);
        size_t room = b->cap - b->len;
        size_t n = fread(b->p + b->len, 1, room, stdin);
        b->len += n;
        if (n < room) {
            if (ferror(stdin))
                return kctl_fail(err, KK_EIO, "input", "cannot read stdin");
            return 0;
        }
    }
}

/* kkimctl decode: one frame on stdin → JSON on stdout. */
static int cmd_decode(int argc, char **argv)
{
    kctl_opts o;
    if (parse_opts(argc, argv, true, &o) < 0)
        return KCTL_EXIT_USAGE;
    kctl_err err = { "", "" };
    kk_buf in, frame;
    json_t *out = NULL;
    kk_buf_init(&frame, KCTL_MAX_INPUT);
    int rc = read_stdin(&in, &err);
    if (rc == 0)
        rc = kctl_input_bytes(o.fmt, in.p, in.len, &frame, &err);
    if (rc == 0)
        rc = kctl_frame_decode(&o, frame.p, frame.len, &out, &err);
    kk_buf_free(&in);
    kk_buf_free(&frame);
    if (rc < 0)
        return report("decode", rc, &err);
    size_t flags = o.compact ? JSON_COMPACT : JSON_INDENT(2);
    int ok = json_dumpf(out, stdout, flags) == 0 && putchar('\n') != EOF && fflush(stdout) == 0;
    json_decref(out);
    if (!ok) {
        fprintf(stderr, "kkimctl: decode: cannot write stdout\n");
        return KCTL_EXIT_FAIL;
    }
    return KCTL_EXIT_OK;
}

/* kkimctl encode: the JSON shape on stdin → one frame on stdout. */
static int cmd_encode(int argc, char **argv)
{
    kctl_opts o;
    if (parse_opts(argc, argv, false, &o) < 0)
        return KCTL_EXIT_USAGE;
    kctl_err err = { "", "" };
    kk_buf in, frame;
    kk_buf_init(&frame, SIZE_MAX);
    json_t *j = NULL;
    int rc = read_stdin(&in, &err);
    if (rc == 0) {
        json_error_t je;
        j = json_loadb(in.len ? (const char *)in.p : "", in.len, 0, &je);
        if (!j) {
            char where[96];
            snprintf(where, sizeof where, "JSON input line %d column %d", je.line, je.column);
            rc = kctl_fail(&err, KK_EJSON, where, "%s", je.text);
        }
    }
    if (rc == 0)
        rc = kctl_frame_encode(&o, j, &frame, &err);
    if (rc == 0 && (rc = kctl_output_bytes(o.fmt, frame.p, frame.len)) < 0)
        kctl_fail(&err, rc, "", "cannot write stdout");
    json_decref(j);
    kk_buf_free(&in);
    kk_buf_free(&frame);
    return rc < 0 ? report("encode", rc, &err) : KCTL_EXIT_OK;
}

/* Dispatches the subcommand. */
int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(NULL);
    if (strcmp(argv[1], "decode") == 0)
        return cmd_decode(argc, argv);
    if (strcmp(argv[1], "encode") == 0)
        return cmd_encode(argc, argv);
    if (strcmp(argv[1], "tail") == 0)
        return kctl_tail(argc - 1, argv + 1);
    if (strcmp(argv[1], "send") == 0)
        return kctl_send(argc - 1, argv + 1);
    if (strcmp(argv[1], "status") == 0)
        return kctl_status(argc - 1, argv + 1);
    if (strcmp(argv[1], "users") == 0)
        return kctl_users(argc - 1, argv + 1);
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(usage_text, stdout);
        return KCTL_EXIT_OK;
    }
    char why[96];
    snprintf(why, sizeof why, "unknown command %.40s", argv[1]);
    return usage(why);
}
