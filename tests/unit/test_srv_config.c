/* test_srv_config.c — config loading (design §8.1): values, defaults,
 * relative paths, secrets, every error with FILE:LINE:COL, reload diffs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "durations.h"
#include "kk_err.h"
#include "rurl.h"

/* The source tree's root, from this file's absolute path. */
static const char *src_root(char *buf, size_t cap)
{
    const char *tail = strstr(__FILE__, "/tests/unit/");
    assert_non_null(tail);
    snprintf(buf, cap, "%.*s", (int)(tail - __FILE__), __FILE__);
    return buf;
}

/* Writes text to dir/name and returns the path in buf. */
static const char *write_file(const char *dir, const char *name, const char *text, char *buf,
                              size_t cap)
{
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < cap);
    FILE *f = fopen(buf, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return buf;
}

/* A fresh temporary directory per test. */
static int setup_dir(void **state)
{
    char *d = strdup("/tmp/kk_cfg_XXXXXX");
    assert_non_null(mkdtemp(d));
    *state = d;
    return 0;
}

static int teardown_dir(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", (char *)*state);
    assert_int_equal(system(cmd), 0);
    free(*state);
    return 0;
}

/* Loads text as dir/main.json; returns rc, errors in errs. */
static int load(const char *dir, const char *text, kk_config **cfg, cfg_errors *errs)
{
    char path[512];
    write_file(dir, "main.json", text, path, sizeof path);
    return cfg_load(path, cfg, errs);
}

/* Formats error i as "main.json:L:C: msg" (file without directory). */
static const char *err_line(const cfg_errors *errs, size_t i, char *buf, size_t cap)
{
    assert_true(i < errs->n);
    const char *f = strrchr(errs->e[i].file, '/');
    snprintf(buf, cap, "%s:%d:%d: %s", f ? f + 1 : errs->e[i].file, errs->e[i].line,
             errs->e[i].col, errs->e[i].msg);
    return buf;
}

static void config_demo_file_loads_with_its_three_users(void **state)
{
    (void)state;
    kk_config *cfg = NULL;
    cfg_errors errs;
    char root[512], path[600];
    snprintf(path, sizeof path, "%s/config/demo.json", src_root(root, sizeof root));
    int rc = cfg_load(path, &cfg, &errs);
    cfg_errors_print(&errs, stderr);
    cfg_errors_free(&errs);
    assert_int_equal(rc, 0);
    assert_int_equal(cfg->n_tenants, 1);
    assert_int_equal(cfg->n_users, 3);
    const cfg_tenant *t = cfg_tenant_find(cfg, "demo");
    assert_non_null(t);
    assert_string_equal(t->gateway.host, "127.0.0.1");
    assert_int_equal(t->gateway.port, 10001);
    assert_string_equal(t->gateway.path, "/");
    assert_int_equal(t->gateway.compression, CFG_COMP_GZIP);
    assert_int_equal(t->tokens.source, CFG_TOK_FILE);
    const char *tail = "/config/demo.tokens";
    assert_string_equal(t->tokens.path + strlen(t->tokens.path) - strlen(tail), tail);
    /* sorted by userID */
    assert_string_equal(t->users[0].user_id, "alice");
    assert_int_equal(t->users[0].sdk, CFG_SDK_GO);
    assert_int_equal(t->users[0].platform_id, 7);
    assert_string_equal(t->users[1].user_id, "bob");
    assert_int_equal(t->users[1].sdk, CFG_SDK_JS);
    assert_string_equal(t->users[2].user_id, "carol");
    assert_int_equal(t->users[2].record, CFG_RECORD_AUTO);
    assert_int_equal(cfg->instance.drain_ms, 5000);
    assert_string_equal(cfg->admin.host, "127.0.0.1");
    assert_int_equal(cfg->admin.port, 9540);
    cfg_free(cfg);
}

