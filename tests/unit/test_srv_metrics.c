/* test_srv_metrics.c — Prometheus text exposition: HELP/TYPE, labels and
 * their escaping, histogram buckets/_sum/_count, registration rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "kk_err.h"
#include "metrics.h"

/* Renders reg into a NUL-terminated string (caller frees b). */
static const char *render(metrics *reg, kk_buf *b)
{
    kk_buf_init(b, 1 << 20);
    assert_int_equal(metrics_render(reg, b), 0);
    assert_int_equal(kk_buf_append(b, "", 1), 0);
    return (const char *)b->p;
}

static void metrics_render_counter_and_gauge_with_escaped_labels(void **state)
{
    (void)state;
    metrics *reg = metrics_new();
    metric *c = metrics_counter(reg, "kkim_frames_total", "Frames \\ seen.\nSecond line.",
                                (const char *[]){ "tenant", "dir", NULL });
    metric *g = metrics_gauge(reg, "kkim_up", "Up.", NULL);
    assert_non_null(c);
    assert_non_null(g);
    metric_inc(metric_series_get(c, (const char *[]){ "a\"c\\me\n", "in" }), 3);
    metric_series *s = metric_series_get(c, (const char *[]){ "b", "out" });
    metric_inc(s, 1.5);
    metric_inc(s, -7); /* counters never go down */
    assert_ptr_equal(s, metric_series_get(c, (const char *[]){ "b", "out" }));
    kk_buf b;
    assert_string_equal(render(reg, &b),
        "# HELP kkim_frames_total Frames \\\\ seen.\\nSecond line.\n"
        "# TYPE kkim_frames_total counter\n"
        "kkim_frames_total{tenant=\"a\\\"c\\\\me\\n\",dir=\"in\"} 3\n"
        "kkim_frames_total{tenant=\"b\",dir=\"out\"} 1.5\n"
        "# HELP kkim_up Up.\n"
        "# TYPE kkim_up gauge\n"
        "kkim_up 0\n");
    kk_buf_free(&b);
    metric_set(metric_series_get(g, NULL), -2);
    metric_add(metric_series_get(g, NULL), 0.25);
    assert_true(metric_value(metric_series_get(g, NULL)) == -1.75);
    metrics_free(reg);
}

static void metrics_histogram_renders_cumulative_buckets_sum_and_count(void **state)
{
    (void)state;
    metrics *reg = metrics_new();
    const double bounds[] = { 0.001, 0.01, 0.1 };
    metric *h = metrics_histogram(reg, "kkim_append_seconds", "Append latency.",
                                  (const char *[]){ "tenant", NULL }, bounds, 3);
    assert_non_null(h);
    metric_series *s = metric_series_get(h, (const char *[]){ "t" });
    metric_observe(s, 0.0005);
    metric_observe(s, 0.001); /* le is inclusive */
    metric_observe(s, 0.05);
    metric_observe(s, 2);
    kk_buf b;
    assert_string_equal(render(reg, &b),
        "# HELP kkim_append_seconds Append latency.\n"
        "# TYPE kkim_append_seconds histogram\n"
        "kkim_append_seconds_bucket{tenant=\"t\",le=\"0.001\"} 2\n"
        "kkim_append_seconds_bucket{tenant=\"t\",le=\"0.01\"} 2\n"
        "kkim_append_seconds_bucket{tenant=\"t\",le=\"0.1\"} 3\n"
        "kkim_append_seconds_bucket{tenant=\"t\",le=\"+Inf\"} 4\n"
        "kkim_append_seconds_sum{tenant=\"t\"} 2.0515\n"
        "kkim_append_seconds_count{tenant=\"t\"} 4\n");
    kk_buf_free(&b);
    metrics_free(reg);
}

static void metrics_reject_bad_names_duplicates_and_bad_buckets(void **state)
{
    (void)state;
    metrics *reg = metrics_new();
    const double up[] = { 1, 2 }, down[] = { 2, 1 };
    assert_null(metrics_counter(reg, "9bad", "", NULL));
    assert_null(metrics_counter(reg, "bad-name", "", NULL));
    assert_null(metrics_counter(reg, "ok", "", (const char *[]){ "bad:label", NULL }));
    assert_null(metrics_counter(reg, "ok2", "", (const char *[]){ "le", NULL }));
    assert_non_null(metrics_counter(reg, "ok", "", NULL));
    assert_null(metrics_gauge(reg, "ok", "", NULL));
    assert_null(metrics_histogram(reg, "h", "", NULL, down, 2));
    assert_null(metrics_histogram(reg, "h", "", NULL, up, 0));
    assert_non_null(metrics_histogram(reg, "h", "", NULL, up, 2));
    metrics_free(reg);
    metrics_free(NULL);
}

/* Collect callback: sets the gauge to a known value at scrape time. */
static void collect_sets_gauge(void *ud, metrics *reg)
{
    (void)reg;
    metric_set(metric_series_get(ud, NULL), 42);
}

static void metrics_collect_callback_runs_before_render(void **state)
{
    (void)state;
    metrics *reg = metrics_new();
    metric *g = metrics_gauge(reg, "kkim_sessions", "Sessions.", NULL);
    assert_int_equal(metrics_on_collect(reg, collect_sets_gauge, g), 0);
    kk_buf b;
    assert_non_null(strstr(render(reg, &b), "\nkkim_sessions 42\n"));
    kk_buf_free(&b);
    metrics_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(metrics_render_counter_and_gauge_with_escaped_labels),
        cmocka_unit_test(metrics_histogram_renders_cumulative_buckets_sum_and_count),
        cmocka_unit_test(metrics_reject_bad_names_duplicates_and_bad_buckets),
        cmocka_unit_test(metrics_collect_callback_runs_before_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
