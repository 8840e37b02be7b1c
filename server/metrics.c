/* metrics.c — Prometheus metrics registry (see metrics.h). */
#include "metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kk_err.h"

struct metric_series {
    char **values;          /* one per label */
    double value;           /* counter / gauge; histogram sum */
    unsigned long long count;   /* histogram */
    unsigned long long *buckets;/* histogram, per bucket (not cumulative) */
    const metric *m;
};

struct metric {
    char *name, *help;
    enum metric_type type;
    char *labels[METRICS_MAX_LABELS];
    size_t nlabels;
    double bounds[METRICS_MAX_BUCKETS];
    size_t nb;
    metric_series **series;
    size_t nseries, capseries;
};

struct metrics {
    metric **m;
    size_t n;
    struct { metrics_collect_fn fn; void *ud; } collect[8];
    size_t ncollect;
};

/* Prometheus metric and label names: [a-zA-Z_:][a-zA-Z0-9_:]* (no ':' in labels). */
static bool valid_name(const char *s, bool label)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || (!label && c == ':');
        if (!ok)
            return false;
    }
    return true;
}

/* A new empty registry. */
metrics *metrics_new(void)
{
    return calloc(1, sizeof(metrics));
}

/* Frees one series. */
static void series_free(metric_series *s, size_t nlabels)
{
    for (size_t i = 0; i < nlabels; i++)
        free(s->values[i]);
    free(s->values);
    free(s->buckets);
    free(s);
}

/* Frees one metric. */
static void metric_free(metric *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nseries; i++)
        series_free(m->series[i], m->nlabels);
    free(m->series);
    for (size_t i = 0; i < m->nlabels; i++)
        free(m->labels[i]);
    free(m->name);
    free(m->help);
    free(m);
}

/* Frees everything. */
void metrics_free(metrics *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n; i++)
        metric_free(reg->m[i]);
    free(reg->m);
    free(reg);
}

/* Creates and registers a metric of any type. */
static metric *metric_register(metrics *reg, enum metric_type type, const char *name,
                               const char *help, const char *const *labels)
{
    if (!reg || !valid_name(name, false))
        return NULL;
    /* Registering a name again gives the same metric when type and label
     * names agree (each tenant registers its series), NULL otherwise. */
    for (size_t i = 0; i < reg->n; i++) {
        metric *old = reg->m[i];
        if (strcmp(old->name, name) != 0)
            continue;
        size_t k = 0;
        while (k < old->nlabels && labels && labels[k] && strcmp(old->labels[k], labels[k]) == 0)
            k++;
        bool same = old->type == type && k == old->nlabels && !(labels && labels[k]);
        return same ? old : NULL;
    }
    metric *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->type = type;
    m->name = strdup(name);
    m->help = strdup(help ? help : "");
    bool ok = m->name && m->help;
    for (size_t i = 0; ok && labels && labels[i]; i++) {
        ok = i < METRICS_MAX_LABELS && valid_name(labels[i], true) &&
             strcmp(labels[i], "le") != 0 && (m->labels[i] = strdup(labels[i])) != NULL;
        m->nlabels += ok;
    }
    metric **nm = ok ? realloc(reg->m, (reg->n + 1) * sizeof *nm) : NULL;
    if (!nm) {
        metric_free(m);
        return NULL;
    }
    reg->m = nm;
    reg->m[reg->n++] = m;
    return m;
}

/* Registers a counter. */
metric *metrics_counter(metrics *reg, const char *name, const char *help,
                        const char *const *labels)
{
    return metric_register(reg, METRIC_COUNTER, name, help, labels);
}

/* Registers a gauge. */
metric *metrics_gauge(metrics *reg, const char *name, const char *help,
                      const char *const *labels)
{
    return metric_register(reg, METRIC_GAUGE, name, help, labels);
}