static const char minimal[] =
    "{\"tenants\":[{\"id\":\"t1\",\"gateway\":{\"url\":\"ws://gw:1/x\",\"platformID\":5},"
    "\"tokens\":{\"alice\":\"tok-a\"},\"users\":[\"alice\"]}]}";

static void config_minimal_tenant_gets_documented_defaults(void **state)
{
    kk_config *cfg = NULL;
    cfg_errors errs;
    assert_int_equal(load(*state, minimal, &cfg, &errs), 0);
    assert_string_equal(cfg->admin.listen, "127.0.0.1:9540");
    assert_int_equal(cfg->log.level, KK_LOG_INFO);
    assert_string_equal(cfg->redis.url.host, "127.0.0.1");
    assert_int_equal(cfg->redis.url.port, 6379);
    assert_int_equal(cfg->media.threads, 2);
    assert_int_equal(cfg->media.port_min, 40000);
    assert_int_equal(cfg->media.port_max, 40999);
    assert_int_equal(cfg->recordings.max_duration_ms, 4 * 3600000);
    const cfg_tenant *t = &cfg->tenants[0];
    assert_int_equal(t->gateway.sdk, CFG_SDK_GO);
    assert_int_equal(t->gateway.compression, CFG_COMP_NONE);
    assert_string_equal(t->gateway.path, "/x");
    assert_int_equal(t->tokens.source, CFG_TOK_STATIC);
    assert_int_equal(t->tokens.n_statics, 1);
    assert_string_equal(kk_secret_reveal(t->tokens.statics[0].token), "tok-a");
    assert_int_equal(t->streams.partitions, 1);
    assert_int_equal(t->backfill, CFG_BACKFILL_NONE);
    assert_int_equal(t->limits.max_logins, 100000);
    assert_true(t->limits.max_msgs_per_sec == 0); /* no ingest budget */
    assert_false(t->redis.set);
    cfg_free(cfg);
}

/* limits.maxMsgsPerSec is read as given; a negative one is an error. */
static void config_limits_max_msgs_per_sec_is_read_and_checked(void **state)
{
    kk_config *cfg = NULL;
    cfg_errors errs;
    char b[600];
    const char *good = "{\"tenants\":[{\"id\":\"t1\",\"gateway\":{\"url\":\"ws://gw:1\",\"platformID\":5},"
                       "\"tokens\":{},\"limits\":{\"maxMsgsPerSec\":2500}}]}";
    assert_int_equal(load(*state, good, &cfg, &errs), 0);
    assert_true(cfg->tenants[0].limits.max_msgs_per_sec == 2500);
    cfg_free(cfg);
    const char *bad = "{\"tenants\":[{\"id\":\"t1\",\"gateway\":{\"url\":\"ws://gw:1\",\"platformID\":5},"
                      "\"tokens\":{},\"limits\":{\"maxMsgsPerSec\":-1}}]}";
    assert_int_equal(load(*state, bad, &cfg, &errs), KK_EINVAL);
    assert_int_equal(errs.total, 1);
    assert_string_equal(err_line(&errs, 0, b, sizeof b),
                        "main.json:1:107: tenants[0].limits.maxMsgsPerSec: must be between 0 and 1e+07");
    cfg_errors_free(&errs);
}

