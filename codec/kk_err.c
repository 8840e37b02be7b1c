/* kk_err.c — texts for the kk_err codes. A switch without default, so that
 * -Wswitch flags a code added to the enum without a message. */
#include "kk_err.h"

/* Returns the message of a code; unknown values get a generic text. */
const char *kk_strerror(int code)
{
    switch ((enum kk_err)code) {
    case KK_OK: return "success";
    case KK_EPROTO: return "malformed input";
    case KK_ETOOBIG: return "size limit exceeded";
    case KK_EAGAIN: return "input truncated";
    case KK_ENOMEM: return "out of memory";
    case KK_EINVAL: return "invalid argument";
    case KK_EDEPTH: return "nesting too deep";
    case KK_EOVERFLOW: return "integer overflow";
    case KK_ETYPE: return "bad type definition";
    case KK_EGZIP: return "corrupt gzip data";
    case KK_EJSON: return "malformed JSON";
    case KK_EB64: return "malformed base64";
    case KK_ECANCELED: return "operation cancelled";
    case KK_ENOTFOUND: return "not found";
    case KK_EIO: return "I/O error";
    }
    return "unknown error";
}

/* Returns the enum name of a code, for logs and kkimctl errors. */
const char *kk_errname(int code)
{
    switch ((enum kk_err)code) {
    case KK_OK: return "KK_OK";
    case KK_EPROTO: return "KK_EPROTO";
    case KK_ETOOBIG: return "KK_ETOOBIG";
    case KK_EAGAIN: return "KK_EAGAIN";
    case KK_ENOMEM: return "KK_ENOMEM";
    case KK_EINVAL: return "KK_EINVAL";
    case KK_EDEPTH: return "KK_EDEPTH";
    case KK_EOVERFLOW: return "KK_EOVERFLOW";
    case KK_ETYPE: return "KK_ETYPE";
    case KK_EGZIP: return "KK_EGZIP";
    case KK_EJSON: return "KK_EJSON";
    case KK_EB64: return "KK_EB64";
    case KK_ECANCELED: return "KK_ECANCELED";
    case KK_ENOTFOUND: return "KK_ENOTFOUND";
    case KK_EIO: return "KK_EIO";
    }
    return "KK_E?";
}
