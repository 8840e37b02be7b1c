/* test_pb_util.h — helpers shared by the test_pb*.c cmocka tests. Include
 * after <cmocka.h>. */
#ifndef KK_TEST_PB_UTIL_H
#define KK_TEST_PB_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Decodes a hex string (anything but 0-9a-f is ignored) into out; returns
 * the length. Fails the test when out is too small. */
static inline size_t unhex(const char *h, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (; *h; h++) {
        int v;
        if (*h >= '0' && *h <= '9')
            v = *h - '0';
        else if (*h >= 'a' && *h <= 'f')
            v = *h - 'a' + 10;
        else
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            assert_true(n < cap);
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return n;
}

#endif