static void config_reports_every_error_with_line_and_column(void **state)
{
    const char *text =
        "{\n"
        "  \"logg\": {},\n"
        "  \"log\": { \"level\": \"loud\" },\n"
        "  \"recordings\": { \"maxDuration\": \"4 hours\" },\n"
        "  \"tenants\": [\n"
        "    { \"id\": \"a b\",\n"
        "      \"gateway\": { \"url\": \"http://x\", \"platformID\": 11 },\n"
        "      \"tokens\": { \"source\": \"file\" },\n"
        "      \"users\": [ \"alice\", 5 ] }\n"
        "  ]\n"
        "}\n";
    kk_config *cfg = (kk_config *)1;
    cfg_errors errs;
    char b[1200];
    assert_int_equal(load(*state, text, &cfg, &errs), KK_EINVAL);
    assert_null(cfg);
    assert_int_equal(errs.total, 8);
    assert_string_equal(err_line(&errs, 0, b, sizeof b),
        "main.json:2:3: logg: unknown key \"logg\" (allowed: $schema, instance, admin, log, "
        "redis, recordings, media, tenantsDir, tenants, leases)");
    assert_string_equal(err_line(&errs, 1, b, sizeof b),
        "main.json:3:21: log.level: must be one of \"debug\", \"info\", \"warn\", \"error\", \"off\"");
    assert_string_equal(err_line(&errs, 2, b, sizeof b),
        "main.json:4:34: recordings.maxDuration: must be a duration string like \"250ms\", "
        "\"30s\", \"5m\", \"24h\" or \"30d\"");
    assert_string_equal(err_line(&errs, 3, b, sizeof b),
        "main.json:6:13: tenants[0].id: must be 1..64 characters of [A-Za-z0-9._-]");
    assert_string_equal(err_line(&errs, 4, b, sizeof b),
        "main.json:7:27: tenants[0].gateway.url: must be ws://host[:port][/path] or "
        "wss://host[:port][/path]");
    assert_string_equal(err_line(&errs, 5, b, sizeof b),
        "main.json:7:53: tenants[0].gateway.platformID: must be between 1 and 10");
    assert_string_equal(err_line(&errs, 6, b, sizeof b),
        "main.json:8:17: tenants[0].tokens.path: required key is missing");
    /* a missing key is reported at the object that lacks it */
    assert_string_equal(err_line(&errs, 7, b, sizeof b),
        "main.json:9:27: tenants[0].users[1]: must be a userID string or an object with \"userID\"");
    cfg_errors_free(&errs);
}

/* "leases" turns dynamic sharding on with documented defaults; bad values
 * are reported at their position (docs/operations.md). */
static void config_leases_default_when_empty_and_reject_out_of_range(void **state)
{
    kk_config *cfg = NULL;
    cfg_errors errs;
    assert_int_equal(load(*state, "{ \"tenants\": [] }", &cfg, &errs), 0);
    assert_false(cfg->leases.enabled);
    cfg_free(cfg);
    assert_int_equal(load(*state, "{ \"leases\": {}, \"tenants\": [] }", &cfg, &errs), 0);
    assert_true(cfg->leases.enabled);
    assert_int_equal(cfg->leases.shards, 256);
    assert_int_equal(cfg->leases.ttl_ms, 6000);
    cfg_free(cfg);
    const char *bad =
        "{\n"
        "  \"leases\": { \"shards\": 0, \"ttlMs\": 999,\n"
        "              \"ttl\": 5 },\n"
        "  \"tenants\": []\n"
        "}\n";
    char b[400];
    assert_int_equal(load(*state, bad, &cfg, &errs), KK_EINVAL);
    assert_null(cfg);
    assert_int_equal(errs.total, 3);
    assert_string_equal(err_line(&errs, 0, b, sizeof b),
        "main.json:3:15: leases.ttl: unknown key \"ttl\" (allowed: shards, ttlMs)");
    assert_string_equal(err_line(&errs, 1, b, sizeof b),
        "main.json:2:25: leases.shards: must be between 1 and 4096");
    assert_string_equal(err_line(&errs, 2, b, sizeof b),
        "main.json:2:37: leases.ttlMs: must be between 1000 and 600000");
    cfg_errors_free(&errs);
}

static void config_syntax_error_uses_jansson_position(void **state)
{
    kk_config *cfg = NULL;
    cfg_errors errs;
    char b[600];
    assert_int_equal(load(*state, "{\n  \"log\": { \"level\": \"info\" },\n  ]\n}", &cfg, &errs),
                     KK_EINVAL);
    assert_int_equal(errs.total, 1);
    assert_string_equal(err_line(&errs, 0, b, sizeof b),
                        "main.json:3:3: JSON syntax: string or '}' expected near ']'");
    cfg_errors_free(&errs);
    assert_int_equal(load(*state, "{\"log\":{},\"log\":{}}", &cfg, &errs), KK_EINVAL);
    assert_int_equal(errs.total, 1);
    assert_non_null(strstr(errs.e[0].msg, "duplicate object key"));
    cfg_errors_free(&errs);
}

