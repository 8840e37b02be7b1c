/* test_srv_log.c — the JSON-lines logger: field order, escaping, context,
 * levels, truncation and secrets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "log.h"

/* Collects the last written line. */
typedef struct capture {
    char line[KK_LOG_LINE_MAX + 1];
    size_t len;
    int count;
} capture;

/* Writer that stores the line. */
static void capture_write(void *ud, const char *line, size_t len)
{
    capture *c = ud;
    memcpy(c->line, line, len);
    c->line[len] = '\0';
    c->len = len;
    c->count++;
}

/* Parses the captured line (minus newline) as JSON. */
static json_t *parsed(const capture *c)
{
    assert_true(c->len > 0);
    assert_int_equal(c->line[c->len - 1], '\n');
    json_error_t e;
    json_t *j = json_loadb(c->line, c->len - 1, 0, &e);
    assert_non_null(j);
    return j;
}

static int setup(void **state)
{
    static capture cap;
    memset(&cap, 0, sizeof cap);
    kk_log_set_writer(capture_write, &cap);
    kk_log_set_level(KK_LOG_DEBUG);
    *state = &cap;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kk_log_set_writer(NULL, NULL);
    kk_log_set_level(KK_LOG_INFO);
    return 0;
}

static void log_line_starts_with_ts_level_mod_event_then_context(void **state)
{
    capture *c = *state;
    kk_log_ctx ctx = { .mod = "sess", .tenant = "acme", .user = "alice", .platform = 7,
                       .sess = "s1" };
    KK_LOG_INFO(&ctx, "login", KK_I("n", -5), KK_U("u", 18446744073709551615ULL),
                KK_B("ok", true), KK_S("nil", NULL));
    assert_int_equal(c->count, 1);
    /* ts is RFC 3339 UTC with milliseconds: 24 bytes */
    assert_memory_equal(c->line, "{\"ts\":\"", 7);
    assert_int_equal(c->line[7 + 4], '-');
    assert_int_equal(c->line[7 + 10], 'T');
    assert_int_equal(c->line[7 + 19], '.');
    assert_memory_equal(c->line + 7 + 23, "Z\",", 3);
    const char *rest = strstr(c->line, "\"level\"");
    assert_non_null(rest);
    assert_string_equal(rest, "\"level\":\"info\",\"mod\":\"sess\",\"event\":\"login\","
                              "\"tenant\":\"acme\",\"user\":\"alice\",\"platform\":7,"
                              "\"sess\":\"s1\",\"n\":-5,\"u\":18446744073709551615,"
                              "\"ok\":true,\"nil\":null}\n");
}

static void log_escapes_quotes_controls_and_invalid_utf8(void **state)
{
    capture *c = *state;
    kk_log_ctx ctx = { .mod = "t" };
    KK_LOG_WARN(&ctx, "x", KK_S("s", "a\"b\\c\n\t\x01\x7f\xc3\xa9\xff\xe2\x82"));
    const char *v = strstr(c->line, "\"s\":");
    assert_non_null(v);
    assert_string_equal(v, "\"s\":\"a\\\"b\\\\c\\n\\t\\u0001\\u007f\xc3\xa9\\ufffd\\ufffd\\ufffd\"}\n");
    json_t *j = parsed(c);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
    json_decref(j);
}

static void log_secret_writes_only_its_length(void **state)
{
    capture *c = *state;
    kk_secret *s = kk_secret_new("hunter2-very-secret", 19);
    kk_log_ctx ctx = { .mod = "t" };
    KK_LOG_ERROR(&ctx, "auth", KK_SECRET("password", s));
    assert_null(strstr(c->line, "hunter2"));
    assert_non_null(strstr(c->line, ",\"password_len\":19}"));
    kk_secret_free(s);
}

static void log_level_filters_lower_levels(void **state)
{
    capture *c = *state;
    kk_log_set_level(KK_LOG_WARN);
    KK_LOG_INFO(NULL, "hidden", KK_I("a", 1));
    KK_LOG_DEBUG(NULL, "hidden", KK_I("a", 1));
    assert_int_equal(c->count, 0);
    KK_LOG_ERROR(NULL, "shown", KK_I("a", 1));
    assert_int_equal(c->count, 1);
    assert_non_null(strstr(c->line, "\"mod\":\"-\",\"event\":\"shown\""));
    enum kk_log_level l;
    assert_int_equal(kk_log_level_parse("debug", &l), 0);
    assert_int_equal(l, KK_LOG_DEBUG);
    assert_int_equal(kk_log_level_parse("verbose", &l), KK_EINVAL);
}

static void log_truncates_long_lines_and_stays_valid_json(void **state)
{
    capture *c = *state;
    static char big[KK_LOG_LINE_MAX * 2];
    memset(big, 'x', sizeof big - 1);
    KK_LOG_INFO(NULL, "big", KK_I("before", 1), KK_S("s", big), KK_I("after", 2));
    assert_true(c->len <= KK_LOG_LINE_MAX);
    json_t *j = parsed(c);
    assert_true(json_is_true(json_object_get(j, "trunc")));
    assert_int_equal(json_integer_value(json_object_get(j, "before")), 1);
    assert_null(json_object_get(j, "s"));
    assert_null(json_object_get(j, "after"));
    json_decref(j);
}

static void log_err_macro_writes_name_and_text(void **state)
{
    capture *c = *state;
    KK_LOG_ERROR(NULL, "e", KK_ERR(KK_EIO), KK_F("d", 0.5));
    assert_non_null(strstr(c->line, ",\"err\":\"KK_EIO\",\"errText\":\"I/O error\",\"d\":0.5}"));
}

static void secret_equal_compares_whole_value(void **state)
{
    (void)state;
    kk_secret *s = kk_secret_new("abc", 3);
    assert_true(kk_secret_equal(s, "abc", 3));
    assert_false(kk_secret_equal(s, "abd", 3));
    assert_false(kk_secret_equal(s, "ab", 2));
    assert_false(kk_secret_equal(s, "abcd", 4));
    assert_false(kk_secret_equal(NULL, "abc", 3));
    assert_int_equal(kk_secret_len(s), 3);
    kk_secret_free(s);
    kk_secret_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(log_line_starts_with_ts_level_mod_event_then_context, setup, teardown),
        cmocka_unit_test_setup_teardown(log_escapes_quotes_controls_and_invalid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(log_secret_writes_only_its_length, setup, teardown),
        cmocka_unit_test_setup_teardown(log_level_filters_lower_levels, setup, teardown),
        cmocka_unit_test_setup_teardown(log_truncates_long_lines_and_stays_valid_json, setup, teardown),
        cmocka_unit_test_setup_teardown(log_err_macro_writes_name_and_text, setup, teardown),
        cmocka_unit_test(secret_equal_compares_whole_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
