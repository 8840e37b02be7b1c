/* msg.c — kk_msg: a MsgData flattened into one allocation (see msg.h).
 *
 * Built in two passes over the same writer: the first measures every value,
 * the second writes into the single block. Layout of the block:
 *   kk_msg | argv[argc] | argvlen[argc] | value bytes (each NUL-terminated)
 * Field names are the static table below and are not copied.
 */
#include "msg.h"

#include <stdlib.h>
#include <string.h>

static const char *const msg_field_names[KK_MSG_NFIELDS] = {
    "conversationID", "seq", "serverMsgID", "clientMsgID", "sendID", "recvID",
    "groupID", "sessionType", "contentType", "msgFrom", "senderPlatformID",
    "senderNickname", "senderFaceURL", "sendTime", "createTime", "status",
    "content", "ex", "atUserIDList", "options", "attachedInfo", "via", "raw",
};

/* Cursor of the two passes: with base == NULL it only counts. */
typedef struct msg_w {
    char *base;
    size_t off;
} msg_w;

/* Appends n bytes (or counts them when measuring). */
static void
w_put(msg_w *w, const void *p, size_t n)
{
    if (w->base && n)
        memcpy(w->base + w->off, p, n);
    w->off += n;
}

/* Appends one byte. */
static void
w_byte(msg_w *w, char c)
{
    w_put(w, &c, 1);
}

/* Appends the decimal text of v. */
static void
w_i64(msg_w *w, int64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    /* Work on the magnitude as unsigned so INT64_MIN does not overflow. */
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    w_put(w, tmp + i, sizeof tmp - i);
}

/* Appends s as a JSON string literal (quotes included). Bytes >= 0x80 are
 * passed through: the gateway's strings are UTF-8 by contract. */
static void
w_json_str(msg_w *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    w_byte(w, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc = 0;
        switch (*p) {
        case '"': esc = '"'; break;
        case '\\': esc = '\\'; break;
        case '\b': esc = 'b'; break;
        case '\f': esc = 'f'; break;
        case '\n': esc = 'n'; break;
        case '\r': esc = 'r'; break;
        case '\t': esc = 't'; break;
        default: break;
        }
        if (esc) {
            w_byte(w, '\\');
            w_byte(w, esc);
        } else if (*p < 0x20) {
            char u[6] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15] };
            w_put(w, u, sizeof u);
        } else {
            w_byte(w, (char)*p);
        }
    }
    w_byte(w, '"');
}

/* A protobuf-c string is never NULL after unpack, but a hand-built MsgData
 * may leave one NULL: treat that as "". */
static const char *
nz(const char *s)
{
    return s ? s : "";
}

/* Writes every value of md in field order, recording where each starts and
 * how long it is (when vals/lens are given). */
static void
msg_write_values(msg_w *w, const Kkim__MsgData *md, const char *conv, const char *via,
                 size_t rawlen, size_t *starts, size_t *lens)
{
    for (int f = 0; f < KK_MSG_NFIELDS; f++) {
        size_t start = w->off;
        switch (f) {
        case 0: w_put(w, conv, strlen(conv)); break;
        case 1: w_i64(w, md->seq); break;
        case 2: w_put(w, nz(md->servermsgid), strlen(nz(md->servermsgid))); break;
        case 3: w_put(w, nz(md->clientmsgid), strlen(nz(md->clientmsgid))); break;
        case 4: w_put(w, nz(md->sendid), strlen(nz(md->sendid))); break;
        case 5: w_put(w, nz(md->recvid), strlen(nz(md->recvid))); break;
        case 6: w_put(w, nz(md->groupid), strlen(nz(md->groupid))); break;
        case 7: w_i64(w, md->sessiontype); break;
        case 8: w_i64(w, md->contenttype); break;
        case 9: w_i64(w, md->msgfrom); break;
        case 10: w_i64(w, md->senderplatformid); break;
        case 11: w_put(w, nz(md->sendernickname), strlen(nz(md->sendernickname))); break;
        case 12: w_put(w, nz(md->senderfaceurl), strlen(nz(md->senderfaceurl))); break;
        case 13: w_i64(w, md->sendtime); break;
        case 14: w_i64(w, md->createtime); break;
        case 15: w_i64(w, md->status); break;
        case 16: w_put(w, md->content.data, md->content.data ? md->content.len : 0); break;
        case 17: w_put(w, nz(md->ex), strlen(nz(md->ex))); break;
        case 18:
            w_byte(w, '[');
            for (size_t i = 0; i < md->n_atuseridlist; i++) {
                if (i)
                    w_byte(w, ',');
                w_json_str(w, nz(md->atuseridlist[i]));
            }
            w_byte(w, ']');
            break;
        case 19:
            w_byte(w, '{');
            for (size_t i = 0; i < md->n_options; i++) {
                if (i)
                    w_byte(w, ',');
                w_json_str(w, nz(md->options[i]->key));
                w_byte(w, ':');
                if (md->options[i]->value)
                    w_put(w, "true", 4);
                else
                    w_put(w, "false", 5);
            }
            w_byte(w, '}');
            break;
        case 20: w_put(w, nz(md->attachedinfo), strlen(nz(md->attachedinfo))); break;
        case 21: w_put(w, via, strlen(via)); break;
        case 22:
            /* Packed in place by the caller once the block exists. */
            w->off += rawlen;
            break;
        default: break;
        }
        if (starts) {
            starts[f] = start;
            lens[f] = w->off - start;
        }
        w_byte(w, '\0');
    }
}