static void config_secrets_come_from_env_and_file_and_never_reach_errors(void **state)
{
    char p[512], text[1024];
    write_file(*state, "pw.txt", "file-secret\n", p, sizeof p);
    setenv("KK_TEST_ADMIN_TOKEN", "env-secret", 1);
    snprintf(text, sizeof text,
             "{\"admin\":{\"listen\":\"0.0.0.0:9540\",\"token\":{\"env\":\"KK_TEST_ADMIN_TOKEN\"}},"
             "\"redis\":{\"url\":\"redis://u:url-secret@10.0.0.1:6380/3\",\"password\":{\"file\":\"pw.txt\"}}}");
    kk_config *cfg = NULL;
    cfg_errors errs;
    assert_int_equal(load(*state, text, &cfg, &errs), 0);
    assert_string_equal(kk_secret_reveal(cfg->admin.token), "env-secret");
    assert_string_equal(kk_secret_reveal(cfg->redis.url.password), "file-secret");
    assert_string_equal(cfg->redis.url.username, "u");
    assert_int_equal(cfg->redis.url.db, 3);
    cfg_free(cfg);
    /* a broken URL with a password, a missing env var, a public admin without token */
    assert_int_equal(load(*state,
                          "{\"admin\":{\"listen\":\"0.0.0.0:9540\"},"
                          "\"redis\":{\"url\":\"redis://u:url-secret@host:99999/0\","
                          "\"password\":{\"env\":\"KK_TEST_UNSET_VAR\"}}}",
                          &cfg, &errs),
                     KK_EINVAL);
    assert_int_equal(errs.total, 3);
    for (size_t i = 0; i < errs.n; i++)
        assert_null(strstr(errs.e[i].msg, "url-secret"));
    assert_string_equal(errs.e[0].msg,
                        "admin.listen: a non-loopback admin address needs admin.token");
    assert_string_equal(errs.e[1].msg, "redis.url: invalid Redis URL (bad port); expected "
                                       "redis://[user[:password]@]host:port/db[?cluster=1] or "
                                       "redis-sentinel://[user[:password]@]host:port[,...]"
                                       "/master[/db]");
    assert_string_equal(errs.e[2].msg,
                        "redis.password: environment variable KK_TEST_UNSET_VAR is not set or empty");
    cfg_errors_free(&errs);
}

static void config_reads_tenants_dir_and_users_file_relative_to_their_file(void **state)
{
    char p[512], d[512];
    snprintf(d, sizeof d, "%s/tenants.d", (char *)*state);
    assert_int_equal(mkdir(d, 0700), 0);
    write_file(d, "b.json",
               "{\"id\":\"b\",\"gateway\":{\"url\":\"wss://[::1]:443\",\"platformID\":3},"
               "\"tokens\":{\"source\":\"jwt\",\"secret\":\"k\",\"ttl\":\"2h\"},"
               "\"usersFile\":\"b.users\",\"backfill\":50}", p, sizeof p);
    write_file(d, "b.users", "# comment\n  u1 \n\nu2\nbad user\n", p, sizeof p);
    kk_config *cfg = NULL;
    cfg_errors errs;
    assert_int_equal(load(*state, "{\"tenantsDir\":\"tenants.d\"}", &cfg, &errs), KK_EINVAL);
    assert_int_equal(errs.total, 1);
    assert_string_equal(errs.e[0].file + strlen(errs.e[0].file) - 17, "tenants.d/b.users");
    assert_int_equal(errs.e[0].line, 5);
    assert_int_equal(errs.e[0].col, 1);
    cfg_errors_free(&errs);
    write_file(d, "b.users", "# comment\n  u1 \n\nu2\n", p, sizeof p);
    assert_int_equal(load(*state, "{\"tenantsDir\":\"tenants.d\"}", &cfg, &errs), 0);
    assert_int_equal(cfg->n_tenants, 1);
    assert_int_equal(cfg->n_users, 2);
    const cfg_tenant *t = &cfg->tenants[0];
    assert_string_equal(t->gateway.host, "::1");
    assert_true(t->gateway.tls);
    assert_int_equal(t->tokens.source, CFG_TOK_JWT);
    assert_int_equal(t->tokens.ttl_ms, 7200000);
    assert_int_equal(t->backfill, CFG_BACKFILL_COUNT);
    assert_int_equal(t->backfill_count, 50);
    assert_string_equal(t->users[0].user_id, "u1");
    assert_int_equal(t->users[0].platform_id, 3);
    cfg_free(cfg);
}

