/* posidx.c — JSON path → line/column index (see posidx.h). */
#include "posidx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kk_err.h"

typedef struct pos_entry {
    char *path;
    int kline, kcol; /* key position, 0 when not a member */
    int vline, vcol; /* value position */
} pos_entry;

struct posidx {
    pos_entry *e;
    size_t n, cap;
};

/* Scanner state: cursor plus the line/column of the cursor. */
typedef struct scan {
    const char *s;
    size_t len, i;
    int line, col;
    posidx *idx;
    char path[POSIDX_MAX_PATH];
    int err;
} scan;

/* Advances one byte, tracking line and column. */
static void adv(scan *sc)
{
    if (sc->s[sc->i] == '\n') {
        sc->line++;
        sc->col = 1;
    } else {
        sc->col++;
    }
    sc->i++;
}

/* Skips JSON whitespace. */
static void skip_ws(scan *sc)
{
    while (sc->i < sc->len && (sc->s[sc->i] == ' ' || sc->s[sc->i] == '\t' ||
                               sc->s[sc->i] == '\n' || sc->s[sc->i] == '\r'))
        adv(sc);
}

/* Appends "/" + escaped seg (~ → ~0, / → ~1). */
bool posidx_path_push(char *path, size_t cap, const char *seg)
{
    size_t n = strlen(path), need = 1;
    for (const char *p = seg; *p; p++)
        need += (*p == '~' || *p == '/') ? 2 : 1;
    if (n + need + 1 > cap)
        return false;
    path[n++] = '/';
    for (const char *p = seg; *p; p++) {
        if (*p == '~' || *p == '/') {
            path[n++] = '~';
            path[n++] = *p == '~' ? '0' : '1';
        } else {
            path[n++] = *p;
        }
    }
    path[n] = '\0';
    return true;
}

/* Records the current path with its positions. */
static void add_entry(scan *sc, int kl, int kc, int vl, int vc)
{
    posidx *x = sc->idx;
    if (x->n == x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 32;
        pos_entry *ne = realloc(x->e, nc * sizeof *ne);
        if (!ne) {
            sc->err = KK_ENOMEM;
            return;
        }
        x->e = ne;
        x->cap = nc;
    }
    char *p = strdup(sc->path);
    if (!p) {
        sc->err = KK_ENOMEM;
        return;
    }
    x->e[x->n++] = (pos_entry){ p, kl, kc, vl, vc };
}

/* Reads a string starting at '"'; copies its raw bytes (escapes kept
 * undecoded, except \" and \\) into out when out is not NULL. */
static bool scan_string(scan *sc, char *out, size_t cap)
{
    size_t o = 0;
    adv(sc); /* opening quote */
    while (sc->i < sc->len) {
        char c = sc->s[sc->i];
        if (c == '"') {
            adv(sc);
            if (out)
                out[o] = '\0';
            return true;
        }
        if (c == '\\') {
            adv(sc);
            if (sc->i >= sc->len)
                break;
            c = sc->s[sc->i];
            if (c != '"' && c != '\\' && c != '/' && out && o + 1 < cap)
                out[o++] = '\\';
        }
        if (out && o + 1 < cap)
            out[o++] = c;
        adv(sc);
    }
    return false;
}

static bool scan_value(scan *sc, int depth, int kl, int kc);

/* Scans an object's members, each under path + "/" + key. */
static bool scan_object(scan *sc, int depth)
{
    adv(sc); /* { */
    skip_ws(sc);
    if (sc->i < sc->len && sc->s[sc->i] == '}') {
        adv(sc);
        return true;
    }
    while (sc->i < sc->len && !sc->err) {
        char key[POSIDX_MAX_PATH];
        if (sc->s[sc->i] != '"')
            return false;
        int kl = sc->line, kc = sc->col;
        if (!scan_string(sc, key, sizeof key))
            return false;
        skip_ws(sc);
        if (sc->i >= sc->len || sc->s[sc->i] != ':')
            return false;
        adv(sc);
        size_t plen = strlen(sc->path);
        bool pushed = posidx_path_push(sc->path, sizeof sc->path, key);
        bool ok = scan_value(sc, depth + 1, pushed ? kl : -1, kc);
        sc->path[plen] = '\0';
        if (!ok)
            return false;
        skip_ws(sc);
        if (sc->i >= sc->len)
            return false;
        if (sc->s[sc->i] == '}') {
            adv(sc);
            return true;
        }
        if (sc->s[sc->i] != ',')
            return false;
        adv(sc);
        skip_ws(sc);
    }
    return false;
}