/* Registers a histogram after checking its bounds. */
metric *metrics_histogram(metrics *reg, const char *name, const char *help,
                          const char *const *labels, const double *bounds, size_t nb)
{
    if (nb < 1 || nb > METRICS_MAX_BUCKETS)
        return NULL;
    for (size_t i = 0; i < nb; i++)
        if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
            return NULL;
    metric *m = metric_register(reg, METRIC_HISTOGRAM, name, help, labels);
    if (m) {
        memcpy(m->bounds, bounds, nb * sizeof *bounds);
        m->nb = nb;
    }
    return m;
}

/* Adds a collect callback. */
int metrics_on_collect(metrics *reg, metrics_collect_fn fn, void *ud)
{
    if (reg->ncollect >= sizeof reg->collect / sizeof reg->collect[0])
        return KK_ETOOBIG;
    reg->collect[reg->ncollect].fn = fn;
    reg->collect[reg->ncollect++].ud = ud;
    return 0;
}

/* Finds or creates the series of a label-value tuple (linear: few series). */
metric_series *metric_series_get(metric *m, const char *const *values)
{
    if (!m || (m->nlabels && !values))
        return NULL;
    for (size_t i = 0; i < m->nseries; i++) {
        size_t k = 0;
        while (k < m->nlabels && strcmp(m->series[i]->values[k], values[k] ? values[k] : "") == 0)
            k++;
        if (k == m->nlabels)
            return m->series[i];
    }
    if (m->nseries >= METRICS_MAX_SERIES)
        return NULL;
    if (m->nseries == m->capseries) {
        size_t nc = m->capseries ? m->capseries * 2 : 4;
        metric_series **ns = realloc(m->series, nc * sizeof *ns);
        if (!ns)
            return NULL;
        m->series = ns;
        m->capseries = nc;
    }
    metric_series *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->m = m;
    s->values = calloc(m->nlabels + 1, sizeof(char *));
    bool ok = s->values != NULL;
    for (size_t k = 0; ok && k < m->nlabels; k++)
        ok = (s->values[k] = strdup(values[k] ? values[k] : "")) != NULL;
    if (ok && m->type == METRIC_HISTOGRAM)
        ok = (s->buckets = calloc(m->nb, sizeof *s->buckets)) != NULL;
    if (!ok) {
        series_free(s, s->values ? m->nlabels : 0);
        return NULL;
    }
    m->series[m->nseries++] = s;
    return s;
}

/* Counter add. */
void metric_inc(metric_series *s, double v)
{
    if (s && s->m->type == METRIC_COUNTER && v >= 0)
        s->value += v;
}

/* Gauge set. */
void metric_set(metric_series *s, double v)
{
    if (s && s->m->type == METRIC_GAUGE)
        s->value = v;
}

/* Gauge add. */
void metric_add(metric_series *s, double v)
{
    if (s && s->m->type == METRIC_GAUGE)
        s->value += v;
}

/* Histogram observation: the first bucket whose bound is >= v. */
void metric_observe(metric_series *s, double v)
{
    if (!s || s->m->type != METRIC_HISTOGRAM || isnan(v))
        return;
    for (size_t i = 0; i < s->m->nb; i++) {
        if (v <= s->m->bounds[i]) {
            s->buckets[i]++;
            break;
        }
    }
    s->count++;
    s->value += v;
}

/* Value of a series. */
double metric_value(const metric_series *s)
{
    if (!s)
        return 0;
    return s->m->type == METRIC_HISTOGRAM ? (double)s->count : s->value;
}

/* Appends a NUL-terminated string. */
static int put(kk_buf *b, const char *s)
{
    return kk_buf_append(b, s, strlen(s));
}

/* Formats a sample value: integers exactly, others with 17 digits. */
static void fmt_value(double v, char *out, size_t cap)
{
    if (isnan(v))
        snprintf(out, cap, "NaN");
    else if (isinf(v))
        snprintf(out, cap, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9007199254740992.0)
        snprintf(out, cap, "%.0f", v);
    else {
        /* shortest of 15 or 17 digits that reads back as the same double */
        snprintf(out, cap, "%.15g", v);
        if (strtod(out, NULL) != v)
            snprintf(out, cap, "%.17g", v);
    }
}