static void config_rejects_duplicate_tenants_and_users(void **state)
{
    kk_config *cfg = NULL;
    cfg_errors errs;
    const char *text =
        "{\"tenants\":[{\"id\":\"t\",\"gateway\":{\"url\":\"ws://h\",\"platformID\":1},"
        "\"tokens\":{},\"users\":[\"a\",{\"userID\":\"a\"}]},"
        "{\"id\":\"t\",\"gateway\":{\"url\":\"ws://h\",\"platformID\":1},\"tokens\":{}}]}";
    assert_int_equal(load(*state, text, &cfg, &errs), KK_EINVAL);
    assert_int_equal(errs.total, 2);
    assert_string_equal(errs.e[0].msg,
                        "tenants[0]: user \"a\" with platformID 1 is listed more than once");
    assert_non_null(strstr(errs.e[1].msg, "tenants[1].id: tenant \"t\" is already defined in"));
    cfg_errors_free(&errs);
}

static void config_diff_lists_added_removed_and_changed(void **state)
{
    kk_config *a = NULL, *b = NULL;
    cfg_errors errs;
    assert_int_equal(load(*state,
        "{\"tenants\":[{\"id\":\"t1\",\"gateway\":{\"url\":\"ws://h\",\"platformID\":1},"
        "\"tokens\":{},\"users\":[\"a\",\"b\",\"c\"]},"
        "{\"id\":\"t2\",\"gateway\":{\"url\":\"ws://h\",\"platformID\":1},\"tokens\":{}},"
        "{\"id\":\"t3\",\"gateway\":{\"url\":\"ws://h\",\"platformID\":1},\"tokens\":{}}]}",
        &a, &errs), 0);
    assert_int_equal(load(*state,
        "{\"log\":{\"level\":\"debug\"},"
        "\"tenants\":[{\"id\":\"t1\",\"gateway\":{\"url\":\"ws://h\",\"platformID\":1},"
        "\"tokens\":{},\"users\":[\"a\",{\"userID\":\"c\",\"record\":\"auto\"},\"d\"]},"
        "{\"id\":\"t3\",\"gateway\":{\"url\":\"ws://h2\",\"platformID\":1},\"tokens\":{}},"
        "{\"id\":\"t4\",\"gateway\":{\"url\":\"ws://h\",\"platformID\":1},\"tokens\":{}}]}",
        &b, &errs), 0);
    cfg_diff d;
    assert_int_equal(cfg_diff_compute(a, b, &d), 0);
    assert_true(d.log_changed);
    assert_false(d.redis_changed);
    assert_int_equal(d.n, 6);
    assert_int_equal(d.items[0].kind, CFG_USER_REMOVED);
    assert_string_equal(d.items[0].old_user->user_id, "b");
    assert_int_equal(d.items[1].kind, CFG_USER_CHANGED);
    assert_string_equal(d.items[1].new_user->user_id, "c");
    assert_int_equal(d.items[2].kind, CFG_USER_ADDED);
    assert_string_equal(d.items[2].new_user->user_id, "d");
    assert_int_equal(d.items[3].kind, CFG_TENANT_REMOVED);
    assert_string_equal(d.items[3].old_tenant->id, "t2");
    assert_int_equal(d.items[4].kind, CFG_TENANT_CHANGED);
    assert_string_equal(d.items[4].new_tenant->id, "t3");
    assert_int_equal(d.items[5].kind, CFG_TENANT_ADDED);
    assert_string_equal(d.items[5].new_tenant->id, "t4");
    assert_int_equal(d.users_added + d.users_removed + d.users_changed, 3);
    cfg_diff_free(&d);
    assert_int_equal(cfg_diff_compute(a, a, &d), 0);
    assert_int_equal(d.n, 0);
    cfg_diff_free(&d);
    cfg_free(a);
    cfg_free(b);
}