/* Scans an array's elements, each under path + "/" + index. */
static bool scan_array(scan *sc, int depth)
{
    adv(sc); /* [ */
    skip_ws(sc);
    if (sc->i < sc->len && sc->s[sc->i] == ']') {
        adv(sc);
        return true;
    }
    for (unsigned long k = 0; sc->i < sc->len && !sc->err; k++) {
        char seg[24];
        snprintf(seg, sizeof seg, "%lu", k);
        size_t plen = strlen(sc->path);
        bool pushed = posidx_path_push(sc->path, sizeof sc->path, seg);
        bool ok = scan_value(sc, depth + 1, pushed ? 0 : -1, 0);
        sc->path[plen] = '\0';
        if (!ok)
            return false;
        skip_ws(sc);
        if (sc->i >= sc->len)
            return false;
        if (sc->s[sc->i] == ']') {
            adv(sc);
            return true;
        }
        if (sc->s[sc->i] != ',')
            return false;
        adv(sc);
    }
    return false;
}

/* Scans one value at the cursor and indexes it (kl < 0: path too long,
 * not indexed). Scalars are skipped loosely: jansson validated them. */
static bool scan_value(scan *sc, int depth, int kl, int kc)
{
    skip_ws(sc);
    if (sc->i >= sc->len || depth > POSIDX_MAX_DEPTH)
        return false;
    if (kl >= 0)
        add_entry(sc, kl, kc, sc->line, sc->col);
    char c = sc->s[sc->i];
    if (c == '{')
        return scan_object(sc, depth);
    if (c == '[')
        return scan_array(sc, depth);
    if (c == '"')
        return scan_string(sc, NULL, 0);
    size_t start = sc->i;
    while (sc->i < sc->len && strchr(",]} \t\r\n", sc->s[sc->i]) == NULL)
        adv(sc);
    return sc->i > start;
}

/* Builds the index of text. */
int posidx_build(const char *text, size_t len, posidx **out)
{
    posidx *x = calloc(1, sizeof *x);
    *out = x;
    if (!x)
        return KK_ENOMEM;
    scan sc = { .s = text, .len = len, .line = 1, .col = 1, .idx = x };
    sc.path[0] = '\0';
    /* A UTF-8 byte order mark is not part of the first line's columns. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        sc.i = 3;
    bool ok = scan_value(&sc, 0, 0, 0);
    if (sc.err)
        return sc.err;
    return ok ? 0 : KK_EJSON;
}

/* Frees every entry and the index. */
void posidx_free(posidx *idx)
{
    if (!idx)
        return;
    for (size_t i = 0; i < idx->n; i++)
        free(idx->e[i].path);
    free(idx->e);
    free(idx);
}

/* Finds path or its nearest indexed ancestor. */
void posidx_find(const posidx *idx, const char *path, bool want_key, int *line, int *col)
{
    char p[POSIDX_MAX_PATH];
    *line = 1;
    *col = 1;
    if (!idx || !path || strlen(path) >= sizeof p)
        return;
    memcpy(p, path, strlen(path) + 1);
    for (;;) {
        for (size_t i = 0; i < idx->n; i++) {
            const pos_entry *e = &idx->e[i];
            if (strcmp(e->path, p) != 0)
                continue;
            bool key = want_key && e->kline > 0;
            *line = key ? e->kline : e->vline;
            *col = key ? e->kcol : e->vcol;
            return;
        }
        char *slash = strrchr(p, '/');
        if (!slash)
            return;
        *slash = '\0';
        want_key = false;
    }
}
