/* metrics.h — counters, gauges and histograms with a small fixed label set,
 * rendered in the Prometheus text exposition format (version 0.0.4).
 *
 * A registry (metrics_new) owns its metrics; a metric owns its series, one
 * per distinct label-value tuple, created on first use and kept until the
 * registry is freed. Callers look a series up once and keep the pointer:
 *     metric *m = metrics_counter(reg, "kkim_frames_total", "Frames received.",
 *                                 (const char *[]){ "tenant", "dir", NULL });
 *     metric_series *s = metric_series_get(m, (const char *[]){ "acme", "in" });
 *     metric_inc(s, 1);
 * Gauges that are cheaper to compute at scrape time register a collect
 * callback (metrics_on_collect), run at the start of metrics_render.
 *
 * Thread: loop thread only (no locks, no atomics). Media threads report
 * through their hand-off messages. Label values are escaped on output;
 * names are checked at registration. Series per metric are capped
 * (METRICS_MAX_SERIES) so a label explosion cannot eat memory. Never put a
 * secret in a label value.
 */
#ifndef KK_METRICS_H
#define KK_METRICS_H

#include <stddef.h>

#include "codec.h"

#define METRICS_MAX_LABELS 4
/* A metric with more distinct label tuples refuses new ones (returns NULL);
 * sized for per-tenant x per-state labels, not per-user labels. */
#define METRICS_MAX_SERIES 4096
#define METRICS_MAX_BUCKETS 32

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

typedef struct metrics metrics;
typedef struct metric metric;
typedef struct metric_series metric_series;

/* Called by metrics_render before rendering (update gauges). */
typedef void (*metrics_collect_fn)(void *ud, metrics *reg);

/* A new empty registry, NULL on ENOMEM. */
metrics *metrics_new(void);

/* Frees the registry, its metrics and series; NULL is a no-op. */
void metrics_free(metrics *reg);

/* Registers a counter / gauge. labels: NULL-terminated names (or NULL for
 * none, at most METRICS_MAX_LABELS). Registering a name again returns the
 * existing metric when type and label names agree, NULL when they differ.
 * Returns NULL on a bad name or ENOMEM. help is copied. */
metric *metrics_counter(metrics *reg, const char *name, const char *help,
                        const char *const *labels);
metric *metrics_gauge(metrics *reg, const char *name, const char *help,
                      const char *const *labels);

/* Registers a histogram with nb strictly increasing finite upper bounds
 * (+Inf is implicit), 1 <= nb <= METRICS_MAX_BUCKETS. */
metric *metrics_histogram(metrics *reg, const char *name, const char *help,
                          const char *const *labels, const double *bounds, size_t nb);

/* Adds a collect callback (at most 8). Returns 0 or KK_ETOOBIG. */
int metrics_on_collect(metrics *reg, metrics_collect_fn fn, void *ud);

/* Returns the series for values (one per label of m, in order; NULL when m
 * has no labels), creating it at zero. NULL on ENOMEM or past the cap. */
metric_series *metric_series_get(metric *m, const char *const *values);

/* Counter: adds v (ignored when negative or NaN). NULL series is a no-op. */
void metric_inc(metric_series *s, double v);
/* Gauge: sets / adds. */
void metric_set(metric_series *s, double v);
void metric_add(metric_series *s, double v);
/* Histogram: records one observation. */
void metric_observe(metric_series *s, double v);
/* Current value of a counter or gauge (histograms: the count). */
double metric_value(const metric_series *s);

/* Appends the whole exposition to out. Returns 0, KK_ETOOBIG or KK_ENOMEM
 * (out then holds a prefix and should be discarded). */
int metrics_render(metrics *reg, kk_buf *out);

#endif
