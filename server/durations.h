/* durations.h — small value parsers shared by the config loader:
 * durations ("250ms", "30s", "5m", "24h", "30d") and port ranges
 * ("40000-40999"). Pure functions: no I/O, no allocation, no globals.
 */
#ifndef KK_DURATIONS_H
#define KK_DURATIONS_H

#include <stdint.h>

/* Longest duration accepted: 10 years, far above any timeout or retention,
 * and small enough that ms values never overflow int64 arithmetic. */
#define KK_DURATION_MAX_MS (10ULL * 366 * 24 * 3600 * 1000)

/* Parses "<digits><unit>" with unit ms|s|m|h|d into milliseconds.
 * Returns 0, KK_EINVAL for bad syntax, KK_EOVERFLOW above the maximum. */
int kk_duration_parse(const char *s, uint64_t *ms);

/* Parses "LOW-HIGH" with 1 <= LOW <= HIGH <= 65535. Returns 0 or KK_EINVAL. */
int kk_port_range_parse(const char *s, int *low, int *high);

#endif
