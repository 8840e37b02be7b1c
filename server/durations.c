/* durations.c — duration and port range parsers (see durations.h). */
#include "durations.h"

#include <string.h>

#include "kk_err.h"

/* Reads up to 19 decimal digits at *s into *v; advances *s.
 * Returns the digit count (0 = none), -1 when too long. */
static int read_digits(const char **s, uint64_t *v)
{
    int n = 0;
    *v = 0;
    while (**s >= '0' && **s <= '9') {
        if (++n > 18)
            return -1;
        *v = *v * 10 + (uint64_t)(**s - '0');
        (*s)++;
    }
    return n;
}

/* Parses a duration into milliseconds. */
int kk_duration_parse(const char *s, uint64_t *ms)
{
    static const struct { const char *unit; uint64_t mult; } units[] = {
        { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
    };
    uint64_t v;
    if (!s)
        return KK_EINVAL;
    int n = read_digits(&s, &v);
    if (n < 0)
        return KK_EOVERFLOW;
    if (n == 0)
        return KK_EINVAL;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(s, units[i].unit) != 0)
            continue;
        if (v > KK_DURATION_MAX_MS / units[i].mult)
            return KK_EOVERFLOW;
        *ms = v * units[i].mult;
        return 0;
    }
    return KK_EINVAL;
}

/* Parses "LOW-HIGH". */
int kk_port_range_parse(const char *s, int *low, int *high)
{
    uint64_t a, b;
    if (!s || read_digits(&s, &a) <= 0 || *s++ != '-' || read_digits(&s, &b) <= 0 || *s)
        return KK_EINVAL;
    if (a < 1 || b > 65535 || a > b)
        return KK_EINVAL;
    *low = (int)a;
    *high = (int)b;
    return 0;
}