/* Appends text escaped for HELP (\\ and \n) or label values (also \"). */
static int put_escaped(kk_buf *b, const char *s, bool quote)
{
    int rc = 0;
    for (; *s && rc == 0; s++) {
        if (*s == '\\')
            rc = put(b, "\\\\");
        else if (*s == '\n')
            rc = put(b, "\\n");
        else if (quote && *s == '"')
            rc = put(b, "\\\"");
        else
            rc = kk_buf_append(b, s, 1);
    }
    return rc;
}

/* Appends name{labels[,le="x"]} value\n for one sample. */
static int put_sample(kk_buf *b, const metric *m, const char *suffix,
                      const metric_series *s, const char *le, double v)
{
    char num[64];
    int rc = put(b, m->name);
    if (rc == 0)
        rc = put(b, suffix);
    if (rc == 0 && (m->nlabels || le)) {
        rc = put(b, "{");
        for (size_t k = 0; rc == 0 && k < m->nlabels; k++) {
            rc = put(b, k ? "," : "");
            if (rc == 0) rc = put(b, m->labels[k]);
            if (rc == 0) rc = put(b, "=\"");
            if (rc == 0) rc = put_escaped(b, s->values[k], true);
            if (rc == 0) rc = put(b, "\"");
        }
        if (rc == 0 && le) {
            rc = put(b, m->nlabels ? ",le=\"" : "le=\"");
            if (rc == 0) rc = put(b, le);
            if (rc == 0) rc = put(b, "\"");
        }
        if (rc == 0)
            rc = put(b, "}");
    }
    fmt_value(v, num, sizeof num);
    if (rc == 0) rc = put(b, " ");
    if (rc == 0) rc = put(b, num);
    if (rc == 0) rc = put(b, "\n");
    return rc;
}

/* Renders a histogram series: cumulative buckets, +Inf, _sum, _count. */
static int put_histogram(kk_buf *b, const metric *m, const metric_series *s)
{
    unsigned long long cum = 0;
    char le[64];
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < m->nb; i++) {
        cum += s->buckets[i];
        fmt_value(m->bounds[i], le, sizeof le);
        rc = put_sample(b, m, "_bucket", s, le, (double)cum);
    }
    if (rc == 0) rc = put_sample(b, m, "_bucket", s, "+Inf", (double)s->count);
    if (rc == 0) rc = put_sample(b, m, "_sum", s, NULL, s->value);
    if (rc == 0) rc = put_sample(b, m, "_count", s, NULL, (double)s->count);
    return rc;
}

/* Renders the registry. A metric without series and without labels shows
 * a zero sample so dashboards see it from the start. */
int metrics_render(metrics *reg, kk_buf *out)
{
    static const char *const types[] = { "counter", "gauge", "histogram" };
    for (size_t i = 0; i < reg->ncollect; i++)
        reg->collect[i].fn(reg->collect[i].ud, reg);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < reg->n; i++) {
        metric *m = reg->m[i];
        if (m->nlabels == 0 && m->nseries == 0 && !metric_series_get(m, NULL))
            return KK_ENOMEM;
        rc = put(out, "# HELP ");
        if (rc == 0) rc = put(out, m->name);
        if (rc == 0) rc = put(out, " ");
        if (rc == 0) rc = put_escaped(out, m->help, false);
        if (rc == 0) rc = put(out, "\n# TYPE ");
        if (rc == 0) rc = put(out, m->name);
        if (rc == 0) rc = put(out, " ");
        if (rc == 0) rc = put(out, types[m->type]);
        if (rc == 0) rc = put(out, "\n");
        for (size_t k = 0; rc == 0 && k < m->nseries; k++) {
            if (m->type == METRIC_HISTOGRAM)
                rc = put_histogram(out, m, m->series[k]);
            else
                rc = put_sample(out, m, "", m->series[k], NULL, m->series[k]->value);
        }
    }
    return rc;
}
