/* kk_err.h — error codes shared by every kkim-relay module.
 *
 * The bottom of the dependency graph: includes nothing of ours. Functions
 * return 0 (or a positive count) on success and one of these negative codes
 * on failure; kk_strerror() gives the text. Library errors are translated
 * into these once, at the boundary where the library is called.
 */
#ifndef KK_ERR_H
#define KK_ERR_H

enum kk_err {
    KK_OK = 0,
    KK_EPROTO = -1,     /* input violates the wire format */
    KK_ETOOBIG = -2,    /* a size limit was exceeded (frame, string, inflated output) */
    KK_EAGAIN = -3,     /* input ends before the value does (truncated) */
    KK_ENOMEM = -4,     /* allocation failed */
    KK_EINVAL = -5,     /* bad argument from our own caller */
    KK_EDEPTH = -6,     /* nesting deeper than the limit */
    KK_EOVERFLOW = -7,  /* an integer does not fit its declared type */
    KK_ETYPE = -8,      /* gob: bad, duplicate, cyclic or mismatched type definition */
    KK_EGZIP = -9,      /* gzip stream is corrupt */
    KK_EJSON = -10,     /* JSON text is malformed or has the wrong shape */
    KK_EB64 = -11,      /* base64 text is malformed */
    KK_ECANCELED = -12, /* operation was cancelled before it completed */
    KK_ENOTFOUND = -13, /* a required item is missing */
    KK_EIO = -14,       /* I/O error (files, sockets) */
};

/* Returns a static, human-readable text for a kk_err code (never NULL). */
const char *kk_strerror(int code);

/* Returns the symbolic name ("KK_EPROTO") of a code (never NULL). */
const char *kk_errname(int code);

#endif