static void duration_parser_accepts_units_and_rejects_the_rest(void **state)
{
    (void)state;
    uint64_t ms;
    assert_int_equal(kk_duration_parse("250ms", &ms), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(kk_duration_parse("30s", &ms), 0);
    assert_int_equal(ms, 30000);
    assert_int_equal(kk_duration_parse("24h", &ms), 0);
    assert_int_equal(ms, 86400000);
    assert_int_equal(kk_duration_parse("30d", &ms), 0);
    assert_int_equal(ms, 2592000000ULL);
    assert_int_equal(kk_duration_parse("5m", &ms), 0);
    assert_int_equal(ms, 300000);
    assert_int_equal(kk_duration_parse("30", &ms), KK_EINVAL);
    assert_int_equal(kk_duration_parse("s", &ms), KK_EINVAL);
    assert_int_equal(kk_duration_parse("-1s", &ms), KK_EINVAL);
    assert_int_equal(kk_duration_parse("1 s", &ms), KK_EINVAL);
    assert_int_equal(kk_duration_parse("9999999d", &ms), KK_EOVERFLOW);
    assert_int_equal(kk_duration_parse("9999999999999999999s", &ms), KK_EOVERFLOW);
}

static void redis_url_parser_splits_user_password_host_port_db(void **state)
{
    (void)state;
    rurl u;
    const char *why;
    char red[300];
    assert_int_equal(rurl_parse("redis://kk%40x:p%3Aw@[::1]:6380/2", &u, &why), 0);
    assert_string_equal(u.username, "kk@x");
    assert_string_equal(kk_secret_reveal(u.password), "p:w");
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 2);
    rurl_redacted(&u, red, sizeof red);
    assert_string_equal(red, "redis://kk@x:***@[::1]:6380/2");
    rurl_free(&u);
    assert_int_equal(rurl_parse("redis://:only-pass@h", &u, &why), 0);
    assert_null(u.username);
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
    rurl_free(&u);
    assert_int_equal(rurl_parse("http://h", &u, &why), KK_EINVAL);
    assert_int_equal(rurl_parse("redis://h:0", &u, &why), KK_EINVAL);
    assert_int_equal(rurl_parse("redis://h/x", &u, &why), KK_EINVAL);
    assert_int_equal(rurl_parse("redis://u:%zz@h", &u, &why), KK_EINVAL);
    assert_int_equal(rurl_parse("redis://u:%4@h", &u, &why), KK_EINVAL);
    assert_int_equal(rurl_parse("redis://", &u, &why), KK_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_demo_file_loads_with_its_three_users),
        cmocka_unit_test_setup_teardown(config_minimal_tenant_gets_documented_defaults, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(config_reports_every_error_with_line_and_column, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(config_limits_max_msgs_per_sec_is_read_and_checked, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(config_syntax_error_uses_jansson_position, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(config_leases_default_when_empty_and_reject_out_of_range, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(config_secrets_come_from_env_and_file_and_never_reach_errors, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(config_reads_tenants_dir_and_users_file_relative_to_their_file, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(config_rejects_duplicate_tenants_and_users, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(config_diff_lists_added_removed_and_changed, setup_dir, teardown_dir),
        cmocka_unit_test(duration_parser_accepts_units_and_rejects_the_rest),
        cmocka_unit_test(redis_url_parser_splits_user_password_host_port_db),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