/* Builds the message; see msg.h for the contract. */
kk_msg *
kk_msg_new(const Kkim__MsgData *md, const char *conv, bool notif, const char *via)
{
    if (!md || !conv || md->seq < 0)
        return NULL;
    size_t convlen = strnlen(conv, KK_MSG_CONV_MAX + 1);
    if (convlen == 0 || convlen > KK_MSG_CONV_MAX)
        return NULL;
    via = nz(via);

    size_t rawlen = protobuf_c_message_get_packed_size(&md->base);
    msg_w meas = { NULL, 0 };
    msg_write_values(&meas, md, conv, via, rawlen, NULL, NULL);

    const size_t argc = 2 * KK_MSG_NFIELDS;
    size_t head = sizeof(kk_msg) + argc * sizeof(char *) + argc * sizeof(size_t);
    size_t total = head + meas.off;
    char *blk = malloc(total);
    if (!blk)
        return NULL;

    kk_msg *m = (kk_msg *)blk;
    const char **argv = (const char **)(blk + sizeof(kk_msg));
    size_t *argvlen = (size_t *)(blk + sizeof(kk_msg) + argc * sizeof(char *));
    size_t starts[KK_MSG_NFIELDS], lens[KK_MSG_NFIELDS];
    msg_w w = { blk + head, 0 };
    msg_write_values(&w, md, conv, via, rawlen, starts, lens);
    size_t packed = protobuf_c_message_pack(&md->base, (uint8_t *)(blk + head + starts[22]));
    if (packed != rawlen) {
        /* protobuf-c promises equality; a mismatch means md changed under us. */
        free(blk);
        return NULL;
    }

    for (int f = 0; f < KK_MSG_NFIELDS; f++) {
        argv[2 * f] = msg_field_names[f];
        argvlen[2 * f] = strlen(msg_field_names[f]);
        argv[2 * f + 1] = blk + head + starts[f];
        argvlen[2 * f + 1] = lens[f];
    }
    *m = (kk_msg){
        .next = NULL,
        .conv = argv[1],
        .seq = (uint64_t)md->seq,
        .notif = notif,
        .placeholder = md->status == KK_MSG_STATUS_PLACEHOLDER,
        .client_msg_id = argv[7],
        .argc = argc,
        .argv = argv,
        .argvlen = argvlen,
        .bytes = total,
    };
    return m;
}

/* Frees the single block. */
void
kk_msg_free(kk_msg *m)
{
    free(m);
}

/* Linear lookup over the 23 names: only tests and logs use it. */
const char *
kk_msg_field(const kk_msg *m, const char *name, size_t *len)
{
    if (!m || !name)
        return NULL;
    for (size_t i = 0; i + 1 < m->argc; i += 2) {
        if (strcmp(m->argv[i], name) == 0) {
            if (len)
                *len = m->argvlen[i + 1];
            return m->argv[i + 1];
        }
    }
    return NULL;
}
